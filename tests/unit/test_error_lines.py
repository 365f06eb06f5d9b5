"""Error lines exist in both languages, and the English line is the exception's own text."""

from __future__ import annotations

import pytest

from auditor.accounts import account_from_url
from auditor.config import load_config, resolve_secret
from auditor.errors import AuditorError, ConfigError
from auditor.impact import override_figures, reset_figures
from auditor.rules.engine import check_overrides
from auditor.rules.loader import load_rules


def _raised(call) -> AuditorError:
    with pytest.raises(AuditorError) as caught:
        call()
    return caught.value


CASES = [
    lambda: override_figures({"nope": 1}),
    lambda: override_figures({"storage_gb_year_high": "x"}),
    lambda: override_figures({"storage_gb_year_low": 1e9}),
    lambda: account_from_url("imaps://u:secret@h", None, None),
    lambda: account_from_url("imaps://u@h:xx", None, None),
    lambda: account_from_url("http://h", None, None),
    lambda: check_overrides(load_rules().rules, {"NOPE1": {}}, set()),
    lambda: check_overrides(load_rules().rules, {"MAIL001": {"size": 1}}, set()),
    lambda: check_overrides(load_rules().rules, {"MAIL001": {"min_bytes": "big"}}, set()),
    lambda: resolve_secret("asso", env="AUDITOR_TEST_UNSET_VARIABLE"),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_english_line_is_the_exception_and_french_differs(case, monkeypatch):
    monkeypatch.delenv("AUDITOR_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("AUDITOR_TEST_UNSET_VARIABLE", raising=False)
    try:
        error = _raised(CASES[case])
    finally:
        reset_figures()
    assert isinstance(error, ConfigError) and error.key is not None
    assert error.localized("en") == str(error)
    french = error.localized("fr")
    assert french != str(error) and "{" not in french and "\n" not in french
    assert "secret" not in french and "secret" not in str(error)


BAD_CONFIGS = {
    "wrong type": ("store = 3\n", "store: must be a string, not 3"),
    "not a list": ('[report.email]\nto = "a@b"\n', "report.email.to: must be a list, not 'a@b'"),
    "bad language": ('[report]\nlanguage = "de"\n', 'report.language: must be one of "fr", "en"'),
    "bad security": (
        '[report.email]\nsecurity = "ssl"\n',
        "report.email.security: must be one of tls, starttls, none",
    ),
    "rule not a table": ("[rules]\nMAIL001 = 3\n", "rules.MAIL001: must be a table of parameters"),
    "impact not a number": ('[impact]\nx = "big"\n', "impact.x: must be a number"),
    "account without host": (
        '[[accounts]]\nusername = "u"\n',
        'accounts: account #1 needs host = "…"',
    ),
    "unknown auth": (
        '[[accounts]]\nhost = "h"\nusername = "u"\nauth = "kerberos"\n',
        'accounts.auth: must be one of "password", "oauth2"',
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_config_lines_name_the_file_line_and_setting_in_both_languages(name, tmp_path):
    text, expected = BAD_CONFIGS[name]
    path = tmp_path / "auditor.toml"
    path.write_text(text, encoding="utf-8")
    error = _raised(lambda: load_config(path))
    assert str(error).startswith(f"{path}:") and expected in str(error)
    french = error.localized("fr")
    assert french.startswith(str(path)) and french != str(error) and "{" not in french


@pytest.mark.parametrize(
    "ways",
    [
        {"command": "false"},
        {"command": "/nonexistent/password-helper"},
        {},
    ],
)
def test_password_source_lines_in_both_languages(ways):
    error = _raised(lambda: resolve_secret("asso", **ways))
    assert str(error).startswith("asso: ") and error.localized("fr").startswith("asso : ")
    assert "{" not in error.localized("fr")

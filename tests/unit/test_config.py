"""The config file: strict validation with one-line errors naming file, line and key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from auditor.config import load_config, resolve_secret
from auditor.errors import ConfigError
from tests.helpers import assert_config_error_line, raised_error


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "auditor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_template_written_by_init_is_a_valid_config():
    template = Path(__file__).parents[2] / "auditor" / "config_template.toml"
    cfg = load_config(template)
    assert cfg.accounts == [] and cfg.fail_on == "high"


def test_full_config_is_read(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            """
mbox = ["~/mail/export.mbox"]
[report]
language = "fr"
association = "Les Amis"
fail_on = "medium"
[report.email]
to = ["bureau@example.org"]
from = "auditor@example.org"
smtp_host = "127.0.0.1"
smtp_port = 2525
security = "none"
[[accounts]]
name = "Accueil"
host = "imap.example.org"
username = "accueil@example.org"
password_env = "ACCUEIL_PW"
exclude_folders = ["Archives"]
[rules]
disable = ["MAIL005"]
[rules.MAIL001]
min_bytes = 10000000
""",
        )
    )
    assert cfg.language == "fr" and cfg.fail_on == "medium"
    assert cfg.accounts[0].name == "Accueil" and cfg.accounts[0].port is None
    assert cfg.accounts[0].exclude_folders == ["Archives"]
    assert cfg.rule_params == {"MAIL001": {"min_bytes": 10000000}}
    assert cfg.disabled_rules == {"MAIL005"}
    assert cfg.email.to == ["bureau@example.org"] and cfg.email.sender == "auditor@example.org"


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = write(tmp_path, '[report]\nlanguage = "fr"\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:3: report.colour: unknown key")
    assert "\n" not in str(err.value)


def test_wrong_type_names_file_line_and_key(tmp_path):
    path = write(tmp_path, '[[accounts]]\nhost = "h"\nusername = "u"\nport = "993"\n')
    with pytest.raises(ConfigError, match=r":4: accounts.port: must be a whole number"):
        load_config(path)


def test_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, '[report]\nlanguage = "fr\n')
    with pytest.raises(ConfigError, match=rf"^{path}:2: TOML syntax error"):
        load_config(path)


def test_password_in_clear_is_refused_with_the_three_safe_ways(tmp_path):
    path = write(tmp_path, '[[accounts]]\nhost = "h"\nusername = "u"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert ":4: accounts.password: a password in clear is refused" in message
    assert "password_env" in message and "password_command" in message and "keyring" in message
    assert "hunter2" not in message


def test_missing_explicit_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_missing_default_config_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "absent.toml"))
    assert load_config().accounts == []


def test_secret_from_environment(monkeypatch):
    monkeypatch.setenv("PW_VAR", "s3cret")
    assert resolve_secret("acct", env="PW_VAR") == "s3cret"


def test_secret_from_command_takes_first_line():
    cmd = f"{sys.executable} -c \"print('s3cret'); print('other')\""
    assert resolve_secret("acct", command=cmd) == "s3cret"


def test_failing_password_command_does_not_leak_output():
    cmd = f"{sys.executable} -c \"import sys; print('s3cret'); sys.exit(4)\""
    with pytest.raises(ConfigError) as err:
        resolve_secret("acct", command=cmd)
    assert "exited with code 4" in str(err.value) and "s3cret" not in str(err.value)


def test_unset_environment_variable_is_named(monkeypatch):
    monkeypatch.delenv("NOPE_PW", raising=False)
    with pytest.raises(ConfigError, match="NOPE_PW is not set"):
        resolve_secret("acct", env="NOPE_PW")


def test_the_example_config_is_valid_and_names_real_rules():
    from auditor.rules.engine import check_overrides
    from auditor.rules.loader import load_rules

    example = Path(__file__).parents[2] / "examples" / "auditor.toml"
    cfg = load_config(example)
    assert [a.name for a in cfg.accounts] == ["Accueil", "Trésorerie"]
    assert cfg.accounts[1].security == "tls" and cfg.accounts[1].port is None
    check_overrides(load_rules().rules, cfg.rule_params, cfg.disabled_rules, cfg.path)


def test_an_unset_password_variable_is_one_line_in_both_languages(monkeypatch):
    monkeypatch.delenv("AUDITOR_TEST_UNSET_VARIABLE", raising=False)
    error = raised_error(lambda: resolve_secret("asso", env="AUDITOR_TEST_UNSET_VARIABLE"))
    assert_config_error_line(error)


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
    error = raised_error(lambda: load_config(path))
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
    error = raised_error(lambda: resolve_secret("asso", **ways))
    assert str(error).startswith("asso: ") and error.localized("fr").startswith("asso : ")
    assert "{" not in error.localized("fr")

"""Error lines exist in both languages, and the English line is the exception's own text."""

from __future__ import annotations

import pytest

from auditor.accounts import account_from_url
from auditor.config import resolve_secret
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

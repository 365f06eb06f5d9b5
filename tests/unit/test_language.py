"""The language defaults to the user's locale, and to English when it is unknown."""

from __future__ import annotations

import pytest

from auditor.i18n import default_language, pick_language, t


@pytest.fixture(autouse=True)
def clean_locale(monkeypatch):
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)


def test_french_locale_gives_french(monkeypatch):
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert default_language() == "fr"


def test_lc_all_wins_over_lang(monkeypatch):
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    assert default_language() == "en"


def test_unknown_locale_gives_english(monkeypatch):
    monkeypatch.setenv("LANG", "C")
    assert default_language() == "en"


def test_explicit_choice_wins(monkeypatch):
    monkeypatch.setenv("LANG", "fr_BE.UTF-8")
    assert pick_language("en") == "en" and pick_language(None) == "fr"


def test_catalog_text_is_formatted():
    assert t("fr", "cli.init.written", path="/x").startswith("Configuration écrite dans /x")

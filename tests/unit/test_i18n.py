"""Every catalog file exists in both languages with the same keys and the same placeholders.

Generic over auditor/i18n/<lang>/*.toml: a new domain file is checked as soon as it exists.
"""

from __future__ import annotations

import string
import tomllib
from pathlib import Path

import pytest

from auditor.i18n import LANGUAGES, _flatten, catalog

I18N = Path(__file__).resolve().parents[2] / "auditor" / "i18n"
DOMAINS = sorted({path.name for lang in LANGUAGES for path in (I18N / lang).glob("*.toml")})


def load(lang: str, domain: str) -> dict[str, str]:
    path = I18N / lang / domain
    assert path.is_file(), f"{lang}/{domain} is missing (it exists in another language)"
    with path.open("rb") as fh:
        return _flatten(tomllib.load(fh))


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_there_are_catalogs() -> None:
    assert DOMAINS


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_keys_in_every_language(domain: str) -> None:
    reference = load(LANGUAGES[0], domain)
    for lang in LANGUAGES[1:]:
        other = load(lang, domain)
        missing = sorted(set(reference) - set(other))
        extra = sorted(set(other) - set(reference))
        assert not missing and not extra, (
            f"{domain}: missing in {lang}: {missing}; only in {lang}: {extra}"
        )


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_placeholders_in_every_language(domain: str) -> None:
    catalogs = {lang: load(lang, domain) for lang in LANGUAGES}
    reference = catalogs[LANGUAGES[0]]
    for key, text in reference.items():
        for lang in LANGUAGES[1:]:
            if key in catalogs[lang]:
                assert placeholders(catalogs[lang][key]) == placeholders(text), (
                    f"{domain}: {key} has other {{placeholders}} in {lang}"
                )


@pytest.mark.parametrize("domain", DOMAINS)
def test_values_are_non_empty_strings(domain: str) -> None:
    for lang in LANGUAGES:
        path = I18N / lang / domain
        if path.is_file():
            for key, text in load(lang, domain).items():
                assert text.strip(), f"{lang}/{domain}: {key} is empty"


# --------------------------------------------------------------------------------------------
# The probe catalogue
# --------------------------------------------------------------------------------------------


_NUMBERS = {"seconds": 20.0, "percent": 87.0, "code": 1, "limit": 4194304}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_probe_line_formats(lang: str) -> None:
    """Every line of the probe catalog fills with the kind of values the probes give it (the
    `{seconds:g}` ones get numbers), and French follows French typography."""
    lines = {key: text for key, text in catalog(lang).items() if key.startswith("probe.")}
    assert len(lines) > 100
    for key, text in lines.items():
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field}
        filled = text.format(**{name: _NUMBERS.get(name, "x") for name in names})
        assert "{" not in filled and "\n" not in filled, key
        if lang == "fr":
            assert ": " not in filled.replace(" : ", "").replace("Error: ", ""), key

"""French and English catalogs for every text a user reads.

Catalogs are TOML files in `i18n/<lang>/*.toml` (one per domain: cli, report...), merged
into one flat table of dotted keys. A test checks that both languages have the same keys.
"""

from __future__ import annotations

import locale
import os
import tomllib
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "fr")
_HERE = Path(__file__).parent


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = str(value)
    return flat


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every key of one language, flattened: {"report.title": "..."}."""
    merged: dict[str, str] = {}
    for path in sorted((_HERE / lang).glob("*.toml")):
        with path.open("rb") as fh:
            merged.update(_flatten(tomllib.load(fh), path.stem + "."))
    return merged


def t(lang: str, key: str, **values: object) -> str:
    """The text for `key` in `lang`, formatted with `values`; English when the key is missing."""
    text = catalog(lang).get(key) or catalog("en").get(key) or key
    return text.format(**values) if values else text


def plural(lang: str, key: str, count: int, **values: object) -> str:
    """`key.one` or `key.other` for `count`: French counts 0 and 1 as singular ("1 fichier",
    "0 fichier"), English only 1 ("1 file", "0 files"). `count` is passed formatted."""
    one = count in (0, 1) if lang == "fr" else count == 1
    from auditor.i18n.format import format_number  # format.py imports `t` from here

    return t(lang, f"{key}.{'one' if one else 'other'}", count=format_number(count, lang), **values)


def default_language() -> str:
    """'fr' when the user's locale is French, else 'en' (also when the locale is unknown)."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    try:
        loc = locale.getlocale()[0] or ""
    except ValueError:
        loc = ""
    return "fr" if loc.lower().startswith("fr") else "en"


def pick_language(requested: str | None) -> str:
    if requested in LANGUAGES:
        return requested  # type: ignore[return-value]
    return default_language()

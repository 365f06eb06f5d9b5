"""French and English catalogs for every text a user reads.

Catalogs are TOML files in `i18n/<lang>/*.toml` (one per domain: cli, report...), merged
into one flat table of dotted keys. A test checks that both languages have the same keys.

Error keys (the key of a `Problem` or an `AuditorError`) are named
`<domain>.<subject>.<what went wrong>`: the domain is the catalogue file, the subject what the
line is about (`errors.store.missing`, `errors.config.must_be.integer`,
`source.inventory.missing_key`, `probe.battery.no_capacity`, `clean.error.no_run`). The
domain says who speaks: `errors` for config, store, accounts, rules and reports (exit 2),
`source` for a mailbox or an inventory file (exit 3 for the run), `probe` for a machine probe,
and a command's own file (`compress`, `clean`, `schedule`, `advise`, `send`) for its lines.

One line, not a grid: when a line varies only by a word, the catalogue holds the line once
and the word as a value looked up in a table of its own: `{found:@source.inventory.found}`
is replaced by the text of `source.inventory.found.<found>` in the same language (filled with
the same values). A stored run keeps the keys it was written with: `RENAMED` maps a key that
is gone to the key and values that say the same (Problem.from_json reads through it).
"""

from __future__ import annotations

import locale
import os
import string
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
    if not values:
        return text
    if ":@" in text:  # a word looked up in the catalogue (see the module's docstring)
        return _Words(lang, values).format(text, **values)
    return text.format(**values)


class _Words(string.Formatter):
    """Formats `{name:@table}` as the catalogue's `table.<value of name>`, in `lang`."""

    def __init__(self, lang: str, values: dict[str, object]) -> None:
        super().__init__()
        self.lang, self.values = lang, values

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec.startswith("@"):
            return t(self.lang, f"{format_spec[1:]}.{value}", **self.values)
        return super().format_field(value, format_spec)


# The kinds of a value in an inventory file, and what a JSON value can be: the words of
# source.inventory.should_be and json_is, which were a grid of 48 keys before 2026-12.
_KINDS = ("text", "integer", "number", "boolean", "list", "object")
_FOUND = ("literal", "number", "text", "list", "object")

# Keys that stored runs and inventory files may hold but the catalogue no longer has:
# old key -> (current key, values to add).
RENAMED: dict[str, tuple[str, dict[str, str]]] = {
    **{
        f"source.inventory.should_be.{kind}{null}.{found}": (
            "source.inventory.should_be",
            {"expected": f"{kind}{null}", "found": found},
        )
        for kind in _KINDS
        for null in ("", "_or_null")
        for found in _FOUND
    },
    **{
        f"source.inventory.json_is.{found}": ("source.inventory.json_is", {"found": found})
        for found in _FOUND
    },
}


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

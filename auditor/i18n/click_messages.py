"""Click's own messages ("Usage:", "No such option", "Show this message and exit.") in French.

Click marks its messages for gettext but ships no translations. Each Click module binds
`_ = gettext.gettext` (and `ngettext`) at import; `install()` rebinds those names to
functions that answer from `click_fr.toml`. The lines of a help screen follow the help
texts' language (`install(help_language)`), so a screen is never half French; the other
lines follow the command's language: the `--lang` given, else the user's locale.
"""

from __future__ import annotations

import gettext
import importlib
import tomllib
from functools import cache
from pathlib import Path

import click

from auditor.i18n import pick_language

CLICK_MODULES = (
    "core",
    "decorators",
    "exceptions",
    "formatting",
    "parser",
    "termui",
    "types",
    "utils",
    "shell_completion",
)
LANG_KEY = "auditor.lang"  # where the CLI keeps --lang in click.Context.meta
_chosen: list[str] = []  # the last language the CLI chose; usage errors print after the context
_help: list[str] = []  # the language of the help texts
# The lines of a help screen, around the commands' own help texts.
HELP_SCREEN = frozenset(
    {
        "Usage:",
        "Options",
        "Commands",
        "Show this message and exit.",
        "Show the version and exit.",
        "default: {default}",
        "env var: {var}",
        "required",
    }
)


@cache
def french() -> tuple[dict[str, str], dict[str, list[str]]]:
    """The French messages: (gettext msgid -> text, ngettext singular msgid -> [one, many])."""
    with (Path(__file__).parent / "click_fr.toml").open("rb") as fh:
        table = tomllib.load(fh)
    return table["gettext"], table["ngettext"]


def remember_language(lang: str | None) -> None:
    """The command's language, for Click's lines printed once its context is gone
    (None: the locale's)."""
    _chosen[:] = [lang] if lang else []


def _language() -> str:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get(LANG_KEY):
        return pick_language(ctx.meta[LANG_KEY])
    # before a command runs (Click names its types when the commands are defined): the help's
    return pick_language(_chosen[0] if _chosen else _help[0] if _help else None)


def click_gettext(message: str) -> str:
    lang = _help[0] if message in HELP_SCREEN and _help else _language()
    if lang == "fr":
        return french()[0].get(message, message)
    return message


def click_ngettext(singular: str, plural: str, n: int) -> str:
    if _language() == "fr" and singular in french()[1]:
        one, many = french()[1][singular]
        return one if n == 1 else many
    return singular if n == 1 else plural


def install(help_language: str | None = None) -> None:
    """Make Click's modules speak the command's language (idempotent); a help screen's lines
    speak `help_language`, the language of the commands' help texts."""
    _help[:] = [help_language] if help_language else []
    for name in CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a Click without this module: nothing of it to translate
            continue
        if getattr(module, "_", None) in (gettext.gettext, click_gettext):
            module._ = click_gettext
        if getattr(module, "ngettext", None) in (gettext.ngettext, click_ngettext):
            module.ngettext = click_ngettext

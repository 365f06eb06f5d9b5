"""Options shared by the commands, and the language their help texts are written in."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.i18n import click_messages, pick_language, t


def language_asked(words: list[str]) -> str | None:
    """The value of --lang among command-line words, before Click parses them."""
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word == "--lang" or word.startswith("--lang="):
            return word.partition("=")[2] or following
    return None


# Help texts are set when the commands are defined: in --lang's language when the command
# line has one (`auditor scan --lang fr --help`), else the locale's.
HELP_LANG = pick_language(language_asked(sys.argv[1:]))
click_messages.install(HELP_LANG)  # before the options below: Click names its types at import


def h(key: str) -> str:
    """The help text `cli.help.KEY` in the help language."""
    return t(HELP_LANG, f"cli.help.{key}")


def debug_option(f):
    def set_debug(ctx: click.Context, _param, value: bool) -> bool:
        if value:
            ctx.meta["auditor.debug"] = True
        return value

    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        callback=set_debug,
        is_eager=True,
        help=h("debug"),
    )(f)


def config_option(f):
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=h("config"),
    )(f)


def db_option(f):
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), help=h("db")
    )(f)


def output_option(f):
    return click.option(
        "--output", type=click.Path(dir_okay=False, path_type=Path), help=h("output")
    )(f)


GROUP_LANG = "auditor.group_lang"  # `auditor --lang fr …`: the commands' default language


def group_lang_option(f):
    """--lang before the command (`auditor --lang fr --help`): the help texts were already
    chosen from the command line (HELP_LANG); the commands below take it as their --lang."""

    def remember(ctx: click.Context, _param, value: str | None) -> str | None:
        if value:
            ctx.meta[GROUP_LANG] = ctx.meta["auditor.lang"] = value
            click_messages.remember_language(value)
        return value

    return click.option(
        "--lang",
        type=click.Choice(["fr", "en"]),
        callback=remember,
        is_eager=True,
        expose_value=False,
        help=h("lang"),
    )(f)


def lang_option(f):
    def remember(ctx: click.Context, _param, value: str | None) -> str | None:
        value = value or ctx.meta.get(GROUP_LANG)  # `auditor --lang fr scan`: the group's
        if value:
            ctx.meta["auditor.lang"] = value  # error lines use it too (meta is shared)
            click_messages.remember_language(value)
        return value

    return click.option(
        "--lang", type=click.Choice(["fr", "en"]), callback=remember, is_eager=True, help=h("lang")
    )(f)


def rules_dir_option(f):
    return click.option(
        "--rules",
        "rules_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=h("rules_dir"),
    )(f)

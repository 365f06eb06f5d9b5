"""Click's own lines (usage, option errors, help headings) follow the command's language."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.i18n.click_messages import french

CLICK_SOURCE = Path(click.__file__).parent


def _click_literals() -> set[str]:
    literals: set[str] = set()
    for path in CLICK_SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
    return literals


def test_every_translated_message_is_still_one_of_clicks() -> None:
    singles, plurals = french()
    unknown = sorted((set(singles) | set(plurals)) - _click_literals())
    assert not unknown, f"not in the installed Click any more: {unknown}"


def test_translations_keep_clicks_placeholders() -> None:
    import string

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    singles, plurals = french()
    for msgid, text in singles.items():
        assert fields(text) == fields(msgid), msgid
    for msgid, (one, _many) in plurals.items():  # Click's plural msgid is not kept here
        assert fields(one) == fields(msgid), msgid


@pytest.mark.parametrize(
    "args,expected",
    [
        (["scan", "--lang", "fr", "--bogus"], ["Erreur : Option inconnue : '--bogus'", "Essayez"]),
        (["scan", "--lang=fr", "--format", "xx"], ["Valeur invalide pour '--format'"]),
        (["nosuch", "--lang", "fr"], ["Commande inconnue : 'nosuch'"]),
        (["scan", "--lang", "en", "--bogus"], ["Error: No such option '--bogus'", "Try "]),
    ],
)
def test_click_lines_in_the_chosen_language(args: list[str], expected: list[str]) -> None:
    result = CliRunner().invoke(main, args, prog_name="auditor")
    for text in expected:
        assert text in result.output, result.output
    assert result.exit_code in (0, 2)


def test_a_help_screen_is_in_one_language_the_help_texts_one(monkeypatch) -> None:
    from auditor.cli.options import HELP_LANG

    result = CliRunner().invoke(main, ["scan", "--lang", "fr", "--help"], prog_name="auditor")
    usage = "Utilisation : auditor scan" if HELP_LANG == "fr" else "Usage: auditor scan"
    assert result.output.startswith(usage), result.output


@pytest.mark.parametrize("args", [["scan", "--lang", "fr", "--help"], ["--lang=fr", "--help"]])
def test_lang_fr_gives_a_whole_french_help_screen_whatever_the_locale(args) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    env.pop("LANGUAGE", None)
    done = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if args[0] == "scan":
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Utilisation : auditor scan")
        assert "Analyser aussi la boîte mail de" in done.stdout
        assert "Afficher cette aide et quitter." in done.stdout
        assert "Usage:" not in done.stdout and "Show this message" not in done.stdout
        assert "--ca-file FICHIER" in done.stdout and " FILE" not in done.stdout
    else:  # --lang before the command (issue 13): the group's help, all in French
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Utilisation : auditor [OPTIONS]")
        assert "Commandes" in done.stdout and "Exemples :" in done.stdout
        assert "Usage:" not in done.stdout and "Show this message" not in done.stdout


@pytest.mark.parametrize(
    "words,lang",
    [([], None), (["scan"], None), (["scan", "--lang", "fr"], "fr"), (["--lang=en"], "en")],
)
def test_lang_is_read_from_any_command_line(words, lang) -> None:
    from auditor.cli.options import language_asked as _language_asked

    assert _language_asked(words) == lang

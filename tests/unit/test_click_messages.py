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
        (["scan", "--lang", "fr", "--help"], ["Utilisation : auditor scan", "Afficher cette aide"]),
        (["scan", "--lang", "en", "--bogus"], ["Error: No such option '--bogus'", "Try "]),
    ],
)
def test_click_lines_in_the_chosen_language(args: list[str], expected: list[str]) -> None:
    result = CliRunner().invoke(main, args, prog_name="auditor")
    for text in expected:
        assert text in result.output, result.output
    assert result.exit_code in (0, 2)

"""Every error line of the code is a catalog key that exists, so it exists in both languages.

Reads the source (no server, no run): each `Problem(...)` and each raise of an
`AuditorError` subclass must start with a string literal (or an f-string whose fixed part
is a key prefix) naming a catalog key, never an English sentence.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from auditor.errors import AuditorError, Problem, localized, to_stored
from auditor.i18n import LANGUAGES, catalog

PACKAGE = Path(__file__).resolve().parents[2] / "auditor"
ERROR_CLASSES = {
    "AuditorError",
    "ConfigError",
    "StoreError",
    "SourceError",
    "RuleError",
    "SendError",
    "InventoryExistsError",
    "OSDataError",
    "Problem",
}


def _calls() -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ERROR_CLASSES and node.args:
                found.append((f"{path.relative_to(PACKAGE.parent)}:{node.lineno}", node))
    return found


CALLS = _calls()


def _key_of(node: ast.Call) -> str | None:
    """The key (or key prefix ending in '.') of an error call; None when it is not one."""
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    if isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
        return str(first.values[0].value)  # f"errors.store.write.{part}": a prefix
    return None


def test_the_scan_finds_the_error_calls() -> None:
    assert len(CALLS) > 80


@pytest.mark.parametrize("where,node", CALLS, ids=[w for w, _ in CALLS])
def test_each_error_call_names_an_existing_key(where: str, node: ast.Call) -> None:
    key = _key_of(node)
    if key is None:  # a variable: a key passed along (e.g. exc.key); checked where it is made
        assert isinstance(node.args[0], ast.Name | ast.Attribute | ast.Subscript), where
        return
    assert " " not in key, f"{where}: an English sentence instead of a catalog key: {key!r}"
    for lang in LANGUAGES:
        keys = catalog(lang)
        if key.endswith("."):
            assert any(k.startswith(key) for k in keys), f"{where}: no {key}* key in {lang}"
        else:
            assert key in keys, f"{where}: {key} is missing from the {lang} catalog"


@pytest.mark.parametrize("where,node", CALLS, ids=[w for w, _ in CALLS])
def test_each_error_call_gives_every_placeholder(where: str, node: ast.Call) -> None:
    key = _key_of(node)
    if key is None or key.endswith(".") or any(k.arg is None for k in node.keywords):
        return  # dynamic key or **values: checked by the tests that raise them
    given = {k.arg for k in node.keywords} | {"where", "setting"}  # config's fail() adds those
    wanted = {f for _, f, _, _ in string.Formatter().parse(catalog("en")[key]) if f}
    assert wanted <= given, f"{where}: {key} needs {sorted(wanted - given)}"


def test_a_problem_is_english_text_and_any_language() -> None:
    line = Problem("errors.store.missing", path="/tmp/x.db").under("pc-1")
    assert line == "pc-1: /tmp/x.db: no store here yet; run `auditor scan` first or pick --db"
    assert line.localized("fr").startswith("pc-1 : /tmp/x.db : pas encore de base ici")
    assert localized("plain line", "fr") == "plain line"


def test_a_stored_problem_comes_back_whole() -> None:
    line = Problem("errors.rules.query_failed", at=("asso",), pack="p", rule="R1", error="boom")
    back = Problem.from_json(to_stored(line))
    assert back == line and back.localized("fr") == line.localized("fr")
    assert back.values == {"pack": "p", "rule": "R1", "error": "boom"}
    assert Problem.from_json("an old line") == "an old line"


def test_a_stored_problem_from_another_version_still_shows() -> None:
    stored = {"key": "errors.store.missing", "values": {"other": 1}, "at": ["pc"]}
    assert Problem.from_json(stored) == 'pc: errors.store.missing: {"other": 1}'


def test_a_line_stored_under_a_key_the_catalogue_collapsed_still_reads_whole() -> None:
    # before 2026-12 a wrong type in an inventory file was one key per (expected, found) pair
    stored = {
        "key": "source.inventory.should_be.integer_or_null.text",
        "at": ["pc.json"],
        "values": {"place": "host.ram_bytes", "value": '"8 GB"'},
    }
    line = Problem.from_json(stored)
    assert line == 'pc.json: host.ram_bytes should be a whole number or null, not the text "8 GB"'
    assert line.localized("fr") == (
        'pc.json : host.ram_bytes devrait être un nombre entier ou null, pas le texte "8 GB"'
    )
    old_json_is = Problem.from_json({"key": "source.inventory.json_is.list", "values": {}})
    assert old_json_is.localized("fr").startswith("ce n'est pas un inventaire d'auditor (le JSON")


def test_an_error_is_its_problem() -> None:
    error = AuditorError("errors.config.env_unset", what="asso", env="PW")
    assert str(error) == "asso: environment variable PW is not set"
    assert error.localized("fr") == "asso : la variable d'environnement PW n'est pas définie"
    assert error.problem.key == error.key == "errors.config.env_unset"

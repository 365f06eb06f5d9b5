"""Every help screen shows how to use its command, in both languages; --lang works before
the command too (`auditor --lang fr --help`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Help texts are chosen when auditor.cli is imported (from --lang on the command line), so
# each language needs its own process. This one walks every command and prints its help.
WALK = """
import json, sys
sys.argv = ["auditor", "--lang", sys.argv[1]]
import click
from auditor.cli import main

screens = {}

def walk(command, path, parent):
    ctx = click.Context(command, info_name=path[-1], parent=parent)
    screens[" ".join(path)] = command.get_help(ctx)
    for name in getattr(command, "commands", {}):
        walk(command.commands[name], [*path, name], ctx)

walk(main, ["auditor"], None)
print(json.dumps(screens))
"""


def help_screens(lang: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", WALK, lang],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize(("lang", "title"), [("en", "Example"), ("fr", "Exemple")])
def test_every_command_and_subcommand_has_an_example_in_its_help(lang, title):
    screens = help_screens(lang)
    assert {"auditor scan", "auditor rules list", "auditor schedule install"} <= set(screens)
    missing = []
    for path, text in screens.items():
        _, _, examples = text.partition(title)
        # an example is a command line of this very command, under "Examples:"
        if not any(line.strip().startswith(path) for line in examples.splitlines()):
            missing.append(path)
    assert missing == []


def auditor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""},
    )


def test_lang_before_the_command_gives_the_french_help():
    done = auditor("--lang", "fr", "--help")
    assert done.returncode == 0, done.stderr
    assert "Utilisation : auditor" in done.stdout and "Exemples :" in done.stdout
    assert "Afficher cette aide et quitter." in done.stdout
    assert "--lang [fr|en]" in done.stdout


def test_lang_before_the_command_is_the_language_of_the_command(tmp_path):
    done = auditor("--lang", "fr", "rules", "explain", "NOPE")
    assert done.returncode == 2
    assert done.stderr.startswith("auditor: aucune règle NOPE (connues : ")
    done = auditor("--lang=fr", "schedule", "--help")
    assert "Lancer le rapport tout seul" in done.stdout

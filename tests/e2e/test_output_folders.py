"""An output never lands in a folder auditor made up: `--output /media/usb/x.json` with no USB
stick plugged in must not create /media/usb on the local disk and write the inventory there.

Each command that writes a file the user names (inventory, scan/report/advise --output,
compress --out) says in one line that the folder does not exist, exits 2 and writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def invoke(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_inventory_for_a_usb_stick_that_is_not_plugged_in_is_not_written(env, lang):
    stick = env / "media" / "usb"  # the mount point of a stick that is not there
    result = invoke("inventory", "--lang", lang, "--output", stick / "pc-accueil.json")
    assert result.exit_code == 2, result.output
    line = one_line(result.output)
    assert str(stick) in line
    assert ("does not exist" if lang == "en" else "n'existe pas") in line
    assert not (env / "media").exists()  # nothing created on the local disk


@pytest.mark.parametrize(
    "command",
    [
        ("scan", "--demo", "--no-host", "-q", "--format", "json"),
        ("advise", "--format", "json"),
    ],
)
def test_a_report_into_a_missing_folder_is_one_line_and_exit_2(env, command):
    target = env / "missing" / "report.json"
    result = invoke(*command, "--lang", "en", "--output", target)
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output and str(target.parent) in result.output
    assert not target.parent.exists()


def test_report_output_into_a_missing_folder_is_refused_too(env):
    assert invoke("scan", "--demo", "--no-host", "-q").exit_code == 0
    target = env / "missing" / "report.html"
    result = invoke("report", "--lang", "en", "--format", "html", "--output", target)
    assert result.exit_code == 2, result.output
    assert "does not exist" in one_line(result.output)
    assert not target.parent.exists()


def test_compress_out_must_be_an_existing_folder_but_its_subfolders_are_made(env):
    from tests.e2e.test_compress_cli import photo

    photo(env / "album" / "sub" / "a.jpg", size=(2000, 1334))
    missing = env / "usb" / "light"
    result = invoke("compress", "--lang", "en", env / "album", "--out", missing)
    assert result.exit_code == 2, result.output
    assert str(missing) in one_line(result.output)
    assert not (env / "usb").exists()
    (env / "usb" / "light").mkdir(parents=True)
    result = invoke("compress", "--lang", "en", env / "album", "--out", missing)
    assert result.exit_code == 0, result.output
    assert (missing / "sub" / "a.jpg").is_file()  # the tree below --out is rebuilt


@pytest.mark.parametrize(("lang", "words"), [("en", "already exists"), ("fr", "existe déjà")])
def test_a_second_inventory_to_the_same_file_names_overwrite(env, lang, words):
    target = env / "pc.json"
    assert invoke("inventory", "--output", target).exit_code == 0
    first = json.loads(target.read_text(encoding="utf-8"))
    again = invoke("inventory", "--lang", lang, "--output", target)
    assert again.exit_code == 2
    line = one_line(again.output)
    assert words in line and "--overwrite" in line
    assert json.loads(target.read_text(encoding="utf-8")) == first
    assert invoke("inventory", "--output", target, "--overwrite").exit_code == 0

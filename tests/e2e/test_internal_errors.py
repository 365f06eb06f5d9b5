"""A bug in auditor itself still ends in one line, a documented exit code and a closed run.

The collectors and the store handle every fault they know of; this is the net under them.
A bug is simulated by making one step raise what no code path expects.
"""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from auditor.cli import main
from auditor.cli.common import EXIT_INTERNAL

SECRET = "hunter2-in-the-exception-text"


def _explode(*_args, **_kwargs):
    raise KeyError(SECRET)


def test_a_bug_during_a_scan_is_one_line_exit_4_and_the_run_is_marked_failed(tmp_path, monkeypatch):
    db = tmp_path / "store.sqlite3"
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setattr("auditor.scan._judge", _explode)
    result = CliRunner().invoke(
        main, ["scan", "--demo", "--no-host", "--db", str(db), "--lang", "en", "-q"]
    )
    assert result.exit_code == EXIT_INTERNAL
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("auditor: auditor itself failed (KeyError at auditor/")
    assert "--debug" in lines[0]
    assert "Traceback" not in result.output
    assert SECRET not in result.output  # an exception's text may quote anything
    with sqlite3.connect(db) as conn:
        statuses = [row[0] for row in conn.execute("SELECT status FROM runs")]
        stored = conn.execute("SELECT errors FROM runs").fetchone()[0]
    assert statuses == ["failed"]
    assert "errors.internal" in stored and SECRET not in stored


def test_the_bug_line_is_french_with_lang_fr(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setattr("auditor.scan._judge", _explode)
    result = CliRunner().invoke(
        main,
        ["scan", "--demo", "--no-host", "--db", str(tmp_path / "s.sqlite3"), "--lang", "fr"],
    )
    assert result.exit_code == EXIT_INTERNAL
    assert "auditor lui-même a échoué (KeyError à auditor/" in result.output


def test_debug_shows_the_traceback_for_the_maintainers(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setattr("auditor.scan._judge", _explode)
    result = CliRunner().invoke(
        main,
        ["scan", "--demo", "--no-host", "--db", str(tmp_path / "s.sqlite3"), "--debug"],
    )
    assert result.exit_code == EXIT_INTERNAL
    assert "Traceback" in result.output

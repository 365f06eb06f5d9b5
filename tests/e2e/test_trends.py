"""Evaluate over time: each report compares its run with earlier runs over the same sources."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "auditor" / "report" / "report.schema.json").read_text())


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    return tmp_path


def scan(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "r.json"
    out.unlink(missing_ok=True)
    result = CliRunner().invoke(
        main, ["scan", "--format", "json", "--output", str(out), "-q", *args]
    )
    assert result.exit_code in (0, 1), result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(report, SCHEMA)
    return report


def test_first_run_has_no_comparison_and_the_second_compares_with_the_first(env):
    first = scan(env, "--demo", "--no-host")
    assert first["trend"]["previous"] is None and first["trend"]["month_ago"] is None
    assert first["trend"]["current"]["score"] == first["score"]
    assert first["trend"]["current"]["mailbox_bytes"] == first["mailboxes"][0]["size_bytes"]
    second = scan(env, "--demo", "--no-host")
    previous = second["trend"]["previous"]
    assert previous["run_id"] == first["run"]["id"]
    assert previous["indicators"] == first["trend"]["current"]
    assert [p["run_id"] for p in second["trend"]["series"]] == [
        first["run"]["id"],
        second["run"]["id"],
    ]


def test_runs_over_other_sources_are_not_compared(env):
    demo = scan(env, "--demo", "--no-host")
    scan(env, "--no-mail")  # this machine only: another scope
    again = scan(env, "--demo", "--no-host")
    assert again["trend"]["previous"]["run_id"] == demo["run"]["id"]


def test_a_run_four_weeks_older_is_the_month_ago_point_and_text_shows_the_move(env):
    old = scan(env, "--demo", "--no-host")
    recent = scan(env, "--demo", "--no-host")
    with sqlite3.connect(env / "store.sqlite3") as conn:  # the first scan was a month ago,
        conn.execute(  # and the mailbox has grown since
            "UPDATE runs SET started_at = '2026-10-01T10:00:00+00:00', score = 70 WHERE id = ?",
            (old["run"]["id"],),
        )
    now = scan(env, "--demo", "--no-host")
    trend = now["trend"]
    assert trend["previous"]["run_id"] == recent["run"]["id"]
    assert trend["month_ago"]["run_id"] == old["run"]["id"]
    text = CliRunner().invoke(main, ["scan", "--demo", "--no-host", "--lang", "en"]).output
    assert "Over time" in text and "Score (out of 100)" in text
    md_out = env / "r.md"
    CliRunner().invoke(
        main,
        [
            "scan",
            "--demo",
            "--no-host",
            "--lang",
            "fr",
            "--format",
            "markdown",
            "--output",
            str(md_out),
        ],
    )
    markdown = md_out.read_text(encoding="utf-8")
    assert "## Dans le temps" in markdown
    assert "01/10/2026" in markdown  # the month-ago column
    score_row = next(line for line in markdown.splitlines() if line.startswith("| Score"))
    # month ago 70, previous 85, now 85: the move is against the previous run
    score = now["score"]
    assert score_row.split("|")[2:5] == [" 70 ", f" {score} ", f" {score} "]
    assert "inchangé" in score_row

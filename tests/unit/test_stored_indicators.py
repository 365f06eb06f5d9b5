"""Trends read each run's indicators stored when it ended (auditor.store.indicators).

The stored rows must say exactly what counting the facts again says, on a real store with
several runs whose mail changed between them, and a store written before the rows existed
must still show its trends.
"""

from __future__ import annotations

import mailbox
import sqlite3
from email.message import EmailMessage

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.report.trends import trend
from auditor.store import open_store
from auditor.store.indicators import computed, stored
from auditor.store.schema import MIGRATIONS


@pytest.fixture
def env(tmp_path, monkeypatch):
    config = tmp_path / "auditor.toml"
    config.write_text('[report]\nassociation = "Les Amis"\n', encoding="utf-8")
    monkeypatch.setenv("AUDITOR_CONFIG", str(config))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    return tmp_path


def _add(path, first: int, count: int, body: str = "Ordre du jour.\n") -> None:
    box = mailbox.mbox(path)
    for i in range(first, first + count):
        msg = EmailMessage()
        msg["From"] = "lettre@asso.example.org" if i % 2 else "marie@asso.example.org"
        msg["Subject"] = f"Compte rendu {i}"
        msg["Date"] = "Mon, 05 Oct 2026 10:00:00 +0000"
        msg["List-Unsubscribe"] = "<mailto:stop@asso.example.org>" if i % 2 else None
        msg.set_content(body * (1 + i % 7))
        box.add(msg)
    box.close()


def _scan(*args: str) -> None:
    result = CliRunner().invoke(main, ["scan", "--no-host", "-q", *args])
    assert result.exit_code in (0, 1), result.output


def _history(env) -> sqlite3.Connection:
    """Five runs over two sources whose messages come, change and go between runs."""
    inbox, archive = env / "inbox.mbox", env / "archive.mbox"
    _add(inbox, 0, 12)
    _add(archive, 100, 5)
    _scan("--mbox", str(inbox))
    _scan("--mbox", str(inbox), "--mbox", str(archive))
    _add(inbox, 12, 7)
    _scan("--mbox", str(inbox), "--mbox", str(archive), "--demo")
    inbox.unlink()
    _add(inbox, 50, 3, body="Autre texte.\n")
    _scan("--mbox", str(inbox), "--mbox", str(archive))
    _scan("--mbox", str(inbox), "--mbox", str(archive))
    return open_store(env / "store.sqlite3")


def test_every_runs_stored_indicators_equal_counting_its_facts_again(env):
    conn = _history(env)
    runs = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")]
    assert len(runs) == 5
    for run in runs:
        assert stored(conn, run) == computed(conn, run), run
    assert len({stored(conn, run)["messages"] for run in runs}) > 2  # the history moved


def test_trends_from_stored_rows_equal_trends_counted_from_the_facts(env):
    conn = _history(env)
    latest = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    from_rows = trend(conn, latest)
    conn.execute("DELETE FROM run_indicators")  # every run counted from its facts again
    assert trend(conn, latest) == from_rows
    assert from_rows["previous"] is not None and len(from_rows["series"]) >= 2


def test_a_store_from_before_the_rows_existed_still_shows_its_trends(env):
    conn = _history(env)
    latest = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    expected = trend(conn, latest)
    conn.close()
    # the same facts in a store as version 8 wrote it: no run_indicators table
    old_path = env / "v8.sqlite3"
    old = sqlite3.connect(old_path)
    for step in MIGRATIONS[:8]:
        old.executescript(step) if isinstance(step, str) else step(old)
    old.execute("PRAGMA user_version = 8")
    old.execute("ATTACH DATABASE ? AS new", (str(env / "store.sqlite3"),))
    for table in _FACT_TABLES:  # the columns version 8 had (later versions add some)
        columns = ", ".join(r[1] for r in old.execute(f"PRAGMA main.table_info({table})"))
        old.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM new.{table}")
    old.commit()
    old.close()
    conn = open_store(old_path)  # migrated: the rows of the ended runs are backfilled
    backfilled = conn.execute("SELECT count(*) FROM run_indicators WHERE source_id = 0")
    assert backfilled.fetchone()[0] == 5
    assert stored(conn, latest) == computed(conn, latest)
    assert trend(conn, latest) == expected


_FACT_TABLES = (
    "runs",
    "sources",
    "run_sources",
    "folder_versions",
    "folder_state",
    "message_versions",
    "attachment_versions",
    "finding_rows",
    "rule_runs",
)

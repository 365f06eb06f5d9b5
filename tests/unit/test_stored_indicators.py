"""Trends read each run's indicators stored when it ended (auditor.store.indicators).

The stored rows must say exactly what counting the facts again says, on a real store with
several runs whose mail changed between them, and a store written before the rows existed
must still show its trends.
"""

from __future__ import annotations

import json
import mailbox
import sqlite3
from email.message import EmailMessage

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.report.model import build_report, reclaimable
from auditor.report.trends import trend
from auditor.rules import load_rules
from auditor.store import open_store
from auditor.store.indicators import DETAILS, computed, source_figures, stored, stored_sources
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
        if i % 3 == 0:
            msg["Status"] = "RO"  # read: the mailbox table counts the unread ones
        if i % 4 == 0:
            msg.add_attachment(b"%PDF-1.4 " * (50 + i), "application", "pdf", filename=f"{i}.pdf")
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
    _scan("--mbox", str(inbox), "--mbox", str(archive), "--demo")
    _scan("--mbox", str(inbox), "--mbox", str(archive), "--demo")
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


def test_each_sources_stored_mailbox_figures_equal_counting_them_again(env):
    conn = _history(env)
    for (run,) in conn.execute("SELECT id FROM runs ORDER BY id").fetchall():
        rows = stored_sources(conn, run)
        assert rows is not None, run  # every run of this auditor stored them
        assert rows == {s: source_figures(conn, s, run) for s in rows}, run
        assert _report(conn, run)["mailboxes"] == _mailboxes_from_views(conn, run), run
    boxes = {box["account"]: box for box in _mailboxes_from_views(conn, run)}  # the latest
    assert boxes["demo"]["malformed"] and boxes["demo"]["folders"] > 1
    assert all(box["unread"] < box["messages"] and box["attachments"] for box in boxes.values())


def test_the_report_is_the_same_whether_its_figures_were_stored_or_counted_now(env):
    """Byte for byte: the mailbox table and the space the findings free together, from the
    rows stored at the end of each run, equal what the report computed before they existed
    (the `messages` and `attachments` views, every old read message read into a set)."""
    conn = _history(env)
    latest = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    from_rows = _report(conn, latest)
    assert from_rows["reclaimable"]["counted_twice_bytes"] > 0  # old mail holds attachments
    assert from_rows["reclaimable"] == _reclaimable_by_set(conn, latest, from_rows["findings"])
    conn.execute(f"UPDATE run_indicators SET {', '.join(f'{c} = NULL' for c in DETAILS)}")
    assert stored_sources(conn, latest) is None
    counted = _report(conn, latest)
    assert json.dumps(counted, sort_keys=True) == json.dumps(from_rows, sort_keys=True)


def _report(conn: sqlite3.Connection, run: int) -> dict:
    report = build_report(conn, run, "fr", load_rules().by_id())
    report.pop("generated_at")
    return report


def _mailboxes_from_views(conn: sqlite3.Connection, run: int) -> list[dict]:
    """The mailbox table as the report counted it before schema v13 (the reference)."""
    skipped = dict(
        conn.execute(
            "SELECT s.account, sum(rs.skipped) FROM run_sources rs JOIN sources s "
            "ON s.id = rs.source_id WHERE rs.run_id = ? GROUP BY s.account",
            (run,),
        ).fetchall()
    )
    boxes = []
    for account, folders, messages, size, unread, malformed in conn.execute(
        "SELECT account, count(DISTINCT folder), count(*), coalesce(sum(size_bytes), 0), "
        "coalesce(sum(1 - seen), 0), coalesce(sum(malformed), 0) FROM messages "
        "WHERE run_id = ? GROUP BY account ORDER BY account",
        (run,),
    ).fetchall():
        attachments, attachment_bytes = conn.execute(
            "SELECT count(*), coalesce(sum(size_bytes), 0) FROM attachments "
            "WHERE run_id = ? AND account = ?",
            (run, account),
        ).fetchone()
        boxes.append(
            {
                "account": account,
                "folders": folders,
                "messages": messages,
                "size_bytes": size,
                "attachments": attachments,
                "attachment_bytes": attachment_bytes,
                "unread": unread,
                "malformed": malformed,
                "skipped": skipped.get(account, 0) or 0,
            }
        )
    return boxes


def _reclaimable_by_set(conn: sqlite3.Connection, run: int, findings: list[dict]) -> dict:
    """reclaimable() as it was before schema v13: every old read message in a set."""
    old: set[tuple] = set()
    by_rule = {f["rule_id"]: f for f in findings}
    for row in (by_rule.get("MAIL002") or {}).get("evidence") or []:
        rows = conn.execute(
            "SELECT substr(internal_date, 1, 10), from_addr FROM messages WHERE run_id = ? "
            "AND account = ? AND folder = ? AND seen = 1 AND internal_date IS NOT NULL "
            "AND coalesce(special_use, '') NOT IN ('Trash', 'Junk') "
            "ORDER BY julianday(internal_date) LIMIT ?",
            (run, row["account"], row["folder"], int(row["messages"] or 0)),
        )
        old |= {(row["account"], row["folder"], date, sender) for date, sender in rows}
    largest: dict[tuple, int] = {}
    counted = 0
    for rule_id in ("MAIL001", "MAIL008"):
        for row in (by_rule.get(rule_id) or {}).get("evidence") or []:
            saving = row.get("bytes_reclaimable")
            if isinstance(saving, int | float) and saving > 0:
                key = tuple(row.get(k) for k in ("account", "folder", "date", "from_addr"))
                key += (row.get("filename"),)
                largest[key] = max(largest.get(key, 0), int(saving))
                counted += int(saving)
    overlap = counted - sum(largest.values())
    overlap += sum(saving for key, saving in largest.items() if key[:4] in old)
    listed = sum(f["bytes_reclaimable"] for f in findings if (f["bytes_reclaimable"] or 0) > 0)
    expected = {"total_bytes": max(listed - overlap, 0), "counted_twice_bytes": overlap}
    assert reclaimable(conn, run, findings) == expected
    return expected


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

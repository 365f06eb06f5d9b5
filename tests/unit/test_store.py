"""The fact store: private file, versioned schema, runs that each hold the whole picture."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from auditor.errors import StoreError
from auditor.store import open_readonly, open_store, writes
from auditor.store.schema import SCHEMA_VERSION
from tests.helpers import attachment, folder, message


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "facts.sqlite3"
    conn = open_store(path)
    yield conn, path
    conn.close()


def test_store_file_is_private_to_its_owner(store):
    _, path = store
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_store_is_created_at_the_current_schema_version(store):
    conn, _ = store
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_file_that_is_not_sqlite_is_one_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 100)
    with pytest.raises(StoreError, match=r"notes.txt: cannot use this file as the store"):
        open_store(path)
    assert path.read_text() == "shopping list\n" * 100  # nothing lost


def test_foreign_sqlite_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE accounts (x)")
    other.commit()
    other.close()
    with pytest.raises(StoreError, match="not an auditor store"):
        open_store(path)
    assert sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall() == [
        ("accounts",)
    ]


def test_store_from_a_newer_auditor_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = open_store(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this auditor supports"):
        open_store(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
def test_read_only_store_is_one_clear_error(tmp_path):
    path = tmp_path / "ro.db"
    open_store(path).close()
    path.chmod(0o400)
    conn = open_store(path)
    with pytest.raises(StoreError, match="cannot write a new run"):
        writes.start_run(conn)


def test_read_only_connection_cannot_change_anything(store):
    _, path = store
    ro = open_readonly(path)
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        ro.execute("DELETE FROM runs")
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        ro.execute("CREATE TEMP TABLE x (y)")


def _scan(conn, source, folders):
    run = writes.start_run(conn)
    writes.record_source_status(conn, run, source, "ok")
    counts = [writes.sync_folder(conn, source, run, f) for f in folders]
    writes.close_missing_folders(conn, source, run, [f.name for f in folders])
    writes.finish_run(conn, run, "complete", 100, [])
    return run, counts


def test_rescan_writes_only_what_changed_and_each_run_keeps_its_picture(store):
    conn, _ = store
    src = writes.source_id(conn, "mbox", "box", "/tmp/box")
    inbox1 = [message(1), message(2, attachments=(attachment("2", 6_000_000),)), message(3)]
    run1, counts1 = _scan(conn, src, [folder("INBOX", inbox1)])
    assert counts1 == [{"new": 3, "changed": 0, "gone": 0, "unchanged": 0}]

    # message 1 read -> unread, message 3 deleted, message 4 arrives
    inbox2 = [message(1, seen=False), inbox1[1], message(4)]
    run2, counts2 = _scan(conn, src, [folder("INBOX", inbox2)])
    assert counts2 == [{"new": 1, "changed": 1, "gone": 1, "unchanged": 1}]

    def uids(run):
        return conn.execute(
            "SELECT uid, seen FROM messages WHERE run_id = ? ORDER BY uid", (run,)
        ).fetchall()

    assert [tuple(r) for r in uids(run1)] == [(1, 1), (2, 1), (3, 1)]
    assert [tuple(r) for r in uids(run2)] == [(1, 0), (2, 1), (4, 1)]
    # the unchanged message and its attachment were carried over, not written again
    assert conn.execute("SELECT count(*) FROM message_versions").fetchone()[0] == 5
    assert conn.execute("SELECT count(*) FROM attachment_versions").fetchone()[0] == 1
    for run in (run1, run2):
        assert (
            conn.execute("SELECT size_bytes FROM attachments WHERE run_id = ?", (run,)).fetchall()[
                0
            ][0]
            == 6_000_000
        )
    latest = conn.execute("SELECT count(*) FROM latest_messages").fetchone()[0]
    assert latest == 3


def test_folder_gone_from_a_source_takes_its_mail_with_it(store):
    conn, _ = store
    src = writes.source_id(conn, "mbox", "box", "/tmp/box2")
    run1, _ = _scan(conn, src, [folder("INBOX", [message(1)]), folder("Old", [message(1)])])
    run2, _ = _scan(conn, src, [folder("INBOX", [message(1)])])
    folders = conn.execute(
        "SELECT run_id, folder, messages FROM folders ORDER BY run_id, folder"
    ).fetchall()
    assert [tuple(f) for f in folders] == [(run1, "INBOX", 1), (run1, "Old", 1), (run2, "INBOX", 1)]


def test_special_use_shows_on_messages(store):
    conn, _ = store
    src = writes.source_id(conn, "mbox", "box", "/tmp/box3")
    run, _ = _scan(conn, src, [folder("Corbeille", [message(7)], special_use="Trash")])
    row = conn.execute("SELECT special_use FROM messages WHERE run_id = ?", (run,)).fetchone()
    assert row[0] == "Trash"


def test_source_failing_in_a_later_run_keeps_its_last_known_facts(store):
    conn, _ = store
    src = writes.source_id(conn, "mbox", "box", "/tmp/box4")
    _scan(conn, src, [folder("INBOX", [message(1), message(2)])])
    run2 = writes.start_run(conn)
    writes.record_source_status(conn, run2, src, "failed", "box: not found")
    n = conn.execute("SELECT count(*) FROM messages WHERE run_id = ?", (run2,)).fetchone()[0]
    assert n == 2


def test_why_a_message_is_malformed_is_stored_and_queryable(tmp_path):
    """Issue 14: a message whose structure had to be guessed says why, in the store."""
    from auditor.collect.mail.localbox import collect_mbox

    eml = Path(__file__).parents[1] / "data" / "mail" / "mime_classes"
    box = tmp_path / "broken.mbox"
    box.write_bytes(
        b"From a@example.org Mon Jan  1 00:00:00 2024\n"
        + (eml / "c02_delimiter_never_appears.eml").read_bytes().replace(b"\r\n", b"\n")
        + b"\n"
    )
    conn = open_store(tmp_path / "store.sqlite3")
    run = writes.start_run(conn)
    sid = writes.source_id(conn, "mbox", "broken", str(box))
    for facts in collect_mbox(box):
        writes.sync_folder(conn, sid, run, facts)
    writes.record_source_status(conn, run, sid, "ok")
    conn.commit()
    malformed, reasons = conn.execute(
        "SELECT malformed, malformed_reasons FROM messages WHERE run_id = ?", (run,)
    ).fetchone()
    assert malformed == 1
    assert json.loads(reasons) == ["multipart-without-delimiter"]

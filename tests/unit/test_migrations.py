"""A store written by an older auditor is migrated on open, its facts kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from auditor.store import open_readonly, open_store
from auditor.store.schema import MIGRATIONS, SCHEMA_VERSION


def test_version_1_store_is_migrated_and_keeps_its_runs_and_hosts(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0])
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO runs (started_at, status, tool_version) "
        "VALUES ('2026-01-01', 'complete', '0.0.1')"
    )
    old.execute(
        "INSERT INTO host_facts (run_id, source, hostname, ram_bytes) VALUES (1, 'local', 'pc1', 4)"
    )
    old.commit()
    old.close()

    conn = open_store(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 13
    assert conn.execute("SELECT count(*) FROM clean_items").fetchone()[0] == 0  # v7: clean journal
    row = conn.execute("SELECT hostname, ram_bytes, os_supported FROM hosts").fetchone()
    assert tuple(row) == ("pc1", 4, None)
    assert conn.execute("SELECT count(*) FROM antivirus").fetchone()[0] == 0
    conn.close()
    assert open_readonly(path).execute("SELECT count(*) FROM latest_hosts").fetchone()[0] == 1


def test_a_version_7_store_learns_finished_runs_and_device_kind(tmp_path):
    # v8: "a finished run" and "laptop or desktop" are each written once, in the store
    path = tmp_path / "v7.sqlite3"
    old = sqlite3.connect(path)
    for step in MIGRATIONS[:7]:
        old.executescript(step) if isinstance(step, str) else step(old)
    old.execute("PRAGMA user_version = 7")
    for status in ("complete", "partial", "failed", "running"):
        old.execute(
            "INSERT INTO runs (started_at, status, tool_version) VALUES ('2026-01-01', ?, '0')",
            (status,),
        )
    hosts = [("pc", None, 1), ("tower", "desktop", 0), ("nas", None, 0), ("book", "laptop", 0)]
    for name, chassis, battery in hosts:
        old.execute(
            "INSERT INTO host_facts (run_id, source, hostname, chassis, battery_present) "
            "VALUES (2, 'local', ?, ?, ?)",
            (name, chassis, battery),
        )
    old.commit()
    old.close()

    conn = open_store(path)
    assert [r[0] for r in conn.execute("SELECT id FROM finished_runs ORDER BY id")] == [1, 2]
    assert conn.execute("SELECT id FROM latest_run_id").fetchone()[0] == 2
    kinds = dict(conn.execute("SELECT hostname, device_kind FROM latest_hosts"))
    assert kinds == {"pc": "laptop", "tower": "desktop", "nas": None, "book": "laptop"}
    conn.close()


def _shape(conn: sqlite3.Connection) -> dict:
    shape = {}
    for kind, name, sql in conn.execute(
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
    ):
        if kind == "table":
            shape[(kind, name)] = [r[1:] for r in conn.execute(f"PRAGMA table_info({name})")]
        else:
            shape[(kind, name)] = " ".join(sql.split())
    return shape


def test_a_store_of_the_first_development_build_is_repaired_and_keeps_its_rows(tmp_path):
    # The first schema auditor shipped (commit 92ee151) had no quota_facts, rule_runs, two
    # indexes, folder_state.messages, and an older `messages` view: scanning into it failed.
    first_v1 = (Path(__file__).parent.parent / "data" / "schema_v1_92ee151.sql").read_text()
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(first_v1)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO runs (started_at, status, tool_version) VALUES ('2026-01-01', 'complete', '0')"
    )
    old.commit()
    old.close()

    conn = open_store(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    fresh = open_store(tmp_path / "fresh.sqlite3")
    assert _shape(conn) == _shape(fresh)
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    conn.execute("INSERT INTO rule_runs (run_id, rule_id, digest) VALUES (1, 'MAIL001', 'x')")
    conn.close()
    fresh.close()


def test_the_repair_changes_nothing_on_a_store_in_shape(tmp_path):
    path = tmp_path / "v3.sqlite3"
    old = sqlite3.connect(path)
    for step in MIGRATIONS[:3]:
        old.executescript(step)
    old.execute("PRAGMA user_version = 3")
    old.commit()
    before = _shape(old)
    MIGRATIONS[3](old)  # the v4 repair alone (v5 then adds its own table and indexes)
    assert _shape(old) == before
    old.close()
    conn = open_store(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_store_written_by_the_previous_release_opens_and_keeps_its_runs(tmp_path):
    """Schema v4 (commit fa94d10), the last release before v5–v13: every step since is one
    transaction, and the store's runs, mail and findings are all still there after."""
    path = tmp_path / "v4.sqlite3"
    old = sqlite3.connect(path)
    old.executescript((Path(__file__).parent.parent / "data" / "schema_v4_fa94d10.sql").read_text())
    old.execute("PRAGMA user_version = 4")
    old.execute(
        "INSERT INTO runs (started_at, finished_at, status, tool_version, score) "
        "VALUES ('2026-11-01T07:00:00+00:00', '2026-11-01T07:01:00+00:00', 'complete', '0.1.0', 80)"
    )
    old.execute("INSERT INTO sources (kind, account, locator) VALUES ('mbox', 'asso', '/m')")
    old.execute("INSERT INTO run_sources (run_id, source_id, status) VALUES (1, 1, 'ok')")
    old.execute(
        "INSERT INTO message_versions (source_id, folder, uid, fingerprint, first_run, "
        "size_bytes, seen, flags, malformed) VALUES (1, 'INBOX', 7, 1, 1, 1234, 1, '', 0)"
    )
    old.commit()
    old.close()

    conn = open_store(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [r[0] for r in conn.execute("SELECT id FROM finished_runs")] == [1]
    row = conn.execute(
        "SELECT account, uid, size_bytes, malformed_reasons FROM messages"
    ).fetchone()
    assert tuple(row) == ("asso", 7, 1234, None)
    conn.close()

"""A store written by an older auditor is migrated on open, its facts kept."""

from __future__ import annotations

import sqlite3

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
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    row = conn.execute("SELECT hostname, ram_bytes, os_supported FROM hosts").fetchone()
    assert tuple(row) == ("pc1", 4, None)
    assert conn.execute("SELECT count(*) FROM antivirus").fetchone()[0] == 0
    conn.close()
    assert open_readonly(path).execute("SELECT count(*) FROM latest_hosts").fetchone()[0] == 1

"""The store under faults: a migration is all or nothing, two processes share it, special
files are refused, a damaged or newer store is one line, one run writes an account at a time."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.errors import StoreError
from auditor.store import db, open_readonly, open_store, writes
from auditor.store.schema import MIGRATIONS, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]


def _objects(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
    finally:
        conn.close()


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------ migrations


def test_processes_migrating_a_new_store_at_once_all_succeed(tmp_path):
    path = tmp_path / "new.sqlite3"
    code = "import sys; from auditor.store import open_store; open_store(sys.argv[1]).close()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert _version(path) == SCHEMA_VERSION
    fresh = tmp_path / "fresh.sqlite3"
    open_store(fresh).close()
    assert _objects(path) == _objects(fresh)


def test_a_migration_failing_half_way_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    # version 2 adds host_facts.vendor first, then tables: fail between the two
    broken = MIGRATIONS[1].replace(
        "CREATE TABLE antivirus_facts", "SELECT no_such_function();\nCREATE TABLE antivirus_facts"
    )
    monkeypatch.setattr(db, "MIGRATIONS", [MIGRATIONS[0], broken, *MIGRATIONS[2:]])
    path = tmp_path / "store.sqlite3"
    with pytest.raises(StoreError, match="no such function"):
        open_store(path)
    assert _version(path) == 0 and _objects(path) == []
    monkeypatch.undo()
    open_store(path).close()  # before: "duplicate column name: vendor", forever
    assert _version(path) == SCHEMA_VERSION


def test_a_failing_step_of_an_upgrade_keeps_the_old_version_and_its_rows(tmp_path, monkeypatch):
    path = tmp_path / "v4.sqlite3"
    old = sqlite3.connect(path)
    for step in MIGRATIONS[:4]:
        step(old) if callable(step) else old.executescript(step)
    old.execute("PRAGMA user_version = 4")
    old.execute("INSERT INTO runs (started_at, tool_version) VALUES ('2026-01-01', '0')")
    old.commit()
    old.close()
    before = _objects(path)

    def failing(conn):
        conn.execute("CREATE TABLE source_locks (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(db, "MIGRATIONS", [*MIGRATIONS[:4], failing])
    with pytest.raises(StoreError, match="disk I/O error"):
        open_store(path)
    assert _version(path) == 4 and _objects(path) == before
    monkeypatch.undo()
    conn = open_store(path)
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    conn.close()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 96 KB tmpfs: too small for a new store's schema (root only)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_during_the_first_migration_leaves_a_usable_file(tiny_disk):
    path = tiny_disk / "store.sqlite3"
    with pytest.raises(StoreError, match="full"):
        open_store(path)
    assert _version(path) == 0 and _objects(path) == []
    subprocess.run(["mount", "-o", "remount,size=4m", str(tiny_disk)], check=True)
    open_store(path).close()
    assert _version(path) == SCHEMA_VERSION


# ------------------------------------------------------------------ what a store is


def test_a_special_file_is_refused_as_a_store_and_nothing_is_created(tmp_path):
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    journal = Path("/dev/null-journal")
    existed = journal.exists()
    for command in (["scan", "--no-host", "--no-mail"], ["history"], ["query", "SELECT 1"]):
        code, _out, err = cli(*command, "--db", "/dev/null")
        assert code == 2 and err.count("\n") == 1, err
        assert "/dev/null: not a regular file" in err
    assert journal.exists() == existed
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(StoreError, match="not a regular file"):
        open_store(fifo)
    with pytest.raises(StoreError, match="not a regular file"):
        open_store(tmp_path)  # a folder


def test_a_store_made_world_readable_is_tightened_on_open(tmp_path):
    path = tmp_path / "store.sqlite3"
    open_store(path).close()
    path.chmod(0o644)
    journal = Path(f"{path}-journal")
    journal.write_bytes(b"")
    journal.chmod(0o644)
    open_store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    path.chmod(0o640)
    open_readonly(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_history_and_report_on_a_damaged_store_are_one_line(tmp_path, damage):
    path = tmp_path / "store.sqlite3"
    box = tmp_path / "box.mbox"
    box.write_bytes(
        b"".join(
            b"From a@b Mon Jan  1 00:00:00 2024\nSubject: m%d\n\n%s\n\n" % (i, b"x" * 3000)
            for i in range(300)
        )
    )
    code, _out, err = cli("scan", "--no-host", "--mbox", str(box), "--db", str(path), "-q")
    assert code in (0, 1), err
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(data[:100] + os.urandom(len(data) - 100))
    else:
        path.write_bytes(data[: len(data) // 3])
    for command in (["history"], ["report"], ["report", "--format", "json"]):
        code, _out, err = cli(*command, "--db", str(path))
        assert code == 2, (command, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert str(path) in err


def test_a_store_from_a_newer_auditor_says_upgrade_everywhere(tmp_path):
    path = tmp_path / "store.sqlite3"
    conn = open_store(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    for command in (["history"], ["report"], ["query", "SELECT 1"], ["scan", "--no-host"]):
        code, _out, err = cli(*command, "--db", str(path))
        assert code == 2 and err.count("\n") == 1, err
        assert "newer than this auditor supports" in err and "upgrade auditor" in err
        assert "migrate" not in err


# ------------------------------------------------------------------ numbers beyond 64 bits


def test_numbers_beyond_64_bits_are_stored_empty_with_one_line_each(tmp_path):
    # a broken probe or driver (psutil, smartctl, a battery's firmware) can report anything
    from auditor.collect.host.machine import Machine
    from auditor.collect.host.records import DiskFacts, HardwareFacts, HostFacts, SmartFacts

    host = HostFacts(
        hostname="pc-huge",
        os_name="Linux",
        os_version="Debian 12",
        os_release="6.1",
        cpu_model=None,
        cpu_cores_physical=4,
        cpu_cores_logical=2**64,
        ram_bytes=10**30,
        boot_time=None,
        battery_present=False,
        battery_percent=None,
        disks=[
            DiskFacts("/", "/dev/sda", "ext4", 10**12, 10**11, False, True),
            DiskFacts("/mnt", "/dev/sdb", "ext4", 2**70, 1, False, False),
        ],
    )
    hardware = HardwareFacts(smart=[SmartFacts("/dev/sda", True, -(2**80))])
    conn = open_store(tmp_path / "s.db")
    run = writes.start_run(conn)
    problems: list[str] = []
    writes.insert_machine(conn, run, Machine(host, hardware), problems)
    assert [str(p) for p in problems] == [
        "pc-huge: cpu_cores_logical: the number 18446744073709551616 is too large to store; "
        "kept empty",
        "pc-huge: ram_bytes: the number 1000000000000000000000000000000 is too large to store; "
        "kept empty",
        "pc-huge: disk /mnt: the number 1180591620717411303424 is too large to store; kept empty",
        "pc-huge: smart /dev/sda: the number -1208925819614629174706176 is too large to store; "
        "kept empty",
    ]
    row = conn.execute("SELECT ram_bytes, cpu_cores_logical, cpu_cores_physical FROM hosts")
    assert tuple(row.fetchone()) == (None, None, 4)
    assert [r[0] for r in conn.execute("SELECT mountpoint FROM disks")] == ["/"]
    smart = conn.execute("SELECT power_on_hours FROM smart_facts").fetchall()
    assert [tuple(r) for r in smart] == [(None,)]


def test_an_inventory_with_an_impossible_ram_size_is_one_line(tmp_path):
    folder = tmp_path / "inventories"
    folder.mkdir()
    code, _out, err = cli("inventory", "--output", str(folder / "pc.json"))
    assert code == 0, err
    doc = json.loads((folder / "pc.json").read_text())
    doc["host"]["hostname"] = "pc-huge"
    doc["host"]["ram_bytes"] = 10**30
    (folder / "pc.json").write_text(json.dumps(doc))
    db = tmp_path / "store.sqlite3"
    code, _out, err = cli(
        "scan", "--no-host", "--no-mail", "--inventory", str(folder), "--db", str(db), "-q"
    )
    assert code == 3 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "1000000000000000000000000000000" in err


# ------------------------------------------------------------------ one writer per account


def _source(path: Path) -> tuple[sqlite3.Connection, int]:
    conn = open_store(path)
    sid = writes.source_id(conn, "mbox", "asso", "/srv/asso.mbox")
    conn.commit()
    return conn, sid


def test_a_second_run_gives_up_on_a_busy_account_with_one_line(tmp_path):
    first, sid = _source(tmp_path / "s.db")
    second = open_store(tmp_path / "s.db")
    run_a, run_b = writes.start_run(first), writes.start_run(second)
    assert writes.claim_source(first, sid, run_a, "asso") is None
    line = writes.claim_source(second, sid, run_b, "asso", wait=0.3)
    assert line is not None
    assert f"another auditor run (process {os.getpid()}) is scanning asso since " in line
    assert line.endswith("; try again when it ends")
    writes.record_source_status(first, run_a, sid, "ok")  # the first run is done with it
    assert writes.claim_source(second, sid, run_b, "asso", wait=0) is None


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    conn, sid = _source(tmp_path / "s.db")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    crashed = writes.start_run(conn)
    conn.execute(
        "INSERT INTO source_locks (source_id, run_id, host, pid, since) VALUES (?, ?, ?, ?, ?)",
        (sid, crashed, os.uname().nodename, dead_pid, "2026-01-01T00:00:00+00:00"),
    )
    conn.commit()
    run = writes.start_run(conn)
    assert writes.claim_source(conn, sid, run, "asso", wait=0) is None


def test_a_run_that_waited_while_a_later_run_scanned_the_account_says_so(tmp_path):
    conn, sid = _source(tmp_path / "s.db")
    early, late = writes.start_run(conn), writes.start_run(conn)
    assert writes.claim_source(conn, sid, late, "asso") is None
    writes.record_source_status(conn, late, sid, "ok")
    line = writes.claim_source(conn, sid, early, "asso", wait=0)
    assert line is not None and f"(run {late}) scanned asso while this one waited" in line


def test_a_scan_meeting_a_busy_mbox_is_partial_with_one_line(tmp_path, monkeypatch):
    box = tmp_path / "asso.mbox"
    box.write_bytes(b"From a@b Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody\n")
    db = tmp_path / "s.db"
    conn = open_store(db)
    sid = writes.source_id(conn, "mbox", str(box), str(box.resolve()))
    other = writes.start_run(conn)
    assert writes.claim_source(conn, sid, other, "x") is None
    monkeypatch.setattr(writes, "LOCK_WAIT_SECONDS", 0.3)
    code, _out, err = cli("scan", "--no-host", "--mbox", str(box), "--db", str(db), "-q")
    assert code == 3, err
    assert [line for line in err.splitlines() if "another auditor run" in line] == [err.strip()]
    status = conn.execute("SELECT status FROM runs WHERE id = ?", (other + 1,)).fetchone()
    assert status[0] == "partial"
    assert conn.execute("SELECT count(*) FROM message_versions").fetchone()[0] == 0


def test_duplicates_left_by_an_older_version_are_repaired_by_the_migration(tmp_path):
    path = tmp_path / "v4.sqlite3"
    old = sqlite3.connect(path)
    for step in MIGRATIONS[:4]:
        step(old) if callable(step) else old.executescript(step)
    old.execute("PRAGMA user_version = 4")
    old.execute("INSERT INTO sources (kind, account, locator) VALUES ('imap', 'asso', 'x')")
    for run in (1, 2):
        old.execute(
            "INSERT INTO runs (started_at, status, tool_version) VALUES ('2026', 'complete', '0')"
        )
        old.execute("INSERT INTO run_sources VALUES (?, 1, 'ok', NULL, 0)", (run,))
        old.execute(
            "INSERT INTO folder_versions (source_id, name, first_run) VALUES (1, 'INBOX', ?)",
            (run,),
        )
        for uid in (1, 2, 3):  # both runs stored the account's first scan
            old.execute(
                "INSERT INTO message_versions (source_id, folder, uid, fingerprint, first_run, "
                "size_bytes, seen) VALUES (1, 'INBOX', ?, 0, ?, 10, 0)",
                (uid, run),
            )
    old.commit()
    old.close()
    conn = open_store(path)
    for run in (1, 2):
        assert (
            conn.execute("SELECT count(*) FROM messages WHERE run_id = ?", (run,)).fetchone()[0]
            == 3
        )
        assert (
            conn.execute("SELECT count(*) FROM folders WHERE run_id = ?", (run,)).fetchone()[0] == 1
        )
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO message_versions (source_id, folder, uid, fingerprint, first_run, "
            "size_bytes, seen) VALUES (1, 'INBOX', 1, 0, 3, 10, 0)"
        )

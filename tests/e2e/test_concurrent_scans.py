"""Two `auditor scan` processes on one store at once (cron and a manual run): one writer per
account, no message stored twice, and each run's status says what it really did."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from auditor.store import open_store
from tests.mailgen import generate_messages

MESSAGES = 800


def _scan_env(tmp_path: Path, password: str) -> dict[str, str]:
    return dict(
        os.environ,
        AUDITOR_CONFIG=str(tmp_path / "absent.toml"),
        AUDITOR_DB=str(tmp_path / "store.sqlite3"),
        AUDITOR_IMAP_PASSWORD=password,
    )


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "auditor", "scan", "--no-host", "-q", "--lang", "en", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _duplicates(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT source_id, folder, uid, count(*) FROM message_versions WHERE gone_run IS NULL "
        "GROUP BY source_id, folder, uid HAVING count(*) > 1"
    ).fetchall()


def _check_runs_tell_the_truth(conn: sqlite3.Connection, expected: int) -> None:
    """A complete run holds every message once; a partial one says another run was busy."""
    runs = conn.execute("SELECT id, status, errors FROM runs ORDER BY id").fetchall()
    assert len(runs) == 2
    for run_id, status, errors in runs:
        (stored,) = conn.execute(
            "SELECT count(*) FROM messages WHERE run_id = ?", (run_id,)
        ).fetchone()
        if status == "complete":
            assert stored == expected
        else:
            assert status == "partial"
            keys = {e.get("key") for e in json.loads(errors) if isinstance(e, dict)}
            assert keys & {"errors.store.busy", "errors.store.overtaken"}, errors


def test_two_first_scans_of_one_imap_account_at_once_store_each_message_once(
    imap_account, tmp_path
):
    imap_account.client().logout()  # the first login creates the special-use folders
    msgs = list(generate_messages(MESSAGES, seed=11, light=True))
    imap_account.server.deliver_generated(imap_account.user, msgs)
    url = f"imap://{imap_account.user}@127.0.0.1:{imap_account.port}"
    env = _scan_env(tmp_path, imap_account.password)
    open_store(tmp_path / "store.sqlite3").close()  # an existing store (the mbox test: a new one)
    args = ["--imap", url, "--ca-file", str(imap_account.ca_file)]
    first, second = _start(args, env), _start(args, env)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    for proc, (_out, err) in zip((first, second), outs, strict=True):
        assert proc.returncode in (0, 1, 3), err
        assert "Traceback" not in err
    conn = sqlite3.connect(tmp_path / "store.sqlite3")
    assert _duplicates(conn) == []
    (open_rows,) = conn.execute(
        "SELECT count(*) FROM message_versions WHERE gone_run IS NULL"
    ).fetchone()
    assert open_rows == len(msgs)
    _check_runs_tell_the_truth(conn, len(msgs))


def test_two_scans_of_one_mbox_at_once_keep_one_folder_and_each_message_once(tmp_path):
    box = tmp_path / "asso.mbox"
    with box.open("wb") as f:
        for i, m in enumerate(generate_messages(MESSAGES, seed=3, light=True)):
            f.write(b"From sender@example.org Mon Jan  1 00:00:00 2024\n")
            f.write(m.raw.replace(b"\nFrom ", b"\n>From ").rstrip(b"\n") + b"\n\n")
            if i == MESSAGES:
                break
    env = _scan_env(tmp_path, "")
    first, second = _start(["--mbox", str(box)], env), _start(["--mbox", str(box)], env)
    for proc in (first, second):
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1, 3), err
        assert "Traceback" not in err
    conn = sqlite3.connect(tmp_path / "store.sqlite3")
    assert _duplicates(conn) == []
    folders = conn.execute(
        "SELECT source_id, name, count(*) FROM folder_versions WHERE gone_run IS NULL "
        "GROUP BY source_id, name HAVING count(*) > 1"
    ).fetchall()
    assert folders == []
    (expected,) = conn.execute(
        "SELECT count(*) FROM message_versions WHERE gone_run IS NULL"
    ).fetchone()
    assert expected > 0
    _check_runs_tell_the_truth(conn, expected)

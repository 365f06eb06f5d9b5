"""A mailbox for the `auditor clean` tests, and what proves that nothing was lost.

Every action has messages to act on: old read mail (MAIL002), old Trash (MAIL004),
duplicates (MAIL005), an unread newsletter (MAIL003); and messages that must stay (recent,
unread). Some bodies hold lines starting with "From " (mbox quoting), one has no final
newline, one is 8-bit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main

OLD = dt.datetime(2019, 3, 4, 10, 30, 0, tzinfo=dt.UTC)
RECENT = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
ROOT = Path(__file__).resolve().parents[2]


def raw_message(n: int, *, sender="alice@example.org", extra="", body=None, mid=None) -> bytes:
    mid = mid or f"<m{n}@example.org>"
    text = body if body is not None else f"Message {n}\r\nFrom the start, a line.\r\n>From x\r\n"
    return (
        f"From: {sender}\r\nTo: asso@example.org\r\nSubject: message {n}\r\n"
        f"Message-ID: {mid}\r\nDate: Mon, 4 Mar 2019 10:30:00 +0000\r\n{extra}\r\n{text}"
    ).encode()


def fill(server, user: str, old_inbox: int = 6) -> None:
    """Deliver the test mailbox (flags are set with doveadm-free Maildir letters)."""
    for n in range(old_inbox):
        server.deliver(user, "INBOX", raw_message(n), seen=True, internal_date=OLD)
    server.deliver(
        user,
        "INBOX",
        raw_message(100, body="no final newline"),
        seen=True,
        internal_date=OLD,
        flags=["\\Flagged"],
    )
    server.deliver(
        user,
        "INBOX",
        raw_message(101, body="café, 8 bits\r\n"),
        seen=True,
        internal_date=OLD,
        flags=["\\Answered"],
    )
    server.deliver(user, "INBOX", raw_message(200), seen=True, internal_date=RECENT)
    server.deliver(user, "INBOX", raw_message(201), seen=False, internal_date=OLD)
    dup = raw_message(300, mid="<dup@example.org>")
    for _ in range(3):
        server.deliver(user, "Lists", dup, seen=False, internal_date=RECENT)
    for n in range(400, 404):
        server.deliver(user, "Trash", raw_message(n), seen=True, internal_date=OLD)
    server.deliver(user, "Trash", raw_message(404), seen=True, internal_date=RECENT)
    for n in range(500, 504):
        news = raw_message(
            n,
            sender="news@lettre.example",
            extra="List-Unsubscribe: <mailto:unsub@lettre.example?subject=stop>\r\n",
        )
        server.deliver(user, "Lists", news, seen=False, internal_date=RECENT)


def snapshot(account) -> Counter:
    """Every message of the account: (folder, SHA-256, flags, INTERNALDATE as UTC)."""
    client = account.client()
    found: Counter = Counter()
    try:
        for _flags, _delim, folder in client.list_folders():
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            if not uids:
                continue
            for _uid, f in client.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]).items():
                flags = tuple(sorted(x.decode() for x in f[b"FLAGS"] if x != b"\\Recent"))
                when = f[b"INTERNALDATE"]
                stamp = when.timestamp() if when.tzinfo else when.astimezone().timestamp()
                found[(folder, hashlib.sha256(f[b"BODY[]"]).hexdigest(), flags, stamp)] += 1
    finally:
        client.logout()
    return found


def backed_up(db: Path) -> Counter:
    """SHA-256 of every copy the journal says is saved, checked against the file."""
    import sqlite3

    from auditor.clean.backup import read_copy

    conn = sqlite3.connect(db)
    found: Counter = Counter()
    for path, off, length, sha in conn.execute(
        "SELECT backup_path, backup_offset, backup_length, sha256 FROM clean_items "
        "WHERE sha256 IS NOT NULL AND state != 'restored'"
    ):
        raw = read_copy(path, off, length)
        assert hashlib.sha256(raw).hexdigest() == sha, "a backup copy differs from its hash"
        found[sha] += 1
    conn.close()
    return found


def assert_nothing_lost(before: Counter, server_now: Counter, db: Path) -> None:
    """Every original message is on the server or in the backup (by SHA-256)."""
    have = Counter(k[1] for k in server_now.elements()) + backed_up(db)
    wanted = Counter(k[1] for k in before.elements())
    lost = {sha: n - have[sha] for sha, n in wanted.items() if have[sha] < n}
    assert not lost, f"lost: {lost}"


def config_for(tmp_path: Path, account, port: int | None = None) -> Path:
    lines = [
        "[[accounts]]",
        'name = "asso"',
        f"host = {json.dumps(account.host)}",
        f"port = {port or account.port}",
        'security = "none"',
        f"username = {json.dumps(account.user)}",
        'password_env = "TEST_IMAP_PW"',
        "timeout = 10",
        "[report.email]",
        'smtp_host = "127.0.0.1"',
        "smtp_port = 1",
        'security = "none"',
        'from = "asso@example.org"',
        'to = ["asso@example.org"]',
    ]
    path = tmp_path / "auditor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def env_for(tmp_path: Path, account) -> dict[str, str]:
    return {
        "AUDITOR_DB": str(tmp_path / "store.sqlite3"),
        "TEST_IMAP_PW": account.password,
        "AUDITOR_CONFIG": str(tmp_path / "auditor.toml"),
    }


def cli(tmp_path: Path, account, *args: str, env=None):
    """Run `auditor ARGS` in-process; returns the Click result."""
    config = tmp_path / "auditor.toml"
    full_env = {**env_for(tmp_path, account), **(env or {})}
    return CliRunner().invoke(
        main,
        [*args[:1], "--config", str(config), *args[1:]],
        env=full_env,
        catch_exceptions=False,
    )


def scan(tmp_path: Path, account):
    result = cli(
        tmp_path,
        account,
        "scan",
        "--no-host",
        "--format",
        "json",
        "-q",
        "--output",
        str(tmp_path / "report.json"),
    )
    assert result.exit_code in (0, 1), result.output
    return result


def process(tmp_path: Path, account, *args: str) -> subprocess.Popen:
    """`python -m auditor ARGS` as a separate process (to be killed)."""
    env = {**os.environ, **env_for(tmp_path, account), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auditor",
            args[0],
            "--config",
            str(tmp_path / "auditor.toml"),
            *args[1:],
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )

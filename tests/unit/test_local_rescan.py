"""A rescan of local mail reads only what changed, and stores what a full read would.

Thunderbird appends to its mbox files and rewrites them when a folder is compacted or a
flag changes; Maildir adds files, renames them when flags change and deletes them. After
each kind of change the store of a rescan must hold exactly the facts of a fresh store
that read everything once, while an unchanged file or message file is not parsed again.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.mail import localbox


@pytest.fixture
def parsed(monkeypatch, tmp_path):
    """How many messages the collectors parsed (every read goes through message_facts)."""
    count = {"n": 0}
    real = localbox.message_facts

    def counting(*args, **kwargs):
        count["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(localbox, "message_facts", counting)
    (tmp_path / "auditor.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "auditor.toml"))

    def since_last() -> int:
        n, count["n"] = count["n"], 0
        return n

    return since_last


def _tb_message(i: int, status: str = "0000") -> bytes:
    """One message as Thunderbird writes it in an mbox file."""
    return (
        f"From - Mon Jan  2 10:{i % 60:02d}:00 2023\r\n"
        f"X-Mozilla-Status: {status}\r\nX-Mozilla-Status2: 00000000\r\n"
        f"From: Sender {i} <s{i}@asso.example.org>\r\nSubject: Message {i}\r\n"
        f"Message-ID: <m{i}@asso.example.org>\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000\r\n"
        f"\r\nBody {i}\r\n>From the archive\r\n{'x' * (i * 37 % 500)}\r\n\r\n"
    ).encode()


def _scan(db: Path, *args: str) -> None:
    result = CliRunner().invoke(main, ["scan", "--no-host", "-q", "--db", str(db), *args])
    assert result.exit_code in (0, 1), result.output


def _facts(db: Path) -> set[tuple]:
    """The open facts of the store's mail: folders, messages (every field, through the
    fingerprint) and attachments."""
    conn = sqlite3.connect(db)
    try:
        folders = conn.execute(
            "SELECT 'folder', name, special_use, NULL FROM folder_versions WHERE gone_run IS NULL"
        )
        messages = conn.execute(
            "SELECT 'message', folder, uid, fingerprint FROM message_versions "
            "WHERE gone_run IS NULL"
        )
        parts = conn.execute(
            "SELECT 'part', m.folder || ':' || m.uid, a.part, a.size_bytes "
            "FROM attachment_versions a JOIN message_versions m ON m.id = a.message_version_id "
            "WHERE m.gone_run IS NULL"
        )
        return {*folders, *messages, *parts}
    finally:
        conn.close()


def _same_as_a_full_read(tmp_path: Path, rescanned: Path, *args: str) -> None:
    fresh = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}.sqlite3"
    _scan(fresh, *args)
    assert _facts(rescanned) == _facts(fresh)


def test_an_mbox_rescan_reads_only_appended_mail_and_stores_what_a_full_read_gives(
    tmp_path, parsed
):
    profile = tmp_path / "Local Folders"
    (profile / "Archives.sbd").mkdir(parents=True)
    inbox, year = profile / "Inbox", profile / "Archives.sbd" / "2023"
    inbox.write_bytes(b"".join(_tb_message(i) for i in range(1, 9)))
    year.write_bytes(b"".join(_tb_message(i, "0001") for i in range(20, 25)))
    (profile / "Inbox.msf").write_text("index", encoding="utf-8")
    db, args = tmp_path / "store.sqlite3", ("--mbox", str(profile))
    _scan(db, *args)
    assert parsed() == 13

    _scan(db, *args)  # nothing changed: no file is read
    assert parsed() == 0
    _same_as_a_full_read(tmp_path, db, *args)
    parsed()

    with inbox.open("ab") as fh:  # Thunderbird delivers three messages
        fh.write(b"".join(_tb_message(i) for i in range(9, 12)))
    _scan(db, *args)
    assert parsed() == 3
    _same_as_a_full_read(tmp_path, db, *args)
    parsed()

    # read in Thunderbird: the status is rewritten in place, same size, new mtime
    data = inbox.read_bytes().replace(b"X-Mozilla-Status: 0000", b"X-Mozilla-Status: 0001", 2)
    inbox.write_bytes(data)
    _scan(db, *args)
    assert parsed() == 11  # read whole
    _same_as_a_full_read(tmp_path, db, *args)
    parsed()

    # compacted (a message deleted), then one more delivered: shorter, then grown
    year.write_bytes(b"".join(_tb_message(i, "0001") for i in (20, 21, 23, 24)))
    _scan(db, *args)
    with year.open("ab") as fh:
        fh.write(_tb_message(25))
    _scan(db, *args)
    assert parsed() == 4 + 1
    _same_as_a_full_read(tmp_path, db, *args)
    parsed()

    # replaced by a longer file whose old end is not where it was: read whole
    year.write_bytes(b"".join(_tb_message(i) for i in range(30, 40)))
    _scan(db, *args)
    assert parsed() == 10
    _same_as_a_full_read(tmp_path, db, *args)
    parsed()

    year.unlink()  # a folder deleted: its mail goes, and its state
    _scan(db, *args)
    _same_as_a_full_read(tmp_path, db, *args)
    assert sqlite3.connect(db).execute("SELECT folder FROM local_files").fetchall() == [("Inbox",)]


def _deliver(root: Path, name: str, i: int) -> Path:
    path = root / "cur" / name
    path.write_bytes(_tb_message(i).split(b"\r\n", 1)[1])
    return path


def test_a_maildir_rescan_reads_only_new_or_renamed_files_and_notices_the_ones_that_went(
    tmp_path, parsed
):
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (root / sub).mkdir(parents=True)
    for i in range(1, 6):
        _deliver(root, f"17000000{i}.M{i}P1.host:2,S", i)
    _deliver(root / ".Sent", "170000009.M9P1.host:2,S", 9)
    db, args = tmp_path / "store.sqlite3", ("--maildir", str(root))
    _scan(db, *args)
    assert parsed() == 6

    _scan(db, *args)
    assert parsed() == 0
    _same_as_a_full_read(tmp_path, db, *args)
    parsed()

    _deliver(root, "170000006.M6P1.host:2,", 6)  # one new message
    # one answered (its flags change: a rename), one deleted
    os.rename(root / "cur" / "170000001.M1P1.host:2,S", root / "cur" / "170000001.M1P1.host:2,RS")
    (root / "cur" / "170000002.M2P1.host:2,S").unlink()
    # a keyword letter Dovecot adds changes no stored fact: not read again
    os.rename(root / "cur" / "170000003.M3P1.host:2,S", root / "cur" / "170000003.M3P1.host:2,Sa")
    _scan(db, *args)
    assert parsed() == 2
    _same_as_a_full_read(tmp_path, db, *args)

"""Local mail rescans on the store side: what the last scan saw of each mbox file (table
local_files, schema v9), what is stored of each Maildir folder, and writing a `LocalFolder`
(auditor.collect.mail.localbox) that holds only what changed."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from auditor.store.writes import (
    close_messages,
    insert_messages,
    sync_folder,
    sync_folder_version,
    writing,
)

if TYPE_CHECKING:
    from auditor.collect.mail.localbox import KnownFlags, LocalFolder, MboxFileState


def file_states(conn: sqlite3.Connection, source: int) -> dict[str, MboxFileState]:
    """folder name -> what the last scan read of its mbox file."""
    from auditor.collect.mail.localbox import MboxFileState

    rows = conn.execute(
        "SELECT folder, path, size, mtime_ns, inode, next_key, tail_digest FROM local_files "
        "WHERE source_id = ?",
        (source,),
    )
    return {row[0]: MboxFileState(*row[1:]) for row in rows}


def known_flags(conn: sqlite3.Connection, source: int, folder: str) -> KnownFlags:
    """key -> (seen, flags) of the messages stored as present in one folder."""
    rows = conn.execute(
        "SELECT uid, seen, flags FROM message_versions "
        "WHERE source_id = ? AND folder = ? AND gone_run IS NULL",
        (source, folder),
    )
    return {uid: (bool(seen), flags) for uid, seen, flags in rows}


def store_local_folder(
    conn: sqlite3.Connection, source: int, run_id: int, folder: LocalFolder
) -> None:
    """Write what a rescan read of one folder, then what to remember of its file.

    The state is written after the facts it describes and in the same transaction as the
    last of them: a cut leaves either both or a state that is older (the file is then read
    whole or from an older end, never skipped wrongly)."""
    facts = folder.facts
    if folder.whole:  # the old state goes first: it no longer describes the stored facts
        _forget(conn, source, facts.name)
        sync_folder(conn, source, run_id, facts)  # commits
    with writing(conn, "folder", facts.name):
        sync_folder_version(conn, source, run_id, facts.name, facts.special_use)
        if not folder.whole:
            close_messages(conn, source, facts.name, run_id, folder.close)
            insert_messages(conn, source, facts.name, run_id, facts.messages)
        if not folder.unchanged:
            _forget(conn, source, facts.name)
        if folder.state is not None and not folder.unchanged:
            s = folder.state
            conn.execute(
                "INSERT INTO local_files (source_id, folder, path, size, mtime_ns, inode, "
                "next_key, tail_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source, facts.name, s.path, s.size, s.mtime_ns, s.inode, s.next_key)
                + (s.tail_digest,),
            )
        if conn.in_transaction:  # an unchanged folder writes nothing, and waits for no disk
            conn.commit()


def _forget(conn: sqlite3.Connection, source: int, folder: str) -> None:
    conn.execute("DELETE FROM local_files WHERE source_id = ? AND folder = ?", (source, folder))


def forget_files(conn: sqlite3.Connection, source: int, present: list[str]) -> None:
    """Drop the state of folders a scan no longer found (their facts are closed)."""
    keep = set(present)
    gone = [
        (source, name)
        for (name,) in conn.execute("SELECT folder FROM local_files WHERE source_id = ?", (source,))
        if name not in keep
    ]
    if gone:
        conn.executemany("DELETE FROM local_files WHERE source_id = ? AND folder = ?", gone)
        conn.commit()

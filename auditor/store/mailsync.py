"""The store's side of an incremental IMAP scan: the `FolderSink` the collector reports to.

Each account's scan runs in its own thread with its own connection to the store; every
batch is committed, so an interrupted scan resumes from what is already stored.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from auditor.collect.mail.imap import FolderState
from auditor.store import writes

if TYPE_CHECKING:
    from auditor.collect.mail.records import MessageFacts

_COPY_COLUMNS = (
    "source_id, folder, uid, fingerprint, message_id, internal_date, size_bytes, "
    "from_addr, from_domain, subject, list_id, list_unsubscribe, one_click_unsubscribe, "
    "precedence, auto_submitted, malformed, malformed_reasons"
)


class StoreFolderSink:
    """Writes one IMAP account's folders into the store for one run."""

    def __init__(self, conn: sqlite3.Connection, source: int, run_id: int):
        self.conn = conn
        self.source = source
        self.run_id = run_id

    def state(self, folder: str) -> FolderState | None:
        row = self.conn.execute(
            "SELECT uidvalidity, highestmodseq, uidnext, messages FROM folder_state "
            "WHERE source_id = ? AND name = ?",
            (self.source, folder),
        ).fetchone()
        return FolderState(*row) if row else None

    def known_uids(self, folder: str) -> set[int]:
        rows = self.conn.execute(
            "SELECT uid FROM message_versions "
            "WHERE source_id = ? AND folder = ? AND gone_run IS NULL",
            (self.source, folder),
        )
        return {uid for (uid,) in rows}

    def begin_folder(self, folder: str, special_use: str | None) -> None:
        with writes.writing(self.conn, "folder", folder):
            writes.sync_folder_version(self.conn, self.source, self.run_id, folder, special_use)
            self.conn.commit()

    def rebuild(self, folder: str) -> None:
        """UIDVALIDITY changed: every stored message of the folder ends here."""
        with writes.writing(self.conn, "folder", folder):
            self.conn.execute(
                "UPDATE message_versions SET gone_run = ? "
                "WHERE source_id = ? AND folder = ? AND gone_run IS NULL",
                (self.run_id, self.source, folder),
            )
            self.conn.execute(
                "DELETE FROM folder_state WHERE source_id = ? AND name = ?", (self.source, folder)
            )
            self.conn.commit()

    def add(self, folder: str, messages: list[MessageFacts]) -> None:
        with writes.writing(self.conn, "folder", folder):
            writes.insert_messages(self.conn, self.source, folder, self.run_id, messages)
            self.conn.commit()

    def set_flags(self, folder: str, changes: dict[int, tuple[bool, tuple[str, ...]]]) -> int:
        """New versions for messages whose flags changed, carrying everything else over.

        Returns how many really changed (without CONDSTORE every message's flags come in)."""
        changed = 0
        with writes.writing(self.conn, "folder", folder):
            for uid, (seen, flags) in changes.items():
                old = self.conn.execute(
                    "SELECT id, seen, flags FROM message_versions "
                    "WHERE source_id = ? AND folder = ? AND uid = ? AND gone_run IS NULL",
                    (self.source, folder, uid),
                ).fetchone()
                flag_text = " ".join(flags)
                if old is None or (bool(old[1]) == seen and old[2] == flag_text):
                    continue
                changed += 1
                self.conn.execute(
                    "UPDATE message_versions SET gone_run = ? WHERE id = ?", (self.run_id, old[0])
                )
                cur = self.conn.execute(
                    f"INSERT INTO message_versions ({_COPY_COLUMNS}, first_run, seen, flags) "
                    f"SELECT {_COPY_COLUMNS}, ?, ?, ? FROM message_versions WHERE id = ?",
                    (self.run_id, int(seen), flag_text, old[0]),
                )
                self.conn.execute(
                    "INSERT INTO attachment_versions (message_version_id, part, filename, "
                    "content_type, encoded_bytes, size_bytes) SELECT ?, part, filename, "
                    "content_type, encoded_bytes, size_bytes FROM attachment_versions "
                    "WHERE message_version_id = ?",
                    (cur.lastrowid, old[0]),
                )
            self.conn.commit()
        return changed

    def remove(self, folder: str, uids: set[int]) -> None:
        with writes.writing(self.conn, "folder", folder):
            writes.close_messages(self.conn, self.source, folder, self.run_id, uids)
            self.conn.commit()

    def save_state(self, folder: str, state: FolderState) -> None:
        with writes.writing(self.conn, "folder", folder):
            self.conn.execute(
                "INSERT OR REPLACE INTO folder_state "
                "(source_id, name, uidvalidity, highestmodseq, uidnext, messages) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.source,
                    folder,
                    state.uidvalidity,
                    state.highestmodseq,
                    state.uidnext,
                    state.messages,
                ),
            )
            self.conn.commit()

    def save_quota(
        self,
        root: str,
        used_bytes: int | None,
        limit_bytes: int | None,
        used_messages: int | None,
        limit_messages: int | None,
    ) -> None:
        with writes.writing(self.conn, "quota"):
            self.conn.execute(
                "INSERT INTO quota_facts (run_id, source_id, root, used_bytes, limit_bytes, "
                "used_messages, limit_messages) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.run_id,
                    self.source,
                    root,
                    used_bytes,
                    limit_bytes,
                    used_messages,
                    limit_messages,
                ),
            )
            self.conn.commit()

    def reuse_quota(self) -> bool:
        """Copy the last run's quota of this account into this run; False if there is none."""
        with writes.writing(self.conn, "quota"):
            cur = self.conn.execute(
                "INSERT INTO quota_facts (run_id, source_id, root, used_bytes, limit_bytes, "
                "used_messages, limit_messages) SELECT ?, source_id, root, used_bytes, "
                "limit_bytes, used_messages, limit_messages FROM quota_facts "
                "WHERE source_id = ? AND run_id = (SELECT max(run_id) FROM quota_facts "
                "WHERE source_id = ? AND run_id < ?)",
                (self.run_id, self.source, self.source, self.run_id),
            )
            self.conn.commit()
        return cur.rowcount > 0

    def finish(self, folders: list[str]) -> None:
        """Folders the server no longer lists are gone, with their mail and sync state."""
        writes.close_missing_folders(self.conn, self.source, self.run_id, folders)
        with writes.writing(self.conn, "folders"):
            placeholders = ", ".join("?" * len(folders)) or "''"
            self.conn.execute(
                f"DELETE FROM folder_state WHERE source_id = ? AND name NOT IN ({placeholders})",
                (self.source, *folders),
            )
            self.conn.commit()

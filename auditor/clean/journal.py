"""The journal of `auditor clean` in the store: what each run planned and how far it got.

Per message: planned -> saved (whole copy fsync'd in the backup, SHA-256 recorded) ->
acting (the server change was sent) -> done (the server answered) -> verified (the source
folder no longer holds it). Off the path: skipped (changed or gone before we acted, with a
note) and restored (put back by --undo). Every state change is one committed transaction,
written after the fact it records, so a crash leaves the journal behind reality, never
ahead of it: a re-run finds out what really happened on the server.
"""

from __future__ import annotations

import contextvars
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from auditor.clean.plan import Item, Plan, Selection, Unsubscribe
from auditor.store.writes import now_iso

STATES = ("planned", "saved", "acting", "done", "verified", "skipped", "restored")
HANDLED = ("done", "verified")


@dataclass
class Entry:
    """A journaled message."""

    id: int
    rule_id: str
    action: str
    account: str
    folder: str
    uidvalidity: int | None
    uid: int
    size_bytes: int
    message_id: str | None
    target: str | None
    state: str
    sha256: str | None
    flags: str | None
    internal_date: str | None
    gm_msgid: int | None
    backup_path: str | None
    backup_offset: int | None
    backup_length: int | None
    note: str | None


_GROUPED: contextvars.ContextVar[bool] = contextvars.ContextVar("grouped", default=False)


@contextmanager
def grouped(conn: sqlite3.Connection) -> Iterator[None]:
    """The journal writes inside are one transaction (one commit, one fsync of the store),
    or none of them if an exception leaves it: the journal never runs ahead of reality."""
    token = _GROUPED.set(True)
    try:
        with conn:
            yield
    finally:
        _GROUPED.reset(token)


def _commit(conn: sqlite3.Connection, sql: str, rows: Iterable[tuple]) -> None:
    if _GROUPED.get():
        conn.executemany(sql, rows)
        return
    with conn:
        conn.executemany(sql, rows)


def handled_messages(conn: sqlite3.Connection) -> set[tuple[str, str, int | None, int]]:
    """Messages any clean run not undone has acted on: a new plan leaves them out."""
    return {
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT i.account, i.folder, i.uidvalidity, i.uid FROM clean_items i "
            "JOIN clean_runs c ON c.id = i.clean_run "
            "WHERE c.status != 'undone' AND i.state IN ('acting', 'done', 'verified')"
        )
    }


def find_run(conn: sqlite3.Connection, key: str) -> sqlite3.Row | None:
    """The clean run of the same selection on the same scan run, to resume (not undone)."""
    return conn.execute(
        "SELECT * FROM clean_runs WHERE selection = ? AND status != 'undone' "
        "ORDER BY id DESC LIMIT 1",
        (key,),
    ).fetchone()


def get_run(conn: sqlite3.Connection, clean_run: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM clean_runs WHERE id = ?", (clean_run,)).fetchone()


def start_run(conn: sqlite3.Connection, plan: Plan, sel: Selection, archive_dir: str) -> int:
    """Journal a new run and every planned message, in one transaction."""
    with conn:
        cur = conn.execute(
            "INSERT INTO clean_runs (scan_run, selection, archive_dir, started_at) "
            "VALUES (?, ?, ?, ?)",
            (plan.run_id, sel.key(plan.run_id), archive_dir, now_iso()),
        )
        run = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT OR IGNORE INTO clean_items (clean_run, rule_id, action, account, folder, "
            "uidvalidity, uid, size_bytes, message_id, target) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [_item_row(run, it) for it in plan.items],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO clean_unsubscribes (clean_run, account, sender, method, "
            "target) VALUES (?, ?, ?, ?, ?)",
            [(run, u.account, u.sender, u.method, u.target) for u in plan.unsubscribes],
        )
    return run


def _item_row(run: int, it: Item) -> tuple:
    return (
        run,
        it.rule_id,
        it.action,
        it.account,
        it.folder,
        it.uidvalidity,
        it.uid,
        it.size_bytes,
        it.message_id,
        it.target,
    )


def entries(
    conn: sqlite3.Connection, clean_run: int, states: tuple[str, ...] | None = None
) -> list[Entry]:
    sql = f"SELECT {_FIELDS} FROM clean_items WHERE clean_run = ?"
    params: list = [clean_run]
    if states:
        sql += f" AND state IN ({','.join('?' * len(states))})"
        params += list(states)
    sql += " ORDER BY account, folder, uid"
    return [_entry(r) for r in conn.execute(sql, params)]


def entries_by_id(conn: sqlite3.Connection, ids: list[int], states: tuple[str, ...]) -> list[Entry]:
    found: list[Entry] = []
    marks = ",".join("?" * len(states))
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        part = ids[start : start + 500]
        found += [
            _entry(r)
            for r in conn.execute(
                f"SELECT {_FIELDS} FROM clean_items WHERE id IN ({','.join('?' * len(part))}) "
                f"AND state IN ({marks}) ORDER BY uid",
                [*part, *states],
            )
        ]
    return found


_FIELDS = ", ".join(Entry.__dataclass_fields__)  # selected in this order: Entry(*row)


def _entry(r: sqlite3.Row) -> Entry:
    return Entry(*r)


def unsubscribes(conn: sqlite3.Connection, clean_run: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM clean_unsubscribes WHERE clean_run = ? ORDER BY account, sender",
        (clean_run,),
    ).fetchall()


def set_uidvalidity(conn: sqlite3.Connection, ids: list[int], uidvalidity: int) -> None:
    _commit(
        conn,
        "UPDATE clean_items SET uidvalidity = ? WHERE id = ? AND uidvalidity IS NULL",
        [(uidvalidity, i) for i in ids],
    )


def mark_saved(conn: sqlite3.Connection, saved: list[tuple]) -> None:
    """(id, sha256, flags, internal_date, gm_msgid, path, offset, length) per message."""
    _commit(
        conn,
        "UPDATE clean_items SET state = 'saved', sha256 = ?, flags = ?, internal_date = ?, "
        "gm_msgid = ?, backup_path = ?, backup_offset = ?, backup_length = ? WHERE id = ?",
        [(*row[1:], row[0]) for row in saved],
    )


def set_flags(conn: sqlite3.Connection, flags: dict[int, str]) -> None:
    """Flags read again just before the server change (another client may have set some)."""
    _commit(
        conn, "UPDATE clean_items SET flags = ? WHERE id = ?", [(f, i) for i, f in flags.items()]
    )


def mark(conn: sqlite3.Connection, ids: Iterable[int], state: str, note: str | None = None) -> None:
    """One transaction; one statement per 500 ids (SQLite's bound-parameter limit)."""
    ids = list(ids)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        _commit(
            conn,
            "UPDATE clean_items SET state = ?, note = coalesce(?, note) "
            f"WHERE id IN ({','.join('?' * len(part))})",
            [(state, note, *part)],
        )


def mark_unsubscribe(conn, clean_run: int, account: str, sender: str, state: str, note=None):
    _commit(
        conn,
        "UPDATE clean_unsubscribes SET state = ?, note = ? "
        "WHERE clean_run = ? AND account = ? AND sender = ?",
        [(state, note, clean_run, account, sender)],
    )


def gmail_ids(conn: sqlite3.Connection, clean_run: int) -> set[int]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT gm_msgid FROM clean_items WHERE clean_run = ? AND gm_msgid IS NOT NULL "
            "AND state != 'skipped'",
            (clean_run,),
        )
    }


def finish_run(conn: sqlite3.Connection, clean_run: int, status: str) -> None:
    _commit(
        conn,
        "UPDATE clean_runs SET status = ?, finished_at = ? WHERE id = ?",
        [(status, now_iso(), clean_run)],
    )


def committed_end(conn: sqlite3.Connection, path: str) -> int:
    """Where the last copy this store recorded in a backup file ends (0 if none)."""
    row = conn.execute(
        "SELECT max(backup_offset + backup_length) FROM clean_items "
        "WHERE backup_path = ? AND sha256 IS NOT NULL",
        (path,),
    ).fetchone()
    return int(row[0] or 0)


def counts(conn: sqlite3.Connection, clean_run: int) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT state, count(*) FROM clean_items WHERE clean_run = ? GROUP BY state",
            (clean_run,),
        ).fetchall()
    )


def as_unsubscribe(row: sqlite3.Row) -> Unsubscribe:
    return Unsubscribe(row["account"], row["sender"], row["method"], row["target"])

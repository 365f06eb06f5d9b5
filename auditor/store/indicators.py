"""Each run's indicators, stored once when the run ends (table run_indicators, schema v9).

Trends compare a run with up to a year of earlier ones. Recomputing an earlier run's
indicators means counting its messages over the versioned facts, a cost that grows with
every message and every month of history; a report read it for ten points. The numbers are
fixed once a run has ended, so they are stored then: one small row per run (source_id 0,
every indicator) and one per mail source (its messages and bytes). A run that has no row
(ended by an older auditor and not backfilled, or cut before its row was written) is
computed from the facts as before, so the two ways always agree.
"""

from __future__ import annotations

import sqlite3

RUN = 0  # run_indicators.source_id of the row about the run as a whole

# name -> SQL giving one number for run :run_id. Lower is better for all but `score`.
INDICATORS: dict[str, str] = {
    "score": "SELECT score FROM runs WHERE id = :run_id",
    "mailbox_bytes": "SELECT coalesce(sum(size_bytes), 0) FROM messages WHERE run_id = :run_id",
    "messages": "SELECT count(*) FROM messages WHERE run_id = :run_id",
    "heavy_attachments": (
        "SELECT coalesce(sum(count), 0) FROM findings WHERE run_id = :run_id "
        "AND rule_id = 'MAIL001'"
    ),
    "unread_newsletters": (
        "SELECT coalesce(sum(count), 0) FROM findings WHERE run_id = :run_id "
        "AND rule_id = 'MAIL003'"
    ),
    "unprotected_machines": (
        "SELECT coalesce(sum(count), 0) FROM findings WHERE run_id = :run_id AND rule_id = 'SEC001'"
    ),
    "unsupported_os": (
        "SELECT coalesce(sum(count), 0) FROM findings WHERE run_id = :run_id AND rule_id = 'SEC003'"
    ),
    "findings": "SELECT count(*) FROM findings WHERE run_id = :run_id",
    "hosts": "SELECT count(*) FROM hosts WHERE run_id = :run_id",
}
# The score is the run's own column (runs.score, one row by its key): read there, not copied.
NAMES = tuple(name for name in INDICATORS if name != "score")

# Messages and bytes of each mail source of a run, straight from the versions (the
# `messages` view joins folders too, which a count does not need).
_PER_SOURCE = """
SELECT rs.source_id, count(m.id), coalesce(sum(m.size_bytes), 0)
  FROM run_sources rs
  LEFT JOIN message_versions m ON m.source_id = rs.source_id
   AND m.first_run <= rs.run_id AND (m.gone_run IS NULL OR m.gone_run > rs.run_id)
 WHERE rs.run_id = ?
 GROUP BY rs.source_id
"""

# The same for one source from an earlier run's row: a version counts at run R when
# first_run <= R < gone_run, so from run P to R the count gains the versions that began in
# (P, R] and are still valid at R, and loses those valid at P that ended in (P, R]. Both
# are read through the indexes on first_run and gone_run: the cost is what changed since
# P, not the size of the mailbox.
_CAME = """
SELECT count(*), coalesce(sum(size_bytes), 0) FROM message_versions
 WHERE source_id = :s AND first_run > :p AND first_run <= :r
   AND (gone_run IS NULL OR gone_run > :r)
"""
_WENT = """
SELECT count(*), coalesce(sum(size_bytes), 0) FROM message_versions
 WHERE gone_run > :p AND gone_run <= :r AND source_id = :s AND first_run <= :p
"""


def _per_source(conn: sqlite3.Connection, run_id: int) -> list[tuple[int, int, int]]:
    """(source, messages, bytes) of each mail source of a run: from the source's latest
    stored row plus what changed since, or counted whole for a source without a row."""
    out = []
    for (source,) in conn.execute(
        "SELECT source_id FROM run_sources WHERE run_id = ? ORDER BY source_id", (run_id,)
    ).fetchall():
        before = conn.execute(
            "SELECT run_id, messages, mailbox_bytes FROM run_indicators "
            "WHERE source_id = ? AND run_id < ? ORDER BY run_id DESC LIMIT 1",
            (source, run_id),
        ).fetchone()
        if before is None:
            return conn.execute(_PER_SOURCE, (run_id,)).fetchall()
        span = {"p": before[0], "r": run_id, "s": source}
        n_in, b_in = conn.execute(_CAME, span).fetchone()
        n_out, b_out = conn.execute(_WENT, span).fetchone()
        out.append((source, before[1] + n_in - n_out, before[2] + b_in - b_out))
    return out


def computed(conn: sqlite3.Connection, run_id: int) -> dict[str, int | None]:
    """Every indicator of one run, counted from the facts (the reference computation)."""
    values: dict[str, int | None] = {}
    for name, sql in INDICATORS.items():
        row = conn.execute(sql, {"run_id": run_id}).fetchone()
        values[name] = row[0] if row else None
    return values


def stored(conn: sqlite3.Connection, run_id: int) -> dict[str, int | None] | None:
    """The indicators stored when the run ended (and its score), or None when it has none."""
    row = conn.execute(
        f"SELECT r.score, {', '.join('i.' + n for n in NAMES)} FROM run_indicators i "
        f"JOIN runs r ON r.id = i.run_id WHERE i.run_id = ? AND i.source_id = {RUN}",
        (run_id,),
    ).fetchone()
    return dict(zip(("score", *NAMES), tuple(row), strict=True)) if row is not None else None


def indicators(conn: sqlite3.Connection, run_id: int) -> dict[str, int | None]:
    """One run's indicators: stored when it ended, else counted from the facts."""
    return stored(conn, run_id) or computed(conn, run_id)


def record_sources(conn: sqlite3.Connection, run_id: int) -> list[tuple[int, int, int]]:
    """Store the messages and bytes of each mail source of a run whose mail has been read
    (before its rules run: ECO002 compares the stored bytes of two runs). The caller
    commits. Returns the rows (source, messages, bytes)."""
    per_source = _per_source(conn, run_id)
    conn.execute(f"DELETE FROM run_indicators WHERE run_id = ? AND source_id != {RUN}", (run_id,))
    conn.executemany(
        "INSERT INTO run_indicators (run_id, source_id, messages, mailbox_bytes) "
        "VALUES (?, ?, ?, ?)",
        [(run_id, sid, count, size) for sid, count, size in per_source],
    )
    return per_source


def record(conn: sqlite3.Connection, run_id: int) -> None:
    """Store the indicators of a run that has just ended (its findings and score written).

    The per-source rows (written before the rules ran, else now), then the run's totals as
    their sum: the messages are counted once. The caller commits (or the migration's
    transaction does)."""
    per_source = conn.execute(
        f"SELECT source_id, messages, mailbox_bytes FROM run_indicators "
        f"WHERE run_id = ? AND source_id != {RUN}",
        (run_id,),
    ).fetchall()
    sources = conn.execute("SELECT count(*) FROM run_sources WHERE run_id = ?", (run_id,))
    if len(per_source) != sources.fetchone()[0]:
        per_source = record_sources(conn, run_id)
    conn.execute(f"DELETE FROM run_indicators WHERE run_id = ? AND source_id = {RUN}", (run_id,))
    row = {
        name: conn.execute(sql, {"run_id": run_id}).fetchone()[0]
        for name, sql in INDICATORS.items()
        if name in NAMES and name not in _MAIL_TOTALS
    }
    row["messages"] = sum(r[1] for r in per_source)
    row["mailbox_bytes"] = sum(r[2] for r in per_source)
    conn.execute(
        f"INSERT INTO run_indicators (run_id, source_id, {', '.join(NAMES)}) "
        f"VALUES (?, {RUN}, {', '.join('?' * len(NAMES))})",
        (run_id, *(row[name] for name in NAMES)),
    )


_MAIL_TOTALS = ("messages", "mailbox_bytes")


def backfill(conn: sqlite3.Connection) -> None:
    """Schema v9: store the indicators of every run that ended before the table existed."""
    for (run_id,) in conn.execute(
        "SELECT id FROM runs WHERE status IN ('complete', 'partial') ORDER BY id"
    ).fetchall():
        record(conn, run_id)

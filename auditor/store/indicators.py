"""Each run's indicators, stored once when the run ends (table run_indicators, schema v9).

Trends compare a run with up to a year of earlier ones. Recomputing an earlier run's
indicators means counting its messages over the versioned facts, a cost that grows with
every message and every month of history; a report read it for ten points. The numbers are
fixed once a run has ended, so they are stored then: one small row per run (source_id 0,
every indicator) and one per mail source (its messages and bytes; since schema v13 also
its unread, malformed, folders and attachments, the report's mailbox table). A run that has
no row (or a source row without the v13 figures: ended by an older auditor and not
backfilled, or cut before its row was written) is computed from the facts as before, so the
two ways always agree.
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

# Per mail source and run, what the report's mailbox table shows (schema v13): messages,
# bytes, unread, malformed, folders holding a message, attachments and their bytes.
DETAILS = ("unread", "malformed", "folders", "attachments", "attachment_bytes")
SOURCE_COLUMNS = ("messages", "mailbox_bytes", *DETAILS)

# A version counts at run R when first_run <= R < gone_run (or still open).
_VALID = "m.source_id = :s AND m.first_run <= :r AND (m.gone_run IS NULL OR m.gone_run > :r)"

# Counted whole for one source, straight from the versions (the `messages` view also joins
# folders and sources, which a count does not need).
_WHOLE = f"""
SELECT count(m.id), coalesce(sum(m.size_bytes), 0), coalesce(sum(1 - m.seen), 0),
       coalesce(sum(m.malformed), 0)
  FROM message_versions m WHERE {_VALID}
"""
_WHOLE_ATTACHMENTS = f"""
SELECT count(*), coalesce(sum(a.size_bytes), 0)
  FROM message_versions m JOIN attachment_versions a ON a.message_version_id = m.id
 WHERE {_VALID}
"""

# Folders holding at least one message at run R: the source's folder names, walked through
# the (source_id, folder, ...) index one name at a time (a skip-scan: one probe per
# folder, not one row per message), each kept when one of its versions is valid at R.
_FOLDERS = f"""
WITH RECURSIVE names(folder) AS (
    SELECT min(folder) FROM message_versions WHERE source_id = :s
    UNION ALL
    SELECT (SELECT min(folder) FROM message_versions WHERE source_id = :s AND folder > names.folder)
      FROM names WHERE names.folder IS NOT NULL
)
SELECT count(*) FROM names n
 WHERE n.folder IS NOT NULL
   AND EXISTS (SELECT 1 FROM message_versions m INDEXED BY message_versions_open
                WHERE {_VALID} AND m.folder = n.folder)
"""

# The same for one source from an earlier run's row: from run P to R the figures gain the
# versions that began in (P, R] and are still valid at R, and lose those valid at P that
# ended in (P, R]. Both are read through the indexes on first_run and gone_run: the cost is
# what changed since P, not the size of the mailbox.
_CAME_WHERE = (
    "m.source_id = :s AND m.first_run > :p AND m.first_run <= :r "
    "AND (m.gone_run IS NULL OR m.gone_run > :r)"
)
_WENT_WHERE = "m.gone_run > :p AND m.gone_run <= :r AND m.source_id = :s AND m.first_run <= :p"
_SUMS = (
    "count(*), coalesce(sum(m.size_bytes), 0), coalesce(sum(1 - m.seen), 0), "
    "coalesce(sum(m.malformed), 0)"
)
_CAME = f"SELECT {_SUMS} FROM message_versions m WHERE {_CAME_WHERE}"
# (the gone_run index: the source's first_run index would walk all its older versions)
_WENT = f"SELECT {_SUMS} FROM message_versions m INDEXED BY message_versions_gone " + (
    f"WHERE {_WENT_WHERE}"
)
_ATTACHED = (
    "SELECT count(*), coalesce(sum(a.size_bytes), 0) FROM message_versions m "
    "JOIN attachment_versions a ON a.message_version_id = m.id WHERE {}"
)
_ATTACHED_WENT = _ATTACHED.replace("m JOIN", "m INDEXED BY message_versions_gone JOIN").format(
    _WENT_WHERE
)


def source_figures(conn: sqlite3.Connection, source: int, run_id: int) -> tuple[int, ...]:
    """One mail source at one run, counted whole from the versions: the SOURCE_COLUMNS."""
    span = {"s": source, "r": run_id}
    messages, size, unread, malformed = conn.execute(_WHOLE, span).fetchone()
    attachments, attachment_bytes = conn.execute(_WHOLE_ATTACHMENTS, span).fetchone()
    folders = conn.execute(_FOLDERS, span).fetchone()[0]
    return (messages, size, unread, malformed, folders, attachments, attachment_bytes)


def _since(conn: sqlite3.Connection, before: tuple, source: int, run_id: int) -> tuple[int, ...]:
    """One source at `run_id` from its row of an earlier run plus what changed since."""
    span = {"p": before[0], "r": run_id, "s": source}
    came = conn.execute(_CAME, span).fetchone()
    went = conn.execute(_WENT, span).fetchone()
    att_in = conn.execute(_ATTACHED.format(_CAME_WHERE), span).fetchone()
    att_out = conn.execute(_ATTACHED_WENT, span).fetchone()
    messages, size, unread, malformed = (
        old + new - gone for old, new, gone in zip(before[1:5], came, went, strict=True)
    )
    attachments, attachment_bytes = (
        old + new - gone for old, new, gone in zip(before[6:8], att_in, att_out, strict=True)
    )
    folders = conn.execute(_FOLDERS, span).fetchone()[0]
    return (messages, size, unread, malformed, folders, attachments, attachment_bytes)


def _per_source(conn: sqlite3.Connection, run_id: int) -> list[tuple[int, ...]]:
    """(source, *SOURCE_COLUMNS) of each mail source of a run: from the source's latest
    stored row plus what changed since, or counted whole for a source without a full row
    (none yet, or one stored before schema v13 added the details)."""
    out = []
    for (source,) in conn.execute(
        "SELECT source_id FROM run_sources WHERE run_id = ? ORDER BY source_id", (run_id,)
    ).fetchall():
        before = conn.execute(
            "SELECT run_id, messages, mailbox_bytes, unread, malformed, folders, attachments, "
            "attachment_bytes FROM run_indicators WHERE source_id = ? AND run_id < ? "
            "ORDER BY run_id DESC LIMIT 1",
            (source, run_id),
        ).fetchone()
        if before is None or None in tuple(before):
            out.append((source, *source_figures(conn, source, run_id)))
        else:
            out.append((source, *_since(conn, tuple(before), source, run_id)))
    return out


def stored_sources(conn: sqlite3.Connection, run_id: int) -> dict[int, tuple[int, ...]] | None:
    """The SOURCE_COLUMNS of each mail source of a run, stored when its mail was read, or
    None when a source of the run has no full row (then count them: source_figures)."""
    rows = conn.execute(
        f"SELECT rs.source_id, {', '.join('i.' + c for c in SOURCE_COLUMNS)} "
        "FROM run_sources rs LEFT JOIN run_indicators i "
        "ON i.run_id = rs.run_id AND i.source_id = rs.source_id WHERE rs.run_id = ?",
        (run_id,),
    ).fetchall()
    if any(None in tuple(row) for row in rows):
        return None
    return {row[0]: tuple(row[1:]) for row in rows}


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


def record_sources(
    conn: sqlite3.Connection, run_id: int, details: bool = True
) -> list[tuple[int, int, int]]:
    """Store the figures of each mail source of a run whose mail has been read (before its
    rules run: ECO002 compares the stored bytes of two runs; the report's mailbox table
    reads the rest). `details=False` (the v9 backfill) stores messages and bytes only. The
    caller commits. Returns the rows (source, messages, bytes)."""
    per_source = _per_source(conn, run_id) if details else _totals_only(conn, run_id)
    columns = SOURCE_COLUMNS if details else SOURCE_COLUMNS[:2]
    conn.execute(f"DELETE FROM run_indicators WHERE run_id = ? AND source_id != {RUN}", (run_id,))
    conn.executemany(
        f"INSERT INTO run_indicators (run_id, source_id, {', '.join(columns)}) "
        f"VALUES (?, ?, {', '.join('?' * len(columns))})",
        [(run_id, *row[: 1 + len(columns)]) for row in per_source],
    )
    return [row[:3] for row in per_source]


def _totals_only(conn: sqlite3.Connection, run_id: int) -> list[tuple[int, ...]]:
    """(source, messages, bytes) counted whole, for the v9 backfill (a store of that
    version has no detail columns yet; v13 leaves them empty, counted when read)."""
    return [
        (source, *conn.execute(_WHOLE, {"s": source, "r": run_id}).fetchone()[:2])
        for (source,) in conn.execute(
            "SELECT source_id FROM run_sources WHERE run_id = ? ORDER BY source_id", (run_id,)
        ).fetchall()
    ]


def record(conn: sqlite3.Connection, run_id: int, details: bool = True) -> None:
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
        per_source = record_sources(conn, run_id, details)
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
        record(conn, run_id, details=False)

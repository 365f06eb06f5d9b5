"""Evaluate over time: the same few indicators for every run, and how they moved.

The guide asks associations to compare with last month. Each run gets the indicators below;
a report compares its run with the previous comparable run and with the one about a month
before. Comparable means the same sources (the same mailboxes and machines): a demo run is
never compared with the association's own mailbox.

A source that could not be read is not a zero: a run where a source failed (no password,
server down) keeps that source's last known facts, or none at all, so it is never taken as
the run to compare with, and when the run itself has a failed source, the indicators that
source feeds are marked not comparable instead of showing a move.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from auditor.store.indicators import INDICATORS, indicators

__all__ = ["INDICATORS", "change", "indicators", "trend"]

MONTH = timedelta(days=28)  # "a month ago": the latest comparable run at least 4 weeks older

# Each run's indicators are stored when it ends (auditor.store.indicators, schema v9):
# trends read one row per run instead of recounting every earlier run's messages.
HIGHER_IS_BETTER = {"score"}
# What a failed mail source makes meaningless: everything read from mail, and the totals.
MAIL_INDICATORS = (
    "score",
    "mailbox_bytes",
    "messages",
    "heavy_attachments",
    "unread_newsletters",
    "findings",
)


def _scope(conn: sqlite3.Connection, run_id: int) -> frozenset[str]:
    """What a run looked at: its mail sources and machines, as comparable names."""
    mail = conn.execute(
        "SELECT s.kind || ':' || s.account FROM run_sources rs JOIN sources s "
        "ON s.id = rs.source_id WHERE rs.run_id = ?",
        (run_id,),
    ).fetchall()
    hosts = conn.execute("SELECT 'host:' || source FROM host_facts WHERE run_id = ?", (run_id,))
    return frozenset(r[0] for r in [*mail, *hosts.fetchall()])


def _started(conn: sqlite3.Connection, run_id: int) -> datetime | None:
    row = conn.execute("SELECT started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
    try:
        return datetime.fromisoformat(row[0]) if row and row[0] else None
    except ValueError:
        return None


def failed_sources(conn: sqlite3.Connection, run_id: int) -> list[str]:
    """The mail sources a run could not read completely (run_sources.status), by name."""
    rows = conn.execute(
        "SELECT s.kind || ':' || s.account FROM run_sources rs JOIN sources s "
        "ON s.id = rs.source_id WHERE rs.run_id = ? AND rs.status != 'ok' ORDER BY s.id",
        (run_id,),
    )
    return [r[0] for r in rows]


def comparable_runs(conn: sqlite3.Connection, run_id: int) -> list[int]:
    """Earlier finished runs over the same sources, each read completely, newest first."""
    scope = _scope(conn, run_id)
    earlier = conn.execute(
        "SELECT id FROM finished_runs WHERE id < ? ORDER BY id DESC",
        (run_id,),
    ).fetchall()
    return [r[0] for r in earlier if _scope(conn, r[0]) == scope and not failed_sources(conn, r[0])]


def _point(conn: sqlite3.Connection, run_id: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started_at": conn.execute(
            "SELECT started_at FROM runs WHERE id = ?", (run_id,)
        ).fetchone()[0],
        "indicators": indicators(conn, run_id),
        "complete": not failed_sources(conn, run_id),
    }


def trend(conn: sqlite3.Connection, run_id: int, compare_to: int | None = None) -> dict[str, Any]:
    """This run's indicators, the previous comparable run's and the month-ago one's.

    `compare_to` names the run to compare with instead of the previous one (it need not
    cover the same sources: the user chose it).
    """
    earlier = comparable_runs(conn, run_id)
    previous = compare_to if compare_to is not None else (earlier[0] if earlier else None)
    month_ago = None
    started = _started(conn, run_id)
    if started is not None:
        for rid in earlier:
            when = _started(conn, rid)
            if when is not None and started - when >= MONTH:
                month_ago = rid
                break
    history = list(reversed(earlier[:11])) + [run_id]  # up to a year of monthly runs
    # a failed source (here, or in a run the user chose) leaves its indicators uncompared
    failed = failed_sources(conn, run_id)
    if previous is not None:
        failed += failed_sources(conn, previous)
    return {
        "current": indicators(conn, run_id),
        "previous": _point(conn, previous) if previous is not None else None,
        "month_ago": _point(conn, month_ago) if month_ago not in (None, previous) else None,
        "series": [_point(conn, rid) for rid in history],
        "not_comparable": list(MAIL_INDICATORS) if failed else [],
    }


def change(current: float | None, before: float | None, name: str) -> str:
    """ "better", "worse" or "same" for one indicator between two runs."""
    if current is None or before is None or current == before:
        return "same"
    better = current > before if name in HIGHER_IS_BETTER else current < before
    return "better" if better else "worse"

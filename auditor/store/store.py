"""The Store: one object carrying the fact store's path and connection, and the questions
commands ask about runs and findings, so no command writes SQL (as sqlite-utils' Database).

A run's facts can be read once the run is finished: the `finished_runs` view (schema v8) is
the one definition (complete, or partial with what it could read); a failed run is ended
but not finished; a running one is neither.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.store.db import open_readonly, open_store


@dataclass
class Store:
    """The store file at `path`, open on `conn` (for writing, or read-only)."""

    path: Path
    conn: sqlite3.Connection

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if needed) for writing, migrated to the current schema."""
        return cls(Path(path), open_store(path))

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """The read-only view of a store that must exist: a connection that cannot change
        anything (rules and `auditor query` read through one)."""
        return cls(Path(path), open_readonly(path))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # runs ------------------------------------------------------------------------------

    def started_at(self, run_id: int) -> str:
        row = self.conn.execute("SELECT started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row[0]

    def latest_finished_run(self) -> int | None:
        row = self.conn.execute("SELECT id FROM latest_run_id").fetchone()
        return row[0] if row else None

    def is_finished(self, run_id: int) -> bool:
        row = self.conn.execute("SELECT 1 FROM finished_runs WHERE id = ?", (run_id,)).fetchone()
        return row is not None

    def ended_runs(self, limit: int) -> list[tuple[int, str, str]]:
        """The newest `limit` runs that ended (finished or failed), newest first."""
        rows = self.conn.execute(
            "SELECT id, started_at, status FROM runs WHERE status != 'running' "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [tuple(r) for r in rows]

    # findings --------------------------------------------------------------------------

    def record_rule_digests(self, run_id: int, digests: Iterable[tuple[str, str]]) -> None:
        """Which rules this run evaluated, by digest (auditor.rules.reuse)."""
        with self.conn:
            self.conn.executemany(
                "INSERT INTO rule_runs (run_id, rule_id, digest) VALUES (?, ?, ?)",
                [(run_id, rid, d) for rid, d in digests],
            )

    def save_findings(self, rows: list[dict[str, Any]]) -> None:
        """Store a run's findings, each a row as the finding codec writes it
        (auditor.rules.finding.Finding.to_row: the store does not import the rules above it)."""
        if not rows:
            return
        columns = list(rows[0])
        with self.conn:
            self.conn.executemany(
                f"INSERT INTO finding_rows ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})",
                rows,
            )

"""The Store: one object carrying the fact store's path and connection, and the questions
commands ask about runs and findings, so no command writes SQL (as sqlite-utils' Database).

A run's facts can be read once the run is finished: the `finished_runs` view (schema v8) is
the one definition (complete, or partial with what it could read); a failed run is ended
but not finished; a running one is neither.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.store.db import open_readonly, open_store

if TYPE_CHECKING:
    from auditor.rules.engine import Finding


@dataclass
class Store:
    """The store file at `path`, open on `conn` (for writing, or read-only)."""

    path: Path
    conn: sqlite3.Connection
    readonly: bool = False

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if needed) for writing, migrated to the current schema."""
        return cls(Path(path), open_store(path))

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """Open a store that must exist, through a connection that cannot change anything."""
        return cls(Path(path), open_readonly(path), readonly=True)

    def read_only_view(self) -> Store:
        """A second, read-only connection on the same file (rules run through one)."""
        return Store.open_readonly(self.path)

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

    def save_findings(self, run_id: int, findings: list[Finding]) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT INTO finding_rows (run_id, rule_id, category, severity, effort, "
                "gesture, plan_group, plan_rank, count, bytes_reclaimable, "
                "co2e_kg_per_year_low, co2e_kg_per_year_high, minutes, evidence, "
                "co2e_kg_avoided_low, co2e_kg_avoided_high, euros_low, euros_high) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_finding_row(run_id, f) for f in findings],
            )


def _finding_row(run_id: int, f: Finding) -> tuple:
    return (
        run_id,
        f.rule.id,
        f.rule.category,
        f.rule.severity,
        f.rule.effort,
        f.rule.gesture,
        f.plan_group,
        f.plan_rank,
        f.count,
        f.bytes_reclaimable,
        f.co2e_kg_per_year_low,
        f.co2e_kg_per_year_high,
        f.minutes,
        json.dumps(f.evidence, ensure_ascii=False, default=str),
        f.co2e_kg_avoided_low,
        f.co2e_kg_avoided_high,
        f.euros_low,
        f.euros_high,
    )

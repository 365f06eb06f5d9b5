"""SQL functions that rules may call, registered on every connection that runs or checks them."""

from __future__ import annotations

import sqlite3


def _compress_saving(content_type: str | None, filename: str | None, size: int | None) -> int:
    from auditor.impact.compression import estimated_saving  # loaded when a rule calls it

    return estimated_saving(content_type, filename, size)


def register_functions(conn: sqlite3.Connection) -> None:
    """compress_saving(content_type, filename, size_bytes): bytes `auditor compress` would save."""
    conn.create_function("compress_saving", 3, _compress_saving, deterministic=True)

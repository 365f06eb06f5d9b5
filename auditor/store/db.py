"""Opening the store: created with mode 0600, migrated on open, read-only for rules."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import platformdirs

from auditor.errors import StoreError
from auditor.store.functions import register_functions
from auditor.store.schema import MIGRATIONS, SCHEMA_VERSION


def default_store_path() -> Path:
    """$AUDITOR_DB, else auditor.sqlite3 in the user data dir (platformdirs)."""
    env = os.environ.get("AUDITOR_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("auditor", appauthor=False)) / "auditor.sqlite3"


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only, before SQLite writes anything to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = _schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            "errors.store.newer",
            path=path,
            version=version,
            supported=SCHEMA_VERSION,
        )
    if version == 0:
        has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if has_tables:
            raise StoreError(
                "errors.store.foreign",
                path=path,
            )
    for step in range(version, SCHEMA_VERSION):
        migration = MIGRATIONS[step]
        with conn:
            if callable(migration):
                conn.execute("BEGIN")
                migration(conn)
            else:
                conn.executescript(migration)
            conn.execute(f"PRAGMA user_version = {step + 1}")


def open_store(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the store for writing, migrated to the current schema."""
    path = Path(path)
    try:
        if not path.exists():
            _create_private(path)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")  # account scans write from several threads
        register_functions(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
        conn.isolation_level = "DEFERRED"
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            "errors.store.unusable",
            path=path,
            error=exc,
        ) from None
    except OSError as exc:
        raise StoreError(
            "errors.store.create",
            path=path,
            error=exc.strerror,
        ) from None
    return conn


def open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot change anything: mode=ro and PRAGMA query_only."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(
            "errors.store.missing",
            path=path,
        )
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"  # RFC 3986 escaping of ? and #
    try:
        conn = sqlite3.connect(uri, uri=True)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        register_functions(conn)
        version = _schema_version(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            "errors.store.unreadable",
            path=path,
            error=exc,
        ) from None
    if version != SCHEMA_VERSION:
        conn.close()
        raise StoreError(
            "errors.store.old",
            path=path,
            version=version,
            expected=SCHEMA_VERSION,
        )
    return conn

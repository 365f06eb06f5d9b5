"""Opening the store: created with mode 0600, migrated on open, read-only for rules."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

import platformdirs

from auditor.errors import StoreError
from auditor.store.functions import register_functions
from auditor.store.sandbox import Sandbox
from auditor.store.schema import MIGRATIONS, SCHEMA_VERSION, split_statements

BUSY_SECONDS = 30  # how long a statement waits for another process's write to end


def default_store_path() -> Path:
    """$AUDITOR_DB, else auditor.sqlite3 in the user data dir (platformdirs)."""
    env = os.environ.get("AUDITOR_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("auditor", appauthor=False)) / "auditor.sqlite3"


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only, before SQLite writes anything to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another auditor created it first: both then open the same file
        return
    os.close(fd)


def _refuse_special(path: Path) -> None:
    """A store is a regular file (or a path not created yet): never /dev/null, a FIFO, a dir.

    SQLite would write `/dev/null-journal` beside a device, or block on a FIFO."""
    try:
        mode = os.stat(path).st_mode  # follows a symlink: a link to a store is fine
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError("errors.store.create", path=path, error=exc.strerror) from None
    if not stat.S_ISREG(mode):
        raise StoreError("errors.store.not_regular", path=path)


def _tighten(path: Path) -> None:
    """A store (and its journal) that we own is readable by us only, 0600, whatever made it.

    The store holds subjects and senders; a file made 0644 by an older version or a copy
    is tightened on open. Files of another user, or a read-only file system, are left as is."""
    if not hasattr(os, "getuid"):
        return  # Windows: ACLs, not mode bits
    for name in (str(path), f"{path}-journal", f"{path}-wal", f"{path}-shm"):
        try:
            st = os.stat(name)
            if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
                os.chmod(name, stat.S_IMODE(st.st_mode) & 0o700)
        except OSError:
            continue


def _schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _check_version(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Refuse a store from a newer auditor, and an SQLite file that is not a store."""
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


def _apply(conn: sqlite3.Connection, migration) -> None:
    if callable(migration):
        migration(conn)
        return
    # never executescript(): it COMMITs first and runs each statement on its own, so a
    # failure half-way (full disk, another process) would leave half a migration behind
    for statement in split_statements(migration):
        conn.execute(statement)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the store to SCHEMA_VERSION in ONE transaction, or leave it as it was.

    BEGIN IMMEDIATE takes the write lock before user_version is read: a second process
    migrating the same new store waits, then finds it migrated. Any failure rolls back."""
    version = _schema_version(conn)
    if version == SCHEMA_VERSION:
        return  # the common case takes no write lock (a store on read-only media opens)
    _check_version(conn, path, version)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(conn)  # another process may have migrated it meanwhile
        _check_version(conn, path, version)
        for step in range(version, SCHEMA_VERSION):
            _apply(conn, MIGRATIONS[step])
            conn.execute(f"PRAGMA user_version = {step + 1}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def open_store(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the store for writing, migrated to the current schema."""
    path = Path(path)
    _refuse_special(path)
    try:
        if not path.exists():
            _create_private(path)
        _tighten(path)
        # account scans write from several threads, and other auditor runs may too
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_SECONDS)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
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
    """A connection that cannot change anything: mode=ro, PRAGMA query_only, and an
    authorizer that allows reads only (auditor.store.sandbox)."""
    path = Path(path)
    _refuse_special(path)
    if not path.is_file():
        raise StoreError(
            "errors.store.missing",
            path=path,
        )
    _tighten(path)
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"  # RFC 3986 escaping of ? and #
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        register_functions(conn)
        version = _schema_version(conn)
        if version != SCHEMA_VERSION:
            _check_version(conn, path, version)
        Sandbox(conn)  # reads only, from here on
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            "errors.store.unreadable",
            path=path,
            error=exc,
        ) from None
    except StoreError:
        conn.close()
        raise
    if version != SCHEMA_VERSION:
        conn.close()
        raise StoreError(
            "errors.store.old",
            path=path,
            version=version,
            expected=SCHEMA_VERSION,
        )
    return conn

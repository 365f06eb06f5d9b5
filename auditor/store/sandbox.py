"""Read-only SQL with limits, for `auditor query` and rule packs.

A connection opened read-only (mode=ro, PRAGMA query_only) still lets SQL create files
(`ATTACH DATABASE '/etc/x'`, `VACUUM INTO`), turn query_only off, reach `fts3_tokenizer`
or run forever (an endless recursive CTE). SQLite's authorizer callback
(https://sqlite.org/c3ref/set_authorizer.html) is asked about every action while a statement
is compiled: here it allows reads of the store and a list of known functions, nothing else.
A progress handler stops a statement past its time budget, and rows are counted as they are
fetched, so a huge result stops at the row cap instead of filling the memory.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

# The budgets, in one place. `auditor query --max-seconds/--max-rows` raise the first two.
QUERY_SECONDS = 30.0  # one `auditor query` statement, fetch included
QUERY_ROWS = 100_000  # rows `auditor query` prints at most
RULE_SECONDS = 60.0  # one rule during `scan` (the built-in rules take well under a second)
RULE_ROWS = 1_000_000  # rows one rule may return (its evidence keeps 50 of them)
VALUE_BYTES = 64 * 1024 * 1024  # longest text or blob a statement may build (zeroblob...)
_CHECK_EVERY = 10_000  # SQLite VM steps between two looks at the clock

# SQLite's built-in scalar, aggregate, window, date, math and JSON functions
# (https://sqlite.org/lang_corefunc.html and the pages it links), plus the store's own
# (auditor/store/functions.py). Left out on purpose: fts3_tokenizer (reads and writes
# pointers), load_extension, and anything an extension could register.
ALLOWED_FUNCTIONS = frozenset(
    """
    abs changes char coalesce concat concat_ws format glob hex ifnull iif instr
    last_insert_rowid length like likelihood likely lower ltrim max min nullif octet_length
    printf quote random randomblob replace round rtrim sign soundex sqlite_source_id
    sqlite_version substr substring total_changes trim typeof unhex unicode unlikely upper
    zeroblob
    avg count group_concat string_agg sum total
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
    nth_value
    date time datetime julianday unixepoch strftime timediff current_date current_time
    current_timestamp
    acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log
    log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc
    json json_array json_array_length json_error_position json_extract json_insert
    json_object json_patch json_pretty json_quote json_remove json_replace json_set
    json_type json_valid json_group_array json_group_object jsonb jsonb_array jsonb_extract
    jsonb_group_array jsonb_group_object jsonb_insert jsonb_object jsonb_patch jsonb_remove
    jsonb_replace jsonb_set
    compress_saving
    """.split()
)

# Pragmas that only describe the schema (their argument names a table or an index).
_SCHEMA_PRAGMAS = frozenset(
    "table_info table_xinfo table_list index_list index_info index_xinfo foreign_key_list".split()
)
# Pragmas allowed only as a read, without a value: `PRAGMA user_version` yes, `= 7` no.
_VALUE_PRAGMAS = frozenset(["user_version", "schema_version", "query_only"])

_ALWAYS = (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE)

# what a refused action is called in the one line the user reads (SQL words, not translated)
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ")
    for name in (
        "ATTACH DETACH INSERT UPDATE DELETE TRANSACTION SAVEPOINT ANALYZE REINDEX ALTER_TABLE "
        "CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE CREATE_TEMP_TRIGGER "
        "CREATE_TEMP_VIEW CREATE_TRIGGER CREATE_VIEW CREATE_VTABLE DROP_INDEX DROP_TABLE "
        "DROP_TEMP_INDEX DROP_TEMP_TABLE DROP_TEMP_TRIGGER DROP_TEMP_VIEW DROP_TRIGGER "
        "DROP_VIEW DROP_VTABLE"
    ).split()
    if hasattr(sqlite3, f"SQLITE_{name}")
}


class SqlRefused(Exception):
    """A statement broke a rule of the sandbox: `reason` is denied, seconds or rows."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


def _describe(action: int, arg1: str | None, arg2: str | None) -> str:
    if action == sqlite3.SQLITE_FUNCTION:
        return f"{arg2}()"
    if action == sqlite3.SQLITE_PRAGMA:
        return f"PRAGMA {arg1}" + ("" if arg2 is None else f" = {arg2}")
    name = _ACTION_NAMES.get(action, f"action {action}")
    if action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE):
        return f"{name} {arg1}"
    if action == sqlite3.SQLITE_ATTACH and arg1 is not None:
        return "ATTACH (or VACUUM INTO)"
    return name


@dataclass
class Limits:
    seconds: float
    rows: int


class Sandbox:
    """Installs the authorizer and the clock on one read-only connection."""

    def __init__(self, conn: sqlite3.Connection, limits: Limits | None = None) -> None:
        self.conn = conn
        self.limits = limits
        self.refused: str | None = None
        self._deadline: float | None = None
        self._expired = False
        conn.set_authorizer(self._authorize)
        conn.set_progress_handler(self._tick, _CHECK_EVERY)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_BYTES)

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None
    ) -> int:
        if action in _ALWAYS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in ALLOWED_FUNCTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _SCHEMA_PRAGMAS or (name in _VALUE_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
            # asked when json_each or pragma_table_info is first used; IGNORE leaves the
            # schema as it is, whatever the statement
            return sqlite3.SQLITE_IGNORE
        self.refused = self.refused or _describe(action, arg1, arg2)
        return sqlite3.SQLITE_DENY

    def _tick(self) -> int:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self._expired = True
            return 1  # non-zero: SQLite stops the statement with SQLITE_INTERRUPT
        return 0

    def _start(self) -> None:
        self.refused, self._expired = None, False
        self._deadline = time.monotonic() + self.limits.seconds if self.limits else None

    def _translate(self, exc: sqlite3.Error) -> Exception:
        if self._expired and self.limits:
            return SqlRefused("seconds", seconds=_number(self.limits.seconds))
        if self.refused is not None:
            return SqlRefused("denied", what=self.refused)
        return exc

    def execute(self, sql: str, params: object = ()) -> sqlite3.Cursor:
        """Compile and start `sql`; SqlRefused when it breaks a rule, sqlite3.Error else."""
        self._start()
        try:
            return self.conn.execute(sql, params)  # type: ignore[arg-type]
        except sqlite3.Error as exc:
            raise self._translate(exc) from None

    def rows(self, cursor: sqlite3.Cursor) -> Iterator[sqlite3.Row]:
        """The cursor's rows, up to the row cap (SqlRefused past it, or past the clock)."""
        cap = self.limits.rows if self.limits else None
        count = 0
        try:
            for row in cursor:
                count += 1
                if cap is not None and count > cap:
                    cursor.close()
                    raise SqlRefused("rows", rows=cap)
                yield row
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        finally:
            self._deadline = None


def _number(seconds: float) -> int | float:
    return int(seconds) if float(seconds).is_integer() else seconds

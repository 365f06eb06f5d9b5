"""Everything a scan writes into the store: runs, sources, versioned mail facts, hosts."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from auditor import __version__
from auditor.errors import Problem, StoreError, to_stored

if TYPE_CHECKING:
    from auditor.collect.host.machine import Machine
    from auditor.collect.mail.records import FolderFacts, MessageFacts


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def writing(conn: sqlite3.Connection, part: str, name: str = ""):
    """Turn SQLite write failures (read-only file, full disk) into one clear line.

    `part` says what was being written (`errors.store.write.<part>`: run, run_end, source,
    source_status, folder, folders, host, quota); `name` names it (a folder, a host)."""

    class _Guard:
        def __enter__(self):
            return conn

        def __exit__(self, exc_type, exc, tb):
            if exc_type is not None and issubclass(exc_type, sqlite3.Error):
                conn.rollback()
                raise StoreError(f"errors.store.write.{part}", name=name, error=exc) from None
            return False

    return _Guard()


def stored_line(line: str) -> str:
    """One error line as the store keeps it: JSON key + values for a Problem, else the text."""
    kept = to_stored(line)
    return kept if isinstance(kept, str) else json.dumps(kept, ensure_ascii=False)


def stored_lines(lines: list[str]) -> str:
    """A run's error lines as the store keeps them: a JSON list (see `stored_line`)."""
    return json.dumps([to_stored(line) for line in lines], ensure_ascii=False)


def start_run(conn: sqlite3.Connection) -> int:
    with writing(conn, "run"):
        cur = conn.execute(
            "INSERT INTO runs (started_at, tool_version) VALUES (?, ?)", (now_iso(), __version__)
        )
        conn.commit()
    return int(cur.lastrowid)


def finish_run(
    conn: sqlite3.Connection, run_id: int, status: str, score: int | None, errors: list[str]
) -> None:
    with writing(conn, "run_end"):
        conn.execute(
            "UPDATE runs SET finished_at = ?, status = ?, score = ?, errors = ? WHERE id = ?",
            (now_iso(), status, score, stored_lines(errors), run_id),
        )
        conn.execute("DELETE FROM source_locks WHERE run_id = ?", (run_id,))
        conn.commit()


# ------------------------------------------------------------------ one writer per source
# A run scanning a mail source holds its row in `source_locks` (schema v5) from
# `claim_source` until `record_source_status` says how the source went (or the run ends).
# Another run wanting the same source waits up to LOCK_WAIT_SECONDS, then gives up on that
# source with one line and is partial. A holder that is gone (its process ended on this
# machine, its run is over, or it is older than LOCK_STALE on another machine) is replaced.

LOCK_WAIT_SECONDS = 60.0  # a cron run meeting a manual run of the same account waits this long
LOCK_POLL_SECONDS = 0.5
LOCK_STALE = timedelta(hours=24)  # a lock from another machine (shared store) older than this


def _process_started(pid: int) -> float | None:
    """When process `pid` started (tells a pid reused by another program), None if gone."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def _holder_alive(conn: sqlite3.Connection, holder: sqlite3.Row | tuple) -> bool:
    run_id, host, pid, pid_started, since = holder
    status = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    if status is None or status[0] != "running":
        return False  # the run ended (or was marked failed after a crash)
    if host != socket.gethostname():
        try:
            return datetime.now(UTC) - datetime.fromisoformat(since) < LOCK_STALE
        except ValueError:
            return False
    started = _process_started(pid)
    if started is None:
        return False  # killed (kill -9, power cut): its lock goes with it
    return pid_started is None or abs(started - pid_started) < 1.0


def _try_claim(conn: sqlite3.Connection, source: int, run_id: int) -> tuple | None:
    """Take the source for `run_id`: None when it is ours, else the live holder's row."""
    pid = os.getpid()
    with writing(conn, "lock"):
        if conn.in_transaction:
            conn.commit()  # e.g. source_id()'s update: the claim is its own transaction
        for _attempt in range(2):  # a second time after removing a stale lock
            # one statement each, so each is atomic whatever another process does between
            conn.execute(
                "INSERT INTO source_locks (source_id, run_id, host, pid, pid_started, since) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source_id) DO NOTHING",
                (source, run_id, socket.gethostname(), pid, _process_started(pid), now_iso()),
            )
            conn.commit()
            holder = conn.execute(
                "SELECT run_id, host, pid, pid_started, since FROM source_locks "
                "WHERE source_id = ?",
                (source,),
            ).fetchone()
            if holder is not None and holder[0] == run_id:
                return None
            if holder is not None and _holder_alive(conn, holder):
                return tuple(holder)
            if holder is not None:
                conn.execute(
                    "DELETE FROM source_locks WHERE source_id = ? AND run_id = ?",
                    (source, holder[0]),
                )
                conn.commit()
        return (0, "", 0, None, now_iso())  # lost a race twice: wait a little, try again


def claim_source(
    conn: sqlite3.Connection,
    source: int,
    run_id: int,
    account: str,
    wait: float | None = None,
) -> Problem | None:
    """Make `run_id` the only writer of `source`. None when it is; else the line to show
    (another live run still holds it after `wait` seconds, LOCK_WAIT_SECONDS by default)."""
    deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
    while True:
        holder = _try_claim(conn, source, run_id)
        if holder is None:
            return _overtaken(conn, source, run_id, account)
        if time.monotonic() >= deadline:
            return Problem("errors.store.busy", account=account, since=holder[4], pid=holder[2])
        time.sleep(LOCK_POLL_SECONDS)


def _overtaken(conn: sqlite3.Connection, source: int, run_id: int, account: str) -> Problem | None:
    """A later run wrote the source while this one waited: this run cannot hold it.

    A message version is valid from its first run on, so what a later run stored is not
    part of an earlier run; scanning now would record this run as complete without them."""
    later = conn.execute(
        "SELECT max(run) FROM (SELECT max(run_id) AS run FROM run_sources WHERE source_id = ? "
        "UNION ALL SELECT max(first_run) FROM message_versions WHERE source_id = ? "
        "UNION ALL SELECT max(first_run) FROM folder_versions WHERE source_id = ?)",
        (source, source, source),
    ).fetchone()[0]
    if later is None or later <= run_id:
        return None
    release_source(conn, source, run_id)
    return Problem("errors.store.overtaken", account=account, run=later)


def release_source(conn: sqlite3.Connection, source: int, run_id: int) -> None:
    """`run_id` is done writing `source` (a lock held by another run is left alone)."""
    with writing(conn, "lock"):
        conn.execute(
            "DELETE FROM source_locks WHERE source_id = ? AND run_id = ?", (source, run_id)
        )
        conn.commit()


def source_id(conn: sqlite3.Connection, kind: str, account: str, locator: str) -> int:
    """The id of a mail source, created on first sight. `locator` never holds a secret."""
    with writing(conn, "source"):
        # insert-or-update in one statement: two runs meeting a new source make one row
        conn.execute(
            "INSERT INTO sources (kind, account, locator) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, locator) DO UPDATE SET account = excluded.account",
            (kind, account, locator),
        )
        row = conn.execute(
            "SELECT id FROM sources WHERE kind = ? AND locator = ?", (kind, locator)
        ).fetchone()
        return int(row[0])


def record_source_status(
    conn: sqlite3.Connection,
    run_id: int,
    source: int,
    status: str,
    error: str | None = None,
    skipped: int = 0,
) -> None:
    """Say that a run looked at a source. A failed source keeps its last known facts.

    The run is done writing the source: its lock (`claim_source`) is released."""
    with writing(conn, "source_status"):
        conn.execute(
            "INSERT OR REPLACE INTO run_sources (run_id, source_id, status, error, skipped) "
            "VALUES (?, ?, ?, ?, ?)",
            (run_id, source, status, None if error is None else stored_line(error), skipped),
        )
        conn.execute(
            "DELETE FROM source_locks WHERE source_id = ? AND run_id = ?", (source, run_id)
        )
        conn.commit()


def message_fingerprint(msg: MessageFacts) -> int:
    """A 63-bit digest of every stored field, to tell unchanged messages without comparing."""
    digest = hashlib.blake2b(repr(msg).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


_MESSAGE_COLUMNS = (
    "source_id, folder, uid, fingerprint, first_run, message_id, internal_date, size_bytes, "
    "seen, flags, from_addr, from_domain, subject, list_id, list_unsubscribe, "
    "one_click_unsubscribe, precedence, auto_submitted, malformed, malformed_reasons"
)


def _message_row(source: int, folder: str, run_id: int, msg: MessageFacts) -> tuple:
    return (
        source,
        folder,
        msg.key,
        message_fingerprint(msg),
        run_id,
        msg.message_id,
        msg.internal_date,
        msg.size_bytes,
        int(msg.seen),
        " ".join(msg.flags),
        msg.from_addr,
        msg.from_domain,
        msg.subject,
        msg.list_id,
        msg.list_unsubscribe,
        int(msg.one_click_unsubscribe),
        msg.precedence,
        msg.auto_submitted,
        int(msg.malformed),
        json.dumps(list(msg.malformed_reasons)) if msg.malformed_reasons else None,
    )


def insert_messages(
    conn: sqlite3.Connection, source: int, folder: str, run_id: int, msgs: Iterable[MessageFacts]
) -> int:
    """Insert new message versions (and their attachments) valid from `run_id`.

    A UID that already has an open version in the folder is not stored twice (the unique
    index of schema v5): the first one stays, and is not counted again."""
    count = 0
    placeholders = ", ".join("?" * len(_MESSAGE_COLUMNS.split(",")))
    for msg in msgs:
        cur = conn.execute(
            f"INSERT INTO message_versions ({_MESSAGE_COLUMNS}) VALUES ({placeholders}) "
            "ON CONFLICT DO NOTHING",
            _message_row(source, folder, run_id, msg),
        )
        if cur.rowcount == 0:
            continue
        if msg.attachments:
            conn.executemany(
                "INSERT INTO attachment_versions (message_version_id, part, filename, "
                "content_type, encoded_bytes, size_bytes) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        cur.lastrowid,
                        a.part,
                        a.filename,
                        a.content_type,
                        a.encoded_bytes,
                        a.size_bytes,
                    )
                    for a in msg.attachments
                ],
            )
        count += 1
    return count


def close_messages(
    conn: sqlite3.Connection, source: int, folder: str, run_id: int, uids: Iterable[int]
) -> None:
    """End the validity of the open versions of these UIDs at `run_id` (gone or changed)."""
    conn.executemany(
        "UPDATE message_versions SET gone_run = ? "
        "WHERE source_id = ? AND folder = ? AND uid = ? AND gone_run IS NULL",
        [(run_id, source, folder, uid) for uid in uids],
    )


def open_fingerprints(conn: sqlite3.Connection, source: int, folder: str) -> dict[int, int]:
    """uid -> fingerprint of the versions currently valid in one folder."""
    rows = conn.execute(
        "SELECT uid, fingerprint FROM message_versions "
        "WHERE source_id = ? AND folder = ? AND gone_run IS NULL",
        (source, folder),
    )
    return {uid: fp for uid, fp in rows}


def sync_folder(conn: sqlite3.Connection, source: int, run_id: int, folder: FolderFacts) -> dict:
    """Make the folder's valid versions equal to `folder.messages`, writing only differences.

    Returns counts: {"new": n, "changed": n, "gone": n, "unchanged": n}.
    """
    with writing(conn, "folder", folder.name):
        sync_folder_version(conn, source, run_id, folder.name, folder.special_use)
        known = open_fingerprints(conn, source, folder.name)
        fresh: list[MessageFacts] = []
        changed: list[int] = []
        seen_uids: set[int] = set()
        for msg in folder.messages:
            if msg.key in seen_uids:
                continue  # a collector gave the same key twice: keep the first
            seen_uids.add(msg.key)
            old = known.get(msg.key)
            if old is None:
                fresh.append(msg)
            elif old != message_fingerprint(msg):
                changed.append(msg.key)
                fresh.append(msg)
        gone = [uid for uid in known if uid not in seen_uids]
        close_messages(conn, source, folder.name, run_id, changed + gone)
        insert_messages(conn, source, folder.name, run_id, fresh)
        conn.commit()
    return {
        "new": len(fresh) - len(changed),
        "changed": len(changed),
        "gone": len(gone),
        "unchanged": len(seen_uids) - len(fresh),
    }


def sync_folder_version(
    conn: sqlite3.Connection, source: int, run_id: int, name: str, special_use: str | None
) -> None:
    row = conn.execute(
        "SELECT id, special_use FROM folder_versions "
        "WHERE source_id = ? AND name = ? AND gone_run IS NULL",
        (source, name),
    ).fetchone()
    if row and row[1] == special_use:
        return
    if row:
        conn.execute("UPDATE folder_versions SET gone_run = ? WHERE id = ?", (run_id, row[0]))
    conn.execute(
        "INSERT INTO folder_versions (source_id, name, special_use, first_run) VALUES (?, ?, ?, ?)",
        (source, name, special_use, run_id),
    )


def close_missing_folders(
    conn: sqlite3.Connection, source: int, run_id: int, present: Iterable[str]
) -> None:
    """Folders of a source that a complete scan no longer found are gone, with their mail."""
    keep = set(present)
    with writing(conn, "folders"):
        rows = conn.execute(
            "SELECT id, name FROM folder_versions WHERE source_id = ? AND gone_run IS NULL",
            (source,),
        ).fetchall()
        for fid, name in rows:
            if name in keep:
                continue
            conn.execute("UPDATE folder_versions SET gone_run = ? WHERE id = ?", (run_id, fid))
            conn.execute(
                "UPDATE message_versions SET gone_run = ? "
                "WHERE source_id = ? AND folder = ? AND gone_run IS NULL",
                (run_id, source, name),
            )
        conn.commit()


SQLITE_INT_MIN, SQLITE_INT_MAX = -(2**63), 2**63 - 1  # SQLite's INTEGER is 64-bit


def _shown(value: int) -> str:
    # str() of an int of thousands of digits raises ValueError (sys.set_int_max_str_digits)
    return str(value) if value.bit_length() <= 128 else f"2^{value.bit_length() - 1}+"


class _Fitter:
    """Integers beyond SQLite's 64 bits (a broken probe, a hand-edited inventory) are stored
    as NULL, each with one line, instead of failing the insert (OverflowError)."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.problems: list[str] = []

    def fits(self, value: object) -> bool:
        return not (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not SQLITE_INT_MIN <= value <= SQLITE_INT_MAX
        )

    def __call__(self, what: str, value: object) -> object:
        if self.fits(value):
            return value
        self.problems.append(
            Problem("errors.store.too_big", at=(self.hostname,), what=what, value=_shown(value))
        )
        return None

    def rows(self, what: str, rows: list[tuple], required: tuple[int, ...] = ()) -> list[tuple]:
        """Rows with oversized numbers emptied; a row whose NOT NULL number is oversized
        is left out (with its line)."""
        kept = []
        for row in rows:
            where = f"{what} {row[1]}"  # the disk's mount point, the battery's name...
            fitted = tuple(self(where, v) if i else v for i, v in enumerate(row))
            if any(fitted[i] is None and row[i] is not None for i in required):
                continue
            kept.append(fitted)
        return kept


def insert_machine(
    conn: sqlite3.Connection,
    run_id: int,
    machine: Machine,
    problems: list[str] | None = None,
    *,
    commit: bool = True,
    verdict: str | None = None,
) -> int:
    """One machine's facts for one run: the host row, its disks, antivirus, batteries, SMART.

    A number too large for the store is kept empty, with a line in the host's probe errors
    and in `problems` (the run's error lines) when given. `commit=False` leaves the commit to
    the caller: a fleet of 300 inventory files is one transaction, not 300 disk syncs.
    `verdict` is `advise`'s for the default needs (the report's fleet table)."""
    host, hw = machine.host, machine.hardware
    support, ready = machine.support, machine.readiness
    fit = _Fitter(host.hostname)

    def flag(value: bool | None) -> int | None:
        return None if value is None else int(value)

    columns = {
        "run_id": run_id,
        "source": host.source,
        "hostname": host.hostname,
        "os_name": host.os_name,
        "os_version": host.os_version,
        "os_release": host.os_release,
        "cpu_model": host.cpu_model,
        "cpu_cores_physical": host.cpu_cores_physical,
        "cpu_cores_logical": host.cpu_cores_logical,
        "ram_bytes": host.ram_bytes,
        "boot_time": host.boot_time,
        "battery_present": int(host.battery_present),
        "battery_percent": host.battery_percent,
        "vendor": hw.vendor if hw else None,
        "model": hw.model if hw else None,
        "chassis": hw.chassis if hw else None,
        "bios_vendor": hw.bios_vendor if hw else None,
        "bios_version": hw.bios_version if hw else None,
        "bios_date": hw.bios_date if hw else None,
        "cpu_launch_year": hw.cpu_launch_year if hw else None,
        "age_years": machine.age_years,
        "age_basis": machine.age_basis,
        "uefi": flag(hw.uefi) if hw else None,
        "secure_boot": flag(hw.secure_boot) if hw else None,
        "tpm_version": hw.tpm_version if hw else None,
        "os_product": support.product if support else None,
        "os_label": support.label if support else None,
        "os_eol": support.eol.isoformat() if support and support.eol else None,
        "os_supported": flag(support.supported) if support else None,
        "os_days_left": support.days_left if support else None,
        "os_support_source": support.source if support else None,
        "win11_ready": flag(ready.ready) if ready else None,
        "win11_blockers": " ".join(ready.blockers) if ready else None,
        "av_protected": flag(machine.av_protected),
        "virtualization": host.virtualization,
        "identifiers": json.dumps(list(host.identifiers)),
        "collected_at": host.collected_at,
        "av_checked": int(host.antivirus_checked),
        "owner": host.owner,
        "verdict": verdict,
    }
    columns = {name: fit(name, value) for name, value in columns.items()}
    disks = fit.rows(
        "disk",
        [
            (
                None,
                d.mountpoint,
                d.device,
                d.fstype,
                d.total_bytes,
                d.used_bytes,
                flag(d.rotational),
                int(d.is_system),
            )
            for d in host.disks
        ],
        required=(4, 5),
    )
    batteries = fit.rows(
        "battery",
        [
            (
                None,
                b.name,
                b.design_capacity_wh,
                b.full_capacity_wh,
                b.health_percent,
                b.cycle_count,
            )
            for b in machine.batteries
        ],
    )
    smart = fit.rows(
        "smart",
        [(None, s.device, flag(s.passed), s.power_on_hours) for s in (hw.smart if hw else [])],
    )
    columns["probe_errors"] = stored_lines([*host.errors, *fit.problems])
    if problems is not None:
        problems.extend(fit.problems)
    with writing(conn, "host", host.hostname):
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        cur = conn.execute(
            f"INSERT INTO host_facts ({names}) VALUES ({marks})", tuple(columns.values())
        )
        hid = cur.lastrowid
        conn.executemany(
            "INSERT INTO disk_facts (host_fact_id, mountpoint, device, fstype, total_bytes, "
            "used_bytes, rotational, is_system) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(hid, *row[1:]) for row in disks],
        )
        conn.executemany(
            "INSERT INTO antivirus_facts (host_fact_id, product, enabled, up_to_date, "
            "signature_date, source) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (hid, a.product, flag(a.enabled), flag(a.up_to_date), a.signature_date, a.source)
                for a in machine.antivirus
            ],
        )
        conn.executemany(
            "INSERT INTO battery_facts (host_fact_id, name, design_capacity_wh, "
            "full_capacity_wh, health_percent, cycle_count) VALUES (?, ?, ?, ?, ?, ?)",
            [(hid, *row[1:]) for row in batteries],
        )
        conn.executemany(
            "INSERT INTO smart_facts (host_fact_id, device, passed, power_on_hours) "
            "VALUES (?, ?, ?, ?)",
            [(hid, *row[1:]) for row in smart],
        )
        if commit:
            conn.commit()
    return int(hid)

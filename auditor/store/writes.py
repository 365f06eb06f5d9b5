"""Everything a scan writes into the store: runs, sources, versioned mail facts, hosts."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from auditor import __version__
from auditor.errors import StoreError, to_stored

if TYPE_CHECKING:
    from auditor.collect.host.machine import Machine
    from auditor.collect.host.records import HostFacts
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
        conn.commit()


def source_id(conn: sqlite3.Connection, kind: str, account: str, locator: str) -> int:
    """The id of a mail source, created on first sight. `locator` never holds a secret."""
    with writing(conn, "source"):
        row = conn.execute(
            "SELECT id FROM sources WHERE kind = ? AND locator = ?", (kind, locator)
        ).fetchone()
        if row:
            conn.execute("UPDATE sources SET account = ? WHERE id = ?", (account, row[0]))
            return int(row[0])
        cur = conn.execute(
            "INSERT INTO sources (kind, account, locator) VALUES (?, ?, ?)",
            (kind, account, locator),
        )
        return int(cur.lastrowid)


def record_source_status(
    conn: sqlite3.Connection,
    run_id: int,
    source: int,
    status: str,
    error: str | None = None,
    skipped: int = 0,
) -> None:
    """Say that a run looked at a source. A failed source keeps its last known facts."""
    with writing(conn, "source_status"):
        conn.execute(
            "INSERT OR REPLACE INTO run_sources (run_id, source_id, status, error, skipped) "
            "VALUES (?, ?, ?, ?, ?)",
            (run_id, source, status, None if error is None else stored_line(error), skipped),
        )
        conn.commit()


def message_fingerprint(msg: MessageFacts) -> int:
    """A 63-bit digest of every stored field, to tell unchanged messages without comparing."""
    digest = hashlib.blake2b(repr(msg).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


_MESSAGE_COLUMNS = (
    "source_id, folder, uid, fingerprint, first_run, message_id, internal_date, size_bytes, "
    "seen, flags, from_addr, from_domain, subject, list_id, list_unsubscribe, "
    "one_click_unsubscribe, precedence, auto_submitted, malformed"
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
    )


def insert_messages(
    conn: sqlite3.Connection, source: int, folder: str, run_id: int, msgs: Iterable[MessageFacts]
) -> int:
    """Insert new message versions (and their attachments) valid from `run_id`."""
    count = 0
    placeholders = ", ".join("?" * 19)
    for msg in msgs:
        cur = conn.execute(
            f"INSERT INTO message_versions ({_MESSAGE_COLUMNS}) VALUES ({placeholders})",
            _message_row(source, folder, run_id, msg),
        )
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


def insert_machine(conn: sqlite3.Connection, run_id: int, machine: Machine) -> int:
    """One machine's facts for one run: the host row, its disks, antivirus, batteries, SMART."""
    host, hw = machine.host, machine.hardware
    support, ready = machine.support, machine.readiness

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
        "probe_errors": stored_lines(host.errors),
    }
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
            [
                (
                    hid,
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
            [
                (
                    hid,
                    b.name,
                    b.design_capacity_wh,
                    b.full_capacity_wh,
                    b.health_percent,
                    b.cycle_count,
                )
                for b in machine.batteries
            ],
        )
        conn.executemany(
            "INSERT INTO smart_facts (host_fact_id, device, passed, power_on_hours) "
            "VALUES (?, ?, ?, ?)",
            [(hid, s.device, flag(s.passed), s.power_on_hours) for s in (hw.smart if hw else [])],
        )
        conn.commit()
    return int(hid)


def insert_host(conn: sqlite3.Connection, run_id: int, host: HostFacts) -> int:
    """A host seen only through the first-cut collector (no probes)."""
    from auditor.collect.host.machine import Machine

    return insert_machine(conn, run_id, Machine(host))

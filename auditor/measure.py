"""Measure, not estimate: compress the heavy photos and PDFs of an IMAP mailbox (issue 17).

`auditor scan --compress-attachments` runs this after the accounts were scanned. For each
attachment MAIL008 (or MAIL001) would report, newest first and within a budget of bytes or
seconds, only that part is fetched (`UID FETCH n (BODY.PEEK[p.MIME] BODY.PEEK[p])`: PEEK
sets no \\Seen flag, RFC 3501 6.4.5; the folder is opened with EXAMINE, read-only), decoded,
and compressed by `auditor compress --for email` (same compressor, same quality guard) in a
worker process. The light size is stored per attachment (table attachment_measures), so an
attachment measured once is never fetched again.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
import sqlite3
import tempfile
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any

from auditor.config import Budget
from auditor.errors import AuditorError, Problem

# The largest part fetched: a literal this size is read into memory once, then decoded.
PART_LIMIT = 48 * 1024 * 1024
# MAIL008 and MAIL001 report attachments from these sizes (their default min_bytes).
_RULES = ("MAIL008", "MAIL001")


@dataclass(frozen=True)
class Candidate:
    folder: str
    uid: int
    fingerprint: int
    part: str
    filename: str | None
    content_type: str
    encoded_bytes: int
    size_bytes: int
    internal_date: str | None
    from_addr: str | None


def threshold(rule_params: dict[str, dict[str, Any]], defaults: dict[str, int]) -> int:
    """The smallest attachment MAIL008 or MAIL001 reports, with the config's overrides."""
    values = []
    for rule_id in _RULES:
        value = (rule_params.get(rule_id) or {}).get("min_bytes", defaults.get(rule_id))
        if isinstance(value, int | float):
            values.append(int(value))
    return min(values) if values else 1_000_000


def candidates(conn: sqlite3.Connection, source_id: int, min_bytes: int) -> list[Candidate]:
    """The account's photos and PDFs worth compressing, not measured yet, newest first.

    The same attachments MAIL008 reports (compress_saving > 0: a photo or PDF of a size the
    corpus shows compressible), outside Trash and Junk, in the messages open now."""
    from auditor.store.functions import register_functions

    register_functions(conn)
    rows = conn.execute(
        """
        SELECT m.folder, m.uid, m.fingerprint, a.part, a.filename, a.content_type,
               a.encoded_bytes, a.size_bytes, m.internal_date, m.from_addr
        FROM message_versions m
        JOIN attachment_versions a ON a.message_version_id = m.id
        LEFT JOIN folder_versions f ON f.source_id = m.source_id AND f.name = m.folder
         AND f.gone_run IS NULL
        WHERE m.source_id = ? AND m.gone_run IS NULL AND a.size_bytes >= ?
          AND a.encoded_bytes <= ?
          AND coalesce(f.special_use, '') NOT IN ('Trash', 'Junk')
          AND compress_saving(a.content_type, a.filename, a.size_bytes) > 0
          AND NOT EXISTS (SELECT 1 FROM attachment_measures am
                          WHERE am.source_id = m.source_id AND am.folder = m.folder
                            AND am.uid = m.uid AND am.fingerprint = m.fingerprint
                            AND am.part = a.part)
        ORDER BY m.internal_date DESC, m.folder, m.uid, a.part
        """,
        (source_id, min_bytes, PART_LIMIT),
    ).fetchall()
    return [Candidate(*row) for row in rows]


def decode_part(mime_head: bytes, body: bytes) -> bytes:
    """The part's bytes as the file had them (RFC 2045 section 6: base64, quoted-printable,
    or as is for 7bit/8bit/binary)."""
    head = BytesHeaderParser(policy=compat32).parsebytes(mime_head or b"")
    encoding = str(head.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    if encoding == "base64":
        try:
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body) + b"==")
        except (binascii.Error, ValueError):
            return b""
    if encoding == "quoted-printable":
        return quopri.decodestring(body)
    return body


def compress_bytes(data: bytes, filename: str | None) -> tuple[str, int, bytes | None, str]:
    """(status, light size, light bytes or None, suffix) of `auditor compress --for email` on
    `data` (runs in a worker process: a photo that crashes the decoder takes the worker, not
    the scan). The bytes go through a private temporary file, as the compressor reads files."""
    from auditor.compress.presets import make_preset
    from auditor.compress.runner import compress_one

    suffix = Path(filename or "").suffix[:10] or ".bin"
    with tempfile.TemporaryDirectory(prefix="auditor-measure-") as folder:
        path = Path(folder) / f"attachment{suffix}"
        path.write_bytes(data)
        _kind, outcome = compress_one(path, make_preset("email"))
    if outcome.status == "smaller" and outcome.data is not None:
        return "smaller", len(outcome.data), outcome.data, outcome.suffix or suffix
    return outcome.status, len(data), None, suffix


_UNSAFE = re.compile(r"[^\w.@+-]+")


def light_copy_name(found: Candidate, suffix: str) -> str:
    """2026-03-14_marie@asso.fr_photo-kermesse.light.jpg: date, sender, file name, in
    characters every file system and shared drive accepts."""

    def clean(text: str, limit: int) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return _UNSAFE.sub("-", text).strip("-._")[:limit] or "x"

    date = clean((found.internal_date or "")[:10], 10)
    sender = clean(found.from_addr or "", 60)
    stem = clean(Path(found.filename or "attachment").stem, 80)
    return f"{date}_{sender}_{stem}.light{suffix}"


@dataclass
class MeasureStats:
    measured: int = 0
    fetched_bytes: int = 0
    left: int = 0  # candidates not measured because the budget ran out


def _save(
    conn: sqlite3.Connection,
    source_id: int,
    run_id: int,
    found: Candidate,
    status: str,
    sizes: tuple[int, int],
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO attachment_measures (source_id, folder, uid, fingerprint, part, "
        "status, original_bytes, light_bytes, measured_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (source_id, found.folder, found.uid, found.fingerprint, found.part, status, *sizes, run_id),
    )
    conn.commit()


def _fetch_part(client: Any, found: Candidate) -> bytes | None:
    """The decoded bytes of one part, fetched alone; None when the message is gone."""
    part = found.part
    items = [f"BODY.PEEK[{part}.MIME]", f"BODY.PEEK[{part}]"]
    answer = client.fetch([found.uid], items).get(found.uid)
    if not answer:
        return None
    body = answer.get(f"BODY[{part}]".encode())
    if not isinstance(body, bytes):
        return None
    head = answer.get(f"BODY[{part}.MIME]".encode())
    return decode_part(head if isinstance(head, bytes) else b"", body)


def measure_account(
    conn: sqlite3.Connection,
    run_id: int,
    source_id: int,
    account: Any,
    min_bytes: int,
    budget: Budget,
    light_dir: Path | None = None,
) -> MeasureStats:
    """Measure the account's candidates until the budget is spent. Raises SourceError (one
    line naming the account) when the server cannot be reached; what was measured stays."""
    from auditor.collect.mail.imap import connect

    stats = MeasureStats()
    todo = candidates(conn, source_id, min_bytes)
    if not todo:
        return stats
    started = time.monotonic()
    client = connect(account)
    worker = _Worker()
    try:
        opened: str | None = None
        for index, found in enumerate(todo):
            if budget.spent(stats.fetched_bytes, started):
                stats.left = len(todo) - index
                break
            if found.folder != opened:
                client.select_folder(found.folder, readonly=True)  # EXAMINE
                opened = found.folder
            data = _fetch_part(client, found)
            stats.fetched_bytes += found.encoded_bytes
            if data is None:  # gone since the scan: the next scan closes it
                continue
            status, light, light_data, suffix = worker.compress(data, found.filename)
            _save(conn, source_id, run_id, found, status, (len(data), light))
            del data
            stats.measured += 1
            if light_dir is not None and light_data is not None:
                _keep_light_copy(light_dir, found, light_data, suffix)
    finally:
        worker.close()
        try:
            client.logout()
        except Exception:  # the measures are stored; a failed goodbye changes nothing
            pass
    return stats


class _Worker:
    """One worker process compressing one attachment at a time. A file that kills it (a
    decoder crash, the memory killer) is stored as skipped, so the next scan does not
    fetch it again, and a new worker takes the next one."""

    def __init__(self) -> None:
        self.pool = ProcessPoolExecutor(max_workers=1)

    def compress(self, data: bytes, filename: str | None) -> tuple[str, int, bytes | None, str]:
        try:
            return self.pool.submit(compress_bytes, data, filename).result()
        except BrokenProcessPool:
            self.pool.shutdown(wait=False)
            self.pool = ProcessPoolExecutor(max_workers=1)
            return "skipped", len(data), None, ""
        except Exception:  # a bug on this one file: skipped too, the others go on
            return "skipped", len(data), None, ""

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _keep_light_copy(folder: Path, found: Candidate, data: bytes, suffix: str) -> None:
    """Write the light copy (0600, never over an existing file: a second one gets -2...)."""
    from auditor.files import atomic_write_bytes

    name = light_copy_name(found, suffix)
    stem, dot, rest = name.partition(".light")
    for attempt in range(1, 100):
        target = folder / (name if attempt == 1 else f"{stem}-{attempt}{dot}{rest}")
        try:
            atomic_write_bytes(target, data, overwrite=False)
            return
        except FileExistsError:
            continue


def measure_imap(
    conn: sqlite3.Connection,
    run_id: int,
    accounts: list[tuple[int, Any]],
    min_bytes: int,
    budget: Budget,
    light_dir: Path | None,
) -> list[Problem | str]:
    """Measure every account in turn (each with the budget); the lines of those that failed."""
    errors: list[Problem | str] = []
    for source_id, account in accounts:
        try:
            measure_account(conn, run_id, source_id, account, min_bytes, budget, light_dir)
        except AuditorError as exc:
            errors.append(exc.problem)
        except Exception as exc:  # a server that hangs up mid-way: measures kept, one line
            errors.append(
                Problem("source.imap.measure_failed", at=(account.name,), error=type(exc).__name__)
            )
    return errors

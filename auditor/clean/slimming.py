"""`auditor clean --rule MAIL008 --slim compress|detach`: a message made light where it sits.

Called by the Applier in place of the removal, once the original is saved whole in the
backup and journaled "acting". Per message: the light copy is built from the backup copy
(its SHA-256 checked first), APPENDed to the same folder with the original's flags and
INTERNALDATE (RFC 3501 6.3.11), found by its UID (APPENDUID, RFC 4315 3), fetched back and
compared byte for byte with what was built; only then is the original removed (by the
caller: UID STORE \\Deleted + UID EXPUNGE of its UID only).

Resuming: the copy carries `X-Auditor-Slimmed: ...; original-sha256=<hex>`. Before any
APPEND the folder is searched for that header (SEARCH HEADER, RFC 3501 6.4.4): a copy an
interrupted run appended is checked (every part it did not change equal to the original's)
and kept, never appended twice.
"""

from __future__ import annotations

import json
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from imapclient.datetime_util import parse_to_datetime

from auditor.clean import journal, slim
from auditor.clean.backup import BackupFailed, read_copy, safe_name, sha256
from auditor.clean.journal import Entry
from auditor.clean.server import _expunge, fetch
from auditor.errors import Problem
from auditor.files import atomic_write_bytes, read_regular_bytes
from auditor.i18n import t
from auditor.i18n.format import format_bytes

_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]", re.IGNORECASE)


def slim_copies(client, digest: str) -> list[int]:
    """UIDs of the selected folder holding a slimmed copy of the message `digest`."""
    return sorted(client.search(["HEADER", slim.HEADER.decode(), f"original-sha256={digest}"]))


def _parts(e: Entry) -> tuple[list[str], str | None]:
    target = json.loads(e.target or "{}")
    return list(target.get("parts") or []), target.get("dir")


def _filename(raw: bytes, node: slim.Entity) -> str | None:
    head = BytesHeaderParser(policy=compat32).parsebytes(raw[node.start : node.body])
    name = head.get_filename()
    return str(name) if name else None


def _compressed(raw: bytes, parts: list[str]) -> bytes:
    """The message with each part recompressed by the measure's compressor and guard
    (`auditor compress --for email`), kept only with the same format and a saving of at
    least slim.MIN_SAVING; the light bytes were not kept by the scan."""
    from auditor.measure import _Worker as Worker  # the scan's own worker and guard

    worker = Worker()  # a photo that crashes the decoder takes the worker, not the run
    try:
        return _compressed_by(worker, raw, parts)
    finally:
        worker.close()


def _compressed_by(worker, raw: bytes, parts: list[str]) -> bytes:
    top = slim.structure(raw)
    light: dict[str, bytes] = {}
    for section in parts:
        path = slim.find(top, section)
        if not path or path[-1].encoding != "base64":
            continue
        data = slim.decoded(raw, path[-1])
        name = _filename(raw, path[-1])
        status, _size, out, suffix = worker.compress(data, name)  # "skipped" if it failed
        same_kind = suffix.lower() == (Path(name or "").suffix[:10] or ".bin").lower()
        if (
            status == "smaller"
            and out
            and same_kind
            and len(out) <= (1 - slim.MIN_SAVING) * len(data)
        ):
            light[section] = out
    if not light:
        raise slim.CannotSlim("no_saving")
    return slim.compressed(raw, light)


def _detach_file(folder: Path, name: str, data: bytes) -> Path:
    """Write the attachment under `folder` (0600, never over another file); a file already
    there with the same bytes (an interrupted run's) is taken as it is."""
    stem, suffix = Path(name).stem or "attachment", Path(name).suffix
    digest = sha256(data)
    for candidate in (f"{stem}{suffix}", f"{stem}-{digest[:12]}{suffix}"):
        path = folder / safe_name(candidate)
        try:
            atomic_write_bytes(path, data, overwrite=False)
            return path
        except FileExistsError:
            try:  # a FIFO or a device under that name is never opened for reading
                if sha256(read_regular_bytes(path, len(data))) == digest:
                    return path
            except OSError:
                continue
    raise FileExistsError(str(folder / safe_name(name)))


def _detached(raw: bytes, parts: list[str], folder: Path, lang: str) -> bytes:
    top = slim.structure(raw)
    if slim.sealed(raw):
        raise slim.CannotSlim("sealed")
    lang = slim.language(raw, lang)
    notes: dict[str, tuple[str, str | None]] = {}
    for section in parts:
        path = slim.find(top, section)
        if not path:
            continue
        data = slim.decoded(raw, path[-1])
        name = _filename(raw, path[-1]) or f"attachment-{section}"
        saved = _detach_file(folder, name, data)
        text = t(
            lang,
            "clean.slim.note",
            file=name,
            size=format_bytes(len(data), lang),
            sha256=sha256(data),
            path=str(saved),
        )
        notes[section] = (text, saved.resolve().as_uri())
    if not notes:
        raise slim.CannotSlim("part_missing")
    return slim.detached(raw, notes)


def _same_outside(original: bytes, copy: bytes, parts: list[str]) -> bool:
    """Every leaf part the slimming did not touch is byte-identical in `copy`."""

    def leaves(node: slim.Entity, raw: bytes) -> dict[str, bytes]:
        if not node.children:
            return {node.section: raw[node.start : node.end]}
        out: dict[str, bytes] = {}
        for child in node.children:
            out |= leaves(child, raw)
        return out

    before = leaves(slim.structure(original), original)
    after = leaves(slim.structure(copy), copy)
    return before.keys() == after.keys() and all(
        before[s] == after[s] for s in before if s not in parts
    )


def _build(applier, raw: bytes, e: Entry) -> bytes:
    parts, folder = _parts(e)
    if slim.sealed(raw):
        raise slim.CannotSlim("sealed")
    if e.action == "detach":
        return _detached(raw, parts, Path(folder or "."), getattr(applier, "lang", "en"))
    return _compressed(raw, parts)


def _append(client, folder: str, e: Entry, data: bytes) -> int | None:
    flags = [f for f in (e.flags or "").split() if f.lower() != "\\recent"]
    when = parse_to_datetime(e.internal_date.encode(), normalise=False) if e.internal_date else None
    answer = client.append(folder, data, flags, msg_time=when)
    match = _APPENDUID.search(answer if isinstance(answer, bytes) else str(answer).encode())
    if match:
        return int(match.group(1))
    found = slim_copies(client, e.sha256 or "")  # no UIDPLUS answer: the header finds it
    return found[-1] if found else None


def _one(applier, client, at, folder: str, e: Entry) -> bool:
    """True when a checked light copy is in the folder (the original may go)."""
    raw = read_copy(e.backup_path, e.backup_offset, e.backup_length) if e.backup_path else b""
    if sha256(raw) != e.sha256:
        raise BackupFailed(str(e.backup_path), "a copy reads back different")
    parts, _folder = _parts(e)
    found = slim_copies(client, e.sha256 or "")
    if found:  # appended by a run that was cut or killed: check it, never append twice
        bodies = fetch(client, found, "UID BODY.PEEK[]")
        good = [u for u, b in bodies.items() if _same_outside(raw, b.get(b"BODY[]") or b"", parts)]
        if good:
            extra = [u for u in found if u != min(good)]
            if extra:
                _expunge(client, extra)
            return True
        return _refuse(applier, at, e, "clean.line.slim_differs")
    try:
        built = _build(applier, raw, e)
    except slim.CannotSlim as exc:
        key = "clean.line.sealed" if exc.reason == "sealed" else "clean.line.not_slimmed"
        return _refuse(applier, at, e, key)
    except OSError as exc:  # the detached file could not be written: not a lost connection
        error = f"{exc.filename or _parts(e)[1]}: {exc.strerror or exc}"
        return _refuse(applier, at, e, "clean.line.detach_failed", error=error[:300])
    uid = _append(client, folder, e, built)
    back = fetch(client, [uid], "UID BODY.PEEK[]").get(uid, {}) if uid else {}
    if back.get(b"BODY[]") != built:
        if uid:
            _expunge(client, [uid])  # ours, just appended: the original stays
        return _refuse(applier, at, e, "clean.line.slim_differs")
    return True


def _refuse(applier, at, e: Entry, key: str, **values) -> bool:
    applier.outcome.lines.append(Problem(key, at=at, uid=e.uid, **values))
    journal.mark(applier.conn, [e.id], "skipped", key.rsplit(".", 1)[-1])
    return False


def slim_in_place(applier, client, caps, at, folder: str, group: list[Entry]) -> list[Entry]:
    """The entries whose light copy is in place and checked: their originals may go."""
    return [e for e in group if _one(applier, client, at, folder, e)]

"""Local copies of whole messages: mbox files (mboxrd quoting), one per account and year.

`ARCHIVE/<account>/<year>.mbox` holds old mail archived out of the server (MAIL002), and
`ARCHIVE/<account>/removed-<year>.mbox` the copy of everything else removed or moved, so it
can be put back. Thunderbird opens both (ImportExportTools NG, or as a local folder).

mboxrd (">From " quoting of every line matching ^>*From ) is reversible, so each copy gives
back the server's bytes exactly; the journal records where each copy lies (offset, length
of the quoted text) and the SHA-256 of the original. A batch is written with one write()
and made durable with one fsync of the file (and of its folder when the file is new)
before the batch's server change.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from auditor.errors import ConfigError
from auditor.files import fsync_directory

_QUOTE = re.compile(rb"^(>*From )", re.MULTILINE)
_UNQUOTE = re.compile(rb"^>(>*From )", re.MULTILINE)
_SAFE = re.compile(r"[^A-Za-z0-9._@+-]")


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def quote(raw: bytes) -> bytes:
    # most messages have no line starting "From " (the header says "From:"): a find in C
    return _QUOTE.sub(rb">\1", raw) if b"From " in raw else raw


def unquote(data: bytes) -> bytes:
    return _UNQUOTE.sub(rb"\1", data) if b"From " in data else data


def safe_name(text: str) -> str:
    """A file or folder name from an account name: no separator, no dot-dot, not empty."""
    name = _SAFE.sub("_", text).strip(".") or "_"
    return name[:100]


def backup_file(root: Path, account: str, action: str, year: int) -> Path:
    stem = f"{year}" if action == "archive" else f"removed-{year}"
    return root / safe_name(account) / f"{stem}.mbox"


class BackupFailed(Exception):
    """A copy could not be written or read back (a full disk...): nothing of its batch
    counts as saved, so nothing of it is changed on the server. Not an OSError, so it is
    never taken for a lost connection."""

    def __init__(self, path: str, error: str) -> None:
        super().__init__(f"{path}: {error}")
        self.path, self.error = path, error


@dataclass
class Copy:
    path: str
    offset: int
    length: int


def _from_line(when: datetime | None) -> bytes:
    stamp = (when or datetime(1970, 1, 1)).strftime("%a %b %d %H:%M:%S %Y")
    return f"From MAILER-DAEMON {stamp}\n".encode("ascii")


class BackupWriter:
    """Appends batches of messages to the backup files; one fsync per file per batch."""

    def __init__(self, root: Path, committed_end) -> None:
        self.root = root
        self._committed_end = committed_end  # path -> end of the last journaled copy
        self._checked: set[str] = set()

    def _prepare(self, path: Path) -> None:
        """Create the file's folder; cut off a tail left by a run killed while writing.

        Bytes after the last copy the journal knows were written by a run that did not
        finish its batch: they are moved to NAME.partial (kept, never lost) so the mbox
        stays one clean message after another."""
        if str(path) in self._checked:
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists():
            end = self._committed_end(str(path))
            size = path.stat().st_size
            if end and size > end:
                with path.open("r+b") as fh:
                    fh.seek(end)
                    tail = fh.read()
                    # the copy's trailer: one or two newlines (see write_batch)
                    trailer = min(len(tail) - len(tail.lstrip(b"\n")), 2)
                    if tail[trailer:]:
                        with open(f"{path}.partial", "ab") as keep:
                            keep.write(tail[trailer:])
                            keep.flush()
                            os.fsync(keep.fileno())
                        fh.truncate(end + trailer)
                        fh.flush()
                        os.fsync(fh.fileno())
        self._checked.add(str(path))

    def write_batch(self, messages: list[tuple[Path, bytes, datetime | None]]) -> list[Copy]:
        """Append each (file, raw message, date) and make it durable. Raises OSError
        (a full disk: ENOSPC) before returning anything: then nothing of the batch counts."""
        by_file: dict[Path, list[int]] = {}
        for index, (path, _raw, _when) in enumerate(messages):
            by_file.setdefault(path, []).append(index)
        copies: list[Copy | None] = [None] * len(messages)
        for path, indexes in by_file.items():
            self._prepare(path)
            new = not path.exists()
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                offset = os.fstat(fd).st_size
                chunks = []
                for index in indexes:
                    _path, raw, when = messages[index]
                    head = _from_line(when)
                    body = quote(raw)
                    trailer = b"\n" if body.endswith(b"\n") else b"\n\n"
                    copies[index] = Copy(str(path), offset + len(head), len(body))
                    chunks += [head, body, trailer]
                    offset += len(head) + len(body) + len(trailer)
                data = memoryview(b"".join(chunks))
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:
                fsync_directory(path.parent)
        return [c for c in copies if c is not None]


def read_copy(path: str, offset: int, length: int) -> bytes:
    """The original bytes of one copy (quoting undone)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        return unquote(fh.read(length))


def check_root(root: Path) -> None:
    """The archive folder must exist (a USB stick not plugged in is not made up)."""
    if not root.is_dir():
        raise ConfigError("clean.error.no_archive_folder", path=str(root))


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """One `auditor clean` at a time writes into an archive folder."""
    lock = root / ".auditor-clean.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock
            yield
            return
        deadline = time.monotonic() + 5
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigError("clean.error.busy", path=str(root)) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)

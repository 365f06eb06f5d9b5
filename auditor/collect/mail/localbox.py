"""Read local mail stores (mbox files, Thunderbird folders, Maildir++) into `FolderFacts`.

Only metadata leaves this module: each message is read, measured by `message_facts` and
dropped. mbox files are read in chunks and cut at "From " lines, so a multi-gigabyte folder
is never loaded at once; a message larger than `WHOLE_MESSAGE_LIMIT` (a 2 GB video sent by
mistake) is never held whole either: it streams through `mimestream.MessageStream`, which
keeps its headers and counts its parts' bytes.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from auditor.collect.mail.folders import special_use_from_name
from auditor.collect.mail.mime import iso_utc, message_facts, parse_date_header
from auditor.collect.mail.mimestream import MessageStream
from auditor.collect.mail.records import FolderFacts, MessageFacts
from auditor.errors import Problem, SourceError
from auditor.files import NotRegularFile, is_regular, open_regular

__all__ = [
    "LocalFolder",
    "MboxFileState",
    "collect_maildir",
    "collect_mbox",
    "rescan_maildir",
    "rescan_mbox",
    "special_use_from_name",
]


class _Folder:
    """Mutable while a folder is read; `done()` gives the frozen `FolderFacts`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[MessageFacts] = []
        self.skipped = 0
        self.errors: list[str] = []  # Problems, each about this folder ("Inbox: ...")

    def problem(self, key: str, **values: object) -> None:
        """One line about this folder, without counting a message as skipped."""
        self.errors.append(Problem(key, at=(self.name,), **values))

    def skip(self, key: str, **values: object) -> None:
        """A message that could not be read at all: counted, and one line about it."""
        self.skipped += 1
        self.problem(key, **values)

    def add(
        self, key: int, raw: bytes, seen: bool, date: str | None, flags: tuple[str, ...]
    ) -> None:
        """Add one message; never let one bad message stop the folder."""
        try:
            self.messages.append(message_facts(raw, key, seen, date, flags=flags))
        except Exception as exc:  # message_facts does not raise; this guards against bugs
            self.skip("source.mail.message_unreadable", number=key, error=exc)

    def add_stream(
        self, key: int, stream: MessageStream, seen: bool, date: str | None, flags: tuple[str, ...]
    ) -> None:
        """Add one message read as a stream (a large one); never let it stop the folder."""
        try:
            self.messages.append(stream.facts(key, seen, date, flags=flags))
        except Exception as exc:  # facts() does not raise; this guards against bugs
            self.skip("source.mail.message_unreadable", number=key, error=type(exc).__name__)

    def done(self) -> FolderFacts:
        return FolderFacts(
            name=self.name,
            special_use=special_use_from_name(self.name),
            messages=self.messages,
            skipped=self.skipped,
            errors=self.errors,
        )


# --- mbox ---------------------------------------------------------------------------------

_SKIP_SUFFIXES = frozenset({".msf", ".dat", ".json", ".sqlite", ".html", ".js", ".bak"})
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MOZ_STATUS = re.compile(rb"^X-Mozilla-Status:[ \t]*([0-9A-Fa-f]{1,4})[ \t]*\r?$", re.MULTILINE)
_STATUS = re.compile(rb"^Status:[ \t]*([A-Za-z]*)", re.MULTILINE)
_GMAIL_LABELS = re.compile(rb"^X-Gmail-Labels:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.MULTILINE)
_GMAIL_UNREAD = frozenset({b"unread", b"non lus"})
_X_STATUS = re.compile(rb"^X-Status:[ \t]*([A-Za-z]*)", re.MULTILINE)
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
# asctime() after the envelope sender: "Mon Jan  2 10:00:00 2023", sometimes with a zone.
_FROM_DATE = re.compile(
    r"(?P<mon>" + "|".join(_MONTHS) + r")\s+(?P<day>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s+"
    r"(?:(?P<tz1>[+-]\d{4}|[A-Z]{3,4})\s+)?(?P<year>\d{4})(?:\s+(?P<tz2>[+-]\d{4}))?"
)

# Thunderbird's X-Mozilla-Status bits (nsMsgMessageFlags.idl).
_MOZ_READ = 0x0001
_MOZ_REPLIED = 0x0002
_MOZ_MARKED = 0x0004
_MOZ_EXPUNGED = 0x0008
_MOZ_FORWARDED = 0x1000


def _from_line_date(line: bytes) -> str | None:
    """The date of an mbox "From " line, read as UTC unless it names an offset."""
    match = _FROM_DATE.search(line.decode("ascii", "replace"))
    if not match:
        return None
    tz = match["tz1"] if match["tz1"] and match["tz1"][0] in "+-" else match["tz2"]
    text = (
        f"{match['day']} {match['mon']} {match['year']} "
        f"{match['h']}:{match['m']}:{match['s'] or '00'} {tz or '+0000'}"
    )
    date = parse_date_header(text)
    # Some converters write the epoch as a placeholder; the Date header is better then.
    if date is None or date < "1971":
        return None
    return date


def _mbox_flags(headers: bytes) -> tuple[bool, bool, tuple[str, ...]]:
    """(seen, expunged, IMAP-style flags) from Status, X-Status and X-Mozilla-Status."""
    flags: list[str] = []
    moz = _MOZ_STATUS.search(headers)
    status = _STATUS.search(headers)
    x_status = _X_STATUS.search(headers)
    if moz:
        # Thunderbird keeps X-Mozilla-Status current; a Status header may be stale.
        bits = int(moz.group(1), 16)
        seen = bool(bits & _MOZ_READ)
        expunged = bool(bits & _MOZ_EXPUNGED)
        if bits & _MOZ_REPLIED:
            flags.append("\\Answered")
        if bits & _MOZ_MARKED:
            flags.append("\\Flagged")
        if bits & _MOZ_FORWARDED:
            flags.append("$Forwarded")
    elif status:
        seen = b"R" in status.group(1)
        expunged = False
    else:
        # Google Takeout writes no Status header, only an "Unread" label (localised).
        labels = _GMAIL_LABELS.search(headers)
        expunged = False
        seen = bool(labels) and not any(
            label.strip().lower() in _GMAIL_UNREAD for label in labels.group(1).split(b",")
        )
    if x_status:
        letters = x_status.group(1)
        for letter, flag in ((b"A", "\\Answered"), (b"F", "\\Flagged"), (b"T", "\\Draft")):
            if letter in letters and flag not in flags:
                flags.append(flag)
        if b"D" in letters:
            flags.append("\\Deleted")
    if seen:
        flags.insert(0, "\\Seen")
    return seen, expunged, tuple(flags)


# Messages up to this size are read whole and parsed by mime.message_facts (the fast path);
# larger ones are streamed, so memory stays bounded whatever one message weighs.
WHOLE_MESSAGE_LIMIT = 16 * 1024 * 1024
_CHUNK = 4 * 1024 * 1024
_HOLD = 7  # bytes kept back when streaming: "\r\nFrom " may straddle two reads


class _MboxReader:
    """Cut an mbox file into messages while reading it in chunks.

    Like Python's `mailbox.mbox`, any line beginning with "From " starts a message (writers
    escape body lines as ">From "); the line ending before it belongs to the separator. Yields
    (From line, whole message or None, chunks or None): messages up to `whole_limit` bytes
    come whole; a larger one comes as an iterator of chunks, to be consumed before the next.
    """

    def __init__(self, fh, whole_limit: int | None = None, chunk: int | None = None) -> None:
        self._fh = fh
        self._whole_limit = WHOLE_MESSAGE_LIMIT if whole_limit is None else whole_limit
        self._chunk = _CHUNK if chunk is None else chunk
        self._buf = bytearray()
        self._pos = 0  # start of what has not been handed out yet
        self._eof = False

    def _fill(self) -> bool:
        """Read one more chunk (dropping what was handed out); False at the end of the file."""
        if self._eof:
            return False
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        data = self._fh.read(self._chunk)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def _next_start(self, scanned: int) -> int:
        """Where the next "From " line starts at or after `_pos`, or -1 (not in the buffer).
        `scanned`: the buffer before this offset has been searched already."""
        buf, pos = self._buf, self._pos
        if scanned <= pos and buf[pos : pos + 5] == b"From ":
            return pos
        found = buf.find(b"\nFrom ", max(pos, scanned - 5))
        return found + 1 if found >= 0 else -1

    def _end_before(self, start: int) -> int:
        """The end of a message followed by a "From " line at `start`: without the line ending
        that belongs to the separator."""
        end = start
        if end - 2 >= self._pos and self._buf[end - 2 : end] == b"\r\n":
            end -= 2
        elif end - 1 >= self._pos and self._buf[end - 1 : end] == b"\n":
            end -= 1
        return end

    def messages(self) -> Iterator[tuple[bytes, bytes | None, Iterator[bytes] | None]]:
        while len(self._buf) - self._pos < 5 and self._fill():
            pass
        if self._buf[self._pos : self._pos + 5] != b"From ":  # text before the first message
            while (start := self._next_start(0)) < 0 and self._fill():
                pass
            if start < 0:
                return
            self._pos = start
        while self._pos < len(self._buf) or self._fill():
            eol = self._buf.find(b"\n", self._pos)
            while eol < 0 and self._fill():
                eol = self._buf.find(b"\n", self._pos)
            if eol < 0:  # a "From " line and nothing after it
                yield bytes(self._buf[self._pos :]), b"", None
                self._pos = len(self._buf)
                return
            line = bytes(self._buf[self._pos : eol + 1])
            self._pos = eol + 1
            scanned = self._pos
            while (start := self._next_start(scanned)) < 0:
                if len(self._buf) - self._pos > self._whole_limit:
                    stream = self._stream()
                    yield line, None, stream
                    for _rest in stream:  # whatever the consumer left unread
                        pass
                    break
                scanned = len(self._buf) - self._pos  # relative: _fill moves the buffer
                if not self._fill():
                    start = len(self._buf)
                    last = bytes(memoryview(self._buf)[self._pos :])
                    yield line, _without_final_separator(last), None
                    self._pos = start
                    return
                scanned += self._pos
            else:
                end = self._end_before(start) if start > self._pos else start
                yield line, bytes(memoryview(self._buf)[self._pos : end]), None
                self._pos = start

    def _stream(self) -> Iterator[bytes]:
        scanned = self._pos
        while True:
            start = self._next_start(scanned)
            if start >= 0:
                end = self._end_before(start) if start > self._pos else start
                if end > self._pos:
                    yield bytes(memoryview(self._buf)[self._pos : end])
                self._pos = start
                return
            hold = len(self._buf) - _HOLD
            if hold > self._pos:
                yield bytes(memoryview(self._buf)[self._pos : hold])
                self._pos = hold
            scanned = len(self._buf) - self._pos
            if not self._fill():
                if len(self._buf) > self._pos:
                    yield _without_final_separator(bytes(memoryview(self._buf)[self._pos :]))
                self._pos = len(self._buf)
                return
            scanned += self._pos


def _without_final_separator(data: bytes) -> bytes:
    """The last message of an mbox file, without the line ending that writers put after every
    message: like the one before each "From " line, it belongs to the separator (RFC 4155)."""
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith(b"\n"):
        return data[:-1]
    return data


# mboxrd (and mboxo for ">From "): a body line "From " was written ">From ", ">From " was
# written ">>From "; reading takes one ">" off (qmail's mbox(5), RFC 4155 section 2).
_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def _unescape(raw: bytes) -> bytes:
    if b">From " not in raw:
        return raw
    return _ESCAPED_FROM.sub(rb"\1", raw)


def _unescape_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """`_unescape` over a message given in chunks: a line cut between two chunks is carried
    to the next one when it could be an escaped "From " line."""
    carry = b""
    at_line_start = True
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        if not (data[cut : cut + 1] == b">" and len(data) - cut < 4096):
            cut = len(data)
        data, carry = data[:cut], data[cut:]
        if data:
            yield _unescape_from(data, at_line_start)
            at_line_start = data.endswith(b"\n")
    if carry:
        yield _unescape_from(carry, at_line_start)


def _unescape_from(data: bytes, at_line_start: bool) -> bytes:
    if at_line_start:
        return _unescape(data)
    first = data.find(b"\n") + 1  # the rest of a line begun in the chunk before
    if not first:
        return data
    return data[:first] + _unescape(data[first:])


def _read_mbox_file(path: Path, name: str) -> FolderFacts:
    return _read_mbox(path, name)[0]


class _Bounded:
    """A file read up to `end` only: what was there when the scan looked (fstat), so a
    message being appended meanwhile is left to the next rescan, read whole then."""

    def __init__(self, fh, end: int) -> None:
        self._fh, self._left = fh, end - fh.tell()

    def read(self, size: int) -> bytes:
        data = self._fh.read(max(0, min(size, self._left)))
        self._left -= len(data)
        return data


def _read_mbox(
    path: Path, name: str, resume: MboxFileState | None = None
) -> tuple[FolderFacts, MboxFileState | None]:
    """Read an mbox file whole, or only what follows `resume` (the end of the file the last
    scan read, checked by `_grown_from`). Returns the facts and the file's new state (None
    when the file could not be read, or not whole: the next scan then reads it whole)."""
    folder = _Folder(name)
    last = resume.next_key - 1 if resume else 0  # the key of the last message read
    try:
        with open_regular(path) as fh:
            info = os.fstat(fh.fileno())
            if resume is not None:
                fh.seek(resume.size)
            messages = _MboxReader(_Bounded(fh, info.st_size)).messages()
            first = last + 1
            for last, (line, raw, chunks) in enumerate(messages, first):
                _add_mbox_message(folder, last, line, raw, chunks)
            state = MboxFileState(
                str(path),
                info.st_size,
                info.st_mtime_ns,
                info.st_ino,
                last + 1,
                _tail_digest(fh, info.st_size),
            )
    except OSError as exc:
        error = getattr(exc, "strerror", None) or exc
        folder.problem("source.mbox.unreadable", path=path, error=error)
        state = None
    facts = folder.done()
    return facts, (state if not (facts.skipped or facts.errors) else None)


def _add_mbox_message(
    folder: _Folder, key: int, line: bytes, raw: bytes | None, chunks: Iterator[bytes] | None
) -> None:
    if chunks is not None:
        _add_streamed(folder, key, line, chunks)
        return
    if not raw.strip():
        folder.skip("source.mbox.empty_message", number=key)
        return
    raw = _unescape(raw)
    match = _HEADER_END.search(raw)
    headers = raw[: match.start()] if match else raw
    seen, expunged, flags = _mbox_flags(headers)
    if expunged:
        return  # Thunderbird left it behind until the folder is compacted
    date = _from_line_date(line)
    if date is None:
        date = _header_date(headers)
    folder.add(key, raw, seen, date, flags)


def _add_streamed(folder: _Folder, key: int, line: bytes, chunks: Iterator[bytes]) -> None:
    """A message too large to hold: its chunks go through a MessageStream, then are dropped."""
    stream = MessageStream()
    for chunk in _unescape_chunks(chunks):
        stream.feed(chunk)
    headers = stream.header_block
    seen, expunged, flags = _mbox_flags(headers)
    if expunged:
        return
    date = _from_line_date(line)
    if date is None:
        date = _header_date(headers)
    folder.add_stream(key, stream, seen, date, flags)


def _header_date(headers: bytes) -> str | None:
    match = re.search(rb"^Date:[ \t]*(.*(?:\r?\n[ \t].*)*)", headers, re.MULTILINE | re.IGNORECASE)
    if not match:
        return None
    return parse_date_header(match.group(1).decode("ascii", "replace"))


def _mbox_name(file_name: str) -> str:
    """Folder name of an mbox file: "Inbox.mbox" is "Inbox"; Thunderbird's have no suffix."""
    stem, dot, suffix = file_name.rpartition(".")
    if dot and stem and suffix.lower() in ("mbox", "mbx"):
        return stem
    return file_name


def _is_mbox(path: Path) -> bool:
    try:
        with open_regular(path) as fh:  # a FIFO or a device is no mbox, and is never waited on
            head = fh.read(5)
    except OSError:
        return False
    if head == b"From ":
        return True
    # Thunderbird creates an empty file next to the index of a folder that holds nothing.
    return head == b"" and path.with_name(path.name + ".msf").exists()


def _mbox_tree(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """Yield (folder name, file) under a Thunderbird-like directory, in a stable order."""
    try:
        entries = sorted(root.iterdir(), key=lambda p: p.name.casefold())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if entry.is_symlink():
                continue  # avoid cycles
            # "Foo.sbd" holds the subfolders of the mbox file "Foo" (Thunderbird layout).
            label = entry.name[:-4] if entry.name.endswith(".sbd") else entry.name
            yield from _mbox_tree(entry, f"{prefix}{label}/")
        elif entry.suffix.lower() not in _SKIP_SUFFIXES and _is_mbox(entry):
            yield f"{prefix}{_mbox_name(entry.name)}", entry


def _mbox_files(path: Path) -> list[tuple[str, Path]]:
    """(folder name, file) of an mbox file or of every mbox file under a directory."""
    path = Path(path)
    if not path.exists():
        raise SourceError("source.mbox.not_found", path=path)
    if not path.is_dir() and not is_regular(path):
        raise SourceError("source.mbox.not_regular", path=path)
    if path.is_file():
        if not _is_mbox(path) and path.stat().st_size:
            raise SourceError("source.mbox.not_mbox", path=path)
        return [(_mbox_name(path.name), path)]
    return list(_mbox_tree(path, ""))


def collect_mbox(path: Path) -> list[FolderFacts]:
    """Read an mbox file, or every mbox folder under a directory (Thunderbird profile style).

    Raises `SourceError` when the path does not exist or a given file is not an mbox.
    """
    return [_read_mbox_file(file, name) for name, file in _mbox_files(path)]


# --- rescans that read only what changed ---------------------------------------------------
# A Thunderbird profile is gigabytes of mbox files that change little from month to month,
# and Thunderbird only appends to them (until the user compacts a folder). A rescan skips
# a file whose size, modification time and inode are what the last scan saw, and reads
# only the tail of a file that grew, after checking that its old end is still there (a
# digest of the bytes just before it, then a "From " line where it was). Anything else
# (shorter, rewritten, compacted, replaced) is read whole. The facts stored are the ones a
# full read gives: the tail's messages get the keys a full read gives them (their position).

_TAIL = 256  # bytes before a file's end whose digest the state keeps


@dataclass(frozen=True, slots=True)
class MboxFileState:
    """What the last scan read of one mbox file (store: local_files)."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    next_key: int  # the key the next message appended will get
    tail_digest: str  # of the _TAIL bytes before `size`


@dataclass(slots=True)
class LocalFolder:
    """What a rescan read of one local folder, and how the store applies it.

    whole: `facts.messages` is the whole folder (sync it). Otherwise they are additions and
    replacements only: the open versions of `close` end, then the messages are added.
    `state`: what to remember of an mbox file for the next rescan (None: forget it)."""

    facts: FolderFacts
    whole: bool
    close: frozenset[int] = frozenset()
    state: MboxFileState | None = None
    unchanged: bool = False  # nothing read changed anything: nothing to write


def _tail_digest(fh, end: int) -> str:
    fh.seek(max(0, end - _TAIL))
    return hashlib.blake2b(fh.read(end - max(0, end - _TAIL)), digest_size=16).hexdigest()


def _grown_from(path: Path, old: MboxFileState) -> bool | None:
    """True: the file is the old one, unchanged; False: the old one with messages appended
    (its old end where it was, a message starting right after); None: read it whole."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if str(path) != old.path or info.st_ino != old.inode or info.st_size < old.size:
        return None
    if info.st_size == old.size:
        return True if info.st_mtime_ns == old.mtime_ns else None
    try:
        with open_regular(path) as fh:
            if _tail_digest(fh, old.size) != old.tail_digest:
                return None
            fh.seek(max(0, old.size - 1))
            joint = fh.read(6)  # the old last byte, then the next message's "From "
    except OSError:
        return None
    if old.size == 0:
        return False if joint.startswith(b"From ") else None
    return False if joint[:1] == b"\n" and joint[1:] == b"From " else None


def rescan_mbox(path: Path, known: dict[str, MboxFileState]) -> list[LocalFolder]:
    """`collect_mbox`, reading only the files (or file tails) that changed since the scan
    that left `known` (folder name -> state). Raises what `collect_mbox` raises."""
    return [_rescan_mbox_file(file, name, known.get(name)) for name, file in _mbox_files(path)]


def _rescan_mbox_file(path: Path, name: str, old: MboxFileState | None) -> LocalFolder:
    grown = _grown_from(path, old) if old is not None else None
    if grown is True:  # unchanged: nothing read
        facts = FolderFacts(name, special_use_from_name(name))
        return LocalFolder(facts, whole=False, state=old, unchanged=True)
    facts, state = _read_mbox(path, name, old if grown is False else None)
    return LocalFolder(facts, whole=grown is None, state=state)


# --- Maildir ------------------------------------------------------------------------------

_MAILDIR_FLAGS = {
    "S": "\\Seen",
    "R": "\\Answered",
    "F": "\\Flagged",
    "D": "\\Draft",
    "T": "\\Deleted",
    "P": "$Forwarded",
}


def _decode_mutf7(name: str) -> str:
    """IMAP modified UTF-7 (RFC 3501 section 5.1.3), which Dovecot uses for folder names."""
    if "&" not in name:
        return name
    out, i = [], 0
    while i < len(name):
        amp = name.find("&", i)
        if amp < 0:
            out.append(name[i:])
            break
        out.append(name[i:amp])
        dash = name.find("-", amp)
        if dash < 0:
            return name  # not modified UTF-7 after all
        chunk = name[amp + 1 : dash]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            try:
                raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
                out.append(raw.decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                return name
        i = dash + 1
    return "".join(out)


def maildir_key(unique: str) -> int:
    """A stable 63-bit key for a Maildir message, from its unique name (before ":")."""
    digest = hashlib.blake2b(unique.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << 63) - 1)


def _maildir_messages(root: Path) -> Iterator[Path]:
    """Files of new/ then cur/ (tmp/ holds deliveries in progress), sorted by name."""
    for sub in ("new", "cur"):
        directory = root / sub
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for file_name in names:
            if not file_name.startswith("."):
                yield directory / file_name


def _read_maildir(root: Path, name: str) -> FolderFacts:
    return _rescan_maildir_folder(root, name, None).facts


# What the store holds of a Maildir message for a rescan: key -> (seen, flags as stored).
KnownFlags = dict[int, tuple[bool, str]]


def _rescan_maildir_folder(root: Path, name: str, known: KnownFlags | None) -> LocalFolder:
    """Read a Maildir folder; with `known` (a rescan), only the files not seen before.

    Maildir names are unique and a message file is never rewritten (maildir(5)): a name
    already stored is the same message. Its flags live in the name after ":2,", so a name
    whose unique part is known but whose flags differ from the stored ones is read again,
    and a stored key whose name is no longer listed went."""
    folder = _Folder(name)
    present: set[int] = set()
    changed: set[int] = set()
    for position, file in enumerate(_maildir_messages(root), 1):
        unique, _, info = file.name.partition(":")
        letters = info[2:] if info.startswith("2,") else ""
        flags = tuple(_MAILDIR_FLAGS[c] for c in sorted(set(letters)) if c in _MAILDIR_FLAGS)
        seen = "S" in letters
        key = maildir_key(unique)
        if known is not None:
            if key in present:
                continue  # the same message in new/ and cur/: the first one counts
            present.add(key)
            stored = known.get(key)
            if stored == (seen, " ".join(flags)):
                continue
            if stored is not None:
                changed.add(key)
        _read_maildir_file(folder, position, file, key, seen, flags)
    if known is None:
        return LocalFolder(folder.done(), whole=True)
    facts, close = folder.done(), frozenset(changed | (set(known) - present))
    return LocalFolder(facts, whole=False, close=close, unchanged=not (facts.messages or close))


def _read_maildir_file(
    folder: _Folder, position: int, file: Path, key: int, seen: bool, flags: tuple[str, ...]
) -> None:
    stream = None
    try:
        with open_regular(file) as fh:  # a FIFO in cur/ would hang the scan
            stat = os.fstat(fh.fileno())
            if stat.st_size <= WHOLE_MESSAGE_LIMIT:
                raw = fh.read()
            else:  # never held whole: see WHOLE_MESSAGE_LIMIT
                stream = MessageStream()
                while chunk := fh.read(_CHUNK):
                    stream.feed(chunk)
    except NotRegularFile:
        where = {"number": position, "file": file.name}
        if file.is_dir():  # a folder where a message should be: say it as the OS does
            error = os.strerror(errno.EISDIR)
            folder.skip("source.maildir.message_unreadable", **where, error=error)
        else:
            folder.skip("source.maildir.message_not_regular", **where)
        return
    except OSError as exc:
        folder.skip(
            "source.maildir.message_unreadable",
            number=position,
            file=file.name,
            error=exc.strerror or exc,
        )
        return
    # Dovecot reports the file's mtime as INTERNALDATE; a zero mtime means it was lost.
    date = None
    if stat.st_mtime > 86400:
        try:
            date = iso_utc(datetime.fromtimestamp(stat.st_mtime, tz=UTC))
        except (OverflowError, OSError, ValueError):  # a date beyond year 9999
            date = None
    if stream is not None:
        folder.add_stream(key, stream, seen, date, flags)
    else:
        folder.add(key, raw, seen, date, flags)


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _maildir_folders(path: Path) -> list[tuple[str, Path]]:
    """(folder name, directory) of a Maildir++ tree: the root is "INBOX", ".Sent" is
    "Sent", ".A.B" is "A/B"."""
    path = Path(path)
    if not path.exists():
        raise SourceError("source.maildir.not_found", path=path)
    if not _is_maildir(path):
        raise SourceError("source.maildir.not_maildir", path=path)
    subfolders = []
    for entry in path.iterdir():
        if entry.name.startswith(".") and _is_maildir(entry):
            # Maildir++: one dot-separated hierarchy level per dot, names in modified UTF-7.
            parts = [_decode_mutf7(p) for p in entry.name[1:].split(".") if p]
            if parts:
                subfolders.append(("/".join(parts), entry))
    return [("INBOX", path), *sorted(subfolders, key=lambda item: item[0].casefold())]


def collect_maildir(path: Path) -> list[FolderFacts]:
    """Read a Maildir++ tree: the root is "INBOX", ".Sent" is "Sent", ".A.B" is "A/B"."""
    return [_read_maildir(root, name) for name, root in _maildir_folders(path)]


def rescan_maildir(path: Path, known: Callable[[str], KnownFlags]) -> list[LocalFolder]:
    """`collect_maildir`, reading only the message files not seen before; `known(folder)`
    gives what the store holds of the folder (empty for a new folder)."""
    return [
        _rescan_maildir_folder(root, name, known(name)) for name, root in _maildir_folders(path)
    ]

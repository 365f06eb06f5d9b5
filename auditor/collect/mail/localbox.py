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
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from auditor.collect.mail.folders import special_use_from_name
from auditor.collect.mail.mime import iso_utc, message_facts, parse_date_header
from auditor.collect.mail.mimestream import MessageStream
from auditor.collect.mail.records import FolderFacts, MessageFacts
from auditor.errors import Problem, SourceError
from auditor.files import NotRegularFile, is_regular, open_regular

__all__ = ["collect_maildir", "collect_mbox", "special_use_from_name"]


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
    folder = _Folder(name)
    try:
        with open_regular(path) as fh:
            messages = _MboxReader(fh).messages()
            for key, (line, raw, chunks) in enumerate(messages, 1):
                if chunks is not None:
                    _add_streamed(folder, key, line, chunks)
                    continue
                if not raw.strip():
                    folder.skip("source.mbox.empty_message", number=key)
                    continue
                raw = _unescape(raw)
                match = _HEADER_END.search(raw)
                headers = raw[: match.start()] if match else raw
                seen, expunged, flags = _mbox_flags(headers)
                if expunged:
                    continue  # Thunderbird left it behind until the folder is compacted
                date = _from_line_date(line)
                if date is None:
                    date = _header_date(headers)
                folder.add(key, raw, seen, date, flags)
    except OSError as exc:
        error = getattr(exc, "strerror", None) or exc
        folder.problem("source.mbox.unreadable", path=path, error=error)
    return folder.done()


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


def collect_mbox(path: Path) -> list[FolderFacts]:
    """Read an mbox file, or every mbox folder under a directory (Thunderbird profile style).

    Raises `SourceError` when the path does not exist or a given file is not an mbox.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError("source.mbox.not_found", path=path)
    if not path.is_dir() and not is_regular(path):
        raise SourceError("source.mbox.not_regular", path=path)
    if path.is_file():
        if not _is_mbox(path) and path.stat().st_size:
            raise SourceError("source.mbox.not_mbox", path=path)
        return [_read_mbox_file(path, _mbox_name(path.name))]
    return [_read_mbox_file(file, name) for name, file in _mbox_tree(path, "")]


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
    folder = _Folder(name)
    for position, file in enumerate(_maildir_messages(root), 1):
        unique, _, info = file.name.partition(":")
        letters = info[2:] if info.startswith("2,") else ""
        flags = tuple(_MAILDIR_FLAGS[c] for c in sorted(set(letters)) if c in _MAILDIR_FLAGS)
        seen = "S" in letters
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
            continue
        except OSError as exc:
            folder.skip(
                "source.maildir.message_unreadable",
                number=position,
                file=file.name,
                error=exc.strerror or exc,
            )
            continue
        # Dovecot reports the file's mtime as INTERNALDATE; a zero mtime means it was lost.
        date = None
        if stat.st_mtime > 86400:
            try:
                date = iso_utc(datetime.fromtimestamp(stat.st_mtime, tz=UTC))
            except (OverflowError, OSError, ValueError):  # a date beyond year 9999
                date = None
        if stream is not None:
            folder.add_stream(maildir_key(unique), stream, seen, date, flags)
        else:
            folder.add(maildir_key(unique), raw, seen, date, flags)
    return folder.done()


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def collect_maildir(path: Path) -> list[FolderFacts]:
    """Read a Maildir++ tree: the root is "INBOX", ".Sent" is "Sent", ".A.B" is "A/B"."""
    path = Path(path)
    if not path.exists():
        raise SourceError("source.maildir.not_found", path=path)
    if not _is_maildir(path):
        raise SourceError("source.maildir.not_maildir", path=path)
    folders = [_read_maildir(path, "INBOX")]
    subfolders = []
    for entry in path.iterdir():
        if entry.name.startswith(".") and _is_maildir(entry):
            # Maildir++: one dot-separated hierarchy level per dot, names in modified UTF-7.
            parts = [_decode_mutf7(p) for p in entry.name[1:].split(".") if p]
            if parts:
                subfolders.append(("/".join(parts), entry))
    for name, entry in sorted(subfolders, key=lambda item: item[0].casefold()):
        folders.append(_read_maildir(entry, name))
    return folders

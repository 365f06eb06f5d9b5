"""Turn one raw message into `MessageFacts`: headers that matter and attachment metadata.

Pure functions, no I/O. Each part's header block is read by `mimeheader` (the reader and the
attachment definition the IMAP path shares), leniently the way Dovecot reads it: the stdlib's
compat32 parser ended a header block at the first bad line, kept folded boundaries folded and
turned 8-bit file names into U+FFFD. The MIME tree is split here on the raw bytes (RFC 2046),
because the stdlib feed parser walks every line of every attachment in Python. The few headers
we need are decoded here too (RFC 2047 encoded words, raw 8-bit UTF-8 of RFC 6532).

Nothing here raises on bad input: a message with defects comes back with what could be read
and `malformed=True`. Bodies are measured, never kept.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from email.header import Header
from email.utils import getaddresses, parsedate_to_datetime

from auditor.collect.mail import mimeheader as mh
from auditor.collect.mail.mimeheader import Defects, PartHead, is_attachment
from auditor.collect.mail.records import AttachmentFacts, MessageFacts

__all__ = [
    "WANTED_HEADERS",
    "decode_header_text",
    "facts_from_headers",
    "iso_utc",
    "message_facts",
    "parse_date_header",
    "wanted_headers",
]

# Headers read from the top-level message, by lower-case name.
WANTED_HEADERS = _WANTED = frozenset(
    {
        "date",
        "message-id",
        "from",
        "subject",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "precedence",
        "auto-submitted",
    }
)

# RFC 5322 section 2.2.3: unfolding removes the CRLF before folding white space.
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_WSP = re.compile(r"\s+")
_MSGID = re.compile(r"<[^<>\s]*>")
# RFC 8058 section 3.1: the List-Unsubscribe header must hold an HTTPS URI.
_HTTPS_URI = re.compile(r"<\s*https://", re.IGNORECASE)
_BODY_TEXT = frozenset({"text/plain", "text/html"})
_UU = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
# End of a header block: a line ending followed by an empty line.
_BLANK_LINE = re.compile(rb"\n\r?\n")
_MAX_DEPTH = 40  # MIME nesting deeper than this is an attack or a loop, not mail


_State = Defects  # the name the other modules import


def iso_utc(dt: datetime) -> str:
    """ISO 8601 in UTC, whole seconds: "2023-04-01T10:00:00+00:00". Naive means UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_date_header(value: str | None) -> str | None:
    """An RFC 5322 date as ISO 8601 UTC, or None when absent or unparseable.

    "-0000" (RFC 5322 section 3.3: time zone unknown) is read as UTC.
    """
    if not value:
        return None
    text = _unfold(value)
    try:
        moment = parsedate_to_datetime(text)
        written = _YEAR.search(text)
        if written and len(written.group(1)) > 2 and int(written.group(1)) != moment.year:
            return None  # "0001" read as the two-digit year 01, i.e. 2001: no such date
        return iso_utc(moment)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


# The year after the month's name (RFC 5322 section 3.3), as written.
_YEAR = re.compile(r"[A-Za-z]{3}[a-z]*\.?\s+(\d+)(?=\s|$)")


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).strip()


def _fix_8bit(value: str, state: _State | None) -> str:
    """Turn raw 8-bit header bytes (kept as surrogates) into text.

    UTF-8 is legal in headers since RFC 6532; anything else is a defect, read as cp1252
    because that is what misconfigured French mailers send in practice.
    """
    return mh._fix_8bit(value, None, state)


def decode_header_text(
    value: str | Header | None, state: _State | None = None, *, structured: bool = False
) -> str | None:
    """Unfold and decode a header value (RFC 2047 encoded words, raw UTF-8).

    Returns None for a missing header. Undecodable pieces are replaced and, when `state`
    is given, flag the message as malformed. In a `structured` field (List-Id), encoded
    words inside a quoted string stay as written (RFC 2047 section 5).
    """
    if value is None:
        return None
    if isinstance(value, Header):
        value = str(value)
    text = _fix_8bit(_unfold(value), state)
    if "=?" not in text:
        return text
    return mh.decode_words(text, state, structured=structured)


def _message_id(value: str | None, state: _State) -> str | None:
    if value is None:
        return None
    text = _fix_8bit(_unfold(value), state)
    match = _MSGID.search(text)
    if match:
        return match.group(0)
    return text or None


# The two shapes nearly every From header has: `Name <addr>` and a bare `addr`. Anything
# else (groups, comments, quoted local parts, several addresses) goes to the stdlib parser.
_SIMPLE_ANGLE = re.compile(r'^[^<>"(),;:\\]*<([^<>\s"(),;:@\\]+@[^<>\s"(),;:@\\]+)>\s*$')
_SIMPLE_BARE = re.compile(r'^\s*([^<>\s"(),;:@\\]+@[^<>\s"(),;:@\\]+)\s*$')


def _from_addr(value: str | None, state: _State) -> str | None:
    if value is None:
        return None
    text = _fix_8bit(_unfold(value), state)
    simple = _SIMPLE_ANGLE.match(text) or _SIMPLE_BARE.match(text)
    if simple:
        return simple.group(1).lower()
    try:
        pairs = getaddresses([text])
    except Exception:
        state.malformed = True
        return None
    for _name, addr in pairs:
        addr = addr.strip().strip("<>").strip().lower()
        if addr:
            return addr
    return None


def _token(value: str | None, state: _State) -> str | None:
    """First token of a structured header, lower case: "bulk", "auto-replied"."""
    if value is None:
        return None
    text = _fix_8bit(_unfold(value), state)
    text = re.sub(r"\([^)]*\)", " ", text)  # RFC 5322 comments
    text = text.split(";", 1)[0].strip().lower()
    return text or None


def _one_click(post: str | None, unsubscribe: str | None) -> bool:
    """RFC 8058: `List-Unsubscribe-Post: List-Unsubscribe=One-Click` plus an HTTPS URI."""
    if not post or not unsubscribe:
        return False
    if _WSP.sub("", post).lower() != "list-unsubscribe=one-click":
        return False
    return bool(_HTTPS_URI.search(unsubscribe))


class UuCounter:
    """Decoded length of a uuencoded body (the lines between "begin" and "end"), fed in
    pieces of any size; shared by the whole-message and the streaming readers."""

    __slots__ = ("carry", "inside", "done", "size")

    def __init__(self) -> None:
        self.carry = b""
        self.inside = False
        self.done = False
        self.size = 0

    def add(self, data: bytes, state: _State) -> None:
        data = self.carry + data
        cut = data.rfind(b"\n") + 1
        self.carry = data[cut:][-4096:]  # a uuencoded line is 62 characters
        for line in data[:cut].split(b"\n")[:-1]:
            self._line(line, state)

    def _line(self, line: bytes, state: _State) -> None:
        if self.done:
            return
        line = line.rstrip(b"\r")
        if not self.inside:
            self.inside = line.startswith(b"begin")
            return
        stripped = line.strip()
        if stripped == b"end":
            self.done = True
            return
        if stripped in (b"`", b""):
            return
        try:
            self.size += len(binascii.a2b_uu(line))
        except binascii.Error:
            state.flag(mh.R_ENCODING)
            self.size += max((line[0] - 32) & 63, 0)

    def result(self, raw_size: int, state: _State) -> int:
        """The decoded size; the size as given when no "begin" line was found."""
        if self.carry:
            self._line(self.carry, state)
            self.carry = b""
        return self.size if self.inside else raw_size


def _uu_size(data: bytes, state: _State) -> int:
    counter = UuCounter()
    counter.add(data, state)
    return counter.result(len(data), state)


def _decoded_size(head: PartHead, data: bytes, state: _State) -> int:
    """Decoded length of a part body given as transferred."""
    cte = head.cte
    if cte == "base64":
        try:
            return len(binascii.a2b_base64(data))
        except (binascii.Error, ValueError):
            state.flag(mh.R_ENCODING)
            return len(_NOT_BASE64.sub(b"", data)) * 3 // 4
    if cte == "quoted-printable":
        return len(binascii.a2b_qp(data))
    if cte in _UU:
        return _uu_size(data, state)
    return len(data)


def _split_headers(raw: bytes, start: int = 0, stop: int | None = None) -> tuple[bytes, int]:
    """The header block of raw[start:stop] and where its body starts."""
    stop = len(raw) if stop is None else stop
    if raw[start : start + 1] == b"\n":
        return b"", start + 1
    if raw[start : start + 2] == b"\r\n":
        return b"", start + 2
    blank = _BLANK_LINE.search(raw, start, stop)
    if blank:
        return raw[start : blank.start() + 1], blank.end()
    return raw[start:stop], stop


def _head(block: bytes, state: _State, default: str = "text/plain") -> PartHead:
    return mh.parse_part_head(mh.header_fields(block, state), state, default)


def _delimiters(body: bytes, delimiter: bytes) -> list[tuple[int, int, bool]]:
    """Every delimiter line of `body`: (line start, content start after it, is close).

    RFC 2046 section 5.1.1: "--boundary" at the start of a line, optional "--" (close) and
    white space; the line ending before it belongs to the delimiter.
    """
    cuts: list[tuple[int, int, bool]] = []
    pos = 0
    while True:
        at = body.find(delimiter, pos)
        if at < 0:
            return cuts
        pos = at + len(delimiter)
        if at and body[at - 1] != 0x0A:
            continue
        eol = body.find(b"\n", pos)
        rest = body[pos : len(body) if eol < 0 else eol]
        close = rest.startswith(b"--")
        if rest[2 if close else 0 :].strip(b" \t\r"):
            continue  # "--boundaryX": a longer line, not this delimiter
        cuts.append((at, len(body) if eol < 0 else eol + 1, close))


def _reuses(body: bytes, start: int, stop: int, boundary: bytes) -> bool:
    """Whether the part at body[start:] is a multipart with this same boundary."""
    block, _ = _split_headers(body, start, stop)
    if boundary not in block or b"ultipart" not in block:
        return False
    head = _head(block, _State())
    return head.maintype == "multipart" and head.boundary == boundary


def _inner_close(
    body: bytes, cuts: list[tuple[int, int, bool]], i: int, boundary: bytes, depth: int
) -> int:
    """Index of the close delimiter of a multipart that reuses `boundary` and whose parts
    start at cuts[i]; len(cuts) when it is never closed."""
    while i < len(cuts):
        if cuts[i][2]:
            return i
        nxt = cuts[i + 1][0] if i + 1 < len(cuts) else len(body)
        if depth < _MAX_DEPTH and _reuses(body, cuts[i][1], nxt, boundary):
            i = _inner_close(body, cuts, i + 1, boundary, depth + 1) + 1
        else:
            i += 1
    return i


def _split_multipart(body: bytes, boundary: bytes, state: _State) -> list[bytes] | None:
    """The parts of a multipart body (RFC 2046 section 5.1.1), or None without a first delimiter.

    A part that is itself a multipart with the same boundary (RFC 2046 forbids it) keeps the
    delimiters up to its own close delimiter, as Dovecot reads it: the innermost multipart
    claims a delimiter line first, so the parts after it are not lost.
    """
    cuts = _delimiters(body, b"--" + boundary)
    if not cuts or cuts[0][2]:
        state.flag(mh.R_NO_DELIMITER)  # RFC 2046: then the body is text, not an attachment
        return None
    parts = []
    i = 0
    while i < len(cuts) and not cuts[i][2]:
        start = cuts[i][1]
        nxt = cuts[i + 1][0] if i + 1 < len(cuts) else len(body)
        if i + 1 < len(cuts) and _reuses(body, start, nxt, boundary):
            state.flag(mh.R_SAME_BOUNDARY)
            i = _inner_close(body, cuts, i + 1, boundary, 1) + 1
        else:
            i += 1
        if i >= len(cuts):
            state.flag(mh.R_NO_CLOSE)  # the last part runs to the end
            end = len(body)
        else:
            end = cuts[i][0]
        if start >= end:
            parts.append(b"")  # adjacent delimiters: an empty part, numbered (as Dovecot does)
            continue
        if body[end - 2 : end] == b"\r\n" and end - 2 >= start:
            end -= 2
        elif body[end - 1 : end] == b"\n" and end - 1 >= start:
            end -= 1
        parts.append(body[start:end])
    return parts


def _filename(part: PartHead, state: _State) -> str | None:
    """The file name of a part: RFC 2231, then RFC 2047 and 8-bit (mimeheader.param_value)."""
    return part.filename(state)


def part_attachments(
    head: PartHead,
    body: bytes,
    number: str,
    out: list[AttachmentFacts] | None,
    state: _State,
    depth: int = 0,
) -> None:
    """Collect the attachments of a part into `out` (only look for defects when None).

    Public for the IMAP path, which reads a part this way when the server's structure of it
    cannot be trusted (bodystructure.py)."""
    if depth > _MAX_DEPTH:
        state.flag(mh.R_DEPTH)  # nesting bomb: stop here
        return
    maintype = head.maintype
    if maintype == "multipart":
        if head.cte not in ("", "7bit", "8bit", "binary"):
            state.flag(mh.R_ENCODING)  # RFC 2045 section 6.4: multiparts are never encoded
        boundary = head.boundary
        if boundary is None:
            state.flag(mh.R_NO_BOUNDARY)
            return  # RFC 2046 5.1.1: read as text, which is not an attachment
        chunks = _split_multipart(body, boundary, state)
        if chunks is None:
            return
        prefix = f"{number}." if number else ""
        default = "message/rfc822" if head.subtype == "digest" else "text/plain"
        for i, chunk in enumerate(chunks, 1):
            block, at = _split_headers(chunk)
            child = _head(block, state, default)
            part_attachments(child, chunk[at:], f"{prefix}{i}", out, state, depth + 1)
        return
    number = number or "1"  # a non-multipart message's only part is "1" (RFC 3501 6.4.5)
    if maintype == "message":
        # A forwarded message is one attachment: its own parts are not the sender's.
        if out is not None:
            filename = _filename(head, state)
            size = _decoded_size(head, body, state)
            out.append(AttachmentFacts(number, filename, head.content_type, len(body), size))
        if head.subtype != "delivery-status" and head.cte in ("", "7bit", "8bit", "binary"):
            # RFC 3464 blocks are not a message; an encoded one is not read for defects
            block, at = _split_headers(body)
            part_attachments(_head(block, state), body[at:], "", None, state, depth + 1)
        return
    if out is None:
        return
    filename = _filename(head, state)
    if not is_attachment(head.content_type, head.disposition, filename):
        return
    out.append(
        AttachmentFacts(
            number, filename, head.content_type, len(body), _decoded_size(head, body, state)
        )
    )


def _broken(
    raw: bytes, key: int, seen: bool, internal_date: str | None, flags: tuple[str, ...]
) -> MessageFacts:
    return MessageFacts(
        key=key,
        size_bytes=len(raw),
        internal_date=internal_date,
        seen=seen,
        message_id=None,
        from_addr=None,
        subject=None,
        list_id=None,
        list_unsubscribe=None,
        one_click_unsubscribe=False,
        precedence=None,
        auto_submitted=None,
        flags=flags,
        malformed=True,
        malformed_reasons=(mh.R_STRUCTURE,),
    )


def message_facts(
    raw: bytes,
    key: int,
    seen: bool,
    internal_date: str | None = None,
    *,
    flags: tuple[str, ...] = (),
) -> MessageFacts:
    """Facts about one message given as raw bytes (headers and body, no mbox "From " line).

    `internal_date` is the store's arrival date when it has one (IMAP INTERNALDATE, mbox
    "From " line, Maildir mtime); otherwise the Date header is used. Never raises.
    """
    state = _State()
    try:
        block, at = _split_headers(raw)
        fields = mh.header_fields(block, state)
    except Exception:  # a last resort: the reader above is lenient
        return _broken(raw, key, seen, internal_date, flags)

    headers = _wanted_from_fields(fields)
    attachments: list[AttachmentFacts] = []
    try:
        part_attachments(mh.parse_part_head(fields, state), raw[at:], "", attachments, state)
    except Exception:  # keep what was read before the bad part
        state.malformed = True
    return facts_from_headers(
        headers,
        key=key,
        size_bytes=len(raw),
        seen=seen,
        internal_date=internal_date,
        flags=flags,
        attachments=tuple(attachments),
        malformed=state.malformed,
        reasons=tuple(state.reasons),
    )


def _wanted_from_fields(fields: list[tuple[str, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in fields:
        if name in _WANTED and name not in headers:
            headers[name] = value.decode("ascii", "surrogateescape")
    return headers


def wanted_headers(block: bytes) -> dict[str, str]:
    """The headers the rules need, from a raw header block (first occurrence of each).

    Read with the same lenient reader as the local path (mimeheader.header_fields); values
    are ASCII with undecodable bytes kept as surrogates, for `facts_from_headers`.
    """
    return _wanted_from_fields(mh.header_fields(block))


def facts_from_headers(
    headers: dict[str, str],
    *,
    key: int,
    size_bytes: int,
    seen: bool,
    internal_date: str | None,
    flags: tuple[str, ...] = (),
    attachments: tuple[AttachmentFacts, ...] = (),
    malformed: bool = False,
    reasons: tuple[str, ...] = (),
) -> MessageFacts:
    """MessageFacts from the wanted headers (lower-case name -> raw value). Never raises."""
    state = _State()
    for reason in reasons:
        state.flag(reason)
    state.malformed = malformed
    if internal_date is None:
        date = headers.get("date")
        internal_date = parse_date_header(_fix_8bit(date, None)) if date else None

    list_unsubscribe = headers.get("list-unsubscribe")
    if list_unsubscribe is not None:
        list_unsubscribe = _fix_8bit(_unfold(list_unsubscribe), state) or None
    post = headers.get("list-unsubscribe-post")

    return MessageFacts(
        key=key,
        size_bytes=size_bytes,
        internal_date=internal_date,
        seen=seen,
        message_id=_message_id(headers.get("message-id"), state),
        from_addr=_from_addr(headers.get("from"), state),
        subject=decode_header_text(headers.get("subject"), state),
        list_id=decode_header_text(headers.get("list-id"), state, structured=True) or None,
        list_unsubscribe=list_unsubscribe,
        one_click_unsubscribe=_one_click(post, list_unsubscribe),
        precedence=_token(headers.get("precedence"), state),
        auto_submitted=_token(headers.get("auto-submitted"), state),
        flags=flags,
        attachments=attachments,
        malformed=state.malformed,
        malformed_reasons=tuple(sorted(state.reasons)),
    )

"""Turn one raw message into `MessageFacts`: headers that matter and attachment metadata.

Pure functions, no I/O. Each part's header block is parsed by the stdlib (`compat32` policy,
several times faster than `email.policy.default`), so content types and RFC 2231 parameters
follow the stdlib; the MIME tree itself is split here on the raw bytes (RFC 2046), because the
stdlib feed parser walks every line of every attachment in Python and that dominated the
time on real mailboxes. The few headers we need are decoded here too (RFC 2047 encoded
words, raw 8-bit UTF-8 of RFC 6532).

Nothing here raises on bad input: a message with defects comes back with what could be read
and `malformed=True`. Bodies are measured, never kept.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from email.header import Header, decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

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
_HEADER_PARSER = BytesHeaderParser(policy=compat32)
_MAX_DEPTH = 40  # MIME nesting deeper than this is an attack or a loop, not mail


class _State:
    """What a parse noticed along the way (only defects, for now)."""

    __slots__ = ("malformed",)

    def __init__(self) -> None:
        self.malformed = False


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
    """Turn raw 8-bit header bytes (kept as surrogates by the parser) into text.

    UTF-8 is legal in headers since RFC 6532; anything else is a defect, read as cp1252
    because that is what misconfigured French mailers send in practice.
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    raw = value.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if state is not None:
            state.malformed = True
        return raw.decode("cp1252", "replace")


def _join_words(parts: list[tuple[bytes | str, str | None]]) -> str:
    """Lenient fallback for `make_header`: decode each chunk, replacing what cannot be read."""
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        if charset is None:
            # decode_header() re-encodes plain chunks with raw-unicode-escape.
            out.append(chunk.decode("raw-unicode-escape", "replace"))
            continue
        try:
            out.append(chunk.decode(charset, "replace"))
        except LookupError:
            out.append(chunk.decode("utf-8", "replace"))
    return "".join(out)


# RFC 2047 encoded word; the fast decoder below handles the common, well-formed case and
# leaves anything unusual (unknown charset, bad padding, RFC 2231 language) to the stdlib.
_ENCODED_WORD = re.compile(r"=\?([A-Za-z0-9_.:-]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"\?=[ \t]+=\?")


def _decode_words_fast(text: str) -> str | None:
    pieces: list[str] = []
    pos = 0
    pending: list[tuple[str, bytes]] = []  # adjacent words of one charset join before decoding

    def flush() -> None:
        if pending:
            charset = pending[0][0]
            pieces.append(b"".join(chunk for _c, chunk in pending).decode(charset))
            pending.clear()

    try:
        for match in _ENCODED_WORD.finditer(text):
            gap = text[pos : match.start()]
            if gap and ("=?" in gap or (pos and not gap[0].isspace()) or not gap[-1].isspace()):
                return None  # an encoded word touching other text: let the stdlib decide
            if gap and not (pending and gap.isspace()):  # RFC 2047 6.2: drop space between words
                flush()
                pieces.append(gap)
            charset, kind, data = match.group(1).lower(), match.group(2), match.group(3)
            if kind in "bB":
                chunk = binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
            else:
                chunk = binascii.a2b_qp(data.encode("ascii"), header=True)
            if pending and pending[0][0] != charset:
                flush()
            pending.append((charset, chunk))
            pos = match.end()
        flush()
    except (binascii.Error, LookupError, UnicodeError, ValueError):
        return None
    rest = text[pos:]
    if "=?" in rest or (pos and rest and not rest[0].isspace()):
        return None
    pieces.append(rest)
    return "".join(pieces)


def decode_header_text(value: str | Header | None, state: _State | None = None) -> str | None:
    """Unfold and decode a header value (RFC 2047 encoded words, raw UTF-8).

    Returns None for a missing header. Undecodable pieces are replaced and, when `state`
    is given, flag the message as malformed.
    """
    if value is None:
        return None
    if isinstance(value, Header):
        value = str(value)
    text = _fix_8bit(_unfold(value), state)
    if "=?" not in text:
        return text
    fast = _decode_words_fast(text)
    if fast is not None:
        return fast
    try:
        parts = decode_header(text)
    except Exception:  # HeaderParseError, binascii errors: keep the raw text
        if state is not None:
            state.malformed = True
        return text
    try:
        return str(make_header(parts))
    except Exception:  # unknown charset, bytes that the charset cannot decode
        if state is not None:
            state.malformed = True
        return _join_words(parts)


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


def _decoded_size(part: Message, data: bytes, state: _State) -> int:
    """Decoded length of a part body given as transferred."""
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte == "base64":
        try:
            return len(binascii.a2b_base64(data))
        except (binascii.Error, ValueError):
            state.malformed = True
            return len(_NOT_BASE64.sub(b"", data)) * 3 // 4
    if cte == "quoted-printable":
        return len(binascii.a2b_qp(data))
    if cte in _UU:
        part.set_payload(data.decode("ascii", "surrogateescape"))
        decoded = part.get_payload(decode=True)
        return len(decoded) if isinstance(decoded, bytes) else len(data)
    return len(data)


def _split_headers(raw: bytes) -> tuple[Message, bytes]:
    """Parse the header block of `raw` with the stdlib; return it with the body bytes."""
    if raw[:1] == b"\n":
        head, body = b"", raw[1:]
    elif raw[:2] == b"\r\n":
        head, body = b"", raw[2:]
    else:
        blank = _BLANK_LINE.search(raw)
        if blank:
            head, body = raw[: blank.start() + 1], raw[blank.end() :]
        else:
            head, body = raw, b""
    return _HEADER_PARSER.parsebytes(head), body


def _split_multipart(body: bytes, boundary: str, state: _State) -> list[bytes] | None:
    """The parts of a multipart body (RFC 2046 section 5.1.1), or None without a first delimiter.

    A delimiter is "--boundary" at the start of a line, followed by optional "--" (the close
    delimiter) and white space; the line ending before it belongs to the delimiter.
    """
    delimiter = b"--" + boundary.encode("ascii", "surrogateescape")
    cuts: list[tuple[int, int, bool]] = []  # (line start, content start after it, is close)
    pos = 0
    while True:
        at = body.find(delimiter, pos)
        if at < 0:
            break
        pos = at + len(delimiter)
        if at and body[at - 1] != 0x0A:
            continue
        eol = body.find(b"\n", pos)
        rest = body[pos : len(body) if eol < 0 else eol]
        close = rest.startswith(b"--")
        if rest[2 if close else 0 :].strip(b" \t\r"):
            continue  # "--boundaryX": a longer line, not this delimiter
        cuts.append((at, len(body) if eol < 0 else eol + 1, close))
        if close:
            break
    if not cuts or cuts[0][2]:
        state.malformed = True  # StartBoundaryNotFoundDefect
        return None
    if not cuts[-1][2]:
        state.malformed = True  # CloseBoundaryNotFoundDefect: the last part runs to the end
        cuts.append((len(body), len(body), True))
    parts = []
    for (_, start, _), (end, _, _) in zip(cuts, cuts[1:], strict=False):
        if start >= end:
            continue  # adjacent delimiters make no part (as the stdlib reads RFC 2046)
        if body[end - 2 : end] == b"\r\n" and end - 2 >= start:
            end -= 2
        elif body[end - 1 : end] == b"\n" and end - 1 >= start:
            end -= 1
        parts.append(body[start:end])
    return parts


def _filename(part: Message, state: _State) -> str | None:
    """The file name of a part: RFC 2231 (done by `get_filename`), then RFC 2047 and 8-bit."""
    try:
        name = part.get_filename()
    except Exception:
        state.malformed = True
        return None
    if not name:
        return None
    return decode_header_text(name, state) or None


def _walk(
    part: Message,
    body: bytes,
    number: str,
    out: list[AttachmentFacts] | None,
    state: _State,
    depth: int = 0,
) -> None:
    """Collect the attachments of `part` into `out` (only look for defects when None)."""
    if part.defects:
        state.malformed = True
    if depth > _MAX_DEPTH:
        state.malformed = True  # nesting bomb: stop here
        return
    ctype = part.get_content_type().lower()
    maintype = ctype.partition("/")[0]
    if maintype == "multipart":
        cte = str(part.get("content-transfer-encoding", "7bit")).strip().lower()
        if cte not in ("7bit", "8bit", "binary"):
            state.malformed = True  # RFC 2045 section 6.4: multiparts are never encoded
        boundary = part.get_boundary()
        chunks = _split_multipart(body, boundary, state) if boundary else None
        if boundary is None:
            state.malformed = True  # NoBoundaryInMultipartDefect
        if chunks is not None:
            prefix = f"{number}." if number else ""
            for i, chunk in enumerate(chunks, 1):
                child, child_body = _split_headers(chunk)
                if ctype == "multipart/digest":
                    child.set_default_type("message/rfc822")  # RFC 2046 section 5.1.5
                _walk(child, child_body, f"{prefix}{i}", out, state, depth + 1)
            return
        # Unsplittable: reported below as one opaque part, like the stdlib does.
    number = number or "1"  # a non-multipart message's only part is "1" (RFC 3501 6.4.5)
    if maintype == "message":
        # A forwarded message is one attachment: its own parts are not the sender's.
        if out is not None:
            filename = _filename(part, state)
            size = _decoded_size(part, body, state)
            out.append(AttachmentFacts(number, filename, ctype, len(body), size))
        if ctype != "message/delivery-status":  # RFC 3464 blocks are not a message
            inner, inner_body = _split_headers(body)
            _walk(inner, inner_body, "", None, state, depth + 1)
        return
    if out is None:
        return
    filename = _filename(part, state)
    try:
        disposition = part.get_content_disposition()
    except Exception:
        state.malformed = True
        disposition = None
    if disposition != "attachment" and filename is None and ctype in _BODY_TEXT:
        return
    out.append(
        AttachmentFacts(number, filename, ctype, len(body), _decoded_size(part, body, state))
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
        msg, body = _split_headers(raw)
    except Exception:  # the compat32 header parser is lenient; this is a last resort
        return _broken(raw, key, seen, internal_date, flags)

    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        lname = name.lower()
        if lname in _WANTED and lname not in headers:
            headers[lname] = value if isinstance(value, str) else str(value)

    attachments: list[AttachmentFacts] = []
    try:
        _walk(msg, body, "", attachments, state)
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
    )


# A header field and its folded continuation lines (RFC 5322 sections 2.2 and 2.2.3).
_HEADER_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.MULTILINE)


def wanted_headers(block: bytes) -> dict[str, str]:
    """The headers the rules need, from a raw header block (first occurrence of each).

    Values are decoded like the stdlib's compat32 policy does (ASCII, undecodable bytes kept
    as surrogates), so `facts_from_headers` treats them the same way for every source.
    """
    headers: dict[str, str] = {}
    for match in _HEADER_FIELD.finditer(block):
        name = match.group(1).decode("ascii").lower()
        if name in _WANTED and name not in headers:
            headers[name] = match.group(2).rstrip(b"\r").decode("ascii", "surrogateescape")
    return headers


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
) -> MessageFacts:
    """MessageFacts from the wanted headers (lower-case name -> raw value). Never raises."""
    state = _State()
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
        list_id=decode_header_text(headers.get("list-id"), state) or None,
        list_unsubscribe=list_unsubscribe,
        one_click_unsubscribe=_one_click(post, list_unsubscribe),
        precedence=_token(headers.get("precedence"), state),
        auto_submitted=_token(headers.get("auto-submitted"), state),
        flags=flags,
        attachments=attachments,
        malformed=state.malformed,
    )

"""Attachment metadata from an IMAP BODYSTRUCTURE, without downloading any body.

`attachments_from_bodystructure` walks what imapclient returns for `FETCH BODYSTRUCTURE` (a
`BodyData`: a tuple of bytes, ints, None and nested tuples, multipart children gathered in a
list at index 0) and applies the same rules as the local collector in `mime.py`: a leaf part is
an attachment when its disposition is `attachment`, when it has a file name, or when it is not
text/plain or text/html; a message/rfc822 part is one attachment of its whole size.

The layout is RFC 3501 section 7.4.2, grammar in section 9 (`body-type-1part`,
`body-type-mpart`). Servers break it in many ways (Exchange / Microsoft 365 above all); nothing
here raises: what could be read is returned with `malformed=True`. "Malformed" means that the
structure deviated from the RFC 3501 grammar, even when nothing was lost (Exchange's bare
`"inline"` disposition, for instance).

Performance: called once per message of mailboxes of 100 000 messages, so the common path does
no regex work, raises no exception and only decodes a file name when there is one.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.collect.mail import mimeheader as mh
from auditor.collect.mail.mime import _State, part_attachments
from auditor.collect.mail.mimeheader import is_attachment, param_value
from auditor.collect.mail.records import AttachmentFacts

__all__ = [
    "Structure",
    "attachments_from_bodystructure",
    "parse_bodystructure_text",
    "read_bodystructure",
]

_SEQUENCE = (tuple, list)  # a body, as imapclient or a caller hands it
_TUPLE_OR_NONE = (tuple, type(None))
_MAX_DEPTH = 40  # MIME nesting deeper than this is an attack or a loop, not mail
_UU = frozenset({b"x-uuencode", b"uuencode", b"uue", b"x-uue"})
_IDENTITY = frozenset({b"7bit", b"8bit", b"binary"})
# RFC 3501 section 9, body-fld-octets is a number: 0-based positions in body-type-1part.
_TYPE, _SUBTYPE, _PARAMS, _ENCODING, _OCTETS = 0, 1, 2, 5, 6
# Base64 bodies are cut in lines of 76 characters plus CRLF (RFC 2045 section 6.8).
_B64_LINE = 78
# A "{123}" literal marker followed by its line ending (test helper only).
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n")


class Structure:
    """What a BODYSTRUCTURE says: attachments, defects, and the sections worth asking for.

    `wanted` lists IMAP sections (RFC 3501 section 6.4.5: "2.MIME", "HEADER", "TEXT", "3")
    whose bytes would correct what the server's structure got wrong: a part whose type the
    server could not read (returned as ("" "")), a file name the server may have cut at a
    space or a slash, a multipart whose parts the server did not find. Read again with those
    sections in `sections`, the message gives what the local path gives for the same bytes.
    """

    __slots__ = ("attachments", "defects", "wanted", "sections", "whole_ok")

    def __init__(self, sections: dict[str, bytes] | None, whole_ok: bool) -> None:
        self.attachments: list[AttachmentFacts] = []
        self.defects = _State()
        self.wanted: list[str] = []
        self.sections = sections or {}
        self.whole_ok = whole_ok  # small enough to fetch a multipart's whole body

    @property
    def malformed(self) -> bool:
        return self.defects.malformed

    def want(self, *names: str) -> bool:
        """True when all these sections are at hand; otherwise ask for the missing ones."""
        missing = [n for n in names if n not in self.sections]
        for name in missing:
            if name not in self.wanted:
                self.wanted.append(name)
        return not missing


def read_bodystructure(
    bs: Any, sections: dict[str, bytes] | None = None, *, whole_ok: bool = True
) -> Structure:
    """Read a FETCH BODYSTRUCTURE value; see `Structure`. Never raises.

    `bs` is imapclient's `BodyData` (a plain tuple in the same shape is accepted, and so is the
    raw nested form imapclient leaves inside message/rfc822 parts). Part numbers are IMAP
    section numbers (RFC 3501 section 6.4.5): "1", "2", "2.1"; a non-multipart message's only
    part is "1". `whole_ok` allows asking for a multipart's whole body (the message is small).
    """
    result = Structure(sections, whole_ok)
    out, state = result.attachments, result.defects
    try:
        if isinstance(bs, _SEQUENCE) and bs:
            if isinstance(bs[0], _SEQUENCE):
                _multipart(bs, "", out, state, 0, result)
            else:
                _leaf(bs, "1", out, state, result)
        else:
            state.malformed = True  # NIL, or an atom where a body was expected
    except Exception:  # a shape nobody foresaw: keep the parts read before it
        state.malformed = True
    return result


def attachments_from_bodystructure(bs: Any) -> tuple[tuple[AttachmentFacts, ...], bool]:
    """The attachments described by a FETCH BODYSTRUCTURE value, and whether it was malformed
    (the server's view alone, without asking for any section). Never raises."""
    result = read_bodystructure(bs)
    return tuple(result.attachments), result.malformed


def _suspect_multipart(node: tuple | list, children: Any, rest: int) -> bool:
    """A multipart whose parts the server did not find: no parts, no boundary parameter
    (`multipart/mixed;;` loses its parameters), or the one empty text/plain part Dovecot
    makes up when no delimiter appears (RFC 2046 then reads the body as text)."""
    if not children:
        return True
    params = node[rest + 1] if len(node) > rest + 1 else None
    if not isinstance(params, _SEQUENCE) or not any(
        type(k) is bytes and k.lower() == b"boundary" for k in params[::2]
    ):
        return True
    if len(children) != 1:
        return False
    only = children[0]
    return (
        isinstance(only, _SEQUENCE)
        and len(only) > _OCTETS
        and only[_OCTETS] == 0
        and type(only[_TYPE]) is bytes
        and only[_TYPE].lower() == b"text"
    )


def _reread_multipart(prefix: str, out: list[AttachmentFacts], result: Structure) -> bool:
    """Read a suspect multipart from its own header and body, as the local path does."""
    number = prefix[:-1]
    head_name, body_name = (f"{number}.MIME", number) if number else ("HEADER", "TEXT")
    if not result.whole_ok or not result.want(head_name, body_name):
        return False
    state = result.defects
    if not result.sections[head_name]:
        state.flag(mh.R_SERVER_GUESS)  # the server would not say: its view, flagged
    head = mh.parse_part_head(mh.header_fields(result.sections[head_name], state), state)
    if head.maintype != "multipart":
        state.flag(mh.R_STRUCTURE)
        return True  # the server saw a multipart where the header says otherwise: text
    part_attachments(head, result.sections[body_name], number, out, state)
    return True


def _multipart(
    node: tuple | list,
    prefix: str,
    out: list[AttachmentFacts],
    state: _State,
    depth: int,
    result: Structure,
) -> None:
    """body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart] (RFC 3501 section 9)."""
    if depth > _MAX_DEPTH:
        state.malformed = True
        return
    first = node[0]
    if isinstance(first, list):
        # imapclient's BodyData gathers the 1*body in a list at index 0.
        children: Any = first
        rest = 1
    else:
        # The bodies as the server sent them, one after the other until the subtype
        # (imapclient leaves the body of a message/rfc822 that way, mjs/imapclient#447).
        rest = 0
        while rest < len(node) and isinstance(node[rest], tuple):
            rest += 1
        children = node[:rest]
    if rest >= len(node) or type(node[rest]) is not bytes:
        state.malformed = True  # media-subtype missing or NIL: wrong nesting
    elif len(node) > rest + 2 and not isinstance(node[rest + 2], _TUPLE_OR_NONE):
        # body-ext-mpart = body-fld-param [SP body-fld-dsp ...]: Exchange puts the
        # Content-Description where the disposition goes (javaee/javamail#278).
        state.malformed = True
    if not children:
        state.malformed = True  # a multipart with no part at all
    if _suspect_multipart(node, children, rest):
        if _reread_multipart(prefix, out, result):
            return
        if children and not result.whole_ok:
            state.flag(mh.R_NO_DELIMITER)  # too large to read again: the server's view
    boundary = _boundary(node, rest)
    number = 0
    for child in children:
        number += 1
        if isinstance(child, _SEQUENCE) and child:
            if type(child[0]) is bytes:
                _leaf(child, prefix + str(number), out, state, result)
                continue
            if isinstance(child[0], _SEQUENCE):
                if boundary is not None and _boundary(child, _subtype_at(child)) == boundary:
                    state.flag(mh.R_SAME_BOUNDARY)  # RFC 2046 forbids it; the local path says so
                _multipart(child, f"{prefix}{number}.", out, state, depth + 1, result)
                continue
            if len(child) > 1 and type(child[1]) is bytes:
                _leaf(child, prefix + str(number), out, state, result)  # NIL media type
                continue
        state.malformed = True  # NIL or an atom where a body was expected


def _parts_of(node: tuple | list) -> tuple[Any, int]:
    """A multipart node's parts and where its subtype is."""
    rest = _subtype_at(node)
    return (node[0] if isinstance(node[0], list) else node[:rest]), rest


def _subtype_at(node: tuple | list) -> int:
    """Where the media subtype of a multipart node is (after its parts)."""
    if isinstance(node[0], list):
        return 1
    rest = 0
    while rest < len(node) and isinstance(node[rest], tuple):
        rest += 1
    return rest


def _boundary(node: tuple | list, rest: int) -> bytes | None:
    params = node[rest + 1] if len(node) > rest + 1 else None
    if isinstance(params, _SEQUENCE):
        for i in range(0, len(params) - 1, 2):
            if type(params[i]) is bytes and params[i].lower() == b"boundary":
                return params[i + 1] if type(params[i + 1]) is bytes else None
    return None


def _suspect_name(name: str | None) -> bool:
    """A file name the server may have cut: it stops an unquoted value at the first space or
    slash (`filename=This is a test.txt` comes back as "This"), which leaves no extension."""
    return name is not None and "." not in name


def _leaf(
    node: tuple | list, number: str, out: list[AttachmentFacts], state: _State, result: Structure
) -> None:
    """One body-type-1part (RFC 3501 section 7.4.2): basic, text or message."""
    size = len(node)
    if size <= _OCTETS:
        state.malformed = True  # not even body-fields: nothing to measure (Gmail, see tests)
        return
    maintype = node[_TYPE]
    subtype = node[_SUBTYPE]
    if maintype == b"" and subtype == b"":
        # Dovecot's answer for a Content-Type it cannot read ("BINARY;name=x", "text plain"):
        # the type and every parameter are lost. The part's own header says what they were.
        if not result.want(f"{number}.MIME"):
            state.flag(mh.R_INVALID_TYPE)
            maintype, subtype = b"text", b"plain"  # RFC 2045 section 5.2
        else:
            _leaf_from_header(node, number, out, result)
            return
    if type(maintype) is not bytes or type(subtype) is not bytes:
        maintype, subtype = _media_type(maintype, subtype, state)
        if maintype is None:
            return
    maintype = maintype.lower()
    subtype = subtype.lower()
    if maintype == b"multipart":
        # A multipart sent as a leaf ("multipart" "signed" ... "7BIT" -1 ...): its parts are
        # unknown and the container itself is not an attachment.
        state.malformed = True
        return

    octets = node[_OCTETS]
    shift = 0
    if type(octets) is int and octets >= 0:
        encoding = node[_ENCODING]
    else:
        octets, shift = _salvage_octets(node, state)
        encoding = node[_ENCODING + shift]
    if type(encoding) is bytes:
        encoding = encoding.lower()
    else:
        state.malformed = True  # body-fld-enc is a string, never NIL
        encoding = b"7bit"

    # Fields after body-fld-octets depend on the media type (RFC 3501 section 7.4.2).
    lines = None
    message = False
    if maintype == b"text":
        # body-type-text: body-fld-lines, then body-ext-1part.
        lines = node[7 + shift] if size > 7 + shift else None
        if type(lines) is not int:
            state.malformed = True
            lines = None
        disposition_at = 9 + shift
    elif maintype == b"message" and subtype in (b"rfc822", b"global"):
        # body-type-msg: envelope, body, body-fld-lines, then body-ext-1part. A server that
        # wrote a basic body instead (no envelope) is read as one (mguessan/davmail#239).
        if size > 9 + shift and (
            isinstance(node[7 + shift], _SEQUENCE) or type(node[9 + shift]) is int
        ):
            message = True
            inner = node[8 + shift]
            if (
                isinstance(inner, _SEQUENCE)
                and inner
                and isinstance(inner[0], _SEQUENCE)
                and _suspect_multipart(inner, *_parts_of(inner))
            ):
                state.flag(mh.R_NO_DELIMITER)  # as the local path finds it inside the forward
            if type(node[9 + shift]) is int:
                lines = node[9 + shift]  # line endings of the encoded body
            if not isinstance(node[7 + shift], _SEQUENCE) or not isinstance(
                node[8 + shift], _SEQUENCE
            ):
                state.malformed = True  # NIL envelope or NIL body
            disposition_at = 11 + shift
        else:
            state.malformed = True
            disposition_at = 8 + shift
    else:
        disposition_at = 8 + shift  # body-type-basic: body-ext-1part right after the size

    # body-ext-1part = body-fld-md5 [SP body-fld-dsp ...]; absent from BODY and allowed to be
    # absent from BODYSTRUCTURE.
    disposition = None
    disposition_params = None
    if size > disposition_at:
        dsp = node[disposition_at]
        if isinstance(dsp, _SEQUENCE):
            # body-fld-dsp = "(" string SP body-fld-param ")" / nil
            if dsp and type(dsp[0]) is bytes:
                disposition = dsp[0].lower()
            else:
                state.malformed = True
            if len(dsp) > 1:
                disposition_params = dsp[1]
            if len(dsp) != 2:
                state.malformed = True
        elif dsp is not None:
            # Exchange / Microsoft 365 send a bare string: NIL "inline" NIL NIL
            # (jstedfast/MailKit#919, jakartaee/mail-api#31).
            state.malformed = True
            if type(dsp) is bytes:
                disposition = dsp.lower()

    charset = _charset(node[_PARAMS])
    filename = None
    if disposition_params is not None:
        filename = param_value(disposition_params, b"filename", state, charset)
    if filename is None:
        filename = param_value(node[_PARAMS], b"name", state, charset)
    if _suspect_name(filename) and result.want(f"{number}.MIME"):
        head = _header_of(number, result)
        filename = head.filename(state) if head is not None else filename

    content_type = (maintype + b"/" + subtype).decode("ascii", "replace")
    dsp = disposition.decode("ascii", "replace") if disposition is not None else None
    if not is_attachment(content_type, dsp, filename):
        return  # the message text, not an attachment
    if message and encoding in _IDENTITY:
        decoded = octets  # a forwarded message is counted as it is stored
    else:
        # an encoded forwarded message is measured like any encoded part
        decoded = _decoded_size(encoding, octets, lines)
    out.append(AttachmentFacts(number, filename, content_type, octets, decoded))


def _charset(params: Any) -> bytes | None:
    if isinstance(params, _SEQUENCE):
        for i in range(0, len(params) - 1, 2):
            if type(params[i]) is bytes and params[i].lower() == b"charset":
                value = params[i + 1]
                return value if type(value) is bytes else None
    return None


def _header_of(number: str, result: Structure) -> mh.PartHead | None:
    """The part's own MIME header (BODY[n.MIME]) read as the local path reads it."""
    raw = result.sections.get(f"{number}.MIME")
    if raw is None:
        return None
    return mh.parse_part_head(mh.header_fields(raw, result.defects), result.defects)


def _leaf_from_header(
    node: tuple | list, number: str, out: list[AttachmentFacts], result: Structure
) -> None:
    """A leaf whose type the server lost, read from its own header; sizes are the server's."""
    state = result.defects
    head = _header_of(number, result)
    if head is None:
        return
    if not result.sections.get(f"{number}.MIME"):
        state.flag(mh.R_SERVER_GUESS)  # the server would not say: text/plain, flagged
    octets = node[_OCTETS] if type(node[_OCTETS]) is int and node[_OCTETS] >= 0 else 0
    filename = head.filename(state)
    if not is_attachment(head.content_type, head.disposition, filename):
        return
    encoding = (head.cte or "7bit").encode("ascii", "replace")
    decoded = _decoded_size(encoding, octets, None)
    out.append(AttachmentFacts(number, filename, head.content_type, octets, decoded))


def _media_type(maintype: Any, subtype: Any, state: _State) -> tuple[bytes | None, bytes]:
    """Make sense of a media type that is not two strings (slow path, always malformed)."""
    state.malformed = True
    if isinstance(maintype, str):
        maintype = maintype.encode("utf-8", "replace")
    if isinstance(subtype, str):
        subtype = subtype.encode("utf-8", "replace")
    if not isinstance(maintype, bytes) or not maintype:
        # (NIL "alternative" ...): an empty multipart the server wrote as a leaf
        # (jstedfast/MailKit#1393). Nothing to report.
        return None, b""
    if not isinstance(subtype, bytes) or not subtype:
        # RFC 2045 section 5.2: what cannot be read is text/plain or application/octet-stream.
        subtype = b"plain" if maintype.lower() == b"text" else b"octet-stream"
    return maintype, subtype


def _salvage_octets(node: tuple | list, state: _State) -> tuple[int, int]:
    """body-fld-octets when it is not a non-negative number: (octets, field shift).

    A size sent as a string ("1234"), in exponent notation (mail.ru: 1.86931e+06,
    jstedfast/MailKit#1840) or negative (javaee/javamail#282) is read as a number. When the
    field is not a number at all, an unescaped quote earlier in the part split one string in
    two (emersion/go-imap#659) and every later field moved right: the size is the first number
    within the next few fields.
    """
    state.malformed = True
    value = node[_OCTETS]
    number = _number(value)
    if number is not None or value is None:
        return max(number or 0, 0), 0
    for shift in range(1, 4):
        at = _OCTETS + shift
        if at < len(node) and type(node[at]) is int:
            return max(node[at], 0), shift
    return 0, 0


def _number(value: Any) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, bytes | str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return int(float(value))
        except (ValueError, OverflowError):
            return None
    return None


def _decoded_size(encoding: bytes, octets: int, lines: int | None) -> int:
    """Decoded size estimated from the transferred size (RFC 2045 section 6).

    - base64: 4 characters carry 3 bytes, and each line ends with CRLF. The line count is
      body-fld-lines when the server gives a plausible one (text parts), else (octets + 2) / 78
      rounded up, less the last line's (76-character lines, RFC 2045 section 6.8). Off by at
      most 2 bytes of padding for bodies wrapped at 76.
    - quoted-printable: the transferred size itself. QP costs a few percent on Latin text and up
      to three times on binary; octets is an upper bound and needs no guess.
    - uuencode: 45 bytes per 63-octet line ("M", 60 characters, CRLF).
    - 7bit, 8bit, binary and anything unknown: the transferred size.
    """
    if encoding == b"base64":
        # body-fld-lines counts line endings; the last line's CRLF belongs to the delimiter
        # that follows (RFC 2046 5.1.1), so N lines of 76 characters take N * 78 - 2 octets
        if lines is None or lines < 0 or 2 * lines >= octets:
            lines = -(-(octets + 2) // _B64_LINE) - 1
            if (octets - 2 * lines) % 4:
                # servers that count the last CRLF in the part: base64 text is whole quads
                lines = -(-octets // _B64_LINE)
        return max((octets - 2 * lines) * 3 // 4, 0)
    if encoding in _IDENTITY or encoding == b"quoted-printable":
        return octets
    if encoding in _UU:
        return octets * 45 // 63
    return octets


def parse_bodystructure_text(raw: bytes) -> Any:
    """imapclient's reading of a BODYSTRUCTURE as a server sends it (for tests and fixtures).

    Accepts a whole FETCH line (`* 12 FETCH (UID 7 BODYSTRUCTURE (...))`), a `BODYSTRUCTURE
    (...)` or `BODY (...)` item, or the bare parenthesised body. Literals (`{12}` CRLF and the
    bytes) are split out the way imaplib hands them to imapclient. Raises imapclient's
    ProtocolError (or ValueError) on text its parser rejects.
    """
    from imapclient.response_parser import parse_fetch_response

    text = raw.strip()
    if text.startswith(b"* "):
        text = text[2:].lstrip()
    head, _, tail = text.partition(b" ")
    if head.isdigit():
        verb, _, rest = tail.lstrip().partition(b" ")
        text = head + b" " + (rest if verb.upper() == b"FETCH" else tail.lstrip())
    elif text.startswith(b"("):
        text = b"1 (BODYSTRUCTURE " + text + b")"
    else:
        text = b"1 (" + text + b")"

    records: list[Any] = []
    pos = 0
    for match in _LITERAL.finditer(text):
        if match.start() < pos:
            continue  # the marker was inside a literal already taken
        end = match.end() + int(match.group(1))
        records.append(
            (text[pos : match.start()] + b"{%s}" % match.group(1), text[match.end() : end])
        )
        pos = end
    records.append(text[pos:])
    parsed = parse_fetch_response(records)
    (fields,) = parsed.values()
    return fields.get(b"BODYSTRUCTURE", fields.get(b"BODY"))

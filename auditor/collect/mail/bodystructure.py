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
from urllib.parse import unquote_to_bytes

from auditor.collect.mail.mime import _State, decode_header_text
from auditor.collect.mail.records import AttachmentFacts

__all__ = ["attachments_from_bodystructure", "parse_bodystructure_text"]

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


def attachments_from_bodystructure(bs: Any) -> tuple[tuple[AttachmentFacts, ...], bool]:
    """The attachments described by a FETCH BODYSTRUCTURE value, and whether it was malformed.

    `bs` is imapclient's `BodyData` (a plain tuple in the same shape is accepted, and so is the
    raw nested form imapclient leaves inside message/rfc822 parts). Part numbers are IMAP
    section numbers (RFC 3501 section 6.4.5): "1", "2", "2.1"; a non-multipart message's only
    part is "1". Never raises.
    """
    state = _State()
    out: list[AttachmentFacts] = []
    try:
        if isinstance(bs, _SEQUENCE) and bs:
            if isinstance(bs[0], _SEQUENCE):
                _multipart(bs, "", out, state, 0)
            else:
                _leaf(bs, "1", out, state)
        else:
            state.malformed = True  # NIL, or an atom where a body was expected
    except Exception:  # a shape nobody foresaw: keep the parts read before it
        state.malformed = True
    return tuple(out), state.malformed


def _multipart(
    node: tuple | list, prefix: str, out: list[AttachmentFacts], state: _State, depth: int
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
    number = 0
    for child in children:
        number += 1
        if isinstance(child, _SEQUENCE) and child:
            if type(child[0]) is bytes:
                _leaf(child, prefix + str(number), out, state)
                continue
            if isinstance(child[0], _SEQUENCE):
                _multipart(child, f"{prefix}{number}.", out, state, depth + 1)
                continue
            if len(child) > 1 and type(child[1]) is bytes:
                _leaf(child, prefix + str(number), out, state)  # NIL media type: malformed
                continue
        state.malformed = True  # NIL or an atom where a body was expected


def _leaf(node: tuple | list, number: str, out: list[AttachmentFacts], state: _State) -> None:
    """One body-type-1part (RFC 3501 section 7.4.2): basic, text or message."""
    size = len(node)
    if size <= _OCTETS:
        state.malformed = True  # not even body-fields: nothing to measure (Gmail, see tests)
        return
    maintype = node[_TYPE]
    subtype = node[_SUBTYPE]
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

    filename = None
    if disposition_params is not None:
        filename = _param(disposition_params, b"filename", state)
    if filename is None:
        filename = _param(node[_PARAMS], b"name", state)

    if (
        disposition != b"attachment"
        and filename is None
        and maintype == b"text"
        and subtype in (b"plain", b"html")
    ):
        return  # the message text, not an attachment

    if message:
        decoded = octets  # a forwarded message is counted as it is stored
    else:
        decoded = _decoded_size(encoding, octets, lines)
    content_type = (maintype + b"/" + subtype).decode("ascii", "replace")
    out.append(AttachmentFacts(number, filename, content_type, octets, decoded))


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
      body-fld-lines when the server gives a plausible one (text parts), else octets / 78
      rounded up (76-character lines, RFC 2045 section 6.8). Off by at most 2 bytes of padding
      for bodies wrapped at 76.
    - quoted-printable: the transferred size itself. QP costs a few percent on Latin text and up
      to three times on binary; octets is an upper bound and needs no guess.
    - uuencode: 45 bytes per 63-octet line ("M", 60 characters, CRLF).
    - 7bit, 8bit, binary and anything unknown: the transferred size.
    """
    if encoding == b"base64":
        if lines is None or lines <= 0 or 2 * lines >= octets:
            lines = -(-octets // _B64_LINE)
        return max((octets - 2 * lines) * 3 // 4, 0)
    if encoding in _IDENTITY or encoding == b"quoted-printable":
        return octets
    if encoding in _UU:
        return octets * 45 // 63
    return octets


def _param(params: Any, name: bytes, state: _State) -> str | None:
    """The value of parameter `name` in a body-fld-param list, decoded; None when absent.

    body-fld-param = "(" string SP string *(SP string SP string) ")" / nil, keys case-insensitive.
    RFC 2231 forms (`name*`, `name*0`, `name*0*`...) are decoded when present, and preferred to
    the plain `name` (Outlook sends both, the plain one as RFC 2047 words); the plain value is
    decoded like a header (RFC 2047 encoded words, raw 8-bit).
    """
    if not isinstance(params, _SEQUENCE):
        if params is not None:
            state.malformed = True  # "NIL" as a string, a bare atom...
        return None
    count = len(params)
    if count & 1:
        state.malformed = True
        count -= 1
    plain = None
    extended = None
    sections: dict[int, tuple[bool, bytes]] | None = None
    width = len(name)
    for i in range(0, count, 2):
        key = params[i]
        if type(key) is not bytes:
            state.malformed = True
            continue
        if len(key) < width or key[:width].lower() != name:
            continue
        value = params[i + 1]
        if type(value) is not bytes:
            if isinstance(value, int):
                value = str(value).encode()  # an unquoted atom the parser read as a number
            else:
                # Exchange 2010 sends NIL for name="" (jakartaee/mail-api#203), mail.ru for
                # whatever it could not read (modern-email/defects#50).
                state.malformed = True
                continue
        tail = key[width:]
        if not tail:
            if plain is None:
                plain = value
        elif tail == b"*":
            if extended is None:
                extended = value
        elif tail[:1] == b"*":
            # RFC 2231 section 3: name*0, name*1*... ; a trailing "*" marks an encoded section.
            encoded = tail[-1:] == b"*"
            digits = tail[1:-1] if encoded else tail[1:]
            if digits.isdigit():
                if sections is None:
                    sections = {}
                sections.setdefault(int(digits), (encoded, value))
            else:
                state.malformed = True
    if extended is not None:
        text = _rfc2231([(True, extended)], state)
    elif sections:
        order = sorted(sections)
        if order != list(range(len(order))):
            state.malformed = True  # a missing section: keep what arrived, in order
        text = _rfc2231([sections[n] for n in order], state)
    elif plain is not None:
        if plain.isascii() and b"=?" not in plain and b"\n" not in plain:
            text = plain.decode("ascii").strip()  # what decode_header_text would return
        else:
            text = decode_header_text(plain.decode("ascii", "surrogateescape"), state) or ""
    else:
        return None
    return text or None


def _rfc2231(sections: list[tuple[bool, bytes]], state: _State) -> str:
    """Join RFC 2231 sections (section 4: charset'language'%XX in the first encoded one).

    Octets of all sections are joined before the charset decodes them once, since a multi-byte
    character may be split across sections.
    """
    charset = b""
    octets = bytearray()
    for index, (encoded, value) in enumerate(sections):
        if encoded:
            if index == 0:
                parts = value.split(b"'", 2)
                if len(parts) == 3:
                    charset, value = parts[0], parts[2]
                else:
                    state.malformed = True  # no charset'language' prefix
            octets += unquote_to_bytes(value)
        else:
            octets += value
    raw = bytes(octets)
    if charset:
        try:
            text = raw.decode(charset.decode("ascii").strip())
        except (LookupError, ValueError):  # unknown charset, bytes it cannot decode
            state.malformed = True
            text = None
        if text is not None:
            return decode_header_text(text, state) or ""
    # No charset, or a wrong one: UTF-8, else cp1252 (decode_header_text's rule for 8-bit).
    return decode_header_text(raw.decode("ascii", "surrogateescape"), state) or ""


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

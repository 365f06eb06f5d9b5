"""What both mail paths share: reading a MIME part's header, its names, and what an attachment is.

The IMAP path reads parts from the server's BODYSTRUCTURE; the local path (mbox, Maildir) reads
them from the bytes. Both decide here, with the same functions, whether a part is an attachment
(`is_attachment`, the one definition, written out in docs/attachments.md), what its file name is
(`param_value`: RFC 2231, RFC 2047, raw 8-bit) and which charset a label means (`codec`).

The local header reader is lenient the way a careful server (Dovecot) is: one bad line does not
end the header block, a space before the colon is accepted (RFC 5322 section 4.5), folded
parameters are unfolded (RFC 5322 section 2.2.3), an invalid media type is text/plain (RFC 2045
section 5.2) and keeps its parameters. Every guess is recorded as a reason on a `Defects`.
"""

from __future__ import annotations

import binascii
import codecs
import re
from functools import lru_cache
from urllib.parse import unquote_to_bytes

__all__ = [
    "Defects",
    "PartHead",
    "codec",
    "decode_words",
    "header_fields",
    "is_attachment",
    "param_value",
    "parse_part_head",
    "text_from_8bit",
]

# Reasons a message is flagged malformed (stable identifiers; docs/attachments.md lists them).
R_8BIT = "8bit-header"
R_HEADER_LINE = "header-line"
R_INVALID_TYPE = "invalid-content-type"
R_UNQUOTED = "unquoted-parameter"
R_EMPTY_PARAM = "empty-parameter"
R_NO_DELIMITER = "multipart-without-delimiter"
R_NO_CLOSE = "multipart-not-closed"
R_NO_BOUNDARY = "multipart-without-boundary"
R_SAME_BOUNDARY = "nested-same-boundary"
R_ENCODING = "bad-encoding"
R_CHARSET = "unknown-charset"
R_STRUCTURE = "structure"  # the server's BODYSTRUCTURE broke RFC 3501's grammar
R_DEPTH = "nesting-too-deep"
R_SERVER_GUESS = "server-structure-corrected"  # IMAP: the part's own header was asked for


class Defects:
    """What a parse had to guess, as reasons; `malformed` is true when there is any."""

    __slots__ = ("_malformed", "reasons")

    def __init__(self) -> None:
        self._malformed = False
        self.reasons: list[str] = []

    def flag(self, reason: str) -> None:
        self._malformed = True
        if reason not in self.reasons:
            self.reasons.append(reason)

    @property
    def malformed(self) -> bool:
        return self._malformed

    @malformed.setter
    def malformed(self, value: bool) -> None:
        # older call sites say only "malformed": the reason is the generic one
        if value and not self.reasons:
            self.reasons.append(R_STRUCTURE)
        self._malformed = self._malformed or bool(value)


# --- the definition ----------------------------------------------------------------------

_BODY_TEXT = frozenset({"text/plain", "text/html"})


def is_attachment(content_type: str, disposition: str | None, filename: str | None) -> bool:
    """Whether a leaf part is an attachment (docs/attachments.md, the one definition).

    A leaf with Content-Disposition `attachment`, or a file name, or any type other than
    text/plain and text/html. A message/* part (a forwarded message, a delivery-status block)
    is one attachment and is not descended into; a multipart is never one.
    """
    maintype = content_type.partition("/")[0]
    if maintype == "multipart":
        return False
    if maintype == "message" or disposition == "attachment" or filename:
        return True
    return content_type not in _BODY_TEXT


# --- charsets ----------------------------------------------------------------------------

# Labels that mail clients read as a larger charset (WHATWG Encoding Standard, Thunderbird):
# GB2312 mail holds GBK characters, Big5 mail holds HKSCS ones, the ISO-8859-x-i / -e labels
# (RFC 1556: implicit / explicit bidi) are the same bytes as ISO-8859-x.
_CHARSET_ALIASES = {
    "gb2312": "gbk",
    "gb_2312-80": "gbk",
    "euc-cn": "gbk",
    "x-gbk": "gbk",
    "csgb2312": "gbk",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-6-e": "iso-8859-6",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",  # WHATWG: what "latin1" mail really holds
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "unknown-8bit": "",
    "x-unknown": "",
    "unknown": "",
    "default": "",
}


@lru_cache(maxsize=256)
def codec(label: str | bytes | None) -> str | None:
    """The Python codec for a charset label as mail clients read it, or None when unknown.

    An RFC 2231 section 5 language suffix ("iso-8859-2*sl") is dropped first.
    """
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    name = label.split("*", 1)[0].strip().strip('"').lower()
    if not name:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def text_from_8bit(raw: bytes, charset: str | bytes | None, defects: Defects | None) -> str:
    """Header bytes as text: UTF-8 (legal since RFC 6532), else the part's charset, else cp1252.

    Anything but ASCII or UTF-8 in a header breaks RFC 6532 and is flagged.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if defects is not None:
        defects.flag(R_8BIT)
    name = codec(charset)
    if name and name not in ("utf-8",):
        try:
            return raw.decode(name)
        except UnicodeDecodeError:
            pass
    return raw.decode("cp1252", "replace")


def _fix_8bit(text: str, charset: str | bytes | None, defects: Defects | None) -> str:
    """Text that may hold raw 8-bit bytes as surrogates (surrogateescape) as real text."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    return text_from_8bit(text.encode("ascii", "surrogateescape"), charset, defects)


# --- RFC 2047 encoded words ------------------------------------------------------------------

# encoded-word = "=?" charset ["*" language] "?" encoding "?" encoded-text "?=" (RFC 2047
# section 2, RFC 2231 section 5)
_ENCODED_WORD = re.compile(r"=\?([^?*\s]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _word_bytes(kind: str, data: str) -> bytes:
    if kind in "bB":
        data = data.rstrip("=")
        return binascii.a2b_base64((data + "=" * (-len(data) % 4)).encode("ascii"))
    return binascii.a2b_qp(data.encode("ascii"), header=True)


def _words(text: str, defects: Defects | None) -> str:
    """Decode the encoded words of `text`; whitespace between two words is dropped (RFC 2047
    section 6.2). A word touching other text is decoded too, as mail clients do."""
    pieces: list[str] = []
    pending: list[bytes] = []
    pending_codec: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending_codec
        if pending:
            raw = b"".join(pending)
            if pending_codec is None:
                pieces.append(text_from_8bit(raw, None, defects))
            else:
                try:
                    pieces.append(raw.decode(pending_codec))
                except UnicodeDecodeError:
                    if defects is not None:
                        defects.flag(R_ENCODING)
                    pieces.append(raw.decode(pending_codec, "replace"))
            pending.clear()
        pending_codec = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[pos : match.start()]
        if gap and not (pending and gap.isspace()):
            flush()
            pieces.append(gap)
        try:
            chunk = _word_bytes(match.group(2), match.group(3))
        except (binascii.Error, ValueError):
            if defects is not None:
                defects.flag(R_ENCODING)
            flush()
            pieces.append(match.group(0))
            pos = match.end()
            continue
        name = codec(match.group(1))
        if name is None and defects is not None:
            defects.flag(R_CHARSET)
        if pending and name != pending_codec:
            flush()
        pending_codec = name
        pending.append(chunk)
        pos = match.end()
    flush()
    pieces.append(text[pos:])
    return "".join(pieces)


def decode_words(text: str, defects: Defects | None, *, structured: bool = False) -> str:
    """RFC 2047 decoding of header text. In a structured field (List-Id), words inside a
    quoted string are left alone (RFC 2047 section 5 (3)); file names are decoded whole."""
    if "=?" not in text:
        return text
    if not structured or '"' not in text:
        return _words(text, defects)
    out: list[str] = []
    pos = 0
    for match in _QUOTED.finditer(text):
        out.append(_words(text[pos : match.start()], defects))
        out.append(match.group(0))
        pos = match.end()
    out.append(_words(text[pos:], defects))
    return "".join(out)


# --- header fields ---------------------------------------------------------------------------

_LINE = re.compile(rb"[^\n]*\n?")
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


def header_fields(block: bytes, defects: Defects | None = None) -> list[tuple[str, bytes]]:
    """The fields of a header block as (lower-case name, raw unfolded value), in order.

    Read like Dovecot's message-header-parser: a line starting with white space continues the
    field before it; the name is what precedes the first colon, white space trimmed (RFC 5322
    section 4.5.3 allows "Subject :"); a line without a colon, or a name with white space in
    it, is skipped and the block goes on (Python's parser would end the headers there).
    """
    fields: list[tuple[str, bytes]] = []
    name: str | None = None
    value: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line == b"\r":
            continue
        if line[0] in b" \t":
            if name is not None:
                value.append(line)
            continue
        if name is not None:
            fields.append((name, b"\n".join(value).rstrip(b"\r")))
            name = None
        colon = line.find(b":")
        head = line[:colon].strip(b" \t") if colon > 0 else b""
        if not head or b" " in head or b"\t" in head:
            if defects is not None and not line.startswith(b"From "):
                defects.flag(R_HEADER_LINE)
            continue
        name = head.decode("ascii", "surrogateescape").lower()
        value = [line[colon + 1 :].lstrip(b" \t")]
    if name is not None:
        fields.append((name, b"\n".join(value).rstrip(b"\r")))
    return fields


def unfold(value: bytes) -> bytes:
    """RFC 5322 section 2.2.3: remove the line breaks before folding white space."""
    if b"\n" not in value:
        return value.strip(b" \t\r")
    return _FOLD.sub(b"", value).replace(b"\r", b"").strip(b" \t")


# --- Content-Type and Content-Disposition (RFC 2045, RFC 2183, RFC 2231) ---------------------

_TOKEN = re.compile(rb"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
# Characters that end an unquoted parameter value (RFC 2045 tspecials and white space).
_BREAKS_TOKEN = re.compile(rb'[()<>@,;:\\"/\[\]?=\s]')
_NAMES = (b"name", b"filename")


def _params(text: bytes, defects: Defects | None) -> list[bytes]:
    """`; key=value` pairs as a flat [key, value, ...] list (the BODYSTRUCTURE shape).

    Lenient as most mailers are: an unquoted value runs to the next ";" (`filename=This is a
    test.txt`); a name given that way is flagged, since a server cuts it at the first space.
    """
    out: list[bytes] = []
    pos, end = 0, len(text)
    while pos < end:
        semi = text.find(b";", pos)
        if semi < 0:
            break
        pos = semi + 1
        while pos < end and text[pos] in b" \t;":
            if text[pos] == 0x3B and defects is not None and text[pos + 1 :].strip(b" \t;"):
                defects.flag(R_EMPTY_PARAM)  # "multipart/mixed;; boundary=": servers drop it all
            pos += 1
        eq = text.find(b"=", pos)
        if eq < 0:
            break
        key = text[pos:eq].strip(b" \t").lower()
        pos = eq + 1
        while pos < end and text[pos] in b" \t":
            pos += 1
        if pos < end and text[pos] == 0x22:  # a quoted string, backslash escapes (RFC 822)
            chunk = bytearray()
            pos += 1
            while pos < end and text[pos] != 0x22:
                if text[pos] == 0x5C and pos + 1 < end:
                    pos += 1
                chunk.append(text[pos])
                pos += 1
            value = bytes(chunk)
            pos += 1
            if pos > end and defects is not None:
                defects.flag(R_UNQUOTED)  # the closing quote is missing
        else:
            semi = text.find(b";", pos)
            stop = end if semi < 0 else semi
            value = text[pos:stop].strip(b" \t")
            pos = stop
            if (
                defects is not None
                and key.rstrip(b"*0123456789") in _NAMES
                and _BREAKS_TOKEN.search(value)
            ):
                defects.flag(R_UNQUOTED)
        if key:
            out += (key, value)
    return out


class PartHead:
    """A MIME part's header as both paths need it: media type, parameters, disposition."""

    __slots__ = ("maintype", "subtype", "params", "disposition", "disp_params", "cte")

    def __init__(self) -> None:
        self.maintype = "text"
        self.subtype = "plain"
        self.params: list[bytes] = []
        self.disposition: str | None = None
        self.disp_params: list[bytes] = []
        self.cte = ""

    @property
    def content_type(self) -> str:
        return f"{self.maintype}/{self.subtype}"

    def param(self, name: bytes) -> bytes | None:
        params = self.params
        for i in range(0, len(params) - 1, 2):
            if params[i] == name:
                return params[i + 1]
        return None

    @property
    def boundary(self) -> bytes | None:
        value = self.param(b"boundary")
        if value is None and any(k.startswith(b"boundary*") for k in self.params[::2]):
            text = param_value(self.params, b"boundary", Defects())  # RFC 2231 (boundary*=)
            value = text.encode("utf-8", "surrogateescape") if text else None
        return value if value else None

    def filename(self, defects: Defects) -> str | None:
        """The file name: Content-Disposition's filename, else Content-Type's name."""
        charset = self.param(b"charset")
        if self.disp_params:
            name = param_value(self.disp_params, b"filename", defects, charset)
            if name is not None:
                return name
        return param_value(self.params, b"name", defects, charset)


def parse_part_head(
    fields: list[tuple[str, bytes]], defects: Defects, default: str = "text/plain"
) -> PartHead:
    """The MIME fields of a part (first of each), read leniently; `default` is the type of a
    part without Content-Type (message/rfc822 in a multipart/digest, RFC 2046 5.1.5)."""
    head = PartHead()
    ctype = disposition = cte = None
    for name, value in fields:
        if name == "content-type":
            if ctype is None:
                ctype = value
        elif name == "content-disposition":
            if disposition is None:
                disposition = value
        elif name == "content-transfer-encoding" and cte is None:
            cte = value
    if ctype is None:
        head.maintype, _, head.subtype = default.partition("/")
    else:
        ctype = unfold(ctype)
        semi = ctype.find(b";")
        media = (ctype if semi < 0 else ctype[:semi]).strip(b" \t")
        maintype, slash, subtype = media.partition(b"/")
        maintype, subtype = maintype.strip(b" \t"), subtype.strip(b" \t")
        if slash and _TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype):
            head.maintype = maintype.decode("ascii").lower()
            head.subtype = subtype.decode("ascii").lower()
        else:
            # RFC 2045 section 5.2: an invalid Content-Type is text/plain; the name is kept
            defects.flag(R_INVALID_TYPE)
        if semi >= 0:
            head.params = _params(ctype[semi:], defects)
    if disposition is not None:
        disposition = unfold(disposition)
        semi = disposition.find(b";")
        token = (disposition if semi < 0 else disposition[:semi]).strip(b" \t").lower()
        head.disposition = token.decode("ascii", "replace") or None
        if semi >= 0:
            head.disp_params = _params(disposition[semi:], defects)
    if cte is not None:
        head.cte = unfold(cte).split(b";", 1)[0].strip().lower().decode("ascii", "replace")
    return head


def param_value(
    params: object, name: bytes, defects: Defects, charset: bytes | str | None = None
) -> str | None:
    """The value of parameter `name` in a [key, value, ...] list, decoded; None when absent.

    Shared by both paths (the IMAP path gets the list from BODYSTRUCTURE, RFC 3501
    body-fld-param). RFC 2231 forms (`name*`, `name*0`, `name*0*`...) are preferred to the
    plain `name` (Outlook sends both, the plain one as RFC 2047 words); an RFC 2231 value is
    final. A plain value is decoded like a client does: RFC 2047 words, even inside the
    quotes (RFC 2047 section 5 forbids them there, every client decodes them in file names),
    and raw 8-bit bytes as UTF-8, else the part's charset, else cp1252.
    """
    if not isinstance(params, tuple | list):
        if params is not None:
            defects.malformed = True  # "NIL" as a string, a bare atom...
        return None
    count = len(params)
    if count & 1:
        defects.malformed = True
        count -= 1
    plain = None
    extended = None
    sections: dict[int, tuple[bool, bytes]] | None = None
    width = len(name)
    for i in range(0, count, 2):
        key = params[i]
        if type(key) is not bytes:
            defects.malformed = True
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
                defects.malformed = True
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
                defects.malformed = True
    if extended is not None:
        text = _rfc2231([(True, extended)], defects, charset)
    elif sections:
        order = sorted(sections)
        if order != list(range(len(order))):
            defects.malformed = True  # a missing section: keep what arrived, in order
        text = _rfc2231([sections[n] for n in order], defects, charset)
    elif plain is not None:
        if plain.isascii():
            text = plain.decode("ascii")
            if "\n" in text:
                text = unfold(plain).decode("ascii")
            text = decode_words(text, defects).strip()
        else:
            text = decode_words(text_from_8bit(unfold(plain), charset, defects), defects).strip()
    else:
        return None
    return text or None


def _rfc2231(
    sections: list[tuple[bool, bytes]], defects: Defects, part_charset: bytes | str | None
) -> str:
    """Join RFC 2231 sections (section 4: charset'language'%XX in the first encoded one).

    Octets of all sections are joined before the charset decodes them once, since a multi-byte
    character may be split across sections. The result is final: no RFC 2047 pass.
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
                    defects.malformed = True  # no charset'language' prefix
            octets += unquote_to_bytes(value)
        else:
            octets += value
    raw = bytes(octets)
    if charset:
        name = codec(charset)
        if name is not None:
            try:
                return raw.decode(name).strip()
            except UnicodeDecodeError:
                pass
        defects.flag(R_CHARSET)
    return text_from_8bit(raw, part_charset, defects if not raw.isascii() else None).strip()

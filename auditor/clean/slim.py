"""Rebuild a message with some attachments made light or detached, every other byte kept.

The rebuild works on the raw bytes, not on a parsed-and-regenerated message: Python's email
generator would re-fold headers, re-encode text parts and change boundaries. Here the MIME
tree is located in the raw bytes (boundaries per RFC 2046 5.1.1, sections numbered as IMAP
does, RFC 3501 6.4.5), and only the chosen parts' entities (their header and body) are
spliced out and replaced. One header is prepended to the message (as trace fields are, RFC
5322 3.6.7), naming the change and the SHA-256 of the original. Everything else — the other
headers (Message-ID, Date, From, Subject, References...), the other parts, the structure,
the boundaries, the text parts' charsets — is byte-identical.

Signed or encrypted messages (multipart/signed, multipart/encrypted, S/MIME
application/pkcs7-mime) are never rewritten: a signature covers the bytes.
"""

from __future__ import annotations

import base64
import hashlib
import quopri
import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32

HEADER = b"X-Auditor-Slimmed"
SEALED = (
    "multipart/signed",
    "multipart/encrypted",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
)
MIN_SAVING = 0.20  # a light version saving less than this is not worth rewriting a message


class CannotSlim(Exception):
    """Why a message is left as it is: `reason` is a clean.slim.* catalogue key's last part."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Entity:
    """One MIME entity's place in the raw message: [start, body) is its header block
    (with the blank line), [body, end) its body."""

    section: str
    start: int
    body: int
    end: int
    content_type: str
    boundary: str | None
    encoding: str
    children: list[Entity] = field(default_factory=list)


def _head_end(raw: bytes, start: int, end: int) -> int:
    """Where the body starts: after the first empty line (CRLF or LF) of [start, end)."""
    if raw.startswith((b"\r\n", b"\n"), start):  # no header at all (RFC 2046 5.1.1)
        return start + (2 if raw.startswith(b"\r\n", start) else 1)
    match = re.compile(rb"\r?\n\r?\n").search(raw, start, end)
    return end if match is None else match.end()


def _entity(raw: bytes, section: str, start: int, end: int) -> Entity:
    body = _head_end(raw, start, end)
    head = BytesHeaderParser(policy=compat32).parsebytes(raw[start:body])
    ctype = head.get_content_type()
    boundary = head.get_param("boundary") if ctype.startswith("multipart/") else None
    encoding = str(head.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    node = Entity(section, start, body, end, ctype, str(boundary) if boundary else None, encoding)
    if node.boundary:
        node.children = _children(raw, node, section)
    return node


def _children(raw: bytes, node: Entity, section: str) -> list[Entity]:
    """The body parts between the boundary delimiters (RFC 2046 5.1.1: the CRLF before a
    delimiter belongs to it, not to the part before)."""
    delim = re.compile(
        rb"(?:^|\r?\n)--" + re.escape(node.boundary.encode("latin-1")) + rb"(--)?[ \t]*(?=\r?\n|$)",
        re.MULTILINE,
    )
    starts: list[int] = []
    parts: list[tuple[int, int]] = []
    for match in delim.finditer(raw, node.body, node.end):
        if starts:
            parts.append((starts[-1], match.start()))
        if match.group(1):  # the close delimiter
            starts = []
            break
        line_end = raw.find(b"\n", match.end(), node.end)
        starts.append(node.end if line_end < 0 else line_end + 1)
    prefix = f"{section}." if section else ""
    return [_entity(raw, f"{prefix}{i}", s, e) for i, (s, e) in enumerate(parts, 1)]


def structure(raw: bytes) -> Entity:
    """The message's MIME tree with byte offsets; sections numbered the IMAP way (a single
    part message's body is section 1)."""
    top = _entity(raw, "", 0, len(raw))
    if not top.children:
        top.section = "1"
    return top


def find(node: Entity, section: str, path: list[Entity] | None = None) -> list[Entity]:
    """The entities from the top down to `section` ([] when absent)."""
    path = [*(path or []), node]
    if node.section == section and not node.children:
        return path
    for child in node.children:
        found = find(child, section, path)
        if found:
            return found
    return []


def sealed(raw: bytes) -> str | None:
    """The reason a message must not be rewritten (its signed/encrypted type), else None."""
    top = structure(raw)
    stack = [top]
    while stack:
        node = stack.pop()
        if node.content_type in SEALED:
            return node.content_type
        stack.extend(node.children)
    return None


def _newline(raw: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in raw[:4096] else b"\n"


def base64_lines(data: bytes, nl: bytes) -> bytes:
    """Base64 in lines of 76 characters (RFC 2045 6.8), each ended by `nl`."""
    text = base64.b64encode(data)
    return b"".join(text[i : i + 76] + nl for i in range(0, len(text), 76))


def decoded(raw: bytes, node: Entity) -> bytes:
    body = raw[node.body : node.end]
    if node.encoding == "base64":
        return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body) + b"==")
    if node.encoding == "quoted-printable":
        return quopri.decodestring(body)
    return body


def _prepend(raw: bytes, value: str) -> bytes:
    return HEADER + b": " + value.encode("ascii") + _newline(raw) + raw


def compressed(raw: bytes, light: dict[str, bytes]) -> bytes:
    """`raw` with each section of `light` replaced by the given light bytes (same format,
    base64), the part's header kept as it was, and the X-Auditor-Slimmed header added.
    Raises CannotSlim when the message is sealed or a part cannot be replaced as it is."""
    reason = sealed(raw)
    if reason:
        raise CannotSlim("sealed")
    top, nl = structure(raw), _newline(raw)
    edits: list[tuple[int, int, bytes]] = []
    for section, data in light.items():
        path = find(top, section)
        if not path:
            raise CannotSlim("part_missing")
        node = path[-1]
        if node.encoding != "base64":
            raise CannotSlim("not_base64")
        edits.append((node.body, node.end, base64_lines(data, nl)))
    digest = hashlib.sha256(raw).hexdigest()
    out = _splice(raw, edits)
    sections = ",".join(sorted(light))
    return _prepend(out, f"compressed parts {sections}; original-sha256={digest}")


def _splice(raw: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out, at = [], 0
    for start, end, data in sorted(edits):
        out += [raw[at:start], data]
        at = end
    out.append(raw[at:])
    return b"".join(out)


def detached(raw: bytes, notes: dict[str, tuple[str, str | None]]) -> bytes:
    """`raw` with each section of `notes` replaced by a text/plain part holding the note
    (its text, and the file's URL for X-Mozilla-External-Attachment-URL, or None)."""
    if sealed(raw):
        raise CannotSlim("sealed")
    top, nl = structure(raw), _newline(raw)
    edits = []
    for section, (text, url) in notes.items():
        path = find(top, section)
        if not path:
            raise CannotSlim("part_missing")
        node = path[-1]
        head = [
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Transfer-Encoding: quoted-printable",
            b"Content-Disposition: inline",
        ]
        if url:
            head.append(b"X-Mozilla-External-Attachment-URL: " + url.encode("ascii"))
        body = quopri.encodestring(text.encode("utf-8")).replace(b"\n", nl)
        edits.append((node.start, node.end, nl.join(head) + nl + nl + body + nl))
    digest = hashlib.sha256(raw).hexdigest()
    sections = ",".join(sorted(notes))
    return _prepend(_splice(raw, edits), f"detached parts {sections}; original-sha256={digest}")


def language(raw: bytes, default: str) -> str:
    """fr or en: the message's Content-Language, else `default`."""
    head = BytesHeaderParser(policy=compat32).parsebytes(raw[: _head_end(raw, 0, len(raw))])
    value = str(head.get("Content-Language", "")).strip().lower()
    return "fr" if value.startswith("fr") else "en" if value.startswith("en") else default

"""Deterministic, realistic mail for tests and benchmarks.

    for msg in generate_messages(1000, seed=7, light=True):
        server.deliver(user, msg.folder, msg.raw, seen=msg.seen, internal_date=msg.internal_date)

The mix: plain text (quoted-printable, 8bit, base64), newsletters (List-Id, List-Unsubscribe,
some RFC 8058 one-click, Precedence: bulk), auto-replies (Auto-Submitted), photos
(image/jpeg) and PDFs (RFC 2231 and RFC 2047 file names, "Facture_été.pdf"), nested
multipart/mixed + multipart/alternative, forwarded message/rfc822, spam, RFC 2047 subjects
and occasional exact duplicates (same Message-ID and bytes) in another folder. Dates run
forward in time over the [start, end] range. Lines end with CRLF, so RFC822.SIZE on an IMAP
server equals len(raw).

Attachment sizes have a heavy tail: most are small, about 2 % of messages exceed 1 MB and a
few (photo albums) exceed 5 MB, each attachment capped at `max_attachment_bytes` (2 MB by
default; light=True: 200 KB per message). Mean size is about 50 KB (about 25 KB light).
Payloads are slices of one pre-encoded random block behind a real JPEG or PDF header (JPEG
dimensions and PDF structure are readable), so generating is fast and memory stays flat.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import io
import math
import random
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "FOLDERS",
    "GeneratedAttachment",
    "GeneratedMessage",
    "cpython_corpus_messages",
    "generate_messages",
]

FOLDERS = ("INBOX", "Sent", "Archive", "Trash", "Junk", "Newsletters")
OWNER = ("Secrétariat Les Amis du Parc", "secretariat@amis-du-parc.example")
DEFAULT_START = date(2017, 1, 1)
DEFAULT_END = date(2024, 12, 31)
DEFAULT_MAX_ATTACHMENT = 2_000_000
LIGHT_MAX_ATTACHMENT = 200_000

_LINE = 57  # decoded bytes per 76-character base64 line
_BLOCK_LINES = 1 << 15  # ~1.8 MB of random bytes, ~2.5 MB once encoded
_CRLF = b"\r\n"


@dataclass(frozen=True, slots=True)
class GeneratedAttachment:
    """A top-level attachment; a forwarded mail is one message/rfc822 without a name."""

    filename: str | None
    content_type: str
    size_bytes: int  # decoded size


@dataclass(frozen=True, slots=True)
class GeneratedMessage:
    raw: bytes
    seen: bool
    internal_date: datetime  # UTC, whole seconds
    folder: str
    kind: str  # plain, newsletter, auto_reply, photos, pdf, nested, forward, spam, duplicate
    message_id: str
    subject: str
    from_addr: str
    list_id: str | None = None
    list_unsubscribe: str | None = None
    one_click_unsubscribe: bool = False
    precedence: str | None = None
    auto_submitted: str | None = None
    attachments: tuple[GeneratedAttachment, ...] = field(default=())

    @property
    def size(self) -> int:
        return len(self.raw)


# --- vocabulary ---------------------------------------------------------------------------

_PEOPLE = (
    ("Marie Dupont", "marie.dupont@example.org"),
    ("Jean-François Müller", "jf.muller@example.net"),
    ("Élodie Garçon", "elodie.garcon@mail.example.fr"),
    ("Ahmed Benali", "a.benali@example.com"),
    ("Sophie Martin", "sophie.martin@example.org"),
    ("Łukasz Nowak", "lukasz@example.pl"),
    ("Zoë Lefèvre", "zoe.lefevre@example.fr"),
    ("Paul Durand", "paul.durand@example.com"),
    ("Trésorerie", "tresorier@amis-du-parc.example"),
    ("", "benevole42@example.net"),
)
_NEWSLETTERS = (
    ("La Lettre des Associations", "news@lettre-asso.example", "lettre.lettre-asso.example"),
    ("Mairie — Infos", "infos@mairie.example.fr", "infos.mairie.example.fr"),
    ("Boutique Vélo", "promo@velo-shop.example", "promo.velo-shop.example"),
    ("HelloAsso-like", "noreply@collecte.example", "dons.collecte.example"),
    ("Open Source Weekly", "weekly@oss.example", "weekly.oss.example"),
)
_SPAMMERS = (
    ("Winner Notification", "prize@lucky.example"),
    ("Pharmacie en ligne", "sales@cheap-pills.example"),
    ("Banque Sécurité", "security@bank-verify.example"),
)
_SUBJECTS = (
    "Réunion du bureau jeudi",
    "Compte-rendu de l'assemblée générale",
    "Cotisation {year}",
    "Planning des bénévoles",
    "Invitation : fête de l'été 🎉",
    "Re: Location de la salle",
    "Fwd: Devis traiteur",
    "Question about the budget",
    "Photos de la sortie",
    "Facture n°{n}",
    "Ordre du jour",
    "Demande de subvention",
    "Minutes of the meeting",
    "Nouvelle adhésion",
    "Tournoi d'échecs — résultats",
    "Hello",
)
_WORDS = (
    "association bureau réunion budget trésorerie adhérents bénévoles salle planning "
    "projet subvention mairie dossier facture devis compte-rendu assemblée vote membres "
    "the meeting agenda please find attached thanks regards next week schedule été "
    "événement fête bibliothèque école parc jardin vélo sortie photos cotisation reçu"
).split()
_SENTENCES = (
    "Bonjour à tous,",
    "Voici le compte-rendu de la dernière réunion.",
    "Merci de confirmer votre présence avant vendredi.",
    "Vous trouverez ci-joint les documents demandés.",
    "N'hésitez pas à me contacter pour toute question.",
    "Please find the attached file and let me know what you think.",
    "La salle est réservée de 18 h à 22 h.",
    "Le budget prévisionnel a été validé à l'unanimité.",
    "Bien cordialement,",
    "Best regards,",
)
_PDF_NAMES = (
    "Facture_été.pdf",
    "Compte-rendu AG {year}.pdf",
    "devis.pdf",
    "Procès-verbal de l'assemblée générale signé.pdf",
    "Reçu fiscal n°{n}.pdf",
    "statuts.pdf",
    "budget_{year}.pdf",
)
_PHOTO_NAMES = ("IMG_{n}.jpg", "photo-{n}.jpeg", "Pique-nique été {year} ({n}).jpg", "DSC{n}.JPG")

_TIMEZONES = tuple(timezone(timedelta(hours=h)) for h in (1, 2, 0, -5, 1, 2))

# kind -> weight; folder and seen probabilities per kind
_KINDS = (
    ("plain", 0.34),
    ("newsletter", 0.22),
    ("auto_reply", 0.03),
    ("photos", 0.12),
    ("pdf", 0.12),
    ("nested", 0.09),
    ("forward", 0.03),
    ("spam", 0.05),
)
_FOLDERS_BY_KIND = {
    "plain": (("INBOX", 0.6), ("Sent", 0.2), ("Archive", 0.12), ("Trash", 0.08)),
    "newsletter": (("INBOX", 0.45), ("Newsletters", 0.4), ("Trash", 0.1), ("Junk", 0.05)),
    "auto_reply": (("INBOX", 0.85), ("Trash", 0.15)),
    "photos": (("INBOX", 0.55), ("Sent", 0.2), ("Archive", 0.15), ("Trash", 0.1)),
    "pdf": (("INBOX", 0.5), ("Archive", 0.25), ("Sent", 0.15), ("Trash", 0.1)),
    "nested": (("INBOX", 0.6), ("Archive", 0.2), ("Sent", 0.1), ("Trash", 0.1)),
    "forward": (("INBOX", 0.6), ("Sent", 0.3), ("Archive", 0.1)),
    "spam": (("Junk", 0.85), ("INBOX", 0.15)),
}
_SEEN_BY_FOLDER = {
    "INBOX": 0.8,
    "Sent": 1.0,
    "Archive": 0.97,
    "Trash": 0.9,
    "Junk": 0.3,
    "Newsletters": 0.45,
}
_ATTACHMENT_KINDS = frozenset({"photos", "pdf", "nested", "forward"})
_P_HUGE = 0.001 / 0.36  # share of attachment-carrying messages that are photo albums > 5 MB
_P_LARGE = 0.019 / 0.36  # share with one attachment of 0.75-1.1 MB (a > 1 MB message)
_P_DUPLICATE = 0.005


# --- payloads -----------------------------------------------------------------------------


class _Payloads:
    """One random block, base64-encoded once as CRLF lines; attachments are slices of it."""

    def __init__(self) -> None:
        block = random.Random(0x5EED).randbytes(_LINE * _BLOCK_LINES)
        self.encoded = b"".join(
            base64.b64encode(block[i : i + _LINE]) + _CRLF for i in range(0, len(block), _LINE)
        )
        self.line_len = len(self.encoded) // _BLOCK_LINES  # 78
        self._jpeg_cache: dict[tuple[int, int], bytes] = {}

    def lines(self, count: int, offset: int) -> bytes:
        """`count` encoded lines starting at line `offset`, wrapping around the block."""
        out = []
        while count > 0:
            take = min(count, _BLOCK_LINES - offset)
            out.append(self.encoded[offset * self.line_len : (offset + take) * self.line_len])
            count -= take
            offset = 0
        return b"".join(out)

    def jpeg_header(self, width: int, height: int) -> bytes:
        """A complete tiny JPEG whose frame header says width x height."""
        key = (width, height)
        if key not in self._jpeg_cache:
            self._jpeg_cache[key] = _jpeg_with_size(width, height)
        return self._jpeg_cache[key]


_PAYLOADS: _Payloads | None = None


def _payloads() -> _Payloads:
    global _PAYLOADS
    if _PAYLOADS is None:
        _PAYLOADS = _Payloads()
    return _PAYLOADS


def _jpeg_with_size(width: int, height: int) -> bytes:
    try:
        from PIL import Image
    except ImportError:  # a bare JFIF header: the type sniffs right, the size is unknown
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 160, 90)).save(buf, "JPEG", quality=60)
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    if sof >= 0:  # SOF0: marker, length(2), precision(1), height(2), width(2)
        struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _b64_lines(data: bytes) -> bytes:
    return b"".join(
        base64.b64encode(data[i : i + _LINE]) + _CRLF for i in range(0, len(data), _LINE)
    )


def _pad_to_line(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % _LINE)


def _jpeg_body(size: int, rng: random.Random, big: bool) -> tuple[bytes, int]:
    """(base64 CRLF lines, decoded size) of a JPEG of about `size` bytes."""
    dims = rng.choice(((4032, 3024), (3024, 4032), (4000, 3000))) if big else None
    if dims is None:
        dims = rng.choice(((1600, 1200), (1280, 960), (800, 600), (1080, 1440)))
    head = _pad_to_line(_payloads().jpeg_header(*dims))
    count = max(0, (size - len(head)) // _LINE)
    body = _b64_lines(head) + _payloads().lines(count, rng.randrange(_BLOCK_LINES))
    return body, len(head) + count * _LINE


def _pdf_body(size: int, rng: random.Random) -> tuple[bytes, int]:
    """(base64 CRLF lines, decoded size) of a small valid PDF with a random stream inside."""
    count = max(1, (size - 400) // _LINE)
    length = count * _LINE
    objects = [
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n",
    ]
    head = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for obj in objects:
        offsets.append(len(head))
        head += obj
    stream_start = f"4 0 obj\n<< /Length {length} >>\nstream\n".encode()
    pad = -(len(head) + len(stream_start)) % _LINE
    if pad < 2:
        pad += _LINE
    head += b"%" + b"x" * (pad - 2) + b"\n"
    offsets.append(len(head))
    head += stream_start
    xref_at = len(head) + length + len(b"\nendstream\nendobj\n")
    tail = bytearray(b"\nendstream\nendobj\nxref\n0 5\n0000000000 65535 f \n")
    for offset in offsets:
        tail += b"%010d 00000 n \n" % offset
    tail += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref_at
    body = (
        _b64_lines(bytes(head))
        + _payloads().lines(count, rng.randrange(_BLOCK_LINES))
        + _b64_lines(bytes(tail))
    )
    return body, len(head) + length + len(tail)


# --- headers and text ---------------------------------------------------------------------


def _encoded_words(value: str, q_latin1: bool = False) -> str:
    """RFC 2047 encoded words (B in UTF-8, or Q in ISO-8859-1), folded with CRLF SP."""
    words = []
    if q_latin1:
        chunk = ""
        for ch in value:
            if ch == " ":
                piece = "_"
            elif ch.isascii() and (ch.isalnum() or ch in "!*+-/"):
                piece = ch
            else:
                piece = f"={ord(ch):02X}"
            if len(chunk) + len(piece) > 56:
                words.append(f"=?iso-8859-1?q?{chunk}?=")
                chunk = ""
            chunk += piece
        words.append(f"=?iso-8859-1?q?{chunk}?=")
    else:
        data, start = value.encode("utf-8"), 0
        while start < len(data):
            end = min(start + 45, len(data))
            while end < len(data) and (data[end] & 0xC0) == 0x80:  # not inside a character
                end -= 1
            words.append("=?utf-8?b?" + base64.b64encode(data[start:end]).decode() + "?=")
            start = end
    return "\r\n ".join(words)


def _header_text(value: str, rng: random.Random) -> str:
    """ASCII as is; otherwise RFC 2047 (B or Q), or now and then raw UTF-8 (RFC 6532)."""
    if value.isascii():
        return value
    roll = rng.random()
    if roll < 0.04:
        return value
    if roll < 0.3:
        try:
            value.encode("iso-8859-1")
            return _encoded_words(value, q_latin1=True)
        except UnicodeEncodeError:
            pass
    return _encoded_words(value)


def _address(name: str, addr: str) -> str:
    if not name:
        return addr
    if not name.isascii():
        return f"{_encoded_words(name)} <{addr}>"
    if any(c in name for c in '()<>[]:;@\\,."'):
        return f'"{name}" <{addr}>'
    return f"{name} <{addr}>"


def _filename_params(name: str, rng: random.Random) -> tuple[str, str]:
    """(Content-Type name param, Content-Disposition filename param) in a mailer's style."""
    if name.isascii():
        return f'; name="{name}"', f'; filename="{name}"'
    style = rng.random()
    encoded = _encoded_words(name)
    if style < 0.5:  # RFC 2231, as Thunderbird does (plus an RFC 2047 name for old readers)
        return f'; name="{encoded}"', f"; filename*=utf-8''{quote(name)}"
    if style < 0.65:  # RFC 2231 continuations
        quoted = quote(name)
        cut = len(quoted) // 2
        while "%" in quoted[cut - 2 : cut]:  # do not split a %XX escape
            cut += 1
        return (
            f'; name="{encoded}"',
            f";\r\n filename*0*=utf-8''{quoted[:cut]};\r\n filename*1*={quoted[cut:]}",
        )
    return f'; name="{encoded}"', f'; filename="{encoded}"'  # RFC 2047 in params: Outlook


def _paragraph_pool(rng: random.Random, size: int = 512) -> list[str]:
    pool = []
    for _ in range(size):
        sentences = " ".join(rng.choice(_SENTENCES) for _ in range(rng.randint(1, 4)))
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 40)))
        pool.append(f"{sentences}\n{words}\n")
    return pool


def _text(rng: random.Random, pool: list[str], paragraphs: int) -> str:
    return "\n".join(rng.choices(pool, k=paragraphs))


def _wrap(text: str, width: int = 76) -> str:
    out = []
    for line in text.split("\n"):
        while len(line) > width:
            cut = line.rfind(" ", 0, width)
            cut = width if cut <= 0 else cut
            out.append(line[:cut])
            line = line[cut:].lstrip(" ")
        out.append(line)
    return "\n".join(out)


def _text_part(text: str, subtype: str, rng: random.Random) -> bytes:
    data = text.encode("utf-8")
    roll = rng.random()
    if roll < 0.6:
        cte, body = "quoted-printable", binascii.b2a_qp(data).replace(b"\n", _CRLF)
    elif roll < 0.9:
        cte, body = "8bit", _wrap(text).encode("utf-8").replace(b"\n", _CRLF)
    else:
        cte, body = "base64", _b64_lines(data)
    head = f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: {cte}"
    return head.encode() + _CRLF + _CRLF + body


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>\n" for p in text.split("\n") if p)
    return f"<!DOCTYPE html>\n<html><body>\n{paragraphs}</body></html>\n"


def _multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    out.append(b"This is a multi-part message in MIME format.\r\n")
    for part in parts:
        out.append(f"--{boundary}\r\n".encode())
        out.append(part)
        if not part.endswith(_CRLF):
            out.append(_CRLF)
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _attachment_part(
    kind: str, name: str, size: int, rng: random.Random, big: bool
) -> tuple[bytes, GeneratedAttachment]:
    if kind == "jpeg":
        body, decoded = _jpeg_body(size, rng, big)
        ctype = "image/jpeg"
    else:
        body, decoded = _pdf_body(size, rng)
        ctype = "application/pdf"
    ct_param, cd_param = _filename_params(name, rng)
    head = (
        f"Content-Type: {ctype}{ct_param}\r\n"
        f"Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment{cd_param}\r\n\r\n"
    ).encode()
    return head + body, GeneratedAttachment(name, ctype, decoded)


# --- the generator ------------------------------------------------------------------------


class _Generator:
    def __init__(self, seed: int, max_attachment: int, max_total: int | None) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.max_attachment = max_attachment
        self.max_total = max_total  # all attachments of one message together (light mode)
        self.counter = 0
        self.paragraphs = _paragraph_pool(self.rng)

    def pick(self, table: tuple[tuple[str, float], ...]) -> str:
        roll, total = self.rng.random(), 0.0
        for value, weight in table:
            total += weight
            if roll < total:
                return value
        return table[-1][0]

    def boundary(self) -> str:
        return f"----=_Part_{self.seed}_{self.counter}_{self.rng.getrandbits(40):010x}"

    def fill(self, template: str) -> str:
        return template.format(year=self.rng.randint(2015, 2025), n=self.rng.randint(1, 9999))

    def attachment_size(self, kind: str) -> tuple[int, bool]:
        """(decoded size, big) for one attachment of a small-tier message."""
        median = 25_000 if kind == "jpeg" else 22_000
        size = int(math.exp(self.rng.gauss(math.log(median), 0.8)))
        return min(max(size, 600), 700_000, self.max_attachment), False

    def attachments(self, kind: str) -> list[tuple[bytes, GeneratedAttachment]]:
        rng = self.rng
        tier = rng.random()
        specs: list[tuple[str, int, bool]] = []  # (jpeg|pdf, size, big)
        if tier < _P_HUGE:  # a photo album: several big photos, > 5 MB when the cap allows
            for _ in range(rng.randint(3, 4)):
                specs.append(("jpeg", rng.randint(1_300_000, 2_000_000), True))
        elif tier < _P_HUGE + _P_LARGE:
            ext = "jpeg" if kind == "photos" else "pdf"
            specs.append((ext, rng.randint(750_000, 1_100_000), True))
        elif kind == "photos":
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                specs.append(("jpeg", *self.attachment_size("jpeg")))
        elif kind == "pdf" or rng.random() < 0.6:
            specs.append(("pdf", *self.attachment_size("pdf")))
        else:
            specs.append(("jpeg", *self.attachment_size("jpeg")))
        parts = []
        budget = self.max_total
        for ext, size, big in specs:
            names = _PHOTO_NAMES if ext == "jpeg" else _PDF_NAMES
            name = self.fill(rng.choice(names))
            size = min(size, self.max_attachment)
            if budget is not None:
                size = max(min(size, budget), 600)
                budget = max(budget - size, 0)
            parts.append(_attachment_part(ext, name, size, rng, big))
        return parts

    def message(self, kind: str, when: datetime, folder: str) -> GeneratedMessage:
        rng = self.rng
        self.counter += 1
        sent_at = (when - timedelta(seconds=rng.randint(2, 900))).astimezone(rng.choice(_TIMEZONES))
        subject = self.fill(rng.choice(_SUBJECTS))
        sender = rng.choice(_PEOPLE)
        recipient = OWNER
        domain = sender[1].split("@")[1]
        extra: list[str] = []
        facts: dict[str, object] = {}
        attachments: list[GeneratedAttachment] = []

        if folder == "Sent":
            sender, recipient = OWNER, rng.choice(_PEOPLE)
            domain = OWNER[1].split("@")[1]
        if kind == "newsletter":
            name, addr, list_host = rng.choice(_NEWSLETTERS)
            sender, domain = (name, addr), addr.split("@")[1]
            subject = f"{name} — {self.fill(rng.choice(('N°{n}', 'Édition de {year}', 'Offres')))}"
            list_id = f"{name} <{list_host}>"
            token = f"{rng.getrandbits(48):012x}"
            https = f"<https://{list_host}/unsubscribe/{token}>"
            mailto = f"<mailto:unsubscribe@{list_host}?subject={token}>"
            roll = rng.random()
            unsub = f"{mailto}, {https}" if roll < 0.7 else (https if roll < 0.85 else mailto)
            extra += [f"List-Id: {_header_text(list_id, rng)}", f"List-Unsubscribe: {unsub}"]
            facts.update(list_id=list_id, list_unsubscribe=unsub)
            if "https:" in unsub and rng.random() < 0.6:
                extra.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
                facts["one_click_unsubscribe"] = True
            if rng.random() < 0.7:
                extra.append("Precedence: bulk")
                facts["precedence"] = "bulk"
        elif kind == "auto_reply":
            subject = f"{rng.choice(('Réponse automatique', 'Out of Office', 'Absent'))}: {subject}"
            value = rng.choice(("auto-replied", "auto-replied", "auto-generated"))
            extra += [f"Auto-Submitted: {value}", "X-Autoreply: yes"]
            extra.append(f"In-Reply-To: <{rng.getrandbits(64):x}@{OWNER[1].split('@')[1]}>")
            facts["auto_submitted"] = value
        elif kind == "spam":
            sender = rng.choice(_SPAMMERS)
            domain = sender[1].split("@")[1]
            subject = rng.choice(("Vous avez gagné !!!", "URGENT: vérifiez votre compte", "SALE"))
            if rng.random() < 0.5:
                extra.append("Precedence: junk")
                facts["precedence"] = "junk"

        message_id = f"<{self.seed}.{self.counter}.{rng.getrandbits(32):08x}@{domain}>"
        text = _text(rng, self.paragraphs, rng.randint(1, 6))
        if kind == "newsletter":
            alt = _multipart(
                "alternative",
                [_text_part(text, "plain", rng), _text_part(_html(text) * 3, "html", rng)],
                self.boundary(),
            )
            body = alt
        elif kind in ("photos", "pdf"):
            parts = [_text_part(text, "plain", rng)]
            for part, facts_ in self.attachments(kind):
                parts.append(part)
                attachments.append(facts_)
            body = _multipart("mixed", parts, self.boundary())
        elif kind == "nested":
            alt = _multipart(
                "alternative",
                [_text_part(text, "plain", rng), _text_part(_html(text), "html", rng)],
                self.boundary(),
            )
            parts = [alt]
            for part, facts_ in self.attachments(kind):
                parts.append(part)
                attachments.append(facts_)
            body = _multipart("mixed", parts, self.boundary())
        elif kind == "forward":
            inner = self.message(rng.choice(("plain", "pdf")), when - timedelta(days=2), "INBOX")
            attachments.append(GeneratedAttachment(None, "message/rfc822", len(inner.raw)))
            subject = f"Fwd: {inner.subject}"
            rfc822 = b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
            body = _multipart(
                "mixed",
                [
                    _text_part("Message transféré :\n\n" + text, "plain", rng),
                    rfc822 + inner.raw + _CRLF,  # the delimiter owns the CRLF before it
                ],
                self.boundary(),
            )
        else:
            body = _text_part(text, "plain", rng)

        headers = [
            "Return-Path: <" + sender[1] + ">",
            f"Date: {format_datetime(sent_at)}",
            f"From: {_address(*sender)}",
            f"To: {_address(*recipient)}",
            f"Subject: {_header_text(subject, rng)}",
            f"Message-ID: {message_id}",
            "MIME-Version: 1.0",
            *extra,
        ]
        raw = "\r\n".join(headers).encode("utf-8") + _CRLF + body
        return GeneratedMessage(
            raw=raw,
            seen=rng.random() < _SEEN_BY_FOLDER[folder],
            internal_date=when,
            folder=folder,
            kind=kind,
            message_id=message_id,
            subject=subject,
            from_addr=sender[1].lower(),
            attachments=tuple(attachments),
            **facts,  # type: ignore[arg-type]
        )


def generate_messages(
    n: int,
    seed: int = 1,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    *,
    max_attachment_bytes: int | None = None,
    light: bool = False,
) -> Iterator[GeneratedMessage]:
    """Yield `n` messages with INTERNALDATEs rising from `start` to `end` (UTC).

    Same arguments, same bytes. `max_attachment_bytes` caps each attachment's decoded size
    (default 2 MB). `light=True` makes the default 200 KB and caps the attachments of a
    message together at that size too, so no message exceeds about 300 KB.
    """
    if max_attachment_bytes is None:
        max_attachment_bytes = LIGHT_MAX_ATTACHMENT if light else DEFAULT_MAX_ATTACHMENT
    gen = _Generator(seed, max_attachment_bytes, max_attachment_bytes if light else None)
    rng = gen.rng
    first = datetime.combine(start, time(8, 0), UTC).timestamp()
    last = datetime.combine(end, time(23, 59, 59), UTC).timestamp()
    mean_step = (last - first) / max(n, 1)
    now = first
    recent: deque[GeneratedMessage] = deque(maxlen=50)
    for _ in range(n):
        now = min(now + rng.expovariate(1.0) * mean_step, last)
        when = datetime.fromtimestamp(int(now), UTC)
        if recent and rng.random() < _P_DUPLICATE:  # the same mail delivered twice
            original = rng.choice(recent)
            folder = rng.choice(("INBOX", "Archive", original.folder))
            yield GeneratedMessage(
                raw=original.raw,
                seen=rng.random() < 0.5,
                internal_date=when,
                folder=folder,
                kind="duplicate",
                message_id=original.message_id,
                subject=original.subject,
                from_addr=original.from_addr,
                list_id=original.list_id,
                list_unsubscribe=original.list_unsubscribe,
                one_click_unsubscribe=original.one_click_unsubscribe,
                precedence=original.precedence,
                auto_submitted=original.auto_submitted,
                attachments=original.attachments,
            )
            continue
        kind = gen.pick(_KINDS)
        msg = gen.message(kind, when, gen.pick(_FOLDERS_BY_KIND[kind]))
        if msg.size < 100_000:
            recent.append(msg)
        yield msg


def cpython_corpus_messages() -> list[tuple[str, bytes]]:
    """Every `msg_*.txt` of CPython's email test corpus as (file name, bytes), sorted.

    Empty when this interpreter ships without its test suite (Debian's python3 without
    libpython3-testsuite, for instance).
    """
    try:
        spec = importlib.util.find_spec("test")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    for location in spec.submodule_search_locations:
        data = Path(location) / "test_email" / "data"
        if data.is_dir():
            return [(p.name, p.read_bytes()) for p in sorted(data.glob("msg_*.txt"))]
    return []

#!/usr/bin/env python3
"""Generate the demo mailbox shipped in auditor/demo/ as gzip-compressed mbox files.

The output is deterministic: a fixed seed, dates fixed relative to 2026-11-01 and
hand-written file formats (no third-party encoder whose version could change the bytes),
so every run writes byte-identical files.

It depicts the shared mailbox of a small French association ("Les Amis du Quartier") with
what an audit should find: heavy scans and photos, images and PDFs that would shrink,
newsletters nobody reads, old read mail, duplicates, an old Trash. Attachments are real
files (TIFF, PDF, JPEG, PNG, BMP) drawn so that their base64 text compresses well with gzip:
mostly white pages, flat colours, repeated textures, rows aligned on 57-byte base64 lines.

Usage: python scripts/make_demo_mailbox.py [--out DIR]   (default: auditor/demo)
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import gzip
import random
import re
import struct
import sys
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

REF = datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)  # "today" of the demo
SEED = 20261101
FOLDERS = ("Inbox", "Sent", "Trash", "Archives")
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "auditor" / "demo"

# base64 writes 57 input bytes per 76-character line: rows whose length and offset are
# multiples of 57 become identical text lines, which gzip stores almost for free.
B64_LINE = 57


# --- files ---------------------------------------------------------------------------------


def gray_scan(width: int, height: int, rng: random.Random, dpi: int, signed: bool = True) -> bytes:
    """A mostly white 8-bit grey page with blocks of "text" (word-sized dark rectangles)."""
    white = b"\xff" * width
    rows: list[bytes] = []
    margin = width // 9
    line_h = max(8, dpi // 12)
    y = height // 12
    rows.extend([white] * y)
    paragraph = 0
    while y < height - height // 8:
        if paragraph and rng.random() < 0.18:  # paragraph break
            rows.extend([white] * line_h)
            y += line_h
        paragraph += 1
        row = bytearray(white)
        x = margin + (dpi // 3 if rng.random() < 0.1 else 0)
        end = width - margin - rng.randrange(0, width // 4 if rng.random() < 0.2 else 8)
        while x < end:
            word = rng.randrange(dpi // 10, dpi // 2)
            row[x : min(x + word, end)] = b"\x38" * (min(x + word, end) - x)
            x += word + dpi // 18
        ink = bytes(row)
        text_h = line_h * 3 // 5
        rows.extend([ink] * text_h)
        rows.extend([white] * (line_h - text_h))
        y += line_h
    if signed:  # a signature: a few slanted strokes
        for i in range(dpi // 4):
            row = bytearray(white)
            x0 = width * 3 // 5 + i * 2
            row[x0 : x0 + dpi // 2] = b"\x20" * (dpi // 2)
            rows.append(bytes(row))
    rows.extend([white] * (height - len(rows)))
    return b"".join(rows[:height])


def tiff_gray(width: int, height: int, pixels: bytes, dpi: int) -> bytes:
    """Baseline uncompressed greyscale TIFF (TIFF 6.0), pixel data at a 57-byte offset."""
    data_offset = B64_LINE * 2
    ifd_offset = data_offset + len(pixels)
    ifd_offset += ifd_offset % 2  # IFDs start on a word boundary
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # PhotometricInterpretation: BlackIsZero
        (273, 4, 1, data_offset),  # StripOffsets
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, len(pixels)),  # StripByteCounts
        (282, 5, 1, 0),  # XResolution (rational, patched below)
        (283, 5, 1, 0),  # YResolution
        (296, 3, 1, 2),  # ResolutionUnit: inch
    ]
    rational_offset = ifd_offset + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if kind == 5:
            value = rational_offset + (0 if tag == 282 else 8)
            ifd += struct.pack("<HHII", tag, kind, count, value)
        elif kind == 3:
            ifd += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 0) + struct.pack("<IIII", dpi, 1, dpi, 1)
    head = b"II*\x00" + struct.pack("<I", ifd_offset)
    head += b"\x00" * (data_offset - len(head))
    pad = b"\x00" * (ifd_offset - data_offset - len(pixels))
    return head + pixels + pad + ifd


def _pdf_escape(text: str) -> bytes:
    raw = text.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


class _Pdf:
    """A tiny PDF 1.4 writer: uncompressed streams, so big images stay big."""

    def __init__(self) -> None:
        self.objects: list[bytes] = []

    def add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)

    def render(self, root: int, info: int) -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self.objects, 1):
            head = f"{number} 0 obj\n".encode()
            if b"%%ALIGN%%" in body:
                # Pad the dictionary so that the stream data starts on a 57-byte boundary.
                before, after = body.split(b"%%ALIGN%%")
                start = len(out) + len(head) + len(before) + len(b"stream\n")
                body = before + b" " * (-start % B64_LINE) + after
            offsets.append(len(out))
            out += head + body + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(self.objects) + 1}\n0000000000 65535 f \n".encode()
        for offset in offsets:
            out += f"{offset:010d} 00000 n \n".encode()
        out += (
            f"trailer\n<< /Size {len(self.objects) + 1} /Root {root} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n"
        ).encode()
        return bytes(out)


def pdf_document(
    pages: list[tuple[list[str], list[tuple[int, int, str, bytes]]]],
    producer: str,
    created: datetime,
) -> bytes:
    """A PDF whose pages hold text lines and/or uncompressed images (width, height, space, data).

    Images fill the page when there is no text (a scan), else the lower half.
    """
    pdf = _Pdf()
    catalog = pdf.add(b"<< /Type /Catalog /Pages 2 0 R >>")
    pdf.add(b"")  # the page tree, filled in below
    font = pdf.add(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    kids = []
    for lines, images in pages:
        names = []
        for index, (width, height, space, data) in enumerate(images):
            number = pdf.add(
                f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
                f"/ColorSpace /{space} /BitsPerComponent 8 /Length {len(data)} "
                f"%%ALIGN%%>>\n".encode()
                + b"stream\n"
                + data
                + b"\nendstream"
            )
            names.append((f"Im{index + 1}", number))
        content = bytearray()
        if lines:
            content += b"BT /F1 12 Tf 14 TL 60 780 Td\n"
            for line in lines:
                content += b"(" + _pdf_escape(line) + b") Tj T*\n"
            content += b"ET\n"
        for name, _number in names:
            box = b"595 0 0 842 0 0" if not lines else b"475 0 0 360 60 60"
            content += b"q " + box + b" cm /" + name.encode() + b" Do Q\n"
        stream = pdf.add(
            f"<< /Length {len(content)} >>\nstream\n".encode() + bytes(content) + b"endstream"
        )
        xobjects = " ".join(f"/{name} {number} 0 R" for name, number in names)
        page = pdf.add(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 {font} 0 R >> /XObject << {xobjects} >> >> "
            f"/Contents {stream} 0 R >>".encode()
        )
        kids.append(page)
    pdf.objects[1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    ).encode()
    stamp = created.strftime("D:%Y%m%d%H%M%SZ")
    info = pdf.add(
        b"<< /Producer (" + _pdf_escape(producer) + f") /CreationDate ({stamp}) >>".encode()
    )
    return pdf.render(catalog, info)


def _canonical_codes(table: list[tuple[int, int]]) -> tuple[bytes, dict[int, tuple[int, int]]]:
    """JPEG DHT payload (BITS + HUFFVAL) and symbol -> (code, length), ITU T.81 annex C."""
    table = sorted(table, key=lambda item: item[1])
    bits = [0] * 16
    codes: dict[int, tuple[int, int]] = {}
    code, length = 0, 1
    for symbol, size in table:
        code <<= size - length
        length = size
        codes[symbol] = (code, size)
        bits[size - 1] += 1
        code += 1
    return bytes(bits) + bytes(symbol for symbol, _ in table), codes


def jpeg_texture(width: int, height: int, coefficients: list[int], target_mcu_bytes: int) -> bytes:
    """A valid baseline JPEG (3 components, no subsampling) tiled with one 8x8 texture.

    Every MCU codes the same block with a DC difference of 0, so the entropy-coded data is
    one short byte pattern repeated: the file is as big as a phone photo, yet gzip shrinks it
    a thousandfold.
    """
    dc_bytes, dc = _canonical_codes([(0, 2), (1, 3), (2, 3), (3, 3), (4, 3), (5, 3), (6, 4)])
    ac_table = [(0x01, 2), (0x02, 2), (0x03, 3), (0x00, 4), (0x04, 4), (0x11, 4), (0x05, 5)]
    ac_table += [(0x21, 5), (0x06, 6), (0xF0, 6)]
    ac_bytes, ac = _canonical_codes(ac_table)

    def encode(values: list[int]) -> str:
        bits = format(dc[0][0], f"0{dc[0][1]}b")
        for value in values:
            size = abs(value).bit_length()
            code, length = ac[size]
            amplitude = value if value > 0 else value + (1 << size) - 1
            bits += format(code, f"0{length}b") + format(amplitude, f"0{size}b")
        if len(values) < 63:
            bits += format(ac[0][0], f"0{ac[0][1]}b")  # EOB
        return bits

    chroma = encode([])
    target = target_mcu_bytes * 8 - 2 * len(chroma)
    values: list[int] = []
    for value in coefficients * 4:
        if len(encode(values + [value])) > target or len(values) >= 56:
            break
        values.append(value)
    # Pad with small coefficients until the MCU is a whole number of bytes.
    for extra in ([], [1], [-2], [3], [1, -2], [-1, 3], [2, 5], [1, 1, 2], [-3, 6], [1, 2, 5]):
        if (len(encode(values + extra)) + 2 * len(chroma)) % 8 == 0:
            values += extra
            break
    bits = encode(values) + chroma + chroma
    assert len(bits) % 8 == 0, "MCU must end on a byte boundary"
    mcu = int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")
    quant = bytes([2, 1, 1, 2, 2, 4, 5, 6, 1, 1, 1, 2, 3, 6, 6, 6] + [2] * 16 + [4] * 32)

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">HH", marker, len(payload) + 2) + payload

    return b"".join(
        [
            b"\xff\xd8",
            segment(0xFFE0, b"JFIF\x00\x01\x01\x01\x00\x48\x00\x48\x00\x00"),
            segment(0xFFDB, b"\x00" + quant),
            segment(
                0xFFC0,
                struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00",
            ),
            segment(0xFFC4, b"\x00" + dc_bytes + b"\x10" + ac_bytes),
            segment(0xFFDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"),
            mcu * ((width // 8) * (height // 8)),
            b"\xff\xd9",
        ]
    )


def _stored_zlib(data: bytes) -> bytes:
    """A zlib stream of stored (uncompressed) deflate blocks, RFC 1950/1951."""
    out = bytearray(b"\x78\x01")
    chunk = 65535
    for start in range(0, max(len(data), 1), chunk):
        block = data[start : start + chunk]
        final = 1 if start + chunk >= len(data) else 0
        out += struct.pack("<BHH", final, len(block), 0xFFFF ^ len(block)) + block
    out += struct.pack(">I", zlib.adler32(data))
    return bytes(out)


def png_rgb(width: int, height: int, rows: Iterable[bytes]) -> bytes:
    """A valid PNG whose image data is stored, not deflated (what some screenshot tools do)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", _stored_zlib(raw))
        + chunk(b"IEND", b"")
    )


def screenshot_rows(width: int, height: int, rng: random.Random) -> list[bytes]:
    """A spreadsheet-like screenshot: toolbar, grid lines, coloured cells."""
    white, grey, blue = b"\xff\xff\xff", b"\xd0\xd0\xd0", b"\x2b\x57\x9a"
    toolbar = blue * width
    cell_w = 120
    grid = bytearray(white * width)
    for x in range(0, width, cell_w):
        grid[3 * x : 3 * x + 3] = grey
    rows = [toolbar] * 60
    colours = [b"\xc6\xef\xce", b"\xff\xeb\x9c", b"\xff\xc7\xce", white, white, white]
    row_h = 28
    while len(rows) < height:
        line = bytearray(grid)
        for x in range(0, width - cell_w, cell_w):
            colour = rng.choice(colours)
            line[3 * x + 3 : 3 * (x + cell_w)] = colour * (cell_w - 1)
        rows.append(grey * width)
        rows.extend([bytes(line)] * (row_h - 1))
    return rows[:height]


def bmp_photo(width: int, height: int) -> bytes:
    """A 24-bit BMP "photo": sky gradient, sun, hills. Rows are 57-byte aligned for base64."""
    row_bytes = width * 3
    assert row_bytes % 4 == 0 and row_bytes % B64_LINE == 0
    rows = []
    for y in range(height):  # BMP rows are stored bottom-up
        top = height - 1 - y
        if top < height * 3 // 5:
            t = top * 255 // (height * 3 // 5)
            colour = bytes([235 - t // 4, 200 - t // 6, 120 + t // 3])  # B, G, R
            row = bytearray(colour * width)
            sun = (top - height // 4) ** 2
            radius = (height // 10) ** 2
            if sun < radius:
                half = int((radius - sun) ** 0.5)
                cx = width * 2 // 3
                row[3 * (cx - half) : 3 * (cx + half)] = b"\x60\xd8\xff" * (2 * half)
        else:
            green = 90 + (top * 7 // height) * 12
            row = bytearray(bytes([40, green, 60]) * width)
        rows.append(bytes(row))
    pixels = b"".join(rows)
    offset = B64_LINE * 2
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + b"\x00" * (offset - 54) + pixels


def text_pdf(title: str, lines: list[str], created: datetime) -> bytes:
    return pdf_document([([title, ""] + lines, [])], "LibreOffice 7.6", created)


# --- MIME ----------------------------------------------------------------------------------


def q_words(text: str, charset: str = "UTF-8") -> str:
    """RFC 2047 "Q" encoded words, folded, as Thunderbird writes them."""
    if text.isascii():
        return text
    words, current = [], ""
    for char in text:
        if char == " ":
            enc = "_"
        elif char.isascii() and (char.isalnum() or char in "!*+-/"):
            enc = char
        else:
            enc = "".join(f"={b:02X}" for b in char.encode("utf-8"))
        if len(current) + len(enc) > 75 - len(charset) - 7:
            words.append(current)
            current = ""
        current += enc
    words.append(current)
    return "\n ".join(f"=?{charset}?Q?{word}?=" for word in words)


def b_words(text: str) -> str:
    """RFC 2047 "B" encoded words, folded, as Outlook writes them."""
    if text.isascii():
        return text
    chunks, current = [], b""
    for char in text:
        enc = char.encode("utf-8")
        if len(current) + len(enc) > 45:
            chunks.append(current)
            current = b""
        current += enc
    chunks.append(current)
    return "\n ".join(f"=?utf-8?B?{base64.b64encode(c).decode()}?=" for c in chunks)


@dataclass
class Person:
    name: str
    email: str

    def header(self, style: str = "q") -> str:
        if self.name.isascii():
            needs_quotes = any(c in self.name for c in ",.()<>@;:")
            name = f'"{self.name}"' if needs_quotes else self.name
        else:
            name = q_words(self.name) if style == "q" else b_words(self.name)
        return f"{name} <{self.email}>"


@dataclass
class Part:
    headers: list[tuple[str, str]]
    body: bytes = b""
    parts: list[Part] = field(default_factory=list)
    boundary: str = ""

    def render(self) -> bytes:
        head = "".join(f"{name}: {value}\n" for name, value in self.headers).encode()
        if not self.parts:
            return head + b"\n" + self.body
        out = bytearray(head + b"\nThis is a multi-part message in MIME format.\n")
        for part in self.parts:
            out += f"--{self.boundary}\n".encode() + part.render()
            if not out.endswith(b"\n"):
                out += b"\n"
        out += f"--{self.boundary}--\n".encode()
        return bytes(out)


class Mime:
    """Builds parts with boundaries and Message-IDs drawn from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def token(self, n: int = 16) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "".join(alphabet[self.rng.randrange(len(alphabet))] for _ in range(n))

    def text(self, body: str, subtype: str = "plain", cte: str = "8bit") -> Part:
        data = body.replace("\r\n", "\n").encode("utf-8")
        if cte == "quoted-printable":
            data = binascii.b2a_qp(data)
        elif cte == "8bit" and data.isascii():
            cte = "7bit"
        if not data.endswith(b"\n"):
            data += b"\n"
        ctype = f"text/{subtype}; charset=UTF-8" + ("; format=flowed" if subtype == "plain" else "")
        return Part([("Content-Type", ctype), ("Content-Transfer-Encoding", cte)], data)

    def multipart(self, subtype: str, parts: list[Part], extra: str = "") -> Part:
        boundary = "------------" + self.token(24)
        ctype = f'multipart/{subtype};{extra}\n boundary="{boundary}"'
        return Part([("Content-Type", ctype)], parts=parts, boundary=boundary)

    def attachment(
        self,
        data: bytes,
        ctype: str,
        filename: str,
        style: str = "thunderbird",
        inline_cid: str | None = None,
    ) -> Part:
        """Base64 attachment; `style` picks how the file name is written.

        thunderbird: name= RFC 2047, filename*= RFC 2231 (split in continuations if long);
        outlook: RFC 2047 in both; plain: quoted ASCII; broken: bad base64 padding.
        """
        if style == "outlook" or filename.isascii():
            name = b_words(filename) if style == "outlook" else filename
            ct = f'{ctype}; name="{name}"'
            cd = f'attachment; filename="{name}"'
        else:
            ct = f'{ctype}; name="{q_words(filename).replace(chr(10), "")}"'
            encoded = quote(filename.encode("utf-8"), safe="")
            if len(encoded) <= 60:
                cd = f"attachment;\n filename*=UTF-8''{encoded}"
            else:  # RFC 2231 section 3: parameter value continuations
                pieces = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
                # never split a %XX escape
                for i in range(len(pieces) - 1):
                    cut = pieces[i].rfind("%", len(pieces[i]) - 2)
                    if cut >= 0:
                        pieces[i + 1] = pieces[i][cut:] + pieces[i + 1]
                        pieces[i] = pieces[i][:cut]
                cd = "attachment;" + "".join(
                    f"\n filename*{i}*={'UTF-8' + chr(39) * 2 if i == 0 else ''}{piece};"
                    for i, piece in enumerate(pieces)
                ).rstrip(";")
        headers = [("Content-Type", ct), ("Content-Transfer-Encoding", "base64")]
        if inline_cid:
            headers.append(("Content-ID", f"<{inline_cid}>"))
            cd = cd.replace("attachment", "inline", 1)
        headers.append(("Content-Disposition", cd))
        body = base64.encodebytes(data)
        if style == "broken":
            body = body.rstrip(b"=\n")[:-1] + b"\n"  # truncated: incorrect padding
        return Part(headers, body)

    def forward(self, message: bytes) -> Part:
        return Part(
            [("Content-Type", "message/rfc822"), ("Content-Disposition", "attachment")],
            message,
        )


# --- time ----------------------------------------------------------------------------------


def paris_offset(moment: datetime) -> timedelta:
    """Europe/Paris: UTC+2 from the last Sunday of March to the last Sunday of October."""

    def last_sunday(month: int) -> datetime:
        day = datetime(moment.year, month, 31, 1, tzinfo=UTC)
        return day - timedelta(days=(day.weekday() + 1) % 7)

    return timedelta(hours=2 if last_sunday(3) <= moment < last_sunday(10) else 1)


def rfc5322_date(moment: datetime) -> str:
    offset = paris_offset(moment)
    local = moment + offset
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    hours = int(offset.total_seconds()) // 3600
    return (
        f"{days[local.weekday()]}, {local.day} {months[local.month - 1]} {local.year} "
        f"{local:%H:%M:%S} +{hours:02d}00"
    )


def asctime(moment: datetime) -> str:
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return (
        f"{days[moment.weekday()]} {months[moment.month - 1]} {moment.day:02d} "
        f"{moment:%H:%M:%S} {moment.year}"
    )


def ago(days: float, hour: int = 10, minute: int = 0) -> datetime:
    """A moment `days` before the reference date, at a given UTC time of day."""
    day = REF - timedelta(days=days)
    return day.replace(hour=hour, minute=minute, second=(int(days * 7) + minute) % 60)


# --- the association -----------------------------------------------------------------------

ASSO = "amisduquartier.example.org"
ME = Person("Claire Martin – Les Amis du Quartier", f"secretariat@{ASSO}")
MARIE = Person("Marie Dupont", f"marie.dupont@{ASSO}")
JEAN = Person("Jean Moreau", f"jean.moreau@{ASSO}")
HELENE = Person("Hélène Girard", "helene.girard@example.fr")
PAUL = Person("Paul Lefebvre", "paul.lefebvre@example.com")
SOPHIE = Person("Sophie Bernard", "sophie.bernard@example.fr")
AHMED = Person("Ahmed Benali", "ahmed.benali@example.com")
LUCIE = Person("Lucie Petit", "lucie.petit@example.org")
FRANCOIS = Person("François Leroy", "f.leroy@example.com")
MAIRIE = Person("Mairie – Service Vie associative", "vie-associative@ville.example.fr")
ASSURANCE = Person("Mutuelle Assurance Associations", "contrats@assurance.example.com")
BANQUE = Person("Banque Coopérative", "ne-pas-repondre@banque.example.com")
IMPRIMERIE = Person("Imprimerie du Centre", "devis@imprimerie.example.com")
BUREAU = Person("Bureau Discount", "offres@bureau-discount.example.com")
RESEAU = Person("Réseau des Associations du Département", "lettre@reseau-associations.example.org")
BILLETTERIE = Person("Billetterie Solidaire", "news@billetterie-solidaire.example.com")
VILLE = Person("Ville – Lettre de la vie associative", "lettre-info@ville.example.fr")
DAEMON = Person("Mail Delivery System", f"MAILER-DAEMON@mail.{ASSO}")
MEMBERS = [MARIE, JEAN, HELENE, PAUL, SOPHIE, AHMED, LUCIE, FRANCOIS]

SIGNATURE = (
    "\n-- \nClaire Martin, secrétaire\nLes Amis du Quartier – association loi 1901\n"
    "12 rue des Tilleuls, 69000 Lyon\n"
)


@dataclass
class Mail:
    when: datetime
    sender: Person
    to: list[Person]
    subject: str
    body: Part
    seen: bool = True
    cc: list[Person] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    msgid: str = ""
    reply_to_id: str = ""
    style: str = "q"  # how the sender's software encodes headers: "q" Thunderbird, "b" Outlook
    received: datetime | None = None  # arrival, when not a few seconds after `when`
    mozilla: int = 0  # extra X-Mozilla-Status bits (0x0002 replied, 0x0008 expunged...)
    inbound: bool = True


class Mailbox:
    """Collects the demo's messages; every random draw goes through one generator."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.mime = Mime(self.rng)
        self.folders: dict[str, list[Mail]] = {name: [] for name in FOLDERS}
        self._files: dict[str, bytes] = {}

    # files are made once and reused (a photo forwarded is the same bytes)
    def file(self, key: str, make: Callable[[], bytes]) -> bytes:
        if key not in self._files:
            self._files[key] = make()
        return self._files[key]

    def msgid(self, when: datetime, domain: str) -> str:
        return f"<{when:%Y%m%d%H%M%S}.{self.mime.token(12)}@{domain}>"

    def add(self, folder: str, mail: Mail) -> Mail:
        if not mail.msgid:
            domain = mail.sender.email.rsplit("@", 1)[1]
            mail.msgid = self.msgid(mail.when, domain)
        self.folders[folder].append(mail)
        return mail

    def text(self, body: str, **kwargs: str) -> Part:
        return self.mime.text(body, **kwargs)

    def with_files(self, body: str, *attachments: Part, cte: str = "8bit") -> Part:
        return self.mime.multipart("mixed", [self.mime.text(body, cte=cte), *attachments])


def render(mail: Mail) -> bytes:
    """The RFC 5322 message as its sender's software would write it."""
    encode = q_words if mail.style == "q" else b_words
    headers: list[tuple[str, str]] = []
    if mail.inbound:
        arrival = mail.received or mail.when + timedelta(seconds=7)
        headers.append(("Return-Path", f"<{mail.sender.email}>"))
        headers.append(
            (
                "Received",
                f"from mail.example.net (mail.example.net [192.0.2.25])\n\tby mx.{ASSO} "
                f"(Postfix) with ESMTPS\n\tfor <{ME.email}>; {rfc5322_date(arrival)}",
            )
        )
    headers += [
        ("Date", rfc5322_date(mail.when)),
        ("From", mail.sender.header(mail.style)),
        ("To", ",\n ".join(p.header(mail.style) for p in mail.to)),
    ]
    if mail.cc:
        headers.append(("Cc", ",\n ".join(p.header(mail.style) for p in mail.cc)))
    headers += [("Subject", encode(mail.subject)), ("Message-ID", mail.msgid)]
    if mail.reply_to_id:
        headers += [("In-Reply-To", mail.reply_to_id), ("References", mail.reply_to_id)]
    headers += mail.headers
    headers.append(("MIME-Version", "1.0"))
    part = Part(headers + mail.body.headers, mail.body.body, mail.body.parts, mail.body.boundary)
    return part.render()


def mbox_entry(mail: Mail) -> bytes:
    """One mbox record as Thunderbird stores it: "From - " line, X-Mozilla-Status, Status."""
    raw = render(mail)
    head, _, body = raw.partition(b"\n\n")
    status = (0x0001 if mail.seen else 0) | mail.mozilla
    arrival = mail.received or mail.when + timedelta(seconds=7 if mail.inbound else 0)
    record = (
        f"From - {asctime(arrival)}\n"
        f"X-Mozilla-Status: {status:04x}\nX-Mozilla-Status2: 00000000\n".encode()
        + head
        + (b"\nStatus: RO" if mail.seen else b"\nStatus: O")
        + b"\n\n"
        + body
    )
    # mboxrd: escape body lines that would read as a message separator
    record = record[:5] + re.sub(rb"(?m)^(>*From )", rb">\1", record[5:])
    if not record.endswith(b"\n"):
        record += b"\n"
    return record + b"\n"


# --- heavy and mid-size files --------------------------------------------------------------


def make_files(box: Mailbox) -> dict[str, bytes]:
    rng = random.Random(SEED + 1)  # files have their own generator: editing mail text keeps them
    created = REF - timedelta(days=40)
    texture = [14, -9, 7, -6, 5, 4, -4, 3, -3, 3, 2, -2, 2, -2, 1, -1, 2, 1, -1, 1]
    photo = [9, 6, -5, 4, -3, 3, 2, -2, 2, 1, -1, 1]

    def poster() -> bytes:
        width, height = 798, 1128  # 2394-byte rows: 42 base64 lines each
        rows = []
        for y in range(height):
            if y < 220:
                row = b"\xe6\x39\x46" * width  # red title band
            elif 380 < y < 760:
                row = bytearray(b"\xff\xd1\x66" * width)
                cy, r = 570, 170
                if abs(y - cy) < r:
                    half = int((r * r - (y - cy) ** 2) ** 0.5)
                    row[3 * (399 - half) : 3 * (399 + half)] = b"\x2a\x9d\x8f" * (2 * half)
                row = bytes(row)
            elif 860 < y < 1000 and (y // 30) % 2 == 0:
                row = b"\xff\xd1\x66" * 120 + b"\x26\x46\x53" * 558 + b"\xff\xd1\x66" * 120
            else:
                row = b"\xff\xd1\x66" * width
            rows.append(row)
        return pdf_document(
            [
                (
                    ["Fête de quartier – samedi 13 juin 2026"],
                    [(width, height, "DeviceRGB", b"".join(rows))],
                )
            ],
            "Adobe InDesign 19.0 (Windows)",
            created,
        )

    def chart() -> bytes:
        width, height = 684, 760  # 2052-byte rows: 36 base64 lines each
        bars = [(60, 180, 420), (200, 320, 560), (340, 460, 300), (480, 600, 640)]
        rows = []
        for y in range(height):
            row = bytearray(b"\xff\xff\xff" * width)
            for x0, x1, top in bars:
                if y >= height - top:
                    row[3 * x0 : 3 * x1] = b"\x44\x72\xc4" * (x1 - x0)
            if y == height - 40:
                row[:] = b"\x40\x40\x40" * width
            rows.append(bytes(row))
        pages = [
            (
                [
                    "Rapport d'activité 2025",
                    "",
                    "1. Vie de l'association : 142 adhérents, 38 bénévoles actifs.",
                    "2. Événements : fête de quartier, forum, repair café mensuel.",
                    "3. Finances : voir le compte de résultat en annexe.",
                ],
                [],
            ),
            (
                ["Fréquentation des activités 2022-2025"],
                [(width, height, "DeviceRGB", b"".join(rows))],
            ),
        ]
        return pdf_document(pages, "Microsoft® Word pour Microsoft 365", created)

    def scan_pdf(pages: int, width: int, height: int, dpi: int, producer: str) -> bytes:
        return pdf_document(
            [
                ([], [(width, height, "DeviceGray", gray_scan(width, height, rng, dpi))])
                for _ in range(pages)
            ],
            producer,
            created,
        )

    files = {
        # >= 5 MB
        "pv_tiff": box.file(
            "pv_tiff", lambda: tiff_gray(2508, 3508, gray_scan(2508, 3508, rng, 300), 300)
        ),
        "photo_big": box.file("photo_big", lambda: jpeg_texture(4000, 3000, texture, 30)),
        "convention": box.file(
            "convention", lambda: scan_pdf(2, 1710, 2394, 200, "HP Scan – Numérisation")
        ),
        "statuts": box.file(
            "statuts", lambda: scan_pdf(3, 1254, 1754, 150, "Canon MF Scan Utility")
        ),
        # 1 to 3 MB, would shrink a lot
        "photo_mid": box.file("photo_mid", lambda: jpeg_texture(2592, 1944, photo, 27)),
        "photo_old": box.file("photo_old", lambda: jpeg_texture(3264, 2448, photo, 20)),
        "screenshot": box.file(
            "screenshot", lambda: png_rgb(1366, 400, screenshot_rows(1366, 400, rng))
        ),
        "bmp": box.file("bmp", lambda: bmp_photo(912, 684)),
        "poster": box.file("poster", poster),
        "report": box.file("report", chart),
        # small
        "logo": box.file("logo", lambda: png_rgb(120, 40, [b"\x2b\x57\x9a" * 120] * 40)),
    }
    return files


# --- newsletters ---------------------------------------------------------------------------

MONTHS_FR = "janvier février mars avril mai juin juillet août septembre octobre".split()
PROMOS = [
    "−30 % sur les ramettes de papier recyclé",
    "Spécial rentrée : classeurs, agendas et trieurs",
    "Vos cartouches d'encre à prix mini",
    "Dernier jour : livraison offerte dès 49 €",
    "Nouveau : le catalogue fournitures 2027 est arrivé",
    "Vente flash sur les enveloppes kraft",
    "Offre associations : -15 % sur tout le site",
    "Vos étiquettes adresse personnalisées",
]


def newsletter_body(box: Mailbox, title: str, intro: str, link: str, items: list[str]) -> Part:
    text = f"{title}\n\n{intro}\n\n" + "".join(f"* {item}\n  {link}\n" for item in items)
    text += (
        "\nVous recevez ce message car vous êtes inscrit à notre lettre.\n"
        f"Se désinscrire : {link}/desinscription\n"
    )
    cells = "".join(
        f'<tr><td style="padding:12px;font-family:Arial,sans-serif;font-size:15px">'
        f'<a href="{link}?utm_source=lettre&amp;utm_medium=email">{item}</a></td></tr>'
        for item in items
    )
    html = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>'
        f'{title}</title></head><body style="margin:0;background:#f4f4f4">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
        f'<tr><td><img src="{link}/img/bandeau.png" width="600" alt="{title}"></td></tr>'
        f'<tr><td style="padding:12px;font-family:Arial,sans-serif">{intro}</td></tr>'
        f"{cells}"
        f'<tr><td style="font-size:11px;color:#888"><a href="{link}/desinscription">'
        "Se désinscrire</a></td></tr></table>"
        f'<img src="{link}/o/{box.mime.token(10)}.gif" width="1" height="1" alt=""></body></html>'
    )
    return box.mime.multipart(
        "alternative",
        [
            box.text(text, cte="quoted-printable"),
            box.text(html, subtype="html", cte="quoted-printable"),
        ],
    )


def add_newsletters(box: Mailbox) -> None:
    # Bureau Discount: weekly, RFC 8058 one-click; unread for months (the rule's target).
    first = datetime(2026, 1, 8, 7, 30, tzinfo=UTC)
    for week in range(43):
        when = first + timedelta(weeks=week, minutes=week % 5)
        if when > REF:
            break
        subject = PROMOS[week % len(PROMOS)]
        folder = "Trash" if when < datetime(2026, 3, 1, tzinfo=UTC) else "Inbox"
        recent = when >= datetime(2026, 5, 1, tzinfo=UTC)
        seen = (when.month == 6 and when.day <= 7) if recent else week % 2 == 0
        box.add(
            folder,
            Mail(
                when,
                BUREAU,
                [ME],
                subject,
                newsletter_body(
                    box,
                    "Bureau Discount",
                    f"{subject} – offre valable jusqu'à dimanche.",
                    "https://bureau-discount.example.com/promo",
                    [
                        "Papier A4 80 g, carton de 5 ramettes",
                        "Stylos bille, boîte de 50",
                        "Agenda 2027",
                    ],
                ),
                seen=seen,
                style="b",
                headers=[
                    ("List-Id", "Offres Bureau Discount <offres.bureau-discount.example.com>"),
                    (
                        "List-Unsubscribe",
                        "<https://bureau-discount.example.com/u/7f3a9c2e>,\n "
                        "<mailto:desabonnement@bureau-discount.example.com?subject=unsubscribe>",
                    ),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                    ("Precedence", "bulk"),
                    ("Feedback-ID", "promo:bureau-discount:esp"),
                ],
            ),
        )
    # Réseau des associations: monthly Sympa list, mostly read.
    for month in range(12):
        when = datetime(2025, 11, 4, 16, 0, tzinfo=UTC) + timedelta(days=30.4 * month)
        title = f"La lettre du réseau – n° {87 + month}"
        box.add(
            "Inbox",
            Mail(
                when,
                RESEAU,
                [ME],
                title,
                newsletter_body(
                    box,
                    title,
                    "Formations, appels à projets et actualités des associations du département.",
                    "https://reseau-associations.example.org/lettre",
                    [
                        "Formation : tenir sa comptabilité associative",
                        "Appel à projets « Vivre ensemble » : dépôt avant le 15 du mois",
                        "RGPD : le registre des traitements en 5 étapes",
                    ],
                ),
                seen=month not in (9, 11),
                headers=[
                    ("List-Id", "La lettre du réseau <lettre.reseau-associations.example.org>"),
                    (
                        "List-Unsubscribe",
                        "<mailto:sympa@reseau-associations.example.org?subject=unsubscribe%20lettre>",
                    ),
                    ("Precedence", "list"),
                ],
            ),
        )
    # Billetterie Solidaire: every two weeks, HTTPS unsubscribe without one-click.
    for n in range(13):
        when = datetime(2026, 5, 5, 9, 15, tzinfo=UTC) + timedelta(weeks=2 * n)
        subject = [
            "Vendez vos billets sans commission",
            "Nouveau : l'adhésion en ligne pour votre association",
            "Vos événements de l'été",
            "Astuce : le reçu fiscal automatique",
        ][n % 4]
        box.add(
            "Inbox",
            Mail(
                when,
                BILLETTERIE,
                [ME],
                subject,
                newsletter_body(
                    box,
                    "Billetterie Solidaire",
                    subject,
                    "https://billetterie-solidaire.example.com/news",
                    ["Créer un événement", "Suivre vos ventes", "Témoignage : un club de théâtre"],
                ),
                seen=n % 2 == 1,
                headers=[
                    (
                        "List-Unsubscribe",
                        "<https://billetterie-solidaire.example.com/unsubscribe/ab12cd>",
                    ),
                    ("Precedence", "bulk"),
                ],
            ),
        )
    # Ville: monthly municipal letter, read.
    for month in range(10):
        when = datetime(2026, 1, 12, 8, 0, tzinfo=UTC) + timedelta(days=30.5 * month)
        title = f"Lettre de la vie associative – {MONTHS_FR[month]} 2026"
        box.add(
            "Inbox",
            Mail(
                when,
                VILLE,
                [ME],
                title,
                newsletter_body(
                    box,
                    title,
                    "Les informations de la Ville pour les associations.",
                    "https://ville.example.fr/associations",
                    [
                        "Réservation des salles municipales",
                        "Forum des associations",
                        "Subventions 2027",
                    ],
                ),
                seen=month not in (4, 8),
                headers=[
                    ("List-Id", "<vie-associative.ville.example.fr>"),
                    (
                        "List-Unsubscribe",
                        "<mailto:lettre-info@ville.example.fr?subject=desinscription>,\n "
                        "<https://ville.example.fr/lettre/desinscription>",
                    ),
                    ("Precedence", "list"),
                ],
            ),
        )


# --- people's mail -------------------------------------------------------------------------


def add_inbox(box: Mailbox, files: dict[str, bytes]) -> None:
    m = box.mime
    add = box.add

    ag = add(
        "Inbox",
        Mail(
            ago(45, 18, 12),
            MARIE,
            [ME],
            "Préparation de l'assemblée générale 2026",
            box.text(
                "Bonjour Claire,\n\nL'assemblée générale aura lieu le samedi 28 novembre à 14 h "
                "à la salle polyvalente.\nPeux-tu préparer la convocation et la liste des "
                "adhérents à jour de cotisation ?\nOrdre du jour : rapport moral, rapport "
                "financier, élection du bureau, projets 2027.\n\nMerci !\nMarie\n"
            ),
            cc=[JEAN],
            mozilla=0x0002,
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(44, 7, 40),
            JEAN,
            [ME, MARIE],
            "Re: Préparation de l'assemblée générale 2026",
            box.with_files(
                "Bonjour à toutes les deux,\n\nVoici le budget prévisionnel 2027 et la facture "
                "de l'été pour le rapport financier.\n\nJean\n",
                m.attachment(
                    "Poste;Réalisé 2026;Prévisionnel 2027\nAdhésions;2840;3000\n"
                    "Subvention Ville;1500;1800\nFête de quartier;-1210;-1300\n"
                    "Assurance;-412;-430\n".encode(),
                    "text/csv",
                    "Budget_prévisionnel_2027.csv",
                ),
                m.attachment(
                    text_pdf(
                        "Facture n° 2026-0812",
                        ["Location de barnums – fête de quartier", "Total TTC : 480,00 €"],
                        ago(80),
                    ),
                    "application/pdf",
                    "Facture_été.pdf",
                ),
            ),
            reply_to_id=ag.msgid,
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(140, 19, 5),
            JEAN,
            [ME, MARIE, HELENE, PAUL, AHMED],
            "Photos de la fête de quartier",
            box.with_files(
                "Salut à tous,\n\nQuelques photos de samedi, quelle belle journée !\n"
                "Les autres suivent.\n\nJean\n",
                m.attachment(files["photo_big"], "image/jpeg", "IMG_20260613_153012.jpg"),
                m.attachment(files["photo_mid"], "image/jpeg", "IMG_20260613_160544.jpg"),
            ),
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(20, 11, 30),
            MARIE,
            [ME],
            "PV de l'AG extraordinaire signé (scan)",
            box.with_files(
                "Claire,\n\nVoici le procès-verbal signé, scanné à la médiathèque.\n"
                "Peux-tu l'envoyer à la préfecture avec la déclaration de modification ?\n\n"
                "Marie\n",
                m.attachment(
                    files["pv_tiff"],
                    "image/tiff",
                    "Procès-verbal de l'assemblée générale extraordinaire 2026 signé.tiff",
                ),
            ),
        ),
    )
    salle = Mail(
        ago(60, 8, 50),
        MAIRIE,
        [MARIE],
        "Attribution de la salle polyvalente – saison 2026-2027",
        box.with_files(
            "Madame la Présidente,\n\nNous avons le plaisir de vous confirmer l'attribution de "
            "la salle polyvalente le mardi de 18 h à 21 h et le samedi 28 novembre 2026.\n"
            "Vous trouverez le planning en pièce jointe.\n\nLe service Vie associative\n",
            m.attachment(
                text_pdf(
                    "Planning des salles municipales 2026-2027",
                    [f"Créneau {i}: association n° {100 + i}" for i in range(40)],
                    ago(61),
                ),
                "application/pdf",
                "Planning_salles_2026-2027.pdf",
                style="outlook",
            ),
        ),
        style="b",
    )
    salle.msgid = box.msgid(salle.when, "ville.example.fr")
    add(
        "Inbox",
        Mail(
            ago(59, 17, 2),
            MARIE,
            [ME],
            "Tr: Attribution de la salle polyvalente – saison 2026-2027",
            m.multipart(
                "mixed",
                [
                    box.text("Pour info et pour le classement. Bonne soirée !\nMarie\n"),
                    m.forward(render(salle)),
                ],
            ),
        ),
    )
    planning = add(
        "Inbox",
        Mail(
            ago(62, 20, 45),
            HELENE,
            [ME],
            "Planning des bénévoles – forum des associations",
            box.with_files(
                "Coucou Claire,\n\nJe t'envoie une capture du tableau des créneaux, il reste "
                "des trous le dimanche après-midi.\n\nHélène\n",
                m.attachment(
                    files["screenshot"],
                    "image/png",
                    "Capture d'écran 2026-08-31 à 20.41.07.png",
                    style="outlook",
                ),
            ),
            style="b",
            mozilla=0x0002,
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(61, 9, 5),
            PAUL,
            [HELENE],
            "Re: Planning des bénévoles – forum des associations",
            box.text("Je peux prendre le créneau de 14 h à 16 h le dimanche.\nPaul\n"),
            cc=[ME],
            reply_to_id=planning.msgid,
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(33, 12, 20),
            SOPHIE,
            [ME],
            "Adhésion 2026-2027",
            box.with_files(
                "Bonjour,\n\nVous trouverez ci-joint mon bulletin d'adhésion. Je règle la "
                "cotisation par virement.\n\nBien cordialement,\nSophie Bernard\n",
                m.attachment(
                    text_pdf(
                        "Bulletin d'adhésion 2026-2027",
                        ["Nom : Bernard", "Prénom : Sophie"],
                        ago(34),
                    ),
                    "application/pdf",
                    "Bulletin_adhésion_Sophie_Bernard.pdf",
                ),
            ),
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(30, 15, 10),
            LUCIE,
            [ME],
            "Adhésion + photo pour le trombinoscope",
            box.with_files(
                "Bonjour Claire,\n\nVoici ma photo pour le trombinoscope des bénévoles "
                "(c'est le scanner de la maison qui l'a faite, désolée pour le format).\n\nLucie\n",
                m.attachment(files["bmp"], "image/bmp", "photo_lucie.bmp"),
            ),
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(150, 10, 30),
            IMPRIMERIE,
            [ME],
            "BAT affiche fête de quartier",
            box.with_files(
                "Bonjour,\n\nVeuillez trouver ci-joint le bon à tirer de votre affiche A3 "
                "(200 exemplaires). Merci de nous retourner votre accord.\n\n"
                "L'Imprimerie du Centre\n",
                m.attachment(files["poster"], "application/pdf", "BAT_affiche_fete_2026.pdf"),
            ),
            style="b",
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(25, 9, 0),
            ASSURANCE,
            [ME],
            "Votre attestation d'assurance 2027",
            box.with_files(
                "Madame, Monsieur,\n\nVeuillez trouver ci-joint l'attestation d'assurance "
                "responsabilité civile de votre association pour 2027.\n\n"
                "Votre conseiller\n",
                m.attachment(
                    text_pdf(
                        "Attestation d'assurance", ["Contrat RC associations n° 558201"], ago(26)
                    ),
                    "application/pdf",
                    "Attestation_RC_2027.pdf",
                ),
            ),
            style="b",
        ),
    )
    dispo = add(
        "Inbox",
        Mail(
            ago(12, 18, 30),
            AHMED,
            [ME],
            "Disponibilités bénévoles en novembre",
            box.text(
                "Bonjour Claire,\n\nJe suis disponible les samedis 7 et 21 novembre pour le "
                "repair café, et bien sûr pour l'AG.\n\nAhmed\n"
            ),
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(100, 6, 0),
            PAUL,
            [ME],
            "Réponse automatique : Absent jusqu'au 25 juillet",
            box.text(
                "Bonjour,\n\nJe suis en congés jusqu'au 25 juillet inclus, avec un accès limité "
                "à ma messagerie.\n\nPaul Lefebvre\n"
            ),
            headers=[("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")],
        ),
    )
    bounced = Mail(
        ago(8, 9, 58),
        ME,
        [Person("", "ancien.adherent@example.com")],
        "Relance : cotisation 2026-2027",
        box.text(
            "Bonjour,\n\nSauf erreur de notre part, votre cotisation n'est pas réglée.\n"
            + SIGNATURE
        ),
        inbound=False,
    )
    bounced.msgid = box.msgid(bounced.when, ASSO)
    add(
        "Inbox",
        Mail(
            ago(8, 10, 0),
            DAEMON,
            [ME],
            "Undelivered Mail Returned to Sender",
            m.multipart(
                "report",
                [
                    box.text(
                        "This is the mail system at host mail.example.net.\n\n"
                        "I'm sorry to have to inform you that your message could not\n"
                        "be delivered to one or more recipients.\n\n"
                        "<ancien.adherent@example.com>: host mx.example.com said: 550 5.1.1 "
                        "User unknown\n"
                    ),
                    Part(
                        [("Content-Type", "message/delivery-status")],
                        b"Reporting-MTA: dns; mail.example.net\n\n"
                        b"Final-Recipient: rfc822; ancien.adherent@example.com\n"
                        b"Action: failed\nStatus: 5.1.1\n"
                        b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\n",
                    ),
                    Part([("Content-Type", "message/rfc822")], render(bounced)),
                ],
                extra=" report-type=delivery-status;",
            ),
            headers=[("Auto-Submitted", "auto-replied")],
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(16, 13, 0),
            MARIE,
            [ME, JEAN],
            "Invitation : réunion du bureau le 5 novembre",
            m.multipart(
                "mixed",
                [
                    box.text("Réunion du bureau le jeudi 5 novembre à 19 h, chez moi.\nMarie\n"),
                    m.attachment(
                        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Demo//FR\r\nBEGIN:VEVENT\r\n"
                        b"UID:bureau-20261105@amisduquartier.example.org\r\n"
                        b"DTSTART:20261105T180000Z\r\nDTEND:20261105T200000Z\r\n"
                        b"SUMMARY:R\xc3\xa9union du bureau\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                        "text/calendar",
                        "invite.ics",
                    ),
                ],
            ),
        ),
    )
    for n, (days, subject) in enumerate(
        [
            (62, "Votre relevé de compte d'août"),
            (31, "Votre relevé de compte de septembre"),
            (1, "Votre relevé de compte d'octobre"),
        ]
    ):
        add(
            "Inbox",
            Mail(
                ago(days, 4, n),
                BANQUE,
                [ME],
                subject,
                box.text(
                    "Bonjour,\n\nVotre relevé de compte est disponible dans votre espace "
                    "client.\n\nCe message est envoyé automatiquement, "
                    "merci de ne pas y répondre.\n"
                ),
                seen=days > 2,
                headers=[("Auto-Submitted", "auto-generated")],
                style="b",
            ),
        )
    # Outlook-style mail with a signature logo (an inline part counts as an attachment).
    add(
        "Inbox",
        Mail(
            ago(5, 14, 45),
            FRANCOIS,
            [ME],
            "Proposition de partenariat – repair café",
            m.multipart(
                "related",
                [
                    box.text(
                        "<p>Bonjour,</p><p>Notre entreprise souhaite soutenir le repair café. "
                        "Pouvons-nous en parler ?</p><p>François Leroy</p>"
                        '<img src="cid:image001.png@01DB2A4C.5E8F1A20">',
                        subtype="html",
                        cte="quoted-printable",
                    ),
                    m.attachment(
                        files["logo"],
                        "image/png",
                        "image001.png",
                        inline_cid="image001.png@01DB2A4C.5E8F1A20",
                    ),
                ],
                extra=' type="text/html";',
            ),
            seen=False,
            style="b",
        ),
    )
    add(
        "Inbox",
        Mail(
            ago(2, 19, 20),
            HELENE,
            [ME],
            "Covoiturage pour l'AG",
            box.text("Je peux emmener trois personnes depuis la gare. Hélène\n"),
            seen=False,
        ),
    )
    # A message deleted in Thunderbird but not yet compacted away: collectors skip it.
    add(
        "Inbox",
        Mail(
            ago(3, 8, 0),
            BUREAU,
            [ME],
            "Dernière chance : -50 % sur le papier",
            box.text("Offre réservée aux associations."),
            seen=True,
            mozilla=0x0008,
            style="b",
        ),
    )
    # Read mail from before the last three years.
    old = [
        (
            1840,
            MARIE,
            "Renouvellement du bureau 2021",
            "Les candidatures sont à envoyer avant le 30.",
        ),
        (
            1790,
            JEAN,
            "Compte rendu de la réunion du 12 octobre",
            "Voici le compte rendu, à relire.",
        ),
        (
            1600,
            HELENE,
            "Idées pour la fête de quartier 2022",
            "Une tombola, un concours de gâteaux ?",
        ),
        (
            1480,
            MAIRIE,
            "Subvention 2022 – notification",
            "Une subvention de 1 200 € vous est attribuée.",
        ),
        (1400, PAUL, "Clés de la salle", "J'ai déposé les clés à l'accueil de la mairie."),
        (1300, MARIE, "Bonne année 2023 !", "Meilleurs vœux à toute l'équipe !"),
        (
            1250,
            SOPHIE,
            "Question sur l'adhésion famille",
            "L'adhésion famille couvre-t-elle les enfants ?",
        ),
        (
            1150,
            JEAN,
            "Nouvelle banque : RIB de l'association",
            "Le nouveau RIB est en pièce jointe.",
        ),
    ]
    for days, who, subject, line in old:
        body: Part
        if "RIB" in subject:
            body = box.with_files(
                f"Bonjour,\n\n{line}\n\n{who.name.split()[0]}\n",
                m.attachment(
                    text_pdf("Relevé d'identité bancaire", ["IBAN FR76 XXXX"], ago(days)),
                    "application/pdf",
                    "RIB_association.pdf",
                ),
            )
        else:
            body = box.text(f"Bonjour,\n\n{line}\n\n{who.name.split()[0]}\n")
        add("Inbox", Mail(ago(days, 9, 15), who, [ME], subject, body))
    # The same messages fetched twice (a POP client re-downloaded them): duplicate Message-IDs.
    inbox = box.folders["Inbox"]
    for original in (ag, dispo, inbox[-3]):
        again = (original.received or original.when) + timedelta(days=1, minutes=3)
        inbox.append(dataclasses.replace(original, received=again))


def add_sent(box: Mailbox, files: dict[str, bytes]) -> None:
    m = box.mime

    def sent(days: float, to: list[Person], subject: str, body: Part, **kw: Any) -> Mail:
        when = ago(days, 8 + int(days * 3) % 12, int(days) % 60)
        return box.add("Sent", Mail(when, ME, to, subject, body, inbound=False, **kw))

    sent(
        11,
        [ME],
        "Convocation à l'assemblée générale du 28 novembre 2026",
        box.with_files(
            "Chères adhérentes, chers adhérents,\n\nVous êtes convoqués à l'assemblée générale "
            "ordinaire le samedi 28 novembre 2026 à 14 h, salle polyvalente.\n"
            "Vous trouverez la convocation et un pouvoir en pièces jointes.\n" + SIGNATURE,
            m.attachment(
                text_pdf(
                    "Convocation", ["Assemblée générale ordinaire du 28 novembre 2026"], ago(12)
                ),
                "application/pdf",
                "Convocation_AG_2026.pdf",
            ),
            m.attachment(
                text_pdf("Pouvoir", ["Je soussigné(e) ... donne pouvoir à ..."], ago(12)),
                "application/pdf",
                "Pouvoir_AG_2026.pdf",
            ),
        ),
        headers=[("Bcc", ", ".join(p.email for p in MEMBERS))],
    )
    sent(
        38,
        [MAIRIE],
        "Convention de partenariat signée",
        box.with_files(
            "Madame, Monsieur,\n\nVeuillez trouver ci-joint la convention de partenariat signée "
            "par notre présidente.\n" + SIGNATURE,
            m.attachment(
                files["convention"], "application/pdf", "Convention_partenariat_signée_2026.pdf"
            ),
        ),
    )
    sent(
        139,
        [HELENE, PAUL, AHMED, LUCIE, SOPHIE],
        "Fwd: Photos de la fête de quartier",
        box.with_files(
            "Bonjour à tous,\n\nLa plus belle photo de Jean, pour ceux qui ne l'ont pas reçue.\n"
            + SIGNATURE,
            m.attachment(files["photo_big"], "image/jpeg", "IMG_20260613_153012.jpg"),
        ),
    )
    sent(
        70,
        [MAIRIE],
        "Demande de subvention 2027",
        box.with_files(
            "Madame, Monsieur,\n\nNous sollicitons une subvention de fonctionnement pour 2027. "
            "Notre rapport d'activité est joint.\n" + SIGNATURE,
            m.attachment(files["report"], "application/pdf", "Rapport_activité_2025.pdf"),
        ),
    )
    for days, to, subject, text in [
        (
            44.5,
            [MARIE, JEAN],
            "Re: Préparation de l'assemblée générale 2026",
            "C'est noté, je m'en occupe.",
        ),
        (32, [SOPHIE], "Re: Adhésion 2026-2027", "Bien reçu, merci et bienvenue !"),
        (149, [IMPRIMERIE], "Re: BAT affiche fête de quartier", "Bon pour accord, merci."),
        (
            58,
            [MARIE],
            "Re: Tr: Attribution de la salle polyvalente – saison 2026-2027",
            "Classé, merci.",
        ),
        (
            61.5,
            [HELENE, PAUL],
            "Re: Planning des bénévoles – forum des associations",
            "Merci Paul !",
        ),
        (
            8.2,
            [Person("", "ancien.adherent@example.com")],
            "Relance : cotisation 2026-2027",
            "Sauf erreur, votre cotisation n'est pas réglée.",
        ),
        (
            8.1,
            [LUCIE],
            "Relance : cotisation 2026-2027",
            "Sauf erreur, votre cotisation n'est pas réglée.",
        ),
        (
            8.0,
            [FRANCOIS],
            "Relance : cotisation 2026-2027",
            "Sauf erreur, votre cotisation n'est pas réglée.",
        ),
        (
            19,
            [MARIE],
            "Re: PV de l'AG extraordinaire signé (scan)",
            "Envoyé à la préfecture ce matin.",
        ),
        (11.5, [AHMED], "Re: Disponibilités bénévoles en novembre", "Super, je t'inscris."),
        (
            4,
            [FRANCOIS],
            "Re: Proposition de partenariat – repair café",
            "Avec plaisir, appelons-nous jeudi.",
        ),
        (
            22,
            MEMBERS,
            "Compte rendu du bureau du 8 octobre",
            "Présents : Marie, Jean, Claire. Décisions : date de l'AG, budget 2027.",
        ),
        (1500, [MARIE], "Re: Idées pour la fête de quartier 2022", "Oui pour la tombola !"),
        (
            1420,
            [MAIRIE],
            "Demande de salle pour 2022-2023",
            "Nous souhaitons renouveler notre créneau du mardi.",
        ),
        (1320, MEMBERS, "Cotisations 2023", "Le montant reste à 15 € par personne."),
        (
            1180,
            [JEAN],
            "Re: Nouvelle banque : RIB de l'association",
            "Merci, je mets à jour le site.",
        ),
        (1120, [PAUL], "Merci pour la galette !", "Merci pour l'organisation de dimanche."),
    ]:
        sent(days, to, subject, box.text(f"Bonjour,\n\n{text}\n" + SIGNATURE))


def add_trash(box: Mailbox, files: dict[str, bytes]) -> None:
    m = box.mime
    add = box.add
    add(
        "Trash",
        Mail(
            ago(91, 22, 10),
            Person("Service Gagnant", "promo@gagnant.example.com"),
            [ME],
            "Félicitations ! Vous avez gagné une tablette",
            box.text("Cliquez ici pour réclamer votre lot : http://gagnant.example.com/lot\n"),
            seen=False,
            style="b",
        ),
    )
    add(
        "Trash",
        Mail(
            ago(138, 7, 55),
            JEAN,
            [ME],
            "Photo fête (doublon)",
            box.with_files(
                "Je te la renvoie au cas où.\nJean\n",
                m.attachment(files["photo_mid"], "image/jpeg", "IMG_20260613_160544.jpg"),
            ),
        ),
    )
    add(
        "Trash",
        Mail(
            ago(47, 3, 12),
            Person("Service Facturation", "facturation@factures-en-ligne.example.com"),
            [ME],
            "Facture impayée n° 2026-0915",
            box.with_files(
                "Votre facture est en pièce jointe. Merci de régler sous 48 h.\n",
                # truncated base64: the message is kept but marked malformed
                m.attachment(
                    b"PK\x03\x04" + bytes(range(256)) * 40,
                    "application/zip",
                    "Facture_2026-0915.zip",
                    style="broken",
                ),
            ),
            seen=False,
            style="b",
        ),
    )
    add(
        "Trash",
        Mail(
            ago(300, 18, 0),
            HELENE,
            [ME, MARIE],
            "Re: Galette des rois ?",
            box.text("Dimanche 11 janvier, ça vous va ?\nHélène\n"),
        ),
    )
    add(
        "Trash",
        Mail(
            ago(75, 9, 0),
            ME,
            [ME],
            "Brouillon : mot d'accueil du forum",
            box.text("Bienvenue au forum des associations ! (à compléter)\n"),
            inbound=False,
        ),
    )
    # Deleted in the last 30 days.
    for days, who, subject in [
        (21, Person("Livraison Express", "suivi@colis.example.com"), "Votre colis est en route"),
        (14, PAUL, "Re: Covoiturage forum"),
        (6, AHMED, "Test"),
        (
            3,
            Person("Sondage Express", "avis@sondage.example.com"),
            "Donnez votre avis et gagnez 100 €",
        ),
    ]:
        add("Trash", Mail(ago(days, 12, 0), who, [ME], subject, box.text("…\n"), seen=days < 10))


def add_archives(box: Mailbox, files: dict[str, bytes]) -> None:
    m = box.mime
    add = box.add
    add(
        "Archives",
        Mail(
            ago(1700, 16, 20),
            MARIE,
            [ME],
            "Statuts modifiés – version signée",
            box.with_files(
                "Voici les statuts signés, à conserver précieusement.\nMarie\n",
                m.attachment(files["statuts"], "application/pdf", "Statuts_2022_signés.pdf"),
            ),
        ),
    )
    add(
        "Archives",
        Mail(
            ago(1390, 20, 0),
            JEAN,
            [ME, MARIE, HELENE],
            "Photos de la galette 2023",
            box.with_files(
                "Quelques souvenirs de dimanche.\nJean\n",
                m.attachment(files["photo_old"], "image/jpeg", "DSC_0412.JPG"),
            ),
        ),
    )
    topics = [
        (MARIE, "Ordre du jour de l'AG 2021"),
        (JEAN, "Bilan financier 2021"),
        (MAIRIE, "Convention d'occupation de salle 2021-2022"),
        (HELENE, "Liste des bénévoles 2022"),
        (PAUL, "Matériel prêté par la MJC"),
        (MARIE, "AG 2022 : compte rendu"),
        (SOPHIE, "Merci pour l'accueil !"),
        (AHMED, "Repair café : premières dates"),
        (JEAN, "Clôture des comptes 2022"),
        (MARIE, "AG 2023 : convocation"),
        (HELENE, "Fête de quartier 2023 : bilan"),
        (MAIRIE, "Subvention 2023 – notification"),
        (PAUL, "Assurance : déclaration de sinistre"),
        (LUCIE, "Première adhésion"),
        (JEAN, "Nouveaux tarifs bancaires"),
        (MARIE, "Départ de la trésorière adjointe"),
        (RESEAU, "La lettre du réseau – n° 41"),
        (RESEAU, "La lettre du réseau – n° 47"),
        (RESEAU, "La lettre du réseau – n° 52"),
    ]
    for n, (who, subject) in enumerate(topics):
        days = 1850 - n * 37
        headers = []
        if who is RESEAU:
            headers = [
                ("List-Id", "La lettre du réseau <lettre.reseau-associations.example.org>"),
                (
                    "List-Unsubscribe",
                    "<mailto:sympa@reseau-associations.example.org?subject=unsubscribe%20lettre>",
                ),
                ("Precedence", "list"),
            ]
        add(
            "Archives",
            Mail(
                ago(days, 9 + n % 9, n),
                who,
                [ME],
                subject,
                box.text(f"Bonjour,\n\n{subject}.\n"),
                headers=headers,
            ),
        )


def build_folders() -> dict[str, bytes]:
    """Every demo folder as uncompressed mbox bytes, in a fixed order."""
    box = Mailbox()
    files = make_files(box)
    add_newsletters(box)
    add_inbox(box, files)
    add_sent(box, files)
    add_trash(box, files)
    add_archives(box, files)
    out = {}
    for name in FOLDERS:
        mails = sorted(
            box.folders[name],
            key=lambda mail: (
                mail.received or mail.when + timedelta(seconds=7 if mail.inbound else 0)
            ),
        )
        out[name] = b"".join(mbox_entry(mail) for mail in mails)
    return out


def write(out_dir: Path) -> list[Path]:
    """Write FOLDER.mbox.gz files (gzip header without name or time, so reproducible)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in build_folders().items():
        target = out_dir / f"{name}.mbox.gz"
        tmp = target.with_suffix(".tmp")
        with (
            tmp.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
        ):
            gz.write(data)
        tmp.replace(target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    total = 0
    for path in write(args.out):
        size = path.stat().st_size
        total += size
        print(f"{path}  {size:,} bytes")
    print(f"total {total:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

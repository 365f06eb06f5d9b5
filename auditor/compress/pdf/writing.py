"""Writing a light PDF: lossless stream recompression, object streams, a compressed xref.

Every Flate stream is re-deflated at level 9 (the stored bytes only: predictors and the rest
of the filter chain are kept, so this is lossless), unfiltered and ASCII-armoured streams are
deflated; the file is written with object streams and a compressed cross-reference stream
(pypdf itself only writes a classic xref table), as `qpdf --object-streams=generate` does.
"""

from __future__ import annotations

import io
import re
import zlib
from typing import Any

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    StreamObject,
)

from auditor.compress.pdf.analysis import ASCII, FLATE, filter_names, resolve

MAX_STREAM_BYTES = 200_000_000  # a stream inflating beyond this is left alone (zip bomb)
OBJECTS_PER_STREAM = 100  # objects per object stream, as qpdf


def _objects(writer: PdfWriter) -> list[Any]:
    return writer._objects  # pypdf has no public list of a writer's objects


def recompress_streams(writer: PdfWriter) -> None:
    """Deflate every stream at level 9, losslessly (stored bytes only, filters kept)."""
    for obj in _objects(writer):
        if isinstance(obj, StreamObject) and obj.get("/Type") != "/Metadata":
            try:
                _recompress(obj)
            except (zlib.error, ValueError, TypeError):
                continue


def _inflate(data: bytes) -> bytes | None:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_STREAM_BYTES)
    if inflater.unconsumed_tail or not inflater.eof:
        return None  # larger than the limit, or truncated: leave it
    return out


def _recompress(stream: StreamObject) -> None:
    """Re-deflate one stream's stored bytes; strip ASCII armour (25 to 100 % overhead)."""
    filters = filter_names(stream)
    data = stream._data
    armoured = "/DecodeParms" not in stream and bool(filters) and filters[0] in ASCII
    while armoured and filters and filters[0] in ASCII:
        data = ASCII[filters[0]].decode(data)
        filters = filters[1:]
    if not filters:
        new, filters = zlib.compress(data, 9), ["/FlateDecode"]
    elif filters[0] in FLATE:
        raw = _inflate(data)
        if raw is None:
            return
        new = zlib.compress(raw, 9)
    else:
        new = data
    if len(new) >= len(stream._data):
        return
    stream._data = new
    stream.decoded_self = None
    if len(filters) == 1:
        stream[NameObject("/Filter")] = NameObject(filters[0])
    else:
        stream[NameObject("/Filter")] = ArrayObject(NameObject(f) for f in filters)


def drop_pdfa_claim(writer: PdfWriter) -> None:
    """Remove pdfaid from the XMP metadata: a rewritten file is no longer proven PDF/A."""
    ref = writer.root_object.get("/Metadata")
    metadata = resolve(ref)
    if not isinstance(metadata, StreamObject):
        return
    text = metadata.get_data()
    text = re.sub(rb"\s+pdfaid:\w+\s*=\s*(\"[^\"]*\"|'[^']*')", b"", text)
    text = re.sub(rb"<pdfaid:(\w+)>[^<]*</pdfaid:\1>", b"", text)
    metadata._data = text
    metadata.decoded_self = None
    metadata.pop("/Filter", None)
    metadata.pop("/DecodeParms", None)


def serialize(writer: PdfWriter) -> bytes:
    """The file with object streams and an xref stream; pypdf's own writer as a fallback."""
    try:
        return _write_object_streams(writer)
    except (AttributeError, TypeError, ValueError, IndexError, KeyError):
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()


def _write_object_streams(writer: PdfWriter) -> bytes:
    """Write every non-stream object into compressed object streams (PDF 1.5, 7.5.7).

    Streams, the encryption dictionary and the xref stream stay top-level; in an encrypted
    file the strings inside an object stream are protected by the stream's own encryption.
    """
    encryption = getattr(writer, "_encryption", None)
    encrypt_entry = getattr(writer, "_encrypt_entry", None)
    resolve = getattr(writer, "_resolve_links", None)
    if callable(resolve):
        resolve()
    objects, mapping = _renumber(writer)
    out = io.BytesIO()
    version = re.match(r"%PDF-(\d)\.(\d)", writer.pdf_header)
    header = writer.pdf_header if version and version.groups() >= ("1", "5") else "%PDF-1.5"
    out.write(header.encode() + b"\n%\xe2\xe3\xcf\xd3\n")
    entries: dict[int, tuple[int, int, int]] = {0: (0, 0, 65535)}
    packed: list[tuple[int, Any]] = []
    for number, obj in enumerate(objects, start=1):
        if isinstance(obj, StreamObject) or obj is encrypt_entry:
            entries[number] = (1, out.tell(), 0)
            _write_object(out, number, obj, encryption if obj is not encrypt_entry else None)
        else:
            packed.append((number, obj))
    next_number = len(objects) + 1
    for start in range(0, len(packed), OBJECTS_PER_STREAM):
        chunk = packed[start : start + OBJECTS_PER_STREAM]
        stream = _object_stream(chunk)
        for index, (number, _) in enumerate(chunk):
            entries[number] = (2, next_number, index)
        entries[next_number] = (1, out.tell(), 0)
        _write_object(out, next_number, stream, encryption)
        next_number += 1
    _write_xref_stream(out, writer, entries, next_number, mapping, encrypt_entry)
    return out.getvalue()


def _renumber(writer: PdfWriter) -> tuple[list[Any], dict[int, int]]:
    """Number the live objects 1..n without holes, streams last (a shorter xref stream).

    Containers shared as direct objects are visited once, so no reference is mapped twice.
    """
    live = [(n, obj) for n, obj in enumerate(_objects(writer), start=1) if obj is not None]
    live.sort(key=lambda pair: isinstance(pair[1], StreamObject))  # packed objects first
    mapping = {old: new for new, (old, _) in enumerate(live, start=1)}
    seen: set[int] = set()

    def new_ref(ref: IndirectObject) -> PdfObject:
        if ref.pdf is not writer:
            raise ValueError("reference to another document")
        number = mapping.get(ref.idnum)
        return NullObject() if number is None else IndirectObject(number, 0, writer)

    def remap(obj: Any) -> None:
        if not isinstance(obj, (DictionaryObject, ArrayObject)) or id(obj) in seen:
            return
        seen.add(id(obj))
        pairs = list(obj.items()) if isinstance(obj, DictionaryObject) else enumerate(obj)
        for key, value in list(pairs):
            if isinstance(value, IndirectObject):
                obj[key] = new_ref(value)
            else:
                remap(value)

    for _, obj in live:
        remap(obj)
    return [obj for _, obj in live], mapping


def _write_object(out: io.BytesIO, number: int, obj: Any, encryption: Any) -> None:
    if encryption is not None:
        obj = encryption.encrypt_object(obj, number, 0)
    out.write(f"{number} 0 obj\n".encode())
    obj.write_to_stream(out)
    out.write(b"\nendobj\n")


def _object_stream(chunk: list[tuple[int, Any]]) -> StreamObject:
    body = io.BytesIO()
    offsets = []
    for number, obj in chunk:
        offsets.append(f"{number} {body.tell()}")
        obj.write_to_stream(body)
        body.write(b"\n")
    head = (" ".join(offsets) + "\n").encode()
    stream = StreamObject()
    stream[NameObject("/Type")] = NameObject("/ObjStm")
    stream[NameObject("/N")] = NumberObject(len(chunk))
    stream[NameObject("/First")] = NumberObject(len(head))
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream._data = zlib.compress(head + body.getvalue(), 9)
    return stream


def _write_xref_stream(
    out: io.BytesIO,
    writer: PdfWriter,
    entries: dict[int, tuple[int, int, int]],
    number: int,
    mapping: dict[int, int],
    encrypt_entry: Any,
) -> None:
    """A cross-reference stream (7.5.8) with PNG Up prediction, as qpdf writes it."""
    entries[number] = (1, out.tell(), 0)
    size = number + 1
    w2 = max(1, (max(e[1] for e in entries.values()).bit_length() + 7) // 8)
    w3 = max(2, (max(e[2] for e in entries.values()).bit_length() + 7) // 8)
    rows = bytearray()
    previous = bytes(1 + w2 + w3)
    for n in range(size):
        kind, f2, f3 = entries.get(n, (0, 0, 0))
        row = bytes([kind]) + f2.to_bytes(w2, "big") + f3.to_bytes(w3, "big")
        rows.append(2)  # PNG "Up" filter
        rows += bytes((a - b) & 0xFF for a, b in zip(row, previous, strict=True))
        previous = row
    xref = StreamObject()
    xref[NameObject("/Type")] = NameObject("/XRef")
    xref[NameObject("/Size")] = NumberObject(size)
    xref[NameObject("/W")] = ArrayObject([NumberObject(1), NumberObject(w2), NumberObject(w3)])
    root = writer.root_object.indirect_reference
    xref[NameObject("/Root")] = IndirectObject(mapping[root.idnum], 0, writer)
    info = writer._info
    if info is not None and info.indirect_reference is not None:
        info_number = mapping.get(info.indirect_reference.idnum)
        if info_number is not None:
            xref[NameObject("/Info")] = IndirectObject(info_number, 0, writer)
    identifiers = getattr(writer, "_ID", None)
    if identifiers is not None:
        xref[NameObject("/ID")] = identifiers
    if encrypt_entry is not None:
        encrypt_number = mapping[encrypt_entry.indirect_reference.idnum]
        xref[NameObject("/Encrypt")] = IndirectObject(encrypt_number, 0, writer)
    xref[NameObject("/Filter")] = NameObject("/FlateDecode")
    parms = DictionaryObject()
    parms[NameObject("/Predictor")] = NumberObject(12)
    parms[NameObject("/Columns")] = NumberObject(1 + w2 + w3)
    xref[NameObject("/DecodeParms")] = parms
    xref._data = zlib.compress(bytes(rows), 9)
    out.write(f"{number} 0 obj\n".encode())
    xref.write_to_stream(out)
    out.write(f"\nendobj\nstartxref\n{entries[number][1]}\n%%EOF\n".encode())

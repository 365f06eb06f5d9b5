"""Light copies of PDFs: same pages, text, fonts, links, bookmarks and form fields, fewer bytes.

`compress_pdf` is pure: it reads one file and returns an Outcome holding the new bytes (or why
the original stays); the runner decides where they go. It never raises for a bad input.

The pypdf pipeline (always available):
- images: each image XObject's resolution is measured from how the pages draw it (the
  content streams are walked, q/Q and cm tracked, form XObjects followed), not from its
  pixel count: a 3000 px photo drawn 2 inches wide is 1500 dpi and comes down to the
  preset's dpi; the same photo drawn 20 inches wide is 150 dpi and keeps its pixels. An image
  drawn several times is measured where it is drawn largest. Photos are re-encoded as JPEG
  with the quality searched from preset.quality down while the image's SSIM stays at
  preset.ssim_min; line art stays lossless (Flate). Only 8-bit grey or RGB images with
  filters pypdf decodes safely are touched: JBIG2, JPEG 2000, CCITT, 1-bit, 16-bit, CMYK,
  indexed, Separation/DeviceN, stencil masks, colour-key masks and /Decode arrays are left as
  they are, so nothing needs an external decoder. A transparency mask (/SMask) stays attached
  (the image stream is rewritten in place, not replaced), resized along with its image;
- every Flate stream is re-deflated at level 9 (the stored bytes only: predictors and the
  rest of the filter chain are kept, so this is lossless), unfiltered and ASCII-armoured
  streams are deflated; identical objects are merged and unreferenced ones dropped;
- the file is written with object streams and a compressed cross-reference stream (pypdf
  itself only writes a classic xref table), as `qpdf --object-streams=generate` does.
preset.lossless (print) skips the image step: pixels are never re-encoded.

Ghostscript (engine "auto" when installed, or "ghostscript"): its re-distilled copy is a
second candidate, never used on encrypted inputs.

Every candidate must be smaller, keep the page count, the form fields, the bookmarks, the
links and the encryption, read back cleanly, and look the same: pages of the original and of
the candidate are rendered by Ghostscript at a low resolution and compared with SSIM; every
page must reach preset.ssim_min. Without Ghostscript each re-encoded image was already
compared with its original pixels. The smallest candidate that passes wins.

Inputs left alone: damaged files (pypdf had to repair the cross-reference table: skipped,
never half-written), password-protected files, signed files (any rewrite breaks the
signature), PDF/A archives unless preset.pdfa (the copy then loses its PDF/A claim).
Encrypted files that open with an empty password are re-encrypted with the same algorithm and
permissions (a new owner password when the original one is not empty).
"""

from __future__ import annotations

import io
import logging
import math
import re
import secrets
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from pypdf import PasswordType, PdfReader, PdfWriter
from pypdf.errors import DependencyError, PdfReadError
from pypdf.filters import ASCII85Decode, ASCIIHexDecode
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    StreamObject,
)

from auditor.compress import ghostscript
from auditor.compress.outcome import Outcome
from auditor.compress.presets import Preset
from auditor.compress.quality import guard_size, ssim

RENDER_DPI = 72  # the guard compares pages as seen at 100 % zoom on a screen
DOWNSAMPLE_ABOVE = 1.25  # an image is downsampled only above 1.25 × the preset's dpi
MAX_IMAGE_PIXELS = 40_000_000  # larger images are left alone (memory, pypdf's decode limit)
MAX_STREAM_BYTES = 200_000_000  # a stream inflating beyond this is left alone (zip bomb)
PHOTO_COLOURS = 4096  # distinct colours above which a lossless image is treated as a photo
OBJECTS_PER_STREAM = 100  # objects per object stream, as qpdf
FORM_DEPTH = 12  # nested form XObjects followed when measuring image resolutions

_K = "compress_pdf."
_FLATE = ("/FlateDecode", "/Fl")
_DCT = ("/DCTDecode", "/DCT")
_ASCII = {
    "/ASCIIHexDecode": ASCIIHexDecode,
    "/AHx": ASCIIHexDecode,
    "/ASCII85Decode": ASCII85Decode,
    "/A85": ASCII85Decode,
}
_LOSSLESS = {*_FLATE, *_ASCII, "/LZWDecode", "/LZW", "/RunLengthDecode", "/RL"}
# pypdf._reader warnings that do not mean the file was repaired
_BENIGN = ("not defined", "Superfluous whitespace", "/ID entry")

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class _Skip(Exception):
    """The file is left as it is: carries the Outcome fields explaining why."""

    def __init__(self, status: str, reason: str, **args: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = _K + reason
        self.args_ = args


# ---------------------------------------------------------------- public API


def ghostscript_available() -> bool:
    """True when Ghostscript is installed (auto mode then tries it, and renders the guard)."""
    return ghostscript.ghostscript_available()


def compress_pdf(path: Path, preset: Preset, engine: str = "auto") -> Outcome:
    """A lighter copy of the PDF at `path`, or why the original stays. Never raises.

    engine: "pypdf" (pypdf alone), "ghostscript" (Ghostscript alone) or "auto" (both when
    Ghostscript is installed; the smaller result that passes every check is kept).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Outcome(
            "skipped", 0, reason=_K + "unreadable", reason_args={"error": exc.strerror or str(exc)}
        )
    with _captured_pypdf_log() as log:
        try:
            return _compress(data, preset, engine, log)
        except _Skip as skip:
            return Outcome(
                skip.status,  # type: ignore[arg-type]
                len(data),
                reason=skip.reason,
                reason_args=skip.args_,
            )
        except (MemoryError, RecursionError) as exc:
            error = type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - a bad PDF can break pypdf anywhere
            error = f"{type(exc).__name__}: {exc}"[:200]
    return Outcome("skipped", len(data), reason=_K + "unreadable", reason_args={"error": error})


# ---------------------------------------------------------------- orchestration


@dataclass
class _Candidate:
    data: bytes
    engine: str
    notes: list[str] = field(default_factory=list)
    image_ssim: float | None = None  # lowest SSIM of a re-encoded image (pypdf only)


@dataclass(frozen=True)
class _Structure:
    """What a light copy must keep: counted on the original and on every candidate."""

    pages: int
    fields: int
    outlines: int
    links: int


def _compress(data: bytes, preset: Preset, engine: str, log: _LogCapture) -> Outcome:
    size = len(data)
    if b"%PDF-" not in data[:1024]:
        raise _Skip("skipped", "not_pdf")
    source = _open(data, log)
    if source.signed:
        raise _Skip("kept", "signed")
    if source.pdfa and not preset.pdfa:
        raise _Skip("kept", "pdfa")
    candidates, failures = _candidates(data, source, preset, engine, log)
    guard = _Guard(data, preset.ssim_min)
    try:
        return _choose(size, candidates, failures, source, preset, guard)
    finally:
        guard.close()


def _candidates(
    data: bytes, source: _Source, preset: Preset, engine: str, log: _LogCapture
) -> tuple[list[_Candidate], list[str]]:
    """The light copies each engine made, and the reasons of the engines that made none."""
    candidates: list[_Candidate] = []
    failures: list[str] = []
    if engine in ("auto", "pypdf"):
        candidates.append(_pypdf_candidate(source, preset))
    if engine in ("auto", "ghostscript"):
        if source.protection is not None:
            if engine == "ghostscript":
                failures.append("encrypted_ghostscript")
        elif not ghostscript.ghostscript_available():
            if engine == "ghostscript":
                failures.append("no_ghostscript")
        else:
            produced = _ghostscript_candidate(data, preset)
            if produced is None:
                failures.append("ghostscript_failed")
            else:
                candidates.append(produced)
    return candidates, failures


def _choose(
    size: int,
    candidates: list[_Candidate],
    failures: list[str],
    source: _Source,
    preset: Preset,
    guard: _Guard,
) -> Outcome:
    """The smallest candidate that keeps the structure and looks the same, or why none does."""
    rejection: tuple[str, dict[str, str]] | None = None
    for candidate in sorted(candidates, key=lambda c: len(c.data)):
        if len(candidate.data) >= size:
            break
        if not _keeps_structure(candidate.data, source):
            rejection = rejection or ("lost_structure", {"engine": candidate.engine})
            continue
        notes = list(candidate.notes)
        lowest = guard.lowest_page_ssim(candidate.data)
        if lowest is None:  # no renderer: each re-encoded image was checked on its own
            if candidate.engine != "pypdf":
                rejection = rejection or ("no_renderer", {})
                continue
            lowest = candidate.image_ssim
            if lowest is not None:
                notes.append(_K + "images_checked")
        if lowest is not None and lowest < preset.ssim_min:
            if rejection is None or rejection[0] != "quality":
                rejection = ("quality", {"ssim": f"{lowest:.3f}", "min": f"{preset.ssim_min}"})
            continue
        return Outcome(
            "smaller",
            size,
            data=candidate.data,
            suffix=".pdf",
            ssim=lowest,
            notes=notes,
            engine=candidate.engine,
        )
    engine = candidates[0].engine if candidates else ""
    if rejection is not None:
        reason, args = rejection
        return Outcome("kept", size, reason=_K + reason, reason_args=args, engine=engine)
    if failures and not candidates:
        return Outcome("skipped", size, reason=_K + failures[0])
    return Outcome("kept", size, reason=_K + "not_smaller", engine=engine)


# ---------------------------------------------------------------- reading and checking


@dataclass
class _Protection:
    """How the original was encrypted, to encrypt the copy the same way."""

    algorithm: str
    permissions: int
    owner_empty: bool  # the empty password is also the owner password
    changed: bool  # pypdf cannot write the exact same kind: the closest stronger one is used

    def apply(self, writer: PdfWriter) -> list[str]:
        """Encrypt `writer`; notes for what could not be kept exactly."""
        notes = []
        owner = ""
        if not self.owner_empty:
            # the owner password is unknown: a random one keeps the restrictions enforced
            owner = secrets.token_urlsafe(24)
            notes.append(_K + "owner_password_replaced")
        if self.changed:
            notes.append(_K + "encryption_changed")
        writer.encrypt(
            user_password="",
            owner_password=owner,
            permissions_flag=self.permissions,  # type: ignore[arg-type]
            algorithm=self.algorithm,
        )
        entry = getattr(writer, "_encrypt_entry", None)
        if isinstance(entry, DictionaryObject) and "/P" in entry:
            p = int(entry["/P"]) & 0xFFFFFFFF  # written signed, as the specification shows it
            entry[NameObject("/P")] = NumberObject(p - (1 << 32) if p >= 1 << 31 else p)
        return notes


@dataclass
class _Source:
    reader: PdfReader
    writer: PdfWriter  # a clone, made while reading so that every object is parsed once
    structure: _Structure
    protection: _Protection | None
    pdfa: bool
    signed: bool


def _open(data: bytes, log: _LogCapture) -> _Source:
    """Read and fully parse `data`; _Skip when damaged, protected or unsupported."""
    mark = log.mark()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        protection = _unlock(reader)
        writer = PdfWriter(clone_from=reader)
        structure = _structure_of(reader)
    except _Skip:
        raise
    except DependencyError as exc:
        raise _Skip("skipped", "needs_crypto") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise _Skip("skipped", "damaged") from exc
    if log.repairs_since(mark):
        raise _Skip("skipped", "damaged")
    return _Source(reader, writer, structure, protection, _is_pdfa(reader), _is_signed(reader))


_ALGORITHMS = {  # pypdf's algorithm name -> (V, R, key length) it writes
    "RC4-40": (1, 2, 40),
    "RC4-128": (2, 3, 128),
    "AES-128": (4, 4, 128),
    "AES-256-R5": (5, 5, 256),
    "AES-256": (5, 6, 256),
}


def _unlock(reader: PdfReader) -> _Protection | None:
    """Open an encrypted file with the empty password; None when it is not encrypted."""
    if not reader.is_encrypted:
        return None
    encrypt = reader.trailer["/Encrypt"].get_object()
    if encrypt.get("/Filter") != "/Standard":
        raise _Skip("skipped", "encryption_unsupported")
    try:
        opened = reader.decrypt("")
    except DependencyError as exc:
        raise _Skip("skipped", "needs_crypto") from exc
    except NotImplementedError as exc:
        raise _Skip("skipped", "encryption_unsupported") from exc
    if opened == PasswordType.NOT_DECRYPTED:
        raise _Skip("skipped", "password")
    algorithm, kind = _algorithm_of(encrypt)
    return _Protection(
        algorithm=algorithm,
        permissions=int(encrypt.get("/P", -4)),
        owner_empty=opened == PasswordType.OWNER_PASSWORD,
        changed=_ALGORITHMS[algorithm] != kind,
    )


def _algorithm_of(encrypt: DictionaryObject) -> tuple[str, tuple[int, int, int]]:
    """The pypdf algorithm matching an /Encrypt dictionary, and its own (V, R, length)."""
    v = int(encrypt.get("/V", 0))
    r = int(encrypt.get("/R", 2))
    length = int(encrypt.get("/Length", 40))
    if v >= 5:
        return ("AES-256-R5" if r == 5 else "AES-256"), (v, r, 256)
    if v == 4:
        filters = encrypt.get("/CF", DictionaryObject()).get_object()
        name = encrypt.get("/StmF", "/Identity")
        method = filters.get(name, DictionaryObject()).get_object().get("/CFM", "/None")
        if method == "/AESV2":
            return "AES-128", (v, r, 128)
        return "RC4-128", (v, r, length)  # RC4 crypt filter (or none): RC4-128, R3
    if v in (0, 1) and r == 2:
        return "RC4-40", (1, 2, 40)
    return "RC4-128", (v, r, length)


def _structure_of(reader: PdfReader) -> _Structure:
    return _Structure(
        pages=len(reader.pages),
        fields=len(reader.get_fields() or {}),
        outlines=_count_outline(reader.outline),
        links=sum(_count_links(page) for page in reader.pages),
    )


def _count_outline(items: Any) -> int:
    count = 0
    for item in items or []:
        count += _count_outline(item) if isinstance(item, list) else 1
    return count


def _count_links(page: DictionaryObject) -> int:
    annots = page.get("/Annots")
    annots = annots.get_object() if annots is not None else None
    if not isinstance(annots, ArrayObject):
        return 0
    return sum(
        1
        for annot in annots
        if isinstance(annot.get_object(), DictionaryObject)
        and annot.get_object().get("/Subtype") == "/Link"
    )


def _xmp(reader: PdfReader) -> bytes:
    metadata = reader.trailer["/Root"].get_object().get("/Metadata")
    if metadata is None or not isinstance(metadata.get_object(), StreamObject):
        return b""
    try:
        return metadata.get_object().get_data()
    except Exception:  # noqa: BLE001 - unreadable metadata is no metadata
        return b""


def _is_pdfa(reader: PdfReader) -> bool:
    """PDF/A declares itself in its XMP metadata (pdfaid:part)."""
    return b"pdfaid:part" in _xmp(reader)


def _is_signed(reader: PdfReader) -> bool:
    """Signed files: any rewrite, even lossless, invalidates the signature."""
    form = reader.trailer["/Root"].get_object().get("/AcroForm")
    form = form.get_object() if form is not None else None
    if isinstance(form, DictionaryObject) and int(form.get("/SigFlags", 0)) & 1:
        return True
    fields = reader.get_fields() or {}
    return any(f.get("/FT") == "/Sig" and f.get("/V") is not None for f in fields.values())


def _keeps_structure(data: bytes, source: _Source) -> bool:
    """True when `data` reads back cleanly with the original's pages, fields, bookmarks,
    links and encryption."""
    with _captured_pypdf_log() as log:
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted != (source.protection is not None):
                return False
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                return False
            for number in range(1, int(reader.trailer.get("/Size", 0))):
                reader.get_object(number)
            structure = _structure_of(reader)
        except Exception:  # noqa: BLE001 - a candidate that cannot be read is rejected
            return False
        if log.repairs_since(0):
            return False
    return structure == source.structure


class _Guard:
    """Compares the pages of the original and of a candidate, rendered side by side.

    Both files are rendered at the same time, page by page, so memory holds two pages;
    identical renders (the usual case for a lossless rewrite) skip the SSIM arithmetic, and
    the comparison stops at the first page below the threshold.
    """

    def __init__(self, original: bytes, threshold: float) -> None:
        self._original = original
        self._threshold = threshold
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def lowest_page_ssim(self, candidate: bytes) -> float | None:
        """Lowest page SSIM between original and candidate; None without a renderer."""
        if not ghostscript.ghostscript_available():
            return None
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="auditor-pdf-")
            (Path(self._folder.name) / "original.pdf").write_bytes(self._original)
        folder = Path(self._folder.name)
        (folder / "candidate.pdf").write_bytes(candidate)
        before = ghostscript.iter_pages(folder / "original.pdf", RENDER_DPI)
        after = ghostscript.iter_pages(folder / "candidate.pdf", RENDER_DPI)
        lowest, compared = 1.0, 0
        try:
            for page_before in before:
                page_after = next(after, None)
                if page_after is None:
                    return 0.0  # the candidate has fewer pages, or failed to render
                compared += 1
                if page_before.tobytes() != page_after.tobytes():
                    lowest = min(lowest, ssim(page_before, page_after))
                if lowest < self._threshold:
                    break
            else:
                if next(after, None) is not None:
                    return 0.0
        finally:
            before.close()
            after.close()
        if compared == 0:
            return None  # Ghostscript cannot render the original: no renderer for this file
        return lowest

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()


# ---------------------------------------------------------------- engines


def _pypdf_candidate(source: _Source, preset: Preset) -> _Candidate:
    writer = source.writer
    notes: list[str] = []
    image_ssim = None
    if not preset.lossless:
        image_ssim = _lighten_images(writer, preset)
    _recompress_streams(writer)
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    if source.pdfa:
        _drop_pdfa_claim(writer)
        notes.append(_K + "pdfa_dropped")
    if source.protection is not None:
        notes += source.protection.apply(writer)
    return _Candidate(_serialize(writer), "pypdf", notes, image_ssim)


def _ghostscript_candidate(data: bytes, preset: Preset) -> _Candidate | None:
    with tempfile.TemporaryDirectory(prefix="auditor-gs-") as folder:
        source = Path(folder) / "in.pdf"
        target = Path(folder) / "out.pdf"
        source.write_bytes(data)
        if not ghostscript.distill(source, target, preset):
            return None
        return _Candidate(target.read_bytes(), "ghostscript")


# ---------------------------------------------------------------- image resolution


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """m × n in the PDF row-vector convention (m applied first)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _matrix(values: Any) -> Matrix | None:
    try:
        numbers = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == 6 and all(map(math.isfinite, numbers)) else None  # type: ignore[return-value]


class _DrawWalker:
    """Finds where each image XObject is drawn, through pages and nested form XObjects.

    A form's own drawings are computed once, in its own space, and reused wherever it is
    drawn, so a logo template on every page costs one parse.
    """

    def __init__(self, writer: PdfWriter) -> None:
        self.writer = writer
        self.forms: dict[int, list[tuple[int, Matrix]]] = {}
        self.sizes: dict[int, tuple[float, float]] = {}  # image id -> largest (w, h) in points

    def walk_pages(self) -> dict[int, tuple[float, float]]:
        for page in self.writer.pages:
            resources = _inherited(page, "/Resources")
            if not _has_images(resources, 0, set()):
                continue
            unit = float(_inherited(page, "/UserUnit") or 1.0)
            base: Matrix = (unit, 0.0, 0.0, unit, 0.0, 0.0)
            contents = page.get_contents()
            if contents is None:
                continue
            for image, matrix in self._draws(contents, resources, 0):
                self._record(image, _multiply(matrix, base))
        return self.sizes

    def _record(self, image: int, m: Matrix) -> None:
        width, height = math.hypot(m[0], m[1]), math.hypot(m[2], m[3])
        if width <= 0 or height <= 0:
            return
        old_w, old_h = self.sizes.get(image, (0.0, 0.0))
        self.sizes[image] = (max(old_w, width), max(old_h, height))

    def _draws(
        self, content: ContentStream, resources: Any, depth: int
    ) -> list[tuple[int, Matrix]]:
        """(image id, CTM relative to the stream's start) for each image drawn by `content`."""
        xobjects = _resolve(resources.get("/XObject")) if isinstance(resources, dict) else None
        if not isinstance(xobjects, DictionaryObject):
            return []
        draws: list[tuple[int, Matrix]] = []
        ctm, stack = _IDENTITY, []
        for operands, operator in content.operations:
            if operator == b"q":
                stack.append(ctm)
            elif operator == b"Q":
                ctm = stack.pop() if stack else ctm
            elif operator == b"cm":
                m = _matrix(operands)
                ctm = _multiply(m, ctm) if m else ctm
            elif operator == b"Do" and operands:
                ref = xobjects.get(operands[0])
                draws += self._do(ref, ctm, resources, depth)
        return draws

    def _do(self, ref: Any, ctm: Matrix, resources: Any, depth: int) -> list[tuple[int, Matrix]]:
        xobject = _resolve(ref)
        if not isinstance(xobject, StreamObject) or not isinstance(ref, IndirectObject):
            return []
        if xobject.get("/Subtype") == "/Image":
            return [(ref.idnum, ctm)]
        if xobject.get("/Subtype") != "/Form" or depth >= FORM_DEPTH:
            return []
        if ref.idnum not in self.forms:
            self.forms[ref.idnum] = []  # guards against a form drawing itself
            form_resources = _resolve(xobject.get("/Resources")) or resources
            if _has_images(form_resources, 0, set()):
                content = ContentStream(xobject, self.writer)
                self.forms[ref.idnum] = self._draws(content, form_resources, depth + 1)
        form_matrix = _matrix(xobject.get("/Matrix", _IDENTITY)) or _IDENTITY
        base = _multiply(form_matrix, ctm)
        return [(image, _multiply(m, base)) for image, m in self.forms[ref.idnum]]


def _resolve(obj: Any) -> Any:
    return obj.get_object() if obj is not None else None


def _inherited(page: DictionaryObject, key: str) -> Any:
    node: Any = page
    for _ in range(64):
        if node is None:
            return None
        node = node.get_object()
        if key in node:
            return _resolve(node[key])
        node = node.get("/Parent")
    return None


def _has_images(resources: Any, depth: int, seen: set[int]) -> bool:
    """Whether these resources (or a form in them) hold an image: skips parsing text pages."""
    if not isinstance(resources, DictionaryObject) or depth > FORM_DEPTH:
        return False
    xobjects = _resolve(resources.get("/XObject"))
    if not isinstance(xobjects, DictionaryObject):
        return False
    for ref in xobjects.values():
        xobject = _resolve(ref)
        if not isinstance(xobject, StreamObject):
            continue
        if xobject.get("/Subtype") == "/Image":
            return True
        key = ref.idnum if isinstance(ref, IndirectObject) else id(xobject)
        if xobject.get("/Subtype") == "/Form" and key not in seen:
            seen.add(key)
            if _has_images(_resolve(xobject.get("/Resources")), depth + 1, seen):
                return True
    return False


def drawn_sizes(writer: PdfWriter) -> dict[int, tuple[float, float]]:
    """Largest drawn (width, height) in points of each image XObject, by object number."""
    return _DrawWalker(writer).walk_pages()


# ---------------------------------------------------------------- images


def _filters(stream: DictionaryObject) -> list[str]:
    value = _resolve(stream.get("/Filter"))
    if value is None:
        return []
    if isinstance(value, ArrayObject):
        return [str(_resolve(v)) for v in value]
    return [str(value)]


def _components(colour_space: Any) -> int | None:
    """1 or 3 for the grey and RGB spaces an 8-bit JPEG or Flate image can stay in."""
    space = _resolve(colour_space)
    if space in ("/DeviceGray", "/G"):
        return 1
    if space in ("/DeviceRGB", "/RGB"):
        return 3
    if isinstance(space, ArrayObject) and space:
        family = _resolve(space[0])
        if family == "/CalGray":
            return 1
        if family == "/CalRGB":
            return 3
        if family == "/ICCBased" and len(space) > 1:
            profile = _resolve(space[1])
            n = int(profile.get("/N", 0)) if isinstance(profile, StreamObject) else 0
            return n if n in (1, 3) else None
    return None


def _image_components(image: StreamObject) -> int | None:
    """Components of an image pypdf can decode and re-encode safely, else None.

    Checked before anything is decoded: JBIG2/JPX/CCITT need external decoders, masks and
    /Decode arrays change what pixels mean, and huge images hit pypdf's decode limit.
    """
    if image.get("/Subtype") != "/Image" or image.get("/ImageMask"):
        return None
    if isinstance(_resolve(image.get("/Mask")), ArrayObject) or "/Decode" in image:
        return None
    if image.get("/BitsPerComponent") != 8:
        return None
    filters = _filters(image)
    if not (filters in ([f] for f in _DCT) or all(f in _LOSSLESS for f in filters)):
        return None
    try:
        width, height = int(image["/Width"]), int(image["/Height"])
    except (KeyError, TypeError, ValueError):
        return None
    if width <= 0 or height <= 0 or width * height > MAX_IMAGE_PIXELS:
        return None
    return _components(image.get("/ColorSpace"))


def _decode(
    image: StreamObject, components: int, at_least: tuple[int, int] | None = None
) -> Image.Image | None:
    """The image's pixels as L or RGB, or None when they do not match its dictionary.

    A JPEG needed only at `at_least` pixels is decoded by libjpeg at 1/2, 1/4 or 1/8 scale
    (never below that size): much faster for a 20-megapixel photo drawn 3 inches wide.
    """
    width, height = int(image["/Width"]), int(image["/Height"])
    mode = "L" if components == 1 else "RGB"
    if _filters(image) and _filters(image)[0] in _DCT:
        picture = Image.open(io.BytesIO(image._data))
        if picture.mode != mode or picture.size != (width, height):
            return None
        if at_least is not None:
            picture.draft(mode, at_least)
        picture.load()
        return picture
    raw = image.get_data()
    needed = width * height * components
    if len(raw) < needed:
        return None
    return Image.frombytes(mode, (width, height), raw[:needed])


def _looks_photographic(picture: Image.Image) -> bool:
    """Many distinct colours (or grey levels): a photo or scan, where JPEG is the right tool."""
    sample = picture.copy()
    sample.thumbnail((256, 256), Image.Resampling.NEAREST)
    if sample.mode == "L":
        colours = sample.getcolors(256) or []
        return len(colours) >= 192
    return sample.getcolors(PHOTO_COLOURS) is None


def _target_size(
    size: tuple[int, int], drawn: tuple[float, float], dpi: int | None
) -> tuple[int, int]:
    """Pixel size at the preset's resolution, per axis; never enlarged."""
    if dpi is None:
        return size
    result = []
    for pixels, points in zip(size, drawn, strict=True):
        current = pixels * 72.0 / points
        if current > dpi * DOWNSAMPLE_ABOVE:
            pixels = max(1, round(pixels * dpi / current))
        result.append(pixels)
    return result[0], result[1]


def _jpeg(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _search_jpeg(
    reference: Image.Image, picture: Image.Image, preset: Preset
) -> tuple[bytes, float] | None:
    """Lowest JPEG quality whose SSIM to `reference` stays at ssim_min.

    Binary search on a grid of 5 (50, 55 ... 85): each step costs an SSIM, and one quality
    point is invisible in size as in looks.
    """
    grid = list(range(preset.quality, preset.min_quality - 1, -5))[::-1] or [preset.quality]
    low, high = 0, len(grid) - 1
    best = None
    while low <= high:
        middle = (low + high) // 2
        data = _jpeg(picture, grid[middle])
        with Image.open(io.BytesIO(data)) as decoded:
            score = ssim(reference, decoded)
        if score >= preset.ssim_min:
            best = (data, score)
            high = middle - 1
        else:
            low = middle + 1
    return best


def _lighten_images(writer: PdfWriter, preset: Preset) -> float | None:
    """Downsample and re-encode the images drawn above the preset's resolution.

    Identical copies of one image (embedded once per page by some producers) are processed
    once, at the largest size any of them is drawn, and end up merged by the dedupe step.
    Returns the lowest SSIM of a replaced image (None when none was replaced).
    """
    groups: dict[Any, tuple[list[StreamObject], tuple[float, float]]] = {}
    for number, drawn in drawn_sizes(writer).items():
        image = writer.get_object(number)
        if not isinstance(image, StreamObject):
            continue
        key = image.hash_value()
        copies, size = groups.get(key, ([], (0.0, 0.0)))
        groups[key] = ([*copies, image], (max(size[0], drawn[0]), max(size[1], drawn[1])))
    lowest = None
    done: set[int] = set()
    for copies, drawn in groups.values():
        image = copies[0]
        try:
            score = _lighten_image(image, drawn, preset, done)
        except Exception:  # noqa: BLE001 - an image that cannot be decoded stays as it is
            image.decoded_self = None
            continue
        if score is None:
            continue
        lowest = score if lowest is None else min(lowest, score)
        for copy in copies[1:]:
            copy.update(image)
            copy._data = image._data
            copy.decoded_self = None
    return lowest


def _lighten_image(
    image: StreamObject, drawn: tuple[float, float], preset: Preset, done: set[int]
) -> float | None:
    components = _image_components(image)
    if components is None:
        return None
    full = (int(image["/Width"]), int(image["/Height"]))
    size = _target_size(full, drawn, preset.dpi)
    original = _decode(image, components, size)
    image.decoded_self = None  # do not keep decoded pixels in memory
    if original is None:
        return None
    was_jpeg = _filters(image)[0] in _DCT if _filters(image) else False
    photo = was_jpeg or _looks_photographic(original)
    if size == full and not photo:
        return None  # lossless and already at the right resolution: Flate recompression only
    picture = original if size == original.size else original.resize(size, Image.Resampling.LANCZOS)
    reference = original.resize(guard_size(original, picture), Image.Resampling.LANCZOS)
    flate = None if was_jpeg else zlib.compress(picture.tobytes(), 9)
    found = _search_jpeg(reference, picture, preset) if photo else None
    if found is not None and (flate is None or len(found[0]) * 2 <= len(flate)):
        data, score, jpeg = found[0], found[1], True
    elif flate is not None:
        data, score, jpeg = flate, ssim(reference, picture), False
    else:
        return None
    worth = len(image._data) * (0.9 if size == full else 1.0)
    if len(data) >= worth or score < preset.ssim_min:
        return None
    _store_image(image, data, picture.size, jpeg)
    _shrink_mask(image, picture.size, done)
    return score


def _store_image(image: StreamObject, data: bytes, size: tuple[int, int], jpeg: bool) -> None:
    """Rewrite the image stream in place: its /SMask, /Intent, /OC... stay attached."""
    image._data = data
    image.decoded_self = None
    image[NameObject("/Filter")] = NameObject("/DCTDecode" if jpeg else "/FlateDecode")
    image.pop("/DecodeParms", None)
    image.pop("/DL", None)
    image[NameObject("/Width")] = NumberObject(size[0])
    image[NameObject("/Height")] = NumberObject(size[1])
    image[NameObject("/BitsPerComponent")] = NumberObject(8)


def _shrink_mask(image: StreamObject, size: tuple[int, int], done: set[int]) -> None:
    """Bring a soft mask down to its image's new size (it is stretched over the same area)."""
    ref = image.get("/SMask")
    mask = _resolve(ref)
    if not isinstance(mask, StreamObject) or not isinstance(ref, IndirectObject):
        return
    if ref.idnum in done or "/Matte" in mask or _image_components(mask) != 1:
        return
    if _filters(mask) and _filters(mask)[0] in _DCT:
        return
    done.add(ref.idnum)
    pixels = _decode(mask, 1)
    mask.decoded_self = None
    if pixels is None or pixels.width <= size[0] or pixels.height <= size[1]:
        return
    smaller = pixels.resize(size, Image.Resampling.LANCZOS)
    _store_image(mask, zlib.compress(smaller.tobytes(), 9), size, jpeg=False)


# ---------------------------------------------------------------- lossless streams


def _objects(writer: PdfWriter) -> list[Any]:
    return writer._objects  # pypdf has no public list of a writer's objects


def _recompress_streams(writer: PdfWriter) -> None:
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
    filters = _filters(stream)
    data = stream._data
    armoured = "/DecodeParms" not in stream and bool(filters) and filters[0] in _ASCII
    while armoured and filters and filters[0] in _ASCII:
        data = _ASCII[filters[0]].decode(data)
        filters = filters[1:]
    if not filters:
        new, filters = zlib.compress(data, 9), ["/FlateDecode"]
    elif filters[0] in _FLATE:
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


def _drop_pdfa_claim(writer: PdfWriter) -> None:
    """Remove pdfaid from the XMP metadata: a rewritten file is no longer proven PDF/A."""
    ref = writer.root_object.get("/Metadata")
    metadata = _resolve(ref)
    if not isinstance(metadata, StreamObject):
        return
    text = metadata.get_data()
    text = re.sub(rb"\s+pdfaid:\w+\s*=\s*(\"[^\"]*\"|'[^']*')", b"", text)
    text = re.sub(rb"<pdfaid:(\w+)>[^<]*</pdfaid:\1>", b"", text)
    metadata._data = text
    metadata.decoded_self = None
    metadata.pop("/Filter", None)
    metadata.pop("/DecodeParms", None)


# ---------------------------------------------------------------- writing


def _serialize(writer: PdfWriter) -> bytes:
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


# ---------------------------------------------------------------- pypdf's warnings


class _LogCapture(logging.Handler):
    """pypdf's warnings from this thread: a _reader warning means it repaired the file."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)

    def mark(self) -> int:
        return len(self.records)

    def repairs_since(self, mark: int) -> list[str]:
        found = []
        for record in self.records[mark:]:
            message = str(record.msg)
            if record.name == "pypdf._reader" and not any(b in message for b in _BENIGN):
                found.append(message)
        return found


@contextmanager
def _captured_pypdf_log() -> Iterator[_LogCapture]:
    """Collect pypdf's warnings instead of printing them (they become reasons, not noise)."""
    logger = logging.getLogger("pypdf")
    handler = _LogCapture()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate

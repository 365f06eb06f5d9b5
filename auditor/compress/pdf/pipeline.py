"""The PDF pipeline: open, make candidates, choose the smallest that passes the guard.

Light copies of PDFs: same pages, text, fonts, links, bookmarks and form fields, fewer bytes.

`compress_pdf` is pure: it reads one file and returns an Outcome holding the new bytes (or why
the original stays); the runner decides where they go. It never raises for a bad input.

The pypdf candidate (always available): images drawn above the preset's resolution are
re-encoded (analysis.py measures, images.py re-encodes; preset.lossless, print, skips this
step: pixels are never re-encoded), every stream is recompressed losslessly, identical objects
are merged and unreferenced ones dropped, and the file is written with object streams
(writing.py).

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
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader, PdfWriter
from pypdf.errors import DependencyError, PdfReadError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
)

from auditor.compress import ghostscript
from auditor.compress.outcome import Outcome
from auditor.compress.pdf.images import lighten_images
from auditor.compress.pdf.writing import drop_pdfa_claim, recompress_streams, serialize
from auditor.compress.presets import Preset
from auditor.compress.quality import ssim
from auditor.errors import Problem

RENDER_DPI = 72  # the guard compares pages as seen at 100 % zoom on a screen

_K = "compress_pdf."
# pypdf._reader warnings that do not mean the file was repaired
_BENIGN = ("not defined", "Superfluous whitespace", "/ID entry")


class _Skip(Exception):
    """The file is left as it is: carries the Outcome fields explaining why."""

    def __init__(self, status: str, reason: str, **args: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = Problem(f"compress_pdf.{reason}", **args)


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
        error = exc.strerror or str(exc)
        return Outcome("skipped", 0, reason=Problem("compress_pdf.unreadable", error=error))
    with _captured_pypdf_log() as log:
        try:
            return _compress(data, preset, engine, log)
        except _Skip as skip:
            return Outcome(
                skip.status,  # type: ignore[arg-type]
                len(data),
                reason=skip.reason,
            )
        except (MemoryError, RecursionError) as exc:
            error = type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - a bad PDF can break pypdf anywhere
            error = f"{type(exc).__name__}: {exc}"[:200]
    return Outcome("skipped", len(data), reason=Problem("compress_pdf.unreadable", error=error))


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
    rejection: Problem | None = None
    for candidate in sorted(candidates, key=lambda c: len(c.data)):
        if len(candidate.data) >= size:
            break
        if not _keeps_structure(candidate.data, source):
            rejection = rejection or Problem("compress_pdf.lost_structure", engine=candidate.engine)
            continue
        notes = list(candidate.notes)
        lowest = guard.lowest_page_ssim(candidate.data)
        if lowest is None:  # no renderer: each re-encoded image was checked on its own
            if candidate.engine != "pypdf":
                rejection = rejection or Problem("compress_pdf.no_renderer")
                continue
            lowest = candidate.image_ssim
            if lowest is not None:
                notes.append(_K + "images_checked")
        if lowest is not None and lowest < preset.ssim_min:
            if rejection is None or rejection.key != _K + "quality":
                rejection = Problem(
                    "compress_pdf.quality", ssim=f"{lowest:.3f}", min=f"{preset.ssim_min}"
                )
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
        return Outcome("kept", size, reason=rejection, engine=engine)
    if failures and not candidates:
        return Outcome("skipped", size, reason=Problem(f"compress_pdf.{failures[0]}"))
    return Outcome("kept", size, reason=Problem("compress_pdf.not_smaller"), engine=engine)


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
        image_ssim = lighten_images(writer, preset)
    recompress_streams(writer)
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    if source.pdfa:
        drop_pdfa_claim(writer)
        notes.append(_K + "pdfa_dropped")
    if source.protection is not None:
        notes += source.protection.apply(writer)
    return _Candidate(serialize(writer), "pypdf", notes, image_ssim)


def _ghostscript_candidate(data: bytes, preset: Preset) -> _Candidate | None:
    with tempfile.TemporaryDirectory(prefix="auditor-gs-") as folder:
        source = Path(folder) / "in.pdf"
        target = Path(folder) / "out.pdf"
        source.write_bytes(data)
        if not ghostscript.distill(source, target, preset):
            return None
        return _Candidate(target.read_bytes(), "ghostscript")


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

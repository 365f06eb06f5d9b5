"""What `auditor compress` would save on a mailbox's attachments, without downloading them.

The scan reads attachments' sizes and types from the IMAP BODYSTRUCTURE (or the local
mailbox), not their bytes, so it cannot compress them. It estimates instead, from ratios
measured by running this very compressor (`--for email`) on the benchmark corpus of real
photos and PDFs (benchmarks/compress.py writes `measured_ratios.toml`, and says on which
files). The report says the saving is estimated this way.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files

_KINDS = {
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/png": "png",
    "image/tiff": "tiff",
    "image/bmp": "bmp",
    "image/x-ms-bmp": "bmp",
    "application/pdf": "pdf",
}
_EXTENSIONS = {
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".png": "png",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".bmp": "bmp",
    ".pdf": "pdf",
}


@cache
def measured_ratios() -> dict:
    """The ratios table: {kind: [{"min_bytes", "ratio"}...]}, plus where it was measured."""
    text = files("auditor.impact").joinpath("measured_ratios.toml").read_text("utf-8")
    return tomllib.loads(text)


def attachment_kind(content_type: str | None, filename: str | None) -> str | None:
    """ "jpeg", "png", "tiff", "bmp" or "pdf" for an attachment, from its type or name."""
    kind = _KINDS.get((content_type or "").split(";")[0].strip().lower())
    if kind is None and filename:
        dot = filename.rfind(".")
        kind = _EXTENSIONS.get(filename[dot:].lower()) if dot >= 0 else None
    return kind


def ratio_for(kind: str, size_bytes: int) -> float | None:
    """The measured output/input size ratio for `kind` at this size (largest bucket ≤ size)."""
    buckets = measured_ratios().get("kind", {}).get(kind)
    if not buckets:
        return None
    chosen = None
    for bucket in sorted(buckets, key=lambda b: b["min_bytes"]):
        if size_bytes >= bucket["min_bytes"]:
            chosen = bucket["ratio"]
    return chosen


def estimated_saving(content_type: str | None, filename: str | None, size_bytes: int | None) -> int:
    """Bytes `auditor compress --for email` would likely save on one attachment (0: none)."""
    if not size_bytes:
        return 0
    kind = attachment_kind(content_type, filename)
    ratio = ratio_for(kind, size_bytes) if kind else None
    if ratio is None or ratio >= 1:
        return 0
    return int(size_bytes * (1 - ratio))

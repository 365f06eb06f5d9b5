"""Ghostscript, when installed: an optional second PDF engine and the quality guard's renderer.

Ghostscript re-distills a whole PDF (`pdfwrite`), which often makes scanned or photo-heavy
files much lighter than anything done object by object, but it also silently drops form
fields, bookmarks, tags and the PDF/A profile, can make a file bigger, and exits 0 with an
empty PDF on an encrypted or broken input. So this module only runs it; pdf/ decides
whether what it wrote is kept (same pages, fields and bookmarks, smaller, visually equal).

Every run uses -dSAFER (no file access outside what is named on the command line), -dBATCH
and -dNOPAUSE (never waits for a key), a timeout, and works in a temporary folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from PIL import Image

from auditor.compress.presets import Preset

COMPRESS_TIMEOUT = 300  # seconds for re-distilling one PDF
RENDER_TIMEOUT = 300  # seconds for rendering the pages of one PDF
_BASE_ARGS = ["-dSAFER", "-dBATCH", "-dNOPAUSE", "-dQUIET", "-dNOPROMPT"]


def gs_binary() -> str | None:
    """Path of the Ghostscript command-line program, or None when it is not installed."""
    names = ["gs"]
    if sys.platform == "win32":
        names = ["gswin64c", "gswin32c", "gs"]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def ghostscript_available() -> bool:
    """True when Ghostscript can be run (auto mode then also tries it, and pages are rendered)."""
    return gs_binary() is not None


def _run(args: list[str], timeout: int) -> bool:
    """Run Ghostscript; False on a non-zero exit, a timeout or a missing program."""
    binary = gs_binary()
    if binary is None:
        return False
    try:
        done = subprocess.run(
            [binary, *_BASE_ARGS, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def distill_args(preset: Preset) -> list[str]:
    """pdfwrite settings for a preset: /ebook, with the preset's image resolution.

    A lossless preset keeps every image's pixels (no downsampling, Flate for what Ghostscript
    re-encodes, JPEG and JPEG 2000 passed through), so only the structure is rewritten.
    """
    args = ["-sDEVICE=pdfwrite", "-dPDFSETTINGS=/ebook", "-dCompatibilityLevel=1.5"]
    if preset.lossless or preset.dpi is None:
        args += [
            "-dDownsampleColorImages=false",
            "-dDownsampleGrayImages=false",
            "-dDownsampleMonoImages=false",
        ]
    else:
        dpi = preset.dpi
        args += [
            f"-dColorImageResolution={dpi}",
            f"-dGrayImageResolution={dpi}",
            f"-dMonoImageResolution={max(dpi, 300)}",  # line art needs more dots than photos
        ]
    if preset.lossless:
        args += [
            "-dAutoFilterColorImages=false",
            "-dAutoFilterGrayImages=false",
            "-dColorImageFilter=/FlateEncode",
            "-dGrayImageFilter=/FlateEncode",
            "-dPassThroughJPEGImages=true",
            "-dPassThroughJPXImages=true",
        ]
    return args


def distill(source: Path, target: Path, preset: Preset, timeout: int = COMPRESS_TIMEOUT) -> bool:
    """Re-distill `source` into `target` with pdfwrite; True when Ghostscript reported success.

    Success is not proof of a good result: the caller checks pages, fields and bookmarks.
    """
    ok = _run([*distill_args(preset), f"-sOutputFile={target}", str(source)], timeout)
    return ok and target.is_file() and target.stat().st_size > 0


def iter_pages(pdf: Path, dpi: int = 72, timeout: int = RENDER_TIMEOUT) -> Iterator[Image.Image]:
    """Every page of `pdf` as a greyscale picture at `dpi`, one at a time.

    Pages stream through a pipe as raw PGM, so only the page being compared is in memory and
    no PNG is compressed for nothing. Annotations (form field appearances, stamps) are drawn
    too: losing one shows. Text is not anti-aliased (ten times faster on some fonts; the
    comparison stays fair since both sides are rendered alike). Stops early (fewer pages)
    on an error or after `timeout` seconds: the caller compares page counts.
    """
    binary = gs_binary()
    if binary is None:
        return
    args = ["-sDEVICE=pgmraw", f"-r{dpi}", "-dGraphicsAlphaBits=4", "-dDOINTERPOLATE"]
    args.append("-sOutputFile=-")
    try:
        process = subprocess.Popen(
            [binary, *_BASE_ARGS, *args, str(pdf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        while (page := _read_pgm(process.stdout)) is not None:
            yield page
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _read_pgm(stream: IO[bytes]) -> Image.Image | None:
    """One binary PGM (P5) from `stream`, or None at the end or on anything unexpected."""
    fields: list[bytes] = []
    token = b""
    while len(fields) < 4:
        char = stream.read(1)
        if not char:
            return None
        if char == b"#" and not token:
            stream.readline()  # a comment (Ghostscript names itself)
        elif char.isspace():
            if token:
                fields.append(token)
                token = b""
        else:
            token += char
        if len(token) > 16:
            return None
    if fields[0] != b"P5" or not all(f.isdigit() for f in fields[1:]) or fields[3] != b"255":
        return None
    width, height = int(fields[1]), int(fields[2])
    data = stream.read(width * height)
    if len(data) != width * height:
        return None
    return Image.frombytes("L", (width, height), data)

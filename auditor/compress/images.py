"""Light copies of photos: smaller files that look the same, never bigger, never sideways.

`compress_image` is pure: it reads one file and returns an Outcome holding the new bytes (or
why the original stays); the runner decides where they go. Files are dispatched by content
(`sniff_image`, magic bytes), never by extension: a `.jpg` holding a PNG is handled as a PNG
and a note says so; a text file named `.jpg` is skipped as not an image.

How one photo is made lighter:
- decode once (for a JPEG much larger than the target, `draft()` lets libjpeg decode at 1/2,
  1/4 or 1/8 scale, never below the target size), apply the EXIF orientation, convert CMYK to
  RGB through its ICC profile (Pillow already un-inverts Adobe CMYK), keep other ICC profiles;
- shrink to the preset's long side (never enlarge);
- search the JPEG/WebP quality, from preset.quality down to preset.min_quality (binary search,
  on the resized picture), for the lightest output whose SSIM to the original stays at or above
  preset.ssim_min. SSIM is measured on the final bytes, decoded, against the oriented original
  (both brought down to the guard size by quality.ssim, so resizing costs little SSIM).

Formats:
- JPEG stays JPEG, WebP stays WebP (WebP when preset.image_format == "webp" for any photo).
- PNG, GIF, BMP and TIFF are re-saved losslessly as PNG (optimize=True; GIF may also stay GIF);
  no palette quantisation unless the picture was indexed and had to be resized. An opaque,
  photographic one (more than PHOTO_COLOURS distinct colours) may become JPEG (or WebP), but
  only when the preset allows lossy output, the guard passes, and the lossy file is at most
  half the lightest lossless one: a screenshot stays sharp, a 20 MB photo saved as PNG does not
  stay 20 MB. Transparent pictures never become JPEG (RGBA is never written as JPEG); they stay
  PNG, or become WebP with alpha when asked. An alpha channel that is fully opaque is dropped.
- Animated GIF/PNG/WebP are kept as they are (keep_animation); otherwise every frame is
  re-saved, with its duration and the loop count.
- Multi-page TIFF is kept. A multi-picture JPEG (MPO, some phones) is compressed as its
  first, main picture.
- preset.lossless (print) never re-encodes pixels lossily: JPEG and WebP are kept as they are
  (Pillow cannot rewrite a JPEG without decoding it), PNG/GIF/BMP/TIFF are re-saved as PNG with
  identical pixels, 16-bit-per-channel PNG is kept (PNG output would be 8-bit).

Metadata: every output drops EXIF, XMP and text chunks except the ICC profile and the date taken.
The GPS location is removed (note "compress_image.location_removed") unless keep_location,
which keeps the whole EXIF block, GPS included, with the orientation tag reset to 1.

Guards: decompression bombs (Pillow's MAX_IMAGE_PIXELS, its warning treated as an error here
only, not globally), truncated files (LOAD_TRUNCATED_IMAGES is never set), corrupt or
unsupported files: all give a "skipped" Outcome with a reason key, never an exception.
"""

from __future__ import annotations

import re
import struct
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, ImageSequence

from auditor.compress.outcome import Outcome
from auditor.compress.presets import Preset
from auditor.compress.quality import guard_size, ssim
from auditor.errors import Problem

ENGINE = "pillow"
K = "compress_image."  # prefix of every i18n key of this module

# content kind -> extensions that honestly name it (the first is used for a new file)
IMAGE_KINDS: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "png": (".png", ".apng"),
    "gif": (".gif",),
    "webp": (".webp",),
    "tiff": (".tif", ".tiff"),
    "bmp": (".bmp", ".dib"),
}
_PIL_FORMAT = {
    "jpeg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "tiff": "TIFF",
    "bmp": "BMP",
}
_SUFFIX_OF_FORMAT = {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}

PHOTO_COLOURS = 16_384  # an opaque picture with more distinct colours is treated as a photo
LOSSY_OVER_LOSSLESS = 0.5  # a lossy copy of a PNG must weigh at most this much of the PNG
_QUALITY_PRECISION = 3  # the search stops within this many quality steps of the best
_GUARD_FRAMES = 12  # frames of an animation compared to the original (evenly spread)
_ORIENTATION = 0x0112
_DATETIME = 0x0132
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATE_TAGS = (0x9003, 0x9004, 0x9010, 0x9011)  # date taken / digitised and their time zones
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+) pixels")


def sniff_image(head: bytes) -> str | None:
    """The image kind of a file from its first bytes ("jpeg", "png"...), None if not an image.

    Magic bytes only; BMP's two-letter signature is confirmed by its DIB header size, so a text
    file starting with "BM" is not taken for a picture.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 18:
        (dib_size,) = struct.unpack_from("<I", head, 14)
        if dib_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return "bmp"
    return None


class _Stop(Exception):
    """Ends the work on one file early with a kept/skipped Outcome (not an error)."""

    def __init__(self, status: str, reason: str, **args: object) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.args_ = {key: str(value) for key, value in args.items()}


@dataclass
class _Candidate:
    data: bytes
    fmt: str  # Pillow format name: JPEG, PNG, GIF, WEBP
    ssim: float


@dataclass
class _Source:
    """The decoded picture and what must travel with it."""

    kind: str
    image: Image.Image  # oriented, 8-bit, colour-managed; mode 1, L, LA, P, RGB or RGBA
    reference: Image.Image  # greyscale original at the guard size: what SSIM compares to
    target: tuple[int, int]  # size after resizing (== image.size when not resized)
    icc: bytes | None
    exif: bytes | None  # the EXIF block to write (dates, or everything with keep_location)
    had_location: bool

    @property
    def resized(self) -> bool:
        return self.target != self.image.size


def compress_image(path: Path, preset: Preset) -> Outcome:
    """A lighter copy of the picture at `path`, or why it stays as it is. Never raises."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _outcome("skipped", 0, K + "unreadable", error=exc.strerror or str(exc))
    kind = sniff_image(data[:32])
    if kind is None:
        return _outcome("skipped", len(data), K + "not_an_image")
    notes = [] if path.suffix.lower() in IMAGE_KINDS[kind] else [K + "really_" + kind]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            outcome = _compress(data, kind, path.suffix, preset)
    except _Stop as stop:
        outcome = _outcome(stop.status, len(data), stop.reason, **stop.args_)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        outcome = _bomb(len(data), exc)
    except Image.UnidentifiedImageError:
        outcome = _outcome("skipped", len(data), K + "corrupt", error=f"not a readable {kind}")
    except MemoryError:
        outcome = _outcome("skipped", len(data), K + "too_big_for_memory")
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, struct.error) as exc:
        outcome = _broken(len(data), exc)
    outcome.notes[:0] = notes
    return outcome


def _outcome(status: str, size: int, reason: str, **args: object) -> Outcome:
    return Outcome(
        status,  # type: ignore[arg-type]
        size,
        reason=Problem(reason, **{key: str(value) for key, value in args.items()}),
        engine=ENGINE,
    )


def _bomb(size: int, exc: Exception) -> Outcome:
    """Skipped: the header announces more pixels than Pillow's safety limit allows."""
    match = _BOMB_PIXELS.search(str(exc))
    pixels, limit = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    return _outcome(
        "skipped",
        size,
        K + "too_many_pixels",
        megapixels=round(pixels / 1e6),
        limit=round(limit / 1e6),
    )


def _broken(size: int, exc: Exception) -> Outcome:
    text = str(exc) or type(exc).__name__
    if "truncated" in text or isinstance(exc, EOFError):
        return _outcome("skipped", size, K + "truncated")
    return _outcome("skipped", size, K + "corrupt", error=text)


def _compress(data: bytes, kind: str, suffix: str, preset: Preset) -> Outcome:
    image = Image.open(BytesIO(data), formats=[_PIL_FORMAT[kind]])
    _check_frames(image, kind, preset)
    if _is_animated(image, kind):
        return _compress_animation(image, kind, suffix, len(data), preset)
    if preset.lossless and kind == "png" and len(data) > 24 and data[24] == 16:
        raise _Stop("kept", K + "deep_colour")
    target = _target_size(image.size, preset.max_px)
    if kind == "jpeg" and target != image.size:
        image.draft(image.mode, target)  # decode at 1/2, 1/4 or 1/8 scale, still >= target
    image.load()
    if preset.lossless and kind in ("jpeg", "webp"):
        raise _Stop("kept", K + "lossless_kept")
    source = _prepare(image, kind, preset)
    candidates = _candidates(source, preset)
    return _choose(candidates, source, suffix, len(data), preset)


def _check_frames(image: Image.Image, kind: str, preset: Preset) -> None:
    if kind == "tiff" and getattr(image, "n_frames", 1) > 1:
        raise _Stop("kept", K + "multipage")
    if _is_animated(image, kind) and preset.keep_animation:
        raise _Stop("kept", K + "animated")


def _is_animated(image: Image.Image, kind: str) -> bool:
    """GIF/PNG/WebP animations; a multi-picture JPEG (MPO) is a photo plus extras, not one."""
    return kind in ("gif", "png", "webp") and bool(getattr(image, "is_animated", False))


def _target_size(size: tuple[int, int], max_px: int | None) -> tuple[int, int]:
    """`size` shrunk so its long side is at most `max_px` (same aspect ratio, never larger)."""
    width, height = size
    if max_px is None or max(width, height) <= max_px:
        return size
    scale = max_px / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


# --- decoding: orientation, colours, alpha, metadata -------------------------------------


def _prepare(image: Image.Image, kind: str, preset: Preset) -> _Source:
    exif = image.getexif()
    had_location = _has_location(exif, image.info.get("xmp"))
    icc = image.info.get("icc_profile") or None
    oriented = ImageOps.exif_transpose(image)
    pixels, icc = _to_display_mode(oriented, icc, preset)
    target = _target_size(pixels.size, preset.max_px)
    reference = _reference(pixels, target)
    return _Source(
        kind=kind,
        image=pixels,
        reference=reference,
        target=target,
        icc=icc,
        exif=_exif_to_keep(exif, preset.keep_location),
        had_location=had_location,
    )


def _has_location(exif: Image.Exif, xmp: object) -> bool:
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except (KeyError, ValueError, TypeError, struct.error):
        gps = {}
    in_xmp = isinstance(xmp, bytes | str) and "GPSLatitude" in (
        xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    )
    return bool(gps) or in_xmp


def _exif_to_keep(exif: Image.Exif, keep_location: bool) -> bytes | None:
    """The EXIF block for the output: all of it (orientation reset) or only the dates.

    The date taken is what people sort their photos by; the camera details and the rest go.
    """
    try:
        if keep_location:
            if not exif:
                return None
            if _ORIENTATION in exif:
                exif[_ORIENTATION] = 1  # the pixels are upright now
            return exif.tobytes()
        kept = Image.Exif()
        if _DATETIME in exif:
            kept[_DATETIME] = exif[_DATETIME]
        sub = exif.get_ifd(_EXIF_IFD)
        dates = {tag: sub[tag] for tag in _DATE_TAGS if tag in sub}
        if dates:
            kept.get_ifd(_EXIF_IFD).update(dates)
        return kept.tobytes() if (dates or _DATETIME in kept) else None
    except (KeyError, ValueError, TypeError, struct.error):
        return None  # a broken EXIF block is not worth losing the photo for


def _to_display_mode(
    image: Image.Image, icc: bytes | None, preset: Preset
) -> tuple[Image.Image, bytes | None]:
    """An 8-bit picture in a mode every encoder takes (1, L, LA, P, RGB, RGBA), and its ICC."""
    mode = image.mode
    if mode == "CMYK":
        return _cmyk_to_rgb(image, icc), None
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        if preset.lossless:
            raise _Stop("kept", K + "deep_colour")
        grey = np.asarray(image, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(grey + 0.5, 0, 255).astype(np.uint8), "L"), icc
    if mode in ("I", "F"):
        raise _Stop("kept", K + "unsupported_mode", mode=mode)
    if mode in ("YCbCr", "LAB", "HSV", "RGBX"):
        return image.convert("RGB"), None if mode == "LAB" else icc
    if mode in ("PA", "RGBa", "La"):
        image = image.convert("LA" if mode == "La" else "RGBA")
    # an indexed picture keeps its palette (and its transparent entry): re-saved as it is
    # when it need not be resized, it stays as light as it was
    if image.mode in ("RGBA", "LA"):
        alpha = image.getchannel("A")
        if alpha.getextrema()[0] == 255:  # an alpha channel with nothing transparent
            image = image.convert(image.mode[:-1])
    return image, icc


def _cmyk_to_rgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB colours of a CMYK photo: through its ICC profile when it has one, else plainly.

    Pillow already reads Adobe's inverted CMYK JPEGs the right way up.
    """
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return image.convert("RGB")


def _reference(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """The original as quality.ssim sees it, computed once: greyscale, on white, guard size.

    ssim(reference, candidate) gives exactly ssim(original, candidate) (same size, same
    greyscale conversion) without converting and resizing the full original at every try.
    """
    size = guard_size(image, Image.new("1", target))
    return _flatten(image).convert("L").resize(size, Image.Resampling.LANCZOS)


def _flatten(image: Image.Image) -> Image.Image:
    """The picture as shown on a white page (as quality.ssim judges transparent pictures)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba)
    return image


def _resize(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    if image.size == target:
        return image
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


# --- encoding and the quality search ----------------------------------------------------


def _candidates(source: _Source, preset: Preset) -> list[_Candidate]:
    """Every output worth comparing for this picture; the lightest good one wins."""
    resized = _resize(source.image, source.target)
    lossy_format = "WEBP" if preset.image_format == "webp" else "JPEG"
    if source.kind in ("jpeg", "webp"):
        fmt = "WEBP" if source.kind == "webp" else lossy_format
        return _searched(resized, source, fmt, preset)
    found = _lossless(resized, source, preset)
    if preset.lossless:
        return found
    alpha = _has_alpha(resized)
    if preset.image_format == "webp" or (not alpha and _is_photo(resized)):
        fmt = "WEBP" if alpha else lossy_format
        lightest = min((len(c.data) for c in found), default=None)
        for lossy in _searched(resized, source, fmt, preset):
            if lightest is None or len(lossy.data) <= lightest * LOSSY_OVER_LOSSLESS:
                found.append(lossy)
    return found


def _lossless(resized: Image.Image, source: _Source, preset: Preset) -> list[_Candidate]:
    """PNG (and GIF for a GIF) with the resized pixels, and a palette one for indexed sources."""
    images = [resized]
    if source.resized and source.image.mode in ("P", "1") and not preset.lossless:
        images.append(_quantize(resized))
    formats = ["PNG", "GIF"] if source.kind == "gif" else ["PNG"]
    if preset.image_format == "webp" and not preset.lossless:
        formats.append("WEBP")
    found = []
    for image in images:
        for fmt in formats:
            data = _encode(image, fmt, None, source)
            found.append(_Candidate(data, fmt, _measure(data, source)))
    return found


def _quantize(image: Image.Image) -> Image.Image:
    """Back to 256 colours after resizing an indexed picture (its palette was its weight)."""
    method = Image.Quantize.FASTOCTREE if image.mode in ("RGBA", "LA") else None
    if image.mode == "LA":
        image = image.convert("RGBA")
    elif image.mode == "L":
        image = image.convert("RGB")
    return image.quantize(256, method=method)


def _is_photo(image: Image.Image) -> bool:
    """Many distinct colours: a photograph (or a scan), where JPEG is the right encoding."""
    if image.mode not in ("RGB", "L"):
        return False
    return image.getcolors(maxcolors=PHOTO_COLOURS) is None


def _searched(image: Image.Image, source: _Source, fmt: str, preset: Preset) -> list[_Candidate]:
    """The lightest lossy encoding that passes the guard, by binary search on the quality.

    SSIM falls as the quality falls (close enough to monotonic for a search); every try is
    measured, so what is returned has passed the guard on its own bytes. Empty when even
    preset.quality fails, with that SSIM kept in the candidate list as a failed candidate.
    """
    if fmt == "JPEG" and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")

    def attempt(quality: int) -> _Candidate:
        data = _encode(image, fmt, quality, source)
        return _Candidate(data, fmt, _measure(data, source))

    high = attempt(preset.quality)
    if high.ssim < preset.ssim_min:
        return [high]  # failed: _choose reports its SSIM
    best, low, top = high, max(1, min(preset.min_quality, preset.quality)), preset.quality
    while top - low >= _QUALITY_PRECISION:
        middle = (low + top) // 2
        trial = attempt(middle)
        if trial.ssim >= preset.ssim_min:
            top = middle
            best = trial if len(trial.data) < len(best.data) else best
        else:
            low = middle + 1
    return [best]


def _encode(image: Image.Image, fmt: str, quality: int | None, source: _Source) -> bytes:
    """The picture in `fmt`, with only the metadata we mean to keep (ICC, dates or all EXIF)."""
    options: dict[str, object] = {}
    if source.icc:
        options["icc_profile"] = source.icc
    if source.exif and fmt in ("JPEG", "PNG", "WEBP"):
        options["exif"] = source.exif
    if fmt == "JPEG":
        options.update(quality=quality, optimize=True, progressive=True)
    elif fmt == "WEBP":
        options.update(quality=quality or 100, method=4, lossless=quality is None)
    elif fmt in ("PNG", "GIF"):
        options["optimize"] = True
        if "transparency" in image.info:
            options["transparency"] = image.info["transparency"]
    clean = image.copy()
    clean.info = {}  # nothing of the original's text chunks, XMP or comments slips through
    buffer = BytesIO()
    clean.save(buffer, fmt, **options)
    return buffer.getvalue()


def _measure(data: bytes, source: _Source) -> float:
    """SSIM of the encoded bytes, decoded, against the original."""
    with Image.open(BytesIO(data)) as decoded:
        decoded.load()
        return ssim(source.reference, decoded)


def _choose(
    candidates: list[_Candidate], source: _Source, suffix: str, size: int, preset: Preset
) -> Outcome:
    """The lightest candidate that passed the guard, if lighter than the original."""
    good = [c for c in candidates if c.ssim >= preset.ssim_min]
    if not good:
        best = max((c.ssim for c in candidates), default=0.0)
        raise _Stop("kept", K + "quality_guard", ssim=f"{best:.3f}")
    best = min(good, key=lambda c: len(c.data))
    if len(best.data) >= size:
        raise _Stop("kept", K + "not_smaller")
    notes = []
    if source.had_location and not preset.keep_location:
        notes.append(K + "location_removed")
    out_kind = _SUFFIX_OF_FORMAT[best.fmt]
    if out_kind != source.kind:
        notes.append(K + "converted_" + out_kind)
    return Outcome(
        "smaller",
        size,
        data=best.data,
        suffix=_suffix(suffix, out_kind),
        ssim=best.ssim,
        notes=notes,
        engine=ENGINE,
    )


def _suffix(original: str, out_kind: str) -> str:
    """The original extension when it already names the output format (keeps ".JPG")."""
    return original if original.lower() in IMAGE_KINDS[out_kind] else IMAGE_KINDS[out_kind][0]


# --- animations (only when keep_animation is False) --------------------------------------


def _compress_animation(
    image: Image.Image, kind: str, suffix: str, size: int, preset: Preset
) -> Outcome:
    """Every frame resized and re-saved with its timing; guarded on frames spread over it."""
    if preset.lossless:
        raise _Stop("kept", K + "animated")
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        frames.append(frame.convert("RGBA"))
        durations.append(int(frame.info.get("duration", 100) or 100))
    target = _target_size(frames[0].size, preset.max_px)
    small = [_resize(frame, target) for frame in frames]
    fmt = "WEBP" if preset.image_format == "webp" or kind == "webp" else _PIL_FORMAT[kind]
    options: dict[str, object] = {
        "save_all": True,
        "append_images": small[1:],
        "duration": durations,
        "loop": int(image.info.get("loop", 0) or 0),
    }
    if fmt == "WEBP":
        options.update(quality=preset.quality, method=4)
    elif fmt == "GIF":
        options.update(optimize=True, disposal=2)
    else:
        options.update(optimize=True, disposal=1)
    buffer = BytesIO()
    small[0].save(buffer, fmt, **options)
    data = buffer.getvalue()
    score = _animation_ssim(frames, data)
    if score < preset.ssim_min:
        raise _Stop("kept", K + "quality_guard", ssim=f"{score:.3f}")
    if len(data) >= size:
        raise _Stop("kept", K + "not_smaller")
    out_kind = _SUFFIX_OF_FORMAT[fmt]
    notes = [K + "converted_" + out_kind] if out_kind != kind else []
    return Outcome(
        "smaller",
        size,
        data=data,
        suffix=_suffix(suffix, out_kind),
        ssim=score,
        notes=notes,
        engine=ENGINE,
    )


def _animation_ssim(originals: list[Image.Image], data: bytes) -> float:
    """The lowest SSIM over up to _GUARD_FRAMES frames spread over the animation."""
    count = len(originals)
    step = (count - 1) / max(1, _GUARD_FRAMES - 1)
    picks = sorted({round(i * step) for i in range(_GUARD_FRAMES)})
    lowest = 1.0
    with Image.open(BytesIO(data)) as decoded:
        if getattr(decoded, "n_frames", 1) != count:
            return -1.0  # a frame lost is a failed copy
        for index in picks:
            decoded.seek(index)
            lowest = min(lowest, ssim(originals[index], decoded.convert("RGBA")))
    return lowest

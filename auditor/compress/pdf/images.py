"""Images of a PDF made lighter: downsampled to the preset's resolution, re-encoded.

Photos are re-encoded as JPEG with the quality searched from preset.quality down while the
image's SSIM stays at preset.ssim_min; line art stays lossless (Flate). Only 8-bit grey or RGB
images with filters pypdf decodes safely are touched (analysis.image_components says which),
so nothing needs an external decoder. A transparency mask (/SMask) stays attached (the image
stream is rewritten in place, not replaced), resized along with its image.
"""

from __future__ import annotations

import io
import zlib
from typing import Any

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import IndirectObject, NameObject, NumberObject, StreamObject

from auditor.compress.pdf.analysis import DCT, drawn_sizes, filter_names, image_components, resolve
from auditor.compress.presets import Preset
from auditor.compress.quality import guard_size, ssim

DOWNSAMPLE_ABOVE = 1.25  # an image is downsampled only above 1.25 × the preset's dpi
PHOTO_COLOURS = 4096  # distinct colours above which a lossless image is treated as a photo


def _decode(
    image: StreamObject, components: int, at_least: tuple[int, int] | None = None
) -> Image.Image | None:
    """The image's pixels as L or RGB, or None when they do not match its dictionary.

    A JPEG needed only at `at_least` pixels is decoded by libjpeg at 1/2, 1/4 or 1/8 scale
    (never below that size): much faster for a 20-megapixel photo drawn 3 inches wide.
    """
    width, height = int(image["/Width"]), int(image["/Height"])
    mode = "L" if components == 1 else "RGB"
    if filter_names(image) and filter_names(image)[0] in DCT:
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


def lighten_images(writer: PdfWriter, preset: Preset) -> float | None:
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
    components = image_components(image)
    if components is None:
        return None
    full = (int(image["/Width"]), int(image["/Height"]))
    size = _target_size(full, drawn, preset.dpi)
    original = _decode(image, components, size)
    image.decoded_self = None  # do not keep decoded pixels in memory
    if original is None:
        return None
    was_jpeg = filter_names(image)[0] in DCT if filter_names(image) else False
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
    mask = resolve(ref)
    if not isinstance(mask, StreamObject) or not isinstance(ref, IndirectObject):
        return
    if ref.idnum in done or "/Matte" in mask or image_components(mask) != 1:
        return
    if filter_names(mask) and filter_names(mask)[0] in DCT:
        return
    done.add(ref.idnum)
    pixels = _decode(mask, 1)
    mask.decoded_self = None
    if pixels is None or pixels.width <= size[0] or pixels.height <= size[1]:
        return
    smaller = pixels.resize(size, Image.Resampling.LANCZOS)
    _store_image(mask, zlib.compress(smaller.tobytes(), 9), size, jpeg=False)

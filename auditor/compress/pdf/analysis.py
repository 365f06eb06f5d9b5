"""How each image of a PDF is drawn, and which images can be re-encoded safely.

An image XObject's resolution is measured from how the pages draw it (the content streams are
walked, q/Q and cm tracked, form XObjects followed), not from its pixel count: a 3000 px photo
drawn 2 inches wide is 1500 dpi, the same photo drawn 20 inches wide is 150 dpi. An image
drawn several times is measured where it is drawn largest. Nothing here changes the file.
"""

from __future__ import annotations

import math
from typing import Any

from pypdf import PdfWriter
from pypdf.filters import ASCII85Decode, ASCIIHexDecode
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    IndirectObject,
    StreamObject,
)

MAX_IMAGE_PIXELS = 40_000_000  # larger images are left alone (memory, pypdf's decode limit)
FORM_DEPTH = 12  # nested form XObjects followed when measuring image resolutions

FLATE = ("/FlateDecode", "/Fl")
DCT = ("/DCTDecode", "/DCT")
ASCII = {
    "/ASCIIHexDecode": ASCIIHexDecode,
    "/AHx": ASCIIHexDecode,
    "/ASCII85Decode": ASCII85Decode,
    "/A85": ASCII85Decode,
}
_LOSSLESS = {*FLATE, *ASCII, "/LZWDecode", "/LZW", "/RunLengthDecode", "/RL"}

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


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
        xobjects = resolve(resources.get("/XObject")) if isinstance(resources, dict) else None
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
        xobject = resolve(ref)
        if not isinstance(xobject, StreamObject) or not isinstance(ref, IndirectObject):
            return []
        if xobject.get("/Subtype") == "/Image":
            return [(ref.idnum, ctm)]
        if xobject.get("/Subtype") != "/Form" or depth >= FORM_DEPTH:
            return []
        if ref.idnum not in self.forms:
            self.forms[ref.idnum] = []  # guards against a form drawing itself
            form_resources = resolve(xobject.get("/Resources")) or resources
            if _has_images(form_resources, 0, set()):
                content = ContentStream(xobject, self.writer)
                self.forms[ref.idnum] = self._draws(content, form_resources, depth + 1)
        form_matrix = _matrix(xobject.get("/Matrix", _IDENTITY)) or _IDENTITY
        base = _multiply(form_matrix, ctm)
        return [(image, _multiply(m, base)) for image, m in self.forms[ref.idnum]]


def resolve(obj: Any) -> Any:
    return obj.get_object() if obj is not None else None


def _inherited(page: DictionaryObject, key: str) -> Any:
    node: Any = page
    for _ in range(64):
        if node is None:
            return None
        node = node.get_object()
        if key in node:
            return resolve(node[key])
        node = node.get("/Parent")
    return None


def _has_images(resources: Any, depth: int, seen: set[int]) -> bool:
    """Whether these resources (or a form in them) hold an image: skips parsing text pages."""
    if not isinstance(resources, DictionaryObject) or depth > FORM_DEPTH:
        return False
    xobjects = resolve(resources.get("/XObject"))
    if not isinstance(xobjects, DictionaryObject):
        return False
    for ref in xobjects.values():
        xobject = resolve(ref)
        if not isinstance(xobject, StreamObject):
            continue
        if xobject.get("/Subtype") == "/Image":
            return True
        key = ref.idnum if isinstance(ref, IndirectObject) else id(xobject)
        if xobject.get("/Subtype") == "/Form" and key not in seen:
            seen.add(key)
            if _has_images(resolve(xobject.get("/Resources")), depth + 1, seen):
                return True
    return False


def drawn_sizes(writer: PdfWriter) -> dict[int, tuple[float, float]]:
    """Largest drawn (width, height) in points of each image XObject, by object number."""
    return _DrawWalker(writer).walk_pages()


def filter_names(stream: DictionaryObject) -> list[str]:
    value = resolve(stream.get("/Filter"))
    if value is None:
        return []
    if isinstance(value, ArrayObject):
        return [str(resolve(v)) for v in value]
    return [str(value)]


def _components(colour_space: Any) -> int | None:
    """1 or 3 for the grey and RGB spaces an 8-bit JPEG or Flate image can stay in."""
    space = resolve(colour_space)
    if space in ("/DeviceGray", "/G"):
        return 1
    if space in ("/DeviceRGB", "/RGB"):
        return 3
    if isinstance(space, ArrayObject) and space:
        family = resolve(space[0])
        if family == "/CalGray":
            return 1
        if family == "/CalRGB":
            return 3
        if family == "/ICCBased" and len(space) > 1:
            profile = resolve(space[1])
            n = int(profile.get("/N", 0)) if isinstance(profile, StreamObject) else 0
            return n if n in (1, 3) else None
    return None


def image_components(image: StreamObject) -> int | None:
    """Components of an image pypdf can decode and re-encode safely, else None.

    Checked before anything is decoded: JBIG2/JPX/CCITT need external decoders, masks and
    /Decode arrays change what pixels mean, and huge images hit pypdf's decode limit.
    """
    if image.get("/Subtype") != "/Image" or image.get("/ImageMask"):
        return None
    if isinstance(resolve(image.get("/Mask")), ArrayObject) or "/Decode" in image:
        return None
    if image.get("/BitsPerComponent") != 8:
        return None
    filters = filter_names(image)
    if not (filters in ([f] for f in DCT) or all(f in _LOSSLESS for f in filters)):
        return None
    try:
        width, height = int(image["/Width"]), int(image["/Height"])
    except (KeyError, TypeError, ValueError):
        return None
    if width <= 0 or height <= 0 or width * height > MAX_IMAGE_PIXELS:
        return None
    return _components(image.get("/ColorSpace"))

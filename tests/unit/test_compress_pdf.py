"""compress_pdf: lighter PDFs that keep their pages, text, links, bookmarks, forms and protection.

Every PDF is built here, at run time: image XObjects drawn by hand-written content streams at
known sizes (so the measured resolution is known exactly), link annotations, outlines, form
fields, encryption, PDF/A metadata, and broken files cut from good ones.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from auditor.compress import ghostscript
from auditor.compress.pdf import compress_pdf, drawn_sizes, ghostscript_available
from auditor.compress.pdf import pipeline as pdfmod
from auditor.compress.presets import make_preset

EMAIL = make_preset("email")
PRINT = make_preset("print")
needs_gs = pytest.mark.skipif(not ghostscript_available(), reason="Ghostscript not installed")


# ---------------------------------------------------------------- building PDFs


def photo(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photo-like picture: smooth shapes and fine texture, many colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            128 + 100 * np.sin(x / (width / 7) + seed),
            128 + 100 * np.cos(y / (height / 5)),
            128 + 90 * np.sin((x + y) / (width / 9)),
        ],
        axis=-1,
    )
    noise = rng.normal(0, 18, (height, width, 3))
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").filter(ImageFilter.GaussianBlur(1.2))


def jpeg_bytes(picture: Image.Image, quality: int = 95) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()


def image_stream(picture: Image.Image, jpeg: bool = True) -> StreamObject:
    stream = StreamObject()
    stream[NameObject("/Type")] = NameObject("/XObject")
    stream[NameObject("/Subtype")] = NameObject("/Image")
    stream[NameObject("/Width")] = NumberObject(picture.width)
    stream[NameObject("/Height")] = NumberObject(picture.height)
    space = "/DeviceGray" if picture.mode == "L" else "/DeviceRGB"
    stream[NameObject("/ColorSpace")] = NameObject(space)
    stream[NameObject("/BitsPerComponent")] = NumberObject(8)
    if jpeg:
        stream[NameObject("/Filter")] = NameObject("/DCTDecode")
        stream._data = jpeg_bytes(picture)
    else:
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
        stream._data = zlib.compress(picture.tobytes(), 6)
    return stream


def font(writer: PdfWriter) -> object:
    helvetica = DictionaryObject()
    helvetica[NameObject("/Type")] = NameObject("/Font")
    helvetica[NameObject("/Subtype")] = NameObject("/Type1")
    helvetica[NameObject("/BaseFont")] = NameObject("/Helvetica")
    return writer._add_object(helvetica)


def add_page(
    writer: PdfWriter,
    page_size: tuple[float, float],
    draws: list[tuple[str, float, float]],
    xobjects: dict[str, object],
    text: str = "Hello light world",
) -> None:
    """A page drawing each named XObject at (width, height) points, plus a line of text."""
    page = writer.add_blank_page(*page_size)
    ops = []
    for index, (name, width, height) in enumerate(draws):
        ops.append(f"q {width} 0 0 {height} {10 + index} {30 + index} cm {name} Do Q")
    ops.append(f"BT /F1 10 Tf 10 12 Td ({text}) Tj ET")
    content = DecodedStreamObject()
    content.set_data("\n".join(ops).encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    resources = DictionaryObject()
    resources[NameObject("/XObject")] = DictionaryObject(
        {NameObject(k): v for k, v in xobjects.items()}
    )
    resources[NameObject("/Font")] = DictionaryObject({NameObject("/F1"): font(writer)})
    page[NameObject("/Resources")] = resources


def save(writer: PdfWriter, path: Path) -> Path:
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def photo_pdf(path: Path, pixels: tuple[int, int], inches: float, pages: int = 1) -> Path:
    """One photo of `pixels`, drawn `inches` wide on each page."""
    writer = PdfWriter()
    image = writer._add_object(image_stream(photo(*pixels)))
    width = inches * 72
    height = width * pixels[1] / pixels[0]
    for _ in range(pages):
        add_page(writer, (width + 40, height + 60), [("/Im0", width, height)], {"/Im0": image})
    return save(writer, path)


def add_text_field(writer: PdfWriter, page_index: int, name: str) -> None:
    """A filled-in text field (widget annotation + AcroForm entry)."""
    field = DictionaryObject()
    field[NameObject("/Type")] = NameObject("/Annot")
    field[NameObject("/Subtype")] = NameObject("/Widget")
    field[NameObject("/FT")] = NameObject("/Tx")
    field[NameObject("/T")] = TextStringObject(name)
    field[NameObject("/V")] = TextStringObject("value of " + name)
    field[NameObject("/DA")] = TextStringObject("/Helv 10 Tf 0 g")
    field[NameObject("/Rect")] = ArrayObject([FloatObject(v) for v in (20, 20, 160, 40)])
    field[NameObject("/F")] = NumberObject(4)
    ref = writer._add_object(field)
    page = writer.pages[page_index]
    page[NameObject("/Annots")] = ArrayObject([*page.get("/Annots", ArrayObject()), ref])
    field[NameObject("/P")] = page.indirect_reference
    root = writer.root_object
    if "/AcroForm" not in root:
        form = DictionaryObject()
        form[NameObject("/Fields")] = ArrayObject()
        form[NameObject("/NeedAppearances")] = BooleanObject(True)
        root[NameObject("/AcroForm")] = writer._add_object(form)
    root["/AcroForm"].get_object()["/Fields"].append(ref)


def rich_pdf(path: Path) -> Path:
    """3 pages with photos, a link, two bookmarks and two form fields."""
    writer = PdfWriter()
    image = writer._add_object(image_stream(photo(2400, 1600)))
    for n in range(3):
        add_page(writer, (400, 330), [("/Im0", 288, 192)], {"/Im0": image}, f"Page {n + 1}")
    writer.add_uri(0, "https://example.org", [20, 300, 200, 320])
    chapter = writer.add_outline_item(title="Chapter", page_number=0)
    writer.add_outline_item(title="Section", page_number=2, parent=chapter)
    add_text_field(writer, 0, "name")
    add_text_field(writer, 1, "town")
    return save(writer, path)


def structure(data: bytes, password: str = "") -> tuple[int, int, int, int]:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt(password)
    links = sum(
        1
        for page in reader.pages
        for annot in page.get("/Annots", [])
        if annot.get_object().get("/Subtype") == "/Link"
    )
    return len(reader.pages), len(reader.get_fields() or {}), count(reader.outline), links


def count(outline: list) -> int:
    return sum(count(item) if isinstance(item, list) else 1 for item in outline)


def images_of(data: bytes) -> list[StreamObject]:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")
    found = []
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        for ref in xobjects.values():
            if ref.get_object().get("/Subtype") == "/Image":
                found.append(ref.get_object())
    return found


def check_smaller(outcome: object, before: int) -> None:
    assert outcome.status == "smaller", outcome.reason
    assert outcome.data is not None and len(outcome.data) < before
    assert outcome.size_after < outcome.size_before == before
    assert outcome.suffix == ".pdf"


# ---------------------------------------------------------------- resolution


def test_dpi_is_measured_from_the_drawing(tmp_path: Path) -> None:
    """3000 px drawn 2 inches wide is 1500 dpi: brought down to about 150 dpi."""
    source = photo_pdf(tmp_path / "dense.pdf", (3000, 2000), inches=2)
    outcome = compress_pdf(source, EMAIL, engine="pypdf")
    check_smaller(outcome, source.stat().st_size)
    (image,) = images_of(outcome.data)
    assert 280 <= image["/Width"] <= 320  # 150 dpi × 2 in
    assert 186 <= image["/Height"] <= 214
    assert image["/Filter"] == "/DCTDecode"
    assert outcome.ssim is not None and outcome.ssim >= EMAIL.ssim_min


def test_an_image_drawn_large_keeps_its_pixels(tmp_path: Path) -> None:
    """The same 3000 px drawn 20 inches wide is 150 dpi: its size is left alone."""
    source = photo_pdf(tmp_path / "poster.pdf", (3000, 2000), inches=20)
    outcome = compress_pdf(source, EMAIL, engine="pypdf")
    data = outcome.data if outcome.status == "smaller" else source.read_bytes()
    (image,) = images_of(data)
    assert (image["/Width"], image["/Height"]) == (3000, 2000)


def test_drawn_sizes_follow_cm_q_Q_forms_and_take_the_largest(tmp_path: Path) -> None:
    writer = PdfWriter()
    image = writer._add_object(image_stream(photo(64, 32)))
    form = DecodedStreamObject()
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject([NumberObject(v) for v in (0, 0, 1000, 1000)])
    form[NameObject("/Matrix")] = ArrayObject([FloatObject(v) for v in (2, 0, 0, 2, 0, 0)])
    resources = DictionaryObject()
    resources[NameObject("/XObject")] = DictionaryObject({NameObject("/Im0"): image})
    form[NameObject("/Resources")] = resources
    form.set_data(b"q 50 0 0 25 0 0 cm /Im0 Do Q")
    form_ref = writer._add_object(form)
    add_page(writer, (600, 600), [("/Im0", 72, 36)], {"/Im0": image})
    page = writer.pages[0]
    # a second drawing, through the form (×2) after a cm that scales by 3 inside q/Q
    extra = DecodedStreamObject()
    extra.set_data(b"q 3 0 0 3 0 0 cm /Fm0 Do Q q /Im0 Do Q")
    page[NameObject("/Contents")] = ArrayObject([page["/Contents"], writer._add_object(extra)])
    page["/Resources"]["/XObject"][NameObject("/Fm0")] = form_ref
    sizes = drawn_sizes(writer)
    assert sizes == {image.idnum: pytest.approx((300.0, 150.0))}  # 50 × 2 × 3, 25 × 2 × 3


def test_identical_images_are_processed_once_and_merged(tmp_path: Path) -> None:
    """Producers that embed the same photo once per page: one copy remains."""
    writer = PdfWriter()
    picture = photo(1600, 1200)
    for _ in range(3):
        image = writer._add_object(image_stream(picture))
        add_page(writer, (300, 300), [("/Im0", 144, 108)], {"/Im0": image})
    source = save(writer, tmp_path / "copies.pdf")
    outcome = compress_pdf(source, EMAIL, engine="pypdf")
    check_smaller(outcome, source.stat().st_size)
    numbers = {img.indirect_reference.idnum for img in images_of(outcome.data)}
    assert len(numbers) == 1


# ---------------------------------------------------------------- what must survive


def test_links_bookmarks_fields_pages_and_text_survive(tmp_path: Path) -> None:
    source = rich_pdf(tmp_path / "rich.pdf")
    before = structure(source.read_bytes())
    assert before == (3, 2, 2, 1)
    outcome = compress_pdf(source, EMAIL, engine="pypdf")
    check_smaller(outcome, source.stat().st_size)
    assert structure(outcome.data) == before
    reader = PdfReader(io.BytesIO(outcome.data))
    assert "Page 2" in reader.pages[1].extract_text()
    assert reader.outline[1][0].title == "Section"
    assert reader.get_fields()["town"]["/V"] == "value of town"
    font = reader.pages[0]["/Resources"]["/Font"]["/F1"].get_object()
    assert font["/BaseFont"] == "/Helvetica"


def test_output_uses_object_streams_and_passes_qpdf_check(tmp_path: Path) -> None:
    source = rich_pdf(tmp_path / "rich.pdf")
    outcome = compress_pdf(source, EMAIL, engine="pypdf")
    check_smaller(outcome, source.stat().st_size)
    assert b"/ObjStm" in outcome.data and b"/XRef" in outcome.data
    if shutil.which("qpdf"):
        target = tmp_path / "out.pdf"
        target.write_bytes(outcome.data)
        done = subprocess.run(["qpdf", "--check", str(target)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_transparency_mask_stays_attached(tmp_path: Path) -> None:
    writer = PdfWriter()
    picture = photo(2000, 2000)
    mask = Image.new("L", picture.size, 0)
    mask.paste(255, (500, 500, 1500, 1500))  # opaque square in a transparent frame
    mask_stream = image_stream(mask, jpeg=False)
    image = image_stream(picture)
    image[NameObject("/SMask")] = writer._add_object(mask_stream)
    ref = writer._add_object(image)
    add_page(writer, (200, 200), [("/Im0", 144, 144)], {"/Im0": ref})
    source = save(writer, tmp_path / "alpha.pdf")
    outcome = compress_pdf(source, EMAIL, engine="pypdf")
    check_smaller(outcome, source.stat().st_size)
    (out,) = images_of(outcome.data)
    assert out["/Width"] < 2000
    smask = out["/SMask"].get_object()
    alpha = np.asarray(Image.frombytes("L", (smask["/Width"], smask["/Height"]), smask.get_data()))
    h, w = alpha.shape
    assert alpha[h // 2, w // 2] == 255  # still opaque in the middle
    assert alpha[2, 2] == 0  # still transparent at the edge


def test_unsupported_images_are_left_untouched(tmp_path: Path) -> None:
    """1-bit and indexed images: not decoded, not changed (no external decoder needed)."""
    writer = PdfWriter()
    bilevel = StreamObject()
    for key, value in {
        "/Type": NameObject("/XObject"),
        "/Subtype": NameObject("/Image"),
        "/Width": NumberObject(4000),
        "/Height": NumberObject(4000),
        "/ColorSpace": NameObject("/DeviceGray"),
        "/BitsPerComponent": NumberObject(1),
        "/Filter": NameObject("/FlateDecode"),
    }.items():
        bilevel[NameObject(key)] = value
    raw = bytes(500 * 4000)
    bilevel._data = zlib.compress(raw, 1)
    ref = writer._add_object(bilevel)
    add_page(writer, (200, 200), [("/Im0", 100, 100)], {"/Im0": ref})
    source = save(writer, tmp_path / "bilevel.pdf")
    outcome = compress_pdf(source, EMAIL, engine="pypdf")
    data = outcome.data if outcome.status == "smaller" else source.read_bytes()
    (image,) = images_of(data)
    assert (image["/Width"], image["/BitsPerComponent"]) == (4000, 1)
    assert image.get_data() == raw


def test_print_preset_never_re_encodes_pixels(tmp_path: Path) -> None:
    source = photo_pdf(tmp_path / "dense.pdf", (1500, 1000), inches=2)
    original = images_of(source.read_bytes())[0]._data
    outcome = compress_pdf(source, PRINT, engine="pypdf")
    data = outcome.data if outcome.status == "smaller" else source.read_bytes()
    assert images_of(data)[0]._data == original


def test_a_lighter_result_is_never_as_big_as_the_original(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    source = save(writer, tmp_path / "tiny.pdf")
    for engine in ("pypdf", "auto"):
        outcome = compress_pdf(source, EMAIL, engine=engine)
        if outcome.status == "smaller":
            assert len(outcome.data) < source.stat().st_size
        else:
            assert outcome.status == "kept" and outcome.data is None


def test_already_light_file_is_kept(tmp_path: Path) -> None:
    source = photo_pdf(tmp_path / "dense.pdf", (3000, 2000), inches=2)
    first = compress_pdf(source, EMAIL, engine="pypdf")
    light = tmp_path / "light.pdf"
    light.write_bytes(first.data)
    again = compress_pdf(light, EMAIL, engine="pypdf")
    assert again.status == "kept"
    assert again.reason.key == "compress_pdf.not_smaller"


# ---------------------------------------------------------------- protection


def encrypted_pdf(path: Path, user: str, owner: str, algorithm: str) -> Path:
    source = photo_pdf(path.with_suffix(".plain.pdf"), (2400, 1600), inches=2)
    writer = PdfWriter(clone_from=str(source))
    writer.encrypt(user, owner, permissions_flag=-3904, algorithm=algorithm)  # no print/copy
    return save(writer, path)


def test_empty_password_aes_is_compressed_and_re_encrypted(tmp_path: Path) -> None:
    source = encrypted_pdf(tmp_path / "aes.pdf", "", "owner-secret", "AES-128")
    outcome = compress_pdf(source, EMAIL, engine="auto")
    check_smaller(outcome, source.stat().st_size)
    assert outcome.engine == "pypdf"  # Ghostscript is never run on encrypted files
    reader = PdfReader(io.BytesIO(outcome.data))
    assert reader.is_encrypted
    encrypt = reader.trailer["/Encrypt"].get_object()
    assert encrypt["/V"] == 4 and encrypt["/CF"]["/StdCF"]["/CFM"] == "/AESV2"
    assert int(encrypt["/P"]) == -3904
    assert reader.decrypt("owner-secret") != 2  # not the owner password any more
    assert reader.decrypt("")
    assert "compress_pdf.owner_password_replaced" in outcome.notes
    assert len(reader.pages) == 1


def test_empty_password_rc4_keeps_its_algorithm(tmp_path: Path) -> None:
    source = encrypted_pdf(tmp_path / "rc4.pdf", "", "", "RC4-128")
    outcome = compress_pdf(source, EMAIL, engine="pypdf")
    check_smaller(outcome, source.stat().st_size)
    encrypt = PdfReader(io.BytesIO(outcome.data)).trailer["/Encrypt"].get_object()
    assert (encrypt["/V"], encrypt["/R"], encrypt["/Length"]) == (2, 3, 128)
    assert "compress_pdf.owner_password_replaced" not in outcome.notes


def test_a_real_password_is_skipped(tmp_path: Path) -> None:
    source = encrypted_pdf(tmp_path / "locked.pdf", "secret", "owner", "AES-256")
    outcome = compress_pdf(source, EMAIL)
    assert outcome.status == "skipped"
    assert outcome.reason.key == "compress_pdf.password"
    assert outcome.data is None


# ---------------------------------------------------------------- broken inputs


def broken_variants(tmp_path: Path) -> dict[str, Path]:
    good = rich_pdf(tmp_path / "good.pdf").read_bytes()
    start = good.rindex(b"startxref")
    offset = int(good[start:].split()[1])
    variants = {
        "no_startxref": good[:start] + b"%%EOF\n",
        "truncated": good[: len(good) * 2 // 3],
        "bad_xref_offset": good[:start] + f"startxref\n{offset + 7}\n%%EOF\n".encode(),
        "garbage": b"%PDF-1.7\n" + bytes(range(256)) * 40,
        "not_a_pdf": b"this is a text file named .pdf\n" * 20,
        "empty": b"",
    }
    paths = {}
    for name, data in variants.items():
        paths[name] = tmp_path / f"{name}.pdf"
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize(
    "name", ["no_startxref", "truncated", "bad_xref_offset", "garbage", "not_a_pdf", "empty"]
)
def test_broken_files_are_skipped_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    paths = broken_variants(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    outcome = compress_pdf(paths[name], EMAIL, engine="auto")
    assert outcome.status == "skipped"
    assert outcome.data is None
    assert outcome.reason.key in {
        "compress_pdf.damaged",
        "compress_pdf.not_pdf",
        "compress_pdf.unreadable",
    }
    if name in ("no_startxref", "truncated", "bad_xref_offset"):
        assert outcome.reason.key == "compress_pdf.damaged"
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_missing_file_is_skipped(tmp_path: Path) -> None:
    outcome = compress_pdf(tmp_path / "nowhere.pdf", EMAIL)
    assert (outcome.status, outcome.reason.key) == ("skipped", "compress_pdf.unreadable")


# ---------------------------------------------------------------- left alone on purpose


PDFA_XMP = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 pdfaid:part="2" pdfaid:conformance="B"/>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def pdfa_pdf(path: Path) -> Path:
    source = photo_pdf(path.with_suffix(".plain.pdf"), (2400, 1600), inches=2)
    writer = PdfWriter(clone_from=str(source))
    metadata = DecodedStreamObject()
    metadata[NameObject("/Type")] = NameObject("/Metadata")
    metadata[NameObject("/Subtype")] = NameObject("/XML")
    metadata.set_data(PDFA_XMP)
    writer.root_object[NameObject("/Metadata")] = writer._add_object(metadata)
    return save(writer, path)


def test_pdfa_is_left_alone_by_default(tmp_path: Path) -> None:
    source = pdfa_pdf(tmp_path / "archive.pdf")
    outcome = compress_pdf(source, EMAIL)
    assert (outcome.status, outcome.reason.key) == ("kept", "compress_pdf.pdfa")
    assert outcome.data is None


def test_pdfa_rewritten_on_request_loses_its_claim(tmp_path: Path) -> None:
    source = pdfa_pdf(tmp_path / "archive.pdf")
    outcome = compress_pdf(source, make_preset("email", pdfa=True), engine="pypdf")
    check_smaller(outcome, source.stat().st_size)
    assert "compress_pdf.pdfa_dropped" in outcome.notes
    reader = PdfReader(io.BytesIO(outcome.data))
    assert b"pdfaid:part" not in reader.trailer["/Root"]["/Metadata"].get_object().get_data()


def test_signed_files_are_left_alone(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=str(rich_pdf(tmp_path / "rich.pdf")))
    writer.root_object["/AcroForm"].get_object()[NameObject("/SigFlags")] = NumberObject(3)
    source = save(writer, tmp_path / "signed.pdf")
    outcome = compress_pdf(source, EMAIL)
    assert (outcome.status, outcome.reason.key) == ("kept", "compress_pdf.signed")


# ---------------------------------------------------------------- engines and guard


@needs_gs
def test_ghostscript_output_that_drops_form_fields_is_rejected(tmp_path: Path) -> None:
    source = rich_pdf(tmp_path / "form.pdf")
    # precondition: Ghostscript's copy is smaller but has lost the form
    distilled = tmp_path / "gs.pdf"
    assert ghostscript.distill(source, distilled, EMAIL)
    assert distilled.stat().st_size < source.stat().st_size
    assert structure(distilled.read_bytes())[1] < 2
    alone = compress_pdf(source, EMAIL, engine="ghostscript")
    assert (alone.status, alone.reason.key) == ("kept", "compress_pdf.lost_structure")
    auto = compress_pdf(source, EMAIL, engine="auto")
    check_smaller(auto, source.stat().st_size)
    assert auto.engine == "pypdf"
    assert structure(auto.data) == (3, 2, 2, 1)


@needs_gs
def test_auto_keeps_ghostscript_when_it_is_smaller_and_complete(tmp_path: Path) -> None:
    writer = PdfWriter()
    image = writer._add_object(image_stream(photo(2400, 1600), jpeg=False))  # Flate photo
    for _ in range(2):
        add_page(writer, (330, 260), [("/Im0", 288, 192)], {"/Im0": image})
    source = save(writer, tmp_path / "flate.pdf")
    outcome = compress_pdf(source, EMAIL, engine="auto")
    check_smaller(outcome, source.stat().st_size)
    assert outcome.ssim is not None and outcome.ssim >= EMAIL.ssim_min
    assert outcome.engine in ("pypdf", "ghostscript")
    assert structure(outcome.data)[0] == 2


@needs_gs
def test_the_page_guard_rejects_a_visible_change(tmp_path: Path) -> None:
    source = photo_pdf(tmp_path / "dense.pdf", (1200, 800), inches=4)
    guard = pdfmod._Guard(source.read_bytes(), EMAIL.ssim_min)
    try:
        assert guard.lowest_page_ssim(source.read_bytes()) == 1.0
        writer = PdfWriter(clone_from=str(source))
        (image,) = [ref.get_object() for ref in writer.pages[0]["/Resources"]["/XObject"].values()]
        image._data = jpeg_bytes(Image.new("RGB", (1200, 800), "grey"))
        damaged = io.BytesIO()
        writer.write(damaged)
        assert guard.lowest_page_ssim(damaged.getvalue()) < EMAIL.ssim_min
    finally:
        guard.close()


def test_without_a_renderer_images_are_checked_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ghostscript, "gs_binary", lambda: None)
    assert not ghostscript_available()
    source = photo_pdf(tmp_path / "dense.pdf", (3000, 2000), inches=2)
    outcome = compress_pdf(source, EMAIL, engine="auto")
    check_smaller(outcome, source.stat().st_size)
    assert outcome.engine == "pypdf"
    assert "compress_pdf.images_checked" in outcome.notes
    assert outcome.ssim is not None and outcome.ssim >= EMAIL.ssim_min
    alone = compress_pdf(source, EMAIL, engine="ghostscript")
    assert (alone.status, alone.reason.key) == ("skipped", "compress_pdf.no_ghostscript")

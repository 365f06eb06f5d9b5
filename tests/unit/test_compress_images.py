"""compress_image: lighter photos that look the same, never bigger, never sideways, never a crash.

Every picture is made here with Pillow (noise, gradients and a Mandelbrot set stand in for a
photo), so the tests need no file from outside and no server.
"""

from __future__ import annotations

import re
import struct
import tomllib
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from auditor.compress import images
from auditor.compress.images import IMAGE_KINDS, compress_image, sniff_image
from auditor.compress.outcome import Outcome
from auditor.compress.presets import Preset, make_preset
from auditor.compress.quality import ssim

EMAIL = make_preset("email", max_px=600)  # small pictures keep the tests fast
PRINT = make_preset("print")
GPS_IFD, EXIF_IFD, ORIENTATION, DATE_TAKEN = 0x8825, 0x8769, 0x0112, 0x9003


def photo(width: int = 1200, height: int = 900, seed: int = 1) -> Image.Image:
    """Something with a photo's statistics: smooth shapes, fine detail and sensor noise."""
    rng = np.random.default_rng(seed)
    fractal = Image.effect_mandelbrot((width, height), (-2.2, -1.3, 0.8, 1.3), 60)
    fractal = np.asarray(fractal.filter(ImageFilter.GaussianBlur(2)), dtype=np.float64)
    y, x = np.mgrid[0:height, 0:width]
    channels = [
        0.6 * fractal + 90 * x / width,
        0.4 * fractal + 120 * y / height,
        200 - 0.5 * fractal + 40 * np.sin(x / 37.0),
    ]
    pixels = np.stack(channels, axis=-1) + rng.normal(0, 5, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def save(image: Image.Image, path: Path, fmt: str, **options: object) -> Path:
    image.save(path, fmt, **options)
    return path


def decoded(outcome: Outcome) -> Image.Image:
    assert outcome.data is not None
    image = Image.open(BytesIO(outcome.data))
    image.load()
    return image


def assert_honest(outcome: Outcome, original: Image.Image, preset: Preset) -> None:
    """A "smaller" outcome is smaller and passes the guard, checked again from its bytes.

    The module measures against the picture as decoded for the search (for a large JPEG,
    at libjpeg's reduced scale); the full-size original gives the same SSIM within 0.002.
    """
    assert outcome.status == "smaller", outcome.reason
    assert outcome.data is not None and len(outcome.data) < outcome.size_before
    assert outcome.ssim is not None and outcome.ssim >= preset.ssim_min
    assert ssim(ImageOps.exif_transpose(original), decoded(outcome)) >= preset.ssim_min - 0.002
    assert outcome.engine == "pillow"


# --- recognising files by content -------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("JPEG", "jpeg"), ("PNG", "png"), ("GIF", "gif"), ("WEBP", "webp"), ("TIFF", "tiff"),
     ("BMP", "bmp")],
)  # fmt: skip
def test_sniff_image_knows_every_kind_by_its_magic_bytes(fmt: str, kind: str) -> None:
    buffer = BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, fmt)
    assert sniff_image(buffer.getvalue()[:64]) == kind
    assert kind in IMAGE_KINDS


@pytest.mark.parametrize(
    "head", [b"", b"hello world", b"BMW 320d for sale, 1998, good condition", b"%PDF-1.7\n"]
)
def test_sniff_image_rejects_what_is_not_an_image(head: bytes) -> None:
    assert sniff_image(head) is None


# --- bad inputs: skipped with a reason, never an exception ---------------------------------


def test_decompression_bomb_gif_is_skipped_naming_its_pixels(tmp_path: Path) -> None:
    # 65535 × 65535 = 4.3 gigapixels announced by a 29-byte file
    bomb = (
        b"GIF89a"
        + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
        + b","
        + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
        + b"\x02\x02\x4c\x01\x00;"
    )
    assert len(bomb) < 44
    path = tmp_path / "bomb.gif"
    path.write_bytes(bomb)
    outcome = compress_image(path, EMAIL)
    assert outcome.status == "skipped"
    assert outcome.reason.key == "compress_image.too_many_pixels"
    assert outcome.reason.values["megapixels"] == "4295"
    assert outcome.size_before == len(bomb)


def test_image_just_over_the_warning_limit_is_skipped_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the limit and twice it Pillow only warns; here the warning stops the file."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)
    path = save(Image.new("RGB", (150, 100), "white"), tmp_path / "wide.png", "PNG")
    outcome = compress_image(path, EMAIL)
    assert (outcome.status, outcome.reason.key) == ("skipped", "compress_image.too_many_pixels")
    assert outcome.reason.values["limit"] == "0"  # 10,000 pixels, rounded to megapixels


def test_truncated_jpeg_is_skipped_without_loading_truncated_images(tmp_path: Path) -> None:
    whole = BytesIO()
    photo().save(whole, "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    outcome = compress_image(path, EMAIL)
    assert (outcome.status, outcome.reason.key) == ("skipped", "compress_image.truncated")
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_text_file_named_jpg_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("Dear members, the next meeting is on Tuesday.\n")
    outcome = compress_image(path, EMAIL)
    assert (outcome.status, outcome.reason.key) == ("skipped", "compress_image.not_an_image")


def test_jpeg_header_with_garbage_after_it_is_skipped_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    outcome = compress_image(path, EMAIL)
    assert outcome.status == "skipped"
    assert outcome.reason.key in ("compress_image.corrupt", "compress_image.truncated")


def test_missing_file_is_skipped_not_raised(tmp_path: Path) -> None:
    outcome = compress_image(tmp_path / "gone.jpg", EMAIL)
    assert (outcome.status, outcome.reason.key) == ("skipped", "compress_image.unreadable")
    assert outcome.reason.values["error"]


def test_png_named_jpg_is_handled_as_png_and_said_so(tmp_path: Path) -> None:
    original = photo()
    original.putalpha(Image.new("L", original.size, 255).rotate(30))  # real transparency
    path = save(original, tmp_path / "holiday.jpg", "PNG")
    outcome = compress_image(path, EMAIL)
    assert_honest(outcome, original, EMAIL)
    assert "compress_image.really_png" in outcome.notes
    assert outcome.suffix == ".png"
    assert decoded(outcome).format == "PNG"


# --- orientation, colours, transparency --------------------------------------------------


def test_exif_orientation_6_comes_out_upright(tmp_path: Path) -> None:
    # stored landscape, left half red and right half blue; orientation 6 = turn 90° clockwise,
    # so a viewer shows it portrait with red on top
    stored = Image.new("RGB", (1600, 800), "blue")
    stored.paste(Image.new("RGB", (800, 800), "red"), (0, 0))
    noise = np.random.default_rng(3).normal(0, 6, (800, 1600, 3))
    stored = Image.fromarray(np.clip(np.asarray(stored) + noise, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    path = save(stored, tmp_path / "phone.jpg", "JPEG", quality=95, exif=exif.tobytes())
    outcome = compress_image(path, EMAIL)
    assert_honest(outcome, Image.open(path), EMAIL)
    out = decoded(outcome)
    assert out.size == (300, 600)  # portrait, long side at max_px
    top, bottom = out.getpixel((150, 100)), out.getpixel((150, 500))
    assert top[0] > 200 and top[2] < 60, top  # red
    assert bottom[2] > 200 and bottom[0] < 60, bottom  # blue
    assert out.getexif().get(ORIENTATION, 1) == 1  # no viewer turns it a second time


def test_cmyk_jpeg_becomes_rgb_with_its_colours(tmp_path: Path) -> None:
    blocks = [(200, 30, 30), (30, 160, 40), (40, 60, 200), (230, 210, 40)]
    rgb = Image.new("RGB", (1200, 900))
    for index, colour in enumerate(blocks):
        rgb.paste(colour, (index * 300, 0, index * 300 + 300, 900))
    rgb = Image.blend(rgb, photo(), 0.15)  # some texture, so it compresses like a photo
    path = save(rgb.convert("CMYK"), tmp_path / "print.jpg", "JPEG", quality=95)
    assert Image.open(path).mode == "CMYK"
    outcome = compress_image(path, EMAIL)
    assert outcome.status == "smaller", outcome.reason
    out = decoded(outcome)
    assert out.mode == "RGB"
    expected = rgb.resize(out.size, Image.Resampling.BOX)
    for index in range(4):
        x = index * out.width // 4 + out.width // 8
        got = np.array(out.crop((x - 20, 200, x + 20, 250))).reshape(-1, 3).mean(0)
        want = np.array(expected.crop((x - 20, 200, x + 20, 250))).reshape(-1, 3).mean(0)
        assert np.abs(got - want).max() < 12, (index, got, want)


def test_rgba_png_stays_png_with_its_transparency(tmp_path: Path) -> None:
    original = photo().convert("RGBA")
    mask = Image.new("L", original.size, 0)
    mask.paste(255, (100, 100, 1100, 800))
    original.putalpha(mask)
    path = save(original, tmp_path / "logo.png", "PNG")
    outcome = compress_image(path, EMAIL)
    assert_honest(outcome, original, EMAIL)
    out = decoded(outcome)
    assert out.format == "PNG" and outcome.suffix == ".png"
    assert out.mode == "RGBA"
    assert out.getpixel((5, 5))[3] == 0 and out.getpixel((300, 220))[3] == 255


def test_rgba_png_becomes_webp_with_alpha_when_asked(tmp_path: Path) -> None:
    original = photo().convert("RGBA")
    mask = Image.new("L", original.size, 0)
    mask.paste(255, (100, 100, 1100, 800))
    original.putalpha(mask)
    path = save(original, tmp_path / "logo.png", "PNG")
    preset = make_preset("email", max_px=600, image_format="webp")
    outcome = compress_image(path, preset)
    assert_honest(outcome, original, preset)
    out = decoded(outcome)
    assert (out.format, out.mode, outcome.suffix) == ("WEBP", "RGBA", ".webp")
    assert out.getpixel((5, 5))[3] == 0
    assert "compress_image.converted_webp" in outcome.notes


# --- animations ---------------------------------------------------------------------------


def animation(tmp_path: Path) -> tuple[Path, list[Image.Image]]:
    frames = [photo(800, 800, seed).quantize(64) for seed in range(3)]
    path = tmp_path / "dance.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0)
    return path, frames


def test_animated_gif_is_kept_as_it_is(tmp_path: Path) -> None:
    path, _ = animation(tmp_path)
    outcome = compress_image(path, EMAIL)
    assert (outcome.status, outcome.reason.key) == ("kept", "compress_image.animated")
    assert outcome.data is None


def test_animated_gif_keeps_every_frame_when_resaved(tmp_path: Path) -> None:
    path, frames = animation(tmp_path)
    preset = make_preset("email", max_px=400, keep_animation=False, ssim_min=0.8)
    outcome = compress_image(path, preset)
    assert outcome.status == "smaller", outcome.reason
    out = decoded(outcome)
    assert out.format == "GIF" and getattr(out, "n_frames", 1) == len(frames)
    assert out.size == (400, 400)
    assert out.info.get("duration") == 120


# --- metadata ----------------------------------------------------------------------------


def geotagged(tmp_path: Path) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0132] = "2024:05:01 10:00:00"
    exif.get_ifd(EXIF_IFD)[DATE_TAKEN] = "2024:05:01 09:59:58"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    return save(photo(), tmp_path / "geo.jpg", "JPEG", quality=95, exif=exif.tobytes())


def test_gps_location_is_removed_by_default_and_date_taken_kept(tmp_path: Path) -> None:
    path = geotagged(tmp_path)
    assert Image.open(path).getexif().get_ifd(GPS_IFD)  # the fixture really has a location
    outcome = compress_image(path, EMAIL)
    assert_honest(outcome, Image.open(path), EMAIL)
    assert "compress_image.location_removed" in outcome.notes
    exif = decoded(outcome).getexif()
    assert not exif.get_ifd(GPS_IFD)
    assert 0x010F not in exif  # camera details dropped
    assert exif.get_ifd(EXIF_IFD).get(DATE_TAKEN) == "2024:05:01 09:59:58"


def test_gps_location_is_kept_when_asked(tmp_path: Path) -> None:
    path = geotagged(tmp_path)
    preset = make_preset("email", max_px=600, keep_location=True)
    outcome = compress_image(path, preset)
    assert_honest(outcome, Image.open(path), preset)
    assert "compress_image.location_removed" not in outcome.notes
    gps = decoded(outcome).getexif().get_ifd(GPS_IFD)
    assert gps.get(1) == "N" and gps.get(3) == "E"


def test_keep_location_resets_orientation_after_turning(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif.get_ifd(GPS_IFD).update({1: "S", 2: (33.0, 51.0, 0.0)})
    path = save(photo(), tmp_path / "turned.jpg", "JPEG", quality=95, exif=exif.tobytes())
    preset = make_preset("email", max_px=600, keep_location=True)
    outcome = compress_image(path, preset)
    out = decoded(outcome)
    assert out.size == (450, 600)
    assert out.getexif()[ORIENTATION] == 1
    assert out.getexif().get_ifd(GPS_IFD).get(1) == "S"


def test_no_text_chunk_or_comment_survives(tmp_path: Path) -> None:
    path = save(photo(), tmp_path / "c.jpg", "JPEG", quality=95, comment=b"secret address")
    outcome = compress_image(path, EMAIL)
    assert outcome.data is not None and b"secret address" not in outcome.data


# --- sizes and the quality guard ---------------------------------------------------------


def test_tiny_optimised_jpeg_is_never_made_bigger(tmp_path: Path) -> None:
    path = save(photo(160, 120), tmp_path / "thumb.jpg", "JPEG", quality=30, optimize=True)
    outcome = compress_image(path, EMAIL)
    assert (outcome.status, outcome.reason.key) == ("kept", "compress_image.not_smaller")
    assert outcome.data is None and outcome.size_after == path.stat().st_size


def test_guard_keeps_the_original_when_no_quality_is_good_enough(tmp_path: Path) -> None:
    path = save(photo(), tmp_path / "strict.jpg", "JPEG", quality=98)
    preset = make_preset("email", max_px=None, quality=40, ssim_min=0.9999)
    outcome = compress_image(path, preset)
    assert (outcome.status, outcome.reason.key) == ("kept", "compress_image.quality_guard")
    assert 0 < float(outcome.reason.values["ssim"]) < 0.9999


@pytest.mark.parametrize("preset_name", ["email", "screen"])
def test_every_smaller_photo_passes_the_guard_when_checked_again(
    tmp_path: Path, preset_name: str
) -> None:
    preset = make_preset(preset_name, max_px=700)
    for seed in range(3):
        original = photo(1400, 1000, seed)
        path = save(original, tmp_path / f"p{seed}.jpg", "JPEG", quality=92)
        outcome = compress_image(path, preset)
        assert_honest(outcome, original, preset)
        assert decoded(outcome).size == (700, 500)
        assert outcome.size_after < 0.5 * outcome.size_before


def test_quality_search_goes_below_the_highest_quality(tmp_path: Path) -> None:
    """The per-photo search pays: lighter than a plain re-encode at preset.quality."""
    original = photo(1400, 1000)
    path = save(original, tmp_path / "p.jpg", "JPEG", quality=95)
    outcome = compress_image(path, EMAIL)
    plain = BytesIO()
    ImageOps.contain(original, (600, 600), Image.Resampling.LANCZOS).save(
        plain, "JPEG", quality=EMAIL.quality, optimize=True, progressive=True
    )
    assert outcome.size_after < len(plain.getvalue())


def test_small_picture_is_never_enlarged(tmp_path: Path) -> None:
    smooth = photo(400, 300).filter(ImageFilter.GaussianBlur(1))  # full-size noise fails the guard
    path = save(smooth, tmp_path / "small.jpg", "JPEG", quality=97)
    outcome = compress_image(path, EMAIL)
    assert outcome.status == "smaller"
    assert decoded(outcome).size == (400, 300)


def test_webp_format_converts_a_jpeg_photo(tmp_path: Path) -> None:
    original = photo().filter(ImageFilter.GaussianBlur(1))  # WebP smooths sensor noise away
    path = save(original, tmp_path / "p.jpg", "JPEG", quality=92)
    preset = make_preset("email", max_px=600, image_format="webp")
    outcome = compress_image(path, preset)
    assert_honest(outcome, original, preset)
    assert decoded(outcome).format == "WEBP" and outcome.suffix == ".webp"
    assert "compress_image.converted_webp" in outcome.notes


def test_jpeg_suffix_is_kept_as_written(tmp_path: Path) -> None:
    path = save(photo(), tmp_path / "CAMERA.JPEG", "JPEG", quality=95)
    assert compress_image(path, EMAIL).suffix == ".JPEG"


# --- PNG policy --------------------------------------------------------------------------


def test_large_photographic_png_becomes_jpeg(tmp_path: Path) -> None:
    original = photo()
    path = save(original, tmp_path / "scan.png", "PNG")
    outcome = compress_image(path, EMAIL)
    assert_honest(outcome, original, EMAIL)
    assert decoded(outcome).format == "JPEG" and outcome.suffix == ".jpg"
    assert "compress_image.converted_jpeg" in outcome.notes


def test_screenshot_png_stays_png(tmp_path: Path) -> None:
    shot = Image.new("RGB", (1200, 800), (240, 240, 240))
    for row in range(0, 800, 40):
        shot.paste((30, 30, 120), (40, row + 10, 40 + (row * 7) % 900 + 200, row + 24))
    path = save(shot, tmp_path / "screen.png", "PNG", compress_level=0)
    outcome = compress_image(path, EMAIL)
    assert outcome.status == "smaller"
    assert decoded(outcome).format == "PNG" and outcome.suffix == ".png"


def test_opaque_alpha_channel_is_dropped(tmp_path: Path) -> None:
    shot = Image.new("RGBA", (300, 200), (10, 120, 200, 255))
    path = save(shot, tmp_path / "flat.png", "PNG", compress_level=0)
    outcome = compress_image(path, EMAIL)
    assert outcome.status == "smaller"
    assert decoded(outcome).mode == "RGB"


def test_bmp_becomes_png(tmp_path: Path) -> None:
    shot = Image.new("RGB", (300, 200), (10, 120, 200))
    path = save(shot, tmp_path / "old.bmp", "BMP")
    outcome = compress_image(path, EMAIL)
    assert outcome.status == "smaller" and outcome.suffix == ".png"
    assert np.array_equal(np.asarray(decoded(outcome).convert("RGB")), np.asarray(shot))


def test_multipage_tiff_is_kept(tmp_path: Path) -> None:
    pages = [Image.new("L", (100, 100), shade) for shade in (0, 128, 255)]
    path = tmp_path / "fax.tif"
    pages[0].save(path, "TIFF", save_all=True, append_images=pages[1:])
    outcome = compress_image(path, EMAIL)
    assert (outcome.status, outcome.reason.key) == ("kept", "compress_image.multipage")


# --- print: lossless only ----------------------------------------------------------------


def test_print_never_reencodes_a_jpeg(tmp_path: Path) -> None:
    path = save(photo(), tmp_path / "p.jpg", "JPEG", quality=100)
    outcome = compress_image(path, PRINT)
    assert (outcome.status, outcome.reason.key) == ("kept", "compress_image.lossless_kept")
    assert outcome.data is None


def test_print_resaves_png_with_identical_pixels(tmp_path: Path) -> None:
    original = photo(600, 400)
    path = save(original, tmp_path / "p.png", "PNG", compress_level=0)
    outcome = compress_image(path, PRINT)
    assert outcome.status == "smaller" and outcome.suffix == ".png"
    assert np.array_equal(np.asarray(decoded(outcome)), np.asarray(original))
    assert outcome.ssim == pytest.approx(1.0)


def test_print_keeps_an_indexed_png_indexed_with_its_transparency(tmp_path: Path) -> None:
    original = photo(400, 300).quantize(32)
    original.info["transparency"] = 0
    path = save(original, tmp_path / "icon.png", "PNG", compress_level=0, transparency=0)
    outcome = compress_image(path, PRINT)
    assert outcome.status == "smaller", outcome.reason
    out = decoded(outcome)
    assert out.mode == "P" and out.info.get("transparency") == 0
    assert np.array_equal(np.asarray(out), np.asarray(original))


def test_print_keeps_16_bit_png(tmp_path: Path) -> None:
    deep = Image.fromarray((np.arange(256 * 64).reshape(64, 256) * 3).astype(np.uint16))
    path = save(deep, tmp_path / "deep.png", "PNG", compress_level=0)
    outcome = compress_image(path, PRINT)
    assert (outcome.status, outcome.reason.key) == ("kept", "compress_image.deep_colour")


# --- texts ---------------------------------------------------------------------------------


def test_every_key_the_module_can_return_has_a_text_in_both_languages() -> None:
    source = Path(images.__file__).read_text()
    keys = set(re.findall(r'K \+ "(\w+)"', source)) - {"really_", "converted_"}
    keys |= {f"really_{kind}" for kind in IMAGE_KINDS}
    keys |= {f"converted_{kind}" for kind in ("jpeg", "png", "gif", "webp")}
    i18n = Path(images.__file__).parents[1] / "i18n"
    for lang in ("en", "fr"):
        catalog = tomllib.loads((i18n / lang / "compress_image.toml").read_text())
        assert keys <= set(catalog), (lang, sorted(keys - set(catalog)))

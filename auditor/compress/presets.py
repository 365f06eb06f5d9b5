"""What `auditor compress --for email|screen|print` means, in numbers.

A preset is the whole recipe for one use: how large photos may stay, which JPEG quality the
search starts from, at which resolution PDF images are kept, and how close to the original
(SSIM) every output must stay to be kept. Command-line options override single fields.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from auditor.errors import ConfigError

IMAGE_FORMATS = ("webp",)  # besides keeping the original format (None)


@dataclass(frozen=True)
class Preset:
    name: str
    max_px: int | None  # longest side of a photo after resizing; None keeps the size
    quality: int  # highest JPEG/WebP quality tried (the search goes down from here)
    min_quality: int  # lowest quality the search may reach
    dpi: int | None  # PDF images drawn above this resolution are downsampled; None keeps them
    lossless: bool  # True: never re-encode pixels lossily (print)
    ssim_min: float  # every kept output must reach this similarity to the original
    image_format: str | None = None  # None keeps each file's format; "webp" converts photos
    keep_location: bool = False  # GPS metadata is dropped unless asked (privacy)
    keep_animation: bool = True  # animated GIFs are left alone unless asked
    pdfa: bool = False  # True: also rewrite PDF/A files (they lose their PDF/A claim)


PRESETS: dict[str, Preset] = {
    "email": Preset(
        "email", max_px=1920, quality=85, min_quality=50, dpi=150, lossless=False, ssim_min=0.95
    ),
    "screen": Preset(
        "screen", max_px=1280, quality=80, min_quality=45, dpi=110, lossless=False, ssim_min=0.93
    ),
    "print": Preset(
        "print", max_px=None, quality=95, min_quality=95, dpi=None, lossless=True, ssim_min=0.999
    ),
}


def make_preset(name: str = "email", **overrides: object) -> Preset:
    """The preset `name` with the given fields replaced (None values are ignored).

    A value out of range is a ConfigError naming the option (`compress.error.*`); an unknown
    field is a ValueError, a mistake in the calling code.
    """
    if name not in PRESETS:
        raise ConfigError("compress.error.preset", name=name, choices=", ".join(PRESETS))
    changes = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(changes) - set(Preset.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown preset field(s): {', '.join(sorted(unknown))}")
    preset = replace(PRESETS[name], **changes)  # type: ignore[arg-type]
    if "quality" in changes:
        preset = replace(preset, min_quality=min(preset.min_quality, preset.quality))
    if not 1 <= preset.quality <= 100:
        raise ConfigError("compress.error.quality", value=preset.quality)
    if preset.max_px is not None and preset.max_px < 16:
        raise ConfigError("compress.error.max_px", value=preset.max_px)
    if preset.dpi is not None and preset.dpi < 36:
        raise ConfigError("compress.error.dpi", value=preset.dpi)
    if preset.image_format not in (None, *IMAGE_FORMATS):
        raise ConfigError(
            "compress.error.format", value=preset.image_format, choices=", ".join(IMAGE_FORMATS)
        )
    return preset

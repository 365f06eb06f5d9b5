"""The quality guard: structural similarity (SSIM) between an original and its light copy.

SSIM (Wang, Bovik, Sheikh, Simoncelli, 2004) compares local means, contrasts and structure;
1.0 is identical. Both pictures are turned to greyscale and brought to the same size (the
smaller of the two, at most GUARD_PX on the long side) before comparing, so a photo resized
from 4000 to 1920 px is judged on what a reader sees, not on the pixels it no longer has.
The local statistics use a 7×7 uniform window, as scikit-image does by default.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

GUARD_PX = 1920  # long side of the greyscale copies compared (an email photo at full size)
_WINDOW = 7
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _grey(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # judge transparent pictures as shown on a white page
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    grey = image.convert("L")
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(grey, dtype=np.float64)


def _box_mean(a: np.ndarray) -> np.ndarray:
    """Mean over every 7×7 window that fits in `a` (valid region), by integral image."""
    s = np.pad(a, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    w = _WINDOW
    total = s[w:, w:] - s[:-w, w:] - s[w:, :-w] + s[:-w, :-w]
    return total / (w * w)


def guard_size(a: Image.Image, b: Image.Image) -> tuple[int, int]:
    """The common size two pictures are compared at (aspect ratio of `b`, the smaller one)."""
    small = a if a.width * a.height < b.width * b.height else b
    width, height = small.size
    scale = min(1.0, GUARD_PX / max(width, height))
    return max(_WINDOW, round(width * scale)), max(_WINDOW, round(height * scale))


def ssim(original: Image.Image, candidate: Image.Image) -> float:
    """Mean SSIM of two pictures, in [-1, 1] (1.0: identical), orientation as given."""
    size = guard_size(original, candidate)
    x = _grey(original, size)
    y = _grey(candidate, size)
    mx, my = _box_mean(x), _box_mean(y)
    n = _WINDOW * _WINDOW
    cov = n / (n - 1)  # sample covariance, as scikit-image
    vx = cov * (_box_mean(x * x) - mx * mx)
    vy = cov * (_box_mean(y * y) - my * my)
    vxy = cov * (_box_mean(x * y) - mx * my)
    num = (2 * mx * my + _C1) * (2 * vxy + _C2)
    den = (mx * mx + my * my + _C1) * (vx + vy + _C2)
    return float(np.mean(num / den))

"""What a machine needs for one use, what a refurbished one offers, and what parts cost.

The data is `needs_profiles.toml` next to this module: the needs profiles and the typical
refurbished machine `auditor advise` weighs a machine against, and the `[prices]` ranges (euros,
order of magnitude) that both `advise` and the rules' gains (rules/engine.py) quote. Every
minimum and price names its source there.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any


@cache
def _load_default() -> dict[str, Any]:
    return tomllib.loads(files("auditor.impact").joinpath("needs_profiles.toml").read_text("utf-8"))


def load_profiles(path: Path | None = None) -> dict[str, Any]:
    """The whole needs file: profiles, refurbished, prices."""
    if path is None:
        return _load_default()
    with Path(path).open("rb") as fh:
        return tomllib.load(fh)


def prices() -> dict[str, list[float]]:
    """Price ranges in euros, incl. VAT: {"ram": [low, high], "new_laptop": [...], ...}."""
    return load_profiles()["prices"]

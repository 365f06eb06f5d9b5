"""Every figure used for impact estimates, with its source. No magic numbers elsewhere.

The figures live in `figures.toml` next to this module (one table per figure: value,
unit, source, year, URL, status); the thresholds auditor judges machines by (a worn battery,
the share of an installed size the OS reports) in `thresholds.toml`. The config file's
`[impact]` table overrides both, so every reader of a threshold (the rules, `advise`, the
Windows 11 readiness check) sees the same value.

Published figures disagree by orders of magnitude (see eco-figures.md in the project's design
notes), so every estimator returns a (low, high) range in kg CO2e, and `sources_for` names the
figures behind it.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.resources import files

from auditor.errors import ConfigError

STATUSES = ("verified", "secondary", "disputed", "estimate", "config")
DEVICES = ("laptop", "desktop", "screen", "smartphone", "tablet")
PARTS = ("ram", "ssd", "battery")  # parts that keep a machine going (manufacturing_<part>_*)
BYTES_PER_GB = 1e9  # SI gigabyte, as the per-GB sources use


@dataclass(frozen=True)
class Figure:
    id: str
    value: float
    unit: str
    source: str
    year: int
    url: str
    note: str = ""
    status: str = "verified"
    unit_fr: str = ""  # the unit and source as a French report prints them
    source_fr: str = ""


def _load_figures() -> dict[str, Figure]:
    text = files("auditor.impact").joinpath("figures.toml").read_text(encoding="utf-8")
    loaded: dict[str, Figure] = {}
    for table in tomllib.loads(text)["figure"]:
        fig = Figure(
            id=table["id"],
            value=float(table["value"]),
            unit=table["unit"],
            source=table["source"],
            year=int(table["year"]),
            url=table["url"],
            note=table.get("note", ""),
            status=table["status"],
            unit_fr=table.get("unit_fr", ""),
            source_fr=table.get("source_fr", ""),
        )
        if fig.id in loaded or fig.status not in STATUSES or not math.isfinite(fig.value):
            raise ValueError(
                f"figures.toml: duplicate id, bad status or non-finite value in {fig.id!r}"
            )
        loaded[fig.id] = fig
    _check_ranges(loaded)
    return loaded


def _check_ranges(figures: dict[str, Figure]) -> list[str]:
    """The ids of every `*_low` figure whose value exceeds its `*_high` twin."""
    return [
        fid
        for fid, fig in figures.items()
        if fid.endswith("_low")
        and (high := figures.get(fid[: -len("_low")] + "_high")) is not None
        and fig.value > high.value
    ]


FIGURES: dict[str, Figure] = _load_figures()


def _load_thresholds() -> dict[str, float]:
    text = files("auditor.impact").joinpath("thresholds.toml").read_text(encoding="utf-8")
    return {table["id"]: table["value"] for table in tomllib.loads(text)["threshold"]}


THRESHOLDS: dict[str, float] = _load_thresholds()


def threshold(threshold_id: str) -> float:
    """The value of one threshold (`thresholds.toml`, or the config's `[impact]` override)."""
    return THRESHOLDS[threshold_id]


def figure(figure_id: str) -> float:
    return FIGURES[figure_id].value


def reset_figures() -> None:
    """Reload the packaged figures, dropping any override (the dict object is kept)."""
    FIGURES.clear()
    FIGURES.update(_load_figures())
    THRESHOLDS.clear()
    THRESHOLDS.update(_load_thresholds())


def override_figures(values: dict[str, float]) -> None:
    """Replace figure and threshold values by id (the config file's `[impact]` table).

    All-or-nothing: an unknown id, a non-number (NaN and infinity included: a report would
    print "nan kg"), a negative number or a range left with low > high raises ConfigError and
    changes nothing. Overridden figures get status "config".
    """
    unknown = sorted(set(values) - set(FIGURES) - set(THRESHOLDS))
    if unknown:
        raise ConfigError(
            "errors.impact.unknown",
            ids=", ".join(unknown),
        )
    updated = dict(FIGURES)
    thresholds = dict(THRESHOLDS)
    for fid, value in values.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(
                "errors.impact.not_a_number",
                id=fid,
                value=repr(value),
            )
        if fid in THRESHOLDS:
            thresholds[fid] = value
            continue
        old = FIGURES[fid]
        updated[fid] = replace(
            old,
            value=float(value),
            status="config",
            note=f"Overridden by the configuration file (default {old.value:g}).",
        )
    inverted = _check_ranges(updated)
    if inverted:
        raise ConfigError(
            "errors.impact.inverted",
            ids=", ".join(inverted),
        )
    FIGURES.update(updated)
    THRESHOLDS.update(thresholds)


def _range_ids(prefix: str) -> tuple[str, str]:
    """The (low, high) ids for `prefix`: a `_low`/`_high` pair, or one figure used twice."""
    if f"{prefix}_low" in FIGURES:
        return f"{prefix}_low", f"{prefix}_high"
    if prefix in FIGURES:
        return prefix, prefix
    raise ValueError(f"no figure for {prefix!r}")


def _range(prefix: str) -> tuple[float, float]:
    low_id, high_id = _range_ids(prefix)
    return figure(low_id), figure(high_id)


def _check_device(device: str) -> None:
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {', '.join(DEVICES)}")


def _ids(*prefixes: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(fid for p in prefixes for fid in _range_ids(p)))


# --- Estimators: each returns (low, high) kg CO2e; `sources_for` lists the figures used. ---


def storage_co2e_kg_per_year(size_bytes: int | None) -> tuple[float | None, float | None]:
    """Yearly CO2e range (kg) of keeping `size_bytes` stored.

    Figures: storage_gb_year_low, storage_gb_year_high. None (unknown size) gives (None, None).
    """
    if not size_bytes:
        return (None, None) if size_bytes is None else (0.0, 0.0)
    low, high = _range("storage_gb_year")
    gigabytes = size_bytes / BYTES_PER_GB
    return gigabytes * low, gigabytes * high


def transfer_co2e_kg(size_bytes: int, mobile: bool = False) -> tuple[float, float]:
    """CO2e range (kg) of moving `size_bytes` over a fixed (default) or mobile network.

    Figures: transfer_gb_low/_high (fixed) or transfer_gb_mobile_low/_high (mobile).
    """
    low, high = _range("transfer_gb_mobile" if mobile else "transfer_gb")
    gigabytes = size_bytes / BYTES_PER_GB
    return gigabytes * low, gigabytes * high


def emails_co2e_kg(count: int) -> tuple[float, float]:
    """CO2e range (kg) of `count` emails written, sent and read.

    Figure: email_sent_read (one sourced value, so low == high unless a `_low`/`_high` pair
    is added to the data file).
    """
    low, high = _range("email_sent_read")
    return count * low, count * high


def new_computer_co2e_kg(kind: str | None) -> tuple[float, float]:
    """A new computer's manufacturing range: of its kind (laptop, desktop), or spanning both
    when the kind is unknown."""
    if kind in ("laptop", "desktop"):
        return manufacturing_co2e_kg(kind)
    laptop, desktop = manufacturing_co2e_kg("laptop"), manufacturing_co2e_kg("desktop")
    return min(laptop[0], desktop[0]), max(laptop[1], desktop[1])


def manufacturing_co2e_kg(device: str) -> tuple[float, float]:
    """Embodied (manufacture + distribution) CO2e range (kg) of one new `device`.

    Figures: manufacturing_<device>_low, manufacturing_<device>_high.
    """
    if device not in PARTS:
        _check_device(device)
    return _range(f"manufacturing_{device}")


def avoided_by_keeping_kg_per_year(device: str, extra_years: float) -> tuple[float, float]:
    """Yearly CO2e (kg) avoided by keeping `device` `extra_years` beyond its default lifetime.

    The embodied footprint E is spread over the lifetime L: E/L per year by default,
    E/(L + extra) when kept longer; the difference is what each year of use saves. Low pairs
    the low footprint with the long lifetime, high the high footprint with the short one.
    Figures: manufacturing_<device>_low/_high, lifetime_<device>[_low/_high].
    """
    _check_device(device)
    if extra_years < 0:
        raise ValueError(f"extra_years must be >= 0, got {extra_years!r}")
    embodied_low, embodied_high = _range(f"manufacturing_{device}")
    life_short, life_long = _range(f"lifetime_{device}")

    def saved(embodied: float, life: float) -> float:
        return embodied / life - embodied / (life + extra_years)

    return saved(embodied_low, life_long), saved(embodied_high, life_short)


def refurbished_avoided_kg(device: str) -> tuple[float, float]:
    """CO2e range (kg) avoided by buying `device` refurbished instead of new.

    Avoided share × embodied footprint (low × low, high × high). ADEME's shares cover all
    impact categories but ionising radiation, applied here to CO2e only. No share is sourced
    for screens (ValueError). Figures: refurbished_share_<device>_low/_high,
    manufacturing_<device>_low/_high.
    """
    _check_device(device)
    share_low, share_high = _range(f"refurbished_share_{device}")
    embodied_low, embodied_high = _range(f"manufacturing_{device}")
    return share_low * embodied_low, share_high * embodied_high


_SOURCES: dict[str, Callable[[str | None, bool], tuple[str, ...]]] = {
    "storage_co2e_kg_per_year": lambda d, m: _ids("storage_gb_year"),
    "transfer_co2e_kg": lambda d, m: _ids("transfer_gb_mobile" if m else "transfer_gb"),
    "emails_co2e_kg": lambda d, m: _ids("email_sent_read"),
    "manufacturing_co2e_kg": lambda d, m: _ids(f"manufacturing_{d}"),
    "avoided_by_keeping_kg_per_year": lambda d, m: _ids(f"manufacturing_{d}", f"lifetime_{d}"),
    "refurbished_avoided_kg": lambda d, m: _ids(f"refurbished_share_{d}", f"manufacturing_{d}"),
    "keeping_longer_kg": lambda d, m: _ids(f"manufacturing_{d}", f"lifetime_{d}"),
    "car_km": lambda d, m: _ids("car_km"),
}


def sources_for(
    estimator: Callable[..., object] | str, device: str | None = None, mobile: bool = False
) -> tuple[str, ...]:
    """The figure ids an estimator uses (for `figures_used`), given the same device/mobile."""
    name = estimator if isinstance(estimator, str) else estimator.__name__
    if name not in _SOURCES:
        raise ValueError(f"unknown estimator {name!r}")
    needs_device = name not in {
        "storage_co2e_kg_per_year",
        "transfer_co2e_kg",
        "emails_co2e_kg",
        "car_km",
    }
    if needs_device:
        _check_device(str(device))
    return _SOURCES[name](device, mobile)


def figures_used(ids: set[str], lang: str = "en") -> list[dict[str, str]]:
    """The footer entries for the figures a report used, in `lang` ("en" or "fr")."""
    french = lang == "fr"
    out = []
    for f in FIGURES.values():
        if f.id not in ids:
            continue
        unit = (f.unit_fr if french else "") or f.unit
        value = f"{f.value:g}".replace(".", ",") if french else f"{f.value:g}"
        source = (f.source_fr if french else "") or f.source
        out.append({"id": f.id, "label": f"{value} {unit}", "source": source, "url": f.url})
    return out


# --- Everyday equivalents: what a reader can weigh a kg CO2e against. ---------------------


def car_km(kg: float) -> float:
    """The km driven alone in a petrol or diesel car that emit `kg` CO2e (figure car_km)."""
    return kg / figure("car_km")


def keeping_longer_kg(device: str, extra_years: float = 2) -> tuple[float, float]:
    """CO2e range (kg) avoided by using `device` `extra_years` longer before replacing it.

    Over the longer life (L + extra years) the yearly share of the embodied footprint E
    falls from E/L to E/(L + extra): (E/L - E/(L + extra)) × (L + extra) = E × extra / L.
    Low pairs the low footprint with the long lifetime, high the high one with the short.
    Figures: manufacturing_<device>_low/_high, lifetime_<device>[_low/_high].
    """
    _check_device(device)
    embodied_low, embodied_high = _range(f"manufacturing_{device}")
    life_short, life_long = _range(f"lifetime_{device}")
    return embodied_low * extra_years / life_long, embodied_high * extra_years / life_short

"""Every figure used for impact estimates, with its source. No magic numbers elsewhere.

Published figures disagree by orders of magnitude (see ../shared/context/eco-figures.md in
the project's design notes), so every estimate is a low-high range and names its sources.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    id: str
    value: float
    unit: str
    source: str
    year: int
    url: str
    note: str = ""


FIGURES: dict[str, Figure] = {
    f.id: f
    for f in (
        Figure(
            id="storage_gb_year_low",
            value=0.000235,
            unit="kg CO2e per GB stored per year",
            source="ADEME Impact CO2 (NégaOctet data), « Stocker un Go de donnée pendant 1 an »"
            " — French electricity mix",
            year=2023,
            url="https://impactco2.fr/outils/usagenumerique",
            note="Data-centre manufacture 0.1245 g + use 0.1108 g per GB-year.",
        ),
        Figure(
            id="storage_gb_year_high",
            value=2.0,
            unit="kg CO2e per GB stored per year",
            source="Stanford Magazine (2017), « 100 GB a year ≈ 0.2 t CO2 » — US electricity mix",
            year=2017,
            url="https://stanfordmag.org/contents/carbon-and-the-cloud",
            note="Disputed upper bound: four orders of magnitude above ADEME's figure.",
        ),
    )
}


def figure(figure_id: str) -> float:
    return FIGURES[figure_id].value


def storage_co2e_kg_per_year(size_bytes: int | None) -> tuple[float | None, float | None]:
    """Yearly CO2e range (kg) of keeping `size_bytes` stored, low and high sources."""
    if not size_bytes:
        return (None, None) if size_bytes is None else (0.0, 0.0)
    gigabytes = size_bytes / 1e9
    return (gigabytes * figure("storage_gb_year_low"), gigabytes * figure("storage_gb_year_high"))


def figures_used(ids: set[str]) -> list[dict[str, str]]:
    """The footer entries for the figures a report used."""
    return [
        {"id": f.id, "label": f"{f.value:g} {f.unit}", "source": f.source, "url": f.url}
        for f in FIGURES.values()
        if f.id in ids
    ]

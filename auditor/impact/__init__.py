"""Every figure, price range, threshold and measured ratio auditor quotes, with its source.

- `figures`: the impact model (kg CO2e ranges, `figures.toml`) and the thresholds machines
  are judged by (`thresholds.toml`), both overridable from the config's `[impact]` table;
- `needs`: needs profiles, the typical refurbished machine, part and machine prices
  (`needs_profiles.toml`);
- `compression`: what `auditor compress` saves, measured on the benchmark corpus
  (`measured_ratios.toml`, written by benchmarks/compress.py);
- `os_eol`: operating systems' end-of-support dates (`os_eol.json`), refreshed from
  endoflife.date by `auditor update-data`.

Nothing here imports from above `auditor.errors`, `auditor.files` and `auditor.i18n`.
"""

from auditor.impact.figures import (
    BYTES_PER_GB,
    DEVICES,
    FIGURES,
    PARTS,
    STATUSES,
    THRESHOLDS,
    Figure,
    avoided_by_keeping_kg_per_year,
    car_km,
    emails_co2e_kg,
    figure,
    figures_used,
    keeping_longer_kg,
    manufacturing_co2e_kg,
    new_computer_co2e_kg,
    override_figures,
    refurbished_avoided_kg,
    reset_figures,
    sources_for,
    storage_co2e_kg_per_year,
    threshold,
    transfer_co2e_kg,
)

__all__ = [
    "BYTES_PER_GB",
    "DEVICES",
    "FIGURES",
    "PARTS",
    "STATUSES",
    "THRESHOLDS",
    "Figure",
    "avoided_by_keeping_kg_per_year",
    "car_km",
    "emails_co2e_kg",
    "figure",
    "figures_used",
    "keeping_longer_kg",
    "manufacturing_co2e_kg",
    "new_computer_co2e_kg",
    "override_figures",
    "refurbished_avoided_kg",
    "reset_figures",
    "sources_for",
    "storage_co2e_kg_per_year",
    "threshold",
    "transfer_co2e_kg",
]

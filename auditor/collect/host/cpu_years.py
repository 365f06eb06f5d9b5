"""When a processor family first went on sale, from the documented table in cpu_years.toml.

`cpu_launch_year("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz")` is 2017: the machine is at most
as old as that. It answers None for a model the table does not know, rather than guessing.
(Windows 11 readiness reads the Intel Core generation from the model number itself:
os_support.cpu_supports_windows11.)

The table is data, not code: each row names its family, the regular expression that recognises
it, the year, and the page the year was checked against (see the comments in the TOML).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

_TABLE = "cpu_years.toml"

# Trademark marks and the words around them that vendors put in model strings.
_MARKS = re.compile(r"\((?:r|tm|c)\)|[®™©]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class CpuFamily:
    """One row of cpu_years.toml."""

    family: str
    pattern: re.Pattern[str]
    year: int
    note: str | None
    source: str


def normalise_cpu_model(model: str) -> str:
    """Lower case, trademark marks removed, spaces collapsed: the form the table's patterns see.

    "Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz" -> "intel core i5-8250u cpu @ 1.60ghz";
    "Intel(R) Core(TM)2 Duo CPU T7500" -> "intel core 2 duo cpu t7500".
    """
    return _SPACES.sub(" ", _MARKS.sub(" ", model)).strip().lower()


@cache
def cpu_families() -> tuple[CpuFamily, ...]:
    """The rows of the table, in the order they are tried."""
    text = resources.files(__package__).joinpath(_TABLE).read_text(encoding="utf-8")
    rows = tomllib.loads(text)["cpu"]
    return tuple(
        CpuFamily(
            family=row["family"],
            pattern=re.compile(row["pattern"]),
            year=int(row["year"]),
            note=row.get("note"),
            source=row["source"],
        )
        for row in rows
    )


def cpu_family(model: str | None) -> CpuFamily | None:
    """The first row of the table whose pattern is found in the normalised model, or None."""
    if not model:
        return None
    text = normalise_cpu_model(model)
    for row in cpu_families():
        if row.pattern.search(text):
            return row
    return None


def cpu_launch_year(model: str | None) -> int | None:
    """First year processors of this model's family were sold; None when the table cannot tell."""
    row = cpu_family(model)
    return row.year if row else None

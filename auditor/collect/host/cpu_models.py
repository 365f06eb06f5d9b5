"""Recognise a processor named in free text ("i5-8350U", "Intel Core i5 8th gen", "Ryzen 5
5500U", "Apple M1", "Celeron N4020") against the embedded tables.

Three answers, from the most to the least precise:

1. a model of cpu_models.toml: launch year, cores, threads, Windows 11 support, its source;
2. "Intel Core i5, 8th generation": the models of that line and generation in the table,
   summarised (the earliest year, the fewest cores and threads: "at least");
3. a model number the table does not list but whose family cpu_years.toml knows: the family's
   launch year, Windows 11 from Microsoft's rule (os_support.cpu_supports_windows11), cores
   unknown.

Anything else is None: the caller says the processor is unknown rather than guessing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from auditor.collect.host.cpu_years import cpu_family, normalise_cpu_model
from auditor.collect.host.os_support import cpu_supports_windows11

_TABLE = "cpu_models.toml"
WINDOWS11_VALUES = ("yes", "no", "select-devices", "not-applicable", "unknown")


@dataclass(frozen=True, slots=True)
class CpuModel:
    """One row of cpu_models.toml."""

    name: str
    key: str
    year: int
    cores: int
    threads: int
    segment: str
    windows11: str
    source: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CpuMatch:
    """What the tables say about a processor named in free text."""

    name: str  # the table's name (or the family's)
    precision: str  # "model", "generation" or "family"
    year: int
    cores: int | None  # None: the table cannot tell
    threads: int | None
    windows11: str  # one of WINDOWS11_VALUES
    apple: bool
    segment: str | None
    source: str
    generation: int | None = None  # precision "generation": the Intel Core generation asked


# Model numbers, after normalise_cpu_model (lower case, trademark marks gone). Each gives a
# canonical key, the same for the table's names and for what users type.
_INTEL_CORE = re.compile(r"\b(?:core\s*)?i([3579])[\s-]?(\d{4,5})([a-z]{0,2}\d?)\b")
_RYZEN = re.compile(r"\bryzen\s*([3579])\s*(?:pro\s*)?(\d{4})\s*([a-z]{0,2})\b")
_ATHLON = re.compile(r"\bathlon\s*(?:(?:silver|gold)\s*)?(?:pro\s*)?(\d{3,4}[a-z]{0,2})\b")
_INTEL_SMALL = re.compile(r"\b(?:celeron|pentium|intel|processor)\b[^,;]*?\b([nj]\d{3,4}|g\d{4})\b")
_APPLE = re.compile(r"\b(?:apple\s*)?m([1-5])(?:\s*(pro|max|ultra))?\b")
_APPLE_CONTEXT = re.compile(r"\b(?:apple|mac|macbook|imac)\b")
# "Intel Core i5 8th gen", "Core i5 de 8e génération", "i7 10th generation"
_GENERATION = re.compile(
    r"\bi([3579])\b[^,;]*?\b(\d{1,2})\s*(?:th|st|nd|rd|e|è|ème|eme|re)?\s*(?:gen\b|génération|generation)"
)


def model_key(text: str) -> str | None:
    """The canonical key of the processor model named in `text` ("i5-8350u",
    "ryzen 5 5500u", "apple m1 pro", "n4020", "athlon 3050u"), or None."""
    low = normalise_cpu_model(text)
    if match := _INTEL_CORE.search(low):
        return f"i{match[1]}-{match[2]}{match[3]}"
    if match := _RYZEN.search(low):
        return f"ryzen {match[1]} {match[2]}{match[3]}"
    if match := _ATHLON.search(low):
        return f"athlon {match[1]}"
    if match := _INTEL_SMALL.search(low):
        return match[1]
    if _APPLE_CONTEXT.search(low) and (match := _APPLE.search(low)):
        return f"apple m{match[1]}" + (f" {match[2]}" if match[2] else "")
    return None


def generation_query(text: str) -> tuple[str, int] | None:
    """("i5", 8) for "Intel Core i5 8th gen"; None when the text names no generation."""
    match = _GENERATION.search(normalise_cpu_model(text))
    return (f"i{match[1]}", int(match[2])) if match else None


def intel_generation(key: str) -> int | None:
    """The Core generation of an Intel key: "i5-8350u" 8, "i5-1135g7" 11, "i5-10400" 10."""
    match = re.match(r"i[3579]-(\d{4,5})", key)
    if not match:
        return None
    digits = match[1]
    return int(digits[:2]) if len(digits) == 5 or digits[0] == "1" else int(digits[0])


@cache
def cpu_models() -> dict[str, CpuModel]:
    """The table's rows by canonical key."""
    text = resources.files(__package__).joinpath(_TABLE).read_text(encoding="utf-8")
    models: dict[str, CpuModel] = {}
    for row in tomllib.loads(text)["model"]:
        key = model_key(row["name"])
        if key is None:  # the test of the table says which row
            raise ValueError(f"cpu_models.toml: no model number in {row['name']!r}")
        models[key] = CpuModel(key=key, **row)
    return models


def _from_model(row: CpuModel) -> CpuMatch:
    return CpuMatch(
        name=row.name,
        precision="model",
        year=row.year,
        cores=row.cores,
        threads=row.threads,
        windows11=row.windows11,
        apple=row.key.startswith("apple "),
        segment=row.segment,
        source=row.source,
    )


def _from_generation(line: str, generation: int) -> CpuMatch | None:
    rows = [
        row
        for key, row in cpu_models().items()
        if key.startswith(f"{line}-") and intel_generation(key) == generation
    ]
    if not rows:
        return None
    verdicts = {row.windows11 for row in rows}
    return CpuMatch(
        name=f"Intel Core {line}",
        precision="generation",
        year=min(row.year for row in rows),
        cores=min(row.cores for row in rows),
        threads=min(row.threads for row in rows),
        windows11=verdicts.pop() if len(verdicts) == 1 else "unknown",
        apple=False,
        segment=None,
        source=rows[0].source,
        generation=generation,
    )


def _from_family(text: str, key: str) -> CpuMatch | None:
    # the family table's patterns expect the vendor's words ("core i5-8350u")
    probe = f"core {key}" if key.startswith("i") else key
    family = cpu_family(probe) or cpu_family(text)
    if family is None:
        return None
    verdict = cpu_supports_windows11(probe)
    if verdict is None:  # the rule reads the vendor's words too ("celeron n2840")
        verdict = cpu_supports_windows11(text)
    apple = key.startswith("apple ")
    return CpuMatch(
        name=family.family,
        precision="family",
        year=family.year,
        cores=None,
        threads=None,
        windows11="not-applicable"
        if apple
        else {True: "yes", False: "no", None: "unknown"}[verdict],
        apple=apple,
        segment=None,
        source=family.source,
    )


def recognise_cpu(text: str | None) -> CpuMatch | None:
    """What the tables know of the processor `text` names; None: unknown (never a guess)."""
    if not text or not text.strip():
        return None
    key = model_key(text)
    if key is not None and key in cpu_models():
        return _from_model(cpu_models()[key])
    query = generation_query(text)
    if query is not None:
        found = _from_generation(*query)
        if found is not None:
            return found
    if key is not None:
        return _from_family(text, key)
    return None

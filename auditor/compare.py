"""Before buying: the offers on the table, side by side with the machines already owned.

`auditor advise --offer "..." --offers offers.csv [--inventory DIR] --needs ...` judges each
candidate the same way:

- the needs (auditor/impact/needs_profiles.toml, their strictest combination, as `advise`):
  processor launch year and cores (from the processor table, auditor/collect/host/
  cpu_models.py), memory, storage size and type; each met or not, and why;
- the operating system and its years of security updates ahead: Windows 11 when the processor
  is on Microsoft's list, macOS while Apple updates it (auditor/impact/useful_years.toml),
  otherwise a maintained free OS (Windows 10's end comes from the end-of-support table);
- its useful years ahead: a new machine the impact model's lifetimes, a refurbished one a
  second life, a machine kept a few more years (useful_years.toml); an offer never beyond 12
  years after its processor's launch, nor beyond macOS's updates on a Mac;
- euros per useful year (the offer's price, the parts `advise` prices for a machine kept) and
  manufacturing kg CO2e per useful year: a new machine its whole footprint (figures.toml), a
  refurbished one the share ADEME 2022 says is not avoided, a machine kept only its parts;
- a verdict, and a ranking of the candidates that meet the needs: least kg CO2e per useful
  year first, then least euros per useful year.

An unknown processor is said so (verdict "unknown"), never guessed.
"""

from __future__ import annotations

import html
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

from auditor.advise import Advice, combined_minimums
from auditor.collect.host.cpu_models import CpuMatch, recognise_cpu
from auditor.collect.host.machine import Machine
from auditor.errors import Problem
from auditor.i18n import t
from auditor.i18n.format import format_date, format_number
from auditor.impact import PARTS, figure, manufacturing_co2e_kg, new_computer_co2e_kg
from auditor.impact.needs import load_profiles
from auditor.offers import Offer

OFFER_VERDICTS = ("buy", "free-os", "keep", "upgrade", "short", "check", "unknown")
Range = tuple[float, float]


@cache
def useful_years_table() -> dict[str, Any]:
    """auditor/impact/useful_years.toml: the years a machine is expected to serve, sourced."""
    return tomllib.loads(files("auditor.impact").joinpath("useful_years.toml").read_text("utf-8"))


def windows10_end() -> date:
    """Windows 10's end of security updates, from the end-of-support table (22H2, the last)."""
    from auditor.impact.os_eol import load_table

    for cycle in load_table()["products"]["windows"]["cycles"]:
        if str(cycle.get("cycle")).lower() == "10-22h2" and isinstance(cycle.get("eol"), str):
            return date.fromisoformat(cycle["eol"])
    return date(2025, 10, 14)  # Microsoft's lifecycle page for Windows 10 Home and Pro


@dataclass
class Candidate:
    """One offer or one machine owned, judged against the needs."""

    kind: str  # "offer" or "owned"
    label: str
    condition: str  # "new", "refurbished", "owned" (an offer that does not say: "new")
    cpu_text: str | None
    cpu: CpuMatch | None
    price_eur: float | None = None
    verdict: str = "check"  # one of OFFER_VERDICTS
    rank: int | None = None
    meets: bool | None = None  # None: cannot tell
    met: list[Problem] = field(default_factory=list)
    missed: list[Problem] = field(default_factory=list)
    unknown: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    os_plan: str = "unknown"  # "windows11", "macos", "free-os", "unknown"
    os_years: Range | None = None  # None: no end announced (the hardware sets the limit)
    useful_years: Range | None = None
    euros: Range | None = None
    euros_per_year: Range | None = None
    kg: Range | None = None
    kg_per_year: Range | None = None
    chassis: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # ram_gb, storage_gb, storage_type...


@dataclass
class Comparison:
    needs: list[str]
    today: date
    candidates: list[Candidate]


# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------


def _new_lifetime(chassis: str | None) -> Range:
    """The impact model's lifetimes (figures.toml): laptop 4-5 years, desktop 6."""
    laptop = (figure("lifetime_laptop_low"), figure("lifetime_laptop_high"))
    desktop = (figure("lifetime_desktop"), figure("lifetime_desktop"))
    if chassis == "laptop":
        return laptop
    if chassis == "desktop":
        return desktop
    return min(laptop[0], desktop[0]), max(laptop[1], desktop[1])


def _cap(years: Range, limit: float | None) -> Range:
    if limit is None:
        return years
    limit = max(0.0, limit)
    return min(years[0], limit), min(years[1], limit)


def _per_year(amount: Range | None, years: Range | None) -> Range | None:
    if amount is None or years is None or years[0] <= 0:
        return None
    return amount[0] / years[1], amount[1] / years[0]


def _mid(value: Range | None) -> float:
    return (value[0] + value[1]) / 2 if value is not None else float("inf")


def _fmt(x: float, lang: str) -> str:
    """8 GB as "8", 1.8 kg as "1.8" ("1,8" in French), 35.4 kg as "35"."""
    whole = float(x).is_integer() or abs(x) >= 10
    return format_number(x, lang, decimals=0 if whole else 1)


def range_text(value: Range | None, lang: str, unknown_key: str = "advise.offers.unknown") -> str:
    """ "35–46", "3", or the catalogue's "unknown" in `lang`."""
    if value is None:
        return t(lang, unknown_key)
    low, high = _fmt(value[0], lang), _fmt(value[1], lang)
    return low if low == high else t(lang, "advise.range", low=low, high=high)


# --------------------------------------------------------------------------------------------
# Offers
# --------------------------------------------------------------------------------------------


def _offer_chassis(offer: Offer, cpu: CpuMatch | None) -> str | None:
    if offer.chassis:
        return offer.chassis
    if cpu is not None and cpu.segment in ("laptop", "desktop"):
        return cpu.segment
    return None


def _check_needs(
    candidate: Candidate, offer: Offer, minimums: dict[str, Any], needs: str, lang: str
) -> None:
    cpu = candidate.cpu
    if cpu is not None:
        if cpu.year >= minimums["cpu_min_year"]:
            candidate.met.append(
                Problem("advise.offers.need.cpu_ok", year=cpu.year, floor=minimums["cpu_min_year"])
            )
        else:
            candidate.missed.append(
                Problem(
                    "advise.offers.need.cpu_old",
                    year=cpu.year,
                    floor=minimums["cpu_min_year"],
                    needs=needs,
                )
            )
        if cpu.cores is None:
            candidate.unknown.append(
                Problem("advise.offers.need.cores_unknown", floor=minimums["cpu_min_cores"])
            )
        elif cpu.cores >= minimums["cpu_min_cores"]:
            candidate.met.append(
                Problem(
                    "advise.offers.need.cores_ok",
                    cores=cpu.cores,
                    threads=cpu.threads or cpu.cores,
                    floor=minimums["cpu_min_cores"],
                )
            )
        else:
            candidate.missed.append(
                Problem(
                    "advise.offers.need.cores_few",
                    cores=cpu.cores,
                    threads=cpu.threads or cpu.cores,
                    floor=minimums["cpu_min_cores"],
                    needs=needs,
                )
            )
    _check_size(candidate, "ram", offer.ram_gb, minimums["ram_gb"], needs, lang)
    _check_size(candidate, "storage", offer.storage_gb, minimums["disk_min_gb"], needs, lang)
    if minimums["disk_ssd"]:
        kind = offer.storage_type
        if kind is None:
            candidate.unknown.append(Problem("advise.offers.need.ssd_unknown"))
        elif kind == "ssd":
            candidate.met.append(Problem("advise.offers.need.ssd_ok"))
        elif kind == "emmc":
            candidate.missed.append(Problem("advise.offers.need.ssd_emmc", needs=needs))
        else:
            candidate.missed.append(Problem("advise.offers.need.ssd_hdd", needs=needs))


def _check_size(
    candidate: Candidate, what: str, value: float | None, floor: float, needs: str, lang: str
) -> None:
    # sizes said in the answer's language ("8", "0,5"), as advise's reasons do
    shown, floor_shown = (_fmt(value, lang) if value is not None else ""), _fmt(floor, lang)
    if value is None:
        candidate.unknown.append(Problem(f"advise.offers.need.{what}_unknown", floor=floor_shown))
    elif value >= floor:
        candidate.met.append(
            Problem(f"advise.offers.need.{what}_ok", size=shown, floor=floor_shown)
        )
    else:
        candidate.missed.append(
            Problem(f"advise.offers.need.{what}_short", size=shown, floor=floor_shown, needs=needs)
        )


def _operating_system(candidate: Candidate, offer_os: str | None, today: date, lang: str) -> None:
    """Which OS will keep this machine updated, and for how many years from `today`."""
    cpu, table = candidate.cpu, useful_years_table()
    if cpu is None:
        return
    if cpu.apple:
        low, high = table["macos"]["years_after_launch"]
        candidate.os_plan = "macos"
        candidate.os_years = (
            max(0.0, cpu.year + low - today.year),
            max(0.0, cpu.year + high - today.year),
        )
        candidate.notes.append(
            Problem("advise.offers.os.macos", last_low=cpu.year + low, last_high=cpu.year + high)
        )
        return
    if cpu.windows11 == "yes" and offer_os != "linux":
        candidate.os_plan = "windows11"
        if offer_os == "windows 10":
            candidate.notes.append(Problem("advise.offers.os.win10_to_11"))
        candidate.notes.append(Problem("advise.offers.os.windows11"))
        return
    candidate.os_plan = "free-os"
    if offer_os == "linux":
        candidate.notes.append(Problem("advise.offers.os.free_os_sold"))
    elif cpu.windows11 == "no":
        ended = windows10_end()
        key = "advise.offers.os.no_windows11" if today > ended else "advise.offers.os.win10_ends"
        candidate.notes.append(Problem(key, end=format_date(ended.isoformat(), lang)))
    else:
        candidate.notes.append(Problem("advise.offers.os.windows11_check"))


def _hardware_years(candidate: Candidate, offer: Offer, today: date) -> Range:
    table = useful_years_table()
    if candidate.condition == "new":
        years = _new_lifetime(candidate.chassis)
    else:
        low, high = table["refurbished"]["years"]
        if offer.warranty_years:
            low = min(high, max(low, offer.warranty_years))
        years = (float(low), float(high))
    launched = max(y for y in (candidate.cpu.year if candidate.cpu else None, offer.year, 0) if y)
    return _cap(years, launched + table["oldest"]["years"] - today.year if launched else None)


def judge_offer(offer: Offer, needs: list[str], lang: str, today: date) -> Candidate:
    """One offer against the `needs`, as of `today`."""
    data = load_profiles()
    minimums = combined_minimums(needs, data)
    needs_text = ", ".join(t(lang, f"advise.profile.{n}") for n in needs)
    cpu = recognise_cpu(offer.cpu)
    candidate = Candidate(
        kind="offer",
        label=offer.name,
        condition=offer.condition or "new",
        cpu_text=offer.cpu,
        cpu=cpu,
        price_eur=offer.price_eur,
        facts={
            "ram_gb": offer.ram_gb,
            "storage_gb": offer.storage_gb,
            "storage_type": offer.storage_type,
            "warranty_years": offer.warranty_years,
            "year": offer.year,
            "os": offer.os,
            "url": offer.url,
        },
    )
    candidate.chassis = _offer_chassis(offer, cpu)
    if offer.condition is None:
        candidate.notes.append(Problem("advise.offers.condition_unknown"))
    if cpu is None:
        candidate.verdict = "unknown"
        candidate.unknown.insert(0, Problem("advise.offers.need.cpu_unknown", cpu=offer.cpu or "—"))
    _check_needs(candidate, offer, minimums, needs_text, lang)
    _operating_system(candidate, offer.os, today, lang)
    if offer.price_eur is not None:
        candidate.euros = (offer.price_eur, offer.price_eur)
    new = new_computer_co2e_kg(candidate.chassis)
    if candidate.condition == "refurbished":
        chassis = candidate.chassis or "laptop"
        share_low = figure(f"refurbished_share_{chassis}_low")
        share_high = figure(f"refurbished_share_{chassis}_high")
        candidate.kg = (new[0] * (1 - share_high), new[1] * (1 - share_low))
    else:
        candidate.kg = new
    if cpu is not None:
        years = _hardware_years(candidate, offer, today)
        if candidate.os_years is not None:
            years = (min(years[0], candidate.os_years[0]), min(years[1], candidate.os_years[1]))
        candidate.useful_years = years
        candidate.euros_per_year = _per_year(candidate.euros, years)
        candidate.kg_per_year = _per_year(candidate.kg, years)
    _verdict(candidate)
    return candidate


def _verdict(candidate: Candidate) -> None:
    if candidate.verdict == "unknown":
        candidate.meets = None
        return
    if candidate.missed:
        candidate.meets, candidate.verdict = False, "short"
    elif candidate.useful_years is not None and candidate.useful_years[1] <= 0:
        candidate.meets, candidate.verdict = False, "short"
        candidate.missed.append(Problem("advise.offers.need.no_years"))
    elif candidate.unknown:
        candidate.meets, candidate.verdict = None, "check"
    else:
        candidate.meets = True
        if candidate.kind == "offer":
            candidate.verdict = "free-os" if candidate.os_plan == "free-os" else "buy"


# --------------------------------------------------------------------------------------------
# Machines owned: `advise`'s verdict, in the same columns
# --------------------------------------------------------------------------------------------


_OWNED_UNKNOWN = {
    "advise.reason.cpu_unknown",
    "advise.reason.disk_unknown",
    "advise.reason.os_unknown",
    "advise.reason.os_win11_check",
}


def _owned_os_plan(machine: Machine, advice: Advice) -> str:
    """The OS that keeps a machine owned updated once `advise`'s actions are done."""
    product = machine.support.product if machine.support else None
    if advice.verdict == "free-os" or machine.host.os_name == "Linux":
        return "free-os"
    if product == "macos":
        return "macos"
    if product == "windows":
        return "windows11"  # already on it, or ready for it (advise says when it is not)
    return "unknown"


def judge_owned(machine: Machine, advice: Advice, today: date) -> Candidate:
    """A machine already owned, from its `advise` verdict: keep (with its parts) or not."""
    host = machine.host
    cpu = recognise_cpu(host.cpu_model)
    candidate = Candidate(
        kind="owned",
        label=host.hostname,
        condition="owned",
        cpu_text=host.cpu_model,
        cpu=cpu,
        facts={
            "ram_gb": round(host.ram_bytes / 1024**3, 1) if host.ram_bytes else None,
            "os": machine.support.label if machine.support else host.os_version,
        },
    )
    disk = next((d for d in host.disks if d.is_system), None)
    if disk is not None and not host.virtualization:
        candidate.facts["storage_gb"] = round(disk.total_bytes / 1000**3)
        kind = {True: "hdd", False: "ssd"}.get(disk.rotational)  # type: ignore[arg-type]
        candidate.facts["storage_type"] = kind
    candidate.facts["reasons"] = list(advice.reasons)
    candidate.facts["actions"] = [a["kind"] for a in advice.actions]
    candidate.euros = (float(advice.euros_low), float(advice.euros_high))
    parts = [manufacturing_co2e_kg(a["kind"]) for a in advice.actions if a["kind"] in PARTS]
    candidate.kg = (sum(p[0] for p in parts), sum(p[1] for p in parts))
    if advice.verdict in ("refurbished", "new"):
        candidate.meets, candidate.verdict = False, "short"
        return candidate
    candidate.os_plan = _owned_os_plan(machine, advice)
    # advise found it fit for the needs (with its parts, or a free OS): it serves the years
    # a kept machine serves; the 12-year cap on offers is about buying old, not keeping
    low, high = useful_years_table()["keep"]["years"]
    years = (float(low), float(high))
    candidate.useful_years = years
    candidate.euros_per_year = _per_year(candidate.euros, years)
    candidate.kg_per_year = _per_year(candidate.kg, years)
    candidate.meets = True
    if advice.verdict == "free-os":
        candidate.verdict = "free-os"
    else:
        candidate.verdict = "upgrade" if advice.actions else "keep"
    # advise could not tell (processor, disk or OS unknown): to check, not ranked
    if candidate.meets and {r["key"] for r in advice.reason_keys} & _OWNED_UNKNOWN:
        candidate.meets, candidate.verdict = None, "check"
    return candidate


# --------------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------------


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates that meet the needs first, least kg CO2e then least euros per useful
    year; then those to check, those that fall short, the unknown ones (in their order)."""
    meeting = [c for c in candidates if c.meets]
    meeting.sort(key=lambda c: (_mid(c.kg_per_year), _mid(c.euros_per_year)))
    for position, candidate in enumerate(meeting, start=1):
        candidate.rank = position
    order = {"check": 0, "short": 1, "unknown": 2}
    rest = sorted((c for c in candidates if not c.meets), key=lambda c: order.get(c.verdict, 3))
    return meeting + rest


def compare(
    offers: list[Offer],
    owned: list[tuple[Machine, Advice]],
    needs: list[str],
    lang: str,
    today: date,
) -> Comparison:
    """Every offer and every machine owned, judged and ranked."""
    candidates = [judge_offer(offer, needs, lang, today) for offer in offers]
    candidates += [judge_owned(machine, advice, today) for machine, advice in owned]
    return Comparison(needs=list(needs), today=today, candidates=rank(candidates))


# --------------------------------------------------------------------------------------------
# Rendering: one table of cells (side by side), laid out as text, Markdown, HTML; and JSON
# --------------------------------------------------------------------------------------------

ROWS = ("verdict", "price", "cpu", "ram", "storage", "os", "years", "euros_year", "kg_year")


def _cpu_cell(c: Candidate, lang: str) -> str:
    if c.cpu is None:
        return t(lang, "advise.offers.cell.cpu_unknown", cpu=c.cpu_text or "—")
    name = c.cpu.name
    if c.cpu.precision == "generation":
        name = t(lang, "advise.offers.cell.generation", line=name, generation=c.cpu.generation)
    if c.cpu.cores is None:
        return t(lang, "advise.offers.cell.cpu_family", name=name, year=c.cpu.year)
    return t(
        lang,
        "advise.offers.cell.cpu",
        name=name,
        year=c.cpu.year,
        cores=c.cpu.cores,
        threads=c.cpu.threads or c.cpu.cores,
    )


def _size_cell(value: float | None, lang: str, kind: str | None = None) -> str:
    if value is None:
        return t(lang, "advise.offers.not_stated")
    size = _fmt(value, lang)
    if kind:
        shown = {"ssd": "SSD", "hdd": "HDD", "emmc": "eMMC"}.get(kind, kind)
        return t(lang, "advise.offers.cell.storage", size=size, kind=shown)
    return t(lang, "advise.offers.cell.gb", size=size)


def _verdict_cell(c: Candidate, lang: str) -> str:
    verdict = t(lang, f"advise.offers.verdict.{c.verdict}")
    if c.rank is not None:
        return t(lang, "advise.offers.cell.ranked", rank=c.rank, verdict=verdict)
    return verdict


def _cells(c: Candidate, lang: str) -> dict[str, str]:
    price = (
        t(lang, "advise.offers.cell.euros", euros=_fmt(c.price_eur, lang))
        if c.price_eur is not None
        else (
            t(lang, "advise.offers.cell.parts", euros=range_text(c.euros, lang))
            if c.kind == "owned"
            else t(lang, "advise.offers.not_stated")
        )
    )
    os_years = (
        t(lang, "advise.offers.cell.no_end")
        if c.os_years is None
        else t(lang, "advise.offers.cell.years", years=range_text(c.os_years, lang))
    )
    os_cell = (
        t(lang, "advise.offers.unknown")
        if c.os_plan == "unknown"
        else t(lang, f"advise.offers.os_plan.{c.os_plan}", years=os_years)
    )
    return {
        "verdict": _verdict_cell(c, lang),
        "price": price,
        "cpu": _cpu_cell(c, lang),
        "ram": _size_cell(c.facts.get("ram_gb"), lang),
        "storage": _size_cell(c.facts.get("storage_gb"), lang, c.facts.get("storage_type") or "?"),
        "os": os_cell,
        "years": range_text(c.useful_years, lang),
        "euros_year": range_text(c.euros_per_year, lang),
        "kg_year": range_text(c.kg_per_year, lang),
    }


def _title(c: Candidate, lang: str) -> str:
    kind = "owned" if c.kind == "owned" else c.condition
    return t(lang, f"advise.offers.title.{kind}", name=c.label)


def _why(c: Candidate, lang: str) -> list[str]:
    lines = [p.localized(lang) for p in (*c.missed, *c.unknown)]
    if c.kind == "owned":
        lines += c.facts.get("reasons", [])
    else:
        lines += [p.localized(lang) for p in c.met]
    lines += [p.localized(lang) for p in c.notes]
    return lines


def _summary(comparison: Comparison, lang: str) -> list[str]:
    ranked = [c for c in comparison.candidates if c.rank is not None]
    if not ranked:
        return [t(lang, "advise.offers.summary.none")]
    best = ranked[0]
    lines = [
        t(
            lang,
            "advise.offers.summary.best",
            name=_title(best, lang),
            kg=range_text(best.kg_per_year, lang),
            euros=range_text(best.euros_per_year, lang),
        )
    ]
    cheapest = min(ranked, key=lambda c: _mid(c.euros_per_year))
    if cheapest is not best and _mid(cheapest.euros_per_year) < _mid(best.euros_per_year):
        lines.append(
            t(
                lang,
                "advise.offers.summary.cheapest",
                name=_title(cheapest, lang),
                euros=range_text(cheapest.euros_per_year, lang),
                kg=range_text(cheapest.kg_per_year, lang),
            )
        )
    return lines


def _needs_line(comparison: Comparison, lang: str) -> str:
    needs = ", ".join(t(lang, f"advise.profile.{n}") for n in comparison.needs)
    minimums = combined_minimums(comparison.needs, load_profiles())
    return t(
        lang,
        "advise.offers.needs",
        needs=needs,
        ram=_fmt(minimums["ram_gb"], lang),
        year=minimums["cpu_min_year"],
        cores=minimums["cpu_min_cores"],
        disk=_fmt(minimums["disk_min_gb"], lang),
    )


def render_text(comparison: Comparison, lang: str) -> str:
    """The terminal's answer: the ranking in one line each, then each candidate's why."""
    out = [t(lang, "advise.offers.heading"), _needs_line(comparison, lang), ""]
    out += _summary(comparison, lang)
    for c in comparison.candidates:
        cells = _cells(c, lang)
        out += ["", f"{_title(c, lang)} — {cells['verdict']}"]
        for row in ROWS[1:]:
            label = t(lang, f"advise.offers.row.{row}")
            out.append("  " + t(lang, "advise.offers.row_line", label=label, value=cells[row]))
        out += [f"  - {line}" for line in _why(c, lang)]
    out += ["", t(lang, "advise.offers.footnote")]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(comparison: Comparison, lang: str) -> str:
    """Markdown: the candidates side by side in one table, then each one's why."""
    cands = comparison.candidates
    out = [f"# {t(lang, 'advise.offers.heading')}", "", _needs_line(comparison, lang), ""]
    out += [f"**{_md(line)}**" for line in _summary(comparison, lang)]
    out += ["", "| | " + " | ".join(_md(_title(c, lang)) for c in cands) + " |"]
    out.append("|---|" + "---|" * len(cands))
    cells = [_cells(c, lang) for c in cands]
    for row in ROWS:
        label = t(lang, f"advise.offers.row.{row}")
        out.append(f"| {_md(label)} | " + " | ".join(_md(cell[row]) for cell in cells) + " |")
    for c in cands:
        out += ["", f"## {_md(_title(c, lang))}", ""]
        out += [f"- {_md(line)}" for line in _why(c, lang)]
    out += ["", f"_{_md(t(lang, 'advise.offers.footnote'))}_"]
    return "\n".join(out) + "\n"


def render_html(comparison: Comparison, lang: str) -> str:
    """A standalone HTML page: the same table and lists, every text escaped."""
    e = html.escape
    cands = comparison.candidates
    cells = [_cells(c, lang) for c in cands]
    head = "".join(f"<th scope='col'>{e(_title(c, lang))}</th>" for c in cands)
    body = "".join(
        f"<tr><th scope='row'>{e(t(lang, f'advise.offers.row.{row}'))}</th>"
        + "".join(f"<td>{e(cell[row])}</td>" for cell in cells)
        + "</tr>"
        for row in ROWS
    )
    whys = "".join(
        f"<h2>{e(_title(c, lang))}</h2><ul>"
        + "".join(f"<li>{e(line)}</li>" for line in _why(c, lang))
        + "</ul>"
        for c in cands
    )
    summary = "".join(f"<p><strong>{e(line)}</strong></p>" for line in _summary(comparison, lang))
    title = e(t(lang, "advise.offers.heading"))
    return (
        f"<!DOCTYPE html>\n<html lang='{e(lang)}'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>table{{border-collapse:collapse}}"
        "th,td{border:1px solid #999;padding:.3em .6em;vertical-align:top}</style></head>"
        f"<body><h1>{title}</h1><p>{e(_needs_line(comparison, lang))}</p>{summary}"
        f"<table><thead><tr><td></td>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"{whys}<p><small>{e(t(lang, 'advise.offers.footnote'))}</small></p></body></html>\n"
    )


def _problems(items: list[Problem], lang: str) -> list[dict[str, Any]]:
    return [{**p.to_json(), "text": p.localized(lang)} for p in items]


def to_json(comparison: Comparison, lang: str) -> dict[str, Any]:
    """JSON-ready: each candidate's facts, numbers as numbers, each line with its key."""

    def pair(value: Range | None) -> list[float] | None:
        return [round(value[0], 2), round(value[1], 2)] if value is not None else None

    return {
        "needs": comparison.needs,
        "date": comparison.today.isoformat(),
        "summary": _summary(comparison, lang),
        "candidates": [
            {
                "kind": c.kind,
                "name": c.label,
                "condition": c.condition,
                "verdict": c.verdict,
                "rank": c.rank,
                "meets_needs": c.meets,
                "price_eur": c.price_eur,
                "cpu_text": c.cpu_text,
                "cpu": None
                if c.cpu is None
                else {
                    "name": c.cpu.name,
                    "precision": c.cpu.precision,
                    "year": c.cpu.year,
                    "cores": c.cpu.cores,
                    "threads": c.cpu.threads,
                    "windows11": c.cpu.windows11,
                    "source": c.cpu.source,
                },
                "chassis": c.chassis,
                "facts": {k: v for k, v in c.facts.items() if k != "reasons"},
                "os_plan": c.os_plan,
                "os_years": pair(c.os_years),
                "useful_years": pair(c.useful_years),
                "euros": pair(c.euros),
                "euros_per_useful_year": pair(c.euros_per_year),
                "kg_co2e": pair(c.kg),
                "kg_co2e_per_useful_year": pair(c.kg_per_year),
                "met": _problems(c.met, lang),
                "missed": _problems(c.missed, lang),
                "unknown": _problems(c.unknown, lang),
                "notes": _problems(c.notes, lang),
                "reasons": c.facts.get("reasons", []),
            }
            for c in comparison.candidates
        ],
    }

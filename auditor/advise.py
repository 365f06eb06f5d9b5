"""Should we buy a new computer? One verdict per machine, for one or more needs profiles.

The profiles (`office`, `video-calls`, `photo`, `video-editing`), the price ranges, the
thresholds and the manufacturing footprints come from `auditor/impact/` (needs_profiles.toml,
thresholds.toml, figures.toml). Several needs
combine into their strictest minimums (the most RAM, the latest processor floor...).

Decision logic, in this order:

1. Processor below the floor (its launch year is before the profile's `cpu_min_year`, or it has
   fewer physical cores than `cpu_min_cores`): the machine cannot be fixed by parts, it is
   replaced. Verdict `refurbished`, naming the minimum specs to ask for, unless those
   minimums exceed what a typical refurbished mid-range machine offers (`[refurbished]`):
   then `new` (today only video editing, and the advice says a refurbished high-end machine
   would do too). The same happens when RAM is short and cannot be added (Apple laptops,
   whose memory is soldered). An unknown launch year or core count is not a reason to
   replace: the advice says to check.
2. Otherwise, parts (they combine into one `upgrade` verdict):
   - RAM below the minimum (with the `reported_size_margin` threshold: the OS reports a
     little less than what is installed): add RAM. A desktop takes modules; for a laptop we
     cannot tell whether the memory is soldered, so the advice says to check first.
   - system disk rotational, or smaller than the minimum (same margin): a SATA SSD. Unknown
     type: check.
   - a battery below the `battery_worn_percent` threshold (60 % of its design capacity, the
     one rule HW005 reads too): replace the battery.
3. Operating system without security updates and no free way forward: Windows 10 whose
   Windows 11 readiness is False, Windows 7/8.x, or an unsupported macOS. Verdict `free-os`
   (install a maintained Linux suited to older hardware), with the part upgrades, if any, as
   further actions. Windows 10 ready for 11, or an old release of a Linux distribution, only
   adds a free "os" action; readiness unknown adds a "check" reason.
4. Nothing missing: `keep`.

Euros are the `[prices]` ranges (order of magnitude, 2026, French retail). The footprint of a
new machine is the impact model's manufacturing range of its chassis (laptop, desktop;
unknown: both);
keeping or upgrading avoids that minus the parts' footprint, a refurbished machine avoids the
ADEME 2022 share of it, a new one nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from auditor.collect.host.machine import Machine
from auditor.errors import ConfigError, Problem
from auditor.i18n import t
from auditor.i18n.format import format_number, format_significant
from auditor.impact import (
    PARTS,
    car_km,
    figure,
    manufacturing_co2e_kg,
    new_computer_co2e_kg,
    threshold,
)
from auditor.impact.needs import load_profiles

VERDICTS = ("keep", "upgrade", "free-os", "refurbished", "new")
DEFAULT_NEEDS = ("office", "video-calls")  # `auditor advise` without --need, the fleet table
MINIMUM_KEYS = (
    "ram_gb",
    "cpu_min_year",
    "cpu_min_cores",
    "disk_min_gb",
    "disk_ssd",
    "os_supported",
)
_GB = 1_000_000_000
_GIB = 1024**3


class UnknownNeedError(ConfigError, ValueError):
    """A needs profile name that `impact/needs_profiles.toml` does not define (or no name at all).

    A ConfigError (one line, `advise.error.*`, in French and English); still a ValueError for
    callers that caught it as one.
    """


@dataclass
class Advice:
    hostname: str
    verdict: str  # one of VERDICTS
    reasons: list[str]  # in the requested language
    actions: list[dict[str, Any]]  # {kind, euros_low, euros_high, check}
    euros_low: int
    euros_high: int
    co2e_avoided_kg_low: float
    co2e_avoided_kg_high: float
    co2e_new_kg_low: float
    co2e_new_kg_high: float
    needs: list[str] = field(default_factory=list)
    # each reason's catalogue key and values, beside its sentence (advise --format json): what
    # a tool matches on, whatever the language
    reason_keys: list[dict[str, Any]] = field(default_factory=list)


def combined_minimums(needs: list[str], profiles: dict[str, Any]) -> dict[str, Any]:
    """The strictest minimum of each key over the `needs`."""
    table = profiles["profiles"]
    unknown = [n for n in needs if n not in table]
    if unknown:
        raise UnknownNeedError(
            "advise.error.unknown_need", unknown=", ".join(unknown), known=", ".join(table)
        )
    if not needs:
        raise UnknownNeedError("advise.error.no_need", known=", ".join(table))
    combined: dict[str, Any] = {}
    for name in needs:
        for key in MINIMUM_KEYS:
            value = table[name][key]
            current = combined.get(key)
            combined[key] = value if current is None else max(current, value)
    return combined


# --------------------------------------------------------------------------------------------
# Facts read from the machine
# --------------------------------------------------------------------------------------------


def _chassis(machine: Machine) -> str | None:
    chassis = machine.hardware.chassis if machine.hardware else None
    if chassis in ("laptop", "desktop"):
        return chassis
    if chassis is None and machine.host.battery_present:
        return "laptop"
    return None


def _is_apple(machine: Machine) -> bool:
    vendor = (machine.hardware.vendor or "") if machine.hardware else ""
    return vendor.casefold().startswith("apple") or machine.host.os_name == "Darwin"


def _ram_upgradeable(machine: Machine, chassis: str | None) -> bool | None:
    """True for a desktop, False for an Apple laptop (soldered memory), None: check."""
    if chassis == "desktop":
        return True
    if chassis == "laptop" and _is_apple(machine):
        return False
    return None


def _system_disk(machine: Machine):
    return next((d for d in machine.host.disks if d.is_system), None)


def _battery_health(machine: Machine) -> float | None:
    healths = [b.health_percent for b in machine.batteries if b.health_percent is not None]
    return min(healths) if healths else None


def _os_dead_end(machine: Machine) -> bool:
    """Unsupported OS with no free upgrade: Windows 10 not ready for 11, Windows 7/8, macOS."""
    support = machine.support
    if support is None or support.supported is not False:
        return False
    if support.product == "macos":
        return True
    if support.product == "windows":
        version = machine.host.os_version
        if "Windows 10" in version:
            return machine.readiness is not None and machine.readiness.ready is False
        return "Windows 11" not in version
    return False


# --------------------------------------------------------------------------------------------
# Advice
# --------------------------------------------------------------------------------------------


def _range(table: dict[str, Any], key: str) -> tuple[float, float]:
    low, high = table[key]
    return low, high


def _fmt(x: float, lang: str) -> str:
    return format_number(x, lang)


def _specs_text(minimums: dict[str, Any], lang: str) -> str:
    return t(
        lang,
        "advise.specs",
        ram=_fmt(minimums["ram_gb"], lang),
        year=minimums["cpu_min_year"],
        cores=minimums["cpu_min_cores"],
        disk=_fmt(minimums["disk_min_gb"], lang),
    )


@dataclass
class _Draft:
    """One machine's advice while it is being worked out: what every step reads and adds to."""

    machine: Machine
    needs: list[str]
    lang: str
    data: dict[str, Any]  # the needs file (profiles, refurbished, prices)
    minimums: dict[str, Any]  # the strictest of the needs
    chassis: str | None  # "laptop", "desktop" or None (unknown)
    needs_text: str
    new: tuple[float, float]  # kg CO2e to make a new machine of this chassis
    reasons: list[Problem] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def text(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)

    def reason(self, key: str, **values: object) -> Problem:
        """A reason as a catalogue key and values, said in the requested language at the end
        (values such as sizes are already formatted for that language)."""
        return Problem(key, **values)

    def action(self, kind: str, price_key: str, check: bool = False) -> None:
        low, high = _range(self.data["prices"], price_key)
        self.actions.append({"kind": kind, "euros_low": low, "euros_high": high, "check": check})

    def finish(self, verdict: str, avoided: tuple[float, float]) -> Advice:
        advice = _finish(
            self.machine,
            verdict,
            [reason.localized(self.lang) for reason in self.reasons],
            self.actions,
            avoided,
            self.new,
            self.needs,
        )
        advice.reason_keys = [
            {"key": reason.key, "values": dict(reason.values)} for reason in self.reasons
        ]
        return advice


def _ram_gb(machine: Machine) -> float | None:
    host = machine.host
    return host.ram_bytes / _GIB if host.ram_bytes else None


def _ram_short(draft: _Draft) -> bool:
    """Less memory than the needs ask, with the margin of what the OS reports."""
    ram_gb = _ram_gb(draft.machine)
    margin = threshold("reported_size_margin")
    return ram_gb is not None and ram_gb < draft.minimums["ram_gb"] * margin


def advise(
    machine: Machine,
    needs: list[str],
    lang: str,
    profiles: dict[str, Any] | None = None,
) -> Advice:
    """One verdict, with reasons and priced actions, for `machine` and the `needs`."""
    data = profiles if profiles is not None else load_profiles()
    chassis = _chassis(machine)
    draft = _Draft(
        machine=machine,
        needs=needs,
        lang=lang,
        data=data,
        minimums=combined_minimums(needs, data),
        chassis=chassis,
        needs_text=", ".join(t(lang, f"advise.profile.{n}") for n in needs),
        new=new_computer_co2e_kg(chassis),
    )
    replaced = _replacement(draft)
    if replaced is not None:
        return replaced
    _parts(draft)
    verdict = _operating_system(draft)
    return _keep_or_upgrade(draft, verdict)


def _replacement(draft: _Draft) -> Advice | None:
    """1. Processor and memory that parts cannot fix: a refurbished or a new machine."""
    host, hardware, minimums = draft.machine.host, draft.machine.hardware, draft.minimums
    replace_reasons: list[Problem] = []
    launch_year = hardware.cpu_launch_year if hardware else None
    cpu_name = host.cpu_model or draft.text("advise.unknown_cpu")
    if launch_year is None:
        draft.reasons.append(
            draft.reason("advise.reason.cpu_unknown", floor=minimums["cpu_min_year"])
        )
    elif launch_year < minimums["cpu_min_year"]:
        replace_reasons.append(
            draft.reason(
                "advise.reason.cpu_old",
                cpu=cpu_name,
                year=launch_year,
                floor=minimums["cpu_min_year"],
                needs=draft.needs_text,
            )
        )
    cores = host.cpu_cores_physical or host.cpu_cores_logical
    if cores is not None and cores < minimums["cpu_min_cores"]:
        replace_reasons.append(
            draft.reason("advise.reason.cpu_cores", cores=cores, floor=minimums["cpu_min_cores"])
        )
    if _ram_short(draft) and _ram_upgradeable(draft.machine, draft.chassis) is False:
        replace_reasons.append(
            draft.reason(
                "advise.reason.ram_soldered",
                ram=format_significant(_ram_gb(draft.machine), draft.lang),
                floor=minimums["ram_gb"],
            )
        )
    if not replace_reasons:
        return None
    draft.reasons.extend(replace_reasons)
    return _replace_with(draft)


def _replace_with(draft: _Draft) -> Advice:
    """A refurbished machine, unless the needs ask more than a typical one offers: new."""
    lang, minimums, chassis = draft.lang, draft.minimums, draft.chassis or "laptop"
    refurb = draft.data["refurbished"]
    too_much = [
        key
        for key in ("ram_gb", "cpu_min_year", "cpu_min_cores", "disk_min_gb")
        if minimums[key] > refurb[key]
    ]
    if too_much:
        draft.reasons.append(
            draft.reason(
                "advise.reason.new",
                needs=draft.needs_text,
                specs=_specs_text(minimums, lang),
                refurb=_specs_text(refurb, lang),
            )
        )
        draft.action(
            "replace", "new_workstation" if "video-editing" in draft.needs else f"new_{chassis}"
        )
        return draft.finish("new", (0.0, 0.0))
    draft.reasons.append(
        draft.reason("advise.reason.refurbished", specs=_specs_text(minimums, lang))
    )
    draft.action("replace", f"refurbished_{chassis}")
    share_low = figure(f"refurbished_share_{chassis}_low")
    share_high = figure(f"refurbished_share_{chassis}_high")
    return draft.finish("refurbished", (draft.new[0] * share_low, draft.new[1] * share_high))


def _parts(draft: _Draft) -> None:
    """2. Parts: memory, a solid-state disk, a battery (they combine into one upgrade)."""
    _memory(draft)
    _disk(draft)
    _battery(draft)


def _memory(draft: _Draft) -> None:
    if not _ram_short(draft):
        return
    upgradeable = _ram_upgradeable(draft.machine, draft.chassis)
    key = "advise.reason.ram_add" if upgradeable else "advise.reason.ram_check"
    draft.reasons.append(
        draft.reason(
            key,
            ram=format_significant(_ram_gb(draft.machine), draft.lang),
            floor=draft.minimums["ram_gb"],
            needs=draft.needs_text,
        )
    )
    draft.action("ram", "ram", check=not upgradeable)


def _disk(draft: _Draft) -> None:
    disk = _system_disk(draft.machine)
    if disk is None:
        return
    if draft.machine.host.virtualization:
        # a virtual disk lives on the host's storage: no SSD to buy for it (nor its size)
        draft.reasons.append(draft.reason("advise.reason.disk_virtual"))
        return
    margin = threshold("reported_size_margin")
    too_small = disk.total_bytes < draft.minimums["disk_min_gb"] * _GB * margin
    if disk.rotational or too_small:
        key = "advise.reason.ssd_rotational" if disk.rotational else "advise.reason.ssd_small"
        draft.reasons.append(
            draft.reason(
                key,
                size=_fmt(disk.total_bytes / _GB, draft.lang),
                floor=draft.minimums["disk_min_gb"],
            )
        )
        draft.action("ssd", "ssd")
    elif disk.rotational is None and draft.minimums["disk_ssd"]:
        draft.reasons.append(draft.reason("advise.reason.disk_unknown"))


def _battery(draft: _Draft) -> None:
    health = _battery_health(draft.machine)
    floor = threshold("battery_worn_percent")  # the one rule HW005 reads too
    if health is not None and health < floor:
        draft.reasons.append(
            draft.reason(
                "advise.reason.battery",
                health=_fmt(health, draft.lang),
                floor=_fmt(floor, draft.lang),
            )
        )
        draft.action("battery", "battery")


def _operating_system(draft: _Draft) -> str:
    """3. Operating system: a free OS when there is no free way forward; the verdict so far."""
    machine = draft.machine
    support = machine.support
    os_label = support.label if support else machine.host.os_version
    verdict = "upgrade" if draft.actions else "keep"
    if _os_dead_end(machine):
        verdict = "free-os"
        macos = support is not None and support.product == "macos"
        key = "advise.reason.os_macos" if macos else "advise.reason.os_windows"
        draft.reasons.append(draft.reason(key, os=os_label))
        draft.action("os", "os")
    elif support is not None and support.supported is False:
        if machine.readiness is not None and machine.readiness.ready:
            draft.reasons.append(draft.reason("advise.reason.os_win11", os=os_label))
        elif "Windows 10" in machine.host.os_version:
            draft.reasons.append(draft.reason("advise.reason.os_win11_check", os=os_label))
        else:
            draft.reasons.append(draft.reason("advise.reason.os_release", os=os_label))
        draft.action("os", "os")
    elif support is not None and support.supported is None and draft.minimums["os_supported"]:
        draft.reasons.append(draft.reason("advise.reason.os_unknown", os=os_label))
    return verdict


def _keep_or_upgrade(draft: _Draft, verdict: str) -> Advice:
    """4. Keep (nothing missing), or keep with parts: avoids a new machine minus the parts."""
    if verdict == "keep":
        draft.reasons.insert(0, draft.reason("advise.reason.keep", needs=draft.needs_text))
    parts = [manufacturing_co2e_kg(a["kind"]) for a in draft.actions if a["kind"] in PARTS]
    parts_low = sum(low for low, _high in parts)
    parts_high = sum(high for _low, high in parts)
    new_low, new_high = draft.new
    return draft.finish(verdict, (max(0.0, new_low - parts_high), max(0.0, new_high - parts_low)))


def _finish(
    machine: Machine,
    verdict: str,
    reasons: list[str],
    actions: list[dict[str, Any]],
    avoided: tuple[float, float],
    new: tuple[float, float],
    needs: list[str],
) -> Advice:
    return Advice(
        hostname=machine.host.hostname,
        verdict=verdict,
        reasons=reasons,
        actions=actions,
        euros_low=int(sum(a["euros_low"] for a in actions)),
        euros_high=int(sum(a["euros_high"] for a in actions)),
        co2e_avoided_kg_low=round(float(avoided[0]), 1),
        co2e_avoided_kg_high=round(float(avoided[1]), 1),
        co2e_new_kg_low=float(new[0]),
        co2e_new_kg_high=float(new[1]),
        needs=list(needs),
    )


def advice_to_dict(advice: Advice) -> dict[str, Any]:
    """A JSON-ready dict (for `--format json`)."""
    return asdict(advice)


def _range_text(low: float, high: float, lang: str) -> str:
    if round(low) == round(high):
        return _fmt(low, lang)
    return t(lang, "advise.range", low=_fmt(low, lang), high=_fmt(high, lang))


def render_advice_text(advices: list[Advice], lang: str) -> str:
    """Plain text for the terminal: one block per machine, euros and kg CO2e side by side."""
    blocks: list[str] = []
    for advice in advices:
        needs_text = ", ".join(t(lang, f"advise.profile.{n}") for n in advice.needs)
        lines = [
            t(
                lang,
                "advise.heading",
                host=advice.hostname,
                verdict=t(lang, f"advise.verdict.{advice.verdict}"),
                needs=needs_text,
            )
        ]
        lines.extend(f"  - {reason}" for reason in advice.reasons)
        for item in advice.actions:
            label = t(lang, f"advise.action.{item['kind']}")
            if item.get("check"):
                label = t(lang, "advise.action_check", action=label)
            lines.append(
                t(
                    lang,
                    "advise.action_line",
                    action=label,
                    euros=_range_text(item["euros_low"], item["euros_high"], lang),
                )
            )
        avoided = advice.co2e_avoided_kg_high > 0  # never "avoids 0 kg": say what new costs
        low, high = (
            (advice.co2e_avoided_kg_low, advice.co2e_avoided_kg_high)
            if avoided
            else (advice.co2e_new_kg_low, advice.co2e_new_kg_high)
        )
        lines.append(
            t(
                lang,
                "advise.totals" if avoided else "advise.totals_new",
                euros=_range_text(advice.euros_low, advice.euros_high, lang),
                avoided=_range_text(advice.co2e_avoided_kg_low, advice.co2e_avoided_kg_high, lang),
                new=_range_text(advice.co2e_new_kg_low, advice.co2e_new_kg_high, lang),
                km=_range_text(car_km(low), car_km(high), lang),
            )
        )
        blocks.append("\n".join(lines))
    blocks.append(t(lang, "advise.footnote"))
    return "\n\n".join(blocks) + "\n"

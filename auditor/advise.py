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
from auditor.errors import ConfigError
from auditor.i18n import t
from auditor.i18n.format import format_number, format_significant
from auditor.impact import PARTS, car_km, figure, manufacturing_co2e_kg, threshold
from auditor.impact.needs import load_profiles

VERDICTS = ("keep", "upgrade", "free-os", "refurbished", "new")
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


def advise(
    machine: Machine,
    needs: list[str],
    lang: str,
    profiles: dict[str, Any] | None = None,
) -> Advice:
    """One verdict, with reasons and priced actions, for `machine` and the `needs`."""
    data = profiles if profiles is not None else load_profiles()
    minimums = combined_minimums(needs, data)
    prices = data["prices"]
    host, hardware = machine.host, machine.hardware
    chassis = _chassis(machine)
    needs_text = ", ".join(t(lang, f"advise.profile.{n}") for n in needs)
    reasons: list[str] = []
    actions: list[dict[str, Any]] = []

    def action(kind: str, price_key: str, check: bool = False) -> None:
        low, high = _range(prices, price_key)
        actions.append({"kind": kind, "euros_low": low, "euros_high": high, "check": check})

    # New machine footprint (impact model): by chassis, both ranges when unknown.
    if chassis in ("laptop", "desktop"):
        new_low, new_high = manufacturing_co2e_kg(chassis)
    else:
        laptop, desktop = manufacturing_co2e_kg("laptop"), manufacturing_co2e_kg("desktop")
        new_low, new_high = min(laptop[0], desktop[0]), max(laptop[1], desktop[1])

    # 1. Processor and memory that parts cannot fix.
    replace_reasons: list[str] = []
    launch_year = hardware.cpu_launch_year if hardware else None
    cpu_name = host.cpu_model or t(lang, "advise.unknown_cpu")
    if launch_year is None:
        reasons.append(t(lang, "advise.reason.cpu_unknown", floor=minimums["cpu_min_year"]))
    elif launch_year < minimums["cpu_min_year"]:
        replace_reasons.append(
            t(
                lang,
                "advise.reason.cpu_old",
                cpu=cpu_name,
                year=launch_year,
                floor=minimums["cpu_min_year"],
                needs=needs_text,
            )
        )
    cores = host.cpu_cores_physical or host.cpu_cores_logical
    if cores is not None and cores < minimums["cpu_min_cores"]:
        replace_reasons.append(
            t(lang, "advise.reason.cpu_cores", cores=cores, floor=minimums["cpu_min_cores"])
        )

    ram_margin = threshold("reported_size_margin")
    ram_gb = host.ram_bytes / _GIB if host.ram_bytes else None
    ram_short = ram_gb is not None and ram_gb < minimums["ram_gb"] * ram_margin
    upgradeable = _ram_upgradeable(machine, chassis)
    if ram_short and upgradeable is False:
        replace_reasons.append(
            t(
                lang,
                "advise.reason.ram_soldered",
                ram=format_significant(ram_gb, lang),
                floor=minimums["ram_gb"],
            )
        )

    if replace_reasons:
        refurb = data["refurbished"]
        too_much = [
            key
            for key in ("ram_gb", "cpu_min_year", "cpu_min_cores", "disk_min_gb")
            if minimums[key] > refurb[key]
        ]
        reasons.extend(replace_reasons)
        if too_much:
            verdict = "new"
            reasons.append(
                t(
                    lang,
                    "advise.reason.new",
                    needs=needs_text,
                    specs=_specs_text(minimums, lang),
                    refurb=_specs_text(refurb, lang),
                )
            )
            action(
                "replace",
                "new_workstation" if "video-editing" in needs else f"new_{chassis or 'laptop'}",
            )
            avoided = (0.0, 0.0)
        else:
            verdict = "refurbished"
            reasons.append(t(lang, "advise.reason.refurbished", specs=_specs_text(minimums, lang)))
            action("replace", f"refurbished_{chassis or 'laptop'}")
            share_low = figure(f"refurbished_share_{chassis or 'laptop'}_low")
            share_high = figure(f"refurbished_share_{chassis or 'laptop'}_high")
            avoided = (new_low * share_low, new_high * share_high)
        return _finish(machine, verdict, reasons, actions, avoided, (new_low, new_high), needs)

    # 2. Parts.
    if ram_short:
        assert ram_gb is not None
        key = "advise.reason.ram_add" if upgradeable else "advise.reason.ram_check"
        reasons.append(
            t(
                lang,
                key,
                ram=format_significant(ram_gb, lang),
                floor=minimums["ram_gb"],
                needs=needs_text,
            )
        )
        action("ram", "ram", check=not upgradeable)

    disk = _system_disk(machine)
    if disk is not None and machine.host.virtualization:
        # a virtual disk lives on the host's storage: no SSD to buy for it (nor its size)
        reasons.append(t(lang, "advise.reason.disk_virtual"))
    elif disk is not None:
        too_small = disk.total_bytes < minimums["disk_min_gb"] * _GB * ram_margin
        if disk.rotational or too_small:
            key = "advise.reason.ssd_rotational" if disk.rotational else "advise.reason.ssd_small"
            reasons.append(
                t(
                    lang,
                    key,
                    size=_fmt(disk.total_bytes / _GB, lang),
                    floor=minimums["disk_min_gb"],
                )
            )
            action("ssd", "ssd")
        elif disk.rotational is None and minimums["disk_ssd"]:
            reasons.append(t(lang, "advise.reason.disk_unknown"))

    health = _battery_health(machine)
    battery_floor = threshold("battery_worn_percent")
    if health is not None and health < battery_floor:
        reasons.append(
            t(
                lang,
                "advise.reason.battery",
                health=_fmt(health, lang),
                floor=_fmt(battery_floor, lang),
            )
        )
        action("battery", "battery")

    # 3. Operating system.
    support = machine.support
    os_label = support.label if support else host.os_version
    verdict = "upgrade" if actions else "keep"
    if _os_dead_end(machine):
        verdict = "free-os"
        key = (
            "advise.reason.os_macos"
            if support and support.product == "macos"
            else ("advise.reason.os_windows")
        )
        reasons.append(t(lang, key, os=os_label))
        action("os", "os")
    elif support is not None and support.supported is False:
        if machine.readiness is not None and machine.readiness.ready:
            reasons.append(t(lang, "advise.reason.os_win11", os=os_label))
        elif "Windows 10" in host.os_version:
            reasons.append(t(lang, "advise.reason.os_win11_check", os=os_label))
        else:
            reasons.append(t(lang, "advise.reason.os_release", os=os_label))
        action("os", "os")
    elif support is not None and support.supported is None and minimums["os_supported"]:
        reasons.append(t(lang, "advise.reason.os_unknown", os=os_label))

    # 4. Keep.
    if verdict == "keep":
        reasons.insert(0, t(lang, "advise.reason.keep", needs=needs_text))
    parts = [manufacturing_co2e_kg(a["kind"]) for a in actions if a["kind"] in PARTS]
    parts_low = sum(low for low, _high in parts)
    parts_high = sum(high for _low, high in parts)
    avoided = (max(0.0, new_low - parts_high), max(0.0, new_high - parts_low))
    return _finish(machine, verdict, reasons, actions, avoided, (new_low, new_high), needs)


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

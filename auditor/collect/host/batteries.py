"""Battery wear: what a full charge holds today against what the battery was designed to hold.

`probe_batteries()` returns one `BatteryFacts` per internal battery (its health is
`full_capacity_wh / design_capacity_wh`) and one line per thing it could not see (a `Problem`
from the "probe" catalog, in English and French). A machine without a battery gives an empty
list and no line. Nothing escapes the probe.

- Linux: /sys/class/power_supply/*/ of type "Battery" (BAT0, BAT1, CMB0...), in µWh
  (energy_full, energy_full_design) or in µAh (charge_full, charge_full_design) converted with
  voltage_min_design (µV). Batteries of wireless mice and keyboards (scope "Device") are left out.
- Windows: `powercfg /batteryreport /xml /output FILE`, written to a temporary folder; the
  report's Batteries/Battery elements give DesignCapacity and FullChargeCapacity in mWh and
  CycleCount. No administrator rights are needed.
- macOS: `system_profiler SPPowerDataType -json`: the cycle count and the health as a
  percentage ("Maximum Capacity" in System Information). macOS publishes no capacity in
  watt-hours there, so the capacities stay None and the percentage goes into a line.

A cycle count of 0 is taken as "not counted": Windows' report and many Linux drivers write 0 for
batteries whose gauge does not count cycles, whatever their age.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.collect.host.commands import exception_detail, output_detail, windows_tool
from auditor.collect.host.hardware import (
    DEFAULT_TIMEOUT,
    SYS_ROOT,
    SYSTEM_PROFILER,
    Runner,
    run_command,
)
from auditor.collect.host.records import BatteryFacts
from auditor.errors import Problem

POWER_SUPPLY_DIR = Path("class/power_supply")
_MICRO = 1_000_000


# --------------------------------------------------------------------------------------------
# Linux
# --------------------------------------------------------------------------------------------


def _read_number(folder: Path, name: str) -> int | None:
    try:
        text = (folder / name).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _read_text(folder: Path, name: str) -> str | None:
    try:
        return (folder / name).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _positive(value: int | None) -> int | None:
    return value if value is not None and value > 0 else None


def battery_from_sys(folder: Path) -> tuple[BatteryFacts, Problem | None]:
    """(facts, a line or None) for one /sys/class/power_supply battery folder.

    The kernel documents the units in Documentation/ABI/testing/sysfs-class-power: energy in
    µWh, charge in µAh, voltage in µV. A charge becomes energy through the design voltage:
    µAh × µV / 10¹² = Wh.
    """
    name = folder.name
    cycles = _positive(_read_number(folder, "cycle_count"))
    design_uwh = _positive(_read_number(folder, "energy_full_design"))
    full_uwh = _read_number(folder, "energy_full")
    if design_uwh is not None or full_uwh is not None:
        return (
            BatteryFacts(
                name=name,
                design_capacity_wh=design_uwh / _MICRO if design_uwh else None,
                full_capacity_wh=full_uwh / _MICRO if full_uwh is not None else None,
                cycle_count=cycles,
            ),
            None,
        )
    design_uah = _positive(_read_number(folder, "charge_full_design"))
    full_uah = _read_number(folder, "charge_full")
    if design_uah is None and full_uah is None:
        line = Problem("probe.battery.no_capacity", name=name)
        return BatteryFacts(name, None, None, cycles), line
    volts_uv = _positive(_read_number(folder, "voltage_min_design"))
    if volts_uv is None:
        line = Problem("probe.battery.no_voltage", name=name)
        return BatteryFacts(name, None, None, cycles), line
    scale = volts_uv / (_MICRO * _MICRO)
    return (
        BatteryFacts(
            name=name,
            design_capacity_wh=round(design_uah * scale, 3) if design_uah else None,
            full_capacity_wh=round(full_uah * scale, 3) if full_uah is not None else None,
            cycle_count=cycles,
        ),
        None,
    )


def is_system_battery(folder: Path) -> bool:
    """True for a battery that powers this machine: type "Battery", not a peripheral's
    (HID mice and keyboards report scope "Device"), and present in its bay."""
    if _read_text(folder, "type") != "Battery":
        return False
    if (_read_text(folder, "scope") or "").casefold() == "device":
        return False
    return _read_text(folder, "present") != "0"


def linux_batteries(sys_root: Path = SYS_ROOT) -> tuple[list[BatteryFacts], list[str]]:
    """Every system battery under `sys_root`/class/power_supply."""
    folder = sys_root / POWER_SUPPLY_DIR
    if not folder.is_dir():
        return [], []  # no power_supply class at all: no battery to describe
    batteries: list[BatteryFacts] = []
    errors: list[str] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not is_system_battery(entry):
            continue
        battery, line = battery_from_sys(entry)
        batteries.append(battery)
        if line:
            errors.append(line)
    return batteries, errors


# --------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    """Tag name without its namespace: the report's root carries
    xmlns="http://schemas.microsoft.com/battery/2012"."""
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return None


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def batteries_from_battery_report(xml: bytes | str) -> list[BatteryFacts]:
    """Batteries in a `powercfg /batteryreport /xml` report.

    Only Batteries/Battery is read: RuntimeEstimates also has elements named DesignCapacity and
    FullChargeCapacity (holding a Capacity and run times), which a search for the names alone
    would pick up. Capacities are in mWh.
    """
    root = ET.fromstring(xml)
    batteries: list[BatteryFacts] = []
    for section in root:
        if _local(section.tag) != "Batteries":
            continue
        for index, element in enumerate(section, start=1):
            if _local(element.tag) != "Battery":
                continue
            design = _positive(_int_or_none(_child_text(element, "DesignCapacity")))
            full = _int_or_none(_child_text(element, "FullChargeCapacity"))
            batteries.append(
                BatteryFacts(
                    # no Id: BAT0, BAT1… as Linux names them (the same in every language)
                    name=_child_text(element, "Id") or f"BAT{index - 1}",
                    design_capacity_wh=design / 1000 if design else None,
                    full_capacity_wh=full / 1000 if full is not None and full >= 0 else None,
                    cycle_count=_positive(_int_or_none(_child_text(element, "CycleCount"))),
                )
            )
    return batteries


def powercfg() -> str:
    return windows_tool("powercfg.exe")


def battery_report_argv(output: Path, program: str = "powercfg.exe") -> list[str]:
    return [program, "/batteryreport", "/xml", "/output", str(output)]


def _windows_batteries(run: Runner) -> tuple[list[BatteryFacts], list[str]]:
    with tempfile.TemporaryDirectory(prefix="auditor-battery-") as folder:
        report = Path(folder) / "battery-report.xml"
        code, out, err = run(battery_report_argv(report, powercfg()), DEFAULT_TIMEOUT)
        try:
            data = report.read_bytes()
        except OSError:
            detail = output_detail(out, err)
            if detail:
                return [], [Problem("probe.battery.powercfg_no_report", detail=detail)]
            return [], [Problem("probe.battery.powercfg_no_report_exit", code=code)]
    try:
        return batteries_from_battery_report(data), []
    except ET.ParseError as exc:
        return [], [Problem("probe.battery.powercfg_not_xml", detail=exc)]


# --------------------------------------------------------------------------------------------
# macOS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MacBatteryHealth:
    """What System Information says of a Mac battery: cycles and "Maximum Capacity" (%)."""

    name: str
    cycle_count: int | None
    maximum_capacity_percent: float | None


_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")


def _percent(value: Any) -> float | None:
    """87.0 from "87%", "87 %" or "87\u00a0%" (macOS puts a no-break space in some locales)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _PERCENT.search(value.replace("\u00a0", " "))
    return float(match[1].replace(",", ".")) if match else None


def macos_battery_health(data: Mapping[str, Any]) -> list[MacBatteryHealth]:
    """Batteries in `system_profiler SPPowerDataType -json` (parsed): the items that have a
    sppower_battery_health_info section. Desktop Macs have none."""
    found: list[MacBatteryHealth] = []
    for item in data.get("SPPowerDataType") or []:
        if not isinstance(item, Mapping):
            continue
        health = item.get("sppower_battery_health_info")
        if not isinstance(health, Mapping):
            continue
        model = item.get("sppower_battery_model_info")
        model = model if isinstance(model, Mapping) else {}
        cycles = health.get("sppower_battery_cycle_count")
        found.append(
            MacBatteryHealth(
                # no name: what `pmset -g batt` calls it (the same in every language)
                name=str(model.get("sppower_battery_device_name") or "InternalBattery-0"),
                cycle_count=_positive(cycles if isinstance(cycles, int) else None),
                maximum_capacity_percent=_percent(
                    health.get("sppower_battery_health_maximum_capacity")
                ),
            )
        )
    return found


def batteries_from_macos(data: Mapping[str, Any]) -> tuple[list[BatteryFacts], list[str]]:
    """BatteryFacts for each Mac battery, with its health percentage in a line: macOS gives no
    design capacity, so full = design × percentage cannot be put in watt-hours."""
    batteries: list[BatteryFacts] = []
    errors: list[str] = []
    for health in macos_battery_health(data):
        batteries.append(BatteryFacts(health.name, None, None, health.cycle_count))
        if health.maximum_capacity_percent is not None:
            errors.append(
                Problem(
                    "probe.battery.macos_percent",
                    name=health.name,
                    percent=health.maximum_capacity_percent,
                )
            )
        else:
            errors.append(Problem("probe.battery.macos_no_health", name=health.name))
    return batteries, errors


def _macos_batteries(run: Runner) -> tuple[list[BatteryFacts], list[str]]:
    code, out, err = run([SYSTEM_PROFILER, "SPPowerDataType", "-json"], DEFAULT_TIMEOUT)
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        detail = output_detail(out, err)
        if detail:
            return [], [Problem("probe.battery.system_profiler", detail=detail)]
        return [], [Problem("probe.battery.system_profiler_exit", code=code)]
    return batteries_from_macos(data if isinstance(data, Mapping) else {})


# --------------------------------------------------------------------------------------------
# Collection
# --------------------------------------------------------------------------------------------


_PROGRAMS = {"Windows": "powercfg", "Darwin": "system_profiler"}


def probe_batteries(
    run: Runner | None = None, sys_root: Path = SYS_ROOT, *, system: str | None = None
) -> tuple[list[BatteryFacts], list[str]]:
    """Every internal battery of this machine and what could not be read. Never raises."""
    run = run or run_command
    system = system or platform.system()
    try:
        if system == "Linux":
            return linux_batteries(sys_root)
        if system == "Windows":
            return _windows_batteries(run)
        if system == "Darwin":
            return _macos_batteries(run)
        if system:
            return [], [Problem("probe.battery.no_probe", system=system)]
        return [], [Problem("probe.battery.no_probe_os")]
    except FileNotFoundError:
        program = _PROGRAMS.get(system, system)
        return [], [Problem("probe.battery.not_installed", program=program)]
    except subprocess.TimeoutExpired as exc:
        program = _PROGRAMS.get(system, system)
        return [], [Problem("probe.battery.timeout", program=program, seconds=exc.timeout)]
    except Exception as exc:  # reported, never raised
        return [], [Problem("probe.battery.error", detail=exception_detail(exc))]

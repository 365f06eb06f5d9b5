"""Battery wear on each system: sysfs trees rebuilt from published `uevent` files, real
`powercfg` battery reports, macOS's percentage, the commands run, and this machine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from auditor.collect.host import batteries
from auditor.collect.host.batteries import (
    MacBatteryHealth,
    batteries_from_battery_report,
    batteries_from_macos,
    battery_from_sys,
    battery_report_argv,
    linux_batteries,
    macos_battery_health,
    probe_batteries,
)
from auditor.collect.host.records import BatteryFacts
from tests.helpers import assert_probe_lines, runner, write
from tests.unit.test_hardware import DATA, FakeRunner, fixture_text


def battery_folder(sys_root: Path, name: str, uevent: str, **extra: str) -> Path:
    """A /sys/class/power_supply/<name> folder made from a published `uevent`: each
    POWER_SUPPLY_X=value line becomes the file x, as the kernel's attributes are. `type` is
    added because these older kernels did not print POWER_SUPPLY_TYPE in uevent."""
    folder = sys_root / "class" / "power_supply" / name
    folder.mkdir(parents=True)
    files = {"type": "Battery"}
    for line in uevent.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("POWER_SUPPLY_") and key != "POWER_SUPPLY_NAME":
            files[key.removeprefix("POWER_SUPPLY_").lower()] = value
    files.update(extra)
    for file, value in files.items():
        (folder / file).write_text(value + "\n", encoding="utf-8")
    return folder


# --------------------------------------------------------------------------------------------
# Linux
# --------------------------------------------------------------------------------------------


def test_a_battery_measured_in_microwatt_hours_keeps_its_figures(tmp_path: Path) -> None:
    battery_folder(tmp_path, "BAT0", fixture_text("uevent_thinkpad_42t4977.txt"))
    found, errors = linux_batteries(tmp_path)
    assert found == [BatteryFacts("BAT0", 38.92, 25.5, None)]
    assert found[0].health_percent == 65.5
    assert errors == []


def test_a_battery_measured_in_microamp_hours_is_converted_with_its_design_voltage(
    tmp_path: Path,
) -> None:
    # Dell XPS 15 9560: 4.912 Ah × 11.4 V = 55.997 Wh designed, 4.901 Ah × 11.4 V left.
    battery_folder(tmp_path, "BAT0", fixture_text("uevent_dell_xps15_9560.txt"))
    [battery], errors = linux_batteries(tmp_path)
    assert (battery.design_capacity_wh, battery.full_capacity_wh) == (55.997, 55.871)
    assert battery.health_percent == 99.8
    assert errors == []


def test_a_worn_thinkpad_battery_holds_a_third_of_its_design_charge(tmp_path: Path) -> None:
    battery_folder(tmp_path, "BAT0", fixture_text("uevent_thinkpad_42t4865_worn.txt"))
    [battery], _errors = linux_batteries(tmp_path)
    assert (battery.design_capacity_wh, battery.full_capacity_wh) == (62.16, 20.002)
    assert battery.health_percent == 32.2


def test_a_cycle_count_of_zero_means_not_counted(tmp_path: Path) -> None:
    # All three published batteries say POWER_SUPPLY_CYCLE_COUNT=0, the 32 % one included.
    battery_folder(tmp_path, "BAT0", fixture_text("uevent_thinkpad_42t4865_worn.txt"))
    counted = battery_folder(tmp_path, "BAT1", fixture_text("uevent_thinkpad_42t4977.txt"))
    (counted / "cycle_count").write_text("512\n", encoding="ascii")
    found, _errors = linux_batteries(tmp_path)
    assert [b.cycle_count for b in found] == [None, 512]


def test_mice_mains_adapters_and_empty_bays_are_not_batteries_of_this_machine(
    tmp_path: Path,
) -> None:
    battery_folder(tmp_path, "BAT0", fixture_text("uevent_thinkpad_42t4977.txt"))
    battery_folder(tmp_path, "BAT1", "POWER_SUPPLY_ENERGY_FULL_DESIGN=1", present="0")
    # A Logitech mouse seen through hid-logitech-hidpp: type Battery, scope Device.
    battery_folder(tmp_path, "hidpp_battery_0", "POWER_SUPPLY_CAPACITY=55", scope="Device")
    battery_folder(tmp_path, "AC", "POWER_SUPPLY_ONLINE=1", type="Mains")
    found, errors = linux_batteries(tmp_path)
    assert [b.name for b in found] == ["BAT0"]
    assert errors == []


def test_batteries_need_not_be_called_bat(tmp_path: Path) -> None:
    battery_folder(tmp_path, "CMB0", fixture_text("uevent_thinkpad_42t4977.txt"))
    assert [b.name for b in linux_batteries(tmp_path)[0]] == ["CMB0"]


def test_a_charge_without_a_design_voltage_cannot_be_put_in_watt_hours(tmp_path: Path) -> None:
    uevent = "POWER_SUPPLY_CHARGE_FULL_DESIGN=4912000\nPOWER_SUPPLY_CHARGE_FULL=4901000"
    folder = battery_folder(tmp_path, "BAT0", uevent)
    battery, line = battery_from_sys(folder)
    assert battery == BatteryFacts("BAT0", None, None, None)
    assert line == (
        "battery BAT0: capacity in watt-hours not readable "
        "(charge given in µAh without voltage_min_design)"
    )


def test_a_battery_without_capacity_files_is_listed_with_a_line(tmp_path: Path) -> None:
    folder = battery_folder(tmp_path, "BAT0", "POWER_SUPPLY_CAPACITY=80")
    assert battery_from_sys(folder) == (
        BatteryFacts("BAT0", None, None, None),
        "battery BAT0: capacity not readable (no energy_full or charge_full in sysfs)",
    )


def test_a_machine_without_batteries_gives_nothing_and_says_nothing(tmp_path: Path) -> None:
    assert linux_batteries(tmp_path) == ([], [])
    (tmp_path / "class" / "power_supply").mkdir(parents=True)  # like this VM
    assert probe_batteries(FakeRunner(), tmp_path, system="Linux") == ([], [])


# --------------------------------------------------------------------------------------------
# Windows: powercfg /batteryreport /xml
# --------------------------------------------------------------------------------------------


def test_the_inspiron_report_gives_its_battery_and_not_the_runtime_estimates() -> None:
    xml = (DATA / "powercfg_batteryreport_inspiron5515.xml").read_bytes()
    assert batteries_from_battery_report(xml) == [BatteryFacts("DELL XDY9K14", 54.0, 45.72, None)]


def test_a_latitude_after_402_cycles_keeps_71_percent_of_its_capacity() -> None:
    xml = (DATA / "powercfg_batteryreport_latitude3340.xml").read_bytes()
    [battery] = batteries_from_battery_report(xml)
    assert battery == BatteryFacts("DELL RXF9T41", 54.002, 38.486, 402)
    assert battery.health_percent == 71.3


def test_a_desktop_report_with_no_battery_gives_an_empty_list() -> None:
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<BatteryReport xmlns="http://schemas.microsoft.com/battery/2012">'
        "<Batteries /><RuntimeEstimates><DesignCapacity><Capacity>0</Capacity>"
        "</DesignCapacity></RuntimeEstimates></BatteryReport>"
    )
    assert batteries_from_battery_report(xml) == []


def windows_runner(report: str | None, code: int = 0, message: str = "") -> FakeRunner:
    """powercfg that writes `report` (a fixture name) where /output says, or writes nothing."""

    def powercfg(argv: list[str]) -> tuple[int, str, str]:
        if report is not None:
            Path(argv[argv.index("/output") + 1]).write_bytes((DATA / report).read_bytes())
        return code, message, ""

    return FakeRunner({"powercfg.exe": powercfg})


def test_the_windows_probe_asks_powercfg_for_an_xml_report_in_a_temporary_folder() -> None:
    run = windows_runner("powercfg_batteryreport_latitude3340.xml")
    found, errors = probe_batteries(run, system="Windows")
    [(argv, timeout)] = run.calls
    assert argv[0].lower().endswith(r"\system32\powercfg.exe")
    assert argv[1:4] == ["/batteryreport", "/xml", "/output"]
    output = Path(argv[4])
    assert output.name == "battery-report.xml" and not output.parent.exists()  # cleaned up
    assert timeout == batteries.DEFAULT_TIMEOUT
    assert [b.cycle_count for b in found] == [402]
    assert errors == []


def test_the_battery_report_command_is_exactly_this() -> None:
    assert battery_report_argv(Path("C:/Temp/r.xml"), "powercfg.exe") == [
        "powercfg.exe",
        "/batteryreport",
        "/xml",
        "/output",
        str(Path("C:/Temp/r.xml")),
    ]


def test_powercfg_writing_no_report_is_one_line_with_its_message() -> None:
    # powercfg's answer on a machine without battery driver (its exact text varies by version).
    run = windows_runner(None, code=1, message="Unable to perform operation.")
    assert probe_batteries(run, system="Windows") == (
        [],
        ["battery: not readable (powercfg wrote no report: Unable to perform operation.)"],
    )


def test_a_missing_or_hung_powercfg_is_one_line_and_nothing_raises() -> None:
    assert probe_batteries(FakeRunner(), system="Windows") == (
        [],
        ["battery: not readable (powercfg is not installed)"],
    )
    hung = FakeRunner({"powercfg.exe": subprocess.TimeoutExpired("powercfg.exe", 10)})
    assert probe_batteries(hung, system="Windows") == (
        [],
        ["battery: not readable (powercfg did not answer in 10 s)"],
    )


def test_a_report_that_is_not_xml_is_one_line() -> None:
    def broken(argv: list[str]) -> tuple[int, str, str]:
        Path(argv[-1]).write_text("<BatteryReport", encoding="utf-8")
        return 0, "", ""

    found, errors = probe_batteries(FakeRunner({"powercfg.exe": broken}), system="Windows")
    assert found == []
    assert errors[0].startswith("battery: not readable (powercfg's report is not XML:")


# --------------------------------------------------------------------------------------------
# macOS: system_profiler SPPowerDataType -json
# --------------------------------------------------------------------------------------------


def power_data(maximum_capacity: object = "87%", cycles: object = 312) -> dict[str, object]:
    """The part of `system_profiler SPPowerDataType -json` auditor reads (see the fixtures'
    README): one battery item and the AC charger item that follows it on a MacBook."""
    return {
        "SPPowerDataType": [
            {
                "_name": "spbattery_information",
                "sppower_battery_health_info": {
                    "sppower_battery_cycle_count": cycles,
                    "sppower_battery_health": "Good",
                    "sppower_battery_health_maximum_capacity": maximum_capacity,
                },
                "sppower_battery_model_info": {"sppower_battery_device_name": "bq40z651"},
            },
            {
                "_name": "sppower_ac_charger_information",
                "sppower_battery_charger_connected": "TRUE",
            },
        ]
    }


@pytest.mark.parametrize(
    ("written", "percent"), [("87%", 87.0), ("100\u00a0%", 100.0), ("83 %", 83.0), ("", None)]
)
def test_macos_writes_the_maximum_capacity_as_a_percentage_in_several_ways(
    written: str, percent: float | None
) -> None:
    [health] = macos_battery_health(power_data(written))
    assert health == MacBatteryHealth("bq40z651", 312, percent)


def test_a_mac_battery_keeps_its_cycles_and_says_its_health_only_as_a_percentage() -> None:
    found, errors = batteries_from_macos(power_data("87%", 312))
    assert found == [BatteryFacts("bq40z651", None, None, 312)]
    assert found[0].health_percent is None
    assert errors == [
        "battery bq40z651: capacity in watt-hours not readable "
        "(macOS gives only its maximum capacity, 87% of design)"
    ]


def test_a_desktop_mac_has_no_battery_and_nothing_to_say() -> None:
    data = {"SPPowerDataType": [{"_name": "sppower_ac_charger_information"}]}
    assert batteries_from_macos(data) == ([], [])


def test_the_macos_probe_runs_system_profiler_for_power_data() -> None:
    run = FakeRunner({"system_profiler": (0, json.dumps(power_data()), "")})
    found, _errors = probe_batteries(run, system="Darwin")
    assert run.calls == [(["/usr/sbin/system_profiler", "SPPowerDataType", "-json"], 10.0)]
    assert [b.cycle_count for b in found] == [312]


def test_system_profiler_missing_or_answering_garbage_is_one_line() -> None:
    assert probe_batteries(FakeRunner(), system="Darwin") == (
        [],
        ["battery: not readable (system_profiler is not installed)"],
    )
    garbage = FakeRunner({"system_profiler": (1, "", "system_profiler: crashed")})
    assert probe_batteries(garbage, system="Darwin") == (
        [],
        ["battery: not readable (system_profiler: system_profiler: crashed)"],
    )


# --------------------------------------------------------------------------------------------
# This machine
# --------------------------------------------------------------------------------------------


def test_probing_this_machine_gives_typed_batteries_and_never_raises() -> None:
    found, errors = probe_batteries()
    assert isinstance(found, list) and isinstance(errors, list)
    for battery in found:
        assert isinstance(battery, BatteryFacts)
        assert battery.design_capacity_wh is None or battery.design_capacity_wh > 0
        assert battery.full_capacity_wh is None or battery.full_capacity_wh >= 0
        assert battery.cycle_count is None or battery.cycle_count > 0
    assert all(isinstance(line, str) and line for line in errors)


# --------------------------------------------------------------------------------------------
# Probe failures are lines in both languages
# --------------------------------------------------------------------------------------------


def test_linux_batteries_without_capacity(tmp_path: Path) -> None:
    supplies = tmp_path / "class" / "power_supply"
    write(supplies / "BAT0" / "type", "Battery\n")
    write(supplies / "BAT1" / "type", "Battery\n")
    write(supplies / "BAT1" / "charge_full", "4000000\n")
    batteries, errors = linux_batteries(tmp_path)
    assert [battery.name for battery in batteries] == ["BAT0", "BAT1"]
    assert_probe_lines(
        errors,
        [
            "battery BAT0: capacity not readable (no energy_full or charge_full in sysfs)",
            "battery BAT1: capacity in watt-hours not readable "
            "(charge given in µAh without voltage_min_design)",
        ],
    )
    assert errors[0].localized("fr") == (
        "batterie BAT0 : capacité illisible (ni energy_full ni charge_full dans sysfs)"
    )


def test_battery_programs_missing_slow_or_silent() -> None:
    _none, missing = probe_batteries(runner(), system="Windows")
    _none, late = probe_batteries(
        runner({"system_profiler": subprocess.TimeoutExpired("system_profiler", 10)}),
        system="Darwin",
    )
    _none, silent = probe_batteries(runner({"system_profiler": (1, "", "")}), system="Darwin")
    _none, other = probe_batteries(runner(), system="Plan9")
    assert_probe_lines(
        [*missing, *late, *silent, *other],
        [
            "battery: not readable (powercfg is not installed)",
            "battery: not readable (system_profiler did not answer in 10 s)",
            "battery: not readable (system_profiler: exit code 1)",
            "battery: not readable (no probe for Plan9)",
        ],
    )


def test_a_mac_battery_gives_only_a_percentage() -> None:
    health = {
        "sppower_battery_cycle_count": 312,
        "sppower_battery_health_maximum_capacity": "87%",
    }
    data = {
        "SPPowerDataType": [
            {
                "sppower_battery_health_info": health,
                "sppower_battery_model_info": {"sppower_battery_device_name": "bq40z651"},
            }
        ]
    }
    _batteries, errors = batteries_from_macos(data)
    assert_probe_lines(
        errors,
        [
            "battery bq40z651: capacity in watt-hours not readable (macOS gives only its "
            "maximum capacity, 87% of design)",
        ],
    )
    assert "87 % de la capacité d'origine" in errors[0].localized("fr")

"""The machine probes' lines exist in English and French.

Each line a probe gives (HostFacts.errors, HardwareFacts.errors, battery and antivirus notes,
`auditor update-data`'s lines and OSDataError) is a `Problem`: its `str` is the English line
as it always was (tests, logs and the README quote it), `localized("fr")` a whole French line.
The failures are made without root: fake /sys trees in tmp dirs, stand-in programs, patched
psutil and urllib.
"""

from __future__ import annotations

import os
import string
import subprocess
import urllib.error
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from auditor.collect.host.antivirus import probe_antivirus
from auditor.collect.host.batteries import batteries_from_macos, linux_batteries, probe_batteries
from auditor.collect.host.hardware import (
    ADMIN_NEEDED,
    hardware_from_windows,
    parse_smart_device,
    parse_smart_scan,
    probe_hardware,
)
from auditor.collect.host.system import collect_host
from auditor.errors import Problem, SourceError
from auditor.i18n import catalog
from auditor.impact import os_eol
from auditor.impact.os_eol import (
    OSDataError,
    convert_api_cycles,
    embedded_table,
    save_table,
    update_data,
    validate_table,
)

NOW = datetime(2025, 7, 20, 12, 0, tzinfo=UTC)
URL = "https://endoflife.date/api/debian.json"

Outcome = tuple[int, str, str] | BaseException


def runner(answers: dict[str, Outcome] | None = None) -> Callable[[list[str], float], tuple]:
    """A stand-in for the OS's programs: the answer of the first key found in the command line,
    FileNotFoundError (not installed) for any other command."""

    def run(argv: list[str], _timeout: float) -> tuple[int, str, str]:
        line = " ".join(argv)
        for key, outcome in (answers or {}).items():
            if key in line:
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    return run


def assert_bilingual(lines: list[str], english: list[str]) -> None:
    """Each line is a Problem, its English is `english`, its French whole and different."""
    assert lines == english
    for line in lines:
        assert isinstance(line, Problem), repr(line)
        assert line.localized("en") == str(line)
        french = line.localized("fr")
        assert french != str(line)
        assert "{" not in french and "}" not in french and "\n" not in french
        assert line.key.startswith("probe.")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# system.py: collect_host()
# --------------------------------------------------------------------------------------------


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom\nsecond line")


def test_host_probe_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "sensors_battery", _boom)
    monkeypatch.setattr(psutil, "virtual_memory", _boom)
    facts = collect_host()
    assert_bilingual(
        [line for line in facts.errors if line.startswith(("memory", "battery"))],
        [
            "memory: not readable (RuntimeError: boom second line)",
            "battery: not readable (RuntimeError: boom second line)",
        ],
    )
    memory = next(line for line in facts.errors if line.startswith("memory"))
    assert memory.localized("fr") == "mémoire vive : illisible (RuntimeError: boom second line)"


def test_host_without_a_battery_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(psutil, "sensors_battery")
    facts = collect_host()
    assert_bilingual(
        [line for line in facts.errors if line.startswith("battery")],
        ["battery: not readable (psutil has no battery probe on this platform)"],
    )


def test_a_refused_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: str) -> None:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(psutil, "disk_usage", denied)
    facts = collect_host()
    root = "/" if os.name == "posix" else os.environ.get("SystemDrive", "C:") + "\\"
    detail = f"PermissionError: [Errno 13] Permission denied: {root!r}"
    lines = [line for line in facts.errors if line.startswith(f"disk {root}:")]
    assert_bilingual(lines, [f"disk {root}: not readable ({detail})"])
    assert lines[0].localized("fr") == f"disque {root} : illisible ({detail})"


# --------------------------------------------------------------------------------------------
# hardware.py
# --------------------------------------------------------------------------------------------


def test_linux_without_dmi_firmware_or_smartctl(tmp_path: Path) -> None:
    facts = probe_hardware(runner(), tmp_path, system="Linux", cpu_model="", smartctl="smartctl")
    assert_bilingual(
        facts.errors,
        [
            f"model and firmware: not readable (no DMI table in {tmp_path / 'class/dmi/id'}; "
            "some virtual machines have none)",
            f"uefi: not readable ({tmp_path / 'firmware'} is missing)",
            "SMART: not readable (smartctl is not installed)",
        ],
    )


def test_linux_without_efivarfs_and_a_tpm_of_unknown_version(tmp_path: Path) -> None:
    write(tmp_path / "class/dmi/id/sys_vendor", "LENOVO\n")
    (tmp_path / "firmware/efi").mkdir(parents=True)  # UEFI, but efivarfs not mounted
    (tmp_path / "class/tpm/tpm0").mkdir(parents=True)  # a TPM that says no version
    facts = probe_hardware(runner(), tmp_path, system="Linux", cpu_model="", smartctl="smartctl")
    assert_bilingual(
        facts.errors[:2],
        [
            "secure boot: not readable (efivarfs is not mounted)",
            "tpm: a TPM is present but its version is not readable",
        ],
    )


def test_windows_hardware_probe_failures() -> None:
    missing = probe_hardware(runner(), system="Windows", cpu_model="", smartctl="smartctl")
    late = probe_hardware(
        runner({"powershell": subprocess.TimeoutExpired("powershell.exe", 20)}),
        system="Windows",
        cpu_model="",
        smartctl="smartctl",
    )
    silent = probe_hardware(
        runner({"powershell": (1, "", "")}), system="Windows", cpu_model="", smartctl="smartctl"
    )
    other = probe_hardware(runner(), system="Plan9", cpu_model="", smartctl="smartctl")
    assert_bilingual(
        [missing.errors[0], late.errors[0], silent.errors[0], other.errors[0]],
        [
            "model and firmware: not readable (powershell.exe is not installed)",
            "model and firmware: not readable (powershell.exe did not answer in 20 s)",
            "model and firmware: not readable (PowerShell: exit code 1)",
            "model and firmware: not readable (no probe for Plan9)",
        ],
    )


def test_windows_parts_refused_or_missing() -> None:
    refused = {"Error": "Access denied", "Kind": "UnauthorizedAccessException", "Code": ""}
    broken = {"Error": "Invalid class \n Win32_Tpm", "Kind": "CimException", "Code": "5"}
    facts = hardware_from_windows({"FirmwareType": "UEFI", "SecureBoot": refused, "Tpm": broken})
    assert_bilingual(
        facts.errors,
        [
            "bios: not readable (PowerShell gave no answer)",
            "model: not readable (PowerShell gave no answer)",
            "model version: not readable (PowerShell gave no answer)",
            "chassis: not readable (PowerShell gave no answer)",
            "secure boot: not readable without administrator rights",
            "tpm: not readable (Invalid class Win32_Tpm)",
        ],
    )


def test_smart_lines_name_the_disk_first() -> None:
    _devices, scan = parse_smart_scan(
        '{"devices": [{"name": "/dev/sdz", "open_error": "No such device"}]}'
    )
    _devices, garbled = parse_smart_scan("not json")
    _devices, empty = parse_smart_scan('{"devices": []}')
    _fact, silent = parse_smart_device("", "/dev/sda")
    _fact, closed = parse_smart_device('{"smartctl": {"exit_status": 2}}', "/dev/sda")
    assert_bilingual(
        [*scan, *garbled, *empty, silent, closed, ADMIN_NEEDED],
        [
            "SMART /dev/sdz: not readable (No such device)",
            "SMART: not readable (smartctl gave no JSON (not json))",
            "SMART: smartctl listed no disk",
            "SMART /dev/sda: not readable (smartctl gave no output)",
            "SMART /dev/sda: not readable (smartctl could not open the disk)",
            "SMART: smartctl needs administrator rights",
        ],
    )
    assert silent is not None
    assert silent.localized("fr") == "SMART /dev/sda : illisible (smartctl n'a rien répondu)"


def test_a_line_of_one_machine_is_named_after_it_in_both_languages() -> None:
    line = ADMIN_NEEDED.under("pc-accueil")
    assert str(line) == "pc-accueil: SMART: smartctl needs administrator rights"
    assert line.localized("fr") == (
        "pc-accueil : SMART : smartctl a besoin des droits d'administrateur"
    )


# --------------------------------------------------------------------------------------------
# batteries.py
# --------------------------------------------------------------------------------------------


def test_linux_batteries_without_capacity(tmp_path: Path) -> None:
    supplies = tmp_path / "class" / "power_supply"
    write(supplies / "BAT0" / "type", "Battery\n")
    write(supplies / "BAT1" / "type", "Battery\n")
    write(supplies / "BAT1" / "charge_full", "4000000\n")
    batteries, errors = linux_batteries(tmp_path)
    assert [battery.name for battery in batteries] == ["BAT0", "BAT1"]
    assert_bilingual(
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
    assert_bilingual(
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
    assert_bilingual(
        errors,
        [
            "battery bq40z651: capacity in watt-hours not readable (macOS gives only its "
            "maximum capacity, 87% of design)",
        ],
    )
    assert "87 % de la capacité d'origine" in errors[0].localized("fr")


# --------------------------------------------------------------------------------------------
# antivirus.py
# --------------------------------------------------------------------------------------------


def test_a_damaged_clamav_database(tmp_path: Path) -> None:
    (tmp_path / "daily.cld").write_bytes(b"not a ClamAV header")
    _products, notes = probe_antivirus(
        NOW, runner(), system="Linux", clamav_dirs=[tmp_path], process_names=[]
    )
    database = tmp_path / "daily.cld"
    assert_bilingual(
        notes, [f"antivirus: ClamAV database {database} not readable (no ClamAV-VDB header)"]
    )


def test_windows_antivirus_commands_missing_slow_or_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SystemRoot", r"C:\Windows")
    kwargs = {"system": "Windows", "clamav_dirs": [tmp_path], "process_names": []}
    _none, missing = probe_antivirus(NOW, runner(), **kwargs)
    slow = runner({"powershell": subprocess.TimeoutExpired("powershell.exe", 10)})
    _none, late = probe_antivirus(NOW, slow, **kwargs)
    _none, failing = probe_antivirus(NOW, runner({"powershell": (1, "", "")}), **kwargs)
    assert_bilingual(
        [*missing, *late, *failing],
        [
            "antivirus: PowerShell not found",
            "antivirus: SecurityCenter2 timed out after 10 s",
            "antivirus: Defender's status timed out after 10 s",
            "antivirus: SecurityCenter2 not readable (exit 1: no output)",
            "antivirus: Defender's status not readable (exit 1: no output)",
        ],
    )


def test_a_mac_where_xprotect_cannot_be_read(tmp_path: Path) -> None:
    failing = runner({"system_profiler": (1, "", "crashed\nagain"), "defaults": (1, "", "")})
    _none, notes = probe_antivirus(
        NOW, failing, system="Darwin", clamav_dirs=[tmp_path], process_names=[]
    )
    assert_bilingual(
        notes,
        [
            "antivirus: XProtect install history not readable (exit 1: crashed)",
            "antivirus: XProtect version not readable (exit 1: no output)",
        ],
    )


def test_processes_that_cannot_be_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError("hidepid=2")

    monkeypatch.setattr(psutil, "process_iter", refuse)
    _none, notes = probe_antivirus(NOW, runner(), system="Linux", clamav_dirs=[tmp_path])
    assert_bilingual(
        notes, ["antivirus: running processes not readable (PermissionError: hidepid=2)"]
    )


# --------------------------------------------------------------------------------------------
# impact/os_eol.py: OSDataError and `auditor update-data`
# --------------------------------------------------------------------------------------------


def _raised(call: Callable[[], object]) -> OSDataError:
    with pytest.raises(OSDataError) as caught:
        call()
    return caught.value


def assert_bilingual_errors(calls: list[Callable[[], object]], english: list[str]) -> None:
    errors = [_raised(call) for call in calls]
    for error in errors:
        assert isinstance(error, SourceError) and error.exit_code == 3
        assert str(error) == str(error.problem)
        assert error.localized("fr") == error.problem.localized("fr")
    assert_bilingual([error.problem for error in errors], english)


def test_invalid_tables() -> None:
    no_eol = {"fetched": "2026-01-01", "products": {"x": {"cycles": [{"cycle": "1"}]}}}
    assert_bilingual_errors(
        [
            lambda: validate_table({}),
            lambda: validate_table([], "/data/os_eol.json"),
            lambda: validate_table({"fetched": "2026-01-01", "products": {"x": {}}}, "t.json"),
            lambda: validate_table(no_eol, "t.json"),
        ],
        [
            "refreshed table: no valid 'fetched' date",
            "/data/os_eol.json: not a JSON object",
            "t.json: product 'x' has no cycles",
            "t.json: x 1 has no valid 'eol' (date, true or false)",
        ],
    )


def test_unexpected_api_answers() -> None:
    assert_bilingual_errors(
        [
            lambda: convert_api_cycles({}, URL),
            lambda: convert_api_cycles([{"cycle": ""}], URL),
            lambda: convert_api_cycles([], URL),
        ],
        [
            f"{URL}: unexpected answer (a list of release cycles was expected)",
            f"{URL}: unexpected answer (a release cycle without a name)",
            f"{URL}: no release cycle with an end-of-support date",
        ],
    )


def test_the_api_cannot_be_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(error: BaseException) -> Callable[[], object]:
        def fetch() -> object:
            def urlopen(*_args: object, **_kwargs: object) -> None:
                raise error

            monkeypatch.setattr(os_eol.urllib.request, "urlopen", urlopen)
            return os_eol._fetch_json(URL, 5)

        return fetch

    assert_bilingual_errors(
        [
            answer(urllib.error.HTTPError(URL, 404, "Not  Found", {}, None)),  # type: ignore[arg-type]
            answer(urllib.error.URLError("Name or service not known")),
            answer(TimeoutError()),
        ],
        [
            f"{URL}: HTTP error 404 Not Found",
            f"{URL}: cannot connect (Name or service not known)",
            f"{URL}: no answer within 5 s",
        ],
    )


def test_the_table_cannot_be_saved(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way", "utf-8")
    path = tmp_path / "file" / "os_eol.json"
    error = _raised(lambda: save_table(embedded_table(), path))
    assert str(error).startswith(f"{path}: cannot save the OS support table (")
    assert_bilingual([error.problem], [str(error)])
    assert error.localized("fr").startswith(f"{path} : impossible d'enregistrer la table")


def test_update_data_says_what_it_refreshed_in_both_languages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os_eol, "refresh_table", lambda *_args: embedded_table())
    line = update_data(tmp_path / "os_eol.json", products=("windows", "debian"))
    path = tmp_path / "os_eol.json"
    assert_bilingual([line], [f"OS support dates refreshed for windows, debian: {path}"])
    assert line.localized("fr") == (
        f"Dates de fin de maintenance des systèmes mises à jour pour windows, debian : {path}"
    )


# --------------------------------------------------------------------------------------------
# The catalog itself
# --------------------------------------------------------------------------------------------

_NUMBERS = {"seconds": 20.0, "percent": 87.0, "code": 1, "limit": 4194304}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_probe_line_formats(lang: str) -> None:
    """Every line of the probe catalog fills with the kind of values the probes give it (the
    `{seconds:g}` ones get numbers), and French follows French typography."""
    lines = {key: text for key, text in catalog(lang).items() if key.startswith("probe.")}
    assert len(lines) > 100
    for key, text in lines.items():
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field}
        filled = text.format(**{name: _NUMBERS.get(name, "x") for name in names})
        assert "{" not in filled and "\n" not in filled, key
        if lang == "fr":
            assert ": " not in filled.replace(" : ", "").replace("Error: ", ""), key

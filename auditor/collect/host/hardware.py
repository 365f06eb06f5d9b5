"""How old is this machine and what limits it: model, chassis, firmware, TPM, Secure Boot, SMART.

`probe_hardware()` only describes; rules judge later (Windows 11 readiness, "replace this
machine", "back up this failing disk"). As in `system.py`, nothing escapes a probe: whatever
could not be seen becomes one line in `HardwareFacts.errors` (a `Problem` from the "probe"
catalog, in English and French) and the other probes run.

Where each fact comes from:

- Linux: the DMI table the kernel exposes in /sys/class/dmi/id (world-readable, no root needed
  except for serial numbers, which are not read), /sys/firmware/efi for UEFI and Secure Boot,
  /sys/class/tpm for the TPM. No subprocess, except smartctl.
- Windows: one `powershell.exe` run reading Win32_BIOS, Win32_ComputerSystem,
  Win32_ComputerSystemProduct, Win32_SystemEnclosure, Confirm-SecureBootUEFI and Win32_Tpm, each
  in its own try/catch so that the two which need administrator rights (Secure Boot and TPM)
  fail alone. One process instead of six saves seconds of PowerShell start-up on old machines.
- macOS: `system_profiler SPHardwareDataType -json`. Macs have no BIOS date; their age comes
  from the model identifier (`mac_model_year`) or the chip.
- SMART, everywhere: `smartctl --scan-open --json`, then `smartctl --json -H -A` per disk, when
  smartmontools is installed. It usually needs administrator rights; that is said, once.

The parsing lives in pure functions (`chassis_from_smbios`, `bios_date_to_iso`,
`hardware_from_dmi`, `hardware_from_windows`, `hardware_from_macos`, `parse_smart_scan`,
`parse_smart_device`, `estimated_age_years`...) that tests feed with outputs captured from real
machines (tests/data/host/hardware/). Commands go through a `Runner` so tests can stand in for
the programs, their absence and their time-outs.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.collect.host.commands import (
    Runner,
    exception_detail,
    output_detail,
    powershell_exe,
    run_command,
)
from auditor.collect.host.cpu_years import cpu_launch_year
from auditor.collect.host.records import HardwareFacts, SmartFacts
from auditor.errors import Problem

DEFAULT_TIMEOUT = 10.0
SMARTCTL_TIMEOUT = 20.0  # a sleeping disk may take seconds to spin up and answer
# The Windows script does six queries in one process; PowerShell alone can take 3-5 s to start
# on a 2015 laptop with a spinning disk.
POWERSHELL_TIMEOUT = 20.0

SYS_ROOT = Path("/sys")
DMI_DIR = Path("class/dmi/id")
EFI_DIR = Path("firmware/efi")
# EFI_GLOBAL_VARIABLE GUID (UEFI specification, section 3.3 "Globally Defined Variables").
SECURE_BOOT_VAR = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

SYSTEM_PROFILER = "/usr/sbin/system_profiler"


# --------------------------------------------------------------------------------------------
# Small parsers shared by the three systems
# --------------------------------------------------------------------------------------------

# SMBIOS "System Enclosure or Chassis Types": DMTF DSP0134 (SMBIOS Reference Specification)
# 3.x, section 7.4.1, the table of chassis type values. Windows' Win32_SystemEnclosure
# ChassisTypes uses the same numbers.
# https://www.dmtf.org/standards/smbios
_LAPTOP_CHASSIS = frozenset(
    {
        8,  # Portable
        9,  # Laptop
        10,  # Notebook
        14,  # Sub Notebook
        30,  # Tablet
        31,  # Convertible
        32,  # Detachable
    }
)
_DESKTOP_CHASSIS = frozenset(
    {
        3,  # Desktop
        4,  # Low Profile Desktop
        5,  # Pizza Box
        6,  # Mini Tower
        7,  # Tower
        13,  # All in One
        15,  # Space-saving
        16,  # Lunch Box
        35,  # Mini PC
        36,  # Stick PC
    }
)
_SERVER_CHASSIS = frozenset(
    {
        17,  # Main Server Chassis
        23,  # Rack Mount Chassis
        28,  # Blade
        29,  # Blade Enclosure
    }
)
_UNKNOWN_CHASSIS = 2  # "Unknown": the firmware says it does not know


def chassis_from_smbios(code: int | str | None) -> str | None:
    """ "laptop", "desktop", "server" or "other" for an SMBIOS chassis type number.

    None when there is no number or the firmware says "Unknown" (2). The high bit of the byte
    is the "chassis lock present" flag (DSP0134 7.4.1) and is ignored.
    """
    if code is None:
        return None
    try:
        number = int(str(code).strip()) & 0x7F
    except ValueError:
        return None
    if number == _UNKNOWN_CHASSIS or number == 0:
        return None
    if number in _LAPTOP_CHASSIS:
        return "laptop"
    if number in _DESKTOP_CHASSIS:
        return "desktop"
    if number in _SERVER_CHASSIS:
        return "server"
    return "other"


_SMBIOS_DATE = re.compile(r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{2}|\d{4})$")


def bios_date_to_iso(text: str | None) -> str | None:
    """ "2019-03-15" from an SMBIOS BIOS release date, "03/15/2019"; None if it is not one.

    DSP0134 (section 7.1, BIOS Information) gives the date as mm/dd/yyyy, or mm/dd/yy on old
    firmware, where a two-digit year "is assumed to be 19yy".
    """
    if not text:
        return None
    match = _SMBIOS_DATE.match(text.strip())
    if not match:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:
        year += 1900
    try:
        return date(year, int(match["month"]), int(match["day"])).isoformat()
    except ValueError:
        return None


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
_JSON_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?:[+-]\d{4})?\)/$")
_CIM_DATETIME = re.compile(r"^(\d{4})(\d{2})(\d{2})\d{6}\.\d{6}[+-]\d{3}$")


def windows_date_to_iso(value: Any) -> str | None:
    """ISO date from the ways a Windows date reaches us through PowerShell and WMI.

    - "2019-03-15" (what auditor's own script writes) or an ISO date-time (PowerShell 7);
    - "/Date(1552608000000)/": Windows PowerShell 5.1's ConvertTo-Json form, milliseconds since
      1970 in UTC. A BIOS date is midnight local time, so it is rounded to the nearest day,
      which gives the right date for every time zone between UTC-11 and UTC+11;
    - "20190315000000.000000+000": the CIM_DATETIME string WMI itself uses;
    - a {"value": ..., "DateTime": ...} object, ConvertTo-Json's form for a date it decorated.
    """
    if isinstance(value, Mapping):
        value = value.get("value")
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if match := _ISO_DATE.match(text):
            return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        if match := _JSON_DATE.match(text):
            moment = datetime.fromtimestamp(int(match["ms"]) / 1000, tz=UTC)
            return (moment + timedelta(hours=12)).date().isoformat()
        if match := _CIM_DATETIME.match(text):
            return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except (ValueError, OverflowError, OSError):
        return None
    return None


# Strings firmware makers leave in DMI fields they did not fill in.
_PLACEHOLDERS = frozenset(
    {
        "",
        "0",
        "0123456789",
        "default string",
        "invalid",
        "n/a",
        "none",
        "not applicable",
        "not available",
        "not specified",
        "o.e.m.",
        "oem",
        "system manufacturer",
        "system product name",
        "system version",
        "to be filled by o.e.m.",
        "type1productconfigid",
        "unknown",
        "unknown product",
        "x.x",
    }
)


def clean_dmi_text(value: Any) -> str | None:
    """The value with surrounding spaces removed, or None for empty and placeholder strings."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if text.casefold() in _PLACEHOLDERS:
        return None
    return text


def _model_name(vendor: str | None, product: str | None, version: str | None) -> str | None:
    """Model shown to people. Lenovo puts the machine type in the product name ("20L5CTO1WW",
    "29123AG") and the name people know in the version ("ThinkPad T480"): both are kept."""
    if vendor and vendor.casefold() == "lenovo" and version:
        return f"{version} ({product})" if product and product != version else version
    return product


# --------------------------------------------------------------------------------------------
# Linux: /sys
# --------------------------------------------------------------------------------------------

_DMI_FIELDS = (
    "sys_vendor",
    "product_name",
    "product_version",
    "chassis_type",
    "bios_vendor",
    "bios_version",
    "bios_date",
)


def read_dmi(sys_root: Path) -> dict[str, str] | None:
    """The DMI fields auditor uses, read from `sys_root`/class/dmi/id; None without a DMI table.

    Unreadable or missing single files are left out: the caller only gets fewer facts.
    """
    folder = sys_root / DMI_DIR
    if not folder.is_dir():
        return None
    fields: dict[str, str] = {}
    for name in _DMI_FIELDS:
        try:
            fields[name] = (folder / name).read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
    return fields


def hardware_from_dmi(fields: Mapping[str, str]) -> HardwareFacts:
    """Model, chassis and BIOS from DMI fields (the names of the files in /sys/class/dmi/id)."""
    vendor = clean_dmi_text(fields.get("sys_vendor"))
    model = _model_name(
        vendor,
        clean_dmi_text(fields.get("product_name")),
        clean_dmi_text(fields.get("product_version")),
    )
    return HardwareFacts(
        vendor=vendor,
        model=model,
        chassis=chassis_from_smbios(fields.get("chassis_type")),
        bios_vendor=clean_dmi_text(fields.get("bios_vendor")),
        bios_version=clean_dmi_text(fields.get("bios_version")),
        bios_date=bios_date_to_iso(fields.get("bios_date")),
    )


def secure_boot_from_efivar(data: bytes) -> bool | None:
    """Secure Boot state from the content of the SecureBoot EFI variable file in efivarfs.

    efivarfs puts the variable's 4-byte attributes first; the value is the 5th byte, 1 when
    Secure Boot is on and 0 when it is off (UEFI specification 3.3, "SecureBoot").
    """
    if len(data) < 5:
        return None
    return {0: False, 1: True}.get(data[4])


def tpm_version_from_sys(sys_root: Path) -> tuple[str | None, bool]:
    """(TPM version, whether a TPM device exists) from `sys_root`/class/tpm.

    tpm_version_major (kernel 5.6 and later) says "2" or "1"; TPM 1.2 chips also have a `caps`
    file with "TCG version: 1.2"; only TPM 2.0 chips get a resource manager, class/tpmrm.
    """
    devices = sorted((sys_root / "class" / "tpm").glob("tpm*"))
    if not devices:
        return None, False
    tpm = devices[0]
    try:
        major = (tpm / "tpm_version_major").read_text(encoding="ascii").strip()
    except OSError:
        major = ""
    if major == "2":
        return "2.0", True
    if major == "1":
        return "1.2", True
    for caps in (tpm / "caps", tpm / "device" / "caps"):
        try:
            text = caps.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        match = re.search(r"TCG version:\s*(\d+\.\d+)", text)
        if match:
            return match[1], True
    if (sys_root / "class" / "tpmrm" / tpm.name.replace("tpm", "tpmrm", 1)).exists():
        return "2.0", True
    return None, True


def _linux_firmware(sys_root: Path, hardware: HardwareFacts, errors: list[str]) -> None:
    if (sys_root / EFI_DIR).is_dir():
        hardware.uefi = True
        efivars = sys_root / EFI_DIR / "efivars"
        variable = efivars / SECURE_BOOT_VAR
        if variable.exists():
            try:
                hardware.secure_boot = secure_boot_from_efivar(variable.read_bytes())
            except OSError as exc:
                errors.append(_failure("probe.hardware.secure_boot.error", exc))
        elif efivars.is_dir() and any(efivars.iterdir()):
            hardware.secure_boot = False  # UEFI without the variable: firmware without it
        else:
            errors.append(Problem("probe.hardware.secure_boot.no_efivarfs"))
    elif (sys_root / "firmware").is_dir():
        hardware.uefi = False
        hardware.secure_boot = False  # Secure Boot is a UEFI feature
    else:
        errors.append(Problem("probe.hardware.uefi_missing", path=sys_root / "firmware"))

    version, present = tpm_version_from_sys(sys_root)
    hardware.tpm_version = version
    if present and version is None:
        errors.append(Problem("probe.hardware.tpm.no_version"))


def _linux_hardware(sys_root: Path, errors: list[str]) -> HardwareFacts:
    fields = read_dmi(sys_root)
    if fields is None:
        errors.append(Problem("probe.hardware.firmware.no_dmi", path=sys_root / DMI_DIR))
        hardware = HardwareFacts()
    else:
        hardware = hardware_from_dmi(fields)
    _linux_firmware(sys_root, hardware, errors)
    return hardware


# --------------------------------------------------------------------------------------------
# Windows: one PowerShell script
# --------------------------------------------------------------------------------------------

# One line, single quotes only: `subprocess` quotes the argument for CreateProcess and Windows
# PowerShell 5.1 mangles embedded double quotes. Each query is wrapped by Get-Part, which keeps
# the exception's type and CIM error code so that "needs administrator rights" can be told apart
# from a missing feature whatever the language of Windows. Dates are written as yyyy-MM-dd
# (invariant culture): ConvertTo-Json's "/Date(ms)/" is in UTC and would move a BIOS date made
# at local midnight to the day before east of Greenwich.
_WINDOWS_PARTS = (
    (
        "Bios",
        "Get-CimInstance Win32_BIOS | Select-Object Manufacturer, SMBIOSBIOSVersion, "
        "@{ n = 'ReleaseDate'; e = { if ($_.ReleaseDate) { $_.ReleaseDate.ToString("
        "'yyyy-MM-dd', [Globalization.CultureInfo]::InvariantCulture) } } }",
    ),
    ("ComputerSystem", "Get-CimInstance Win32_ComputerSystem | Select-Object Manufacturer, Model"),
    (
        "Product",
        "Get-CimInstance Win32_ComputerSystemProduct | Select-Object Vendor, Name, Version",
    ),
    ("Enclosure", "Get-CimInstance Win32_SystemEnclosure | Select-Object ChassisTypes"),
    ("SecureBoot", "Confirm-SecureBootUEFI"),
    (
        "Tpm",
        "Get-CimInstance -Namespace root/cimv2/Security/MicrosoftTpm -ClassName Win32_Tpm "
        "| Select-Object SpecVersion, IsEnabled_InitialValue, IsActivated_InitialValue",
    ),
)
WINDOWS_SCRIPT = "; ".join(
    [
        "[Console]::OutputEncoding = [Text.Encoding]::UTF8",
        "$ErrorActionPreference = 'Stop'",
        "function Get-Part([scriptblock]$Read) { try { @{ Value = (& $Read) } } catch "
        "{ $e = $_.Exception; @{ Error = $e.Message; Kind = $e.GetType().Name; "
        "Code = [string]$e.NativeErrorCode } } }",
        "$out = [ordered]@{ FirmwareType = $env:firmware_type }",
        *(f"$out.{name} = Get-Part {{ {query} }}" for name, query in _WINDOWS_PARTS),
        "$out | ConvertTo-Json -Depth 5 -Compress",
    ]
)


def windows_hardware_argv(powershell: str = "powershell.exe") -> list[str]:
    return [powershell, "-NoProfile", "-NonInteractive", "-Command", WINDOWS_SCRIPT]


def _first(value: Any) -> Mapping[str, Any]:
    """The first instance: ConvertTo-Json writes one object for one instance and a list for
    several. {} when there is none or it is not an object."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else {}


def _needs_admin(error: Mapping[str, Any]) -> bool:
    kind = str(error.get("Kind") or "")
    code = str(error.get("Code") or "")
    message = str(error.get("Error") or "").casefold()
    return (
        kind == "UnauthorizedAccessException"
        or code == "AccessDenied"
        or "0x80041003" in message  # WBEM_E_ACCESS_DENIED
        or ("access" in message and "denied" in message)
    )


def _part(data: Mapping[str, Any], name: str, errors: list[str], what: str) -> Any:
    """The value a Get-Part block returned, or None with a line in `errors`.

    `what` names the lines in the catalog: "probe.hardware.<what>.no_answer", ".admin" and
    ".error" ("bios", "model", "model_version", "chassis", "secure_boot", "tpm")."""
    part = data.get(name)
    if not isinstance(part, Mapping):
        errors.append(Problem(f"probe.hardware.{what}.no_answer"))
        return None
    if "Error" in part:
        if _needs_admin(part):
            errors.append(Problem(f"probe.hardware.{what}.admin"))
        else:
            detail = " ".join(str(part.get("Error") or part.get("Kind") or "").split())
            errors.append(Problem(f"probe.hardware.{what}.error", detail=detail))
        return None
    return part.get("Value")


def tpm_version_from_spec(spec: Any) -> str | None:
    """ "2.0" from Win32_Tpm.SpecVersion "2.0, 0, 1.59" (version, level, revision)."""
    if not isinstance(spec, str):
        return None
    head = spec.split(",")[0].strip()
    return head if re.fullmatch(r"\d+\.\d+", head) else None


def hardware_from_windows(data: Mapping[str, Any]) -> HardwareFacts:
    """Facts from the JSON object `WINDOWS_SCRIPT` prints (parsed), with its failures in
    `errors`. Only Confirm-SecureBootUEFI and Win32_Tpm normally need administrator rights."""
    errors: list[str] = []
    bios = _first(_part(data, "Bios", errors, "bios"))
    system = _first(_part(data, "ComputerSystem", errors, "model"))
    product = _first(_part(data, "Product", errors, "model_version"))
    enclosures = _part(data, "Enclosure", errors, "chassis") or []
    if not isinstance(enclosures, list):
        enclosures = [enclosures]

    vendor = clean_dmi_text(system.get("Manufacturer")) or clean_dmi_text(product.get("Vendor"))
    model = _model_name(
        vendor,
        clean_dmi_text(system.get("Model")) or clean_dmi_text(product.get("Name")),
        clean_dmi_text(product.get("Version")),
    )
    chassis_types: list[Any] = []
    for enclosure in enclosures:
        types = enclosure.get("ChassisTypes") if isinstance(enclosure, Mapping) else None
        chassis_types.extend(types if isinstance(types, list) else [types])
    chassis = next((c for c in map(chassis_from_smbios, chassis_types) if c), None)

    firmware_type = str(data.get("FirmwareType") or "").strip().casefold()
    uefi = {"uefi": True, "legacy": False}.get(firmware_type)

    secure_boot: bool | None = None
    part = data.get("SecureBoot")
    if isinstance(part, Mapping) and "Error" in part:
        kind = str(part.get("Kind") or "")
        message = str(part.get("Error") or "")
        if kind == "PlatformNotSupportedException":
            # "Cmdlet not supported on this platform": the machine started in legacy BIOS mode.
            secure_boot = False
            uefi = False if uefi is None else uefi
        elif "0XC0000100" in message.upper():
            # "Variable is currently undefined": UEFI firmware without a SecureBoot variable.
            secure_boot = False
        else:
            _part(data, "SecureBoot", errors, "secure_boot")
    else:
        value = _part(data, "SecureBoot", errors, "secure_boot")
        secure_boot = value if isinstance(value, bool) else None

    tpm = _first(_part(data, "Tpm", errors, "tpm"))
    return HardwareFacts(
        vendor=vendor,
        model=model,
        chassis=chassis,
        bios_vendor=clean_dmi_text(bios.get("Manufacturer")),
        bios_version=clean_dmi_text(bios.get("SMBIOSBIOSVersion")),
        bios_date=windows_date_to_iso(bios.get("ReleaseDate")),
        uefi=uefi,
        secure_boot=secure_boot,
        tpm_version=tpm_version_from_spec(tpm.get("SpecVersion")),
        errors=errors,
    )


def _windows_hardware(run: Runner, errors: list[str]) -> HardwareFacts:
    code, out, err = run(windows_hardware_argv(powershell_exe()), POWERSHELL_TIMEOUT)
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        detail = output_detail(out, err)
        if detail:
            errors.append(Problem("probe.hardware.firmware.powershell", detail=detail))
        else:
            errors.append(Problem("probe.hardware.firmware.powershell_exit", code=code))
        return HardwareFacts()
    if not isinstance(data, Mapping):
        errors.append(Problem("probe.hardware.firmware.powershell_no_object"))
        return HardwareFacts()
    hardware = hardware_from_windows(data)
    errors.extend(hardware.errors)
    hardware.errors = []
    return hardware


# --------------------------------------------------------------------------------------------
# macOS: system_profiler
# --------------------------------------------------------------------------------------------

# First year a Mac with this model identifier family and major number shipped, from Apple's
# "Identify your Mac" pages (MacBook Pro https://support.apple.com/HT201300, MacBook Air
# https://support.apple.com/HT201862, iMac https://support.apple.com/HT201634, Mac mini
# https://support.apple.com/HT201894, MacBook https://support.apple.com/HT201608). Since 2022
# new Macs are named "MacNN,x" whatever their shape.
_MAC_MODEL_YEARS: dict[str, dict[int, int]] = {
    "MacBookPro": {
        8: 2011,
        9: 2012,
        10: 2012,
        11: 2013,
        12: 2015,
        13: 2016,
        14: 2017,
        15: 2018,
        16: 2019,
        17: 2020,
        18: 2021,
    },
    "MacBookAir": {4: 2011, 5: 2012, 6: 2013, 7: 2015, 8: 2018, 9: 2020, 10: 2020},
    "MacBook": {8: 2015, 9: 2016, 10: 2017},
    "iMac": {
        12: 2011,
        13: 2012,
        14: 2013,
        15: 2014,
        16: 2015,
        17: 2015,
        18: 2017,
        19: 2019,
        20: 2020,
        21: 2021,
    },
    "Macmini": {5: 2011, 6: 2012, 7: 2014, 8: 2018, 9: 2020},
    "Mac": {13: 2022, 14: 2022, 15: 2023, 16: 2024},
}
_MAC_IDENTIFIER = re.compile(r"\b(MacBookPro|MacBookAir|MacBook|iMac|Macmini|Mac)(\d+),\d+\b")


def mac_model_year(model: str | None) -> int | None:
    """Year a Mac model identifier ("MacBookPro12,1", "Mac14,2") first shipped, or None."""
    if not model:
        return None
    match = _MAC_IDENTIFIER.search(model)
    if not match:
        return None
    return _MAC_MODEL_YEARS.get(match[1], {}).get(int(match[2]))


def _mac_chassis(name: str | None) -> str | None:
    if not name:
        return None
    if name.startswith("MacBook"):
        return "laptop"
    if name.startswith(("iMac", "Mac mini", "Mac Studio", "Mac Pro")):
        return "desktop"
    return "other"  # "Apple Virtual Machine 1", Xserve...


def hardware_from_macos(data: Mapping[str, Any]) -> tuple[HardwareFacts, str | None]:
    """(facts, processor name) from `system_profiler SPHardwareDataType -json` (parsed).

    The model keeps the identifier: "MacBook Pro (MacBookPro12,1)", which `mac_model_year`
    reads. The firmware version is Apple's boot ROM; there is no release date. The processor
    name is the chip ("Apple M1") or, on Intel Macs, only the family ("Intel Core i7").
    """
    items = data.get("SPHardwareDataType") or []
    item = items[0] if isinstance(items, list) and items and isinstance(items[0], Mapping) else {}
    name = clean_dmi_text(item.get("machine_name"))
    identifier = clean_dmi_text(item.get("machine_model"))
    if name and identifier:
        model = f"{name} ({identifier})"
    else:
        model = name or identifier
    chip = clean_dmi_text(item.get("chip_type")) or clean_dmi_text(item.get("cpu_type"))
    hardware = HardwareFacts(
        vendor="Apple" if item else None,
        model=model,
        chassis=_mac_chassis(name),
        bios_vendor="Apple" if item.get("boot_rom_version") else None,
        bios_version=clean_dmi_text(item.get("boot_rom_version")),
    )
    return hardware, chip


def _macos_hardware(run: Runner, errors: list[str]) -> tuple[HardwareFacts, str | None]:
    code, out, err = run([SYSTEM_PROFILER, "SPHardwareDataType", "-json"], DEFAULT_TIMEOUT)
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        detail = output_detail(out, err)
        if detail:
            errors.append(Problem("probe.hardware.firmware.system_profiler", detail=detail))
        else:
            errors.append(Problem("probe.hardware.firmware.system_profiler_exit", code=code))
        return HardwareFacts(), None
    return hardware_from_macos(data if isinstance(data, Mapping) else {})


# --------------------------------------------------------------------------------------------
# SMART: smartctl (smartmontools 7.0 or later, for --json)
# --------------------------------------------------------------------------------------------

_SMARTCTL_PLACES = (
    "/usr/sbin/smartctl",  # Debian/Ubuntu: /usr/sbin is not in a normal user's PATH
    "/usr/local/sbin/smartctl",
    "/opt/homebrew/bin/smartctl",  # Homebrew on Apple silicon
    "/usr/local/bin/smartctl",  # Homebrew on Intel Macs
    r"C:\Program Files\smartmontools\bin\smartctl.exe",  # the Windows installer's default
)
_PERMISSION = re.compile(r"permission denied|operation not permitted|access (?:is )?denied", re.I)
# SMART lines name what they are about first, "SMART" or "SMART /dev/sda": the same words in
# every language, so it is the line's untranslated `at` and only the rest is in the catalog.
_SMART = "SMART"
ADMIN_NEEDED = Problem("probe.smart.admin", at=(_SMART,))

# smartctl exit status bits (smartctl(8), "RETURN VALUES"): bit 0 the command line did not
# parse, bit 1 the device could not be opened.
_EXIT_BAD_COMMAND = 1
_EXIT_OPEN_FAILED = 2


def find_smartctl() -> str:
    """Where smartctl is: on the PATH, in a usual install place, or just "smartctl"."""
    found = shutil.which("smartctl")
    if found:
        return found
    for place in _SMARTCTL_PLACES:
        if Path(place).is_file():
            return place
    return "smartctl"


@dataclass(frozen=True, slots=True)
class SmartDevice:
    """A disk `smartctl --scan-open` found: its name and the device type smartctl chose."""

    name: str
    type: str | None


def _smartctl_messages(data: Mapping[str, Any]) -> str:
    messages = (data.get("smartctl") or {}).get("messages") or []
    return " ".join(
        " ".join(str(m.get("string", "")).split()) for m in messages if isinstance(m, Mapping)
    ).strip()


def _smart_disk(device: str) -> str:
    return f"{_SMART} {device}"


def _load_smartctl_json(
    text: str, stderr: str, about: str
) -> tuple[dict[str, Any] | None, Problem | None]:
    """smartctl's JSON answer, or None and the line saying why, about `about` ("SMART")."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        both = f"{text}\n{stderr}"
        if "UNRECOGNIZED OPTION" in both.upper():
            return None, Problem("probe.smart.too_old", at=(about,))
        detail = " ".join(both.split())[:200]
        if detail:
            return None, Problem("probe.smart.no_json", at=(about,), detail=detail)
        return None, Problem("probe.smart.no_output", at=(about,))
    if not isinstance(data, dict):
        return None, Problem("probe.smart.not_object", at=(about,))
    return data, None


def parse_smart_scan(text: str, stderr: str = "") -> tuple[list[SmartDevice], list[str]]:
    """Disks that could be opened, and lines for those that could not, from
    `smartctl --scan-open --json`. When every disk was refused for lack of rights, one line
    says so instead of one per disk."""
    data, problem = _load_smartctl_json(text, stderr, _SMART)
    if data is None:
        return [], [problem] if problem else []
    devices: list[SmartDevice] = []
    refused: list[str] = []
    errors: list[str] = []
    for entry in data.get("devices") or []:
        if not isinstance(entry, Mapping) or not entry.get("name"):
            continue
        name = str(entry["name"])
        open_error = entry.get("open_error")
        if open_error:
            if _PERMISSION.search(str(open_error)):
                refused.append(name)
            else:
                errors.append(
                    Problem("probe.smart.unreadable", at=(_smart_disk(name),), detail=open_error)
                )
            continue
        devices.append(SmartDevice(name=name, type=entry.get("type") or None))
    if refused:
        errors.insert(0, ADMIN_NEEDED)
    if not devices and not refused and not errors:
        messages = _smartctl_messages(data)
        if messages:
            errors.append(Problem("probe.smart.no_disk_because", at=(_SMART,), detail=messages))
        else:
            errors.append(Problem("probe.smart.no_disk", at=(_SMART,)))
    return devices, errors


def parse_smart_device(
    text: str, device: str, stderr: str = ""
) -> tuple[SmartFacts | None, str | None]:
    """(facts, None) or (None, a line) from `smartctl --json -H -A DEVICE`.

    The overall verdict is `smart_status.passed` (false: the disk itself predicts its failure)
    and the age of use `power_on_time.hours`. smartctl's exit status is not a verdict on its
    own: bits 3 to 7 report a failing or worn disk while the JSON is complete.
    """
    data, problem = _load_smartctl_json(text, stderr, _smart_disk(device))
    if data is None:
        return None, problem
    status = (data.get("smartctl") or {}).get("exit_status")
    messages = _smartctl_messages(data)
    if isinstance(status, int) and status & (_EXIT_BAD_COMMAND | _EXIT_OPEN_FAILED):
        if _PERMISSION.search(messages):
            return None, ADMIN_NEEDED
        if messages:
            return None, Problem(
                "probe.smart.unreadable", at=(_smart_disk(device),), detail=messages
            )
        return None, Problem("probe.smart.cannot_open", at=(_smart_disk(device),))
    passed = (data.get("smart_status") or {}).get("passed")
    hours = (data.get("power_on_time") or {}).get("hours")
    name = str((data.get("device") or {}).get("name") or device)
    return (
        SmartFacts(
            device=name,
            passed=passed if isinstance(passed, bool) else None,
            power_on_hours=hours
            if isinstance(hours, int) and not isinstance(hours, bool)
            else None,
        ),
        None,
    )


def smartctl_scan_argv(smartctl: str) -> list[str]:
    return [smartctl, "--scan-open", "--json"]


def smartctl_device_argv(smartctl: str, device: SmartDevice) -> list[str]:
    kind = ["-d", device.type] if device.type else []
    return [smartctl, "--json", "-H", "-A", *kind, device.name]


def probe_smart(run: Runner, smartctl: str = "smartctl") -> tuple[list[SmartFacts], list[str]]:
    """SMART verdict of every disk smartctl can open. Never raises."""
    errors: list[str] = []
    try:
        _code, out, err = run(smartctl_scan_argv(smartctl), SMARTCTL_TIMEOUT)
    except FileNotFoundError:
        return [], [Problem("probe.smart.not_installed", at=(_SMART,))]
    except subprocess.TimeoutExpired:
        return [], [Problem("probe.smart.scan_timeout", at=(_SMART,), seconds=SMARTCTL_TIMEOUT)]
    except Exception as exc:  # reported, never raised
        return [], [_failure("probe.smart.unreadable", exc, at=(_SMART,))]
    devices, scan_errors = parse_smart_scan(out, err)
    errors.extend(scan_errors)

    facts: list[SmartFacts] = []
    for device in devices:
        try:
            _code, out, err = run(smartctl_device_argv(smartctl, device), SMARTCTL_TIMEOUT)
        except subprocess.TimeoutExpired:
            errors.append(
                Problem(
                    "probe.smart.timeout", at=(_smart_disk(device.name),), seconds=SMARTCTL_TIMEOUT
                )
            )
            continue
        except Exception as exc:  # reported, never raised
            errors.append(_failure("probe.smart.unreadable", exc, at=(_smart_disk(device.name),)))
            continue
        fact, problem = parse_smart_device(out, device.name, err)
        if fact is not None:
            facts.append(fact)
        if problem and problem not in errors:
            errors.append(problem)
    return facts, errors


# --------------------------------------------------------------------------------------------
# Age
# --------------------------------------------------------------------------------------------

_DAYS_PER_YEAR = 365.25
# A BIOS dated more than this after the processor's launch was probably updated.
_BIOS_UPDATE_GAP_YEARS = 2


@dataclass(frozen=True, slots=True)
class AgeEstimate:
    """How old a machine probably is, and what that is based on.

    `basis` is "bios_date" (the firmware's release date: a machine is seldom sold more than a
    few months after it), "cpu_launch_year" (the first year its processor family was sold: the
    machine is at most that old), "mac_model" (the first year its Mac model shipped) or None
    when nothing tells. A BIOS update changes the BIOS date, so a machine whose firmware was
    updated looks younger than it is: `bios_probably_updated` is True when the BIOS is dated
    more than two years after the processor came out, and the report should say the machine is
    probably older (its processor came out in `HardwareFacts.cpu_launch_year`).
    """

    years: float | None
    basis: str | None
    bios_probably_updated: bool = False


def estimated_age_years(hw: HardwareFacts, today: date) -> AgeEstimate:
    """Age of the machine on `today`, from its BIOS date, else its processor or Mac model."""
    if hw.bios_date:
        try:
            made = date.fromisoformat(hw.bios_date)
        except ValueError:
            made = None
        if made is not None:
            years = max(0.0, round((today - made).days / _DAYS_PER_YEAR, 1))
            updated = (
                hw.cpu_launch_year is not None
                and made.year - hw.cpu_launch_year > _BIOS_UPDATE_GAP_YEARS
            )
            return AgeEstimate(years=years, basis="bios_date", bios_probably_updated=updated)
    if hw.cpu_launch_year is not None:
        return AgeEstimate(
            years=float(max(0, today.year - hw.cpu_launch_year)), basis="cpu_launch_year"
        )
    mac_year = mac_model_year(hw.model)
    if mac_year is not None:
        return AgeEstimate(years=float(max(0, today.year - mac_year)), basis="mac_model")
    return AgeEstimate(years=None, basis=None)


# --------------------------------------------------------------------------------------------
# Collection
# --------------------------------------------------------------------------------------------


def _failure(key: str, exc: BaseException, *, at: tuple[str, ...] = ()) -> Problem:
    """The line `key` ("...: not readable ({detail})") for `exc`."""
    return Problem(key, at=at, detail=exception_detail(exc))


def _command_failure(what: str, argv: Iterable[str], exc: BaseException) -> Problem:
    """A program that could not run: `what` names the lines "probe.hardware.<what>.not_installed",
    ".timeout" and ".error" in the catalog."""
    program = Path(next(iter(argv))).name
    if isinstance(exc, FileNotFoundError):
        return Problem(f"probe.hardware.{what}.not_installed", program=program)
    if isinstance(exc, subprocess.TimeoutExpired):
        return Problem(f"probe.hardware.{what}.timeout", program=program, seconds=exc.timeout)
    return _failure(f"probe.hardware.{what}.error", exc)


def _local_cpu_model(system: str) -> str | None:
    from auditor.collect.host import system as host_system

    return host_system._cpu_model(system)


def probe_hardware(
    run: Runner | None = None,
    sys_root: Path = SYS_ROOT,
    *,
    system: str | None = None,
    cpu_model: str | None = None,
    smartctl: str | None = None,
) -> HardwareFacts:
    """Describe this machine's hardware. Never raises: see `HardwareFacts.errors`.

    `system` ("Linux", "Windows", "Darwin") defaults to this machine's; `cpu_model`, when not
    given, is read as `collect_host()` reads it; `smartctl` defaults to `find_smartctl()`.
    """
    run = run or run_command
    system = system or platform.system()
    errors: list[str] = []
    hardware = HardwareFacts()
    chip: str | None = None

    try:
        if system == "Linux":
            hardware = _linux_hardware(sys_root, errors)
        elif system == "Windows":
            hardware = _windows_hardware(run, errors)
        elif system == "Darwin":
            hardware, chip = _macos_hardware(run, errors)
        else:
            if system:
                errors.append(Problem("probe.hardware.firmware.no_probe", system=system))
            else:
                errors.append(Problem("probe.hardware.firmware.no_probe_os"))
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        program = {"Windows": "powershell.exe", "Darwin": SYSTEM_PROFILER}.get(system, system)
        errors.append(_command_failure("firmware", [program], exc))
    except Exception as exc:  # one failed probe must not stop the others
        errors.append(_failure("probe.hardware.firmware.error", exc))

    model = cpu_model
    if model is None:
        try:
            model = _local_cpu_model(system) if system in ("Linux", "Windows", "Darwin") else None
        except Exception as exc:  # reported, never raised
            errors.append(_failure("probe.host.cpu_model", exc))
    hardware.cpu_launch_year = cpu_launch_year(model) or cpu_launch_year(chip)

    smart, smart_errors = probe_smart(run, smartctl or find_smartctl())
    hardware.smart = smart
    errors.extend(smart_errors)
    hardware.errors = errors
    return hardware

"""The GLPI exporter: the inventory format of GLPI (github.com/glpi-project/inventory_format),
the one its agents send, for associations that already keep their assets in GLPI.

Built from the same records as auditor's own format. Only keys the schema defines are
written; what GLPI has no place for stays in auditor's format.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from auditor import __version__
from auditor.collect.host.records import (
    AntivirusFacts,
    BatteryFacts,
    DiskFacts,
    HardwareFacts,
    HostFacts,
)
from auditor.inventory.auditor_format import aware

_MIB = 1024 * 1024  # GLPI agents count memory and volume sizes in MiB and call them MB

# GLPI agents build their deviceid once, from the hostname and the time of their first run,
# and keep it in their state file. auditor keeps no state, so the date-time part is fixed:
# the same machine always gets the same deviceid, and GLPI keeps one agent entry for it.
GLPI_DEVICEID_SUFFIX = "2000-01-01-00-00-00"
_UNNAMED_HOST = "unnamed-host"  # GLPI's import rules refuse a computer without a name

_GLPI_OS_NAMES = {"Darwin": "macOS"}
# The kernel names GLPI agents report (Perl's $^O for Windows).
_GLPI_KERNEL_NAMES = {"Linux": "linux", "Windows": "MSWin32", "Darwin": "darwin"}
_GLPI_CHASSIS = {"laptop": "Laptop", "desktop": "Desktop", "server": "Server", "other": "Other"}

_ISO_DATE_START = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:$|[T ])")
_VERSION_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)*)(?![\w.])")
_WINDOWS_RELEASE = re.compile(r"\s(\d{2}H\d|\d{4})$")  # "22H2", or before 20H2 "1909"
_DRIVE_LETTER = re.compile(r"^([A-Za-z]:)[\\/]?$")
_IPV4 = re.compile(r"^\d+(?:\.\d+){3}$")


def _glpi_date(text: str | None) -> str | None:
    """ "YYYY-MM-DD" from an ISO 8601 date or date-time, None when it is not one."""
    match = _ISO_DATE_START.match(text or "")
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return None


def _glpi_datetime(text: str | None) -> str | None:
    """ "YYYY-MM-DD HH:MM:SS" in UTC (the schema's offsets need seconds, "+00:00:00", which no
    ISO 8601 writer produces; agents write no offset at all)."""
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def glpi_machine_name(hostname: str) -> str:
    """The name GLPI files the computer under: the short hostname, as agents report it."""
    hostname = hostname.strip()
    if not hostname:
        return _UNNAMED_HOST
    if _IPV4.match(hostname):
        return hostname
    return hostname.split(".", 1)[0] or hostname


def glpi_deviceid(hostname: str) -> str:
    """`<name>-YYYY-MM-DD-HH-MM-SS` as agents build it, with the fixed date-time above."""
    return f"{glpi_machine_name(hostname)}-{GLPI_DEVICEID_SUFFIX}"


def glpi_os_name_and_version(os_name: str, os_version: str) -> tuple[str, str | None]:
    """GLPI's operating system `name` and `version` from auditor's os_name and os_version.

    ("Linux", "Debian GNU/Linux 12 (bookworm)") -> ("Debian GNU/Linux", "12");
    ("Windows", "Windows 11 Pro 23H2") -> ("Windows", "23H2");
    ("Darwin", "macOS 14.4") -> ("macOS", "14.4"). The version is None when the text does not
    carry one ("Arch Linux", "Windows 10 Pro" without its display version). GLPI names the
    operating system after `full_name` when there is one, so `name` matters little.
    """
    text = " ".join(os_version.split())
    if os_name == "Windows":
        match = _WINDOWS_RELEASE.search(text)
        if match and match.group(1).isdigit() and text.startswith("Windows Server"):
            return "Windows", None  # "Windows Server 2022": the year names the product
        return "Windows", match.group(1) if match else None
    if os_name == "Darwin":
        version = text.removeprefix("macOS").strip()
        return "macOS", version or None
    if os_name == "Linux":
        match = _VERSION_NUMBER.search(text)
        if match and match.start() > 0:
            return text[: match.start()].strip(), match.group(1)
        return text or "Linux", None
    return _GLPI_OS_NAMES.get(os_name, os_name) or "Unknown", None


def _glpi_operatingsystem(host: HostFacts) -> dict[str, Any]:
    name, version = glpi_os_name_and_version(host.os_name, host.os_version)
    section: dict[str, Any] = {"name": name}
    if version:
        section["version"] = version
    if host.os_version:
        section["full_name"] = host.os_version
    if host.os_name in _GLPI_KERNEL_NAMES:
        section["kernel_name"] = _GLPI_KERNEL_NAMES[host.os_name]
    if host.os_release:
        section["kernel_version"] = host.os_release
    boot_time = _glpi_datetime(host.boot_time)
    if boot_time:
        section["boot_time"] = boot_time
    if "." in host.hostname.strip(".") and not _IPV4.match(host.hostname):
        section["fqdn"] = host.hostname
    return section


def _glpi_hardware(host: HostFacts, hardware: HardwareFacts | None) -> dict[str, Any]:
    section: dict[str, Any] = {"name": glpi_machine_name(host.hostname)}
    if host.ram_bytes > 0:
        section["memory"] = host.ram_bytes // _MIB
    if hardware and hardware.chassis:
        chassis = hardware.chassis.strip()
        section["chassis_type"] = _GLPI_CHASSIS.get(chassis.lower(), chassis)
    return section


def _glpi_secure_boot(hardware: HardwareFacts) -> str | None:
    if hardware.secure_boot is True:
        return "enabled"
    if hardware.uefi is False:
        return "unsupported"  # Secure Boot is a UEFI feature: a legacy BIOS has none
    if hardware.secure_boot is False:
        return "disabled"
    return None


def _glpi_bios(hardware: HardwareFacts) -> dict[str, Any]:
    candidates = {
        "bdate": _glpi_date(hardware.bios_date),
        "bmanufacturer": hardware.bios_vendor,
        "bversion": hardware.bios_version,
        "smanufacturer": hardware.vendor,
        "smodel": hardware.model,
        "secure_boot": _glpi_secure_boot(hardware),
    }
    return {key: value for key, value in candidates.items() if value}


def _glpi_cpus(host: HostFacts) -> list[dict[str, Any]]:
    # One entry for the whole machine: psutil counts cores across sockets. `thread` is the
    # number of threads of the processor, as in GLPI's own example and its "nbthreads" column
    # (the schema's title, "threads per core", disagrees with both).
    cpu: dict[str, Any] = {}
    if host.cpu_model:
        cpu["name"] = host.cpu_model
    if host.cpu_cores_physical:
        cpu["core"] = host.cpu_cores_physical
    if host.cpu_cores_logical:
        cpu["thread"] = host.cpu_cores_logical
    return [cpu] if cpu else []


def _glpi_drive(disk: DiskFacts) -> dict[str, Any]:
    drive: dict[str, Any] = {}
    letter = _DRIVE_LETTER.match(disk.mountpoint)
    if letter:  # Windows: GLPI names the volume after its letter
        drive["letter"] = letter.group(1).upper()
        drive["systemdrive"] = disk.is_system
        if disk.device and not _DRIVE_LETTER.match(disk.device):
            drive["volumn"] = disk.device
    else:  # elsewhere the schema's "type" is the mount point and "volumn" the device
        drive["type"] = disk.mountpoint
        if disk.device:
            drive["volumn"] = disk.device
    if disk.fstype:
        drive["filesystem"] = disk.fstype
    drive["total"] = max(disk.total_bytes, 0) // _MIB
    drive["free"] = max(disk.total_bytes - disk.used_bytes, 0) // _MIB
    return drive


# A partition's physical disk: /dev/sda2 -> sda, /dev/nvme0n1p2 -> nvme0n1, /dev/mmcblk0p1 ->
# mmcblk0 (the kernel's naming, Documentation/admin-guide/devices.txt)
_PARTITION = re.compile(r"^(?:(nvme\d+n\d+|mmcblk\d+)p\d+|([shv]d[a-z]+|xvd[a-z]+)\d+)$")


def _physical_name(device: str) -> str:
    name = device.removeprefix("/dev/")
    match = _PARTITION.match(name)
    return (match.group(1) or match.group(2)) if match else name


def _glpi_storages(disks: Iterable[DiskFacts]) -> list[dict[str, Any]]:
    """The physical disks under the volumes, with their type when the OS said it ("SSD" or
    "HDD" in `description`: the schema's `type` is the kind of device, "disk"). auditor
    knows volumes, not whole disks: no size or model is invented."""
    storages: dict[str, dict[str, Any]] = {}
    for disk in disks:
        if not disk.device:
            continue
        name = _physical_name(disk.device)
        entry = storages.setdefault(name, {"name": name, "type": "disk"})
        if disk.rotational is not None:
            entry["description"] = "HDD" if disk.rotational else "SSD"
    return list(storages.values())


def _glpi_antivirus(product: AntivirusFacts) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": product.product}
    if product.enabled is not None:
        entry["enabled"] = product.enabled
    if product.up_to_date is not None:
        entry["uptodate"] = product.up_to_date
    signatures = _glpi_date(product.signature_date)
    if signatures:
        entry["base_creation"] = signatures
    return entry


def _milliwatt_hours(watt_hours: float | None) -> int | None:
    if watt_hours is None or not math.isfinite(watt_hours) or watt_hours < 0:
        return None
    return round(watt_hours * 1000)


def _glpi_battery(battery: BatteryFacts) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": battery.name}
    design = _milliwatt_hours(battery.design_capacity_wh)
    if design is not None:
        entry["capacity"] = design
    full = _milliwatt_hours(battery.full_capacity_wh)
    if full is not None:
        entry["real_capacity"] = full
    return entry


def glpi_inventory(
    host: HostFacts,
    *,
    hardware: HardwareFacts | None = None,
    antivirus: Iterable[AntivirusFacts] = (),
    batteries: Iterable[BatteryFacts] = (),
    generated_at: datetime,
) -> dict[str, Any]:
    """The same machine as a GLPI inventory (what a GLPI agent sends), for GLPI 10 and later.

    Sizes are in MiB, which GLPI and its agents call MB; dates are YYYY-MM-DD. Keys appear only
    when auditor knows their value: the schema has no null. `generated_at` is accepted for
    symmetry with `auditor_inventory` and checked, but GLPI's format has no place for it (GLPI
    records when it imported the file).
    """
    aware(generated_at)
    content: dict[str, Any] = {"hardware": _glpi_hardware(host, hardware)}
    if hardware is not None:
        bios = _glpi_bios(hardware)
        if bios:
            content["bios"] = bios
    content["operatingsystem"] = _glpi_operatingsystem(host)
    cpus = _glpi_cpus(host)
    if cpus:
        content["cpus"] = cpus
    if host.disks:
        content["drives"] = [_glpi_drive(disk) for disk in host.disks]
    storages = _glpi_storages(host.disks)
    if storages:
        content["storages"] = storages
    antivirus = list(antivirus)
    antivirus_entries = [_glpi_antivirus(product) for product in antivirus]
    if antivirus_entries:
        content["antivirus"] = antivirus_entries
        # the installed software auditor knows of: its protection products
        names = dict.fromkeys(product.product for product in antivirus)
        content["softwares"] = [{"name": name} for name in names]
    battery_entries = [_glpi_battery(battery) for battery in batteries]
    if battery_entries:
        content["batteries"] = battery_entries
    content["versionclient"] = f"auditor-{__version__}"
    return {
        "deviceid": glpi_deviceid(host.hostname),
        "action": "inventory",
        "itemtype": "Computer",
        "content": content,
    }

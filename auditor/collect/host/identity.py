"""Which machine this is, and whether it is a virtual one.

Identity: a machine is the same machine whether its facts come from a live scan or from an
inventory file on a USB stick, and whatever its hostname. It is known by its hardware (the
SMBIOS system UUID, the serial number) and by its installed system (Linux /etc/machine-id,
Windows MachineGuid). Each identifier is kept as "<kind>:<digest>", a SHA-256 of the value
under an auditor-specific prefix: machine-id(5) asks that the machine ID not be exposed as
it is ("should be considered confidential"), and matching needs only equality.

Virtual machines: a virtual disk says it is a spinning disk (virtio, VMware, Hyper-V all do)
and a VM's firmware date is the hypervisor's, not the machine's. A VM's disk type is
therefore unknown, never "rotational": no SSD is advised for it. Detection follows
systemd-detect-virt (src/basic/virt.c: DMI vendor strings, then the CPU's hypervisor bit),
which it asks first when installed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import platform
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.collect.host.commands import Runner, powershell_exe, run_command
from auditor.collect.host.hardware import clean_dmi_text
from auditor.collect.host.records import HardwareFacts, HostFacts

if TYPE_CHECKING:
    from auditor.collect.host.machine import Machine

SYS_ROOT = Path("/sys")
MACHINE_ID = Path("/etc/machine-id")
CPUINFO = Path("/proc/cpuinfo")
COMMAND_TIMEOUT = 10.0
GENERIC_VM = "vm"  # a hypervisor is there (the CPU says so), which one is not known

# --------------------------------------------------------------------------------------------
# Virtual machines
# --------------------------------------------------------------------------------------------

# (field, pattern, hypervisor) in the order systemd's dmi_vendor_table tries them
# (product_name first, to tell KVM from plain QEMU). Fields are the names of the files in
# /sys/class/dmi/id; Windows' Win32_ComputerSystem Manufacturer/Model and Win32_BIOS
# Manufacturer are the same SMBIOS strings. "Microsoft Corporation" alone is not a VM: it is
# also Surface laptops' vendor (systemd issue #21468), so Hyper-V needs its "Virtual Machine".
_DMI_VMS: tuple[tuple[str, str, str], ...] = (
    ("product_name", r"^KVM\b", "kvm"),
    ("product_name", r"^OpenStack\b", "kvm"),
    ("product_name", r"^Google Compute Engine\b", "google"),
    ("product_name", r"^VirtualBox\b", "oracle"),
    ("product_name", r"^VMware\b", "vmware"),
    ("product_name", r"^Virtual Machine\b", "microsoft"),  # with the vendor, checked below
    ("product_name", r"^VirtualMac\d", "apple"),  # macOS guests of Virtualization.framework
    ("product_name", r"^Apple Virtual Machine\b", "apple"),
    ("product_version", r"\bHyper-V\b", "microsoft"),
    ("sys_vendor", r"^QEMU\b", "qemu"),
    ("sys_vendor", r"^VMware\b", "vmware"),
    ("sys_vendor", r"^innotek GmbH\b", "oracle"),
    ("sys_vendor", r"^Oracle Corporation\b", "oracle"),
    ("sys_vendor", r"^Xen\b", "xen"),
    ("sys_vendor", r"^Bochs\b", "bochs"),
    ("sys_vendor", r"^Parallels\b", "parallels"),
    ("sys_vendor", r"^BHYVE\b", "bhyve"),
    ("sys_vendor", r"^Amazon EC2\b", "amazon"),
    ("board_vendor", r"^Oracle Corporation\b", "oracle"),  # VirtualBox passing host strings
    ("bios_vendor", r"^Xen\b", "xen"),
    ("bios_vendor", r"^innotek GmbH\b", "oracle"),
    ("bios_vendor", r"^BHYVE\b", "bhyve"),
    ("bios_vendor", r"^Parallels\b", "parallels"),
)


def virtualization_from_dmi(fields: Mapping[str, str | None]) -> str | None:
    """The hypervisor named by SMBIOS strings (sys_vendor, product_name, product_version,
    board_vendor, bios_vendor), or None when they name none."""
    for field, pattern, name in _DMI_VMS:
        value = clean_dmi_text(fields.get(field)) or ""
        if not re.search(pattern, value, re.IGNORECASE):
            continue
        if field == "product_name" and name == "microsoft":
            vendor = (fields.get("sys_vendor") or "") + (fields.get("board_vendor") or "")
            if "microsoft" not in vendor.casefold():
                continue
        return name
    return None


def hypervisor_flag(cpuinfo: str) -> bool:
    """Whether /proc/cpuinfo's `flags` carry `hypervisor`: the CPUID bit every x86 hypervisor
    sets for its guests (Intel SDM, CPUID leaf 1, ECX bit 31; never set on bare metal)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return "hypervisor" in value.split()
    return False


def virtualization_from_systemd(output: str) -> str | None:
    """`systemd-detect-virt --vm`'s answer: a hypervisor's name, or None for "none"."""
    name = output.strip().splitlines()[0].strip() if output.strip() else ""
    return None if name in ("", "none") else name


# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------

# SMBIOS UUIDs that firmware makers leave unset or copy from a reference board.
_BOGUS_UUIDS = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "03000200-0400-0500-0006-000700080009",  # many AMI boards
    }
)
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _digest(kind: str, value: str) -> str:
    # Only equality matters; the prefix keeps the digest auditor's own (machine-id(5)).
    return f"{kind}:" + hashlib.sha256(f"auditor:{kind}:{value}".encode()).hexdigest()[:32]


def hardware_uuid_key(text: str | None) -> str | None:
    """The SMBIOS system UUID as an identifier, or None when unset or bogus.

    SMBIOS 2.6 changed the byte order of the first three fields, and tools disagree on which
    order they print (dmidecode's "RFC 4122" and "SMBIOS 2.6+" forms, OCS Inventory issue #3):
    both orders give the same identifier, so Windows and Linux on one machine agree."""
    try:
        value = uuid.UUID((text or "").strip())
    except ValueError:
        return None
    if str(value) in _BOGUS_UUIDS:
        return None
    swapped = uuid.UUID(bytes_le=value.bytes)
    return _digest("hardware-uuid", min(str(value), str(swapped)))


def serial_key(text: str | None) -> str | None:
    """A serial number as an identifier; None for placeholders ("0", "Not Specified"...)."""
    serial = clean_dmi_text(text)
    if not serial or len(serial) < 4 or len(set(serial.replace(" ", ""))) < 2:
        return None
    if serial.casefold() in ("system serial number", "chassis serial number", "serial number"):
        return None
    return _digest("serial", serial.upper())


def machine_id_key(text: str | None) -> str | None:
    """Linux /etc/machine-id (32 lowercase hex digits; "uninitialized" during first boot)."""
    value = (text or "").strip().lower()
    if not _HEX32.match(value) or set(value) == {"0"}:
        return None
    return _digest("machine-id", value)


def machine_guid_key(text: str | None) -> str | None:
    """Windows' MachineGuid (HKLM\\SOFTWARE\\Microsoft\\Cryptography), set at installation."""
    try:
        value = uuid.UUID((text or "").strip())
    except ValueError:
        return None
    return None if value.int == 0 else _digest("machine-guid", str(value))


def mac_key(text: str | None) -> str | None:
    """A network card's MAC address, the last resort of inventory files that carry neither
    UUID nor serial; None for all-zero, broadcast and locally administered (virtual or
    randomised, IEEE 802: bit 1 of the first octet) and multicast (bit 0) addresses."""
    digits = re.sub(r"[^0-9a-f]", "", (text or "").casefold())
    if len(digits) != 12 or len(set(digits)) < 2 or int(digits[:2], 16) & 0x03:
        return None
    return _digest("mac", ":".join(digits[i : i + 2] for i in range(0, 12, 2)))


def _keys(*keys: str | None) -> list[str]:
    return list(dict.fromkeys(k for k in keys if k))


# --------------------------------------------------------------------------------------------
# Probes, one per system. Each returns (virtualization, identifiers) and never raises.
# --------------------------------------------------------------------------------------------

_LINUX_DMI = ("sys_vendor", "product_name", "product_version", "board_vendor", "bios_vendor")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:  # product_uuid and product_serial are readable by root only
        return None


def _systemd_detect_virt(run: Runner) -> str | None:
    program = shutil.which("systemd-detect-virt", path="/usr/bin:/bin")
    if program is None:
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        # exit status 1 with "none" on bare metal: the output is the answer either way
        _code, out, _err = run([program, "--vm"], COMMAND_TIMEOUT)
        return virtualization_from_systemd(out) or ""
    return None


def linux_identity(
    run: Runner,
    sys_root: Path = SYS_ROOT,
    machine_id: Path = MACHINE_ID,
    cpuinfo: Path = CPUINFO,
) -> tuple[str | None, list[str]]:
    dmi = sys_root / "class" / "dmi" / "id"
    fields = {name: _read(dmi / name) for name in _LINUX_DMI}
    virtualization = _systemd_detect_virt(run)
    if virtualization is None:  # no systemd: the same checks it makes, in its order
        virtualization = virtualization_from_dmi(fields)
        if virtualization is None and hypervisor_flag(_read(cpuinfo) or ""):
            virtualization = GENERIC_VM
    identifiers = _keys(
        hardware_uuid_key(_read(dmi / "product_uuid")),
        serial_key(_read(dmi / "product_serial")),
        machine_id_key(_read(machine_id)),
    )
    return virtualization or None, identifiers


# One line, single quotes only (see hardware.WINDOWS_SCRIPT for why).
WINDOWS_SCRIPT = "; ".join(
    [
        "[Console]::OutputEncoding = [Text.Encoding]::UTF8",
        "$ErrorActionPreference = 'SilentlyContinue'",
        "$p = Get-CimInstance Win32_ComputerSystemProduct | Select-Object UUID, IdentifyingNumber",
        "$b = Get-CimInstance Win32_BIOS | Select-Object SerialNumber",
        "$g = (Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Cryptography').MachineGuid",
        "@{ Product = $p; Bios = $b; MachineGuid = $g } | ConvertTo-Json -Depth 3 -Compress",
    ]
)


def _first(value: Any) -> Mapping[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else {}


def identifiers_from_windows(data: Mapping[str, Any]) -> list[str]:
    """Identifiers from the JSON object WINDOWS_SCRIPT prints (parsed)."""
    product, bios = _first(data.get("Product")), _first(data.get("Bios"))
    return _keys(
        hardware_uuid_key(product.get("UUID")),
        serial_key(product.get("IdentifyingNumber")) or serial_key(bios.get("SerialNumber")),
        machine_guid_key(data.get("MachineGuid")),
    )


def windows_identity(run: Runner, hardware: HardwareFacts | None) -> tuple[str | None, list[str]]:
    import json

    fields = {
        "sys_vendor": hardware.vendor if hardware else None,
        "product_name": hardware.model if hardware else None,
        "bios_vendor": hardware.bios_vendor if hardware else None,
    }
    virtualization = virtualization_from_dmi(fields)
    argv = [powershell_exe(), "-NoProfile", "-NonInteractive", "-Command", WINDOWS_SCRIPT]
    try:
        _code, out, _err = run(argv, COMMAND_TIMEOUT * 2)
        data = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return virtualization, []
    return virtualization, identifiers_from_windows(data if isinstance(data, Mapping) else {})


_IOREG_LINE = re.compile(r'^\s*"(?P<key>[^"]+)"\s*=\s*(?P<value>.+?)\s*$')


def ioreg_platform(text: str) -> dict[str, str]:
    """Properties of `ioreg -rd1 -c IOPlatformExpertDevice`: "key" = "text" or <"data">."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _IOREG_LINE.match(line)
        if match:
            value = match["value"]
            if value.startswith('<"') and value.endswith('">'):
                value = value[2:-2]
            elif value.startswith('"') and value.endswith('"'):
                value = value[1:-1]
            found.setdefault(match["key"], value)
    return found


def macos_identity(run: Runner) -> tuple[str | None, list[str]]:
    platform_props: dict[str, str] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        _code, out, _err = run(
            ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"], COMMAND_TIMEOUT
        )
        platform_props = ioreg_platform(out)
    virtualization = virtualization_from_dmi(
        {
            "product_name": platform_props.get("model"),
            "sys_vendor": platform_props.get("manufacturer"),
        }
    )
    if virtualization is None:
        # kern.hv_vmm_present is 1 inside a virtual machine (macOS 11+); kern.hv_support only
        # says the CPU could run one, which every Mac host can: it is not a sign of a VM.
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            _code, out, _err = run(
                ["/usr/sbin/sysctl", "-n", "kern.hv_vmm_present"], COMMAND_TIMEOUT
            )
            if out.strip() == "1":
                virtualization = GENERIC_VM
    identifiers = _keys(
        hardware_uuid_key(platform_props.get("IOPlatformUUID")),
        serial_key(platform_props.get("IOPlatformSerialNumber")),
    )
    return virtualization, identifiers


def probe_identity(
    host: HostFacts,
    hardware: HardwareFacts | None,
    *,
    system: str | None = None,
    run: Runner | None = None,
    **linux_paths: Path,
) -> None:
    """Fill `host.virtualization` and `host.identifiers`; on a virtual machine the disks'
    type becomes unknown. Never raises: a machine without identity falls back to its name."""
    run = run or run_command
    system = system or platform.system() or sys.platform
    try:
        if system == "Linux":
            found = linux_identity(run, **linux_paths)
        elif system == "Windows":
            found = windows_identity(run, hardware)
        elif system == "Darwin":
            found = macos_identity(run)
        else:
            found = (None, [])
    except Exception:  # a probe's bug must not cost the inventory: no identity, that is all
        found = (None, [])
    host.virtualization, host.identifiers = found
    mark_virtual_disks(host)


def mark_virtual_disks(host: HostFacts) -> None:
    """A virtual disk's "rotational" flag describes nothing real: on a VM it is unknown."""
    if host.virtualization:
        host.disks = [dataclasses.replace(d, rotational=None) for d in host.disks]


# --------------------------------------------------------------------------------------------
# One machine once
# --------------------------------------------------------------------------------------------


def _moment(host: HostFacts) -> datetime:
    try:
        moment = datetime.fromisoformat(host.collected_at or "")
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _short_name(hostname: str) -> str:
    return hostname.strip().split(".", 1)[0].casefold()


def newest_per_machine(machines: Sequence[Machine]) -> list[Machine]:
    """Each machine once, with its newest facts.

    Records sharing an identifier are one machine (a live scan, its own inventory file and
    an older one). A record without identifiers (an inventory from an older auditor) joins
    the newest identified machine of the same hostname, else the other records of that
    name. Order: where each machine first appears; the newest record wins (a tie: the
    later one, so a live scan beats a file written the same second)."""
    parent = list(range(len(machines)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def newest(indexes: Iterable[int]) -> int:
        return max(indexes, key=lambda j: (_moment(machines[j].host), j))

    owner: dict[str, int] = {}
    named: dict[str, list[int]] = {}
    for i, machine in enumerate(machines):
        for key in machine.host.identifiers:
            parent[root(i)] = root(owner.setdefault(key, i))
        if machine.host.identifiers:
            named.setdefault(_short_name(machine.host.hostname), []).append(i)
    for i, machine in enumerate(machines):
        if not machine.host.identifiers:
            name = _short_name(machine.host.hostname)
            target = newest(named[name]) if name in named else owner.setdefault(f"name:{name}", i)
            parent[root(i)] = root(target)
    groups: dict[int, list[int]] = {}
    for i in range(len(machines)):
        groups.setdefault(root(i), []).append(i)
    return [machines[newest(members)] for members in groups.values()]

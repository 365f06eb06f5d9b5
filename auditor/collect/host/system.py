"""Facts about the machine the auditor runs on: OS, CPU, memory, battery and disks.

`collect_host()` only describes; rules judge later. Every probe is allowed to fail: the failure
becomes one line in `HostFacts.errors` and the other probes still run, because a partial
inventory of a machine is more useful to an association than none. Each line is a `Problem`
(auditor/errors.py) from the "probe" catalog: its `str` is English, `localized("fr")` French.

The parsing is kept in small pure functions (`cpu_model_from_cpuinfo`, `base_block_device`,
`rotational_from_sys`, `select_partitions`...) so tests can feed them text and fake /sys trees
captured from other machines. On Linux nothing here starts a subprocess: everything comes from
/proc, /sys, /etc/os-release and psutil, which keeps a scan under a few tens of milliseconds.
"""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import psutil

from auditor.collect.host.commands import exception_detail
from auditor.collect.host.records import DiskFacts, HostFacts
from auditor.errors import Problem

SYS_ROOT = Path("/sys")
CPUINFO = Path("/proc/cpuinfo")

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Operating system
# --------------------------------------------------------------------------------------------


def os_version_from_os_release(fields: Mapping[str, str]) -> str:
    """Human name of a Linux distribution from the fields of /etc/os-release.

    `fields` is what `platform.freedesktop_os_release()` returns. PRETTY_NAME is what the
    distribution itself shows to people; the fallbacks follow os-release(5) defaults.
    """
    pretty = fields.get("PRETTY_NAME", "").strip()
    if pretty:
        return pretty
    name = fields.get("NAME", "").strip() or "Linux"
    version = fields.get("VERSION", "").strip() or fields.get("VERSION_ID", "").strip()
    return f"{name} {version}" if version else name


# EditionID (registry) -> the name printed on the box and in Settings > System > About.
_WINDOWS_EDITIONS = {
    "Core": "Home",
    "CoreN": "Home N",
    "CoreSingleLanguage": "Home Single Language",
    "CoreCountrySpecific": "Home China",
    "Professional": "Pro",
    "ProfessionalN": "Pro N",
    "ProfessionalEducation": "Pro Education",
    "ProfessionalWorkstation": "Pro for Workstations",
    "Enterprise": "Enterprise",
    "EnterpriseN": "Enterprise N",
    "EnterpriseS": "Enterprise LTSC",
    "EnterpriseSN": "Enterprise N LTSC",
    "Education": "Education",
    "EducationN": "Education N",
    "IoTEnterprise": "IoT Enterprise",
    "IoTEnterpriseS": "IoT Enterprise LTSC",
}

_WINDOWS_CLIENT_RELEASES = {(6, 0): "Vista", (6, 1): "7", (6, 2): "8", (6, 3): "8.1", (10, 0): "10"}

# Windows 11 kept the kernel version 10.0; its first release is build 22000.
_WINDOWS_11_FIRST_BUILD = 22000


def windows_version_string(
    version: tuple[int, int, int],
    *,
    edition: str | None,
    display_version: str | None,
    product_name: str | None = None,
    is_server: bool = False,
) -> str:
    """Human Windows version, "Windows 10 Pro 22H2", from values the registry gives.

    `version` is (major, minor, build); `edition` the registry EditionID ("Professional");
    `display_version` DisplayVersion ("22H2") or, before 20H2, ReleaseId ("2004").
    The registry ProductName is used only for servers: on Windows 11 clients it still says
    "Windows 10 Pro", whereas on servers it is right and names the year ("Windows Server 2022").
    """
    major, minor, build = version
    if is_server:
        text = product_name or "Windows Server"
    else:
        release = _WINDOWS_CLIENT_RELEASES.get((major, minor))
        if (major, minor) == (10, 0) and build >= _WINDOWS_11_FIRST_BUILD:
            release = "11"
        if release:
            text = f"Windows {release}"
        else:
            text = product_name or f"Windows {major}.{minor}"
        if edition:
            text = f"{text} {_WINDOWS_EDITIONS.get(edition, edition)}"
    if display_version:
        text = f"{text} {display_version}"
    return text


def macos_version_string(release: str) -> str:
    """ "macOS 14.4" from `platform.mac_ver()[0]` ("" when Python could not read it)."""
    return f"macOS {release}" if release else "macOS"


# --------------------------------------------------------------------------------------------
# CPU
# --------------------------------------------------------------------------------------------

# ARM Ltd cores (implementer 0x41) met on Raspberry Pis and common single-board computers and
# ARM servers. Ids and names from util-linux sys-utils/lscpu-arm.c.
_ARM_LTD = 0x41
_ARM_PARTS = {
    0xB76: "ARM1176",
    0xC07: "ARM Cortex-A7",
    0xC08: "ARM Cortex-A8",
    0xC09: "ARM Cortex-A9",
    0xC0F: "ARM Cortex-A15",
    0xD03: "ARM Cortex-A53",
    0xD04: "ARM Cortex-A35",
    0xD05: "ARM Cortex-A55",
    0xD07: "ARM Cortex-A57",
    0xD08: "ARM Cortex-A72",
    0xD09: "ARM Cortex-A73",
    0xD0A: "ARM Cortex-A75",
    0xD0B: "ARM Cortex-A76",
    0xD0C: "ARM Neoverse-N1",
}


def _cpuinfo_fields(text: str) -> dict[str, str]:
    """First value of each "key : value" line. Keys keep their case: "processor" (an index)
    and "Processor" (a model, on old ARM kernels) are different keys."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if sep and key and value and key not in fields:
            fields[key] = value
    return fields


def _arm_core_name(implementer: str | None, part: str | None) -> str | None:
    if not implementer or not part:
        return None
    try:
        if int(implementer, 16) != _ARM_LTD:
            return None
        return _ARM_PARTS.get(int(part, 16))
    except ValueError:
        return None


def cpu_model_from_cpuinfo(text: str) -> str | None:
    """CPU model from the text of /proc/cpuinfo, None when nothing names it.

    x86: "model name". ARM: the core named by "CPU implementer"/"CPU part" comes first, because
    on ARM "model name" only gives the architecture ("ARMv7 Processor rev 5 (v7l)") and is
    missing on 64-bit kernels, while "Hardware" says BCM2835 on every Raspberry Pi since kernel
    4.9 (the Raspberry Pi documentation says not to use it to detect the processor). It is
    still the last resort, after "model name" and the old kernels' "Processor" line.
    """
    fields = _cpuinfo_fields(text)
    core = _arm_core_name(fields.get("CPU implementer"), fields.get("CPU part"))
    if core:
        return core
    if "model name" in fields:
        return fields["model name"]
    return fields.get("Processor") or fields.get("Hardware")


def _linux_cpu_model() -> str | None:
    return cpu_model_from_cpuinfo(CPUINFO.read_text(encoding="utf-8", errors="replace"))


def _windows_cpu_model() -> str | None:
    # platform.processor() on Windows is "Intel64 Family 6 Model 158 Stepping 10, GenuineIntel";
    # the registry has the marketing name ("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz").
    name = _windows_registry_value(
        r"HARDWARE\DESCRIPTION\System\CentralProcessor\0", "ProcessorNameString"
    )
    return name or platform.processor() or None


def _macos_cpu_model() -> str | None:
    # Absolute path: a scan may run with a reduced PATH, and a PATH lookup could run another
    # program named sysctl.
    done = subprocess.run(
        ["/usr/sbin/sysctl", "-n", "machdep.cpu.brand_string"],
        capture_output=True,
        text=True,
        timeout=2,
        check=True,
    )
    return done.stdout.strip() or None


# --------------------------------------------------------------------------------------------
# Disks
# --------------------------------------------------------------------------------------------


class Partition(Protocol):
    """What `select_partitions` reads from a mount; psutil's `sdiskpart` fits."""

    @property
    def device(self) -> str: ...

    @property
    def mountpoint(self) -> str: ...

    @property
    def fstype(self) -> str: ...

    @property
    def opts(self) -> str: ...


P = TypeVar("P", bound=Partition)

# Filesystems that hold no user data on a disk of this machine: kernel interfaces, memory,
# images (snaps are squashfs on loop devices), container layers and optical media.
_PSEUDO_FSTYPES = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fuse",
        "fusectl",
        "hugetlbfs",
        "iso9660",
        "mqueue",
        "nsfs",
        "nullfs",
        "overlay",
        "proc",
        "pstore",
        "ramfs",
        "rpc_pipefs",
        "securityfs",
        "squashfs",
        "sysfs",
        "tmpfs",
        "tracefs",
    }
)
# Shares of another machine: not this machine's disks, and statvfs on a dead server can hang.
_NETWORK_FSTYPES = frozenset(
    {"9p", "afs", "ceph", "cifs", "glusterfs", "nfs", "nfs4", "smb3", "smbfs", "sshfs"}
)
# psutil on Windows puts the drive type in `opts`.
_WINDOWS_SKIPPED_DRIVES = frozenset({"cdrom", "remote"})
# macOS splits its APFS container into helper volumes (Preboot, VM, Update...) that the user
# never sees; the Data volume holds the user's files and stays.
_MACOS_DATA_VOLUME = "/System/Volumes/Data"


def _mount_key(mountpoint: str) -> str:
    """Comparable form of a mount point: drive letters are case-insensitive, "/" stays "/"."""
    trimmed = mountpoint.rstrip("\\/")
    if len(trimmed) >= 2 and trimmed[1] == ":":
        return trimmed.casefold()
    return trimmed or "/"


def same_mount(a: str, b: str) -> bool:
    """True when two mount points name the same place ("C:\\" and "c:", "/" and "/")."""
    return _mount_key(a) == _mount_key(b)


def keep_partition(part: Partition, system_mount: str) -> bool:
    """True when a mounted filesystem is a real disk volume of this machine.

    The system mount is always kept, whatever its type: inside a container "/" is an overlay,
    on a live system a tmpfs, and it still is where the OS lives.
    """
    if same_mount(part.mountpoint, system_mount):
        return True
    fstype = part.fstype.lower()
    if not part.device or not fstype:
        return False  # Windows lists empty card readers and disc drives without a filesystem
    if fstype in _PSEUDO_FSTYPES or fstype in _NETWORK_FSTYPES:
        return False
    if fstype.startswith("fuse."):
        return False  # gvfs, sshfs, rclone, snapfuse...; NTFS via ntfs-3g shows as "fuseblk"
    if part.device.startswith("/dev/loop"):
        return False  # disk images and snaps, whatever filesystem they carry
    if _WINDOWS_SKIPPED_DRIVES & set(part.opts.split(",")):
        return False
    mount = part.mountpoint
    if mount.startswith("/System/Volumes/") and mount != _MACOS_DATA_VOLUME:
        return False
    return not mount.startswith("/Volumes/com.apple.TimeMachine.")


def _identity(device: str) -> str:
    return device


def _any_path(_mountpoint: str) -> bool:
    return True


def select_partitions(
    partitions: Iterable[P],
    system_mount: str,
    *,
    device_key: Callable[[str], str] = _identity,
    is_dir: Callable[[str], bool] = _any_path,
) -> list[P]:
    """The mounts worth reporting as disks, one per device, in mount order.

    - When several filesystems are mounted on the same point, the last one is the visible one.
    - Mounts that `keep_partition` rejects are dropped, and so are mount points that are not
      directories (`is_dir`): Docker bind-mounts the host disk on /etc/hosts, /etc/hostname...
    - One entry per device (`device_key` maps a device to its identity, e.g. resolving
      /dev/mapper/ links): btrfs subvolumes and bind mounts would count a disk twice. The
      system mount wins, then the shortest mount point (closest to the volume's root).
    """
    visible: dict[str, P] = {}
    for part in partitions:
        key = _mount_key(part.mountpoint)
        visible.pop(key, None)
        visible[key] = part

    chosen: list[P] = []
    slot: dict[str, int] = {}
    for part in visible.values():
        is_system = same_mount(part.mountpoint, system_mount)
        if not keep_partition(part, system_mount):
            continue
        if not is_system and not is_dir(part.mountpoint):
            continue
        key = device_key(part.device)
        if key not in slot:
            slot[key] = len(chosen)
            chosen.append(part)
            continue
        current = chosen[slot[key]]
        if same_mount(current.mountpoint, system_mount):
            continue
        if is_system or len(part.mountpoint) < len(current.mountpoint):
            chosen[slot[key]] = part
    return chosen


# Partitions named "<disk>p<N>": the disk name ends in a digit, so the kernel adds a "p".
_PARTITION_WITH_P = re.compile(r"^(?P<disk>(?:nvme\d+n\d+|mmcblk\d+|loop\d+|nbd\d+|md\d+))p\d+$")
# Partitions named "<disk><N>" for disks named by letters: sda1, hdb2, vda3, xvda1.
_PARTITION_DIGITS = re.compile(r"^(?P<disk>(?:s|h|v|xv)d[a-z]+)\d+$")


def base_block_device(name: str) -> str:
    """Kernel name of the disk holding a partition: sda1 -> sda, nvme0n1p2 -> nvme0n1,
    mmcblk0p1 -> mmcblk0. A name that is not a known partition pattern (a whole disk, dm-0,
    md0, zram0) comes back unchanged."""
    name = name.removeprefix("/dev/")
    match = _PARTITION_WITH_P.match(name) or _PARTITION_DIGITS.match(name)
    return match.group("disk") if match else name


_MAX_STACK_DEPTH = 8  # LUKS over LVM over RAID is 3; the bound only guards against a loop


def rotational_from_sys(sys_root: Path, device: str, _depth: int = 0) -> bool | None:
    """Whether a block device spins, read from a sysfs tree rooted at `sys_root`.

    `device` is a kernel name or a /dev path with symlinks already resolved (/dev/dm-0, not
    /dev/mapper/vg-root). Partitions are looked up on their disk. Stacked devices (device
    mapper: LVM, LUKS; md RAID) are judged from the devices under them, listed in
    `slaves/`: their own flag is not reliable on older kernels. Any spinning member makes the
    stack rotational, all solid ones make it solid, anything else is unknown (None).
    """
    if _depth > _MAX_STACK_DEPTH:
        return None
    name = device.removeprefix("/dev/")
    if not name or "/" in name:
        return None  # zfs datasets, "overlay", unresolved /dev/mapper paths
    block = sys_root / "block"
    if not (block / name).is_dir():
        name = base_block_device(name)
    disk = block / name
    try:
        if not disk.is_dir():
            return None
        slaves_dir = disk / "slaves"
        slaves = sorted(p.name for p in slaves_dir.iterdir()) if slaves_dir.is_dir() else []
        if slaves:
            below = [rotational_from_sys(sys_root, slave, _depth + 1) for slave in slaves]
            if any(value is True for value in below):
                return True
            if all(value is False for value in below):
                return False
            return None
        flag = (disk / "queue" / "rotational").read_text(encoding="ascii").strip()
    except OSError:
        return None
    return {"1": True, "0": False}.get(flag)


def _device_key(device: str) -> str:
    # /dev/mapper/vg-root, /dev/disk/by-uuid/... are symlinks to the kernel node (/dev/dm-0).
    if device.startswith("/dev/"):
        return os.path.realpath(device)
    return device


def _system_mount(system: str) -> str:
    if system == "Windows":
        drive = os.environ.get("SystemDrive") or "C:"
        return drive.rstrip("\\") + "\\"
    return "/"


def _partitions(system_mount: str) -> list[Partition]:
    parts: list[Partition] = list(psutil.disk_partitions(all=False))
    if not any(same_mount(p.mountpoint, system_mount) for p in parts):
        # On Linux all=False keeps only the filesystem types /proc/filesystems does not flag
        # "nodev", which drops an overlay "/" (containers) or a tmpfs "/" (live systems).
        roots = [
            p for p in psutil.disk_partitions(all=True) if same_mount(p.mountpoint, system_mount)
        ]
        parts.extend(roots[-1:])  # the last mount on "/" is the visible one
    return parts


def _disks(system: str, errors: list[str]) -> list[DiskFacts]:
    system_mount = _system_mount(system)
    try:
        partitions = _partitions(system_mount)
        chosen = select_partitions(
            partitions, system_mount, device_key=_device_key, is_dir=os.path.isdir
        )
    except Exception as exc:  # reported, never raised
        errors.append(_failure("probe.host.disks", exc))
        return []

    disks: list[DiskFacts] = []
    for part in chosen:
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except Exception as exc:  # PermissionError, a vanished mount...
            errors.append(_failure("probe.host.disk", exc, mount=part.mountpoint))
            continue
        rotational = None
        if system == "Linux":
            # Windows and macOS need their own probes (a later issue); None means "not said".
            rotational = rotational_from_sys(SYS_ROOT, _device_key(part.device))
        disks.append(
            DiskFacts(
                mountpoint=part.mountpoint,
                device=part.device,
                fstype=part.fstype,
                total_bytes=int(usage.total),
                used_bytes=int(usage.used),
                rotational=rotational,
                is_system=same_mount(part.mountpoint, system_mount),
            )
        )
    return disks


# --------------------------------------------------------------------------------------------
# Collection
# --------------------------------------------------------------------------------------------


def _failure(key: str, exc: BaseException, **values: object) -> Problem:
    """The line `key` ("probe.host.memory": "memory: not readable ({detail})") for `exc`."""
    return Problem(key, detail=exception_detail(exc), **values)


def _probe(errors: list[str], key: str, read: Callable[[], T], default: T) -> T:
    try:
        return read()
    except Exception as exc:  # one failed probe must not stop the others
        errors.append(_failure(key, exc))
        return default


def _windows_registry_value(key_path: str, name: str) -> str | None:
    import winreg  # only on Windows

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key_path) as key:
            value, _kind = winreg.QueryValueEx(key, name)
    except OSError:
        return None
    text = str(value).strip()
    return text or None


def _windows_version() -> str:
    # sys.getwindowsversion().platform_version is the real kernel version, read without the
    # `cmd /c ver` subprocess platform.win32_ver() starts, and not shimmed by compatibility mode.
    info = sys.getwindowsversion()  # type: ignore[attr-defined]
    major, minor, build = info.platform_version[:3]
    current = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
    display = _windows_registry_value(current, "DisplayVersion") or _windows_registry_value(
        current, "ReleaseId"
    )
    return windows_version_string(
        (major, minor, build),
        edition=platform.win32_edition(),
        display_version=display,
        product_name=_windows_registry_value(current, "ProductName"),
        is_server=info.product_type != 1,  # 1 is VER_NT_WORKSTATION
    )


def _os_version(system: str) -> str:
    if system == "Linux":
        return os_version_from_os_release(platform.freedesktop_os_release())
    if system == "Windows":
        return _windows_version()
    if system == "Darwin":
        return macos_version_string(platform.mac_ver()[0])
    return f"{system} {platform.release()}".strip()


def _os_release(system: str) -> str:
    if system == "Windows":
        info = sys.getwindowsversion()  # type: ignore[attr-defined]
        major, minor, build = info.platform_version[:3]
        return f"{major}.{minor}.{build}"  # platform.release() only says "10"
    return platform.release()


def _cpu_model(system: str) -> str | None:
    if system == "Linux":
        return _linux_cpu_model()
    if system == "Windows":
        return _windows_cpu_model()
    if system == "Darwin":
        return _macos_cpu_model()
    return platform.processor() or None


def _boot_time() -> str:
    return datetime.fromtimestamp(psutil.boot_time(), tz=UTC).isoformat(timespec="seconds")


def _battery(errors: list[str]) -> tuple[bool, float | None]:
    read = getattr(psutil, "sensors_battery", None)
    if read is None:
        errors.append(Problem("probe.battery.psutil_no_probe"))
        return False, None
    try:
        battery = read()
    except Exception as exc:  # some laptops' sysfs entries raise here
        errors.append(_failure("probe.battery.error", exc))
        return False, None
    if battery is None:
        return False, None  # psutil's way of saying "no battery"
    percent = battery.percent
    return True, None if percent is None else float(percent)


def collect_host() -> HostFacts:
    """Describe this machine. Never raises for a probe failure: see `HostFacts.errors`."""
    errors: list[str] = []
    hostname = _probe(errors, "probe.host.hostname", socket.gethostname, "")
    system = _probe(errors, "probe.host.os_name", platform.system, "") or sys.platform
    os_version = _probe(errors, "probe.host.os_version", lambda: _os_version(system), system)
    os_release = _probe(errors, "probe.host.os_release", lambda: _os_release(system), "")
    cpu_model = _probe(errors, "probe.host.cpu_model", lambda: _cpu_model(system), None)
    cores = _probe(errors, "probe.host.cpu_cores", lambda: psutil.cpu_count(logical=False), None)
    threads = _probe(errors, "probe.host.cpu_threads", psutil.cpu_count, None)
    ram_bytes = _probe(errors, "probe.host.memory", lambda: int(psutil.virtual_memory().total), 0)
    boot_time = _probe(errors, "probe.host.boot_time", _boot_time, None)
    battery_present, battery_percent = _battery(errors)
    disks = _disks(system, errors)
    return HostFacts(
        hostname=hostname,
        os_name=system,
        os_version=os_version,
        os_release=os_release,
        cpu_model=cpu_model,
        cpu_cores_physical=cores,
        cpu_cores_logical=threads,
        ram_bytes=ram_bytes,
        boot_time=boot_time,
        battery_present=battery_present,
        battery_percent=battery_percent,
        disks=disks,
        errors=errors,
    )

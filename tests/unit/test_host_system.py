"""Host collector: pure parsers on captured text, fake /sys trees, and one run on this machine."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

from auditor.collect.host import system
from auditor.collect.host.system import (
    base_block_device,
    collect_host,
    cpu_model_from_cpuinfo,
    keep_partition,
    macos_version_string,
    os_version_from_os_release,
    rotational_from_sys,
    same_mount,
    select_partitions,
    windows_version_string,
)
from tests.helpers import assert_probe_lines

# --------------------------------------------------------------------------------------------
# /proc/cpuinfo
# --------------------------------------------------------------------------------------------

# The machine these tests were written on (Debian 12 VM), first processor block of
# /proc/cpuinfo, copied verbatim except the "flags" and "bugs" lines, cut to fit 100 columns.
CPUINFO_XEON_VM = """\
processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 167
model name	: Intel(R) Xeon(R) Processor
stepping	: 1
microcode	: 0x1
cpu MHz		: 2599.998
cache size	: 491520 KB
physical id	: 0
siblings	: 2
core id		: 0
cpu cores	: 2
apicid		: 0
initial apicid	: 0
fpu		: yes
fpu_exception	: yes
cpuid level	: 36
wp		: yes
flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36
bugs		: spectre_v1 spectre_v2 spec_store_bypass swapgs retbleed bhi spectre_v2_user
bogomips	: 5199.99
clflush size	: 64
cache_alignment	: 64
address sizes	: 48 bits physical, 57 bits virtual
power management:

processor	: 1
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Processor
"""

# Raspberry Pi 5 on 64-bit Raspberry Pi OS: no "model name", and "Hardware" says BCM2835 on a
# BCM2712. From https://github.com/raspberrypi/bookworm-feedback/issues/129 (processors 1-3,
# identical to processor 0, left out).
CPUINFO_PI5_64BIT = """\
processor	: 0
BogoMIPS	: 108.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x4
CPU part	: 0xd0b
CPU revision	: 1

Hardware	: BCM2835
Revision	: d04170
Serial		: ee14f78c1312ce93
Model		: Raspberry Pi 5 Model B Rev 1.0
"""

# Raspberry Pi 2 Model B on 32-bit Raspbian: "model name" only names the architecture.
# From https://github.com/volumio/Volumio2/issues/1388 (processors 1-3 left out).
CPUINFO_PI2_32BIT = """\
processor	: 0
model name	: ARMv7 Processor rev 5 (v7l)
BogoMIPS	: 38.40
Features	: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm
CPU implementer	: 0x41
CPU architecture: 7
CPU variant	: 0x0
CPU part	: 0xc07
CPU revision	: 5

Hardware	: BCM2835
Revision	: a01041
Serial		: 00000000537f787a
"""

# Raspberry Pi 1 on a 2012 kernel: the model is on a capitalised "Processor" line and there is
# no "processor : 0" index. From https://github.com/joyent/libuv/issues/526 (stolsma's comment).
CPUINFO_PI1_OLD_KERNEL = """\
Processor       : ARMv6-compatible processor rev 7 (v6l)
BogoMIPS        : 697.95
Features        : swp half thumb fastmult vfp edsp java tls
CPU implementer : 0x41
CPU architecture: 7
CPU variant     : 0x0
CPU part        : 0xb76
CPU revision    : 7

Hardware        : BCM2708
Revision        : 0002
Serial          : 000000000616ba5a
"""

# PandaBoard (OMAP4): "Processor" (the model) comes before "processor" (an index).
# From https://github.com/joyent/libuv/issues/526 (issue description).
CPUINFO_PANDABOARD = """\
Processor       : ARMv7 Processor rev 2 (v7l)
processor       : 0
BogoMIPS        : 596.46

processor       : 1
BogoMIPS        : 599.22

Features        : swp half thumb fastmult vfp edsp thumbee neon vfpv3 tls
CPU implementer : 0x41
CPU architecture: 7
CPU variant     : 0x1
CPU part        : 0xc09
CPU revision    : 2

Hardware        : OMAP4 Panda board
Revision        : 0020
Serial          : 0000000000000000
"""


def _without(text: str, *keys: str) -> str:
    """A fixture with some lines removed, to reach the fallbacks with otherwise real text."""
    return "\n".join(line for line in text.splitlines() if line.split(":")[0].strip() not in keys)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CPUINFO_XEON_VM, "Intel(R) Xeon(R) Processor"),
        (CPUINFO_PI5_64BIT, "ARM Cortex-A76"),
        (CPUINFO_PI2_32BIT, "ARM Cortex-A7"),
        (CPUINFO_PI1_OLD_KERNEL, "ARM1176"),
        (CPUINFO_PANDABOARD, "ARM Cortex-A9"),
    ],
    ids=["xeon-vm", "pi5-64bit", "pi2-32bit", "pi1-old-kernel", "pandaboard"],
)
def test_cpu_model_from_real_cpuinfo(text: str, expected: str) -> None:
    assert cpu_model_from_cpuinfo(text) == expected


def test_cpu_model_unknown_arm_part_falls_back_to_model_name() -> None:
    text = CPUINFO_PI2_32BIT.replace("CPU part\t: 0xc07", "CPU part\t: 0xfff")
    assert cpu_model_from_cpuinfo(text) == "ARMv7 Processor rev 5 (v7l)"


def test_cpu_model_other_implementer_is_not_read_as_arm_ltd() -> None:
    # 0x51 is Qualcomm: part 0xc07 is not a Cortex-A7 there.
    text = CPUINFO_PI2_32BIT.replace("CPU implementer\t: 0x41", "CPU implementer\t: 0x51")
    assert cpu_model_from_cpuinfo(text) == "ARMv7 Processor rev 5 (v7l)"


def test_cpu_model_capitalised_processor_line_when_no_part() -> None:
    text = _without(CPUINFO_PANDABOARD, "CPU implementer", "CPU part")
    assert cpu_model_from_cpuinfo(text) == "ARMv7 Processor rev 2 (v7l)"


def test_cpu_model_processor_index_is_never_a_model() -> None:
    text = _without(CPUINFO_PI5_64BIT, "CPU implementer", "CPU part", "Hardware")
    assert cpu_model_from_cpuinfo(text) is None


def test_cpu_model_hardware_is_the_last_resort() -> None:
    text = _without(CPUINFO_PI5_64BIT, "CPU implementer", "CPU part")
    assert cpu_model_from_cpuinfo(text) == "BCM2835"


@pytest.mark.parametrize("text", ["", "\n\n", "garbage without colon\n", "model name\t:\n"])
def test_cpu_model_nothing_named(text: str) -> None:
    assert cpu_model_from_cpuinfo(text) is None


# --------------------------------------------------------------------------------------------
# OS names
# --------------------------------------------------------------------------------------------

# /etc/os-release of this machine, as platform.freedesktop_os_release() returns it.
OS_RELEASE_DEBIAN_12 = {
    "NAME": "Debian GNU/Linux",
    "ID": "debian",
    "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)",
    "VERSION_ID": "12",
    "VERSION": "12 (bookworm)",
    "VERSION_CODENAME": "bookworm",
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (OS_RELEASE_DEBIAN_12, "Debian GNU/Linux 12 (bookworm)"),
        ({**OS_RELEASE_DEBIAN_12, "PRETTY_NAME": "  "}, "Debian GNU/Linux 12 (bookworm)"),
        ({"NAME": "Alpine Linux", "VERSION_ID": "3.19.1"}, "Alpine Linux 3.19.1"),
        ({"NAME": "Arch Linux"}, "Arch Linux"),
        ({}, "Linux"),
    ],
)
def test_os_version_from_os_release(fields: dict[str, str], expected: str) -> None:
    assert os_version_from_os_release(fields) == expected


@pytest.mark.parametrize(
    ("version", "edition", "display", "product", "server", "expected"),
    [
        ((10, 0, 19045), "Professional", "22H2", "Windows 10 Pro", False, "Windows 10 Pro 22H2"),
        # Windows 11's registry ProductName still says "Windows 10"; the build tells.
        ((10, 0, 22631), "Core", "23H2", "Windows 10 Home", False, "Windows 11 Home 23H2"),
        ((10, 0, 22000), "Education", "21H2", None, False, "Windows 11 Education 21H2"),
        ((10, 0, 19041), "Enterprise", "2004", None, False, "Windows 10 Enterprise 2004"),
        ((10, 0, 17763), "EnterpriseS", None, None, False, "Windows 10 Enterprise LTSC"),
        ((6, 1, 7601), "Professional", None, "Windows 7 Professional", False, "Windows 7 Pro"),
        ((10, 0, 26100), "SomeNewEdition", "24H2", None, False, "Windows 11 SomeNewEdition 24H2"),
        ((10, 0, 19045), None, None, None, False, "Windows 10"),
        (
            (10, 0, 20348),
            "ServerStandard",
            "21H2",
            "Windows Server 2022 Standard",
            True,
            "Windows Server 2022 Standard 21H2",
        ),
        ((10, 0, 17763), "ServerStandard", None, None, True, "Windows Server"),
    ],
)
def test_windows_version_string(
    version: tuple[int, int, int],
    edition: str | None,
    display: str | None,
    product: str | None,
    server: bool,
    expected: str,
) -> None:
    got = windows_version_string(
        version, edition=edition, display_version=display, product_name=product, is_server=server
    )
    assert got == expected


def test_macos_version_string() -> None:
    assert macos_version_string("14.4") == "macOS 14.4"
    assert macos_version_string("") == "macOS"


# --------------------------------------------------------------------------------------------
# Block devices and /sys
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "disk"),
    [
        ("sda1", "sda"),
        ("/dev/sda1", "sda"),
        ("sdab12", "sdab"),
        ("hdb2", "hdb"),
        ("vda3", "vda"),
        ("xvda1", "xvda"),
        ("nvme0n1p2", "nvme0n1"),
        ("nvme10n2p11", "nvme10n2"),
        ("mmcblk0p1", "mmcblk0"),
        ("md127p1", "md127"),
        ("loop0p1", "loop0"),
        # whole disks and stacked devices stay as they are
        ("sda", "sda"),
        ("nvme0n1", "nvme0n1"),
        ("mmcblk0", "mmcblk0"),
        ("dm-0", "dm-0"),
        ("md0", "md0"),
        ("zram0", "zram0"),
        ("loop7", "loop7"),
        ("sr0", "sr0"),
    ],
)
def test_base_block_device(name: str, disk: str) -> None:
    assert base_block_device(name) == disk


def _disk(sys_root: Path, name: str, rotational: str | None) -> None:
    queue = sys_root / "block" / name / "queue"
    queue.mkdir(parents=True)
    if rotational is not None:
        (queue / "rotational").write_text(rotational + "\n")


def _stack(sys_root: Path, name: str, own_flag: str, *slaves: str) -> None:
    """A device-mapper or md device; its own flag is set to mislead, to show slaves decide."""
    _disk(sys_root, name, own_flag)
    for slave in slaves:
        (sys_root / "block" / name / "slaves" / slave).mkdir(parents=True)


@pytest.fixture
def fake_sys(tmp_path: Path) -> Path:
    """A laptop-ish /sys: a hard disk, two SSDs, an SD card, LVM and LUKS on top, a RAID."""
    _disk(tmp_path, "sda", "1")  # hard disk
    _disk(tmp_path, "nvme0n1", "0")
    _disk(tmp_path, "nvme1n1", "0")
    _disk(tmp_path, "mmcblk0", "0")
    _disk(tmp_path, "loop0", "0")
    _disk(tmp_path, "sdb", None)  # no rotational file (odd driver)
    _disk(tmp_path, "sdc", "maybe")
    _stack(tmp_path, "dm-0", "0", "sda2")  # LVM on the hard disk
    _stack(tmp_path, "dm-1", "0", "dm-0")  # LUKS inside that LVM volume
    _stack(tmp_path, "dm-2", "0", "nvme0n1p3")  # LUKS on the SSD
    _stack(tmp_path, "dm-3", "0", "nvme0n1p4", "sda3")  # LVM spanning SSD and hard disk
    _stack(tmp_path, "md0", "1", "nvme0n1p1", "nvme1n1p1")  # RAID 1 of SSDs
    _stack(tmp_path, "dm-4", "0", "sdb1")  # over a disk that does not say
    _stack(tmp_path, "dm-5", "0", "dm-5")  # a loop, which a sane kernel never makes
    return tmp_path


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("sda1", True),
        ("/dev/sda1", True),
        ("sda", True),
        ("nvme0n1p2", False),
        ("mmcblk0p1", False),
        ("loop0", False),  # a whole device whose name ends in a digit is not cut to "loop"
        ("/dev/dm-0", True),  # own flag says 0, the hard disk below spins
        ("dm-1", True),
        ("dm-2", False),
        ("dm-3", True),
        ("md0", False),  # own flag says 1, both members are SSDs
        ("sdb1", None),
        ("sdc1", None),
        ("dm-4", None),
        ("dm-5", None),
        ("sdz1", None),  # not in /sys at all
        ("overlay", None),
        ("rpool/ROOT/debian", None),  # a zfs dataset
        ("/dev/mapper/vg-root", None),  # the caller resolves links first
        ("", None),
    ],
)
def test_rotational_from_sys(fake_sys: Path, device: str, expected: bool | None) -> None:
    assert rotational_from_sys(fake_sys, device) is expected


def test_rotational_without_sys(tmp_path: Path) -> None:
    assert rotational_from_sys(tmp_path / "nothing", "sda1") is None


# --------------------------------------------------------------------------------------------
# Choosing the mounts that are disks
# --------------------------------------------------------------------------------------------


class Part(NamedTuple):
    device: str
    mountpoint: str
    fstype: str
    opts: str = "rw"


def _mounts(parts: list[Part]) -> list[str]:
    return [p.mountpoint for p in parts]


# psutil.disk_partitions(all=True) on this machine (a VM sandbox), copied.
THIS_VM_ALL = [
    Part("proc", "/proc", "proc"),
    Part("sysfs", "/sys", "sysfs"),
    Part("devtmpfs", "/dev", "devtmpfs"),
    Part("tmpfs", "/dev/shm", "tmpfs"),
    Part("devpts", "/dev/pts", "devpts"),
    Part("/dev/vda", "/", "ext4"),
    Part("model_tools_unavailable", "/mnt/sandboxing/model_tools_env/v1/python", "tmpfs"),
    Part("devpts", "/dev/pts", "devpts"),
    Part("tmpfs", "/dev/shm", "tmpfs"),
    Part("tmpfs", "/sys/fs/cgroup", "tmpfs"),
    Part("cgroup", "/sys/fs/cgroup/cpu", "cgroup"),
    Part("cgroup2", "/sys/fs/cgroup/unified", "cgroup2"),
]


def test_select_this_vm() -> None:
    assert select_partitions(THIS_VM_ALL, "/") == [Part("/dev/vda", "/", "ext4")]


# Written for this test, after the layout Docker gives a container: overlay root, and the
# host's disk bind-mounted on three files.
DOCKER = [
    Part("overlay", "/", "overlay"),
    Part("proc", "/proc", "proc"),
    Part("tmpfs", "/dev", "tmpfs"),
    Part("/dev/sda1", "/etc/resolv.conf", "ext4"),
    Part("/dev/sda1", "/etc/hostname", "ext4"),
    Part("/dev/sda1", "/etc/hosts", "ext4"),
    Part("/dev/sda1", "/data", "ext4"),  # a volume: a directory of the host disk
]
DOCKER_FILES = {"/etc/resolv.conf", "/etc/hostname", "/etc/hosts"}


def test_select_container_keeps_overlay_root_and_skips_bind_mounted_files() -> None:
    chosen = select_partitions(DOCKER, "/", is_dir=lambda m: m not in DOCKER_FILES)
    assert _mounts(chosen) == ["/", "/data"]


def test_select_container_without_volume() -> None:
    # Only the bind-mounted files use the host disk: nothing but "/" is a disk here.
    files_only = [p for p in DOCKER if p.mountpoint != "/data"]
    chosen = select_partitions(files_only, "/", is_dir=lambda m: m not in DOCKER_FILES)
    assert _mounts(chosen) == ["/"]


# Written for this test, after an Ubuntu desktop with snaps, a USB key and GNOME's FUSE mounts.
UBUNTU_DESKTOP = [
    Part("/dev/nvme0n1p2", "/", "ext4"),
    Part("/dev/loop0", "/snap/core22/1122", "squashfs", "ro"),
    Part("/dev/loop1", "/snap/firefox/4173", "squashfs", "ro"),
    Part("/dev/nvme0n1p1", "/boot/efi", "vfat"),
    Part("tmpfs", "/run", "tmpfs"),
    Part("/dev/sda1", "/media/alice/CLE USB", "vfat"),
    Part("/dev/sdb1", "/media/alice/Windows", "fuseblk"),  # NTFS via ntfs-3g: a real disk
    Part("gvfsd-fuse", "/run/user/1000/gvfs", "fuse.gvfsd-fuse"),
    Part("portal", "/run/user/1000/doc", "fuse.portal"),
    Part("nas:/volume1/partage", "/mnt/nas", "nfs4"),
    Part("//nas/compta", "/mnt/compta", "cifs"),
    Part("/dev/sr0", "/media/alice/CDROM", "iso9660", "ro"),
]


def test_select_desktop() -> None:
    chosen = select_partitions(UBUNTU_DESKTOP, "/")
    assert _mounts(chosen) == ["/", "/boot/efi", "/media/alice/CLE USB", "/media/alice/Windows"]


def test_select_one_entry_per_device_system_mount_wins() -> None:
    btrfs = [
        Part("/dev/sda2", "/home", "btrfs"),  # listed before "/" on purpose
        Part("/dev/sda2", "/", "btrfs"),
        Part("/dev/sda2", "/var/log", "btrfs"),
        Part("/dev/sdb1", "/srv/data/www", "ext4"),  # a bind mount listed first
        Part("/dev/sdb1", "/srv/data", "ext4"),
    ]
    assert _mounts(select_partitions(btrfs, "/")) == ["/", "/srv/data"]


def test_select_dedupes_on_device_identity() -> None:
    links = {"/dev/mapper/vg-root": "/dev/dm-0"}
    parts = [Part("/dev/mapper/vg-root", "/", "ext4"), Part("/dev/dm-0", "/mnt/again", "ext4")]
    chosen = select_partitions(parts, "/", device_key=lambda d: links.get(d, d))
    assert chosen == [parts[0]]


def test_select_last_mount_on_a_point_is_the_visible_one() -> None:
    parts = [Part("rootfs", "/", "rootfs"), Part("/dev/sda1", "/", "ext4")]
    assert select_partitions(parts, "/") == [parts[1]]


# psutil.disk_partitions() shape on Windows: drive type in opts. Written for this test.
WINDOWS = [
    Part("C:\\", "C:\\", "NTFS", "rw,fixed"),
    Part("D:\\", "D:\\", "CDFS", "ro,cdrom"),
    Part("E:\\", "E:\\", "FAT32", "rw,removable"),
    Part("F:\\", "F:\\", "", "rw,removable"),  # card reader without a card
    Part("Z:\\", "Z:\\", "NTFS", "rw,remote"),  # mapped network drive
]


def test_select_windows() -> None:
    chosen = select_partitions(WINDOWS, "c:\\")
    assert _mounts(chosen) == ["C:\\", "E:\\"]
    assert same_mount(chosen[0].mountpoint, "c:")


# macOS 14 mount layout (device names as `mount` prints them), written for this test.
MACOS = [
    Part("/dev/disk3s1s1", "/", "apfs", "ro,local,rootfs,dovolfs,journaled,multilabel"),
    Part("devfs", "/dev", "devfs"),
    Part("/dev/disk3s6", "/System/Volumes/VM", "apfs"),
    Part("/dev/disk3s2", "/System/Volumes/Preboot", "apfs"),
    Part("/dev/disk3s4", "/System/Volumes/Update", "apfs"),
    Part("/dev/disk1s2", "/System/Volumes/xarts", "apfs"),
    Part("/dev/disk1s1", "/System/Volumes/iSCPreboot", "apfs"),
    Part("/dev/disk1s3", "/System/Volumes/Hardware", "apfs"),
    Part("/dev/disk3s5", "/System/Volumes/Data", "apfs"),
    Part("map auto_home", "/System/Volumes/Data/home", "autofs"),
    Part("/dev/disk5s1", "/Volumes/Sauvegarde", "hfs"),
]


def test_select_macos() -> None:
    assert _mounts(select_partitions(MACOS, "/")) == [
        "/",
        "/System/Volumes/Data",
        "/Volumes/Sauvegarde",
    ]


def test_keep_partition_system_mount_whatever_its_type() -> None:
    assert keep_partition(Part("overlay", "/", "overlay"), "/")
    assert not keep_partition(Part("overlay", "/var/lib/docker/x", "overlay"), "/")
    assert keep_partition(Part("tmpfs", "/", "tmpfs"), "/")  # live system


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("/", "/", True), ("C:\\", "c:", True), ("/data", "/Data", False), ("/", "/data", False)],
)
def test_same_mount(a: str, b: str, same: bool) -> None:
    assert same_mount(a, b) is same


# --------------------------------------------------------------------------------------------
# collect_host() on this machine
# --------------------------------------------------------------------------------------------


def test_collect_host_on_this_machine() -> None:
    facts = collect_host()

    assert facts.hostname == socket.gethostname()
    assert facts.os_name == platform.system()
    assert facts.os_version
    assert facts.source == "local"
    assert facts.ram_bytes == psutil.virtual_memory().total
    assert facts.cpu_cores_logical == psutil.cpu_count()
    if facts.cpu_cores_physical is not None and facts.cpu_cores_logical is not None:
        assert 1 <= facts.cpu_cores_physical <= facts.cpu_cores_logical

    assert facts.boot_time is not None
    booted = datetime.fromisoformat(facts.boot_time)
    assert booted.utcoffset() is not None and booted.utcoffset().total_seconds() == 0
    assert datetime(2000, 1, 1, tzinfo=UTC) < booted <= datetime.now(UTC)
    assert abs(booted.timestamp() - psutil.boot_time()) < 1

    if facts.battery_present:
        assert facts.battery_percent is None or 0 <= facts.battery_percent <= 100
    else:
        assert facts.battery_percent is None

    system_disks = [d for d in facts.disks if d.is_system]
    assert len(system_disks) == 1
    if os.name == "posix":
        assert system_disks[0].mountpoint == "/"
    for disk in facts.disks:
        assert 0 < disk.total_bytes
        assert 0 <= disk.used_bytes <= disk.total_bytes
        assert disk.rotational in (True, False, None)
    devices = [os.path.realpath(d.device) for d in facts.disks if d.device.startswith("/dev/")]
    assert len(devices) == len(set(devices))

    for line in facts.errors:
        assert isinstance(line, str) and line and "\n" not in line


@pytest.mark.skipif(sys.platform != "linux", reason="Linux facts")
def test_collect_host_linux_facts() -> None:
    facts = collect_host()
    assert facts.errors == []
    assert facts.os_version == platform.freedesktop_os_release()["PRETTY_NAME"]
    assert facts.os_release == os.uname().release
    assert facts.cpu_model == cpu_model_from_cpuinfo(Path("/proc/cpuinfo").read_text())
    root = next(d for d in facts.disks if d.is_system)
    usage = psutil.disk_usage("/")
    assert root.total_bytes == usage.total


def test_collect_host_is_fast() -> None:
    best = min(_timed(collect_host) for _ in range(3))
    assert best < 0.5


def _timed(func: object) -> float:
    start = time.perf_counter()
    func()  # type: ignore[operator]
    return time.perf_counter() - start


@pytest.mark.skipif(sys.platform != "linux", reason="the no-subprocess promise is for Linux")
def test_collect_host_starts_no_process_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        started.append(args)
        raise AssertionError("subprocess started")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    facts = collect_host()
    assert started == []
    assert facts.errors == []


# --------------------------------------------------------------------------------------------
# A probe that fails is one line in errors, never an exception
# --------------------------------------------------------------------------------------------


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom\nsecond line")


def test_battery_probe_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "sensors_battery", _boom)
    facts = collect_host()
    assert "battery: not readable (RuntimeError: boom second line)" in facts.errors
    assert facts.battery_present is False and facts.battery_percent is None
    assert facts.ram_bytes == psutil.virtual_memory().total  # the rest went on


def test_battery_probe_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(psutil, "sensors_battery")
    facts = collect_host()
    assert any(line.startswith("battery: not readable") for line in facts.errors)
    assert facts.battery_present is False


def test_battery_present(monkeypatch: pytest.MonkeyPatch) -> None:
    class Battery(NamedTuple):
        percent: float
        secsleft: int
        power_plugged: bool

    monkeypatch.setattr(psutil, "sensors_battery", lambda: Battery(42.5, 3600, False))
    facts = collect_host()
    assert (facts.battery_present, facts.battery_percent) == (True, 42.5)


def test_disk_usage_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: str) -> None:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(psutil, "disk_usage", denied)
    facts = collect_host()
    assert facts.disks == []
    root = "/" if os.name == "posix" else os.environ.get("SystemDrive", "C:") + "\\"
    expected = f"disk {root}: not readable (PermissionError: [Errno 13] Permission denied: "
    assert any(line.startswith(expected) for line in facts.errors)


@pytest.mark.skipif(os.name != "posix", reason="overlay roots are a Linux container thing")
def test_container_overlay_root_is_the_system_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    # psutil's all=False drops "nodev" filesystems such as overlay: inside a container it
    # returns no "/" at all. Usage of the real "/" stands in for the overlay's.
    overlay = Part("overlay", "/", "overlay", "rw,relatime,lowerdir=/var/lib/docker/l/X")
    mounts = {False: [Part("/dev/sda1", "/etc/hosts", "ext4")], True: [overlay]}
    monkeypatch.setattr(psutil, "disk_partitions", lambda all=False: mounts[all])
    facts = collect_host()
    assert [(d.mountpoint, d.device, d.is_system, d.rotational) for d in facts.disks] == [
        ("/", "overlay", True, None)
    ]


def test_every_probe_failing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("virtual_memory", "boot_time", "cpu_count", "disk_partitions"):
        monkeypatch.setattr(psutil, name, _boom)
    monkeypatch.setattr(socket, "gethostname", _boom)
    monkeypatch.setattr(platform, "freedesktop_os_release", _boom)
    monkeypatch.setattr(system, "CPUINFO", tmp_path / "no-cpuinfo")

    facts = collect_host()

    assert facts.hostname == "" and facts.ram_bytes == 0 and facts.boot_time is None
    assert facts.cpu_cores_logical is None and facts.disks == []
    prefixes = {line.split(":")[0] for line in facts.errors}
    assert {"hostname", "memory", "boot time", "cpu cores", "cpu threads", "disks"} <= prefixes
    if sys.platform == "linux":
        assert {"os version", "cpu model"} <= prefixes
        assert facts.os_version == "Linux" and facts.cpu_model is None


# --------------------------------------------------------------------------------------------
# Probe failures are lines in both languages
# --------------------------------------------------------------------------------------------


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom\nsecond line")


def test_host_probe_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "sensors_battery", _boom)
    monkeypatch.setattr(psutil, "virtual_memory", _boom)
    facts = collect_host()
    assert_probe_lines(
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
    assert_probe_lines(
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
    assert_probe_lines(lines, [f"disk {root}: not readable ({detail})"])
    assert lines[0].localized("fr") == f"disque {root} : illisible ({detail})"

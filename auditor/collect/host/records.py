"""Typed rows that host collectors produce."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DiskFacts:
    mountpoint: str
    device: str
    fstype: str
    total_bytes: int
    used_bytes: int
    rotational: bool | None  # None: the OS did not say
    is_system: bool  # holds the OS (/ or C:\)


@dataclass(slots=True)
class HostFacts:
    hostname: str
    os_name: str  # "Linux", "Windows", "Darwin"
    os_version: str  # "Debian GNU/Linux 12 (bookworm)", "Windows 10 Pro 22H2"
    os_release: str  # kernel / build: "6.1.0-18-amd64", "10.0.19045"
    cpu_model: str | None
    cpu_cores_physical: int | None
    cpu_cores_logical: int | None
    ram_bytes: int
    boot_time: str | None  # ISO 8601 UTC
    battery_present: bool
    battery_percent: float | None
    disks: list[DiskFacts] = field(default_factory=list)
    source: str = "local"  # "local", or the inventory file it came from
    errors: list[str] = field(default_factory=list)  # what a probe could not see, one line each

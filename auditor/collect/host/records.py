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
    # "kvm", "vmware", "microsoft" (Hyper-V), "oracle" (VirtualBox)... or "vm" (a hypervisor,
    # not known which); None: no virtual machine seen. See collect/host/identity.py.
    virtualization: str | None = None
    # "<kind>:<digest>" of the SMBIOS UUID, serial number, machine-id or MachineGuid: the
    # same machine whatever its name or where its facts came from (identity.py)
    identifiers: list[str] = field(default_factory=list)
    collected_at: str | None = None  # ISO 8601: when these facts were read (newest wins)
    # False when the facts came from an inventory format that does not carry antivirus
    # products (OCS Inventory): the antivirus rules then say nothing rather than "none"
    antivirus_checked: bool = True
    owner: str | None = None  # owner or location an inventory tool recorded (its "TAG")


@dataclass(frozen=True, slots=True)
class AntivirusFacts:
    """One protection product as the OS (or the running processes) reports it."""

    product: str  # "Windows Defender", "Kaspersky", "ClamAV", "XProtect"
    enabled: bool | None  # real-time protection on; None: could not tell
    up_to_date: bool | None  # definitions current by the product's own account
    signature_date: str | None  # ISO 8601 date of the definitions, "2026-11-20"
    source: str  # "securitycenter2", "defender", "clamav", "xprotect", "process"


@dataclass(frozen=True, slots=True)
class BatteryFacts:
    name: str
    design_capacity_wh: float | None
    full_capacity_wh: float | None
    cycle_count: int | None

    @property
    def health_percent(self) -> float | None:
        if self.design_capacity_wh and self.full_capacity_wh is not None:
            return round(100.0 * self.full_capacity_wh / self.design_capacity_wh, 1)
        return None


@dataclass(frozen=True, slots=True)
class SmartFacts:
    device: str
    passed: bool | None  # overall SMART self-assessment
    power_on_hours: int | None


@dataclass(slots=True)
class HardwareFacts:
    vendor: str | None = None
    model: str | None = None
    chassis: str | None = None  # "laptop", "desktop", "server", "other"
    bios_vendor: str | None = None
    bios_version: str | None = None
    bios_date: str | None = None  # ISO 8601 date
    cpu_launch_year: int | None = None  # approximate, from auditor's CPU table
    uefi: bool | None = None
    secure_boot: bool | None = None
    tpm_version: str | None = None  # "2.0", "1.2", or None when absent/unknown
    smart: list[SmartFacts] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what a probe could not see

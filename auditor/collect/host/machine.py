"""Everything the probes say about one machine, and what follows from it (age, OS support,
Windows 11 readiness, protection). Used for this machine and for inventory files alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from auditor.collect.host.os_support import (
    Readiness,
    SupportStatus,
    support_status,
    windows11_readiness,
)
from auditor.collect.host.records import AntivirusFacts, BatteryFacts, HardwareFacts, HostFacts


@dataclass
class Machine:
    host: HostFacts
    hardware: HardwareFacts | None = None
    antivirus: list[AntivirusFacts] = field(default_factory=list)
    batteries: list[BatteryFacts] = field(default_factory=list)
    support: SupportStatus | None = None
    readiness: Readiness | None = None
    age_years: float | None = None
    age_basis: str | None = None
    av_protected: bool | None = None


def judge(
    host: HostFacts,
    hardware: HardwareFacts | None,
    antivirus: list[AntivirusFacts],
    batteries: list[BatteryFacts],
    today: date,
) -> Machine:
    """Derive age, OS support, Windows 11 readiness and protection from the raw facts."""
    from auditor.collect.host.antivirus import protected
    from auditor.collect.host.hardware import estimated_age_years

    machine = Machine(host, hardware, list(antivirus), list(batteries))
    machine.support = support_status(host.os_name, host.os_version, host.os_release, today)
    # a virtual machine's firmware date and CPU are the hypervisor's: it has no hardware age
    if hardware is not None and not host.virtualization:
        age = estimated_age_years(hardware, today)
        machine.age_years = age.years
        machine.age_basis = age.basis
        if age.bios_probably_updated:
            machine.age_basis = "bios_date_updated"  # the report says: probably older
    if host.os_name == "Windows" and host.os_version.startswith("Windows 10"):
        system_disk = next((d.total_bytes for d in host.disks if d.is_system), None)
        machine.readiness = windows11_readiness(
            host.ram_bytes,
            system_disk,
            host.cpu_model,
            hardware.tpm_version if hardware else None,
            hardware.secure_boot if hardware else None,
            hardware.uefi if hardware else None,
        )
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    machine.av_protected = protected(machine.antivirus, now)
    return machine


def collect_machine(today: date | None = None) -> Machine:
    """This machine, every probe. Never raises for a probe: see host.errors."""
    from auditor.collect.host.antivirus import probe_antivirus
    from auditor.collect.host.batteries import probe_batteries
    from auditor.collect.host.hardware import probe_hardware
    from auditor.collect.host.identity import probe_identity
    from auditor.collect.host.system import collect_host

    today = today or datetime.now(UTC).date()
    host = collect_host()
    host.collected_at = datetime.now(UTC).isoformat(timespec="seconds")
    hardware = probe_hardware(cpu_model=host.cpu_model)
    probe_identity(host, hardware)
    batteries, battery_notes = probe_batteries()
    antivirus, av_notes = probe_antivirus(now=datetime.now(UTC))
    host.errors.extend(hardware.errors + battery_notes + av_notes)
    return judge(host, hardware, antivirus, batteries, today)

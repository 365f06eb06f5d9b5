"""Facts computed from facts: one named step between the collectors and the store.

Collectors only describe what they read (collect/host: the OS, the hardware, the antivirus,
the batteries); this step adds what follows from it, for this machine and for every machine
read from an inventory file alike:

- OS support: is this release still receiving security updates (the end-of-support table,
  auditor/impact/os_eol.py)?
- Windows 11 readiness of a Windows 10 PC (Microsoft's minimum, with the impact model's
  `reported_size_margin`);
- age, from the firmware date and the processor's launch year (none for a virtual machine:
  its firmware and processor are the hypervisor's);
- protection: is an antivirus on and up to date?

Only the scan, `advise` and inventory reading call it; the store writes what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Protocol

from auditor.collect.host.antivirus import protected
from auditor.collect.host.hardware import estimated_age_years
from auditor.collect.host.machine import Machine
from auditor.collect.host.os_support import support_status, windows11_readiness
from auditor.collect.host.records import AntivirusFacts, BatteryFacts, HardwareFacts, HostFacts


class Facts(Protocol):
    """What the collectors read about one machine (a Machine, an inventory file's machine)."""

    host: HostFacts
    hardware: HardwareFacts | None
    antivirus: Sequence[AntivirusFacts]
    batteries: Sequence[BatteryFacts]


def derive(facts: Facts, today: date) -> Machine:
    """A machine with its derived facts (support, readiness, age, protection) as of `today`,
    from what was collected (`collect_machine()`, or a machine read from an inventory file)."""
    host, hardware = facts.host, facts.hardware
    derived = Machine(host, hardware, list(facts.antivirus), list(facts.batteries))
    derived.support = support_status(host.os_name, host.os_version, host.os_release, today)
    # a virtual machine's firmware date and CPU are the hypervisor's: it has no hardware age
    if hardware is not None and not host.virtualization:
        age = estimated_age_years(hardware, today)
        derived.age_years = age.years
        derived.age_basis = age.basis
        if age.bios_probably_updated:
            derived.age_basis = "bios_date_updated"  # the report says: probably older
    if host.os_name == "Windows" and host.os_version.startswith("Windows 10"):
        system_disk = next((d.total_bytes for d in host.disks if d.is_system), None)
        derived.readiness = windows11_readiness(
            host.ram_bytes,
            system_disk,
            host.cpu_model,
            hardware.tpm_version if hardware else None,
            hardware.secure_boot if hardware else None,
            hardware.uefi if hardware else None,
        )
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    derived.av_protected = protected(derived.antivirus, now)
    return derived

"""Everything the probes say about one machine. Collectors fill `host`, `hardware`,
`antivirus` and `batteries`; the derived facts (OS support, Windows 11 readiness, age,
protection) are left empty here and filled by auditor.derive, for this machine and for
inventory files alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from auditor.collect.host.records import AntivirusFacts, BatteryFacts, HardwareFacts, HostFacts

if TYPE_CHECKING:
    from auditor.collect.host.os_support import Readiness, SupportStatus


@dataclass
class Machine:
    host: HostFacts
    hardware: HardwareFacts | None = None
    antivirus: list[AntivirusFacts] = field(default_factory=list)
    batteries: list[BatteryFacts] = field(default_factory=list)
    # derived (auditor.derive)
    support: SupportStatus | None = None
    readiness: Readiness | None = None
    age_years: float | None = None
    age_basis: str | None = None
    av_protected: bool | None = None


def collect_machine() -> Machine:
    """This machine, every probe, as read (auditor.derive adds what follows from it). Never
    raises for a probe: see host.errors."""
    from auditor.collect.host.antivirus import probe_antivirus
    from auditor.collect.host.batteries import probe_batteries
    from auditor.collect.host.hardware import probe_hardware
    from auditor.collect.host.identity import probe_identity
    from auditor.collect.host.system import collect_host

    host = collect_host()
    host.collected_at = datetime.now(UTC).isoformat(timespec="seconds")
    hardware = probe_hardware(cpu_model=host.cpu_model)
    probe_identity(host, hardware)
    batteries, battery_notes = probe_batteries()
    antivirus, av_notes = probe_antivirus(now=datetime.now(UTC))
    host.errors.extend(hardware.errors + battery_notes + av_notes)
    return Machine(host, hardware, antivirus, batteries)

"""What the inventory agents' files have in common: safe XML, and one machine built from the
values each format's reader picked out.

GLPI Agent (JSON), FusionInventory Agent (XML) and OCS Inventory Agent (XML) describe a
machine with the same nouns (they descend from the OCS Unix agent): a hardware section, the
BIOS, processors, volumes ("drives"), physical disks ("storages"), batteries, antivirus
products, software. Each format's module turns its file into an `AgentValues`; `machine()`
turns that into the records auditor's own probes produce, so every rule judges the machine
as if auditor had scanned it. What a format does not carry stays unknown (None, or
`antivirus_checked=False`), never a value that would fire a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from auditor.collect.host.antivirus import _known_processes
from auditor.collect.host.cpu_years import cpu_launch_year
from auditor.collect.host.hardware import bios_date_to_iso, clean_dmi_text
from auditor.collect.host.identity import (
    _keys,
    hardware_uuid_key,
    mac_key,
    mark_virtual_disks,
    serial_key,
)
from auditor.collect.host.records import (
    AntivirusFacts,
    BatteryFacts,
    DiskFacts,
    HardwareFacts,
    HostFacts,
)
from auditor.errors import SourceError
from auditor.inventory.auditor_format import MachineInventory

_MIB = 1024 * 1024


class XmlRefused(ValueError):
    """The XML declares a DTD: entities could expand without bound ("billion laughs")."""


def parse_xml(data: bytes) -> Element:
    """The document's root element. No inventory agent writes a DTD, so any DOCTYPE is
    refused before an entity can be declared: expat expands internal entities itself (the
    Python docs, "XML vulnerabilities"), which is how a 1 kB file becomes gigabytes.
    Raises XmlRefused, or expat.ExpatError for XML that is not well formed."""
    builder = TreeBuilder()
    parser = expat.ParserCreate()

    def refuse(*_args: Any) -> None:
        raise XmlRefused

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    parser.Parse(data, True)
    return builder.close()


def xml_to_sections(root: Element) -> dict[str, Any]:
    """<CONTENT>'s children as GLPI's JSON shape: lower-case keys; a section that repeats
    (DRIVES, STORAGES...) becomes a list of objects, a section holding text its text."""
    content = root.find("CONTENT")
    sections: dict[str, Any] = {}
    for child in content if content is not None else ():
        key = child.tag.lower()
        value: Any = (
            {item.tag.lower(): (item.text or "").strip() for item in child}
            if len(child)
            else (child.text or "").strip()
        )
        sections.setdefault(key, []).append(value)
    return sections


def one(sections: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A section that is one object (HARDWARE, BIOS), whatever the file made of it."""
    value = sections.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else {}


def many(sections: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A section that is a list of objects (drives, storages, software)."""
    value = sections.get(key)
    if isinstance(value, Mapping):
        value = [value]
    return [item for item in value or () if isinstance(item, Mapping)]


def text(value: Any) -> str | None:
    """Placeholders ("To be filled by O.E.M.", "") as None, other values as plain text."""
    if isinstance(value, bool) or value is None or isinstance(value, Mapping | list):
        return None
    return clean_dmi_text(value)


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        result = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    return result if result == result and abs(result) < 2.0**53 else None


def flag(value: Any) -> bool | None:
    """true/false, 1/0 as XML writes them; anything else unknown."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().casefold() if value is not None else ""
    return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(word)


def iso_day(value: Any) -> str | None:
    """ "YYYY-MM-DD" from ISO dates, SMBIOS "mm/dd/yyyy" and OCS "YYYY/MM/DD"."""
    raw = text(value)
    if not raw:
        return None
    found = re.match(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})", raw)
    if found:
        try:
            return date(*(int(part) for part in found.groups())).isoformat()
        except ValueError:
            return None
    return bios_date_to_iso(raw.split()[0])


# Chassis names inventory agents print (dmidecode's and Win32_SystemEnclosure's words,
# DSP0134 7.4.1), by auditor's four kinds.
_CHASSIS_WORDS = (
    ("laptop", ("notebook", "laptop", "portable", "tablet", "convertible", "detachable")),
    ("server", ("server", "rack", "blade")),
    ("desktop", ("desktop", "tower", "all in one", "mini pc", "space-saving", "lunch box")),
)


def chassis(value: Any) -> str | None:
    word = (text(value) or "").casefold()
    if not word or word in ("unknown", "other"):
        return "other" if word == "other" else None
    for kind, words in _CHASSIS_WORDS:
        if any(part in word for part in words):
            return kind
    return "other"


def os_kind(kernel: str | None, full_name: str | None) -> str:
    """auditor's os_name: "Windows", "Darwin", "Linux", or the kernel's own name."""
    kernel_word = (kernel or "").casefold()
    name = (full_name or "").casefold()
    if kernel_word in ("mswin32", "win32", "windows") or "windows" in name:
        return "Windows"
    if kernel_word == "darwin" or "mac os" in name or "macos" in name:
        return "Darwin"
    if kernel_word == "linux" or "linux" in name:
        return "Linux"
    return kernel or "Unknown"


# Windows editions as a French, Spanish, German or Italian Caption names them
_EDITIONS = {
    "famille": "Home",
    "professionnel": "Pro",
    "professionnelle": "Pro",
    "entreprise": "Enterprise",
    "éducation": "Education",
    "education": "Education",
    "hogar": "Home",
    "profesional": "Pro",
    "empresa": "Enterprise",
    "professional": "Pro",
}


def os_description(kind: str, full_name: str | None, version: str | None) -> str:
    """auditor's os_version from the agent's full name and version: "Windows 10 Pro 22H2",
    "Debian GNU/Linux 12 (bookworm)", "macOS 14.4"."""
    full = " ".join((full_name or "").split())
    version = (version or "").strip()
    if kind == "Windows":
        full = re.sub(r"(?i)^microsoft\s+|\(r\)|®", "", full).replace("  ", " ").strip()
        # Caption is in the system's language; auditor's own probe names editions as the
        # registry's EditionID does, in English, and the support table reads those
        full = " ".join(_EDITIONS.get(word.casefold(), word) for word in full.split())
        if re.fullmatch(r"\d{2}H\d|\d{4}", version) and version not in full:
            full = f"{full} {version}"
        return full or "Windows"
    if kind == "Darwin":
        if version and version not in full:
            full = f"{re.sub(r'(?i)^mac ?os ?x?', '', full).strip() or 'macOS'} {version}"
            full = full if full.lower().startswith(("macos", "mac os")) else f"macOS {version}"
        return full or "macOS"
    return full or version or kind


# Antivirus products recognised in a software list: the products and name words of
# auditor's own process list (collect/host/av_processes.toml), matched as whole words.
def _software_products() -> list[tuple[str, re.Pattern[str]]]:
    products: dict[str, set[str]] = {}
    for entry in _known_processes():
        products.setdefault(entry.product, set()).update(entry.known_as)
    return [
        (product, re.compile(r"\b(" + "|".join(map(re.escape, sorted(words))) + r")\b", re.I))
        for product, words in products.items()
        if words
    ]


def antivirus_from_software(names: Iterable[str], reported: Iterable[AntivirusFacts]) -> list:
    """Protection products an installed-software list names, with their state unknown
    (source "software"), left out when the inventory's antivirus section already has them."""
    reported_names = " ".join(product.product.casefold() for product in reported)
    found: dict[str, AntivirusFacts] = {}
    listed = [name for name in names if name]
    for product, pattern in _software_products():
        if product in found or pattern.search(reported_names):
            continue
        if any(pattern.search(name) for name in listed):
            found[product] = AntivirusFacts(product, None, None, None, "software")
    return list(found.values())


@dataclass
class AgentDisk:
    mountpoint: str
    device: str
    fstype: str
    total_bytes: int
    free_bytes: int
    is_system: bool


@dataclass
class AgentStorage:
    name: str
    model: str | None
    size_bytes: int | None
    kind: str | None  # "ssd", "hdd" or None (the format does not say)


@dataclass
class AgentValues:
    """One machine as an agent's file describes it, in auditor's units."""

    source: str  # the file's name
    tool: str  # "glpi-agent", "fusioninventory", "ocs"
    hostname: str | None = None
    os_kind: str = "Unknown"
    os_version: str = ""
    os_release: str = ""
    cpu_model: str | None = None
    cores: int | None = None
    threads: int | None = None
    ram_bytes: int = 0
    boot_time: str | None = None
    vendor: str | None = None
    model: str | None = None
    chassis: str | None = None
    bios_vendor: str | None = None
    bios_version: str | None = None
    bios_date: str | None = None
    virtualization: str | None = None
    uuid: str | None = None
    serials: list[str | None] = field(default_factory=list)
    macs: list[str | None] = field(default_factory=list)
    disks: list[AgentDisk] = field(default_factory=list)
    storages: list[AgentStorage] = field(default_factory=list)
    batteries: list[BatteryFacts] = field(default_factory=list)
    antivirus: list[AntivirusFacts] | None = None  # None: the format has no such section
    software: list[str] | None = None  # None: no software list in the file
    collected_at: str | None = None
    owner: str | None = None


def storage_kind(*words: str | None) -> str | None:
    """ "ssd" or "hdd" when the disk's model, description or interface says so."""
    said = " ".join(word for word in words if word).casefold()
    if re.search(r"\b(ssd|nvme|solid state|flash)\b", said):
        return "ssd"
    if re.search(r"\b(hdd|hard disk drive|\d{4,5} ?rpm)\b", said):
        return "hdd"
    return None


def _rotational(disk: AgentDisk, storages: list[AgentStorage]) -> bool | None:
    """The disk type of the volume: its own physical disk's (Linux: /dev/sda1 on sda), or
    the only physical disk's when there is one; unknown otherwise."""
    mine = [s for s in storages if s.name and disk.device.startswith(f"/dev/{s.name}")]
    candidates = mine or (storages if len(storages) == 1 else [])
    kinds = {s.kind for s in candidates}
    if len(kinds) != 1 or None in kinds:
        return None
    return kinds.pop() == "hdd"


def machine(values: AgentValues) -> MachineInventory:
    """The records auditor's probes would have produced for this machine."""
    if not values.hostname:
        raise SourceError("source.inventory.agent_no_name", at=(values.source,))
    disks = [
        DiskFacts(
            mountpoint=d.mountpoint,
            device=d.device,
            fstype=d.fstype,
            total_bytes=d.total_bytes,
            used_bytes=max(d.total_bytes - d.free_bytes, 0),
            rotational=_rotational(d, values.storages),
            is_system=d.is_system,
        )
        for d in values.disks
    ]
    antivirus = list(values.antivirus or [])
    if values.software is not None:
        antivirus += antivirus_from_software(values.software, antivirus)
    # Checked: the file has an antivirus section, or (Linux, whose protection is a package)
    # a software list. A Windows product found only in the software list has no known state.
    checked = values.antivirus is not None or (
        values.os_kind == "Linux" and values.software is not None
    )
    identifiers = _keys(
        hardware_uuid_key(values.uuid), *(serial_key(serial) for serial in values.serials)
    )
    if not identifiers:
        identifiers = _keys(*sorted(filter(None, (mac_key(mac) for mac in values.macs)))[:1])
    host = HostFacts(
        hostname=values.hostname,
        os_name=values.os_kind,
        os_version=values.os_version,
        os_release=values.os_release,
        cpu_model=values.cpu_model,
        cpu_cores_physical=values.cores,
        cpu_cores_logical=values.threads,
        ram_bytes=values.ram_bytes,
        boot_time=values.boot_time,
        battery_present=bool(values.batteries),
        battery_percent=None,
        disks=disks,
        source=values.source,
        virtualization=values.virtualization,
        identifiers=identifiers,
        collected_at=values.collected_at,
        antivirus_checked=checked,
        owner=values.owner,
    )
    mark_virtual_disks(host)
    hardware = HardwareFacts(
        vendor=values.vendor,
        model=values.model,
        chassis=values.chassis,
        bios_vendor=values.bios_vendor,
        bios_version=values.bios_version,
        bios_date=values.bios_date,
        cpu_launch_year=cpu_launch_year(values.cpu_model),
    )
    return MachineInventory(host, hardware, antivirus, list(values.batteries))


def mib(value: Any) -> int | None:
    """Bytes from the MiB agents write (and call MB) for memory and volumes."""
    amount = number(value)
    return None if amount is None or amount < 0 else int(amount * _MIB)


def int_or_none(value: Any) -> int | None:
    amount = number(value)
    return None if amount is None or amount < 0 else int(amount)


def virtualization(vmsystem: Any) -> str | None:
    """GLPI's vmsystem ("Physical", "VMware", "Docker"...) as auditor's virtualization."""
    word = (text(vmsystem) or "").casefold()
    return None if word in ("", "physical") else word

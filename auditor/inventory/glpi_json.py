"""Reading GLPI Agent's JSON inventories (`glpi-agent --local=FOLDER` writes one per machine).

The format is GLPI's inventory_format (../shared/glpi/inventory.schema.json, MIT): a
`deviceid`, an `action` and a `content` holding one section per kind of thing. FusionInventory
Agent writes the same sections in XML with upper-case names (fusioninventory_xml.py turns
them into this shape and reads them here). Units as the agents write them: memory and volume
sizes in MiB ("MB"), physical disks in MB (10^6 bytes), battery capacities in mWh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.collect.host.records import AntivirusFacts, BatteryFacts
from auditor.inventory.agents import (
    AgentDisk,
    AgentStorage,
    AgentValues,
    chassis,
    flag,
    int_or_none,
    iso_day,
    many,
    mib,
    number,
    one,
    os_description,
    os_kind,
    storage_kind,
    text,
    virtualization,
)
from auditor.inventory.auditor_format import MachineInventory

# Volumes that hold no files of the user's: pseudo and memory file systems, optical discs
_SKIPPED_FS = frozenset(
    {"tmpfs", "devtmpfs", "squashfs", "overlay", "proc", "sysfs", "iso9660", "udf", "cdfs"}
)


def looks_like_glpi(doc: Any) -> bool:
    """A GLPI inventory: an object with its `deviceid` and `content` (or `action`)."""
    return isinstance(doc, Mapping) and "deviceid" in doc and ("content" in doc or "action" in doc)


def _disk(item: Mapping[str, Any], windows: bool) -> AgentDisk | None:
    total = mib(item.get("total"))
    fstype = text(item.get("filesystem")) or ""
    if not total or fstype.casefold() in _SKIPPED_FS:
        return None
    letter = text(item.get("letter"))
    if windows and not letter:
        return None
    mountpoint = f"{letter}\\" if letter else text(item.get("type")) or ""
    if not mountpoint:
        return None
    system = flag(item.get("systemdrive"))
    if system is None:  # older agents do not say: C: holds Windows, / holds the others
        system = mountpoint.upper() == "C:\\" if windows else mountpoint == "/"
    return AgentDisk(
        mountpoint=mountpoint,
        device=text(item.get("volumn")) or letter or "",
        fstype=fstype,
        total_bytes=total,
        free_bytes=mib(item.get("free")) or 0,
        is_system=system,
    )


def _storage(item: Mapping[str, Any]) -> AgentStorage | None:
    if (text(item.get("type")) or "disk").casefold() not in ("disk", "fixed hard disk media"):
        if not storage_kind(item.get("type")):
            return None  # a CD drive, a USB stick reader
    size = number(item.get("disksize"))
    return AgentStorage(
        name=text(item.get("name")) or "",
        model=text(item.get("model")),
        size_bytes=None if size is None else int(size * 1_000_000),
        kind=storage_kind(
            text(item.get("model")),
            text(item.get("description")),
            text(item.get("interface")),
            text(item.get("type")),
        ),
    )


def _battery(item: Mapping[str, Any]) -> BatteryFacts:
    design, full = number(item.get("capacity")), number(item.get("real_capacity"))
    return BatteryFacts(
        name=text(item.get("name")) or "battery",
        design_capacity_wh=design / 1000 if design else None,
        full_capacity_wh=full / 1000 if full else None,
        cycle_count=None,
    )


def _antivirus(item: Mapping[str, Any]) -> AntivirusFacts | None:
    name = text(item.get("name"))
    if not name:
        return None
    return AntivirusFacts(
        product=name,
        enabled=flag(item.get("enabled")),
        up_to_date=flag(item.get("uptodate")),
        signature_date=iso_day(item.get("base_creation")),
        source="inventory",
    )


def values_from_sections(
    sections: Mapping[str, Any], source: str, tool: str, tag: str | None
) -> AgentValues:
    """The machine a GLPI-shaped `content` describes (JSON, or FusionInventory's XML)."""
    hardware, bios = one(sections, "hardware"), one(sections, "bios")
    system = one(sections, "operatingsystem")
    full_name = text(system.get("full_name")) or text(hardware.get("osname"))
    kind = os_kind(text(system.get("kernel_name")), full_name or text(system.get("name")))
    cpus = many(sections, "cpus")
    cores = [int_or_none(cpu.get("core")) for cpu in cpus]
    threads = [int_or_none(cpu.get("thread")) for cpu in cpus]
    disks = [_disk(item, kind == "Windows") for item in many(sections, "drives")]
    storages = [_storage(item) for item in many(sections, "storages")]
    antivirus = [_antivirus(item) for item in many(sections, "antivirus")]
    networks = [n for n in many(sections, "networks") if not flag(n.get("virtualdev"))]
    owner = tag or text(hardware.get("lastloggeduser"))
    return AgentValues(
        source=source,
        tool=tool,
        hostname=text(hardware.get("name")) or text(system.get("fqdn")),
        os_kind=kind,
        os_version=os_description(
            kind, full_name or text(system.get("name")), text(system.get("version"))
        ),
        os_release=text(system.get("kernel_version")) or text(hardware.get("osversion")) or "",
        cpu_model=text(cpus[0].get("name")) if cpus else text(hardware.get("processort")),
        cores=sum(c for c in cores if c) or None,
        threads=sum(t for t in threads if t) or None,
        ram_bytes=mib(hardware.get("memory")) or 0,
        boot_time=text(system.get("boot_time")),
        vendor=text(bios.get("smanufacturer")) or text(bios.get("mmanufacturer")),
        model=text(bios.get("smodel")) or text(bios.get("mmodel")),
        chassis=chassis(hardware.get("chassis_type")),
        bios_vendor=text(bios.get("bmanufacturer")),
        bios_version=text(bios.get("bversion")),
        bios_date=iso_day(bios.get("bdate")),
        virtualization=virtualization(hardware.get("vmsystem")),
        uuid=text(hardware.get("uuid")),
        serials=[text(bios.get("ssn"))],
        macs=[text(n.get("mac") or n.get("macaddr")) for n in networks],
        disks=[d for d in disks if d],
        storages=[s for s in storages if s],
        batteries=[_battery(item) for item in many(sections, "batteries")],
        antivirus=[a for a in antivirus if a] if "antivirus" in sections else None,
        software=(
            [text(s.get("name")) or "" for s in many(sections, "softwares")]
            if "softwares" in sections
            else None
        ),
        collected_at=text(one(sections, "accesslog").get("logdate")),
        owner=owner if owner and owner.casefold() != "wtmp" else None,
    )


def read_glpi_json(doc: Mapping[str, Any], source: str, modified: str | None) -> MachineInventory:
    """One GLPI Agent inventory (`looks_like_glpi(doc)`); `modified`, the file's date, stands
    in when the file has no access log date."""
    from auditor.inventory.agents import machine

    content = doc.get("content")
    values = values_from_sections(
        content if isinstance(content, Mapping) else {}, source, "glpi-agent", text(doc.get("tag"))
    )
    values.collected_at = values.collected_at or modified
    return machine(values)

"""Reading OCS Inventory Agent's XML inventories (`ocsinventory-agent --local=FOLDER` on
Linux and macOS, `OCSInventory.exe /LOCAL=FOLDER` on Windows: one `<deviceid>.ocs` file).

Same envelope as FusionInventory's (<REQUEST><CONTENT>), older section contents: the OS is
in HARDWARE (OSNAME, OSVERSION, OSCOMMENTS), processors are CPUS/TYPE, the chassis is
BIOS/TYPE. OCS carries no antivirus section: on Windows and macOS the antivirus rules say
nothing for these machines rather than "no antivirus"; a product named in the software list
is shown with its state unknown. The file has no inventory date: the file's own date stands
in for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from auditor.collect.host.identity import virtualization_from_dmi
from auditor.collect.host.records import BatteryFacts
from auditor.inventory.agents import (
    AgentDisk,
    AgentStorage,
    AgentValues,
    chassis,
    flag,
    int_or_none,
    iso_day,
    machine,
    many,
    mib,
    number,
    one,
    os_description,
    os_kind,
    storage_kind,
    text,
    xml_to_sections,
)
from auditor.inventory.auditor_format import MachineInventory
from auditor.inventory.fusioninventory_xml import account_tag
from auditor.inventory.glpi_json import _SKIPPED_FS


def looks_like_ocs(root: Element) -> bool:
    return root.tag == "REQUEST" and root.find("CONTENT/HARDWARE") is not None


def _disk(item: Mapping[str, Any], windows: bool) -> AgentDisk | None:
    total = mib(item.get("total"))
    fstype = text(item.get("filesystem")) or ""
    if not total or fstype.casefold() in _SKIPPED_FS:
        return None
    letter = text(item.get("letter"))
    if windows:
        if not letter or "hard" not in (text(item.get("type")) or "hard").casefold():
            return None  # a CD-ROM, a network share
        mountpoint = letter.rstrip("/\\") + "\\"
        system = mountpoint.upper() == "C:\\"
    else:
        mountpoint = text(item.get("type")) or ""
        system = mountpoint == "/"
    if not mountpoint:
        return None
    return AgentDisk(
        mountpoint=mountpoint,
        device=text(item.get("volumn")) or mountpoint,
        fstype=fstype,
        total_bytes=total,
        free_bytes=mib(item.get("free")) or 0,
        is_system=system,
    )


def _storage(item: Mapping[str, Any]) -> AgentStorage | None:
    size = number(item.get("disksize"))
    kind = (text(item.get("type")) or "").casefold()
    if "cd" in kind or "dvd" in kind or "removable" in kind or "zram" in (item.get("name") or ""):
        return None
    return AgentStorage(
        name=text(item.get("name")) or "",
        model=text(item.get("model")),
        size_bytes=None if size is None else int(size * 1_000_000),
        kind=storage_kind(
            text(item.get("model")), text(item.get("description")), text(item.get("type"))
        ),
    )


def _battery(item: Mapping[str, Any]) -> BatteryFacts:
    # OCS's battery plugin writes DESIGNCAPACITY in mWh; some versions add REAL_CAPACITY
    design = number(item.get("designcapacity") or item.get("capacity"))
    full = number(item.get("real_capacity") or item.get("fullchargecapacity"))
    return BatteryFacts(
        name=text(item.get("name")) or "battery",
        design_capacity_wh=design / 1000 if design else None,
        full_capacity_wh=full / 1000 if full else None,
        cycle_count=None,
    )


def _os(hardware: Mapping[str, Any]) -> tuple[str, str, str]:
    """(os_name, os_version, os_release) from HARDWARE's OSNAME, OSVERSION, OSCOMMENTS."""
    name, version = text(hardware.get("osname")), text(hardware.get("osversion")) or ""
    comments = text(hardware.get("oscomments")) or ""
    kind = os_kind(None, name)
    if kind == "Windows":  # OSVERSION is the build, "10.0.19045"; a release may be in OSCOMMENTS
        release = re.search(r"\b(\d{2}H\d)\b", comments)
        return kind, os_description(kind, name, release.group(1) if release else None), version
    if kind == "Linux":  # OSCOMMENTS is the distribution's pretty name on Linux
        first = (name or "").split(" ")[0]
        described = comments if first and first in comments else name or comments
        return kind, described or "Linux", ""
    return kind, os_description(kind, name, version), version


def read_ocs_xml(root: Element, source: str, modified: str | None) -> MachineInventory:
    sections = xml_to_sections(root)
    hardware, bios = one(sections, "hardware"), one(sections, "bios")
    kind, version, release = _os(hardware)
    cpus = many(sections, "cpus")
    disks = [_disk(item, kind == "Windows") for item in many(sections, "drives")]
    storages = [_storage(item) for item in many(sections, "storages")]
    networks = [n for n in many(sections, "networks") if not flag(n.get("virtualdev"))]
    cores = [int_or_none(cpu.get("cores")) for cpu in cpus]
    threads = [int_or_none(cpu.get("logical_cpus")) for cpu in cpus]
    dmi = {
        "sys_vendor": text(bios.get("smanufacturer")),
        "product_name": text(bios.get("smodel")),
        "bios_vendor": text(bios.get("bmanufacturer")),
    }
    values = AgentValues(
        source=source,
        tool="ocs",
        hostname=text(hardware.get("name")),
        os_kind=kind,
        os_version=version,
        os_release=release,
        cpu_model=(text(cpus[0].get("type")) if cpus else None) or text(hardware.get("processort")),
        cores=sum(c for c in cores if c) or None,
        threads=sum(t for t in threads if t) or None,
        ram_bytes=mib(hardware.get("memory")) or 0,
        vendor=dmi["sys_vendor"],
        model=dmi["product_name"],
        chassis=chassis(bios.get("type")),
        bios_vendor=dmi["bios_vendor"],
        bios_version=text(bios.get("bversion")),
        bios_date=iso_day(bios.get("bdate")),
        virtualization=virtualization_from_dmi(dmi) or _vm(hardware),
        uuid=text(hardware.get("uuid")),
        serials=[text(bios.get("ssn"))],
        macs=[text(n.get("macaddr")) for n in networks],
        disks=[d for d in disks if d],
        storages=[s for s in storages if s],
        batteries=[_battery(item) for item in many(sections, "batteries")],
        antivirus=None,  # OCS has no antivirus section
        software=(
            [text(s.get("name")) or "" for s in many(sections, "softwares")]
            if "softwares" in sections
            else None
        ),
        collected_at=modified,
        owner=account_tag(root) or text(hardware.get("lastloggeduser") or hardware.get("userid")),
    )
    return machine(values)


def _vm(hardware: Mapping[str, Any]) -> str | None:
    word = (text(hardware.get("vmsystem")) or "").casefold()
    return None if word in ("", "physical") else word

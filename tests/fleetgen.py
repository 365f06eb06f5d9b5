"""A fleet of inventory files for tests and benchmarks/fleet.py: real agent files (and the
test data of tests/data/agents) copied with varied identities, plus older duplicates of some
machines under another name and in another format, which must merge into one machine."""

from __future__ import annotations

import copy
import json
import os
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.collect.host.identity import hardware_uuid_key

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = [
    ROOT / "tests" / "data" / "agents" / "windows-glpi-agent.json",
    ROOT / "tests" / "data" / "agents" / "windows-fusioninventory.xml",
    ROOT / "tests" / "data" / "agents" / "windows-ocs.xml",
    ROOT / "tests" / "data" / "glpi" / "computer_1.example.json",
]
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@dataclass
class Fleet:
    machines: int = 0
    files: int = 0
    newest: dict[str, str] = field(default_factory=dict)  # identifier -> its newest date


def _set(parent: ET.Element, path: str, value: str) -> None:
    node = parent
    for tag in path.split("/"):
        child = node.find(tag)
        node = child if child is not None else ET.SubElement(node, tag)
    node.text = value


def _write(template: Path, kept, out: Path, name: str, ident: str, moment: datetime) -> str:
    """One file of machine `ident` named `name`, inventoried at `moment`; returns the date
    the reader will see for it."""
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
    serial = "SN" + ident.replace("-", "")[-10:].upper()
    if template.suffix == ".json":
        doc = copy.deepcopy(kept)
        content = doc["content"]
        content["hardware"].update(name=name, uuid=ident)
        content.setdefault("bios", {})["ssn"] = serial
        content["accesslog"] = {"logdate": stamp}
        out.write_text(json.dumps(doc), encoding="utf-8")
        seen = stamp
    else:
        root = copy.deepcopy(kept)
        content = root.find("CONTENT")
        _set(content, "HARDWARE/NAME", name)
        _set(content, "HARDWARE/UUID", ident)
        _set(content, "BIOS/SSN", serial)
        ocs = (content.findtext("VERSIONCLIENT") or "").startswith("OCS")
        if not ocs:
            _set(content, "ACCESSLOG/LOGDATE", stamp)
        ET.ElementTree(root).write(out, encoding="UTF-8", xml_declaration=True)
        seen = stamp
        if ocs:  # OCS files carry no date: the file's own stands in
            os.utime(out, (moment.timestamp(), moment.timestamp()))
            seen = moment.isoformat(timespec="seconds")
    return seen


def make_fleet(
    folder: Path, files: int = 300, duplicates_every: int = 4, extra: list[Path] = ()
) -> Fleet:
    """`files` inventory files in `folder`: every `duplicates_every`-th machine also has an
    older file, in the next template's format, under another name."""
    folder.mkdir(parents=True, exist_ok=True)
    templates = [*TEMPLATES, *extra]
    loaded = [
        json.loads(t.read_text(encoding="utf-8")) if t.suffix == ".json" else ET.parse(t).getroot()
        for t in templates
    ]
    fleet = Fleet()
    index = 0
    while fleet.files < files:
        ident = str(uuid.UUID(int=0x4C4C4544_0000_1000_8000_000000000000 + index))
        moment = START + timedelta(minutes=index)
        which = index % len(templates)
        suffix = ".json" if templates[which].suffix == ".json" else ".ocs"
        seen = _write(
            templates[which],
            loaded[which],
            folder / f"m{index:04d}{suffix}",
            f"PC-{index:04d}",
            ident,
            moment,
        )
        fleet.machines += 1
        fleet.files += 1
        fleet.newest[hardware_uuid_key(ident)] = seen
        if index % duplicates_every == 0 and fleet.files < files:
            other = (which + 1) % len(templates)
            suffix = ".json" if templates[other].suffix == ".json" else ".xml"
            _write(
                templates[other],
                loaded[other],
                folder / f"old-{index:04d}{suffix}",
                f"ancien-{index:04d}",
                ident,
                moment - timedelta(days=30),
            )
            fleet.files += 1
        index += 1
    return fleet

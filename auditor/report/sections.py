"""The report's sections, computed once: what each section says, cell by cell.

The text, Markdown and HTML renderers lay these out (a rich table, a pipe table, a template)
and escape text for their format; none of them decides again what a section holds, in which
order, or how a value is formatted. Text read in a mailbox or on a machine is returned
through `clean_text` (one printable line); Markdown passes `escape=md_escape` to the
builders whose cells hold such text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.i18n import t
from auditor.i18n.format import (
    UNKNOWN,
    clean_text,
    format_bytes,
    format_number,
    format_percent,
)
from auditor.report.formatting import (
    column_label,
    disk_cells,
    evidence_note,
    evidence_table,
    mailbox_cells,
)

Escape = Callable[..., str]

DISK_COLUMNS = ("mountpoint", "device", "used", "size", "use", "type")
DISK_NUMERIC = (False, False, True, True, True, False)
MAILBOX_COLUMNS = (
    "account",
    "folders",
    "messages",
    "size",
    "attachments",
    "attachment_size",
    "unread",
    "malformed",
    "skipped",
)


@dataclass
class Table:
    """Headers (already in the report's language), right-aligned columns, formatted cells."""

    headers: list[str]
    numeric: list[bool]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Fact:
    """One line about a machine: its catalogue label key, its value, and whether the value
    was read on the machine (a renderer escapes those) or formatted by auditor."""

    label_key: str
    value: str
    untrusted: bool


@dataclass
class Disk:
    mountpoint: str  # one printable line, at most 60 characters, not escaped
    system: str | None  # "(system disk)"'s words when it is the system disk, else None
    cells: list[str]  # device, used, size, use, type (device escaped by the builder)


@dataclass
class Host:
    hostname: str  # one printable line, at most 80 characters, not escaped
    facts: list[Fact]
    disks: list[Disk]
    disk_headers: list[str]


def host_facts(host: dict, lang: str) -> list[Fact]:
    """System, processor, memory and (when known) battery of one machine."""
    system = " ".join(clean_text(v) for v in (host.get("os_name"), host.get("os_version")) if v)
    cpu = clean_text(host.get("cpu_model")) if host.get("cpu_model") else UNKNOWN
    if host.get("cpu_cores_logical") is not None:
        threads = format_number(host["cpu_cores_logical"], lang)
        cpu += f" ({t(lang, 'report.host.threads', count=threads)})"
    facts = [
        Fact("report.host.system", system or UNKNOWN, True),
        Fact("report.host.processor", cpu, True),
        Fact("report.host.memory", format_bytes(host.get("ram_bytes"), lang), False),
    ]
    if host.get("battery_percent") is not None:
        battery = format_percent(host["battery_percent"], lang)
        facts.append(Fact("report.host.battery", battery, False))
    return facts


def hosts(report: dict, lang: str, escape: Escape | None = None) -> list[Host]:
    """Every machine of the report, with its facts and its disks' cells."""
    headers = [t(lang, f"report.disk.{key}") for key in DISK_COLUMNS]
    system = t(lang, "report.disk.system")
    return [
        Host(
            hostname=clean_text(host.get("hostname"), 80),
            facts=host_facts(host, lang),
            disks=[
                Disk(
                    clean_text(disk.get("mountpoint"), 60),
                    system if disk.get("is_system") else None,
                    disk_cells(disk, lang, escape),
                )
                for disk in host.get("disks") or []
            ],
            disk_headers=headers,
        )
        for host in report.get("hosts") or []
    ]


def mailboxes(report: dict, lang: str, escape: Escape | None = None) -> Table | None:
    """The mailboxes' summary table (accounts escaped with `escape`), or None without one."""
    boxes = report.get("mailboxes") or []
    if not boxes:
        return None
    return Table(
        headers=[t(lang, f"report.mailbox.{key}") for key in MAILBOX_COLUMNS],
        numeric=[key != "account" for key in MAILBOX_COLUMNS],
        rows=[mailbox_cells(box, lang, escape) for box in boxes],
    )


def evidence(finding: dict, lang: str) -> tuple[Table, str | None]:
    """A finding's evidence table (headers as its pack labels them; cells not escaped) and
    the "5 of 7 examples shown." note when rows are left out."""
    keys, rows, numeric = evidence_table(finding, lang)
    table = Table([column_label(key, finding) for key in keys], numeric, rows)
    return table, evidence_note(finding, len(rows), lang)

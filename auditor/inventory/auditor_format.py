"""auditor's own inventory format: the JSON document `auditor inventory` writes, and reading
it back.

An association's machines are rarely on one network the auditor can reach, so each one is
inventoried where it stands (`auditor inventory` on a USB stick) and the files are brought
together later. `auditor_inventory()` builds auditor's own JSON document, lossless for the
host records (HostFacts with its disks, HardwareFacts, AntivirusFacts, BatteryFacts);
`read_inventory()` reads it back into the same records
(docs/inventory.md describes it). `write_inventory()` writes any inventory document (this one
or GLPI's) atomically and never replaces a file by accident. Reading never raises anything
but `SourceError`, with one line that names the file.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from auditor import __version__
from auditor.collect.host.records import (
    AntivirusFacts,
    BatteryFacts,
    DiskFacts,
    HardwareFacts,
    HostFacts,
    SmartFacts,
)
from auditor.errors import ConfigError, Problem, SourceError
from auditor.files import (
    NotRegularFile,
    TooLarge,
    atomic_write_text,
    read_regular_bytes,
    require_folder,
)
from auditor.i18n import LANGUAGES, catalog

FORMAT_NAME = "auditor-inventory"
INVENTORY_VERSION = 2  # the version this auditor writes; see docs/inventory.md, "Versions"


def _v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2 lets an `errors` item be an object (a line in any language) besides a
    string; every version-1 file is already a valid version-2 one."""
    return {**document, "version": 2}


# Upgrades of older documents, applied in a chain when reading: _UPGRADES[n] turns a version-n
# document into a version n+1 one.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}

_MAX_FILE_BYTES = 50 * 1024 * 1024  # a real inventory is a few kilobytes
_INT_RANGE = range(-(2**63), 2**63)  # what SQLite's INTEGER holds
_MIB = 1024 * 1024


class MachineInventory(NamedTuple):
    """What one inventory file holds, as the records the collectors produce."""

    host: HostFacts
    hardware: HardwareFacts | None
    antivirus: list[AntivirusFacts]
    batteries: list[BatteryFacts]


class InventoryExistsError(ConfigError, FileExistsError):
    """`write_inventory` was asked to write over an existing file without `overwrite=True`."""


# --------------------------------------------------------------------------------------------
# Field tables: one per record, shared by the writer and the reader so that they cannot drift.
# Kinds: "str", "int", "number", "bool"; a trailing "?" allows null. Whether a key is required
# comes from the dataclass: a field without a default must be in the file.
# --------------------------------------------------------------------------------------------

_DISK_FIELDS = (
    ("mountpoint", "str"),
    ("device", "str"),
    ("fstype", "str"),
    ("total_bytes", "int"),
    ("used_bytes", "int"),
    ("rotational", "bool?"),
    ("is_system", "bool"),
)
_HOST_FIELDS = (
    ("hostname", "str"),
    ("os_name", "str"),
    ("os_version", "str"),
    ("os_release", "str"),
    ("cpu_model", "str?"),
    ("cpu_cores_physical", "int?"),
    ("cpu_cores_logical", "int?"),
    ("ram_bytes", "int"),
    ("boot_time", "str?"),
    ("battery_present", "bool"),
    ("battery_percent", "number?"),
    ("virtualization", "str?"),  # added in version 2 (optional): older files have none
)
# HostFacts.source is not stored: it says where a record came from, and for a record read
# from a file that is the file itself (read_inventory sets it to the file's name).
# HostFacts.collected_at is the document's generated_at.
_HOST_LISTS = ("disks", "errors", "identifiers")
_SMART_FIELDS = (
    ("device", "str"),
    ("passed", "bool?"),
    ("power_on_hours", "int?"),
)
_HARDWARE_FIELDS = (
    ("vendor", "str?"),
    ("model", "str?"),
    ("chassis", "str?"),
    ("bios_vendor", "str?"),
    ("bios_version", "str?"),
    ("bios_date", "str?"),
    ("cpu_launch_year", "int?"),
    ("uefi", "bool?"),
    ("secure_boot", "bool?"),
    ("tpm_version", "str?"),
)
_HARDWARE_LISTS = ("smart", "errors")
_ANTIVIRUS_FIELDS = (
    ("product", "str"),
    ("enabled", "bool?"),
    ("up_to_date", "bool?"),
    ("signature_date", "str?"),
    ("source", "str"),
)
_BATTERY_FIELDS = (
    ("name", "str"),
    ("design_capacity_wh", "number?"),
    ("full_capacity_wh", "number?"),
    ("cycle_count", "int?"),
)


# --------------------------------------------------------------------------------------------
# Building the document
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A record value as JSON can hold it: a non-finite float (never expected) becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _row(record: Any, fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {key: _plain(getattr(record, key)) for key, _kind in fields}


def _line_document(line: str) -> str | dict[str, Any]:
    """One probe error line as the file keeps it.

    A `Problem` is kept as its key and values, so that a report in another language shows it
    in that language, plus its English `text` for a person reading the file and for an
    auditor whose catalog does not have the key (a newer probe); a plain line stays a string.
    """
    if isinstance(line, Problem):
        return {**line.to_json(), "text": str(line)}
    return str(line)


def _host_document(host: HostFacts) -> dict[str, Any]:
    doc = _row(host, _HOST_FIELDS)
    doc["disks"] = [_row(disk, _DISK_FIELDS) for disk in host.disks]
    doc["errors"] = [_line_document(line) for line in host.errors]
    doc["identifiers"] = list(host.identifiers)
    return doc


def _hardware_document(hardware: HardwareFacts) -> dict[str, Any]:
    doc = _row(hardware, _HARDWARE_FIELDS)
    doc["smart"] = [_row(smart, _SMART_FIELDS) for smart in hardware.smart]
    doc["errors"] = [_line_document(line) for line in hardware.errors]
    return doc


def aware(moment: datetime) -> datetime:
    """`moment`, refused when it carries no time zone (a document's generated_at is UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("generated_at must carry its time zone (datetime.now(UTC))")
    return moment


def auditor_inventory(
    host: HostFacts,
    *,
    hardware: HardwareFacts | None = None,
    antivirus: Iterable[AntivirusFacts] = (),
    batteries: Iterable[BatteryFacts] = (),
    generated_at: datetime,
) -> dict[str, Any]:
    """auditor's own inventory document for one machine; `read_inventory` reads it back.

    Every field of the records is kept except `HostFacts.source`: a record read back from the
    file gets the file's name as its source. `generated_at` must be timezone-aware; it is
    written in ISO 8601 with its offset. docs/inventory.md describes every key.
    """
    return {
        "format": FORMAT_NAME,
        "version": INVENTORY_VERSION,
        "generated_at": aware(generated_at).isoformat(timespec="seconds"),
        "host": _host_document(host),
        "hardware": None if hardware is None else _hardware_document(hardware),
        "antivirus": [_row(product, _ANTIVIRUS_FIELDS) for product in antivirus],
        "batteries": [_row(battery, _BATTERY_FIELDS) for battery in batteries],
    }


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_inventory(doc: Mapping[str, Any], path: Path, *, overwrite: bool = False) -> None:
    """Write an inventory document (either format) as UTF-8 JSON, atomically.

    The text goes to a temporary file in the same folder, is flushed to disk, then takes the
    final name: a reader sees the old file or the whole new one, never half of it. An existing
    file is replaced only with `overwrite=True`; otherwise `InventoryExistsError` (a
    `ConfigError` and a `FileExistsError`) is raised and the file is left as it was. A missing
    folder is not created: `ConfigError` ("the folder ... does not exist"). Other failures
    raise `ConfigError` naming the file.
    """
    path = Path(path).expanduser()
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    require_folder(path.parent, at=str(path))  # never made up: a USB stick not plugged in
    if not overwrite and path.exists():
        raise InventoryExistsError("source.inventory.exists", at=(str(path),))
    try:
        try:
            atomic_write_text(path, text, overwrite=overwrite)
        except FileExistsError:
            if path.exists():  # someone else's file took the name meanwhile: left as it is
                raise InventoryExistsError("source.inventory.exists", at=(str(path),)) from None
            raise
    except InventoryExistsError:
        raise
    except OSError as exc:
        if isinstance(exc, FileExistsError | NotADirectoryError):
            blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
            if blocker is not None:
                raise ConfigError(
                    "source.inventory.write_blocked", at=(str(path),), blocker=blocker
                ) from None
        reason = exc.strerror or type(exc).__name__
        raise ConfigError("source.inventory.write_failed", at=(str(path),), error=reason) from None


# --------------------------------------------------------------------------------------------
# Reading auditor's format back
# --------------------------------------------------------------------------------------------

# What a value should be, by field kind: a word of source.inventory.kind (the catalogue).
_EXPECTED = {
    "str": "text",
    "int": "integer",
    "number": "number",
    "bool": "boolean",
    "list": "list",
    "object": "object",
}


def _found(value: Any) -> tuple[str, dict[str, Any]]:
    """What a JSON value is (a word of source.inventory.found) and the value to show.

    null, true and false are shown as written; a text is shown quoted, cut after 40 characters.
    """
    if value is None:
        return "literal", {"value": "null"}
    if isinstance(value, bool):
        return "literal", {"value": "true" if value else "false"}
    if isinstance(value, int | float):
        return "number", {"value": value}
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return "text", {"value": json.dumps(shown, ensure_ascii=False)}
    if isinstance(value, list):
        return "list", {}
    return "object", {}


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class _Reader:
    """Checks a decoded document key by key; every failure is one line naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, **values: Any) -> NoReturn:
        """Raise the line `key` about the file ("PATH: required key host.hostname is missing")."""
        raise SourceError(key, at=(str(self.path),), **values)

    def wrong_type(self, place: str, expected: str, value: Any) -> NoReturn:
        """`place` holds `value` where `expected` (a kind of _EXPECTED, "?" for or null) goes."""
        name = _EXPECTED[expected.rstrip("?")] + ("_or_null" if expected.endswith("?") else "")
        found, shown = _found(value)
        self.fail("source.inventory.should_be", place=place, expected=name, found=found, **shown)

    def value(self, obj: Mapping[str, Any], key: str, kind: str, where: str, required: bool):
        place = f"{where}.{key}" if where else key
        if key not in obj:
            if required:
                self.fail("source.inventory.missing_key", place=place)
            return None
        value = obj[key]
        nullable = kind.endswith("?")
        base = kind.rstrip("?")
        if value is None and nullable:
            return None
        if not _is_kind(value, base):
            self.wrong_type(place, kind, value)
        if base in ("int", "number") and not _in_range(value):
            shown = str(value) if len(str(value)) <= 40 else str(value)[:37] + "..."
            self.fail("source.inventory.out_of_range", place=place, value=shown)
        return float(value) if base == "number" else value

    def record(self, cls: type, obj: Any, fields: Iterable[tuple[str, str]], where: str):
        if not isinstance(obj, dict):
            self.wrong_type(where, "object", obj)
        required = _required_fields(cls)
        values = {}
        for key, kind in fields:
            if key in obj or key in required:
                values[key] = self.value(obj, key, kind, where, key in required)
        return values

    def items(self, obj: Mapping[str, Any], key: str, where: str, required: bool) -> list[Any]:
        place = f"{where}.{key}" if where else key
        if key not in obj:
            if required:
                self.fail("source.inventory.missing_key", place=place)
            return []
        value = obj[key]
        if not isinstance(value, list):
            self.wrong_type(place, "list", value)
        return value

    def lines(self, obj: Mapping[str, Any], key: str, where: str) -> list[str]:
        """A list of error lines: plain texts, or `Problem`s written by `_line_document`."""
        lines = []
        for index, item in enumerate(self.items(obj, key, where, required=False)):
            place = f"{where}.{key}[{index}]"
            if isinstance(item, str):
                lines.append(item)
            elif isinstance(item, dict):
                lines.append(self.line(item, place))
            else:
                self.wrong_type(place, "str", item)
        return lines

    def line(self, item: dict[str, Any], place: str) -> str:
        key, text = item.get("key"), item.get("text")
        values, at = item.get("values", {}), item.get("at", [])
        if not (
            isinstance(key, str)
            and isinstance(values, dict)
            and isinstance(at, list)
            and all(isinstance(where, str) for where in at)
            and (text is None or isinstance(text, str))
        ):
            self.fail("source.inventory.bad_line", place=place)
        problem = _problem(key, at, values)
        if problem is not None:
            return problem
        # a key this auditor does not know (a newer probe), or values that do not fit it
        return text if text is not None else ": ".join((*at, key))


def _problem(key: str, at: list[str], values: dict[str, Any]) -> Problem | None:
    """The Problem stored as `key`, `at` and `values`, if this auditor can show it in every
    language; else None."""
    if key not in catalog("en"):
        return None
    try:
        problem = Problem(key, at=tuple(at), **values)
        for lang in LANGUAGES:
            problem.localized(lang)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return None  # a placeholder without its value, or a value named "key" or "at"
    return problem


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    raise AssertionError(kind)


def _in_range(value: int | float) -> bool:
    """An integer SQLite can store, or a finite number (JSON's 1e400 reads as infinity)."""
    if isinstance(value, int):
        return value in _INT_RANGE
    return math.isfinite(value) and abs(value) < 2.0**63


def _required_fields(cls: type) -> set[str]:
    return {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }


def _host(reader: _Reader, obj: Any, source: str) -> HostFacts:
    values = reader.record(HostFacts, obj, _HOST_FIELDS, "host")
    disks = []
    for index, item in enumerate(reader.items(obj, "disks", "host", required=False)):
        where = f"host.disks[{index}]"
        disks.append(DiskFacts(**reader.record(DiskFacts, item, _DISK_FIELDS, where)))
    errors = reader.lines(obj, "errors", "host")
    identifiers = reader.items(obj, "identifiers", "host", required=False)
    for index, item in enumerate(identifiers):
        if not isinstance(item, str):
            reader.wrong_type(f"host.identifiers[{index}]", "str", item)
    return HostFacts(
        **values, disks=disks, errors=errors, source=source, identifiers=list(identifiers)
    )


def _hardware(reader: _Reader, obj: Any) -> HardwareFacts | None:
    if obj is None:
        return None
    values = reader.record(HardwareFacts, obj, _HARDWARE_FIELDS, "hardware")
    smart = []
    for index, item in enumerate(reader.items(obj, "smart", "hardware", required=False)):
        where = f"hardware.smart[{index}]"
        smart.append(SmartFacts(**reader.record(SmartFacts, item, _SMART_FIELDS, where)))
    errors = reader.lines(obj, "errors", "hardware")
    return HardwareFacts(**values, smart=smart, errors=errors)


def _looks_like_glpi(doc: Mapping[str, Any]) -> bool:
    return "deviceid" in doc and ("content" in doc or "action" in doc)


def _decode(reader: _Reader, path: Path) -> Any:
    try:  # only a regular file: a FIFO named *.json would hang the scan
        data = read_regular_bytes(path, _MAX_FILE_BYTES)
    except NotRegularFile:
        reader.fail("source.inventory.not_regular")
    except TooLarge:
        reader.fail("source.inventory.too_large", megabytes=_MAX_FILE_BYTES // _MIB)
    except OSError as exc:
        reader.fail("source.inventory.unreadable", error=exc.strerror or type(exc).__name__)
    if not data.strip():
        reader.fail("source.inventory.empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        reader.fail("source.inventory.not_utf8")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            reader.fail("source.inventory.truncated", line=exc.lineno)
        reader.fail(
            "source.inventory.not_json",
            error=_one_line(exc.msg),
            line=exc.lineno,
            column=exc.colno,
        )
    except RecursionError:  # thousands of nested brackets: no inventory looks like that
        reader.fail("source.inventory.too_deep")
    except _NotJsonConstant as exc:  # NaN, Infinity
        reader.fail("source.inventory.json_constant", name=exc.name)
    except ValueError as exc:  # a number too long for Python to convert
        reader.fail("source.inventory.invalid_json", error=_one_line(exc))


class _NotJsonConstant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_constant(name: str) -> NoReturn:
    raise _NotJsonConstant(name)


def _current_document(reader: _Reader, doc: Any) -> dict[str, Any]:
    """The document in the current version's shape, or a SourceError saying why not."""
    if not isinstance(doc, dict):
        found, shown = _found(doc)
        reader.fail("source.inventory.json_is", found=found, **shown)
    if doc.get("format") != FORMAT_NAME:
        if _looks_like_glpi(doc):
            reader.fail("source.inventory.glpi")
        reader.fail("source.inventory.no_format", format=FORMAT_NAME)
    version = reader.value(doc, "version", "int", "", required=True)
    if version > INVENTORY_VERSION:
        reader.fail(
            "source.inventory.newer",
            version=version,
            auditor=__version__,
            supported=INVENTORY_VERSION,
        )
    if version < 1:
        reader.fail("source.inventory.no_such_version", version=version)
    if any(step not in _UPGRADES for step in range(version, INVENTORY_VERSION)):
        reader.fail("source.inventory.too_old", version=version, auditor=__version__)
    for step in range(version, INVENTORY_VERSION):
        doc = _UPGRADES[step](doc)
    return doc


def _inventory(reader: _Reader, doc: Any, source: str) -> MachineInventory:
    doc = _current_document(reader, doc)
    generated_at = reader.value(doc, "generated_at", "str", "", required=True)
    try:
        datetime.fromisoformat(generated_at)
    except ValueError:
        reader.fail("source.inventory.generated_at", **_found(generated_at)[1])
    for key in ("host", "hardware"):
        if key not in doc:
            reader.fail("source.inventory.missing_key", place=key)
    host = _host(reader, doc["host"], source)
    host.collected_at = generated_at  # which of two records of one machine is newer
    hardware = _hardware(reader, doc["hardware"])
    antivirus = [
        AntivirusFacts(**reader.record(AntivirusFacts, item, _ANTIVIRUS_FIELDS, f"antivirus[{i}]"))
        for i, item in enumerate(reader.items(doc, "antivirus", "", required=True))
    ]
    batteries = [
        BatteryFacts(**reader.record(BatteryFacts, item, _BATTERY_FIELDS, f"batteries[{i}]"))
        for i, item in enumerate(reader.items(doc, "batteries", "", required=True))
    ]
    return MachineInventory(host, hardware, antivirus, batteries)


def read_inventory(path: Path) -> MachineInventory:
    """Read an inventory that `write_inventory(auditor_inventory(...))` wrote.

    Returns (host, hardware, antivirus, batteries); `host.source` is the file's name. Raises
    `SourceError`, one line naming the file, when the file is not JSON or is truncated, is not
    an auditor inventory (a GLPI one, say), comes from a newer auditor, or has a key missing
    or of the wrong type. Documents from an older version this auditor still knows are read.
    Keys it does not know are ignored.
    """
    path = Path(path)
    reader = _Reader(path)
    return _inventory(reader, _decode(reader, path), source=path.name)


def _is_inventory_candidate(entry: Path) -> bool:
    # Dot files are left out: "._name.json" are the AppleDouble files macOS leaves on USB
    # sticks, and write_inventory's temporary files start with a dot too.
    return entry.suffix.lower() == ".json" and not entry.name.startswith(".")

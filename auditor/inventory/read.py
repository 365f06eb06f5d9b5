"""Reading any inventory file: auditor's own, GLPI Agent's JSON, FusionInventory's or OCS
Inventory's XML. The format is told from the content (the extension only picks the files of
a folder to look at): `{` starts JSON, then GLPI's `deviceid` or auditor's `format` says
whose; `<` starts XML, then VERSIONCLIENT and the sections say which agent wrote it.

Every failure is one `SourceError` line naming the file; a folder's bad file never stops the
others (`read_inventory_folder`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from xml.parsers import expat

from auditor.errors import Problem, SourceError
from auditor.files import NotRegularFile, TooLarge, read_regular_bytes
from auditor.inventory import auditor_format
from auditor.inventory.agents import XmlRefused, parse_xml
from auditor.inventory.auditor_format import MachineInventory
from auditor.inventory.fusioninventory_xml import (
    looks_like_fusioninventory,
    read_fusioninventory_xml,
)
from auditor.inventory.glpi_json import looks_like_glpi, read_glpi_json
from auditor.inventory.ocs_xml import looks_like_ocs, read_ocs_xml

MAX_FILE_BYTES = 50 * 1024 * 1024  # as auditor's own inventories: a real one is kilobytes
_MIB = 1024 * 1024
SUFFIXES = (".json", ".xml", ".ocs")


def _modified(path: Path) -> str | None:
    """The file's date, standing in for an inventory date the format does not carry."""
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, UTC).isoformat(timespec="seconds")
    except OSError:
        return None


def _read_bytes(path: Path) -> bytes:
    at = (str(path),)
    try:  # only a regular file: a FIFO named *.xml would hang the scan
        return read_regular_bytes(path, MAX_FILE_BYTES)
    except NotRegularFile:
        raise SourceError("source.inventory.not_regular", at=at) from None
    except TooLarge:
        raise SourceError(
            "source.inventory.too_large", at=at, megabytes=MAX_FILE_BYTES // _MIB
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SourceError("source.inventory.unreadable", at=at, error=reason) from None


def _read_xml(path: Path, data: bytes) -> MachineInventory:
    at = (str(path),)
    try:
        root = parse_xml(data)
    except XmlRefused:
        raise SourceError("source.inventory.xml_dtd", at=at) from None
    except expat.ExpatError as exc:
        raise SourceError(
            "source.inventory.not_xml",
            at=at,
            error=expat.ErrorString(exc.code),
            line=exc.lineno,
        ) from None
    if looks_like_fusioninventory(root):
        return read_fusioninventory_xml(root, path.name, _modified(path))
    if looks_like_ocs(root):
        return read_ocs_xml(root, path.name, _modified(path))
    raise SourceError("source.inventory.unknown_xml", at=at)


def read_any_inventory(path: Path) -> MachineInventory:
    """One inventory file, whatever tool wrote it; `host.source` is the file's name."""
    path = Path(path)
    data = _read_bytes(path)
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    try:
        if start == b"<":
            return _read_xml(path, data)
        reader = auditor_format._Reader(path)
        doc = auditor_format._decode(reader, path)
        if looks_like_glpi(doc):
            return read_glpi_json(doc, path.name, _modified(path))
        return auditor_format._inventory(reader, doc, source=path.name)
    except SourceError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
        # a value no agent writes (a section of the wrong shape): one line, not a traceback
        raise SourceError(
            "source.inventory.agent_unreadable", at=(str(path),), error=type(exc).__name__
        ) from None


def _is_candidate(entry: Path) -> bool:
    # Dot files are left out: "._name.json" are the AppleDouble files macOS leaves on USB
    # sticks, and write_inventory's temporary files start with a dot too.
    return entry.suffix.lower() in SUFFIXES and not entry.name.startswith(".")


def read_inventory_folder(folder: Path) -> tuple[list[MachineInventory], list[str]]:
    """Every inventory file of a folder (*.json, *.xml, *.ocs; not its subfolders), in name
    order: the machines read, and one line per file that could not be read (or one line when
    there is none at all). Raises `SourceError` only when the folder cannot be listed."""
    folder = Path(folder)
    try:
        entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    except FileNotFoundError:
        raise SourceError("source.inventory.folder_not_found", at=(str(folder),)) from None
    except NotADirectoryError:
        raise SourceError("source.inventory.not_a_folder", at=(str(folder),)) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SourceError(
            "source.inventory.folder_unreadable", at=(str(folder),), error=reason
        ) from None
    candidates = [e for e in entries if _is_candidate(e) and not e.is_dir()]
    if not candidates:  # a wrong folder, or files not copied yet: never silent
        return [], [Problem("source.inventory.no_files", at=(str(folder),))]
    inventories: list[MachineInventory] = []
    errors: list[str] = []
    for entry in candidates:
        try:
            inventories.append(read_any_inventory(entry))
        except SourceError as exc:
            errors.append(exc.problem)
    return inventories, errors

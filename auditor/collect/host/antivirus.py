"""Is this machine protected? The antivirus products the OS reports, and how fresh they are.

`probe_antivirus()` only describes; `protected()` gives the one verdict the report needs, and
rules judge the rest. Each platform has its own witness:

- Windows desktops register every antivirus with the Security Center (WMI namespace
  root/SecurityCenter2), whose `productState` says whether it is on and whether its definitions
  are current. Microsoft Defender also reports on itself (`Get-MpComputerStatus`), with the
  date of its definitions. Windows Server has no Security Center: there Defender's own status,
  then the running processes, are all there is.
- macOS ships XProtect; the install history dates its last definitions update.
- Linux: ClamAV, whose signature files carry their build time in a text header.
- Everywhere: a curated list of antivirus process names (`av_processes.toml`). A running
  process only says the product is there, not whether it protects.

As in `system.py`, parsing lives in small pure functions fed with recorded outputs by the tests,
commands go through a replaceable `Runner`, every command has a timeout, nothing needs admin
rights, no exception escapes a probe, and whatever could not be seen becomes one line (a
`Problem` from the "probe" catalog, in English and French).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import psutil

from auditor.collect.host.commands import Runner, exception_detail, powershell_exe, run_command
from auditor.collect.host.records import AntivirusFacts
from auditor.errors import Problem

# (argv, timeout in seconds) -> (returncode, stdout, stderr). Raises FileNotFoundError when the
# program is missing and subprocess.TimeoutExpired when it runs past the timeout.

COMMAND_TIMEOUT = 10.0  # seconds, for every command this module starts

# ClamAV's own threshold: libclamav warns "The virus database is older than 7 days!" when the
# build time of a loaded database is more than 604800 s old (libclamav/cvd.c).
CLAMAV_MAX_AGE = timedelta(days=7)

# Where distributions and Homebrew put freshclam's database (DatabaseDirectory).
CLAMAV_DIRS = (
    Path("/var/lib/clamav"),  # Debian, Ubuntu, Fedora, Arch
    Path("/var/db/clamav"),  # FreeBSD
    Path("/opt/homebrew/var/lib/clamav"),  # Homebrew, Apple silicon
    Path("/usr/local/var/lib/clamav"),  # Homebrew, Intel
)

AV_PROCESSES_FILE = Path(__file__).with_name("av_processes.toml")

# Every note is a line of the catalog, "probe.antivirus.…": "antivirus: … not readable (…)".


# --------------------------------------------------------------------------------------------
# Windows: Security Center
# --------------------------------------------------------------------------------------------

# The only bits everyone agrees on (no official documentation exists; GLPI agent, the PowerShell
# community and Mondoo decode them the same way): bits 12-15 are the scanner state, bits 4-7
# the definitions state.
_SECURITY_STATES = {0: "off", 1: "on", 2: "snoozed", 3: "expired"}
_SIGNATURE_STATES = {0: "up to date", 1: "out of date"}


def decode_product_state(state: int) -> tuple[bool | None, bool | None]:
    """(enabled, up_to_date) from a Security Center `productState`.

    Enabled only when the scanner state is "on" (1); "off", "snoozed" and "expired" (licence
    run out) are not protecting. None where the bits hold a value nobody has documented.
    """
    security = (state >> 12) & 0xF
    signatures = (state >> 4) & 0xF
    enabled = security == 1 if security in _SECURITY_STATES else None
    up_to_date = signatures == 0 if signatures in _SIGNATURE_STATES else None
    return enabled, up_to_date


def _json_items(text: str) -> list[Any]:
    """ConvertTo-Json writes nothing for no object, an object for one and a list for several."""
    text = text.strip()
    if not text:
        return []
    value = json.loads(text)
    return value if isinstance(value, list) else [value]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_security_center(text: str) -> list[AntivirusFacts]:
    """The products in the JSON of `Get-CimInstance ... AntiVirusProduct | Select-Object
    displayName,productState,timestamp | ConvertTo-Json`.

    `timestamp` is when the product last reported to the Security Center, not the date of its
    definitions, so it is not used as one.
    """
    products = []
    for item in _json_items(text):
        if not isinstance(item, Mapping):
            continue
        # no name: the WMI class's, a word that reads the same in every language
        name = str(item.get("displayName") or "").strip() or "AntiVirusProduct"
        state = _as_int(item.get("productState"))
        enabled, up_to_date = decode_product_state(state) if state is not None else (None, None)
        products.append(
            AntivirusFacts(
                product=name,
                enabled=enabled,
                up_to_date=up_to_date,
                signature_date=None,
                source="securitycenter2",
            )
        )
    return products


# "Invalid namespace" is WBEM_E_INVALID_NAMESPACE, 0x8004100E: the HRESULT is in the error's
# FullyQualifiedErrorId whatever the display language; the message is translated.
_INVALID_NAMESPACE = re.compile(
    r"0x8004100e|invalid namespace|espace de noms non valide", re.IGNORECASE
)


def is_invalid_namespace(stderr: str) -> bool:
    """True when PowerShell says root/SecurityCenter2 does not exist (Windows Server)."""
    return bool(_INVALID_NAMESPACE.search(stderr))


# --------------------------------------------------------------------------------------------
# Windows: Defender's own status
# --------------------------------------------------------------------------------------------

DEFENDER_PRODUCT = "Microsoft Defender Antivirus"

# AntivirusSignatureAge when Defender has no definitions at all (seen with Defender not running
# next to another antivirus).
_NO_SIGNATURES_AGE = 65535

# Windows PowerShell 5.1 serialises dates as "\/Date(1700000000000)\/" (milliseconds since the
# epoch, UTC; an offset may follow for display). json.loads turns "\/" into "/".
_MS_JSON_DATE = re.compile(r"^\\?/Date\((-?\d+)(?:[+-]\d{4})?\)\\?/$")
# WMI's DMTF datetime, as wmic prints it: 20250311015218.000000+000 (offset in minutes).
_DMTF_DATE = re.compile(r"^(\d{14})\.\d{6}([+-])(\d{3})$")


def parse_powershell_date(value: Any) -> datetime | None:
    """An aware datetime from a date as ConvertTo-Json writes it, None when there is none.

    Accepted: "/Date(ms)/" (Windows PowerShell 5.1), ISO 8601 (PowerShell 7; a date without
    offset is taken as UTC), the DMTF form of WMI, and PowerShell 5.1's wrapper object
    {"value": ..., "DisplayHint": ..., "DateTime": "<localised text>"} around any of them.
    """
    if isinstance(value, Mapping):
        inner = value.get("value", value.get("Value"))
        return parse_powershell_date(inner)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    match = _MS_JSON_DATE.match(text)
    if match:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
    match = _DMTF_DATE.match(text)
    if match:
        stamp = datetime.strptime(match.group(1), "%Y%m%d%H%M%S")
        minutes = int(match.group(3)) * (-1 if match.group(2) == "-" else 1)
        return (stamp - timedelta(minutes=minutes)).replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _both(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is True and b is True:
        return True
    return None


def parse_defender_status(text: str, now: datetime) -> AntivirusFacts | None:
    """Defender from the JSON of `Get-MpComputerStatus | Select-Object AntivirusEnabled,
    RealTimeProtectionEnabled,AntivirusSignatureLastUpdated,AntivirusSignatureAge | ConvertTo-Json`.

    Enabled when both the antivirus and its real-time protection are on. The selected fields
    carry no verdict on freshness, so `up_to_date` stays None and the date speaks: the last
    update, else today minus AntivirusSignatureAge (days). None when there is no object.
    """
    items = [item for item in _json_items(text) if isinstance(item, Mapping)]
    if not items:
        return None
    status = items[0]
    enabled = _both(
        _as_bool(status.get("AntivirusEnabled")), _as_bool(status.get("RealTimeProtectionEnabled"))
    )
    updated = parse_powershell_date(status.get("AntivirusSignatureLastUpdated"))
    signature_date = updated.astimezone(UTC).date() if updated else None
    age = _as_int(status.get("AntivirusSignatureAge"))
    if signature_date is None and age is not None and age < _NO_SIGNATURES_AGE:
        signature_date = _utc(now).date() - timedelta(days=age)
    return AntivirusFacts(
        product=DEFENDER_PRODUCT,
        enabled=enabled,
        up_to_date=None,
        signature_date=signature_date.isoformat() if signature_date else None,
        source="defender",
    )


# --------------------------------------------------------------------------------------------
# macOS: XProtect
# --------------------------------------------------------------------------------------------

XPROTECT_PRODUCT = "XProtect"
# Install-history names of XProtect updates: the definitions (XProtect.bundle) and the
# XProtect app with its remediator.
_XPROTECT_UPDATES = frozenset({"XProtectPlistConfigData", "XProtectPayloads"})
XPROTECT_INFO_PLIST = (
    "/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist"
)


@dataclass(frozen=True, slots=True)
class XProtectUpdate:
    name: str  # "XProtectPlistConfigData", "XProtectPayloads"
    version: str | None  # "5305"
    installed: datetime


def parse_install_history(text: str) -> list[XProtectUpdate]:
    """The XProtect updates in `system_profiler SPInstallHistoryDataType -json`, oldest first."""
    data = json.loads(text) if text.strip() else {}
    entries = data.get("SPInstallHistoryDataType", []) if isinstance(data, Mapping) else []
    updates = []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("_name") not in _XPROTECT_UPDATES:
            continue
        installed = parse_powershell_date(entry.get("install_date"))
        if installed is None:
            continue
        version = str(entry.get("install_version") or "").strip() or None
        updates.append(XProtectUpdate(str(entry["_name"]), version, installed))
    return sorted(updates, key=lambda update: update.installed)


def xprotect_facts(updates: Sequence[XProtectUpdate], present: bool) -> AntivirusFacts | None:
    """XProtect's row: the date of its newest update, if it is there at all.

    XProtect comes with macOS and System Settings offers no switch to turn it off, so present
    is taken as enabled. Apple gives no freshness verdict, so `up_to_date` stays None and the
    date speaks.
    """
    if not updates and not present:
        return None
    newest = max((update.installed for update in updates), default=None)
    return AntivirusFacts(
        product=XPROTECT_PRODUCT,
        enabled=True,
        up_to_date=None,
        signature_date=newest.astimezone(UTC).date().isoformat() if newest else None,
        source="xprotect",
    )


# --------------------------------------------------------------------------------------------
# ClamAV
# --------------------------------------------------------------------------------------------

CLAMAV_PRODUCT = "ClamAV"
CLAMAV_HEADER_SIZE = 512


@dataclass(frozen=True, slots=True)
class ClamavHeader:
    version: int  # database version, the one freshclam and `clamscan --version` show
    signatures: int
    built: datetime  # build time, from the last field (seconds since the epoch)


def parse_cvd_header(head: bytes) -> ClamavHeader | None:
    """The header of a daily.cvd or daily.cld, None when it is not one.

    The first 512 bytes, space-padded, read
    `ClamAV-VDB:build date:version:signatures:functionality level:md5:digital signature:builder:
    build time` (libclamav/cvd.c, cl_cvdparse). The build date is text such as
    "07 Mar 2017 08-02 -0500"; the build time is the same moment in seconds since the epoch.
    A .cld, the database freshclam rebuilds from incremental updates, keeps the same header.
    """
    text = head[:CLAMAV_HEADER_SIZE].decode("ascii", errors="replace").rstrip(" \x00\r\n")
    fields = text.split(":")
    if len(fields) < 9 or fields[0] != "ClamAV-VDB":
        return None
    try:
        version, signatures, built = int(fields[2]), int(fields[3]), int(fields[8].strip())
    except ValueError:
        return None
    return ClamavHeader(version, signatures, datetime.fromtimestamp(built, tz=UTC))


def clamav_facts(
    header: ClamavHeader, now: datetime, daemon_running: bool | None
) -> AntivirusFacts:
    """ClamAV's row. Enabled when its scanning daemon (clamd, or clamonacc for on-access
    scanning) runs, as the GLPI agent judges it; up to date by ClamAV's own seven days."""
    return AntivirusFacts(
        product=CLAMAV_PRODUCT,
        enabled=daemon_running,
        up_to_date=_utc(now) - header.built <= CLAMAV_MAX_AGE,
        signature_date=header.built.date().isoformat(),
        source="clamav",
    )


# --------------------------------------------------------------------------------------------
# Running processes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownProcess:
    name: str  # executable name as psutil reports it: "MsMpEng.exe", "clamd"
    product: str
    known_as: tuple[str, ...]  # words that name the product in other sources' product names
    systems: tuple[str, ...]  # platform.system() values: "Windows", "Linux", "Darwin"
    source: str


def load_known_processes(text: str) -> list[KnownProcess]:
    """The [[process]] entries of av_processes.toml."""
    entries = tomllib.loads(text).get("process", [])
    return [
        KnownProcess(
            name=entry["name"],
            product=entry["product"],
            known_as=tuple(word.casefold() for word in entry.get("known_as", [])),
            systems=tuple(entry["systems"]),
            source=entry["source"],
        )
        for entry in entries
    ]


@cache
def _known_processes() -> tuple[KnownProcess, ...]:
    return tuple(load_known_processes(AV_PROCESSES_FILE.read_text(encoding="utf-8")))


def match_processes(
    running: Iterable[str], known: Iterable[KnownProcess], system: str
) -> list[AntivirusFacts]:
    """One row per product with a known process among `running` (case-insensitive).

    A running process says the product is there, nothing about its state: enabled and
    up_to_date stay None.
    """
    names = {name.casefold() for name in running if name}
    products: dict[str, AntivirusFacts] = {}
    for entry in known:
        if system in entry.systems and entry.name.casefold() in names:
            products.setdefault(
                entry.product,
                AntivirusFacts(
                    product=entry.product,
                    enabled=None,
                    up_to_date=None,
                    signature_date=None,
                    source="process",
                ),
            )
    return list(products.values())


def covered(
    product: str, known: Iterable[KnownProcess], reported: Iterable[AntivirusFacts]
) -> bool:
    """True when a richer source already reports `product` (a process-list product name)."""
    words = {word for entry in known if entry.product == product for word in entry.known_as}
    names = [facts.product.casefold() for facts in reported]
    return any(word in name for word in words for name in names)


# --------------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fresh(facts: AntivirusFacts, now: datetime, max_age_days: int) -> bool | None:
    if facts.up_to_date is False:
        return False
    age_ok = None
    if facts.signature_date:
        try:
            signed = date.fromisoformat(facts.signature_date)
        except ValueError:
            signed = None
        if signed is not None:
            age_ok = (_utc(now).date() - signed).days <= max_age_days
    if age_ok is False:
        return False
    if facts.up_to_date is True or age_ok is True:
        return True
    return None


def product_protects(
    facts: AntivirusFacts, now: datetime, max_signature_age_days: int = 7
) -> bool | None:
    """Whether one product protects: on, and definitions current by its own account and no
    older than `max_signature_age_days`. None when what is known does not settle it."""
    if facts.enabled is False:
        return False
    fresh = _fresh(facts, now, max_signature_age_days)
    if fresh is False:
        return False
    if facts.enabled is True and fresh is True:
        return True
    return None


def protected(
    products: Sequence[AntivirusFacts], now: datetime, max_signature_age_days: int = 7
) -> bool | None:
    """True when any one product protects, False when every product found clearly does not,
    None otherwise — including when none was found, because only the probe's notes tell "no
    antivirus" from "could not look"."""
    verdicts = [product_protects(p, now, max_signature_age_days) for p in products]
    if any(verdict is True for verdict in verdicts):
        return True
    if verdicts and all(verdict is False for verdict in verdicts):
        return False
    return None


# --------------------------------------------------------------------------------------------
# Probing
# --------------------------------------------------------------------------------------------


# PowerShell writes to a pipe in the console's OEM code page (850 on a French Windows) unless
# told otherwise; UTF-8 keeps accented product names intact.
_UTF8_OUTPUT = "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8; "

SECURITY_CENTER_SCRIPT = (
    _UTF8_OUTPUT + "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct"
    " | Select-Object displayName,productState,timestamp | ConvertTo-Json"
)
DEFENDER_SCRIPT = (
    _UTF8_OUTPUT
    + "Get-MpComputerStatus | Select-Object AntivirusEnabled,RealTimeProtectionEnabled,"
    "AntivirusSignatureLastUpdated,AntivirusSignatureAge | ConvertTo-Json"
)


def powershell_argv(script: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    return [powershell_exe(environ), "-NoProfile", "-NonInteractive", "-Command", script]


SYSTEM_PROFILER_ARGV = ["/usr/sbin/system_profiler", "SPInstallHistoryDataType", "-json"]
DEFAULTS_XPROTECT_ARGV = [
    "/usr/bin/defaults",
    "read",
    XPROTECT_INFO_PLIST,
    "CFBundleShortVersionString",
]


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""


def _failure(what: str, exc: BaseException, **values: object) -> Problem:
    """The note "probe.antivirus.<what>" ("antivirus: … not readable ({detail})") for `exc`."""
    return Problem(f"probe.antivirus.{what}", detail=exception_detail(exc), **values)


class _MissingProgram(Exception):
    """The program to run is not on this machine."""


@dataclass(slots=True)
class _Outcome:
    returncode: int
    stdout: str
    stderr: str


def _call(run: Runner, argv: list[str], what: str, notes: list[str]) -> _Outcome | None:
    """Run one command; None (and a note) when it could not run or ran out of time.

    `what` names the command's notes in the catalog: "probe.antivirus.<what>.timeout",
    ".error", ".exit" and ".exit_silent" ("security_center", "defender", "xprotect_history",
    "xprotect_version")."""
    try:
        returncode, stdout, stderr = run(argv, COMMAND_TIMEOUT)
    except FileNotFoundError as exc:
        raise _MissingProgram(argv[0]) from exc
    except subprocess.TimeoutExpired:
        notes.append(Problem(f"probe.antivirus.{what}.timeout", seconds=COMMAND_TIMEOUT))
        return None
    except Exception as exc:  # PermissionError, OSError: reported, never raised
        notes.append(_failure(f"{what}.error", exc))
        return None
    return _Outcome(returncode, stdout, stderr)


def _command_failed(what: str, outcome: _Outcome) -> Problem:
    reason = _first_line(outcome.stderr)
    if not reason:
        return Problem(f"probe.antivirus.{what}.exit_silent", code=outcome.returncode)
    return Problem(f"probe.antivirus.{what}.exit", code=outcome.returncode, reason=reason)


def _not_found(program: str) -> Problem:
    return Problem("probe.antivirus.not_found", program=program)


def _windows(run: Runner, now: datetime, notes: list[str]) -> list[AntivirusFacts]:
    products: list[AntivirusFacts] = []
    try:
        outcome = _call(run, powershell_argv(SECURITY_CENTER_SCRIPT), "security_center", notes)
        if outcome is not None:
            if is_invalid_namespace(outcome.stderr):
                notes.append(Problem("probe.antivirus.security_center.absent"))
            elif outcome.returncode != 0 and not outcome.stdout.strip():
                notes.append(_command_failed("security_center", outcome))
            else:
                try:
                    products.extend(parse_security_center(outcome.stdout))
                except ValueError as exc:
                    notes.append(_failure("security_center.answer", exc))

        outcome = _call(run, powershell_argv(DEFENDER_SCRIPT), "defender", notes)
        if outcome is not None:
            try:
                defender = parse_defender_status(outcome.stdout, now)
            except ValueError as exc:
                notes.append(_failure("defender.error", exc))
            else:
                if defender is not None:
                    products.append(defender)
                else:
                    notes.append(_command_failed("defender", outcome))
    except _MissingProgram:
        notes.append(_not_found("PowerShell"))
    return products


def _macos(run: Runner, notes: list[str]) -> list[AntivirusFacts]:
    updates: list[XProtectUpdate] = []
    present = False
    try:
        outcome = _call(run, SYSTEM_PROFILER_ARGV, "xprotect_history", notes)
        if outcome is not None:
            if outcome.returncode != 0 and not outcome.stdout.strip():
                notes.append(_command_failed("xprotect_history", outcome))
            else:
                try:
                    updates = parse_install_history(outcome.stdout)
                except ValueError as exc:
                    notes.append(_failure("xprotect_history.error", exc))
    except _MissingProgram:
        notes.append(_not_found("system_profiler"))
    if not updates:
        # Without a dated update, at least say whether XProtect is installed.
        try:
            outcome = _call(run, DEFAULTS_XPROTECT_ARGV, "xprotect_version", notes)
            if outcome is not None:
                present = outcome.returncode == 0 and bool(outcome.stdout.strip())
                if not present:
                    notes.append(_command_failed("xprotect_version", outcome))
        except _MissingProgram:
            notes.append(_not_found("defaults"))
    facts = xprotect_facts(updates, present)
    return [facts] if facts else []


def read_clamav_header(directories: Iterable[Path], notes: list[str]) -> ClamavHeader | None:
    """The newest daily database header among `directories` (daily.cvd and daily.cld: freshclam
    keeps one or the other, and an old .cvd can linger next to a fresher .cld)."""
    newest: ClamavHeader | None = None
    for directory in directories:
        for name in ("daily.cld", "daily.cvd"):
            path = directory / name
            try:
                with path.open("rb") as handle:
                    head = handle.read(CLAMAV_HEADER_SIZE)
            except FileNotFoundError:
                continue
            except Exception as exc:  # PermissionError, IsADirectoryError...
                notes.append(_failure("clamav.error", exc, path=path))
                continue
            header = parse_cvd_header(head)
            if header is None:
                notes.append(Problem("probe.antivirus.clamav.no_header", path=path))
            elif newest is None or header.built > newest.built:
                newest = header
    return newest


def _running_process_names(notes: list[str]) -> list[str] | None:
    try:
        return [proc.info.get("name") or "" for proc in psutil.process_iter(["name"])]
    except Exception as exc:  # reported, never raised
        notes.append(_failure("processes", exc))
        return None


_CLAMAV_DAEMONS = frozenset({"clamd", "clamonacc"})


def probe_antivirus(
    now: datetime | None = None,
    run: Runner | None = None,
    *,
    system: str | None = None,
    clamav_dirs: Sequence[Path] = CLAMAV_DIRS,
    process_names: Iterable[str] | None = None,
    known_processes: Sequence[KnownProcess] | None = None,
) -> tuple[list[AntivirusFacts], list[str]]:
    """The protection products this machine reports, and one line per thing not seen.

    Keyword arguments replace the machine for tests: `system` is platform.system()'s answer,
    `process_names` the running processes, `clamav_dirs` where ClamAV databases are looked for.
    Never raises for a probe failure.
    """
    now = _utc(now or datetime.now(UTC))
    run = run or run_command
    notes: list[str] = []
    try:
        system = system or platform.system()
    except Exception as exc:
        notes.append(_failure("os", exc))
        system = ""
    try:
        known = list(known_processes) if known_processes is not None else list(_known_processes())
    except Exception as exc:  # a broken data file must not stop the probe
        notes.append(_failure("process_list", exc, file=AV_PROCESSES_FILE.name))
        known = []

    if process_names is not None:
        running: list[str] | None = list(process_names)
    else:
        running = _running_process_names(notes)

    products: list[AntivirusFacts] = []
    try:
        if system == "Windows":
            products.extend(_windows(run, now, notes))
        elif system == "Darwin":
            products.extend(_macos(run, notes))
        if system != "Windows":
            header = read_clamav_header(clamav_dirs, notes)
            if header is not None:
                daemon = None if running is None else bool(_CLAMAV_DAEMONS & set(running))
                products.append(clamav_facts(header, now, daemon))
    except Exception as exc:  # a bug in a parser must still leave a report
        notes.append(_failure("protection", exc))

    if running is not None:
        for facts in match_processes(running, known, system):
            if not covered(facts.product, known, products):
                products.append(facts)
    return products, notes

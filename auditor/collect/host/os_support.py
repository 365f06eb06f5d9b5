"""Is this operating system still supported, and can this Windows 10 PC move to Windows 11?

`support_status()` reads the OS as `system.py` describes it (`os_name`, `os_version`,
`os_release`) and looks its release up in a dated table of end-of-support dates: the table,
shipped and refreshed by `auditor update-data`, is data and lives in auditor/impact/os_eol.py
(a collector reads, it does not fetch). auditor.derive calls both checks below.

Conventions, the endoflife.date ones:
- `eol` is the last day of free security updates. A release is supported up to and including
  that day. Paid extensions (Windows ESU, Ubuntu Pro ESM, Debian ELTS) do not count.
- `eol: false` means no end date is announced yet (supported, no countdown); `eol: true` means
  ended on an unknown date.
- Windows cycles carry the edition family in their name: "-w" Home/Pro (also Pro Education and
  Pro for Workstations), "-e" Enterprise/Education (also IoT Enterprise), "-e-lts"/"-iot-lts"
  the Long-Term Servicing editions, no suffix every edition.
- Debian: the end of Debian LTS. Ubuntu: the end of standard support. macOS: Apple publishes no
  dates; a release counts as unsupported when the third release after it ships.

`windows11_readiness()` checks Microsoft's published minimum (TPM 2.0, UEFI with Secure Boot,
4 GB of RAM, 64 GB of storage, a supported processor) with a small CPU check of its own,
documented at `cpu_supports_windows11()`. What it cannot tell goes to `unknown`, never to
`blockers`: a machine is only told it cannot move when we know why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.impact import threshold
from auditor.impact.os_eol import eol_value, load_table

SOON_DAYS = 183  # "within about six months": the default window of `ending_soon`


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupportStatus:
    """Support state of one OS release on a given day.

    `supported` is None when we cannot tell (unknown OS or release, release missing from the
    table); `reason` then says why in plain words and `reason_code` is one of "unknown_os",
    "unknown_version", "not_in_table", "development". When supported, `reason_code` is
    "no_date" if no end date is announced yet. `days_left` counts from `today` to `eol`
    (negative once ended); `ending_soon` is true when still supported and the end is within
    the window given to `support_status()`.
    """

    product: str | None  # "windows", "macos", "ubuntu", "debian", "linuxmint", "fedora"
    cycle: str | None  # the table's cycle: "10-22h2", "11-24h2-w", "22.04", "lmde6"
    label: str  # "Windows 10 22H2 (Home/Pro)", "Ubuntu 22.04 LTS", "macOS 14 Sonoma"
    eol: date | None
    supported: bool | None
    days_left: int | None
    source: str | None  # endoflife.date API URL of the product, or the refreshed copy's URL
    ending_soon: bool = False
    reason: str = ""
    reason_code: str = ""


@dataclass(frozen=True, slots=True)
class Readiness:
    """Can this PC run Windows 11? `ready` is None when nothing blocks but something is unknown.

    Codes in `blockers` and `unknown`: "tpm", "secure_boot", "uefi", "ram", "disk", "cpu".
    """

    ready: bool | None
    blockers: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Recognising the OS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedOS:
    """What `parse_os()` recognised; `reason`/`reason_code` are set when it could not tell."""

    product: str | None
    version: str | None  # "22H2", "7", "14", "10.15", "22.04", "12", "21.3", "lmde6", "40"
    label: str  # human name, without the table's codename
    candidates: tuple[str, ...] = ()  # table cycles to try, in order
    reason: str = ""
    reason_code: str = ""


# Windows build number -> feature update, for when the registry gave no DisplayVersion.
WINDOWS_BUILDS = {
    10240: "1507",
    10586: "1511",
    14393: "1607",
    15063: "1703",
    16299: "1709",
    17134: "1803",
    17763: "1809",
    18362: "1903",
    18363: "1909",
    19041: "2004",
    19042: "20H2",
    19043: "21H1",
    19044: "21H2",
    19045: "22H2",
    22000: "21H2",
    22621: "22H2",
    22631: "23H2",
    26100: "24H2",
    26200: "25H2",
    26300: "26H2",
    28000: "26H1",
}
_WINDOWS_11_FIRST_BUILD = 22000
# Long-Term Servicing releases are often named by year rather than version.
_LTSC_YEARS = {
    ("10", "2015"): "1507",
    ("10", "2016"): "1607",
    ("10", "2019"): "1809",
    ("10", "2021"): "21H2",
    ("11", "2024"): "24H2",
}
_RELEASE_IDS = frozenset(
    {"1507", "1511", "1607", "1703", "1709", "1803", "1809", "1903", "1909", "2004", "2009"}
)
_OLD_WINDOWS = {
    "xp": ("5-sp3", "Windows XP"),
    "vista": ("6-sp2", "Windows Vista"),
    "7": ("7-sp1", "Windows 7"),
    "8": ("8", "Windows 8"),
    "8.1": ("8.1", "Windows 8.1"),
}
_NT_VERSIONS = {"5.1": "xp", "6.0": "vista", "6.1": "7", "6.2": "8", "6.3": "8.1"}
_FAMILY_LABELS = {
    "w": "Home/Pro",
    "e": "Enterprise/Education",
    "e-lts": "Enterprise LTSC",
    "iot-lts": "IoT Enterprise LTSC",
}


def windows_edition_family(os_version: str) -> str | None:
    """Edition family of a Windows description: "w" (Home, Pro, Pro Education, Pro for
    Workstations), "e" (Enterprise, Education, IoT Enterprise), "e-lts", "iot-lts", or None."""
    text = os_version.casefold()
    if re.search(r"\blts[bc]\b", text) or re.search(r"\benterprises(n)?\b", text):
        return "iot-lts" if "iot" in text else "e-lts"
    if re.search(r"\b(pro|professional\w*|home|core\w*)\b", text):
        return "w"  # before "education": "Pro Education" is a Pro edition
    if re.search(r"\b(enterprise\w*|education\w*|iot)\b", text):
        return "e"
    return None


def _windows_build(os_release: str, os_version: str) -> int | None:
    for text in (os_release, os_version):
        match = re.search(r"\b(?:10|6)\.\d\.(\d{4,5})\b", text)
        if match:
            return int(match.group(1))
    return None


def _windows_feature_version(text: str, major: str, build: int | None) -> str | None:
    match = re.search(r"\b(\d\d)h([12])\b", text, re.IGNORECASE)
    if match:
        return f"{match.group(1)}H{match.group(2)}"
    for token in re.findall(r"\b(\d{4})\b", text):
        if re.search(r"\blts[bc]\b", text, re.IGNORECASE) and (major, token) in _LTSC_YEARS:
            return _LTSC_YEARS[(major, token)]
        if token in _RELEASE_IDS:
            return "20H2" if token == "2009" else token  # ReleaseId stayed "2009" for 20H2
    if build is not None:
        return WINDOWS_BUILDS.get(build)
    return None


def _parse_windows(os_version: str, os_release: str) -> ParsedOS:
    text = os_version.strip()
    lower = text.casefold()
    if "server" in lower:
        return ParsedOS(
            "windows-server",
            None,
            text or "Windows Server",
            reason=f"{text or 'Windows Server'}: server editions are not in the support table",
            reason_code="not_in_table",
        )
    build = _windows_build(os_release, text)
    match = re.search(r"\bwindows\s+(xp|vista|8\.1|7|8|10|11)\b", lower)
    release = match.group(1) if match else None
    if release is None:
        nt = re.match(r"\s*(\d+\.\d+)", os_release)
        if nt and nt.group(1) in _NT_VERSIONS:
            release = _NT_VERSIONS[nt.group(1)]
        elif nt and nt.group(1) == "10.0":
            release = "10"
    if release == "10" and build is not None and build >= _WINDOWS_11_FIRST_BUILD:
        release = "11"  # Windows 11 kept the 10.0 kernel version; old product names say "10"
    if release in _OLD_WINDOWS:
        cycle, label = _OLD_WINDOWS[release]
        return ParsedOS("windows", release, label, (cycle,))
    if release not in ("10", "11"):
        return ParsedOS(
            "windows",
            None,
            text or "Windows",
            reason=f"cannot tell which Windows release {text or 'this'} is",
            reason_code="unknown_version",
        )
    feature = _windows_feature_version(text, release, build)
    if feature is None:
        return ParsedOS(
            "windows",
            None,
            f"Windows {release}",
            reason=(
                f"Windows {release}: neither the version (22H2...) nor a known build number "
                "was reported"
            ),
            reason_code="unknown_version",
        )
    family = windows_edition_family(text)
    base = f"{release}-{feature.lower()}"
    name = f"Windows {release} {feature}"
    if family == "w":
        return ParsedOS("windows", feature, f"{name} (Home/Pro)", (f"{base}-w", base))
    if family == "e":
        return ParsedOS("windows", feature, f"{name} (Enterprise/Education)", (f"{base}-e", base))
    if family in ("e-lts", "iot-lts"):
        return ParsedOS(
            "windows", feature, f"{name} ({_FAMILY_LABELS[family]})", (f"{base}-{family}",)
        )
    # Edition unknown: a cycle covering every edition, else the Home/Pro one, which ends first.
    return ParsedOS(
        "windows", feature, f"{name} (edition unknown, Home/Pro dates)", (base, f"{base}-w")
    )


def _darwin_to_macos(os_release: str) -> str | None:
    """macOS release from the Darwin kernel version (`platform.release()` on a Mac)."""
    match = re.match(r"\s*(\d+)\.", os_release)
    if not match:
        return None
    darwin = int(match.group(1))
    if darwin >= 25:
        return str(darwin + 1)  # Darwin 25 is macOS 26 Tahoe: Apple skipped 16 to 25
    if darwin >= 20:
        return str(darwin - 9)  # Darwin 20 is macOS 11 Big Sur
    if darwin >= 13:
        return f"10.{darwin - 4}"  # Darwin 13 is OS X 10.9 Mavericks
    return None


def _parse_macos(os_version: str, os_release: str) -> ParsedOS:
    match = re.search(r"\b(?:macos|mac\s*os\s*x|os\s*x)\s*(\d+)(?:\.(\d+))?", os_version, re.I)
    cycle = None
    if match:
        major, minor = match.group(1), match.group(2)
        cycle = f"10.{minor}" if major == "10" and minor is not None else major
        if major == "10" and minor is None:
            cycle = None
    if cycle is None:
        cycle = _darwin_to_macos(os_release)
    if cycle is None:
        return ParsedOS(
            "macos",
            None,
            "macOS",
            reason="macOS: the version was not reported",
            reason_code="unknown_version",
        )
    return ParsedOS("macos", cycle, f"macOS {cycle}", (cycle,))


_LINUX_NAMES = (
    ("lmde", "linuxmint"),
    ("linux mint", "linuxmint"),
    ("ubuntu", "ubuntu"),
    ("debian", "debian"),
    ("fedora", "fedora"),
)


def _parse_linux(os_version: str) -> ParsedOS | None:
    text = os_version.strip()
    lower = text.casefold()
    if "development branch" in lower or re.search(r"/sid\b|\brawhide\b", lower):
        product = next((p for key, p in _LINUX_NAMES if key in lower), None)
        return ParsedOS(
            product,
            None,
            text,
            reason=f"{text}: a development release, which has no end-of-support date",
            reason_code="development",
        )
    match = re.search(r"\blmde\s*(\d+)", lower)
    if match:
        return ParsedOS(
            "linuxmint",
            f"lmde{match.group(1)}",
            f"LMDE {match.group(1)}",
            (f"lmde{match.group(1)}",),
        )
    if "linux mint" in lower:
        match = re.search(r"linux mint\s+(\d+(?:\.\d+)?)", lower)
        if match:
            version = match.group(1)
            return ParsedOS("linuxmint", version, f"Linux Mint {version}", (version,))
        return ParsedOS(
            "linuxmint", None, text, reason=f"{text}: no version", reason_code="unknown_version"
        )
    if "ubuntu" in lower:
        match = re.search(r"ubuntu\s+(\d{2}\.\d{2})", lower)
        if match:
            version = match.group(1)
            return ParsedOS("ubuntu", version, f"Ubuntu {version}", (version,))
        return ParsedOS(
            "ubuntu", None, text, reason=f"{text}: no version", reason_code="unknown_version"
        )
    if "debian" in lower:
        match = re.search(r"debian(?:\s+gnu/linux)?\s+(\d+)", lower)
        if match:
            version = match.group(1)
            return ParsedOS("debian", version, f"Debian {version}", (version,))
        codename = re.search(r"\(([a-z]+)\)", lower)
        if codename:  # "Debian GNU/Linux (bookworm)": looked up by codename later
            return ParsedOS("debian", None, text, (f"codename:{codename.group(1)}",))
        return ParsedOS(
            "debian", None, text, reason=f"{text}: no version", reason_code="unknown_version"
        )
    if "fedora" in lower:
        match = re.search(r"fedora(?:\s+linux)?(?:\s+release)?\s+(\d+)", lower)
        if match:
            version = match.group(1)
            return ParsedOS("fedora", version, f"Fedora {version}", (version,))
        return ParsedOS(
            "fedora", None, text, reason=f"{text}: no version", reason_code="unknown_version"
        )
    return None


def parse_os(os_name: str, os_version: str, os_release: str) -> ParsedOS:
    """Which product and release an OS description names (no table needed)."""
    os_version = os_version or ""
    os_release = os_release or ""
    name = (os_name or "").casefold()
    lower = os_version.casefold()
    if name == "windows" or lower.startswith("windows") or lower.startswith("microsoft windows"):
        return _parse_windows(re.sub(r"(?i)^microsoft\s+", "", os_version), os_release)
    if name == "darwin" or re.search(r"\b(macos|mac\s*os\s*x|os\s*x)\b", lower):
        return _parse_macos(os_version, os_release if name == "darwin" else "")
    linux = _parse_linux(os_version)
    if linux is not None:
        return linux
    shown = os_version.strip() or os_name or "this system"
    return ParsedOS(
        None,
        None,
        shown,
        reason=f"{shown}: this operating system is not in the support table",
        reason_code="unknown_os",
    )


# --------------------------------------------------------------------------------------------
# Support status
# --------------------------------------------------------------------------------------------


def _find_cycle(product: Mapping[str, Any], candidates: Iterable[str]) -> Mapping[str, Any] | None:
    cycles = {str(c.get("cycle")): c for c in product.get("cycles", [])}
    for candidate in candidates:
        if candidate.startswith("codename:"):
            wanted = candidate.removeprefix("codename:")
            for entry in product.get("cycles", []):
                if str(entry.get("codename", "")).casefold() == wanted:
                    return entry
            continue
        if candidate in cycles:
            return cycles[candidate]
    return None


def _series_entry(product: Mapping[str, Any], version: str) -> Mapping[str, Any] | None:
    """For products whose point releases share their series' end (Linux Mint): the series'
    entry for a point release the table does not list, when every listed one agrees."""
    major = version.split(".")[0]
    same = [
        c
        for c in product.get("cycles", [])
        if str(c.get("cycle")) == major or str(c.get("cycle")).startswith(major + ".")
    ]
    ends = {json.dumps(c.get("eol")) for c in same}
    if not same or len(ends) != 1:
        return None
    return {"cycle": version, "eol": same[0].get("eol"), "lts": same[0].get("lts", False)}


def _label(parsed: ParsedOS, entry: Mapping[str, Any]) -> str:
    label = parsed.label
    codename = entry.get("codename")
    if parsed.product == "ubuntu" and entry.get("lts"):
        label = f"{label} LTS"
    if parsed.product == "debian":
        label = f"Debian {entry.get('cycle')}"
        if codename:
            label = f"{label} ({codename})"
    elif parsed.product in ("macos", "linuxmint", "fedora") and codename:
        label = f"{label} {codename}" if parsed.product != "fedora" else f"{label} ({codename})"
    return label


def support_status(
    os_name: str,
    os_version: str,
    os_release: str,
    today: date,
    table: Mapping[str, Any] | None = None,
    *,
    soon_days: int = SOON_DAYS,
) -> SupportStatus:
    """Is this OS release still supported on `today`? `table` defaults to `load_table()`."""
    parsed = parse_os(os_name, os_version, os_release)
    if table is None:
        table = load_table()
    products = table.get("products", {})
    product = products.get(parsed.product) if parsed.product else None
    source = product.get("source") if product else None

    def unknown(reason: str, code: str) -> SupportStatus:
        return SupportStatus(
            product=parsed.product,
            cycle=None,
            label=parsed.label,
            eol=None,
            supported=None,
            days_left=None,
            source=source,
            reason=reason,
            reason_code=code,
        )

    if parsed.reason_code:
        return unknown(parsed.reason, parsed.reason_code)
    if product is None:
        return unknown(f"{parsed.label}: not in the support table", "not_in_table")
    entry = _find_cycle(product, parsed.candidates)
    if entry is None and product.get("series_fallback") and parsed.version:
        entry = _series_entry(product, parsed.version)
    if entry is None:
        fetched = table.get("fetched", "?")
        return unknown(
            f"{parsed.label} is not in the support table (data of {fetched}); "
            "`auditor update-data` may know it",
            "not_in_table",
        )

    label = _label(parsed, entry)
    cycle = str(entry.get("cycle"))
    eol = eol_value(entry.get("eol"))
    if eol is True:
        return SupportStatus(parsed.product, cycle, label, None, False, None, source)
    if eol is False:
        reason = "no end-of-support date announced yet"
        if parsed.product == "macos":
            reason += (
                " (Apple publishes none; endoflife.date gives a release its end when the third"
                " release after it ships)"
            )
        return SupportStatus(
            parsed.product, cycle, label, None, True, None, source, False, reason, "no_date"
        )
    if eol is None:
        return SupportStatus(
            parsed.product,
            cycle,
            label,
            None,
            None,
            None,
            source,
            reason=f"{label}: the table's end date is unreadable",
            reason_code="not_in_table",
        )
    days_left = (eol - today).days
    supported = days_left >= 0  # the eol day itself still gets its updates
    ending_soon = supported and days_left <= soon_days
    return SupportStatus(
        parsed.product, cycle, label, eol, supported, days_left, source, ending_soon
    )


# --------------------------------------------------------------------------------------------
# Windows 11 readiness
# --------------------------------------------------------------------------------------------

# Microsoft's minimum: 4 GB of RAM, 64 GB of storage. The OS reports less than what is fitted
# (memory reserved by firmware and graphics, a filesystem smaller than its disk, recovery
# partitions), so a little margin keeps a 4 GB / 64 GB machine from being turned away: the
# `reported_size_margin` threshold of auditor/impact/thresholds.toml, which `advise` uses too.
WIN11_MIN_RAM = 4 * 1024**3
WIN11_MIN_DISK = 64 * 1000**3


def _intel_core_generation(model: str) -> int | None:
    """Generation of an Intel Core i3/i5/i7/i9 (or m3/m5/m7) from its model number.

    3 digits: 1st generation (i5-750). 4 digits: the first digit (i5-8400 is 8th), except
    numbers starting with 1, which are 10th-13th generation laptop chips (i7-1065G7 is 10th,
    i5-1235U 12th). 5 digits: the first two (i5-10400, i7-12700K, i9-14900K).
    Core m "7Y30": the digit before Y.
    """
    match = re.search(r"\b[im][3579]-(\d)y\d\d", model)
    if match:
        return int(match.group(1))
    match = re.search(r"\b[im][3579]-(\d{3,5})", model)
    if not match:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        return 1
    if len(digits) == 4:
        return int(digits[:2]) if digits[0] == "1" else int(digits[0])
    return int(digits[:2])


def cpu_supports_windows11(cpu_model: str | None) -> bool | None:
    """Whether a processor is on (roughly) Microsoft's Windows 11 list; None when unsure.

    A small check of our own, not Microsoft's full list:
    - Intel Core i3/i5/i7/i9 and m3/m5/m7: 8th generation or later (see
      `_intel_core_generation`); Core Ultra and the 2023+ "Core 3/5/7" and "Intel N100"
      families are supported; Core 2 is not.
    - Intel Pentium/Celeron: the Gemini Lake and later N4000-N6999/J4000-J6999 and the
      Pentium Gold G5000-G7999 are supported; N2xxx/N3xxx/J1xxx-J3xxx and G1xxx-G3xxx are not;
      others (Celeron G4900 yes, Pentium G4560 no...) stay unknown.
    - AMD Ryzen (and Threadripper): series digit 3 or more is supported; 2000 series too,
      except the 2000 APUs (2200G, 2400G, 2500U...: first-generation Zen) and the 1000 series.
      Ryzen AI and Z1 are supported. Athlon 3000/Gold/Silver are supported; Athlon 200GE and
      earlier, A-series, FX, Phenom and E-series are not.
    - Anything else (Xeon, EPYC, ARM, virtual CPUs): unknown.
    """
    if not cpu_model:
        return None
    model = " ".join(re.sub(r"\((?:r|tm|c)\)", "", cpu_model, flags=re.IGNORECASE).split())
    low = model.casefold()
    if "amd" in low or "ryzen" in low or "athlon" in low:
        if re.search(r"\bryzen\s+(ai|z\d)\b", low):
            return True
        match = re.search(
            r"\bryzen\s+(?:threadripper\s+(?:pro\s+)?)?(?:\d\s+(?:pro\s+)?)?(\d)(\d{3})(\w*)", low
        )
        if match:
            series, suffix = int(match.group(1)), match.group(3)
            if series >= 3:
                return True
            if series == 2:
                return not re.match(r"(g|ge|u|h|hs)$", suffix)
            return False
        if "athlon" in low:
            if re.search(r"\bathlon\s+(gold|silver)\b|\bathlon\s+3\d{3}", low):
                return True
            return False
        if re.search(r"\b(a\d+-\d{4}|fx-\d{4}|phenom|e\d?-\d{3,4}|sempron|turion)\b", low):
            return False
        return None
    if "intel" in low or re.search(r"\b(core|pentium|celeron)\b", low):
        if re.search(r"\bcore\s*ultra\b", low) or re.search(r"\bcore\s+[3579]\s+\d{3}", low):
            return True
        if re.search(r"\bcore\s*2\b|\bcore\s+(duo|solo)\b", low):
            return False
        generation = _intel_core_generation(low)
        if generation is not None:
            return generation >= 8
        if re.search(r"\bn(50|95|97|100|150|200|250|300|305|350|355)\b", low):
            return True  # Alder Lake-N / Twin Lake: "Intel(R) N100"
        match = re.search(r"\b([nj])(\d)\d{3}\b", low)
        if match:
            return int(match.group(2)) >= 4
        match = re.search(r"\bg(\d)\d{3}\b", low)
        if match and ("pentium" in low or "celeron" in low):
            digit = int(match.group(1))
            if digit >= 5:
                return True
            return False if digit <= 3 else None
        return None
    return None


def _tpm_major(tpm_version: str | None) -> float | None:
    if tpm_version is None:
        return None
    match = re.match(r"\s*(\d+(?:\.\d+)?)", str(tpm_version))
    if match:
        return float(match.group(1))
    return 0.0 if str(tpm_version).strip().casefold() in ("none", "absent", "no") else None


def windows11_readiness(
    ram_bytes: int | None,
    system_disk_bytes: int | None,
    cpu_model: str | None,
    tpm_version: str | None,
    secure_boot: bool | None,
    uefi: bool | None,
) -> Readiness:
    """Whether this PC meets Windows 11's minimum requirements.

    None, 0 or "" for a fact means it was not read: it goes to `unknown`. `secure_boot` False is
    a blocker even though it is often only a firmware setting to switch on (the rule can say
    so); `tpm_version` "1.2" or "none" is a blocker, like `uefi` False (a legacy BIOS).
    """
    blockers: list[str] = []
    unknown: list[str] = []

    tpm = _tpm_major(tpm_version)
    if tpm is None:
        unknown.append("tpm")
    elif tpm < 2:
        blockers.append("tpm")

    for code, value in (("secure_boot", secure_boot), ("uefi", uefi)):
        if value is None:
            unknown.append(code)
        elif not value:
            blockers.append(code)

    if not ram_bytes:
        unknown.append("ram")
    elif ram_bytes < WIN11_MIN_RAM * threshold("reported_size_margin"):
        blockers.append("ram")

    if not system_disk_bytes:
        unknown.append("disk")
    elif system_disk_bytes < WIN11_MIN_DISK * threshold("reported_size_margin"):
        blockers.append("disk")

    cpu = cpu_supports_windows11(cpu_model)
    if cpu is None:
        unknown.append("cpu")
    elif not cpu:
        blockers.append("cpu")

    ready = False if blockers else (None if unknown else True)
    return Readiness(ready=ready, blockers=blockers, unknown=unknown)

"""OS end of support and Windows 11 readiness: the embedded table, OS strings as the collector
writes them, the six-month window, and `refresh_table` against recorded endoflife.date answers
served from 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from auditor.collect.host.os_support import (
    WINDOWS_BUILDS,
    Readiness,
    cpu_supports_windows11,
    parse_os,
    support_status,
    windows11_readiness,
)
from auditor.collect.host.system import macos_version_string, windows_version_string
from auditor.impact import os_eol
from auditor.impact.os_eol import (
    OSDataError,
    embedded_table,
    load_table,
    refresh_table,
    save_table,
    update_data,
    validate_table,
)

TODAY = date(2026, 11, 27)
RECORDED = Path(__file__).resolve().parents[1] / "data" / "host" / "endoflife"
GIB = 1024**3


@pytest.fixture(scope="module")
def table() -> dict:
    return embedded_table()


def status(os_name: str, os_version: str, os_release: str = "", **kwargs):
    return support_status(os_name, os_version, os_release, TODAY, embedded_table(), **kwargs)


# --------------------------------------------------------------------------------------------
# The embedded table
# --------------------------------------------------------------------------------------------


def test_embedded_table_is_valid_dated_and_sourced(table):
    validate_table(table)
    assert table["fetched"] == "2026-11-27"
    assert set(table["products"]) == {"windows", "macos", "ubuntu", "debian", "linuxmint", "fedora"}
    for name, product in table["products"].items():
        assert product["source"] == f"https://endoflife.date/api/{name}.json"
        assert product["data"] and product["references"]
        cycles = [c["cycle"] for c in product["cycles"]]
        assert len(cycles) == len(set(cycles)), f"{name} has a cycle twice"
    windows_refs = table["products"]["windows"]["references"]
    assert any(ref.startswith("https://learn.microsoft.com/lifecycle/") for ref in windows_refs)
    assert "Apple publishes no end-of-support dates" in table["products"]["macos"]["note"]


def test_embedded_table_has_the_releases_asked_for(table):
    cycles = {
        name: {c["cycle"]: c for c in product["cycles"]}
        for name, product in table["products"].items()
    }
    windows = cycles["windows"]
    for version in ("1507", "1607", "1809", "21h2"):
        assert any(c.startswith(f"10-{version}") for c in windows)
    for lts in ("10-1507-e-lts", "10-1607-e-lts", "10-1809-e-lts", "10-21h2-e-lts"):
        assert windows[lts].get("lts") is True
    for version in ("21h2", "22h2", "23h2", "24h2", "25h2"):
        assert f"11-{version}-w" in windows and f"11-{version}-e" in windows
    assert windows["10-22h2"]["eol"] == "2025-10-14"
    assert windows["11-24h2-w"]["eol"] == "2026-10-13"
    assert windows["11-25h2-w"]["eol"] == "2027-10-12"
    assert {"11", "12", "13", "14", "15", "26"} <= set(cycles["macos"])
    assert cycles["macos"]["26"]["codename"] == "Tahoe"
    assert {"20.04", "22.04", "24.04", "26.04", "25.10"} <= set(cycles["ubuntu"])
    assert {"11", "12", "13"} <= set(cycles["debian"])
    assert {"21.3", "22", "22.1", "lmde6"} <= set(cycles["linuxmint"])
    assert {"40", "43", "44"} <= set(cycles["fedora"])


def test_every_windows_end_date_is_a_patch_tuesday(table):
    for entry in table["products"]["windows"]["cycles"]:
        eol = date.fromisoformat(entry["eol"])
        assert eol.weekday() == 1 and 8 <= eol.day <= 14, entry["cycle"]


# --------------------------------------------------------------------------------------------
# Required behaviour on 2026-11-27
# --------------------------------------------------------------------------------------------


def test_windows_10_22h2_pro_is_past_end_of_support():
    result = status("Windows", "Windows 10 Pro 22H2", "10.0.19045")
    assert result.product == "windows"
    assert result.label == "Windows 10 22H2 (Home/Pro)"
    assert result.eol == date(2025, 10, 14)
    assert result.supported is False
    assert result.days_left == -409
    assert result.source == "https://endoflife.date/api/windows.json"


@pytest.mark.parametrize("edition", ["Home", "Pro"])
def test_windows_11_24h2_home_pro_is_past_end_of_support(edition):
    result = status("Windows", f"Windows 11 {edition} 24H2", "10.0.26100")
    assert result.cycle == "11-24h2-w"
    assert result.eol == date(2026, 10, 13)
    assert result.supported is False


def test_windows_11_24h2_enterprise_is_still_supported():
    result = status("Windows", "Windows 11 Enterprise 24H2", "10.0.26100")
    assert result.cycle == "11-24h2-e"
    assert result.label == "Windows 11 24H2 (Enterprise/Education)"
    assert result.eol == date(2027, 10, 12)
    assert result.supported is True
    assert result.days_left == 319
    assert result.ending_soon is False


def test_debian_12_is_supported():
    result = status("Linux", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64")
    assert (result.product, result.cycle) == ("debian", "12")
    assert result.label == "Debian 12 (Bookworm)"
    assert result.eol == date(2028, 6, 30)  # end of Debian LTS
    assert result.supported is True


def test_strings_written_by_the_collector_are_understood():
    text = windows_version_string((10, 0, 19045), edition="Professional", display_version="22H2")
    assert support_status("Windows", text, "10.0.19045", TODAY, embedded_table()).cycle == (
        "10-22h2"
    )
    text = windows_version_string((10, 0, 26100), edition="Core", display_version="24H2")
    assert support_status("Windows", text, "10.0.26100", TODAY, embedded_table()).cycle == (
        "11-24h2-w"
    )
    result = support_status("Darwin", macos_version_string("14.4"), "23.4.0", TODAY)
    assert result.cycle == "14"


# --------------------------------------------------------------------------------------------
# Parsing real os_version strings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("os_name", "os_version", "os_release", "cycle", "label"),
    [
        ("Windows", "Windows 10 Home 22H2", "10.0.19045", "10-22h2", "Windows 10 22H2 (Home/Pro)"),
        ("Windows", "Windows 10 Pro N 22H2", "10.0.19045", "10-22h2", None),
        (
            "Windows",
            "Windows 10 Education 22H2",
            "10.0.19045",
            "10-22h2",
            "Windows 10 22H2 (Enterprise/Education)",
        ),
        ("Windows", "Windows 10 Pro 21H2", "10.0.19044", "10-21h2-w", None),
        ("Windows", "Windows 10 Enterprise 21H2", "10.0.19044", "10-21h2-e", None),
        ("Windows", "Windows 10 Pro Education 21H2", "10.0.19044", "10-21h2-w", None),
        ("Windows", "Windows 10 Pro for Workstations 20H2", "10.0.19042", "10-20h2-w", None),
        ("Windows", "Windows 10 Pro 2004", "10.0.19041", "10-2004", None),
        ("Windows", "Windows 10 Pro 2009", "10.0.19042", "10-20h2-w", None),  # ReleaseId
        ("Windows", "Windows 10 Home 1909", "10.0.18363", "10-1909-w", None),
        ("Windows", "Windows 10 Enterprise 1909", "10.0.18363", "10-1909-e", None),
        (
            "Windows",
            "Windows 10 Enterprise LTSC 21H2",
            "10.0.19044",
            "10-21h2-e-lts",
            "Windows 10 21H2 (Enterprise LTSC)",
        ),
        ("Windows", "Windows 10 Enterprise N LTSC 1809", "10.0.17763", "10-1809-e-lts", None),
        ("Windows", "Windows 10 IoT Enterprise LTSC 21H2", "10.0.19044", "10-21h2-iot-lts", None),
        ("Windows", "Windows 10 Enterprise LTSC 2019", "", "10-1809-e-lts", None),
        ("Windows", "Windows 10 Enterprise 2016 LTSB", "10.0.14393", "10-1607-e-lts", None),
        ("Windows", "Windows 11 Pro 23H2", "10.0.22631", "11-23h2-w", None),
        ("Windows", "Windows 11 Education 23H2", "10.0.22631", "11-23h2-e", None),
        ("Windows", "Windows 11 Home Single Language 22H2", "10.0.22621", "11-22h2-w", None),
        ("Windows", "Windows 11 IoT Enterprise LTSC 24H2", "10.0.26100", "11-24h2-iot-lts", None),
        ("Windows", "Windows 11 Enterprise LTSC 24H2", "10.0.26100", "11-24h2-e-lts", None),
        ("Windows", "Windows 11 Pro 25H2", "10.0.26200", "11-25h2-w", None),
        ("Windows", "Windows 11 Enterprise 25H2", "10.0.26200", "11-25h2-e", None),
        ("Windows", "Microsoft Windows 11 Pro", "10.0.22631", "11-23h2-w", None),
        # An inventory that kept the registry ProductName ("Windows 10 Pro" on Windows 11):
        ("Windows", "Windows 10 Pro", "10.0.22631", "11-23h2-w", "Windows 11 23H2 (Home/Pro)"),
        ("Windows", "Windows 7 Pro", "6.1.7601", "7-sp1", "Windows 7"),
        ("Windows", "Windows 8.1 Pro", "6.3.9600", "8.1", "Windows 8.1"),
        ("Windows", "", "6.1.7601", "7-sp1", "Windows 7"),
        ("Darwin", "macOS 14.4", "23.4.0", "14", "macOS 14 Sonoma"),
        ("Darwin", "macOS 15.1.1", "24.1.0", "15", "macOS 15 Sequoia"),
        ("Darwin", "macOS 26.0", "25.0.0", "26", "macOS 26 Tahoe"),
        ("Darwin", "macOS 11.7.10", "20.6.0", "11", "macOS 11 Big Sur"),
        ("Darwin", "macOS 10.15.7", "19.6.0", "10.15", "macOS 10.15 Catalina"),
        ("Darwin", "macOS", "23.4.0", "14", None),  # no version: the Darwin kernel tells
        ("Darwin", "macOS", "25.1.0", "26", None),
        ("", "Mac OS X 10.11.6", "", "10.11", None),
        ("Linux", "Ubuntu 22.04.4 LTS", "6.5.0-35-generic", "22.04", "Ubuntu 22.04 LTS"),
        ("Linux", "Ubuntu 24.04.1 LTS", "6.8.0-45-generic", "24.04", "Ubuntu 24.04 LTS"),
        ("Linux", "Ubuntu 25.10", "6.17.0-5-generic", "25.10", "Ubuntu 25.10"),
        ("Linux", "Ubuntu 20.04.6 LTS", "5.15.0-1-generic", "20.04", None),
        ("Linux", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "12", None),
        ("Linux", "Debian GNU/Linux 11 (bullseye)", "5.10.0-28-amd64", "11", None),
        ("Linux", "Debian GNU/Linux 13 (trixie)", "6.12.43+deb13-amd64", "13", None),
        ("Linux", "Debian GNU/Linux 12.5", "", "12", None),
        ("Linux", "Debian GNU/Linux (bookworm)", "", "12", "Debian 12 (Bookworm)"),
        ("Linux", "Linux Mint 21.3", "5.15.0-91-generic", "21.3", "Linux Mint 21.3 Virginia"),
        ("Linux", "Linux Mint 22", "6.8.0-38-generic", "22", "Linux Mint 22 Wilma"),
        ("Linux", "Linux Mint 22.1", "6.8.0-51-generic", "22.1", "Linux Mint 22.1 Xia"),
        ("Linux", "LMDE 6 (faye)", "6.1.0-13-amd64", "lmde6", "LMDE 6 Faye"),
        ("Linux", "Fedora Linux 40 (Workstation Edition)", "6.8.5-301.fc40", "40", "Fedora 40"),
        ("Linux", "Fedora Linux 42 (KDE Plasma Desktop Edition)", "", "42", "Fedora 42 (Adams)"),
        ("Linux", "Fedora release 38 (Thirty Eight)", "", "38", None),
    ],
)
def test_real_os_strings(os_name, os_version, os_release, cycle, label):
    result = status(os_name, os_version, os_release)
    assert result.cycle == cycle, result
    assert result.supported is not None
    if label is not None:
        assert result.label == label


@pytest.mark.parametrize(
    ("build", "major", "version"),
    [
        (19045, "10", "22H2"),
        (19044, "10", "21H2"),
        (19043, "10", "21H1"),
        (18363, "10", "1909"),
        (17763, "10", "1809"),
        (10240, "10", "1507"),
        (22000, "11", "21H2"),
        (22621, "11", "22H2"),
        (22631, "11", "23H2"),
        (26100, "11", "24H2"),
        (26200, "11", "25H2"),
    ],
)
def test_build_number_gives_the_version_when_the_display_version_is_missing(build, major, version):
    assert WINDOWS_BUILDS[build] == version
    parsed = parse_os("Windows", "Windows 10 Pro", f"10.0.{build}")
    assert parsed.product == "windows"
    assert parsed.version == version
    assert parsed.label.startswith(f"Windows {major} {version}")
    result = status("Windows", "Windows 10 Pro", f"10.0.{build}")
    assert result.cycle in (f"{major}-{version.lower()}", f"{major}-{version.lower()}-w")


def test_edition_unknown_takes_the_home_pro_dates():
    result = status("Windows", "Windows 11 24H2", "10.0.26100")
    assert result.cycle == "11-24h2-w"
    assert "edition unknown" in result.label
    assert status("Windows", "Windows 10 22H2", "10.0.19045").cycle == "10-22h2"


def test_linux_mint_point_release_missing_from_the_table_takes_its_series_end():
    result = status("Linux", "Linux Mint 22.3", "6.14.0-29-generic")
    assert result.cycle == "22.3"
    assert result.label == "Linux Mint 22.3"
    assert result.eol == date(2029, 4, 30)
    assert result.supported is True


def test_macos_without_a_date_is_supported_with_the_convention_said():
    result = status("Darwin", "macOS 26.1", "25.1.0")
    assert result.supported is True
    assert result.eol is None and result.days_left is None
    assert result.reason_code == "no_date"
    assert "Apple publishes none" in result.reason
    assert status("Darwin", "macOS 13.6.7", "22.6.0").supported is False


# --------------------------------------------------------------------------------------------
# Unknown systems: supported None, with a plain reason
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("os_name", "os_version", "os_release", "code", "product"),
    [
        ("", "", "", "unknown_os", None),
        ("FreeBSD", "FreeBSD 14.1-RELEASE", "14.1-RELEASE", "unknown_os", None),
        ("Linux", "Arch Linux", "6.10.1-arch1-1", "unknown_os", None),
        ("Linux", "Pop!_OS 22.04 LTS", "6.9.3", "unknown_os", None),
        ("Linux", "Linux", "6.1.0", "unknown_os", None),
        ("Linux", "Debian GNU/Linux trixie/sid", "6.10", "development", "debian"),
        ("Linux", "Ubuntu Oracular Oriole (development branch)", "", "development", "ubuntu"),
        ("Linux", "Fedora Linux 42 (Rawhide Prerelease)", "", "development", "fedora"),
        ("Linux", "Ubuntu 30.04 LTS", "", "not_in_table", "ubuntu"),
        ("Linux", "Fedora Linux 99", "", "not_in_table", "fedora"),
        ("Linux", "Ubuntu", "", "unknown_version", "ubuntu"),
        ("Windows", "Windows Server 2022 Standard 21H2", "10.0.20348", "not_in_table", None),
        ("Windows", "Windows 10 Pro", "", "unknown_version", "windows"),
        ("Windows", "Windows 10 Pro", "10.0.99999", "unknown_version", "windows"),
        ("Windows", "Windows 11 Enterprise 26H2", "10.0.26300", "not_in_table", "windows"),
        ("Darwin", "macOS", "", "unknown_version", "macos"),
    ],
)
def test_unknown_systems(os_name, os_version, os_release, code, product):
    result = status(os_name, os_version, os_release)
    assert result.supported is None
    assert result.eol is None and result.days_left is None and result.ending_soon is False
    assert result.reason_code == code
    assert result.reason and "\n" not in result.reason
    if product is not None:
        assert result.product == product


def test_not_in_table_reason_names_the_data_date():
    result = status("Linux", "Ubuntu 30.04 LTS")
    assert "2026-11-27" in result.reason and "update-data" in result.reason


# --------------------------------------------------------------------------------------------
# The six-month window
# --------------------------------------------------------------------------------------------


def _one_release_table(eol: object) -> dict:
    return {
        "fetched": "2026-11-27",
        "products": {
            "fedora": {
                "source": "https://endoflife.date/api/fedora.json",
                "cycles": [{"cycle": "50", "eol": eol}],
            }
        },
    }


@pytest.mark.parametrize(
    ("days", "supported", "soon"),
    [
        (-1, False, False),
        (0, True, True),  # the last day still gets its updates
        (1, True, True),
        (183, True, True),
        (184, True, False),
        (900, True, False),
    ],
)
def test_release_ending_within_six_months_is_reported_with_days_left(days, supported, soon):
    eol = TODAY + timedelta(days=days)
    result = support_status(
        "Linux", "Fedora Linux 50", "", TODAY, _one_release_table(eol.isoformat())
    )
    assert result.supported is supported
    assert result.days_left == days
    assert result.ending_soon is soon


def test_window_is_configurable():
    table = _one_release_table((TODAY + timedelta(days=60)).isoformat())
    assert support_status("Linux", "Fedora 50", "", TODAY, table, soon_days=30).ending_soon is False
    assert support_status("Linux", "Fedora 50", "", TODAY, table, soon_days=90).ending_soon is True


def test_ending_soon_in_the_embedded_table_on_the_day():
    assert status("Linux", "Fedora Linux 43 (Workstation Edition)").days_left == 12
    assert status("Linux", "Fedora Linux 43 (Workstation Edition)").ending_soon is True
    assert status("Linux", "Linux Mint 21.3").ending_soon is True  # 2027-04-30
    assert status("Windows", "Windows 10 Enterprise LTSC 21H2", "10.0.19044").ending_soon is True
    assert status("Linux", "Ubuntu 24.04.1 LTS").ending_soon is False


def test_eol_flags():
    ended = support_status("Linux", "Fedora 50", "", TODAY, _one_release_table(True))
    assert (ended.supported, ended.eol, ended.days_left) == (False, None, None)
    open_ended = support_status("Linux", "Fedora 50", "", TODAY, _one_release_table(False))
    assert (open_ended.supported, open_ended.reason_code) == (True, "no_date")


# --------------------------------------------------------------------------------------------
# Windows 11 readiness
# --------------------------------------------------------------------------------------------

READY = dict(
    ram_bytes=8 * GIB,
    system_disk_bytes=256 * 10**9,
    cpu_model="Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz",
    tpm_version="2.0",
    secure_boot=True,
    uefi=True,
)


def test_ready_machine():
    assert windows11_readiness(**READY) == Readiness(ready=True, blockers=[], unknown=[])


@pytest.mark.parametrize(
    ("fact", "value", "code"),
    [
        ("tpm_version", "1.2", "tpm"),
        ("tpm_version", "none", "tpm"),
        ("secure_boot", False, "secure_boot"),
        ("uefi", False, "uefi"),
        ("ram_bytes", 2 * GIB, "ram"),
        ("ram_bytes", 3 * GIB, "ram"),
        ("system_disk_bytes", 32 * 10**9, "disk"),
        ("cpu_model", "Intel(R) Core(TM) i5-7200U CPU @ 2.50GHz", "cpu"),
        ("cpu_model", "AMD Ryzen 5 1600 Six-Core Processor", "cpu"),
    ],
)
def test_each_blocker(fact, value, code):
    result = windows11_readiness(**{**READY, fact: value})
    assert result.ready is False
    assert result.blockers == [code]
    assert result.unknown == []


def test_several_blockers_in_a_stable_order():
    result = windows11_readiness(
        ram_bytes=2 * GIB,
        system_disk_bytes=32 * 10**9,
        cpu_model="Intel(R) Core(TM)2 Duo CPU E8400 @ 3.00GHz",
        tpm_version=None,
        secure_boot=False,
        uefi=False,
    )
    assert result.ready is False
    assert result.blockers == ["secure_boot", "uefi", "ram", "disk", "cpu"]
    assert result.unknown == ["tpm"]


@pytest.mark.parametrize(
    ("fact", "value", "code"),
    [
        ("tpm_version", None, "tpm"),
        ("tpm_version", "", "tpm"),
        ("secure_boot", None, "secure_boot"),
        ("uefi", None, "uefi"),
        ("ram_bytes", 0, "ram"),
        ("ram_bytes", None, "ram"),
        ("system_disk_bytes", None, "disk"),
        ("cpu_model", None, "cpu"),
        ("cpu_model", "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz", "cpu"),
        ("cpu_model", "ARM Cortex-A72", "cpu"),
    ],
)
def test_unknowns_leave_readiness_open(fact, value, code):
    result = windows11_readiness(**{**READY, fact: value})
    assert result.ready is None
    assert result.blockers == []
    assert result.unknown == [code]


def test_a_blocker_outweighs_unknowns():
    result = windows11_readiness(**{**READY, "tpm_version": "1.2", "cpu_model": None})
    assert (result.ready, result.blockers, result.unknown) == (False, ["tpm"], ["cpu"])


def test_reported_sizes_of_4_gb_and_64_gb_machines_pass():
    # A 4 GB laptop reports about 3.7 GiB; a 64 GB eMMC holds a C: of about 58 GB.
    result = windows11_readiness(
        **{**READY, "ram_bytes": 3_975_000_000, "system_disk_bytes": 58 * 10**9}
    )
    assert result.ready is True
    assert windows11_readiness(**{**READY, "tpm_version": "2.0, 0, 1.38"}).ready is True


@pytest.mark.parametrize(
    ("cpu", "expected"),
    [
        ("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz", True),
        ("Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz", True),
        ("Intel(R) Core(TM) i3-10110U CPU @ 2.10GHz", True),
        ("Intel(R) Core(TM) i7-1065G7 CPU @ 1.30GHz", True),
        ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", True),
        ("12th Gen Intel(R) Core(TM) i5-1235U", True),
        ("13th Gen Intel(R) Core(TM) i9-13900K", True),
        ("Intel(R) Core(TM) Ultra 7 155H", True),
        ("Intel(R) Core(TM) 5 120U", True),
        ("Intel(R) Core(TM) m3-8100Y CPU @ 1.10GHz", True),
        ("Intel(R) N100", True),
        ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", True),
        ("Intel(R) Pentium(R) Silver N5000 CPU @ 1.10GHz", True),
        ("Intel(R) Pentium(R) Gold G5400 CPU @ 3.70GHz", True),
        ("Intel(R) Core(TM) i7-7700HQ CPU @ 2.80GHz", False),
        ("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", False),
        ("Intel(R) Core(TM) i5-2520M CPU @ 2.50GHz", False),
        ("Intel(R) Core(TM) i7 CPU 920 @ 2.67GHz", None),
        ("Intel(R) Core(TM) i5-750", False),
        ("Intel(R) Core(TM) m3-7Y30 CPU @ 1.00GHz", False),
        ("Intel(R) Core(TM)2 Duo CPU E8400 @ 3.00GHz", False),
        ("Intel(R) Celeron(R) CPU N3350 @ 1.10GHz", False),
        ("Intel(R) Celeron(R) CPU N2840 @ 2.16GHz", False),
        ("Intel(R) Pentium(R) CPU G4560 @ 3.50GHz", None),
        ("Intel(R) Atom(TM) x5-Z8350 CPU @ 1.44GHz", None),
        ("AMD Ryzen 5 2600 Six-Core Processor", True),
        ("AMD Ryzen 7 2700X Eight-Core Processor", True),
        ("AMD Ryzen 5 2400G with Radeon Vega Graphics", False),
        ("AMD Ryzen 5 2500U with Radeon Vega Mobile Gfx", False),
        ("AMD Ryzen 3 3200G with Radeon Vega Graphics", True),
        ("AMD Ryzen 5 3500U with Radeon Vega Mobile Gfx", True),
        ("AMD Ryzen 7 5800H with Radeon Graphics", True),
        ("AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics", True),
        ("AMD Ryzen AI 9 HX 370 w/ Radeon 890M", True),
        ("AMD Ryzen Threadripper 1950X 16-Core Processor", False),
        ("AMD Ryzen Threadripper 2950X 16-Core Processor", True),
        ("AMD Ryzen 7 1700 Eight-Core Processor", False),
        ("AMD Athlon Silver 3050U with Radeon Graphics", True),
        ("AMD Athlon 200GE with Radeon Vega Graphics", False),
        ("AMD A6-9220 RADEON R4, 5 COMPUTE CORES 2C+3G", False),
        ("AMD FX(tm)-8350 Eight-Core Processor", False),
        ("AMD EPYC 7763 64-Core Processor", None),
        ("ARM Cortex-A72", None),
        ("", None),
    ],
)
def test_cpu_check(cpu, expected):
    assert cpu_supports_windows11(cpu) is expected


# --------------------------------------------------------------------------------------------
# refresh_table against a real HTTP server on 127.0.0.1
# --------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status_code, body = self.routes.get(self.path, (404, b'{"message": "Product not found"}'))
        self.send_response(status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def api(monkeypatch) -> Iterator[str]:
    """An endoflife.date look-alike on 127.0.0.1: /api/{product}.json serves the recorded
    answers; /broken/ answers 500 for fedora, /badjson/ answers half a JSON document."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    routes: dict[str, tuple[int, bytes]] = {}
    for path in RECORDED.glob("*.json"):
        body = path.read_bytes()
        for prefix in ("api", "broken", "badjson"):
            routes[f"/{prefix}/{path.name}"] = (200, body)
    routes["/broken/fedora.json"] = (500, b"Internal Server Error")
    routes["/badjson/fedora.json"] = (200, RECORDED.joinpath("fedora.json").read_bytes()[:200])
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_refresh_table_converts_the_recorded_answers(api):
    refreshed = refresh_table(f"{api}/api/", timeout=5, today=date(2026, 12, 1))
    validate_table(refreshed)
    assert refreshed["fetched"] == "2026-12-01"
    products = refreshed["products"]
    for name in ("windows", "macos", "ubuntu", "debian", "linuxmint", "fedora"):
        assert products[name]["source"] == f"{api}/api/{name}.json"
        assert products[name]["fetched"] == "2026-12-01"
    windows = {c["cycle"]: c for c in products["windows"]["cycles"]}
    assert len(windows) == 14
    assert windows["11-24h2-w"] == {
        "cycle": "11-24h2-w",
        "release": "2024-10-01",
        "eol": "2026-10-13",
        "latest": "10.0.26100",
    }
    assert windows["10-22h2"]["eol"] == "2025-10-14"  # ESU (extendedSupport) is not support
    assert windows["11-24h2-iot-lts"]["lts"] is True
    assert windows["11-24h2-iot-lts"]["support"] == "2029-10-09"
    # Debian: the end of Debian LTS, published as extendedSupport.
    debian = {c["cycle"]: c for c in products["debian"]["cycles"]}
    assert debian["12"]["eol"] == "2028-06-10"
    assert debian["12"]["codename"] == "Bookworm"
    macos = {c["cycle"]: c for c in products["macos"]["cycles"]}
    assert macos["26"]["eol"] is False and macos["13"]["eol"] == "2025-09-15"
    mint = {c["cycle"]: c for c in products["linuxmint"]["cycles"]}
    assert mint["lmde6"]["eol"] is False
    # References and notes of the embedded table survive a refresh.
    assert (
        products["windows"]["references"] == embedded_table()["products"]["windows"]["references"]
    )
    assert products["linuxmint"]["series_fallback"] is True

    result = support_status("Windows", "Windows 10 Pro 22H2", "10.0.19045", TODAY, refreshed)
    assert (result.supported, result.source) == (False, f"{api}/api/windows.json")
    result = support_status("Linux", "Debian GNU/Linux 12 (bookworm)", "", TODAY, refreshed)
    assert (result.eol, result.supported) == (date(2028, 6, 10), True)


def test_refresh_of_some_products_keeps_the_others(api):
    refreshed = refresh_table(f"{api}/api", products=("fedora",), today=date(2026, 12, 1))
    assert len(refreshed["products"]["fedora"]["cycles"]) == 5
    assert refreshed["products"]["windows"] == embedded_table()["products"]["windows"]


def test_saved_refresh_is_used_when_newer_than_the_embedded_table(api, tmp_path):
    path = tmp_path / "data" / "os_eol.json"
    save_table(refresh_table(f"{api}/api", today=date(2026, 12, 1)), path)
    assert not list(path.parent.glob(".os_eol.json.*")), "temporary file left behind"
    loaded = load_table(path)
    assert loaded["fetched"] == "2026-12-01"
    assert loaded["products"]["fedora"]["source"] == f"{api}/api/fedora.json"


def test_older_or_damaged_user_copy_is_ignored(tmp_path):
    path = tmp_path / "os_eol.json"
    assert load_table(path) == embedded_table()  # no copy at all
    older = embedded_table()
    older["fetched"] = "2026-01-01"
    older["products"]["fedora"]["cycles"] = [{"cycle": "1", "eol": "2004-09-20"}]
    path.write_text(json.dumps(older), "utf-8")
    assert load_table(path) == embedded_table()
    path.write_text('{"fetched": "2099-01-01", "products": {', "utf-8")
    assert load_table(path) == embedded_table()
    path.write_text('{"fetched": "2099-01-01", "products": {"x": {"cycles": [{"cycle": "1"}]}}}')
    assert load_table(path) == embedded_table()  # a cycle without eol


def test_support_status_reads_the_user_copy_by_default(api, tmp_path, monkeypatch):
    path = tmp_path / "os_eol.json"
    monkeypatch.setattr(os_eol, "user_table_path", lambda: path)
    assert support_status("Linux", "Debian GNU/Linux 12", "", TODAY).eol == date(2028, 6, 30)
    update_data(base_url=f"{api}/api")
    assert json.loads(path.read_text("utf-8"))["fetched"] == date.today().isoformat()


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("broken", "HTTP error 500"),
        ("badjson", "not valid JSON"),
        ("missing", "HTTP error 404"),
    ],
)
def test_refresh_errors_name_the_url_and_overwrite_nothing(api, tmp_path, prefix, message):
    path = tmp_path / "os_eol.json"
    save_table(refresh_table(f"{api}/api", today=date(2026, 12, 1)), path)
    before = path.read_bytes()
    with pytest.raises(OSDataError) as caught:
        update_data(path, base_url=f"{api}/{prefix}", timeout=5)
    text = str(caught.value)
    assert "\n" not in text
    assert message in text
    failed = "fedora" if prefix != "missing" else "windows"
    assert f"{api}/{prefix}/{failed}.json" in text
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["os_eol.json"]


def test_refresh_without_network_names_the_url(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}/api"
    path = tmp_path / "os_eol.json"
    with pytest.raises(OSDataError, match=f"{base}/windows.json: cannot connect"):
        update_data(path, base_url=base, timeout=2)
    assert not path.exists()


@pytest.mark.parametrize(
    "answer",
    [
        {"cycle": "1"},
        [{"eol": "2020-01-01"}],
        [{"cycle": "1", "eol": "soon"}],
        [],
    ],
)
def test_unexpected_answers_are_refused(answer):
    with pytest.raises(OSDataError, match="http://127.0.0.1/x.json"):
        os_eol.convert_api_cycles(answer, "http://127.0.0.1/x.json")


def test_save_table_refuses_an_invalid_table(tmp_path):
    path = tmp_path / "os_eol.json"
    path.write_text("old", "utf-8")
    with pytest.raises(OSDataError):
        save_table({"fetched": "2026-12-01", "products": {}}, path)
    assert path.read_text("utf-8") == "old"

"""Antivirus probe: recorded outputs from Windows, macOS and Linux, fake runners and process
lists, fake ClamAV databases, and one run on this machine. Fixtures and their sources:
tests/data/host/antivirus/README.md."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest

from auditor.collect.host import antivirus
from auditor.collect.host.antivirus import (
    AV_PROCESSES_FILE,
    DEFAULTS_XPROTECT_ARGV,
    SYSTEM_PROFILER_ARGV,
    KnownProcess,
    clamav_facts,
    decode_product_state,
    is_invalid_namespace,
    load_known_processes,
    match_processes,
    parse_cvd_header,
    parse_defender_status,
    parse_install_history,
    parse_powershell_date,
    parse_security_center,
    powershell_argv,
    powershell_exe,
    probe_antivirus,
    product_protects,
    protected,
    run_command,
)
from auditor.collect.host.records import AntivirusFacts
from tests.helpers import assert_probe_lines, runner

DATA = Path(__file__).resolve().parent.parent / "data" / "host" / "antivirus"
NOW = datetime(2025, 7, 20, 12, 0, tzinfo=UTC)
WINDOWS_ENV = {"SystemRoot": r"C:\Windows"}
POWERSHELL = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"


def recorded(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


Outcome = tuple[int, str, str] | BaseException


class RecordedRunner:
    """Answers each command with a recorded outcome, chosen by the first key found in the
    command line, and remembers what it was asked to run."""

    def __init__(self, answers: dict[str, Outcome]) -> None:
        self.answers = answers
        self.calls: list[tuple[list[str], float]] = []

    def __call__(self, argv: list[str], timeout: float) -> tuple[int, str, str]:
        self.calls.append((list(argv), timeout))
        line = " ".join(argv)
        for key, outcome in self.answers.items():
            if key in line:
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
        raise AssertionError(f"unexpected command: {argv}")


@pytest.fixture
def windows_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SystemRoot", r"C:\Windows")


def no_clamav(tmp_path: Path) -> list[Path]:
    return [tmp_path / "no-clamav-here"]


# --------------------------------------------------------------------------------------------
# Security Center's productState
# --------------------------------------------------------------------------------------------

# Values seen in the field (Stack Overflow list of 34 products, neophob.com, Idera PowerTips,
# digirati82.com) and what the scanner and definitions bits say.
PRODUCT_STATES = [
    (397568, True, True),  # 0x061100 Defender on, up to date (Idera)
    (397312, True, True),  # 0x061000 on, up to date (neophob)
    (393472, False, True),  # 0x060100 Defender off
    (393216, False, True),  # 0x060000 off
    (266240, True, True),  # 0x041000 third-party antivirus on, up to date (neophob)
    (262144, False, True),  # 0x040000 third-party antivirus off
    (266256, True, False),  # 0x041010 on, definitions out of date (neophob)
    (397584, True, False),  # 0x061110 Defender on, out of date
    (393488, False, False),  # 0x060110 off and out of date
    (401664, False, True),  # 0x062100 snoozed: not protecting
    (462848, True, True),  # 0x071000 Symantec Endpoint Protection (digirati82.com)
    (0x063100, False, True),  # expired licence (state 3 in Idera's enum)
    (0x064100, None, True),  # a scanner state nobody documented
    (0x061120, True, None),  # a definitions state nobody documented
]


@pytest.mark.parametrize(("state", "enabled", "up_to_date"), PRODUCT_STATES)
def test_product_state_bits_say_whether_the_scanner_is_on_and_its_definitions_current(
    state: int, enabled: bool | None, up_to_date: bool | None
) -> None:
    assert decode_product_state(state) == (enabled, up_to_date)


def test_one_registered_product_comes_as_a_json_object() -> None:
    products = parse_security_center(recorded("securitycenter2_defender_only.json"))
    assert products == [
        AntivirusFacts("Windows Defender", True, True, None, "securitycenter2"),
    ]


def test_several_products_come_as_a_list_and_one_protecting_is_enough() -> None:
    products = parse_security_center(recorded("securitycenter2_two_products.json"))
    assert [(p.product, p.enabled, p.up_to_date) for p in products] == [
        ("Windows Defender", False, True),
        ("Avast Antivirus", True, True),
    ]
    assert protected(products, NOW) is True


def test_nothing_registered_is_an_empty_answer_not_a_failure() -> None:
    assert parse_security_center("") == []
    assert parse_security_center("\r\n") == []


def test_a_product_state_written_as_text_or_missing_is_still_read() -> None:
    text = '[{"displayName": "ESET Security", "productState": "266256"}, {"displayName": "X"}]'
    products = parse_security_center(text)
    assert [(p.enabled, p.up_to_date) for p in products] == [(True, False), (None, None)]


def test_windows_server_says_invalid_namespace_in_english_and_in_french() -> None:
    assert is_invalid_namespace(recorded("securitycenter2_invalid_namespace.stderr.txt"))
    assert is_invalid_namespace("ERREUR :\nDescription = Espace de noms non valide")
    assert not is_invalid_namespace("Get-CimInstance : Access denied")


# --------------------------------------------------------------------------------------------
# Defender's own status
# --------------------------------------------------------------------------------------------

DATES = [
    ("/Date(1375153305000)/", datetime(2013, 7, 30, 3, 1, 45, tzinfo=UTC)),
    (r"\/Date(1375153305000)\/", datetime(2013, 7, 30, 3, 1, 45, tzinfo=UTC)),
    ("/Date(1700000000000+0100)/", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ("2025-03-11T01:52:18+00:00", datetime(2025, 3, 11, 1, 52, 18, tzinfo=UTC)),
    ("2025-03-11T02:52:18.7728125+01:00", datetime(2025, 3, 11, 1, 52, 18, 772812, tzinfo=UTC)),
    ("2019-11-19T22:32:50Z", datetime(2019, 11, 19, 22, 32, 50, tzinfo=UTC)),
    ("2026-10-07T08:00:00", datetime(2026, 10, 7, 8, 0, tzinfo=UTC)),  # no offset: taken as UTC
    ("20250311015218.000000+000", datetime(2025, 3, 11, 1, 52, 18, tzinfo=UTC)),  # WMI (DMTF)
    ("20250311035218.000000+120", datetime(2025, 3, 11, 1, 52, 18, tzinfo=UTC)),
    (
        {"value": "/Date(1375153305000)/", "DisplayHint": 2, "DateTime": "mardi 30 juillet 2013"},
        datetime(2013, 7, 30, 3, 1, 45, tzinfo=UTC),
    ),
    ("", None),
    (None, None),
    ("7/30/2013 3:01:45 AM", None),  # localised display text: not guessed
]


@pytest.mark.parametrize(("value", "expected"), DATES)
def test_powershell_dates_are_read_in_every_form_json_gives_them(
    value: object, expected: datetime | None
) -> None:
    assert parse_powershell_date(value) == expected


def test_windows_powershell_51_status_dates_the_definitions() -> None:
    facts = parse_defender_status(recorded("defender_status_ps51.json"), NOW)
    assert facts == AntivirusFacts(
        "Microsoft Defender Antivirus", True, None, "2013-07-30", "defender"
    )


def test_powershell_7_status_on_windows_server_2022_dates_the_definitions() -> None:
    facts = parse_defender_status(recorded("defender_status_server2022_ps7.json"), NOW)
    assert facts is not None
    assert (facts.enabled, facts.signature_date) == (True, "2025-03-11")


def test_defender_standing_down_for_another_antivirus_is_off_and_undated() -> None:
    facts = parse_defender_status(recorded("defender_status_not_running.json"), NOW)
    assert facts is not None
    assert (facts.enabled, facts.up_to_date, facts.signature_date) == (False, None, None)


def test_signature_age_in_days_dates_the_definitions_when_the_date_is_missing() -> None:
    text = (
        '{"AntivirusEnabled": true, "RealTimeProtectionEnabled": false,'
        ' "AntivirusSignatureLastUpdated": null, "AntivirusSignatureAge": 3}'
    )
    facts = parse_defender_status(text, NOW)
    assert facts is not None
    assert (facts.enabled, facts.signature_date) == (False, "2025-07-17")


def test_no_status_object_means_no_defender_row() -> None:
    assert parse_defender_status("", NOW) is None


# --------------------------------------------------------------------------------------------
# Windows probe: commands, fallbacks, failures
# --------------------------------------------------------------------------------------------


def test_powershell_is_run_by_absolute_path_without_profile_or_prompts() -> None:
    assert powershell_exe(WINDOWS_ENV) == POWERSHELL
    assert powershell_exe({}) == POWERSHELL
    assert powershell_exe({"SystemRoot": r"D:\WINNT"}) == (
        r"D:\WINNT\System32\WindowsPowerShell\v1.0\powershell.exe"
    )
    assert powershell_argv("Get-Date", WINDOWS_ENV) == [
        POWERSHELL,
        "-NoProfile",
        "-NonInteractive",
        "-Command",
        "Get-Date",
    ]


def test_a_windows_desktop_is_asked_security_center_then_defender_with_these_exact_commands(
    windows_root: None, tmp_path: Path
) -> None:
    run = RecordedRunner(
        {
            "SecurityCenter2": (0, recorded("securitycenter2_defender_only.json"), ""),
            "Get-MpComputerStatus": (0, recorded("defender_status_ps51.json"), ""),
        }
    )
    products, notes = probe_antivirus(
        NOW,
        run,
        system="Windows",
        process_names=["MsMpEng.exe", "explorer.exe"],
        clamav_dirs=no_clamav(tmp_path),
    )
    assert run.calls == [
        (
            [
                POWERSHELL,
                "-NoProfile",
                "-NonInteractive",
                "-Command",
                "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8; "
                "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct"
                " | Select-Object displayName,productState,timestamp | ConvertTo-Json",
            ],
            10.0,
        ),
        (
            [
                POWERSHELL,
                "-NoProfile",
                "-NonInteractive",
                "-Command",
                "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8; "
                "Get-MpComputerStatus | Select-Object AntivirusEnabled,RealTimeProtectionEnabled,"
                "AntivirusSignatureLastUpdated,AntivirusSignatureAge | ConvertTo-Json",
            ],
            10.0,
        ),
    ]
    assert [(p.product, p.source) for p in products] == [
        ("Windows Defender", "securitycenter2"),
        ("Microsoft Defender Antivirus", "defender"),
    ]  # MsMpEng.exe is Defender, already reported: no process row
    assert notes == []


def test_windows_server_has_no_security_center_and_falls_back_to_defender_then_processes(
    windows_root: None, tmp_path: Path
) -> None:
    run = RecordedRunner(
        {
            "SecurityCenter2": (1, "", recorded("securitycenter2_invalid_namespace.stderr.txt")),
            "Get-MpComputerStatus": (0, recorded("defender_status_server2022_ps7.json"), ""),
        }
    )
    products, notes = probe_antivirus(
        NOW,
        run,
        system="Windows",
        process_names=["MsMpEng.exe", "ekrn.exe"],
        clamav_dirs=no_clamav(tmp_path),
    )
    assert notes == [
        "antivirus: SecurityCenter2 not available (Windows Server): using Defender's status"
    ]
    assert products == [
        AntivirusFacts("Microsoft Defender Antivirus", True, None, "2025-03-11", "defender"),
        AntivirusFacts("ESET", None, None, None, "process"),
    ]


def test_a_server_without_defender_module_is_left_to_its_processes(
    windows_root: None, tmp_path: Path
) -> None:
    defender_error = (
        "Get-MpComputerStatus : The term 'Get-MpComputerStatus' is not recognized as the name"
        " of a cmdlet, function, script file, or operable program.\r\n"
    )
    run = RecordedRunner(
        {
            "SecurityCenter2": (1, "", recorded("securitycenter2_invalid_namespace.stderr.txt")),
            "Get-MpComputerStatus": (1, "", defender_error),
        }
    )
    products, notes = probe_antivirus(
        NOW,
        run,
        system="Windows",
        process_names=["SavService.exe"],
        clamav_dirs=no_clamav(tmp_path),
    )
    assert products == [AntivirusFacts("Sophos", None, None, None, "process")]
    assert notes[1] == (
        "antivirus: Defender's status not readable (exit 1: Get-MpComputerStatus : The term"
        " 'Get-MpComputerStatus' is not recognized as the name of a cmdlet, function, script"
        " file, or operable program.)"
    )
    assert protected(products, NOW) is None


def test_missing_powershell_is_said_once_and_the_processes_still_answer(
    windows_root: None, tmp_path: Path
) -> None:
    run = RecordedRunner({"powershell.exe": FileNotFoundError(2, "No such file", POWERSHELL)})
    products, notes = probe_antivirus(
        NOW,
        run,
        system="Windows",
        process_names=["AvastSvc.exe"],
        clamav_dirs=no_clamav(tmp_path),
    )
    assert notes == ["antivirus: PowerShell not found"]
    assert len(run.calls) == 1
    assert products == [AntivirusFacts("Avast", None, None, None, "process")]


def test_a_security_center_query_that_hangs_is_cut_at_ten_seconds_and_defender_still_asked(
    windows_root: None, tmp_path: Path
) -> None:
    hung = subprocess.TimeoutExpired(cmd=[POWERSHELL], timeout=10.0)
    run = RecordedRunner(
        {
            "SecurityCenter2": hung,
            "Get-MpComputerStatus": (0, recorded("defender_status_ps51.json"), ""),
        }
    )
    products, notes = probe_antivirus(
        NOW, run, system="Windows", process_names=[], clamav_dirs=no_clamav(tmp_path)
    )
    assert notes == ["antivirus: SecurityCenter2 timed out after 10 s"]
    assert [p.source for p in products] == ["defender"]
    assert all(timeout == 10.0 for _argv, timeout in run.calls)


def test_an_answer_that_is_not_json_becomes_a_note(windows_root: None, tmp_path: Path) -> None:
    run = RecordedRunner(
        {
            "SecurityCenter2": (0, "<Objs Version=...", ""),
            "Get-MpComputerStatus": (0, "{not json", ""),
        }
    )
    products, notes = probe_antivirus(
        NOW, run, system="Windows", process_names=[], clamav_dirs=no_clamav(tmp_path)
    )
    assert products == []
    assert [note.split(" (")[0] for note in notes] == [
        "antivirus: SecurityCenter2 answer not readable",
        "antivirus: Defender's status not readable",
    ]


# --------------------------------------------------------------------------------------------
# macOS: XProtect
# --------------------------------------------------------------------------------------------


def test_install_history_keeps_only_xprotect_updates_oldest_first() -> None:
    updates = parse_install_history(recorded("system_profiler_install_history.json"))
    assert [(u.name, u.version) for u in updates] == [
        ("XProtectPlistConfigData", "5304"),
        ("XProtectPayloads", "152"),
        ("XProtectPlistConfigData", "5305"),
    ]


def test_a_mac_reports_xprotect_with_the_date_of_its_newest_update(tmp_path: Path) -> None:
    run = RecordedRunner(
        {"system_profiler": (0, recorded("system_profiler_install_history.json"), "")}
    )
    products, notes = probe_antivirus(
        NOW, run, system="Darwin", process_names=["launchd"], clamav_dirs=no_clamav(tmp_path)
    )
    assert run.calls == [(["/usr/sbin/system_profiler", "SPInstallHistoryDataType", "-json"], 10.0)]
    assert products == [AntivirusFacts("XProtect", True, None, "2025-07-16", "xprotect")]
    assert notes == []
    assert protected(products, NOW) is True  # four days old
    assert protected(products, NOW + timedelta(days=30)) is False


def test_without_install_history_the_bundle_version_still_shows_xprotect_is_there(
    tmp_path: Path,
) -> None:
    run = RecordedRunner(
        {
            "system_profiler": subprocess.TimeoutExpired(SYSTEM_PROFILER_ARGV, 10.0),
            "defaults": (0, recorded("defaults_xprotect_version.txt"), ""),
        }
    )
    products, notes = probe_antivirus(
        NOW, run, system="Darwin", process_names=[], clamav_dirs=no_clamav(tmp_path)
    )
    assert run.calls[1] == (
        [
            "/usr/bin/defaults",
            "read",
            "/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist",
            "CFBundleShortVersionString",
        ],
        10.0,
    )
    assert run.calls[1][0] == DEFAULTS_XPROTECT_ARGV
    assert products == [AntivirusFacts("XProtect", True, None, None, "xprotect")]
    assert notes == ["antivirus: XProtect install history timed out after 10 s"]


def test_a_mac_where_nothing_answers_says_so_and_reports_nothing(tmp_path: Path) -> None:
    run = RecordedRunner(
        {
            "system_profiler": FileNotFoundError(2, "No such file"),
            "defaults": (1, "", "The domain/default pair of (...) does not exist\n"),
        }
    )
    products, notes = probe_antivirus(
        NOW, run, system="Darwin", process_names=[], clamav_dirs=no_clamav(tmp_path)
    )
    assert products == []
    assert notes == [
        "antivirus: system_profiler not found",
        "antivirus: XProtect version not readable (exit 1: The domain/default pair of (...)"
        " does not exist)",
    ]


# --------------------------------------------------------------------------------------------
# ClamAV
# --------------------------------------------------------------------------------------------

CVD_HEADER = recorded("clamav_daily_cvd_header.txt").encode("ascii")
BUILT = datetime(2017, 3, 7, 13, 2, 26, tzinfo=UTC)  # 08:02 -0500, build time 1488891746


def clamav_database(directory: Path, name: str, header: bytes, body: bytes = b"\x1f\x8b") -> Path:
    """A fake ClamAV database: the header padded with spaces to 512 bytes, then a body."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(header.ljust(512, b" ") + body)
    return path


def header_built_at(moment: datetime, version: int = 27700) -> bytes:
    stamp = int(moment.timestamp())
    fields = [f"{moment:%d %b %Y %H-%M} +0000", version, 2070000, 90, "X", "X", "freshclam", stamp]
    return ":".join(["ClamAV-VDB", *map(str, fields)]).encode("ascii")


def test_the_cvd_header_gives_version_signatures_and_build_time() -> None:
    header = parse_cvd_header(CVD_HEADER.ljust(512, b" "))
    assert header is not None
    assert (header.version, header.signatures, header.built) == (23182, 1741572, BUILT)


@pytest.mark.parametrize(
    "head",
    [b"", b"\x1f\x8b\x08\x00gzip data", b"ClamAV-VDB:truncated", b"ClamAV-VDB:a:b:c:d:e:f:g:h"],
)
def test_anything_else_is_not_a_cvd_header(head: bytes) -> None:
    assert parse_cvd_header(head) is None


def test_clamav_with_its_daemon_running_and_fresh_signatures_protects(tmp_path: Path) -> None:
    clamav_database(tmp_path / "clamav", "daily.cvd", CVD_HEADER)
    now = BUILT + timedelta(days=2)
    products, notes = probe_antivirus(
        now,
        RecordedRunner({}),
        system="Linux",
        clamav_dirs=[tmp_path / "clamav"],
        process_names=["systemd", "clamd", "freshclam"],
    )
    assert products == [AntivirusFacts("ClamAV", True, True, "2017-03-07", "clamav")]
    assert notes == []
    assert protected(products, now) is True


def test_clamav_signatures_older_than_seven_days_are_out_of_date_by_clamav_own_rule() -> None:
    header = parse_cvd_header(CVD_HEADER.ljust(512, b" "))
    assert header is not None
    assert clamav_facts(header, BUILT + timedelta(days=7), True).up_to_date is True
    assert clamav_facts(header, BUILT + timedelta(days=7, seconds=1), True).up_to_date is False


def test_clamav_without_a_daemon_is_installed_but_not_scanning(tmp_path: Path) -> None:
    clamav_database(tmp_path, "daily.cvd", CVD_HEADER)
    products, _ = probe_antivirus(
        BUILT, RecordedRunner({}), system="Linux", clamav_dirs=[tmp_path], process_names=["bash"]
    )
    assert [(p.enabled, p.up_to_date) for p in products] == [(False, True)]


def test_the_newer_of_daily_cld_and_a_lingering_daily_cvd_wins(tmp_path: Path) -> None:
    clamav_database(tmp_path, "daily.cvd", CVD_HEADER)  # 2017
    clamav_database(tmp_path, "daily.cld", header_built_at(NOW - timedelta(hours=5)), b"")
    products, _ = probe_antivirus(
        NOW,
        RecordedRunner({}),
        system="Linux",
        clamav_dirs=[tmp_path],
        process_names=["clamonacc"],
    )
    assert products == [AntivirusFacts("ClamAV", True, True, "2025-07-20", "clamav")]


def test_a_damaged_database_header_is_a_note_and_the_process_still_shows(tmp_path: Path) -> None:
    clamav_database(tmp_path, "daily.cld", b"garbage")
    products, notes = probe_antivirus(
        NOW, RecordedRunner({}), system="Linux", clamav_dirs=[tmp_path], process_names=["clamd"]
    )
    assert notes == [
        f"antivirus: ClamAV database {tmp_path / 'daily.cld'} not readable (no ClamAV-VDB header)"
    ]
    assert products == [AntivirusFacts("ClamAV", None, None, None, "process")]


def test_when_processes_cannot_be_listed_clamav_daemon_state_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError("hidepid=2")

    monkeypatch.setattr(antivirus.psutil, "process_iter", refuse)
    clamav_database(tmp_path, "daily.cvd", header_built_at(NOW))
    products, notes = probe_antivirus(
        NOW, RecordedRunner({}), system="Linux", clamav_dirs=[tmp_path]
    )
    assert products == [AntivirusFacts("ClamAV", None, True, "2025-07-20", "clamav")]
    assert notes == ["antivirus: running processes not readable (PermissionError: hidepid=2)"]


# --------------------------------------------------------------------------------------------
# Running processes
# --------------------------------------------------------------------------------------------

KNOWN = [
    KnownProcess("avp.exe", "Kaspersky", ("kaspersky",), ("Windows",), "https://example.org/a"),
    KnownProcess("bdagent.exe", "Bitdefender", ("bitdefender",), ("Windows",), "https://e.org/b"),
    KnownProcess("vsserv.exe", "Bitdefender", ("bitdefender",), ("Windows",), "https://e.org/b"),
    KnownProcess("clamd", "ClamAV", ("clamav",), ("Linux",), "https://example.org/c"),
]


def test_known_processes_are_matched_whatever_their_case_one_row_per_product() -> None:
    running = ["System", "AVP.EXE", "vsserv.exe", "BDAGENT.exe", "clamd"]
    assert match_processes(running, KNOWN, "Windows") == [
        AntivirusFacts("Kaspersky", None, None, None, "process"),
        AntivirusFacts("Bitdefender", None, None, None, "process"),
    ]


def test_a_process_name_only_counts_on_the_systems_it_belongs_to() -> None:
    assert match_processes(["clamd"], KNOWN, "Windows") == []
    assert match_processes(["clamd"], KNOWN, "Linux")[0].product == "ClamAV"


def test_a_product_the_security_center_already_reports_is_not_repeated_from_its_process(
    windows_root: None, tmp_path: Path
) -> None:
    text = '{"displayName": "Kaspersky Endpoint Security for Windows", "productState": 266240}'
    run = RecordedRunner(
        {"SecurityCenter2": (0, text, ""), "Get-MpComputerStatus": (1, "", "0x800106ba\r\n")}
    )
    products, _ = probe_antivirus(
        NOW,
        run,
        system="Windows",
        process_names=["avp.exe", "bdagent.exe"],
        known_processes=KNOWN,
        clamav_dirs=no_clamav(tmp_path),
    )
    assert [(p.product, p.source) for p in products] == [
        ("Kaspersky Endpoint Security for Windows", "securitycenter2"),
        ("Bitdefender", "process"),
    ]


def test_the_shipped_process_list_is_complete_and_every_name_has_a_source() -> None:
    known = load_known_processes(AV_PROCESSES_FILE.read_text(encoding="utf-8"))
    names = {entry.name for entry in known}
    for expected in (
        "MsMpEng.exe",
        "avp.exe",
        "ekrn.exe",
        "bdagent.exe",
        "vsserv.exe",
        "AvastSvc.exe",
        "AVGSvc.exe",
        "avguard.exe",
        "mcshield.exe",
        "NortonSecurity.exe",
        "MBAMService.exe",
        "clamd",
        "freshclam",
        "wdavdaemon",
    ):
        assert expected in names
    assert len({entry.name.casefold() for entry in known}) == len(known), "duplicate name"
    for entry in known:
        assert urlparse(entry.source).scheme == "https", entry.name
        assert entry.known_as and all(word == word.casefold() for word in entry.known_as)
        assert set(entry.systems) <= {"Windows", "Linux", "Darwin", "FreeBSD"}, entry.name
        assert any(word in entry.product.casefold() for word in entry.known_as), entry.name


# --------------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------------


def facts(
    enabled: bool | None, up_to_date: bool | None, signature_date: str | None
) -> AntivirusFacts:
    return AntivirusFacts("Product", enabled, up_to_date, signature_date, "test")


VERDICTS = [
    (facts(True, True, None), True),
    (facts(True, None, "2025-07-14"), True),  # six days old
    (facts(True, None, "2025-07-12"), False),  # eight days old
    (facts(True, True, "2025-06-01"), False),  # "up to date" but seven weeks old
    (facts(True, False, None), False),
    (facts(False, True, "2025-07-20"), False),
    (facts(None, True, "2025-07-20"), None),  # a running process: is it on?
    (facts(True, None, None), None),
    (facts(None, None, None), None),
]


@pytest.mark.parametrize(("product", "verdict"), VERDICTS)
def test_a_product_protects_when_on_with_current_definitions(
    product: AntivirusFacts, verdict: bool | None
) -> None:
    assert product_protects(product, NOW) is verdict


def test_any_one_protecting_product_is_enough() -> None:
    assert protected([facts(False, True, None), facts(True, True, None)], NOW) is True


def test_every_product_clearly_failing_means_unprotected() -> None:
    assert protected([facts(False, True, None), facts(True, False, None)], NOW) is False


def test_nothing_found_or_nothing_settled_is_unknown() -> None:
    assert protected([], NOW) is None
    assert protected([facts(False, True, None), facts(None, None, None)], NOW) is None


def test_the_age_limit_can_be_widened_for_slower_update_cycles() -> None:
    monthly = facts(True, None, "2025-06-25")
    assert protected([monthly], NOW) is False
    assert protected([monthly], NOW, max_signature_age_days=30) is True


# --------------------------------------------------------------------------------------------
# The default runner, and this machine
# --------------------------------------------------------------------------------------------


def test_the_default_runner_decodes_utf8_and_raises_what_the_runner_contract_says() -> None:
    utf8_with_bom = "import sys; sys.stdout.buffer.write('\\ufeffDéfense'.encode('utf-8'))"
    assert run_command([sys.executable, "-c", utf8_with_bom], 10.0) == (0, "Défense", "")
    with pytest.raises(FileNotFoundError):
        run_command(["/nonexistent/program-for-auditor-tests"], 10.0)
    with pytest.raises(subprocess.TimeoutExpired):
        run_command([sys.executable, "-c", "import time; time.sleep(5)"], 0.2)


def test_probing_this_machine_for_real_returns_without_raising() -> None:
    products, notes = probe_antivirus()
    assert isinstance(products, list)
    assert all(isinstance(p, AntivirusFacts) for p in products)
    assert all(isinstance(note, str) and note.startswith("antivirus: ") for note in notes)
    assert protected(products, datetime.now(UTC)) in (True, False, None)


# --------------------------------------------------------------------------------------------
# Probe failures are lines in both languages
# --------------------------------------------------------------------------------------------


def test_a_damaged_clamav_database(tmp_path: Path) -> None:
    (tmp_path / "daily.cld").write_bytes(b"not a ClamAV header")
    _products, notes = probe_antivirus(
        NOW, runner(), system="Linux", clamav_dirs=[tmp_path], process_names=[]
    )
    database = tmp_path / "daily.cld"
    assert_probe_lines(
        notes, [f"antivirus: ClamAV database {database} not readable (no ClamAV-VDB header)"]
    )


def test_windows_antivirus_commands_missing_slow_or_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SystemRoot", r"C:\Windows")
    kwargs = {"system": "Windows", "clamav_dirs": [tmp_path], "process_names": []}
    _none, missing = probe_antivirus(NOW, runner(), **kwargs)
    slow = runner({"powershell": subprocess.TimeoutExpired("powershell.exe", 10)})
    _none, late = probe_antivirus(NOW, slow, **kwargs)
    _none, failing = probe_antivirus(NOW, runner({"powershell": (1, "", "")}), **kwargs)
    assert_probe_lines(
        [*missing, *late, *failing],
        [
            "antivirus: PowerShell not found",
            "antivirus: SecurityCenter2 timed out after 10 s",
            "antivirus: Defender's status timed out after 10 s",
            "antivirus: SecurityCenter2 not readable (exit 1: no output)",
            "antivirus: Defender's status not readable (exit 1: no output)",
        ],
    )


def test_a_mac_where_xprotect_cannot_be_read(tmp_path: Path) -> None:
    failing = runner({"system_profiler": (1, "", "crashed\nagain"), "defaults": (1, "", "")})
    _none, notes = probe_antivirus(
        NOW, failing, system="Darwin", clamav_dirs=[tmp_path], process_names=[]
    )
    assert_probe_lines(
        notes,
        [
            "antivirus: XProtect install history not readable (exit 1: crashed)",
            "antivirus: XProtect version not readable (exit 1: no output)",
        ],
    )


def test_processes_that_cannot_be_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError("hidepid=2")

    monkeypatch.setattr(psutil, "process_iter", refuse)
    _none, notes = probe_antivirus(NOW, runner(), system="Linux", clamav_dirs=[tmp_path])
    assert_probe_lines(
        notes, ["antivirus: running processes not readable (PermissionError: hidepid=2)"]
    )

"""Hardware collector: how old is this machine and what limits it.

Parsers are fed outputs published from real machines (tests/data/host/hardware/README.md says
where each comes from); /sys trees are rebuilt in tmp_path; commands go through a fake runner
that records them; and one real run on this machine checks the types.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from auditor.collect.host import hardware
from auditor.collect.host.cpu_years import (
    cpu_families,
    cpu_family,
    cpu_launch_year,
    normalise_cpu_model,
)
from auditor.collect.host.hardware import (
    ADMIN_NEEDED,
    SECURE_BOOT_VAR,
    SmartDevice,
    bios_date_to_iso,
    chassis_from_smbios,
    clean_dmi_text,
    estimated_age_years,
    hardware_from_dmi,
    hardware_from_macos,
    hardware_from_windows,
    mac_model_year,
    parse_smart_device,
    parse_smart_scan,
    probe_hardware,
    probe_smart,
    read_dmi,
    secure_boot_from_efivar,
    smartctl_device_argv,
    tpm_version_from_spec,
    tpm_version_from_sys,
    windows_date_to_iso,
)
from auditor.collect.host.records import HardwareFacts, SmartFacts
from tests.helpers import assert_probe_lines, runner

DATA = Path(__file__).resolve().parent.parent / "data" / "host" / "hardware"


def fixture_text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# A runner that stands in for the programs
# --------------------------------------------------------------------------------------------

Answer = tuple[int, str, str] | BaseException | Callable[[list[str]], tuple[int, str, str]]


@dataclass
class FakeRunner:
    """Answers commands by the first argv element that matches a key (program name, or the
    program and its first argument), and records every (argv, timeout) it was asked."""

    answers: dict[str, Answer] = field(default_factory=dict)
    calls: list[tuple[list[str], float]] = field(default_factory=list)

    def __call__(self, argv: list[str], timeout: float) -> tuple[int, str, str]:
        self.calls.append((list(argv), timeout))
        program = Path(argv[0].replace("\\", "/")).name
        for key in (f"{program} {argv[1] if len(argv) > 1 else ''}".strip(), program):
            if key in self.answers:
                answer = self.answers[key]
                if isinstance(answer, BaseException):
                    raise answer
                if callable(answer):
                    return answer(argv)
                return answer
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    @property
    def argvs(self) -> list[list[str]]:
        return [argv for argv, _timeout in self.calls]


# --------------------------------------------------------------------------------------------
# Fake /sys trees
# --------------------------------------------------------------------------------------------

_LISTING_LINE = re.compile(r"^(?P<key>[^:=]+)[:=](?P<value>.*)$")


def dmi_tree(tmp_path: Path, listing: str) -> Path:
    """A /sys root whose class/dmi/id holds the fields of a published listing.

    Lines are "path:value" (grep), "key:value" or "key=value" (a shell loop). Lines that were
    errors ("grep: ...", "cat: ... Permission denied") stay unreadable: the file is not made.
    """
    sys_root = tmp_path / "sys"
    folder = sys_root / "class" / "dmi" / "id"
    folder.mkdir(parents=True)
    for line in listing.splitlines():
        match = _LISTING_LINE.match(line)
        if not match or line.startswith("grep:") or match["value"].startswith("cat:"):
            continue
        key = match["key"].strip()
        if "/power/" in key or key.endswith("/power"):
            continue
        (folder / Path(key).name).write_text(match["value"] + "\n", encoding="utf-8")
    return sys_root


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="ascii")


# --------------------------------------------------------------------------------------------
# Chassis types (DMTF DSP0134 section 7.4.1)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [8, 9, 10, 14, 30, 31, 32])
def test_portables_notebooks_tablets_and_convertibles_are_laptops(code: int) -> None:
    assert chassis_from_smbios(code) == "laptop"


@pytest.mark.parametrize("code", [3, 4, 5, 6, 7, 13, 15, 16, 35, 36])
def test_towers_all_in_ones_and_mini_pcs_are_desktops(code: int) -> None:
    assert chassis_from_smbios(code) == "desktop"


@pytest.mark.parametrize("code", [17, 23, 28, 29])
def test_server_rack_and_blade_chassis_are_servers(code: int) -> None:
    assert chassis_from_smbios(code) == "server"


@pytest.mark.parametrize("code", [1, 11, 12, 18, 19, 20, 21, 22, 24, 25, 26, 27, 33, 34, 99])
def test_every_other_chassis_number_is_other(code: int) -> None:
    assert chassis_from_smbios(code) == "other"


def test_the_lock_bit_does_not_change_the_chassis_type() -> None:
    # Bit 7 of the byte says a chassis lock is present; 0x8A is a locked Notebook.
    assert chassis_from_smbios(0x8A) == "laptop"
    assert chassis_from_smbios("138") == "laptop"


@pytest.mark.parametrize("code", [None, 2, 0, "", "abc"])
def test_an_unknown_or_missing_chassis_type_is_none(code: int | str | None) -> None:
    assert chassis_from_smbios(code) is None


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("10/17/2023", "2023-10-17"),  # Framework Laptop 13
        ("06/06/2018", "2018-06-06"),  # Supermicro X10SRi-F
        ("6/6/2018", "2018-06-06"),
        ("02/25/14", "1914-02-25"),  # DSP0134: a two-digit year "is assumed to be 19yy"
        (" 01/01/2024\n", "2024-01-01"),
    ],
)
def test_an_smbios_bios_date_becomes_an_iso_date(text: str, iso: str) -> None:
    assert bios_date_to_iso(text) == iso


@pytest.mark.parametrize("text", [None, "", "2023-10-17", "13/45/2023", "02/30/2020", "soon"])
def test_what_is_not_an_smbios_date_gives_none(text: str | None) -> None:
    assert bios_date_to_iso(text) is None


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2023-04-12", "2023-04-12"),  # what auditor's script writes
        ("2019-03-15T00:00:00+01:00", "2019-03-15"),  # PowerShell 7's ConvertTo-Json
        # WMI's own CIM_DATETIME (https://github.com/osquery/osquery/issues/4771).
        ("20180702000000.000000+000", "2018-07-02"),
        # Windows PowerShell 5.1's "/Date(ms)/": a BIOS date of 2019-03-15 at local midnight,
        # written in UTC by a machine in Paris (UTC+1) is 2019-03-14T23:00Z...
        ("/Date(1552604400000)/", "2019-03-15"),
        # ...and by a machine in Montreal (UTC-5), 2019-03-15T05:00Z.
        ("/Date(1552626000000)/", "2019-03-15"),
        ({"value": "/Date(1552604400000)/", "DateTime": "vendredi 15 mars 2019"}, "2019-03-15"),
    ],
)
def test_windows_dates_arrive_in_four_shapes_and_all_become_iso_dates(
    value: str | dict[str, str], iso: str
) -> None:
    assert windows_date_to_iso(value) == iso


@pytest.mark.parametrize("value", [None, "", 20190315, "15/03/2019", "/Date(abc)/"])
def test_a_windows_date_that_cannot_be_read_gives_none(value: object) -> None:
    assert windows_date_to_iso(value) is None


# --------------------------------------------------------------------------------------------
# Linux: DMI from /sys/class/dmi/id
# --------------------------------------------------------------------------------------------


def test_a_framework_laptop_reads_as_a_2023_laptop(tmp_path: Path) -> None:
    sys_root = dmi_tree(tmp_path, fixture_text("dmi_framework_laptop13_amd.txt"))
    facts = hardware_from_dmi(read_dmi(sys_root) or {})
    assert (facts.vendor, facts.model, facts.chassis) == (
        "Framework",
        "Laptop 13 (AMD Ryzen 7040Series)",
        "laptop",
    )
    assert (facts.bios_vendor, facts.bios_version, facts.bios_date) == (
        "INSYDE Corp.",
        "03.03",
        "2023-10-17",
    )


def test_a_supermicro_board_in_a_main_server_chassis_is_a_server(tmp_path: Path) -> None:
    sys_root = dmi_tree(tmp_path, fixture_text("dmi_supermicro_superserver.txt"))
    facts = hardware_from_dmi(read_dmi(sys_root) or {})
    assert facts.chassis == "server"
    assert facts.model == "Super Server"
    assert facts.vendor is None  # the published listing stops before sys_vendor
    assert (facts.bios_vendor, facts.bios_date) == ("American Megatrends Inc.", "2018-06-06")


def test_a_thinkpad_is_named_by_its_product_version_not_its_machine_type(tmp_path: Path) -> None:
    sys_root = dmi_tree(tmp_path, fixture_text("dmi_lenovo_thinkpad_t410s.txt"))
    facts = hardware_from_dmi(read_dmi(sys_root) or {})
    assert facts.vendor == "LENOVO"
    assert facts.model == "ThinkPad T410s (29123AG)"
    assert (facts.chassis, facts.bios_version, facts.bios_date) == (
        "laptop",
        "6UET70WW (1.50 )".strip(),
        "2012-10-11",
    )


def test_a_board_whose_maker_left_to_be_filled_by_oem_has_no_model(tmp_path: Path) -> None:
    sys_root = dmi_tree(tmp_path, fixture_text("dmi_gigabyte_c1037un.txt"))
    facts = hardware_from_dmi(read_dmi(sys_root) or {})
    assert facts.vendor == "Gigabyte Technology Co., Ltd."
    assert facts.model is None
    assert (facts.chassis, facts.bios_date) == ("desktop", "2014-02-25")


def test_a_chromebook_on_coreboot_is_a_laptop_even_with_unreadable_serials(
    tmp_path: Path,
) -> None:
    sys_root = dmi_tree(tmp_path, fixture_text("dmi_acer_c720p_coreboot.txt"))
    facts = hardware_from_dmi(read_dmi(sys_root) or {})
    assert (facts.vendor, facts.model, facts.chassis) == ("GOOGLE", "Peppy", "laptop")
    assert (facts.bios_vendor, facts.bios_version, facts.bios_date) == (
        "coreboot",
        "MrChromebox",
        "2017-07-14",
    )


def test_a_risc_v_board_saying_unknown_product_has_no_vendor_and_no_model(
    tmp_path: Path,
) -> None:
    sys_root = dmi_tree(tmp_path, fixture_text("dmi_milkv_mars_uboot.txt"))
    facts = hardware_from_dmi(read_dmi(sys_root) or {})
    assert (facts.vendor, facts.model) == (None, None)
    assert (facts.bios_vendor, facts.bios_date) == ("U-Boot", "2024-01-01")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Dell Inc.  ", "Dell Inc."),
        ("To Be Filled By O.E.M.", None),
        ("Default string", None),
        ("System Product Name", None),
        ("", None),
        (None, None),
        ("Laptop 13 (AMD Ryzen 7040Series)", "Laptop 13 (AMD Ryzen 7040Series)"),
    ],
)
def test_placeholder_strings_from_firmware_count_as_nothing(raw: str | None, clean: str) -> None:
    assert clean_dmi_text(raw) == clean


def test_a_machine_without_a_dmi_table_says_so_and_still_reports_its_firmware(
    tmp_path: Path,
) -> None:
    sys_root = tmp_path / "sys"
    (sys_root / "firmware" / "acpi").mkdir(parents=True)  # like this Firecracker VM
    facts = probe_hardware(FakeRunner(), sys_root, system="Linux", cpu_model="")
    assert facts.model is None
    assert any("no DMI table" in line for line in facts.errors)
    assert (facts.uefi, facts.secure_boot, facts.tpm_version) == (False, False, None)


# --------------------------------------------------------------------------------------------
# Linux: UEFI, Secure Boot and TPM
# --------------------------------------------------------------------------------------------


def efi_tree(tmp_path: Path, secure_boot: bytes | None, other_variables: bool = True) -> Path:
    sys_root = tmp_path / "sys"
    efivars = sys_root / "firmware" / "efi" / "efivars"
    efivars.mkdir(parents=True)
    if other_variables:
        write(efivars / "BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c", b"\x06\0\0\0\x01\0")
    if secure_boot is not None:
        write(efivars / SECURE_BOOT_VAR, secure_boot)
    return sys_root


def test_secure_boot_is_on_when_the_fifth_byte_of_the_variable_is_one(tmp_path: Path) -> None:
    # 4 bytes of attributes (NV+BS+RT = 0x06), then the value.
    sys_root = efi_tree(tmp_path, b"\x06\x00\x00\x00\x01")
    facts = probe_hardware(FakeRunner(), sys_root, system="Linux", cpu_model="")
    assert (facts.uefi, facts.secure_boot) == (True, True)


def test_secure_boot_is_off_when_the_fifth_byte_is_zero(tmp_path: Path) -> None:
    sys_root = efi_tree(tmp_path, b"\x06\x00\x00\x00\x00")
    facts = probe_hardware(FakeRunner(), sys_root, system="Linux", cpu_model="")
    assert (facts.uefi, facts.secure_boot) == (True, False)


def test_uefi_firmware_without_a_secure_boot_variable_has_secure_boot_off(
    tmp_path: Path,
) -> None:
    sys_root = efi_tree(tmp_path, None)
    facts = probe_hardware(FakeRunner(), sys_root, system="Linux", cpu_model="")
    assert (facts.uefi, facts.secure_boot) == (True, False)


def test_secure_boot_is_unknown_when_efivarfs_is_not_mounted(tmp_path: Path) -> None:
    sys_root = efi_tree(tmp_path, None, other_variables=False)
    facts = probe_hardware(FakeRunner(), sys_root, system="Linux", cpu_model="")
    assert (facts.uefi, facts.secure_boot) == (True, None)
    assert "secure boot: not readable (efivarfs is not mounted)" in facts.errors


@pytest.mark.parametrize(
    ("data", "state"), [(b"\x06\0\0\0\x01", True), (b"\x06\0\0\0\0", False), (b"\x06", None)]
)
def test_the_secure_boot_variable_is_read_after_its_attributes(
    data: bytes, state: bool | None
) -> None:
    assert secure_boot_from_efivar(data) is state


def test_a_tpm_2_is_recognised_from_tpm_version_major(tmp_path: Path) -> None:
    write(tmp_path / "class" / "tpm" / "tpm0" / "tpm_version_major", "2\n")
    assert tpm_version_from_sys(tmp_path) == ("2.0", True)


def test_a_tpm_1_2_is_recognised_from_its_caps_file(tmp_path: Path) -> None:
    # /sys/class/tpm/tpm0/caps of a TPM 1.2 on kernels before 5.6.
    caps = "Manufacturer: 0x49465800\nTCG version: 1.2\nFirmware version: 6.40\n"
    write(tmp_path / "class" / "tpm" / "tpm0" / "device" / "caps", caps)
    assert tpm_version_from_sys(tmp_path) == ("1.2", True)


def test_a_tpm_with_a_resource_manager_is_a_tpm_2_on_older_kernels(tmp_path: Path) -> None:
    (tmp_path / "class" / "tpm" / "tpm0").mkdir(parents=True)
    (tmp_path / "class" / "tpmrm" / "tpmrm0").mkdir(parents=True)
    assert tpm_version_from_sys(tmp_path) == ("2.0", True)


def test_a_present_tpm_of_unknown_version_is_said_and_a_missing_one_is_not(
    tmp_path: Path,
) -> None:
    (tmp_path / "firmware").mkdir()
    assert tpm_version_from_sys(tmp_path) == (None, False)
    (tmp_path / "class" / "tpm" / "tpm0").mkdir(parents=True)
    facts = probe_hardware(FakeRunner(), tmp_path, system="Linux", cpu_model="")
    assert facts.tpm_version is None
    assert "tpm: a TPM is present but its version is not readable" in facts.errors


# --------------------------------------------------------------------------------------------
# Windows: the PowerShell script's JSON
# --------------------------------------------------------------------------------------------


def windows_output(**parts: object) -> dict[str, object]:
    """What WINDOWS_SCRIPT prints, with values published from real machines:

    the Dell Inspiron 5515 of tests/data/host/hardware/powercfg_batteryreport_inspiron5515.xml
    ("Dell Inc.", "Inspiron 5515", BIOS 1.16.0 of 04/12/2023); ChassisTypes {10} of the HP ZBook
    in https://github.com/sebhildebrandt/systeminformation/issues/201; SpecVersion
    "2.0, 0, 1.59" from https://github.com/mondoohq/mql/issues/8057.
    """
    output: dict[str, object] = {
        "FirmwareType": "UEFI",
        "Bios": {
            "Value": {
                "Manufacturer": "Dell Inc.",
                "SMBIOSBIOSVersion": "1.16.0",
                "ReleaseDate": "2023-04-12",
            }
        },
        "ComputerSystem": {"Value": {"Manufacturer": "Dell Inc.", "Model": "Inspiron 5515"}},
        "Product": {"Value": {"Vendor": "Dell Inc.", "Name": "Inspiron 5515", "Version": None}},
        "Enclosure": {"Value": {"ChassisTypes": [10]}},
        "SecureBoot": {"Value": True},
        "Tpm": {
            "Value": {
                "SpecVersion": "2.0, 0, 1.59",
                "IsEnabled_InitialValue": True,
                "IsActivated_InitialValue": True,
            }
        },
    }
    output.update(parts)
    return output


# Confirm-SecureBootUEFI without the rights it needs: the message from
# https://github.com/MicrosoftDocs/windows-powershell-docs/issues/1051.
SECURE_BOOT_REFUSED = {
    "Error": "Unable to set proper privileges. Access was denied.",
    "Kind": "UnauthorizedAccessException",
    "Code": "",
}
# Win32_Tpm for a normal user (https://github.com/rcmaehl/WhyNotWin11/issues/211): CIM's
# WBEM_E_ACCESS_DENIED.
TPM_REFUSED = {"Error": "Access denied ", "Kind": "CimException", "Code": "AccessDenied"}


def test_an_administrator_sees_the_whole_dell_laptop() -> None:
    facts = hardware_from_windows(windows_output())
    assert (facts.vendor, facts.model, facts.chassis) == ("Dell Inc.", "Inspiron 5515", "laptop")
    assert (facts.bios_vendor, facts.bios_version, facts.bios_date) == (
        "Dell Inc.",
        "1.16.0",
        "2023-04-12",
    )
    assert (facts.uefi, facts.secure_boot, facts.tpm_version) == (True, True, "2.0")
    assert facts.errors == []


def test_a_normal_user_is_told_secure_boot_and_tpm_need_administrator_rights() -> None:
    facts = hardware_from_windows(windows_output(SecureBoot=SECURE_BOOT_REFUSED, Tpm=TPM_REFUSED))
    assert (facts.model, facts.bios_date, facts.uefi) == ("Inspiron 5515", "2023-04-12", True)
    assert (facts.secure_boot, facts.tpm_version) == (None, None)
    assert facts.errors == [
        "secure boot: not readable without administrator rights",
        "tpm: not readable without administrator rights",
    ]


def test_a_machine_started_in_legacy_bios_mode_has_neither_uefi_nor_secure_boot() -> None:
    # HP EliteDesk 800 G4 SFF, BIOS "Q01 Ver. 02.04.01"
    # (https://github.com/Ylianst/MeshCentral/issues/4432), started in legacy mode.
    facts = hardware_from_windows(
        windows_output(
            FirmwareType="Legacy",
            Bios={"Value": {"Manufacturer": "HP", "SMBIOSBIOSVersion": "Q01 Ver. 02.04.01"}},
            ComputerSystem={"Value": {"Manufacturer": "HP", "Model": "HP EliteDesk 800 G4 SFF"}},
            Product={"Value": {"Vendor": "HP", "Name": "HP EliteDesk 800 G4 SFF", "Version": ""}},
            Enclosure={"Value": {"ChassisTypes": [4]}},
            SecureBoot={
                "Error": "Cmdlet not supported on this platform: 0xC0000002",
                "Kind": "PlatformNotSupportedException",
                "Code": "",
            },
        )
    )
    assert (facts.vendor, facts.model, facts.chassis) == (
        "HP",
        "HP EliteDesk 800 G4 SFF",
        "desktop",
    )
    assert (facts.uefi, facts.secure_boot, facts.bios_date) == (False, False, None)
    assert facts.errors == []


def test_uefi_firmware_without_the_secure_boot_variable_has_secure_boot_off() -> None:
    # "Variable is currently undefined: 0xC0000100" on older UEFI computers
    # (https://github.com/MicrosoftDocs/windows-itpro-docs/pull/10867).
    error = {"Error": "Variable is currently undefined: 0xC0000100", "Kind": "StatusException"}
    facts = hardware_from_windows(windows_output(SecureBoot=error))
    assert (facts.uefi, facts.secure_boot) == (True, False)
    assert facts.errors == []


def test_a_lenovo_under_windows_is_named_by_its_product_version() -> None:
    facts = hardware_from_windows(
        windows_output(
            ComputerSystem={"Value": {"Manufacturer": "LENOVO", "Model": "20L5CTO1WW"}},
            Product={
                "Value": {"Vendor": "LENOVO", "Name": "20L5CTO1WW", "Version": "ThinkPad T480"}
            },
        )
    )
    assert facts.model == "ThinkPad T480 (20L5CTO1WW)"


def test_several_enclosures_and_a_machine_without_tpm_are_understood() -> None:
    facts = hardware_from_windows(
        windows_output(
            Enclosure={"Value": [{"ChassisTypes": [2]}, {"ChassisTypes": [3]}]},
            Tpm={"Value": None},
        )
    )
    assert (facts.chassis, facts.tpm_version, facts.errors) == ("desktop", None, [])


@pytest.mark.parametrize(
    ("spec", "version"),
    [
        ("2.0, 0, 1.59", "2.0"),
        ("2.0, 0, 1.16", "2.0"),
        ("1.2, 2, 3", "1.2"),
        ("", None),
        (None, None),
    ],
)
def test_the_tpm_version_is_the_first_part_of_spec_version(
    spec: str | None, version: str | None
) -> None:
    assert tpm_version_from_spec(spec) == version


def test_the_windows_probe_runs_one_powershell_with_no_profile_and_no_prompt() -> None:
    run = FakeRunner(
        {"powershell.exe": (0, json.dumps(windows_output()), ""), "smartctl": FileNotFoundError()}
    )
    facts = probe_hardware(run, system="Windows", cpu_model="Intel(R) Core(TM) i5-1135G7")
    argv, timeout = run.calls[0]
    assert argv[0].lower().endswith(r"\system32\windowspowershell\v1.0\powershell.exe")
    assert argv[1:4] == ["-NoProfile", "-NonInteractive", "-Command"]
    assert argv[4] == hardware.WINDOWS_SCRIPT
    assert timeout == hardware.POWERSHELL_TIMEOUT
    assert (facts.model, facts.cpu_launch_year) == ("Inspiron 5515", 2020)


def test_the_powershell_script_asks_for_every_class_and_is_safe_to_pass_as_one_argument() -> None:
    script = hardware.WINDOWS_SCRIPT
    for query in (
        "Get-CimInstance Win32_BIOS",
        "Get-CimInstance Win32_ComputerSystem ",
        "Get-CimInstance Win32_ComputerSystemProduct",
        "Get-CimInstance Win32_SystemEnclosure",
        "Confirm-SecureBootUEFI",
        "-Namespace root/cimv2/Security/MicrosoftTpm -ClassName Win32_Tpm",
        "ConvertTo-Json",
    ):
        assert query in script
    assert '"' not in script and "\n" not in script


def test_a_missing_or_silent_powershell_is_one_line() -> None:
    missing = probe_hardware(FakeRunner(), system="Windows", cpu_model="", smartctl="smartctl")
    assert "model and firmware: not readable (powershell.exe is not installed)" in missing.errors
    slow = FakeRunner({"powershell.exe": subprocess.TimeoutExpired("powershell.exe", 20)})
    late = probe_hardware(slow, system="Windows", cpu_model="")
    assert "model and firmware: not readable (powershell.exe did not answer in 20 s)" in late.errors
    broken = FakeRunner({"powershell.exe": (1, "", "Get-CimInstance : Invalid class")})
    facts = probe_hardware(broken, system="Windows", cpu_model="")
    assert facts.model is None
    assert any(
        line.startswith("model and firmware: not readable (PowerShell:") for line in facts.errors
    )


# --------------------------------------------------------------------------------------------
# macOS: system_profiler
# --------------------------------------------------------------------------------------------


def test_an_intel_macbook_pro_is_a_2015_laptop_by_its_model_identifier() -> None:
    data = json.loads(fixture_text("macos_sphardware_macbookpro12_1.json"))
    facts, chip = hardware_from_macos(data)
    assert (facts.vendor, facts.model, facts.chassis) == (
        "Apple",
        "MacBook Pro (MacBookPro12,1)",
        "laptop",
    )
    assert (facts.bios_version, facts.bios_date, chip) == ("MBP121.0171.B00", None, "Intel Core i7")
    assert cpu_launch_year(chip) is None  # "Intel Core i7" has no model number
    assert estimated_age_years(facts, date(2026, 6, 1)) == hardware.AgeEstimate(11.0, "mac_model")


def test_an_m3_max_macbook_pro_takes_its_age_from_the_chip() -> None:
    data = json.loads(fixture_text("macos_sphardware_mac15_8_m3max.json"))
    facts, chip = hardware_from_macos(data)
    assert (facts.model, chip) == ("MacBook Pro (Mac15,8)", "Apple M3 Max")
    run = FakeRunner(
        {
            "system_profiler": (0, fixture_text("macos_sphardware_mac15_8_m3max.json"), ""),
            "smartctl": FileNotFoundError(),
        }
    )
    probed = probe_hardware(run, system="Darwin", cpu_model="Apple M3 Max")
    assert run.calls[0] == (
        ["/usr/sbin/system_profiler", "SPHardwareDataType", "-json"],
        hardware.DEFAULT_TIMEOUT,
    )
    assert (probed.cpu_launch_year, probed.uefi, probed.tpm_version) == (2023, None, None)


@pytest.mark.parametrize(
    ("model", "year"),
    [
        ("MacBook Pro (MacBookPro12,1)", 2015),
        ("MacBookAir7,2", 2015),
        ("MacBook Air (MacBookAir10,1)", 2020),
        ("iMac (iMac18,3)", 2017),
        ("Mac mini (Macmini8,1)", 2018),
        ("MacBook Air (Mac14,2)", 2022),
        ("Mac16,12", 2024),
        ("VirtualMac2,1", None),
        ("MacBookPro99,1", None),
        (None, None),
    ],
)
def test_a_mac_model_identifier_gives_the_year_the_model_first_shipped(
    model: str | None, year: int | None
) -> None:
    assert mac_model_year(model) == year


def test_a_virtual_mac_is_neither_a_laptop_nor_a_desktop() -> None:
    # Written for this test: the machine_model and machine_name an Apple Virtual Machine
    # reports (VirtualMac2,1), with the other keys left out.
    data = {
        "SPHardwareDataType": [
            {
                "_name": "hardware_overview",
                "chip_type": "Apple M4 Max (Virtual)",
                "machine_model": "VirtualMac2,1",
                "machine_name": "Apple Virtual Machine 1",
            }
        ]
    }
    facts, chip = hardware_from_macos(data)
    assert (facts.chassis, cpu_launch_year(chip)) == ("other", 2024)


# --------------------------------------------------------------------------------------------
# CPU launch years and Intel generations
# --------------------------------------------------------------------------------------------

# Model strings as /proc/cpuinfo, the Windows registry or sysctl print them.
CPU_MODELS = [
    ("Intel(R) Core(TM)2 Duo CPU     T7500  @ 2.20GHz", 2006, None),
    ("Intel(R) Core(TM) i7 CPU         920  @ 2.67GHz", 2008, 1),
    ("Intel(R) Core(TM) i5 CPU       M 520  @ 2.40GHz", 2008, 1),
    ("Intel(R) Core(TM) i5-2520M CPU @ 2.50GHz", 2011, 2),
    ("Intel(R) Core(TM) i5-3320M CPU @ 2.60GHz", 2012, 3),
    ("Intel(R) Core(TM) i5-4200U CPU @ 1.60GHz", 2013, 4),
    ("Intel(R) Core(TM) i5-5200U CPU @ 2.20GHz", 2015, 5),
    ("Intel(R) Core(TM) i5-6200U CPU @ 2.30GHz", 2015, 6),
    ("Intel(R) Core(TM) i7-7500U CPU @ 2.70GHz", 2016, 7),
    ("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", 2017, 8),
    ("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz", 2017, 8),
    ("Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz", 2018, 9),
    ("Intel(R) Core(TM) i5-10210U CPU @ 1.60GHz", 2019, 10),
    ("Intel(R) Core(TM) i5-1035G1 CPU @ 1.00GHz", 2019, 10),
    ("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", 2020, 11),
    ("11th Gen Intel(R) Core(TM) i5-11400 @ 2.60GHz", 2020, 11),
    ("12th Gen Intel(R) Core(TM) i5-1235U", 2021, 12),
    ("13th Gen Intel(R) Core(TM) i7-13700H", 2022, 13),
    ("13th Gen Intel(R) Core(TM) i5-1335U", 2022, 13),
    ("Intel(R) Core(TM) i9-14900K", 2023, 14),
    ("Intel(R) Core(TM) Ultra 7 155H", 2023, 14),
    ("Intel(R) Core(TM) Ultra 7 258V", 2024, 15),
    ("Intel(R) Core(TM) 7 150U", 2024, 13),
    ("Intel(R) Core(TM) i3-N305", 2023, 12),
    ("Intel(R) N100", 2023, None),
    ("Intel(R) Celeron(R) CPU  J1900  @ 1.99GHz", 2013, None),
    ("Intel(R) Celeron(R) CPU  N3060  @ 1.60GHz", 2016, None),
    ("Intel(R) Pentium(R) Silver N5000 CPU @ 1.10GHz", 2017, None),
    ("Intel(R) Celeron(R) N4020 CPU @ 1.10GHz", 2019, None),
    ("Intel(R) Celeron(R) N4500 @ 1.10GHz", 2021, None),
    ("Intel(R) Xeon(R) Processor", None, None),  # this VM
    ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", None, None),
    ("AMD Ryzen 7 1700 Eight-Core Processor", 2017, None),
    ("AMD Ryzen 5 2500U with Radeon Vega Mobile Gfx", 2017, None),
    ("AMD Ryzen 5 2600 Six-Core Processor", 2018, None),
    ("AMD Ryzen 5 3500U with Radeon Vega Mobile Gfx", 2019, None),
    ("AMD Ryzen 5 PRO 4650U with Radeon Graphics", 2020, None),
    ("AMD Ryzen 7 5800X 8-Core Processor", 2020, None),
    ("AMD Ryzen 7 6800U with Radeon Graphics", 2022, None),
    ("AMD Ryzen 9 7950X 16-Core Processor", 2022, None),
    ("AMD Ryzen 7 8845HS w/ Radeon 780M Graphics", 2023, None),
    ("AMD Ryzen 9 9950X 16-Core Processor", 2024, None),
    ("AMD Ryzen AI 9 HX 370 w/ Radeon 890M", 2024, None),
    ("AMD Athlon Silver 3050U with Radeon Graphics", None, None),
    ("Apple M1", 2020, None),
    ("Apple M1 Pro", 2021, None),
    ("Apple M2", 2022, None),
    ("Apple M2 Max", 2023, None),
    ("Apple M3", 2023, None),
    ("Apple M4 Pro", 2024, None),
    ("Apple processor", None, None),  # sysctl's answer under Rosetta on early M1 macOS
    ("ARM Cortex-A76", None, None),  # Raspberry Pi 5, as system.py names it
    ("", None, None),
]


@pytest.mark.parametrize(("model", "year", "generation"), CPU_MODELS)
def test_a_real_cpu_model_string_gives_its_launch_year_and_windows_11_readiness(
    model: str, year: int | None, generation: int | None
) -> None:
    from auditor.collect.host.os_support import cpu_supports_windows11

    assert cpu_launch_year(model) == year
    if generation is not None:  # an Intel Core: Windows 11 asks for the 8th generation or later
        ready = cpu_supports_windows11(model)
        assert ready is True if generation >= 8 else ready in (False, None)


def test_windows_11_needs_an_8th_generation_intel_core_and_the_helper_tells_them_apart() -> None:
    from auditor.collect.host.os_support import cpu_supports_windows11

    assert cpu_supports_windows11("Intel(R) Core(TM) i7-7700HQ CPU @ 2.80GHz") is False
    assert cpu_supports_windows11("Intel(R) Core(TM) i5-8265U CPU @ 1.60GHz") is True


def test_model_strings_are_normalised_before_matching() -> None:
    assert normalise_cpu_model("Intel(R) Core(TM)  i5-8250U CPU @ 1.60GHz") == (
        "intel core i5-8250u cpu @ 1.60ghz"
    )
    assert normalise_cpu_model("Intel® Core™ i5") == "intel core i5"


def test_every_row_of_the_cpu_table_cites_a_source_and_a_plausible_year() -> None:
    families = cpu_families()
    assert len(families) >= 40
    for row in families:
        assert row.source.startswith("https://"), row.family
        assert 2006 <= row.year <= 2026, row.family


def test_the_first_matching_row_wins_so_specific_rows_come_first() -> None:
    row = cpu_family("AMD Ryzen AI 9 HX 370 w/ Radeon 890M")
    assert row is not None and row.family.startswith("AMD Ryzen AI 300")
    assert cpu_family("Intel(R) Core(TM) i3-N305").family.startswith("Intel Core i3 N-series")


# --------------------------------------------------------------------------------------------
# Age
# --------------------------------------------------------------------------------------------

TODAY = date(2026, 6, 1)


def test_a_machine_is_as_old_as_its_bios_date() -> None:
    facts = HardwareFacts(bios_date="2018-06-06", cpu_launch_year=2017)
    assert estimated_age_years(facts, TODAY) == hardware.AgeEstimate(8.0, "bios_date", False)


def test_a_bios_much_newer_than_the_processor_was_probably_updated() -> None:
    # Dell Latitude 3340 (13th-gen Core, 2022) with BIOS 1.32.0 of 06/26/2026.
    facts = HardwareFacts(bios_date="2026-06-26", cpu_launch_year=2022)
    age = estimated_age_years(facts, date(2026, 9, 22))
    assert (age.years, age.basis, age.bios_probably_updated) == (0.2, "bios_date", True)


def test_without_a_bios_date_the_processor_launch_year_gives_an_upper_bound() -> None:
    facts = HardwareFacts(cpu_launch_year=2017)
    assert estimated_age_years(facts, TODAY) == hardware.AgeEstimate(9.0, "cpu_launch_year")


def test_a_bios_dated_in_the_future_gives_an_age_of_zero_not_a_negative_one() -> None:
    facts = HardwareFacts(bios_date="2027-01-01")
    assert estimated_age_years(facts, TODAY).years == 0.0


def test_with_nothing_to_go_on_the_age_is_unknown() -> None:
    assert estimated_age_years(HardwareFacts(), TODAY) == hardware.AgeEstimate(None, None)


# --------------------------------------------------------------------------------------------
# SMART
# --------------------------------------------------------------------------------------------


def test_scan_open_lists_the_disks_smartctl_could_open_with_their_types() -> None:
    devices, errors = parse_smart_scan(fixture_text("smartctl_scan_open_sat_and_usb.json"))
    assert devices == [SmartDevice("/dev/sda", "sat"), SmartDevice("/dev/sdb", "usbsunplus")]
    assert errors == []


def test_a_scan_refused_for_lack_of_rights_says_smartctl_needs_administrator_rights() -> None:
    text = fixture_text("smartctl_scan_open_nvme_permission_denied.json")
    assert parse_smart_scan(text) == ([], [ADMIN_NEEDED])
    assert ADMIN_NEEDED == "SMART: smartctl needs administrator rights"


def test_a_healthy_nvme_disk_passes_with_its_power_on_hours() -> None:
    fact, problem = parse_smart_device(fixture_text("smartctl_nvme_passed.json"), "/dev/nvme0")
    assert (fact, problem) == (SmartFacts("/dev/nvme0", True, 1767), None)


def test_a_failing_disk_fails_even_though_smartctl_exits_with_216() -> None:
    text = fixture_text("smartctl_usbjmicron_failing_now.json")
    fact, problem = parse_smart_device(text, "/dev/sdb")
    assert (fact, problem) == (SmartFacts("/dev/sdb", False, 16402), None)


def test_a_disk_that_cannot_be_opened_without_rights_says_so() -> None:
    text = fixture_text("smartctl_open_device_not_permitted.json")
    assert parse_smart_device(text, "/dev/sda") == (None, ADMIN_NEEDED)


def test_a_device_smartctl_cannot_recognise_is_one_line_with_smartctl_s_reason() -> None:
    text = fixture_text("smartctl_loop_device_unknown_type.json")
    assert parse_smart_device(text, "/dev/loop0") == (
        None,
        "SMART /dev/loop0: not readable (/dev/loop0: Unable to detect device type)",
    )


def test_a_smartctl_older_than_7_without_json_is_named_as_too_old() -> None:
    # smartctl 6.x: "=======> UNRECOGNIZED OPTION: json" (smartctl.cpp, parse_options).
    out = "smartctl 6.6 2016-05-31 r4324\n=======> UNRECOGNIZED OPTION: json\n"
    devices, errors = parse_smart_scan(out)
    assert devices == []
    assert errors == [
        "SMART: not readable "
        "(smartctl is too old for --json (smartmontools 7.0 or later is needed))"
    ]


def test_the_smart_probe_runs_scan_open_then_one_query_per_disk_with_its_type() -> None:
    passed = fixture_text("smartctl_nvme_passed.json")
    failing = fixture_text("smartctl_usbjmicron_failing_now.json")
    run = FakeRunner(
        {
            "smartctl --scan-open": (0, fixture_text("smartctl_scan_open_sat_and_usb.json"), ""),
            "smartctl --json": lambda argv: (
                (0, passed, "") if argv[-1] == "/dev/sda" else (216, failing, "")
            ),
        }
    )
    facts, errors = probe_smart(run, "smartctl")
    assert run.calls == [
        (["smartctl", "--scan-open", "--json"], 20.0),
        (["smartctl", "--json", "-H", "-A", "-d", "sat", "/dev/sda"], 20.0),
        (["smartctl", "--json", "-H", "-A", "-d", "usbsunplus", "/dev/sdb"], 20.0),
    ]
    assert [(f.passed, f.power_on_hours) for f in facts] == [(True, 1767), (False, 16402)]
    assert errors == []


def test_a_disk_without_a_type_is_queried_by_name_alone() -> None:
    assert smartctl_device_argv("smartctl", SmartDevice("/dev/sda", None)) == [
        "smartctl",
        "--json",
        "-H",
        "-A",
        "/dev/sda",
    ]


def test_rights_refused_on_every_disk_give_a_single_line() -> None:
    refused = fixture_text("smartctl_open_device_not_permitted.json")
    run = FakeRunner(
        {
            "smartctl --scan-open": (0, fixture_text("smartctl_scan_open_sat_and_usb.json"), ""),
            "smartctl --json": (2, refused, ""),
        }
    )
    assert probe_smart(run, "smartctl") == ([], [ADMIN_NEEDED])


def test_smart_without_smartctl_or_with_a_hung_one_is_one_line_and_nothing_raises() -> None:
    assert probe_smart(FakeRunner(), "smartctl") == (
        [],
        ["SMART: not readable (smartctl is not installed)"],
    )
    hung = FakeRunner({"smartctl": subprocess.TimeoutExpired("smartctl", 20)})
    assert probe_smart(hung, "smartctl") == (
        [],
        ["SMART: not readable (smartctl --scan-open took over 20 s)"],
    )
    slow_disk = FakeRunner(
        {
            "smartctl --scan-open": (0, fixture_text("smartctl_scan_open_sat_and_usb.json"), ""),
            "smartctl --json": subprocess.TimeoutExpired("smartctl", 20),
        }
    )
    facts, errors = probe_smart(slow_disk, "smartctl")
    assert facts == []
    assert errors == [
        "SMART /dev/sda: not readable (no answer in 20 s)",
        "SMART /dev/sdb: not readable (no answer in 20 s)",
    ]


def test_a_scan_that_finds_no_disk_says_so() -> None:
    empty = json.dumps({"smartctl": {"exit_status": 0}, "devices": []})
    assert parse_smart_scan(empty) == ([], ["SMART: smartctl listed no disk"])


# --------------------------------------------------------------------------------------------
# This machine
# --------------------------------------------------------------------------------------------


def test_probing_this_machine_gives_typed_facts_and_never_raises() -> None:
    facts = probe_hardware()
    assert isinstance(facts, HardwareFacts)
    for value in (facts.vendor, facts.model, facts.bios_vendor, facts.bios_version):
        assert value is None or isinstance(value, str)
    assert facts.chassis in (None, "laptop", "desktop", "server", "other")
    assert facts.bios_date is None or date.fromisoformat(facts.bios_date)
    assert facts.cpu_launch_year is None or isinstance(facts.cpu_launch_year, int)
    assert facts.uefi is None or isinstance(facts.uefi, bool)
    assert facts.secure_boot is None or isinstance(facts.secure_boot, bool)
    assert facts.tpm_version in (None, "1.2", "2.0")
    assert all(isinstance(disk, SmartFacts) for disk in facts.smart)
    assert all(isinstance(line, str) and line for line in facts.errors)
    age = estimated_age_years(facts, date.today())
    assert age.years is None or age.years >= 0


# --------------------------------------------------------------------------------------------
# Probe failures are lines in both languages
# --------------------------------------------------------------------------------------------


def test_linux_without_dmi_firmware_or_smartctl(tmp_path: Path) -> None:
    facts = probe_hardware(runner(), tmp_path, system="Linux", cpu_model="", smartctl="smartctl")
    assert_probe_lines(
        facts.errors,
        [
            f"model and firmware: not readable (no DMI table in {tmp_path / 'class/dmi/id'}; "
            "some virtual machines have none)",
            f"uefi: not readable ({tmp_path / 'firmware'} is missing)",
            "SMART: not readable (smartctl is not installed)",
        ],
    )


def test_linux_without_efivarfs_and_a_tpm_of_unknown_version(tmp_path: Path) -> None:
    write(tmp_path / "class/dmi/id/sys_vendor", "LENOVO\n")
    (tmp_path / "firmware/efi").mkdir(parents=True)  # UEFI, but efivarfs not mounted
    (tmp_path / "class/tpm/tpm0").mkdir(parents=True)  # a TPM that says no version
    facts = probe_hardware(runner(), tmp_path, system="Linux", cpu_model="", smartctl="smartctl")
    assert_probe_lines(
        facts.errors[:2],
        [
            "secure boot: not readable (efivarfs is not mounted)",
            "tpm: a TPM is present but its version is not readable",
        ],
    )


def test_windows_hardware_probe_failures() -> None:
    missing = probe_hardware(runner(), system="Windows", cpu_model="", smartctl="smartctl")
    late = probe_hardware(
        runner({"powershell": subprocess.TimeoutExpired("powershell.exe", 20)}),
        system="Windows",
        cpu_model="",
        smartctl="smartctl",
    )
    silent = probe_hardware(
        runner({"powershell": (1, "", "")}), system="Windows", cpu_model="", smartctl="smartctl"
    )
    other = probe_hardware(runner(), system="Plan9", cpu_model="", smartctl="smartctl")
    assert_probe_lines(
        [missing.errors[0], late.errors[0], silent.errors[0], other.errors[0]],
        [
            "model and firmware: not readable (powershell.exe is not installed)",
            "model and firmware: not readable (powershell.exe did not answer in 20 s)",
            "model and firmware: not readable (PowerShell: exit code 1)",
            "model and firmware: not readable (no probe for Plan9)",
        ],
    )


def test_windows_parts_refused_or_missing() -> None:
    refused = {"Error": "Access denied", "Kind": "UnauthorizedAccessException", "Code": ""}
    broken = {"Error": "Invalid class \n Win32_Tpm", "Kind": "CimException", "Code": "5"}
    facts = hardware_from_windows({"FirmwareType": "UEFI", "SecureBoot": refused, "Tpm": broken})
    assert_probe_lines(
        facts.errors,
        [
            "bios: not readable (PowerShell gave no answer)",
            "model: not readable (PowerShell gave no answer)",
            "model version: not readable (PowerShell gave no answer)",
            "chassis: not readable (PowerShell gave no answer)",
            "secure boot: not readable without administrator rights",
            "tpm: not readable (Invalid class Win32_Tpm)",
        ],
    )


def test_smart_lines_name_the_disk_first() -> None:
    _devices, scan = parse_smart_scan(
        '{"devices": [{"name": "/dev/sdz", "open_error": "No such device"}]}'
    )
    _devices, garbled = parse_smart_scan("not json")
    _devices, empty = parse_smart_scan('{"devices": []}')
    _fact, silent = parse_smart_device("", "/dev/sda")
    _fact, closed = parse_smart_device('{"smartctl": {"exit_status": 2}}', "/dev/sda")
    assert_probe_lines(
        [*scan, *garbled, *empty, silent, closed, ADMIN_NEEDED],
        [
            "SMART /dev/sdz: not readable (No such device)",
            "SMART: not readable (smartctl gave no JSON (not json))",
            "SMART: smartctl listed no disk",
            "SMART /dev/sda: not readable (smartctl gave no output)",
            "SMART /dev/sda: not readable (smartctl could not open the disk)",
            "SMART: smartctl needs administrator rights",
        ],
    )
    assert silent is not None
    assert silent.localized("fr") == "SMART /dev/sda : illisible (smartctl n'a rien répondu)"


def test_a_line_of_one_machine_is_named_after_it_in_both_languages() -> None:
    line = ADMIN_NEEDED.under("pc-accueil")
    assert str(line) == "pc-accueil: SMART: smartctl needs administrator rights"
    assert line.localized("fr") == (
        "pc-accueil : SMART : smartctl a besoin des droits d'administrateur"
    )

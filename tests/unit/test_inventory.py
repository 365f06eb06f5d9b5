"""Inventory files: GLPI documents checked against GLPI's own schema, auditor's format written
and read back, every way a file can be wrong, and writing that never overwrites by accident."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor import __version__
from auditor.collect.host.records import (
    AntivirusFacts,
    BatteryFacts,
    DiskFacts,
    HardwareFacts,
    HostFacts,
    SmartFacts,
)
from auditor.collect.host.system import collect_host
from auditor.errors import AuditorError, ConfigError, Problem, SourceError
from auditor.inventory import auditor_format as inventory
from auditor.inventory.auditor_format import (
    InventoryExistsError,
    MachineInventory,
    auditor_inventory,
    read_inventory,
    write_inventory,
)
from auditor.inventory.glpi import glpi_inventory, glpi_machine_name, glpi_os_name_and_version
from auditor.inventory.read import read_inventory_folder
from tests.helpers import assert_bilingual, raised

GLPI_DATA = Path(__file__).resolve().parents[1] / "data" / "glpi"
MIB = 1024 * 1024
GENERATED_AT = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Machines
# --------------------------------------------------------------------------------------------


def windows_laptop() -> MachineInventory:
    """The reception desk's laptop: everything auditor can know about a machine."""
    host = HostFacts(
        hostname="PC-ACCUEIL",
        os_name="Windows",
        os_version="Windows 11 Pro 23H2",
        os_release="10.0.22631",
        cpu_model="Intel(R) Core(TM) i5-8265U CPU @ 1.60GHz",
        cpu_cores_physical=4,
        cpu_cores_logical=8,
        ram_bytes=8 * 1024 * MIB,
        boot_time="2026-11-20T07:58:08+00:00",
        battery_present=True,
        battery_percent=87.5,
        disks=[
            DiskFacts("C:\\", "C:\\", "NTFS", 500 * MIB + 123, 200 * MIB, False, True),
            DiskFacts("D:\\", "D:\\", "NTFS", 1000 * MIB, 999 * MIB + 1, True, False),
        ],
        errors=["disk E:\\: not readable (PermissionError: access denied)"],
    )
    hardware = HardwareFacts(
        vendor="Dell Inc.",
        model="Latitude 5490",
        chassis="laptop",
        bios_vendor="Dell Inc.",
        bios_version="1.25.0",
        bios_date="2023-06-14",
        cpu_launch_year=2018,
        uefi=True,
        secure_boot=True,
        tpm_version="2.0",
        smart=[SmartFacts("\\\\.\\PHYSICALDRIVE0", True, 12_000)],
        errors=["smart \\\\.\\PHYSICALDRIVE1: not readable (no SMART support)"],
    )
    antivirus = [
        AntivirusFacts("Windows Defender", True, True, "2026-11-26", "securitycenter2"),
        AntivirusFacts("Avast Free Antivirus", None, None, None, "process"),
    ]
    batteries = [BatteryFacts("DELL 3HWPP86", 42.0, 33.6, 412)]
    return MachineInventory(host, hardware, antivirus, batteries)


def linux_desktop() -> MachineInventory:
    """The accountant's old desktop: legacy BIOS, a hostname with a domain, no battery."""
    host = HostFacts(
        hostname="compta.asso.local",
        os_name="Linux",
        os_version="Ubuntu 22.04.3 LTS",
        os_release="5.15.0-91-generic",
        cpu_model="Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz",
        cpu_cores_physical=2,
        cpu_cores_logical=4,
        ram_bytes=4 * 1024 * MIB - 5,
        boot_time="2026-11-27T09:15:00+02:00",
        battery_present=False,
        battery_percent=None,
        disks=[
            DiskFacts("/", "/dev/sda2", "ext4", 100 * MIB, 40 * MIB, True, True),
            DiskFacts("/home", "/dev/sdb1", "ext4", 900 * MIB, 100 * MIB, None, False),
        ],
    )
    hardware = HardwareFacts(
        vendor="Hewlett-Packard",
        model="HP Compaq 6200 Pro SFF PC",
        chassis="desktop",
        bios_vendor="Hewlett-Packard",
        bios_version="J01 v02.15",
        bios_date="2012-03-05T00:00:00",
        cpu_launch_year=2011,
        uefi=False,
        secure_boot=None,
    )
    return MachineInventory(host, hardware, [], [])


def mac_with_little_known() -> MachineInventory:
    """A Mac whose probes mostly failed: the GLPI document must still be valid."""
    host = HostFacts(
        hostname="",
        os_name="Darwin",
        os_version="macOS 14.4",
        os_release="23.4.0",
        cpu_model=None,
        cpu_cores_physical=None,
        cpu_cores_logical=None,
        ram_bytes=0,
        boot_time=None,
        battery_present=True,
        battery_percent=None,
        errors=["hostname: not readable (OSError)", "memory: not readable (OSError)"],
    )
    hardware = HardwareFacts(bios_date="06/14/2023", chassis="laptop")
    battery = BatteryFacts("bq20z451", None, None, None)
    product = AntivirusFacts("XProtect", None, None, "not a date", "xprotect")
    return MachineInventory(host, hardware, [product], [battery])


def this_machine() -> MachineInventory:
    return MachineInventory(collect_host(), None, [], [])


MACHINES = {
    "windows laptop": windows_laptop,
    "linux desktop": linux_desktop,
    "mac with little known": mac_with_little_known,
    "this machine": this_machine,
}


def glpi_document(machine: MachineInventory, generated_at: datetime = GENERATED_AT) -> dict:
    host, hardware, antivirus, batteries = machine
    return glpi_inventory(
        host,
        hardware=hardware,
        antivirus=antivirus,
        batteries=batteries,
        generated_at=generated_at,
    )


def auditor_document(machine: MachineInventory) -> dict:
    host, hardware, antivirus, batteries = machine
    return auditor_inventory(
        host,
        hardware=hardware,
        antivirus=antivirus,
        batteries=batteries,
        generated_at=GENERATED_AT,
    )


# --------------------------------------------------------------------------------------------
# GLPI's schema
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def glpi_schema() -> dict:
    return json.loads((GLPI_DATA / "inventory.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def glpi_validator(glpi_schema: dict) -> jsonschema.protocols.Validator:
    """A validator for the draft the schema declares ($schema: draft-07)."""
    validator_class = jsonschema.validators.validator_for(glpi_schema)
    validator_class.check_schema(glpi_schema)
    return validator_class(glpi_schema)


def resolve(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    if ref:
        assert ref.startswith("#/"), ref
        for part in ref[2:].split("/"):
            schema = schema[part]
        return schema
    return node


def keys_the_schema_does_not_define(schema: dict, node: dict, value: Any, where: str) -> list:
    """Paths of the keys in `value` that `node` does not list. GLPI's schema only forbids
    unknown keys at the top level, so jsonschema alone would let a made-up key through."""
    node = resolve(schema, node)
    unknown = []
    if isinstance(value, dict):
        properties = node.get("properties", {})
        for key, item in value.items():
            if key not in properties:
                unknown.append(f"{where}.{key}")
            else:
                unknown += keys_the_schema_does_not_define(
                    schema, properties[key], item, f"{where}.{key}"
                )
    elif isinstance(value, list):
        for index, item in enumerate(value):
            unknown += keys_the_schema_does_not_define(
                schema, node.get("items", {}), item, f"{where}[{index}]"
            )
    return unknown


def test_the_copied_schema_is_glpis_draft_07_schema_and_accepts_glpis_own_example(
    glpi_schema, glpi_validator
):
    assert glpi_schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert isinstance(glpi_validator, jsonschema.Draft7Validator)
    example = json.loads((GLPI_DATA / "computer_1.example.json").read_text(encoding="utf-8"))
    glpi_validator.validate(example)
    assert "d03ff5f" in (GLPI_DATA / "README.md").read_text(encoding="utf-8")
    assert "MIT License" in (GLPI_DATA / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("machine", MACHINES)
def test_glpi_accepts_the_inventory_of_every_machine(machine, glpi_validator):
    glpi_validator.validate(glpi_document(MACHINES[machine]()))


@pytest.mark.parametrize("machine", MACHINES)
def test_every_key_written_for_glpi_is_one_its_schema_defines(machine, glpi_schema):
    document = glpi_document(MACHINES[machine]())
    assert keys_the_schema_does_not_define(glpi_schema, glpi_schema, document, "$") == []


@pytest.mark.parametrize("machine", MACHINES)
def test_every_glpi_inventory_names_the_computer_for_glpis_import_rules(machine):
    document = glpi_document(MACHINES[machine]())
    name = document["content"]["hardware"]["name"]
    assert isinstance(name, str) and name.strip()


def test_glpi_inventory_of_this_machine_says_who_it_is_and_who_wrote_it():
    host = collect_host()
    document = glpi_document(MachineInventory(host, None, [], []))
    assert document["action"] == "inventory"
    assert document["itemtype"] == "Computer"
    assert document["content"]["versionclient"] == f"auditor-{__version__}"
    assert document["content"]["hardware"]["name"] == glpi_machine_name(host.hostname)
    assert document["content"]["hardware"]["memory"] == host.ram_bytes // MIB
    assert len(document["content"].get("drives", [])) == len(host.disks)


def test_the_deviceid_is_the_hostname_and_a_date_time_that_never_changes():
    first = glpi_document(windows_laptop(), generated_at=GENERATED_AT)
    a_month_later = glpi_document(windows_laptop(), generated_at=GENERATED_AT + timedelta(30))
    assert re.fullmatch(r"PC-ACCUEIL-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}", first["deviceid"])
    assert first == a_month_later


def test_a_hostname_with_a_domain_is_filed_under_its_short_name_and_keeps_its_fqdn():
    document = glpi_document(linux_desktop())
    assert document["content"]["hardware"]["name"] == "compta"
    assert document["deviceid"].startswith("compta-")
    assert document["content"]["operatingsystem"]["fqdn"] == "compta.asso.local"


def test_a_machine_whose_hostname_could_not_be_read_still_gets_a_name():
    document = glpi_document(mac_with_little_known())
    assert document["content"]["hardware"]["name"] == "unnamed-host"
    assert document["deviceid"].startswith("unnamed-host-")


def test_memory_and_volume_sizes_go_to_glpi_in_whole_mebibytes():
    content = glpi_document(windows_laptop())["content"]
    assert content["hardware"]["memory"] == 8192
    assert content["drives"] == [
        {"letter": "C:", "systemdrive": True, "filesystem": "NTFS", "total": 500, "free": 300},
        {"letter": "D:", "systemdrive": False, "filesystem": "NTFS", "total": 1000, "free": 0},
    ]


def test_unix_volumes_give_glpi_their_mount_point_and_device():
    drives = glpi_document(linux_desktop())["content"]["drives"]
    assert drives[0] == {
        "type": "/",
        "volumn": "/dev/sda2",
        "filesystem": "ext4",
        "total": 100,
        "free": 60,
    }
    assert drives[1]["type"] == "/home" and drives[1]["free"] == 800


def test_battery_capacities_go_to_glpi_in_milliwatt_hours():
    content = glpi_document(windows_laptop())["content"]
    assert content["batteries"] == [
        {"name": "DELL 3HWPP86", "capacity": 42000, "real_capacity": 33600}
    ]
    unknown_capacity = glpi_document(mac_with_little_known())["content"]["batteries"]
    assert unknown_capacity == [{"name": "bq20z451"}]


def test_the_bios_section_carries_maker_model_version_and_a_plain_date():
    bios = glpi_document(windows_laptop())["content"]["bios"]
    assert bios == {
        "bdate": "2023-06-14",
        "bmanufacturer": "Dell Inc.",
        "bversion": "1.25.0",
        "smanufacturer": "Dell Inc.",
        "smodel": "Latitude 5490",
        "secure_boot": "enabled",
    }
    assert glpi_document(linux_desktop())["content"]["bios"]["bdate"] == "2012-03-05"


def test_a_date_that_is_not_iso_8601_is_left_out_rather_than_sent_wrong():
    content = glpi_document(mac_with_little_known())["content"]
    assert "bios" not in content  # "06/14/2023" was its only BIOS fact besides the chassis
    assert content["antivirus"] == [{"name": "XProtect"}]


@pytest.mark.parametrize(
    ("uefi", "secure_boot", "expected"),
    [
        (True, True, "enabled"),
        (True, False, "disabled"),
        (None, False, "disabled"),
        (False, None, "unsupported"),
        (False, False, "unsupported"),
        (None, None, None),
        (True, None, None),
    ],
)
def test_secure_boot_is_told_to_glpi_only_when_auditor_knows_it(uefi, secure_boot, expected):
    host = windows_laptop().host
    hardware = HardwareFacts(vendor="Dell Inc.", uefi=uefi, secure_boot=secure_boot)
    bios = glpi_document(MachineInventory(host, hardware, [], []))["content"]["bios"]
    assert bios.get("secure_boot") == expected


def test_antivirus_state_and_signature_date_go_to_glpi_and_unknowns_stay_out():
    antivirus = glpi_document(windows_laptop())["content"]["antivirus"]
    assert antivirus == [
        {
            "name": "Windows Defender",
            "enabled": True,
            "uptodate": True,
            "base_creation": "2026-11-26",
        },
        {"name": "Avast Free Antivirus"},
    ]


def test_the_operating_system_section_names_system_version_kernel_and_boot_time_in_utc():
    windows = glpi_document(windows_laptop())["content"]["operatingsystem"]
    assert windows == {
        "name": "Windows",
        "version": "23H2",
        "full_name": "Windows 11 Pro 23H2",
        "kernel_name": "MSWin32",
        "kernel_version": "10.0.22631",
        "boot_time": "2026-11-20 07:58:08",
    }
    linux = glpi_document(linux_desktop())["content"]["operatingsystem"]
    assert linux["boot_time"] == "2026-11-27 07:15:00"  # 09:15 at +02:00


@pytest.mark.parametrize(
    ("os_name", "os_version", "expected"),
    [
        ("Linux", "Debian GNU/Linux 12 (bookworm)", ("Debian GNU/Linux", "12")),
        ("Linux", "Ubuntu 22.04.3 LTS", ("Ubuntu", "22.04.3")),
        ("Linux", "Fedora Linux 39 (Workstation Edition)", ("Fedora Linux", "39")),
        ("Linux", "Arch Linux", ("Arch Linux", None)),
        ("Linux", "Debian GNU/Linux trixie/sid", ("Debian GNU/Linux trixie/sid", None)),
        ("Linux", "", ("Linux", None)),
        ("Windows", "Windows 10 Pro 22H2", ("Windows", "22H2")),
        ("Windows", "Windows 10 Home 1909", ("Windows", "1909")),
        ("Windows", "Windows 7 Professional", ("Windows", None)),
        ("Windows", "Windows Server 2022", ("Windows", None)),
        ("Windows", "Windows Server 2022 Standard 21H2", ("Windows", "21H2")),
        ("Darwin", "macOS 14.4", ("macOS", "14.4")),
        ("Darwin", "macOS", ("macOS", None)),
        ("FreeBSD", "FreeBSD 14.0-RELEASE", ("FreeBSD", None)),
    ],
)
def test_glpi_gets_the_os_name_and_only_a_version_the_text_really_carries(
    os_name, os_version, expected
):
    assert glpi_os_name_and_version(os_name, os_version) == expected


def test_an_inventory_without_a_time_zone_is_refused():
    host = windows_laptop().host
    with pytest.raises(ValueError, match="time zone"):
        glpi_inventory(host, generated_at=datetime(2026, 11, 27, 16, 0))
    with pytest.raises(ValueError, match="time zone"):
        auditor_inventory(host, generated_at=datetime(2026, 11, 27, 16, 0))


# --------------------------------------------------------------------------------------------
# auditor's format: writing and reading back
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "fields", "lists", "not_stored"),
    [
        (
            HostFacts,
            inventory._HOST_FIELDS,
            inventory._HOST_LISTS,
            # read from other tools' inventories only: auditor's own always checks antivirus
            {"source", "collected_at", "antivirus_checked", "owner"},
        ),
        (DiskFacts, inventory._DISK_FIELDS, (), set()),
        (HardwareFacts, inventory._HARDWARE_FIELDS, inventory._HARDWARE_LISTS, set()),
        (SmartFacts, inventory._SMART_FIELDS, (), set()),
        (AntivirusFacts, inventory._ANTIVIRUS_FIELDS, (), set()),
        (BatteryFacts, inventory._BATTERY_FIELDS, (), set()),
    ],
)
def test_the_format_covers_every_field_of_the_records(record, fields, lists, not_stored):
    """A field added to a record must be added to the format, or this test fails."""
    written = [key for key, _kind in fields] + list(lists)
    stored = [f.name for f in dataclasses.fields(record) if f.name not in not_stored]
    assert sorted(written) == sorted(stored)


def test_the_auditor_document_has_the_documented_shape():
    document = auditor_document(windows_laptop())
    assert list(document) == [
        "format",
        "version",
        "generated_at",
        "host",
        "hardware",
        "antivirus",
        "batteries",
    ]
    assert document["format"] == "auditor-inventory"
    assert document["version"] == 2
    assert document["generated_at"] == "2026-11-27T16:00:00+00:00"
    assert "source" not in document["host"]
    assert document["host"]["disks"][0]["total_bytes"] == 500 * MIB + 123
    assert auditor_document(this_machine())["hardware"] is None


@pytest.mark.parametrize("machine", MACHINES)
def test_an_inventory_written_then_read_gives_back_the_same_records(machine, tmp_path):
    original = MACHINES[machine]()
    path = tmp_path / "inventory.json"
    write_inventory(auditor_document(original), path)

    host, hardware, antivirus, batteries = read_inventory(path)

    assert host == dataclasses.replace(
        original.host, source="inventory.json", collected_at=GENERATED_AT.isoformat()
    )
    assert hardware == original.hardware
    assert antivirus == original.antivirus
    assert batteries == original.batteries


def test_a_round_trip_keeps_non_ascii_names_and_float_values_exactly(tmp_path):
    laptop = windows_laptop()
    laptop.host.hostname = "PC-SECRÉTARIAT"
    laptop.host.battery_percent = 33.33333333333333
    path = tmp_path / "secrétariat.json"
    write_inventory(auditor_document(laptop), path)
    assert "PC-SECRÉTARIAT" in path.read_text(encoding="utf-8")
    assert read_inventory(path).host.battery_percent == 33.33333333333333
    assert read_inventory(path).host.hostname == "PC-SECRÉTARIAT"


def test_keys_a_later_auditor_may_add_are_ignored_when_reading(tmp_path):
    document = auditor_document(windows_laptop())
    document["host"]["serial_number"] = "ABC123"
    document["network"] = []
    path = tmp_path / "with-more.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert read_inventory(path).host.hostname == "PC-ACCUEIL"


def test_optional_lists_and_hardware_fields_may_be_left_out_of_a_file(tmp_path):
    document = auditor_document(windows_laptop())
    del document["host"]["errors"], document["host"]["disks"]
    document["hardware"] = {"vendor": "Dell Inc."}
    path = tmp_path / "short.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    host, hardware, _antivirus, _batteries = read_inventory(path)
    assert host.disks == [] and host.errors == []
    assert hardware == HardwareFacts(vendor="Dell Inc.")


# --------------------------------------------------------------------------------------------
# Files that are not a readable auditor inventory
# --------------------------------------------------------------------------------------------


def good_text() -> str:
    return json.dumps(auditor_document(windows_laptop()), indent=2)


def edited(change) -> str:
    document = auditor_document(windows_laptop())
    change(document)
    return json.dumps(document, indent=2)


def glpi_example_text() -> str:
    return (GLPI_DATA / "computer_1.example.json").read_text(encoding="utf-8")


BAD_FILES = {
    "not JSON at all": (lambda: "Inventaire du PC de l'accueil\n", "not valid JSON"),
    "cut in the middle of a copy": (lambda: good_text()[: len(good_text()) // 2], "truncated"),
    "empty": (lambda: "", "empty file"),
    "latin-1 text": (lambda: "caf\xe9".encode("latin-1"), "not JSON"),
    "NaN where a number goes": (
        lambda: good_text().replace('"battery_percent": 87.5', '"battery_percent": NaN'),
        "not valid JSON",
    ),
    "a GLPI inventory from GLPI's repository": (glpi_example_text, "a GLPI inventory"),
    "a GLPI inventory auditor wrote": (
        lambda: json.dumps(glpi_document(windows_laptop())),
        "a GLPI inventory",
    ),
    "a JSON list": (lambda: "[]", "not an auditor inventory"),
    "some other JSON object": (lambda: '{"name": "pc"}', "not an auditor inventory"),
    "from a newer auditor": (
        lambda: edited(lambda d: d.update(version=3)),
        "written by a newer auditor",
    ),
    "a version that never existed": (
        lambda: edited(lambda d: d.update(version=0)),
        "inventory version 0 does not exist",
    ),
    "a version in quotes": (
        lambda: edited(lambda d: d.update(version="1")),
        'version should be a whole number, not the text "1"',
    ),
    "memory typed as text": (
        lambda: edited(lambda d: d["host"].update(ram_bytes="8 GB")),
        'host.ram_bytes should be a whole number, not the text "8 GB"',
    ),
    "a core count of true": (
        lambda: edited(lambda d: d["host"].update(cpu_cores_logical=True)),
        "host.cpu_cores_logical should be a whole number or null, not true",
    ),
    "no hostname": (
        lambda: edited(lambda d: d["host"].pop("hostname")),
        "required key host.hostname is missing",
    ),
    "a disk without its size": (
        lambda: edited(lambda d: d["host"]["disks"][1].pop("total_bytes")),
        "required key host.disks[1].total_bytes is missing",
    ),
    "a disk that is not an object": (
        lambda: edited(lambda d: d["host"]["disks"].append("D:")),
        'host.disks[2] should be an object, not the text "D:"',
    ),
    "antivirus as one object": (
        lambda: edited(lambda d: d.update(antivirus={"product": "Avast"})),
        "antivirus should be a list, not an object",
    ),
    "an antivirus turned on with yes": (
        lambda: edited(lambda d: d["antivirus"][0].update(enabled="yes")),
        'antivirus[0].enabled should be true or false or null, not the text "yes"',
    ),
    "a battery capacity in quotes": (
        lambda: edited(lambda d: d["batteries"][0].update(design_capacity_wh="42")),
        'batteries[0].design_capacity_wh should be a number or null, not the text "42"',
    ),
    "SMART hours as a float": (
        lambda: edited(lambda d: d["hardware"]["smart"][0].update(power_on_hours=1.5)),
        "hardware.smart[0].power_on_hours should be a whole number or null, not the number 1.5",
    ),
    "an error line that is not text": (
        lambda: edited(lambda d: d["host"]["errors"].append(42)),
        "host.errors[1] should be text, not the number 42",
    ),
    "no hardware key": (
        lambda: edited(lambda d: d.pop("hardware")),
        "required key hardware is missing",
    ),
    "a date that is not one": (
        lambda: edited(lambda d: d.update(generated_at="last Tuesday")),
        "generated_at should be an ISO 8601 date-time",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_each_unreadable_file_gives_one_line_naming_the_file_and_the_problem(case, tmp_path):
    make, expected = BAD_FILES[case]
    content = make()
    path = tmp_path / "pc-accueil.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(SourceError) as caught:
        read_inventory(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message and "\r" not in message
    assert caught.value.key.startswith("source.inventory.")
    french = caught.value.localized("fr")
    assert french.startswith(f"{path} : ") and french != message and "{" not in french


def test_a_glpi_file_is_told_apart_and_the_user_is_told_how_to_make_an_auditor_one(tmp_path):
    path = tmp_path / "glpixps.json"
    path.write_text(glpi_example_text(), encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_inventory(path)
    assert str(caught.value) == (
        f"{path}: a GLPI inventory, not an auditor one; auditor reads back only its own "
        "format, written by `auditor inventory`"
    )


def test_a_file_from_a_newer_auditor_asks_for_an_update(tmp_path):
    path = tmp_path / "from-the-future.json"
    path.write_text(edited(lambda d: d.update(version=7)), encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_inventory(path)
    assert str(caught.value) == (
        f"{path}: written by a newer auditor (inventory version 7; auditor {__version__} "
        "reads versions up to 2): update auditor to read it"
    )


def test_a_file_that_does_not_exist_is_one_line_too(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(SourceError, match=r"missing\.json: cannot be read"):
        read_inventory(path)


def test_an_inventory_from_an_older_auditor_is_upgraded_then_read(tmp_path, monkeypatch):
    """Pretend this auditor writes version 3: a version-1 file goes through both steps."""
    path = tmp_path / "written-by-version-1.json"
    path.write_text(edited(lambda d: d.update(version=1)), encoding="utf-8")
    upgraded = []

    def step(document: dict) -> dict:
        upgraded.append(document["version"])
        return {**document, "version": document["version"] + 1, "network": []}

    monkeypatch.setattr(inventory, "INVENTORY_VERSION", 3)
    monkeypatch.setattr(inventory, "_UPGRADES", {1: step, 2: step})

    host, hardware, antivirus, batteries = read_inventory(path)

    assert upgraded == [1, 2]
    assert host.hostname == "PC-ACCUEIL" and hardware == windows_laptop().hardware
    assert antivirus == windows_laptop().antivirus and batteries == windows_laptop().batteries


def test_an_inventory_too_old_to_upgrade_says_to_write_it_again(tmp_path, monkeypatch):
    path = tmp_path / "ancient.json"
    path.write_text(edited(lambda d: d.update(version=1)), encoding="utf-8")
    monkeypatch.setattr(inventory, "INVENTORY_VERSION", 3)
    monkeypatch.setattr(inventory, "_UPGRADES", {2: lambda document: document})
    with pytest.raises(SourceError) as caught:
        read_inventory(path)
    assert str(caught.value) == (
        f"{path}: inventory version 1 is too old for auditor {__version__}; "
        "write it again with `auditor inventory`"
    )


def test_a_version_1_file_with_english_error_lines_is_still_read(tmp_path):
    def as_version_1(document: dict) -> None:
        document["version"] = 1
        document["host"]["errors"] = ["battery: not readable (no probe)"]

    path = tmp_path / "v1.json"
    path.write_text(edited(as_version_1), encoding="utf-8")
    host, _hardware, _antivirus, _batteries = read_inventory(path)
    assert host.errors == ["battery: not readable (no probe)"]


# --------------------------------------------------------------------------------------------
# A folder of inventories
# --------------------------------------------------------------------------------------------


def test_a_folder_gives_the_good_inventories_and_one_line_per_bad_file(tmp_path):
    write_inventory(auditor_document(windows_laptop()), tmp_path / "a-accueil.json")
    (tmp_path / "b-glpi.json").write_text(glpi_example_text(), encoding="utf-8")
    (tmp_path / "c-cut.json").write_text(good_text()[:100], encoding="utf-8")
    write_inventory(auditor_document(linux_desktop()), tmp_path / "d-compta.JSON")
    (tmp_path / "notes.txt").write_text("bring the USB stick back", encoding="utf-8")
    (tmp_path / "._a-accueil.json").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (tmp_path / "old.json").mkdir()

    inventories, errors = read_inventory_folder(tmp_path)

    # a GLPI Agent file is read too (issue 18): the format is told from the content
    assert [(i.host.hostname, i.host.source) for i in inventories] == [
        ("PC-ACCUEIL", "a-accueil.json"),
        ("glpixps", "b-glpi.json"),
        ("compta.asso.local", "d-compta.JSON"),
    ]
    laptop = windows_laptop()
    assert inventories[0] == laptop._replace(
        host=dataclasses.replace(
            laptop.host, source="a-accueil.json", collected_at=GENERATED_AT.isoformat()
        )
    )
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'c-cut.json'}: ")
    assert "truncated" in errors[0]
    assert all("\n" not in line for line in errors)


def test_an_empty_folder_is_one_line_not_silence(tmp_path):
    (tmp_path / "notes.txt").write_text("copy the files here", encoding="utf-8")
    machines, (line,) = read_inventory_folder(tmp_path)
    assert machines == []
    assert str(line) == (
        f"{tmp_path}: no inventory file (*.json, *.xml, *.ocs) in this folder; copy here the "
        "files written by `auditor inventory`, GLPI Agent, FusionInventory or OCS Inventory"
    )


def test_a_folder_that_is_not_there_is_one_line(tmp_path):
    with pytest.raises(SourceError, match="inventory folder not found"):
        read_inventory_folder(tmp_path / "clé-usb")
    a_file = tmp_path / "inventory.json"
    a_file.write_text("{}", encoding="utf-8")
    with pytest.raises(SourceError, match="not a folder"):
        read_inventory_folder(a_file)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def test_write_inventory_never_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "pc-accueil.json"
    path.write_text("last month's inventory", encoding="utf-8")

    with pytest.raises(InventoryExistsError) as caught:
        write_inventory(auditor_document(windows_laptop()), path)

    assert isinstance(caught.value, FileExistsError)
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, AuditorError)
    assert str(caught.value).startswith(f"{path}: already exists")
    assert path.read_text(encoding="utf-8") == "last month's inventory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pc-accueil.json"]


def test_write_inventory_replaces_a_file_only_when_asked(tmp_path):
    path = tmp_path / "pc-accueil.json"
    path.write_text("last month's inventory", encoding="utf-8")
    write_inventory(auditor_document(windows_laptop()), path, overwrite=True)
    assert read_inventory(path).host.hostname == "PC-ACCUEIL"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pc-accueil.json"]


def test_write_inventory_on_a_usb_stick_without_hard_links_still_refuses_to_overwrite(
    tmp_path, monkeypatch
):
    """FAT and exFAT have no hard links: os.link fails with EPERM there."""

    def no_hard_links(src, dst, *args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    path = tmp_path / "pc-accueil.json"
    write_inventory(auditor_document(windows_laptop()), path)
    assert read_inventory(path).host.hostname == "PC-ACCUEIL"
    with pytest.raises(InventoryExistsError):
        write_inventory(auditor_document(linux_desktop()), path)
    assert read_inventory(path).host.hostname == "PC-ACCUEIL"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pc-accueil.json"]


def test_write_inventory_writes_indented_utf8_json_ending_with_a_newline(tmp_path):
    path = tmp_path / "parc" / "2026-11" / "pc-accueil.json"
    path.parent.mkdir(parents=True)  # an existing folder: a missing one is never created
    document = glpi_document(windows_laptop())
    write_inventory(document, path)
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "deviceid"')
    assert json.loads(text) == document


def test_write_inventory_says_in_one_line_when_it_cannot_write(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        write_inventory(auditor_document(windows_laptop()), blocker / "pc.json")
    assert str(caught.value) == (
        f"{blocker / 'pc.json'}: cannot write the inventory ({blocker} is a file, not a folder)"
    )
    assert "\n" not in str(caught.value)


def test_generated_at_keeps_its_offset(tmp_path):
    paris = timezone(timedelta(hours=1))
    document = auditor_inventory(
        windows_laptop().host, generated_at=datetime(2026, 11, 27, 17, 0, tzinfo=paris)
    )
    assert document["generated_at"] == "2026-11-27T17:00:00+01:00"


GLPI_EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "glpi" / "computer_1.example.json"


# --------------------------------------------------------------------------------------------
# Files that are not a readable auditor inventory: one line each, in both languages
# --------------------------------------------------------------------------------------------


def host(errors: list[str]) -> HostFacts:
    return HostFacts(
        hostname="PC-ACCUEIL",
        os_name="Linux",
        os_version="Debian GNU/Linux 12 (bookworm)",
        os_release="6.1.0-18-amd64",
        cpu_model=None,
        cpu_cores_physical=None,
        cpu_cores_logical=None,
        ram_bytes=0,
        boot_time=None,
        battery_present=False,
        battery_percent=None,
        errors=errors,
    )


def document(errors: list[str], hardware_errors: list[str] = ()) -> dict:
    return auditor_inventory(
        host(errors),
        hardware=HardwareFacts(errors=list(hardware_errors)),
        generated_at=datetime(2026, 11, 27, 16, 0, tzinfo=UTC),
    )


def good() -> dict:
    return json.loads(json.dumps(document([])))


def changed(change) -> str:
    doc = good()
    change(doc)
    return json.dumps(doc)


THEIRS = "auditor reads back only its own format, written by `auditor inventory`"
BAD_FILE_LINES = {
    "empty": (
        "",
        "empty file, not an auditor inventory (write it again with `auditor inventory`)",
    ),
    "latin-1": (
        "caf\xe9".encode("latin-1"),
        "not JSON (not even UTF-8 text), so not an auditor inventory",
    ),
    "cut short": (
        '{"format": "auditor-inventory",\n"version": 1,',
        "the JSON stops short at line 2: the file is truncated (an interrupted copy?); "
        "write it again with `auditor inventory`",
    ),
    "not JSON": (
        "Inventaire du PC\n",
        "not valid JSON (Expecting value at line 1, column 1)",
    ),
    "NaN": ('{"x": NaN}', "not valid JSON (NaN is not a JSON value)"),
    "nested too deeply": (
        "[" * 100_000 + "]" * 100_000,
        "not an auditor inventory (the JSON is nested too deeply)",
    ),
    "GLPI": (
        GLPI_EXAMPLE.read_text(encoding="utf-8"),
        f"a GLPI inventory, not an auditor one; {THEIRS}",
    ),
    "other JSON object": (
        '{"name": "pc"}',
        f'not an auditor inventory (no "format": "auditor-inventory"); {THEIRS}',
    ),
    "a list": ("[]", f"not an auditor inventory (the JSON is a list); {THEIRS}"),
    "a number": ("42", f"not an auditor inventory (the JSON is the number 42); {THEIRS}"),
    "a text": ('"pc"', f'not an auditor inventory (the JSON is the text "pc"); {THEIRS}'),
    "null": ("null", f"not an auditor inventory (the JSON is null); {THEIRS}"),
    "newer": (
        changed(lambda d: d.update(version=7)),
        f"written by a newer auditor (inventory version 7; auditor {__version__} "
        "reads versions up to 2): update auditor to read it",
    ),
    "version 0": (
        changed(lambda d: d.update(version=0)),
        "inventory version 0 does not exist (the first was 1)",
    ),
    "missing key": (
        changed(lambda d: d["host"].pop("hostname")),
        "required key host.hostname is missing",
    ),
    "text for a number": (
        changed(lambda d: d["host"].update(ram_bytes="8 GB")),
        'host.ram_bytes should be a whole number, not the text "8 GB"',
    ),
    "true for a count": (
        changed(lambda d: d["host"].update(cpu_cores_logical=True)),
        "host.cpu_cores_logical should be a whole number or null, not true",
    ),
    "a float for an integer": (
        changed(lambda d: d["host"].update(ram_bytes=1.5)),
        "host.ram_bytes should be a whole number, not the number 1.5",
    ),
    "null for text": (
        changed(lambda d: d["host"].update(hostname=None)),
        "host.hostname should be text, not null",
    ),
    "an object for a list": (
        changed(lambda d: d.update(antivirus={"product": "Avast"})),
        "antivirus should be a list, not an object",
    ),
    "a list for an object": (
        changed(lambda d: d.update(host=[])),
        "host should be an object, not a list",
    ),
    "an error line that is a number": (
        changed(lambda d: d["host"]["errors"].append(42)),
        "host.errors[0] should be text, not the number 42",
    ),
    "an error line object without key": (
        changed(lambda d: d["hardware"]["errors"].append({"text": "x"})),
        'hardware.errors[0] should be text, or an object with a text "key", an object '
        '"values" and a list of texts "at"',
    ),
    "a date that is not one": (
        changed(lambda d: d.update(generated_at="last Tuesday")),
        'generated_at should be an ISO 8601 date-time, not the text "last Tuesday"',
    ),
}


@pytest.mark.parametrize("case", BAD_FILE_LINES)
def test_each_bad_inventory_file_is_a_bilingual_line_after_its_path(case, tmp_path):
    content, expected = BAD_FILE_LINES[case]
    path = tmp_path / "pc-accueil.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    line = raised(lambda: read_inventory(path))
    assert_bilingual(line, f"{path}: {expected}", str(path))


def test_a_missing_or_too_large_inventory_file(tmp_path, monkeypatch):
    missing = tmp_path / "missing.json"
    line = raised(lambda: read_inventory(missing))
    assert_bilingual(line, f"{missing}: cannot be read (No such file or directory)", str(missing))
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 600_000 + "0]", encoding="utf-8")
    monkeypatch.setattr(inventory, "_MAX_FILE_BYTES", 1024 * 1024)
    line = raised(lambda: read_inventory(big))
    assert_bilingual(line, f"{big}: too large to be an auditor inventory (over 1 MB)", str(big))
    assert (
        line.localized("fr")
        == f"{big} : trop gros pour être un inventaire d'auditor (plus de 1 Mo)"
    )


def test_inventory_folder_lines(tmp_path):
    missing = tmp_path / "clé-usb"
    assert_bilingual(
        raised(lambda: read_inventory_folder(missing)),
        f"{missing}: inventory folder not found",
        str(missing),
    )
    a_file = tmp_path / "inventory.json"
    a_file.write_text("{}", encoding="utf-8")
    assert_bilingual(
        raised(lambda: read_inventory_folder(a_file)),
        f"{a_file}: not a folder (give the folder of inventory files)",
        str(a_file),
    )


def test_bad_files_of_a_folder_are_problems(tmp_path):
    (tmp_path / "a.json").write_text("[]", encoding="utf-8")
    (tmp_path / "b.json").write_text("", encoding="utf-8")
    inventories, errors = read_inventory_folder(tmp_path)
    assert inventories == []
    assert [line.key for line in errors] == [
        "source.inventory.json_is",
        "source.inventory.empty",
    ]
    assert errors[0].values["found"] == "list"
    for line, name in zip(errors, ("a.json", "b.json"), strict=True):
        assert_bilingual(line, str(line), str(tmp_path / name))


def test_writing_over_an_inventory_or_into_a_file(tmp_path):
    path = tmp_path / "pc.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(InventoryExistsError) as caught:
        write_inventory(document([]), path)
    assert_bilingual(
        caught.value.problem,
        f"{path}: already exists, not overwritten: choose another name, or add --overwrite to "
        "replace it",
        str(path),
    )
    target = path / "pc.json"
    line = raised(lambda: write_inventory(document([]), target))
    assert_bilingual(
        line, f"{target}: cannot write the inventory ({path} is a file, not a folder)", str(target)
    )


def test_probe_lines_go_through_an_inventory_file_and_come_back_in_french(tmp_path):
    disk = Problem("source.mail.message_unreadable", at=("disk D:",), number=3, error="EIO")
    smart = Problem("source.maildir.not_found", path="/dev/sdb")
    old = "memory: not readable (OSError)"  # a plain line, as older probes wrote them
    path = tmp_path / "pc.json"
    write_inventory(document([disk, old], [smart]), path)

    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["host"]["errors"] == [
        {
            "key": "source.mail.message_unreadable",
            "values": {"number": 3, "error": "EIO"},
            "at": ["disk D:"],
            "text": "disk D:: message 3 could not be read: EIO",
        },
        old,
    ]
    assert written["hardware"]["errors"] == [
        {
            "key": "source.maildir.not_found",
            "values": {"path": "/dev/sdb"},
            "text": "maildir not found: /dev/sdb",
        }
    ]

    machine = read_inventory(path)
    back_disk, back_old = machine.host.errors
    assert isinstance(back_disk, Problem) and back_disk == disk
    assert (
        back_disk.localized("fr")
        == disk.localized("fr")
        == ("disk D: : le message 3 n'a pas pu être lu : EIO")
    )
    assert back_old == old and not isinstance(back_old, Problem)
    (back_smart,) = machine.hardware.errors
    assert isinstance(back_smart, Problem)
    assert back_smart.localized("fr") == "Maildir introuvable : /dev/sdb"


def test_a_line_from_a_newer_auditor_shows_its_english_text(tmp_path):
    path = tmp_path / "pc.json"
    doc = good()
    doc["host"]["errors"] = [
        {"key": "errors.host.probe_from_the_future", "values": {}, "text": "gpu: not readable"},
        {"key": "source.mbox.not_found", "values": {"other": 1}, "text": "mbox not found: x"},
        {"key": "errors.host.no_text", "at": ["disk"]},
        {"key": "source.mbox.not_found", "values": {"path": "/m"}},  # no text: not needed
    ]
    path.write_text(json.dumps(doc), encoding="utf-8")
    future, unfit, bare, known = read_inventory(path).host.errors
    assert future == "gpu: not readable" and not isinstance(future, Problem)
    assert unfit == "mbox not found: x" and not isinstance(unfit, Problem)
    assert bare == "disk: errors.host.no_text"
    assert isinstance(known, Problem) and known.localized("fr") == "mbox introuvable : /m"

"""Virtual machines and machine identity, from outputs recorded on real systems
(tests/data/host/vm/README.md says where each comes from)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.collect.host import identity
from auditor.collect.host.identity import (
    hardware_uuid_key,
    hypervisor_flag,
    identifiers_from_windows,
    ioreg_platform,
    linux_identity,
    machine_guid_key,
    machine_id_key,
    newest_per_machine,
    probe_identity,
    serial_key,
    virtualization_from_dmi,
    virtualization_from_systemd,
)
from auditor.collect.host.machine import Machine
from auditor.collect.host.records import DiskFacts, HostFacts

DATA = Path(__file__).resolve().parents[1] / "data" / "host"
VM = DATA / "vm"
PUBLISHED = json.loads((VM / "dmi_published.json").read_text(encoding="utf-8"))


def recorded(name: str) -> dict[str, str]:
    """`# command` lines followed by what the command printed."""
    sections: dict[str, str] = {}
    command = ""
    for line in (VM / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            command = line[2:]
            sections[command] = ""
        else:
            sections[command] += line + "\n"
    return sections


THIS_VM = recorded("this_vm_firecracker.txt")


def dmi_listing(path: Path) -> dict[str, str]:
    """A `grep . /sys/class/dmi/id/*` listing of tests/data/host/hardware as fields."""
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.startswith("/sys/class/dmi/id/"):
            fields[name.removeprefix("/sys/class/dmi/id/")] = value.strip()
    return fields


@pytest.mark.parametrize("entry", PUBLISHED, ids=[e["machine"] for e in PUBLISHED])
def test_published_smbios_strings_name_the_hypervisor_and_real_machines_none(entry):
    assert virtualization_from_dmi(entry["fields"]) == entry["hypervisor"]


@pytest.mark.parametrize(
    "listing", sorted((DATA / "hardware").glob("dmi_*.txt")), ids=lambda p: p.stem
)
def test_real_machines_of_the_hardware_fixtures_are_not_virtual(listing):
    assert virtualization_from_dmi(dmi_listing(listing)) is None


def test_this_vm_recorded_answers():
    assert virtualization_from_systemd(THIS_VM["systemd-detect-virt --vm"]) == "kvm"
    assert virtualization_from_systemd("none\n") is None  # bare metal
    assert hypervisor_flag(THIS_VM["grep -m1 ^flags /proc/cpuinfo"])


def fake_this_vm(tmp_path: Path, with_systemd: bool):
    """This VM's /sys (no DMI table), machine-id and cpuinfo as recorded, and a runner that
    answers `systemd-detect-virt --vm` as it did (or has no such program)."""
    (tmp_path / "sys" / "class").mkdir(parents=True)
    (tmp_path / "machine-id").write_text(THIS_VM["cat /etc/machine-id"], encoding="utf-8")
    (tmp_path / "cpuinfo").write_text(THIS_VM["grep -m1 ^flags /proc/cpuinfo"], encoding="utf-8")

    def run(argv, timeout):
        if not with_systemd:
            raise FileNotFoundError(argv[0])
        assert argv[1:] == ["--vm"]
        return 0, THIS_VM["systemd-detect-virt --vm"], ""

    paths = {
        "sys_root": tmp_path / "sys",
        "machine_id": tmp_path / "machine-id",
        "cpuinfo": tmp_path / "cpuinfo",
    }
    return run, paths


@pytest.mark.parametrize("with_systemd", [True, False])
def test_this_vm_is_a_virtual_machine_with_or_without_systemd(tmp_path, monkeypatch, with_systemd):
    run, paths = fake_this_vm(tmp_path, with_systemd)
    monkeypatch.setattr(identity.shutil, "which", lambda *_a, **_k: "/usr/bin/systemd-detect-virt")
    virtualization, identifiers = linux_identity(run, **paths)
    # systemd names KVM; without it only the CPU's hypervisor bit is left (no DMI table)
    assert virtualization == ("kvm" if with_systemd else "vm")
    assert identifiers == [machine_id_key(THIS_VM["cat /etc/machine-id"])]
    assert identifiers[0].startswith("machine-id:")
    assert THIS_VM["cat /etc/machine-id"].strip() not in identifiers[0]  # never as it is


def test_the_virtio_disk_recorded_as_spinning_becomes_unknown(tmp_path, monkeypatch):
    run, paths = fake_this_vm(tmp_path, with_systemd=True)
    monkeypatch.setattr(identity.shutil, "which", lambda *_a, **_k: "/usr/bin/systemd-detect-virt")
    rotational = THIS_VM["cat /sys/block/vda/queue/rotational"].strip() == "1"
    assert rotational  # what the kernel says of the virtio disk
    host = HostFacts(
        "vm",
        "Linux",
        "Debian GNU/Linux 12 (bookworm)",
        "6.18.44-fc-v1272",
        None,
        2,
        2,
        8,
        None,
        False,
        None,
        disks=[DiskFacts("/", "/dev/vda", "ext4", 270 * 10**9, 25 * 10**9, rotational, True)],
    )
    probe_identity(host, None, system="Linux", run=run, **paths)
    assert host.virtualization == "kvm"
    assert [d.rotational for d in host.disks] == [None]


def test_identifiers_from_published_smbios_values():
    vmware = next(e for e in PUBLISHED if e["machine"] == "VMware VM (dmidecode -t 1)")
    assert hardware_uuid_key(vmware["fields"]["product_uuid"]).startswith("hardware-uuid:")
    assert serial_key(vmware["fields"]["product_serial"]).startswith("serial:")
    vbox = next(e for e in PUBLISHED if "serial number 0" in e["machine"])
    assert serial_key(vbox["fields"]["product_serial"]) is None  # "0" names no machine
    assert hardware_uuid_key("03000200-0400-0500-0006-000700080009") is None  # AMI default
    assert hardware_uuid_key("not a uuid") is None
    assert machine_id_key("uninitialized") is None


def test_one_smbios_uuid_printed_in_either_byte_order_is_one_machine():
    # OCSInventory-NG/WindowsAgent#3: wmic's value, and the agent's for the same machine
    wmic, agent = "0D977C6C-FA6C-27E6-6CFA-E6277070170E", "6C7C970D-6CFA-E627-6CFA-E6277070170E"
    assert hardware_uuid_key(wmic) == hardware_uuid_key(agent)
    assert hardware_uuid_key(wmic.lower()) == hardware_uuid_key(wmic)


def test_windows_identifiers_from_the_script_output():
    vbox = next(e for e in PUBLISHED if "serial number 0" in e["machine"])["fields"]
    data = {
        "Product": {"UUID": vbox["product_uuid"], "IdentifyingNumber": vbox["product_serial"]},
        "Bios": {"SerialNumber": vbox["product_serial"]},
        "MachineGuid": "0D977C6C-FA6C-27E6-6CFA-E6277070170E",
    }
    keys = identifiers_from_windows(data)
    assert [k.split(":")[0] for k in keys] == ["hardware-uuid", "machine-guid"]
    assert keys[1] == machine_guid_key(data["MachineGuid"])


def test_macos_ioreg_properties_are_read_and_redacted_values_give_no_identity():
    props = ioreg_platform((VM / "ioreg_macos_vm.txt").read_text(encoding="utf-8"))
    assert props["model"] == "iMacPro1,1"
    assert props["manufacturer"] == "Acidanthera"
    assert props["IOPlatformUUID"] == "..."  # the poster's redaction
    assert hardware_uuid_key(props["IOPlatformUUID"]) is None
    assert virtualization_from_dmi({"product_name": "VirtualMac2,1"}) == "apple"


def machine(name: str, ids: list[str], when: datetime, source: str, ram: int = 8) -> Machine:
    host = HostFacts(
        name,
        "Linux",
        "Debian",
        "6.1",
        None,
        2,
        2,
        ram,
        None,
        False,
        None,
        source=source,
        identifiers=ids,
        collected_at=when.isoformat(),
    )
    return Machine(host)


def test_one_machine_from_several_sources_is_kept_once_with_its_newest_facts():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    key = machine_id_key(THIS_VM["cat /etc/machine-id"])
    other = machine_id_key("0123456789abcdef0123456789abcdef")
    records = [
        machine("old-name", [key], now - timedelta(days=30), "old.json", ram=4),
        machine("pc-compta", [other], now - timedelta(days=2), "compta.json"),
        machine("vm", [], now - timedelta(days=60), "older-auditor.json", ram=2),
        machine("vm", [key], now - timedelta(minutes=5), "vm.json"),
        machine("vm", [key], now, "local", ram=16),
    ]
    kept = newest_per_machine(records)
    assert [(m.host.hostname, m.host.source) for m in kept] == [
        ("vm", "local"),
        ("pc-compta", "compta.json"),
    ]
    assert kept[0].host.ram_bytes == 16


def test_two_machines_of_one_name_stay_two():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    a = machine("PC", [machine_id_key("a" * 32)], now, "a.json")
    b = machine("pc", [machine_id_key("b" * 32)], now, "b.json")
    assert len(newest_per_machine([a, b])) == 2
    # files without identity fall back to the hostname
    c = dataclasses.replace(a.host, identifiers=[], source="c.json")
    d = dataclasses.replace(a.host, identifiers=[], hostname="PC.asso.local", source="d.json")
    assert len(newest_per_machine([Machine(c), Machine(d)])) == 1


def test_a_hyper_v_guest_on_windows_is_virtual_by_its_computer_system_strings():
    """Win32_ComputerSystem Manufacturer/Model are SMBIOS type 1 strings: on Hyper-V
    "Microsoft Corporation" / "Virtual Machine" (uyuni-project/uyuni#8920), while a Surface
    has the same manufacturer and is no VM (systemd/systemd#21468)."""
    from auditor.collect.host.identity import windows_identity
    from auditor.collect.host.records import HardwareFacts

    def run(argv, timeout):
        return 0, json.dumps({"MachineGuid": "0D977C6C-FA6C-27E6-6CFA-E6277070170E"}), ""

    hyper_v = HardwareFacts(vendor="Microsoft Corporation", model="Virtual Machine")
    assert windows_identity(run, hyper_v) == (
        "microsoft",
        [machine_guid_key("0D977C6C-FA6C-27E6-6CFA-E6277070170E")],
    )
    surface = HardwareFacts(vendor="Microsoft Corporation", model=None)
    assert windows_identity(run, surface)[0] is None

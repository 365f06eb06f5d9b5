"""The fleet workflow: inventories from other machines, judged by the machine rules."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.host.records import (
    AntivirusFacts,
    BatteryFacts,
    DiskFacts,
    HardwareFacts,
    HostFacts,
)
from auditor.inventory.auditor_format import auditor_inventory, write_inventory

ROOT = Path(__file__).resolve().parents[2]
GIB = 1024**3


def host(name, os_name, os_version, os_release, ram_gib, disk_gib, rotational, cpu):
    return HostFacts(
        hostname=name,
        os_name=os_name,
        os_version=os_version,
        os_release=os_release,
        cpu_model=cpu,
        cpu_cores_physical=4,
        cpu_cores_logical=4,
        ram_bytes=ram_gib * GIB,
        boot_time="2026-11-20T08:00:00+00:00",
        battery_present=False,
        battery_percent=None,
        disks=[
            DiskFacts(
                "C:\\" if os_name == "Windows" else "/",
                "disk0",
                "ntfs",
                disk_gib * GIB,
                disk_gib * GIB // 2,
                rotational,
                True,
            )
        ],
    )


def fleet(today: datetime) -> dict[str, dict]:
    recent = today.date().isoformat()
    return {
        # a 2015 office PC on Windows 10: no protection, HDD, 4 GB, cannot take Windows 11
        "pc-accueil": auditor_inventory(
            host(
                "pc-accueil",
                "Windows",
                "Windows 10 Pro 22H2",
                "10.0.19045",
                4,
                500,
                True,
                "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz",
            ),
            hardware=HardwareFacts(
                vendor="Dell Inc.",
                model="OptiPlex 3020",
                chassis="desktop",
                bios_date="2015-03-10",
                cpu_launch_year=2014,
                uefi=True,
                secure_boot=False,
                tpm_version="1.2",
            ),
            antivirus=[
                AntivirusFacts("Windows Defender", False, False, "2026-01-10", "securitycenter2")
            ],
            generated_at=today,
        ),
        # a laptop in good shape but for its battery
        "portable-tresorier": auditor_inventory(
            host(
                "portable-tresorier",
                "Linux",
                "Debian GNU/Linux 13 (trixie)",
                "6.12.0",
                16,
                256,
                False,
                "Intel(R) Core(TM) i5-1235U",
            ),
            hardware=HardwareFacts(
                vendor="LENOVO",
                model="ThinkPad E14",
                chassis="laptop",
                bios_date="2023-05-02",
                cpu_launch_year=2022,
                uefi=True,
            ),
            antivirus=[AntivirusFacts("ClamAV", True, True, recent, "clamav")],
            batteries=[BatteryFacts("BAT0", 45.0, 24.0, 610)],
            generated_at=today,
        ),
        # a healthy machine: nothing to say
        "pc-atelier": auditor_inventory(
            host(
                "pc-atelier",
                "Linux",
                "Debian GNU/Linux 13 (trixie)",
                "6.12.0",
                16,
                512,
                False,
                "AMD Ryzen 5 5600G",
            ),
            hardware=HardwareFacts(
                vendor="ASUS",
                model="PN51",
                chassis="desktop",
                bios_date="2024-02-01",
                cpu_launch_year=2021,
                uefi=True,
            ),
            antivirus=[AntivirusFacts("ClamAV", True, True, recent, "clamav")],
            generated_at=today,
        ),
    }


@pytest.fixture
def inventories(tmp_path):
    folder = tmp_path / "usb"
    folder.mkdir()  # the stick is plugged in: write_inventory never makes a folder up
    for name, doc in fleet(datetime.now(UTC)).items():
        write_inventory(doc, folder / f"{name}.json")
    return folder


def scan(tmp_path, *args):
    out = tmp_path / "r.json"
    env = {"AUDITOR_DB": str(tmp_path / "s.db"), "AUDITOR_CONFIG": str(tmp_path / "none.toml")}
    result = CliRunner(env=env).invoke(
        main,
        ["scan", "--no-mail", "--no-host", "--format", "json", "--output", str(out), "-q", *args],
    )
    return result, json.loads(out.read_text(encoding="utf-8"))


def fired_on(report) -> dict[str, set[str]]:
    hosts: dict[str, set[str]] = {}
    for f in report["findings"]:
        for row in f["evidence"]:
            if "hostname" in row:
                hosts.setdefault(row["hostname"], set()).add(f["rule_id"])
    return hosts


def test_machine_rules_fire_on_the_right_machines_and_stay_silent_on_healthy_ones(
    tmp_path, inventories
):
    result, report = scan(tmp_path, "--inventory", str(inventories))
    assert result.exit_code == 1  # SEC001 and SEC003 are high
    fired = fired_on(report)
    assert fired["pc-accueil"] >= {"SEC001", "SEC003", "HW002", "HW003", "HW004", "HW006"}
    assert fired["portable-tresorier"] == {"HW005"}
    assert "pc-atelier" not in fired
    assert {"SEC001", "SEC003"} <= set(report["plan"]["urgent"])
    assert len(report["hosts"]) == 3


def test_bad_inventory_files_are_one_line_each_and_the_others_count(tmp_path, inventories):
    (inventories / "truncated.json").write_text('{"format": "auditor-inventory", "vers')
    newer = json.loads((inventories / "pc-atelier.json").read_text())
    newer["version"] = 99
    (inventories / "from-the-future.json").write_text(json.dumps(newer))
    edited = json.loads((inventories / "pc-atelier.json").read_text())
    edited["host"]["ram_bytes"] = "8 GB"
    (inventories / "hand-edited.json").write_text(json.dumps(edited))
    result, report = scan(tmp_path, "--inventory", str(inventories))
    assert result.exit_code == 3
    errors = report["run"]["errors"]
    for name in ("truncated.json", "from-the-future.json", "hand-edited.json"):
        assert len([e for e in errors if name in e]) == 1
    assert len(report["hosts"]) == 3


def test_inventory_command_writes_this_machine_and_never_overwrites(tmp_path):
    out = tmp_path / "me.json"
    runner = CliRunner()
    first = runner.invoke(main, ["inventory", "--output", str(out)])
    assert first.exit_code == 0, first.output
    doc = json.loads(out.read_text())
    assert doc["format"] == "auditor-inventory" and doc["host"]["hostname"] == os.uname().nodename
    before = out.read_bytes()
    again = runner.invoke(main, ["inventory", "--output", str(out)])
    assert again.exit_code == 2 and out.read_bytes() == before


def test_glpi_inventory_of_this_machine_validates_against_glpi_schema(tmp_path):
    result = CliRunner().invoke(main, ["inventory", "--format", "glpi"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    schema = json.loads((ROOT / "tests" / "data" / "glpi" / "inventory.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["content"]["hardware"]["name"]


def test_update_data_refreshes_from_a_loopback_server(tmp_path, monkeypatch):
    recorded = ROOT / "tests" / "data" / "host" / "endoflife"
    handler = partial(SimpleHTTPRequestHandler, directory=str(recorded))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = CliRunner().invoke(main, ["update-data", "--url", url])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    saved = list((tmp_path / "data").rglob("os_eol.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())


def test_update_data_failure_is_one_line_and_exit_3(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens there any more
    result = CliRunner().invoke(main, ["update-data", "--url", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert not list((tmp_path / "data").rglob("os_eol.json"))


def test_advise_gives_each_machine_its_verdict_in_both_languages(tmp_path, inventories):
    result = CliRunner().invoke(
        main, ["advise", "--inventory", str(inventories), "--format", "json", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    verdicts = {m["hostname"]: m["verdict"] for m in json.loads(result.stdout)["machines"]}
    assert verdicts == {
        "pc-accueil": "free-os",
        "portable-tresorier": "upgrade",
        "pc-atelier": "keep",
    }
    fr = CliRunner().invoke(main, ["advise", "--inventory", str(inventories), "--lang", "fr"])
    assert "garder" in fr.output and "€" in fr.output


def test_keeping_hardware_findings_carry_avoided_co2e_and_euros_from_the_sources(
    tmp_path, inventories
):
    from auditor.impact import manufacturing_co2e_kg
    from auditor.impact.needs import load_profiles

    _result, report = scan(tmp_path, "--inventory", str(inventories))
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    battery = by_rule["HW005"]  # one worn laptop battery
    laptop_low, laptop_high = manufacturing_co2e_kg("laptop")
    part_low, part_high = manufacturing_co2e_kg("battery")
    assert battery["co2e_kg_avoided_low"] == pytest.approx(laptop_low - part_high)
    assert battery["co2e_kg_avoided_high"] == pytest.approx(laptop_high - part_low)
    prices = load_profiles()["prices"]
    assert battery["euros_low"] == pytest.approx(prices["new_laptop"][0] - prices["battery"][1])
    assert battery["euros_high"] == pytest.approx(prices["new_laptop"][1] - prices["battery"][0])
    footer = {f["id"] for f in report["figures"]}
    assert {"manufacturing_laptop_low", "manufacturing_battery_high"} <= footer
    # free OS instead of a new machine: the whole machine's footprint, nothing spent
    free_os = by_rule["HW006"]
    assert free_os["co2e_kg_avoided_low"] > battery["co2e_kg_avoided_low"] * 0.5
    assert free_os["euros_low"] > 0
    # the estimate's inputs are not shown as evidence columns
    assert "keep_device" in free_os["evidence"][0]
    # security findings have no such one-off gain
    assert by_rule["SEC001"]["co2e_kg_avoided_low"] is None


def test_an_old_machine_that_meets_office_needs_is_a_keep_it_finding(tmp_path, inventories):
    from auditor.impact import manufacturing_co2e_kg
    from auditor.impact.needs import load_profiles

    doc = json.loads((inventories / "pc-atelier.json").read_text())
    doc["hardware"]["bios_date"] = "2017-03-01"  # same healthy desktop, nine years old
    doc["hardware"]["cpu_launch_year"] = 2017
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "pc-atelier.json").write_text(json.dumps(doc))
    _result, report = scan(tmp_path, "--inventory", str(folder))
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    assert {"HW004", "HW007"} <= set(by_rule)
    keep = by_rule["HW007"]
    assert keep["gesture"] == "real-needs" and keep["severity"] == "info"
    low, high = manufacturing_co2e_kg("desktop")
    assert (keep["co2e_kg_avoided_low"], keep["co2e_kg_avoided_high"]) == pytest.approx((low, high))
    new = load_profiles()["prices"]["new_desktop"]
    assert (keep["euros_low"], keep["euros_high"]) == pytest.approx(tuple(new))
    # the same machine with too little memory does not "meet the needs"
    doc["host"]["ram_bytes"] = 4 * 10**9
    (folder / "pc-atelier.json").write_text(json.dumps(doc))
    _result, report = scan(tmp_path, "--inventory", str(folder))
    assert "HW007" not in {f["rule_id"] for f in report["findings"]}

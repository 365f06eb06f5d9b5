"""A machine is counted once, however many sources describe it, and a virtual machine is
not told to buy an SSD.

The story: a volunteer runs `auditor inventory` on every machine, the files go on a USB
stick, and `auditor scan --inventory /media/usb` runs on one of those machines. That machine
is then both scanned live and on the stick (its own file, and last month's one): before, it
was counted three times (SEC005 "Linux machine without ClamAV" said 3).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.host.identity import machine_id_key


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def invoke(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def scan_report(env: Path, *args: str | Path) -> dict:
    out = env / "report.json"
    result = invoke("scan", "--no-mail", "-q", "--format", "json", "--output", out, *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(out.read_text(encoding="utf-8"))


def older(doc: dict, days: int, **host: object) -> dict:
    moment = datetime.fromisoformat(doc["generated_at"]) - timedelta(days=days)
    return {**doc, "generated_at": moment.isoformat(), "host": {**doc["host"], **host}}


def test_a_machine_on_the_stick_and_scanned_live_is_one_machine_with_its_newest_facts(env):
    stick = env / "usb"
    stick.mkdir()
    assert invoke("inventory", "--output", stick / "this-machine.json").exit_code == 0
    mine = json.loads((stick / "this-machine.json").read_text(encoding="utf-8"))
    assert mine["host"]["identifiers"]  # machine-id at least, readable by everyone
    # last month's file of the same machine, under its old name and with less memory
    (stick / "this-machine-november.json").write_text(
        json.dumps(older(mine, 30, hostname="old-name", ram_bytes=2 * 1024**3)), encoding="utf-8"
    )
    # a file from an auditor before identifiers: matched by its hostname
    legacy = older(mine, 90, ram_bytes=1024**3)
    del legacy["host"]["identifiers"], legacy["host"]["virtualization"]
    (stick / "this-machine-2025.json").write_text(json.dumps(legacy), encoding="utf-8")
    # another Linux machine, which stays
    other = older(mine, 1, hostname="pc-compta")
    other["host"]["identifiers"] = [machine_id_key("0123456789abcdef0123456789abcdef")]
    (stick / "pc-compta.json").write_text(json.dumps(other), encoding="utf-8")

    report = scan_report(env, "--inventory", stick)

    hosts = {(h["hostname"], h.get("source")) for h in report["hosts"]}
    live = mine["host"]["hostname"]
    assert len(report["hosts"]) == 2, hosts
    (this,) = [h for h in report["hosts"] if h["hostname"] == live]
    assert this["ram_bytes"] == mine["host"]["ram_bytes"]  # the newest facts: the live scan
    sec005 = next((f for f in report["findings"] if f["rule_id"] == "SEC005"), None)
    if sec005 is not None:  # this machine has no ClamAV: it and pc-compta, once each
        assert sec005["count"] == 2
    # the stick alone (scanned from another machine): its newest file of each machine
    report = scan_report(env, "--no-host", "--inventory", stick)
    assert sorted(h["hostname"] for h in report["hosts"]) == sorted([live, "pc-compta"])
    (this,) = [h for h in report["hosts"] if h["hostname"] == live]
    assert this["ram_bytes"] == mine["host"]["ram_bytes"]


def this_is_a_vm() -> bool:
    try:
        done = subprocess.run(
            ["systemd-detect-virt", "--vm"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.stdout.strip() not in ("", "none")


@pytest.mark.skipif(not this_is_a_vm(), reason="needs a virtual machine to run on")
def test_a_virtual_machine_is_told_neither_of_a_spinning_disk_nor_of_an_ssd(env):
    report = scan_report(env)
    (host,) = report["hosts"]
    assert host["virtualization"]
    assert "HW002" not in {f["rule_id"] for f in report["findings"]}
    for lang, words in (("en", "virtual machine"), ("fr", "machine virtuelle")):
        advice = invoke("advise", "--lang", lang, "--format", "json")
        assert advice.exit_code == 0, advice.output
        (machine,) = json.loads(advice.output)["machines"]
        assert "ssd" not in json.dumps(machine["actions"]).lower()
        assert any(words in reason for reason in machine["reasons"])


def test_an_inventory_says_whether_its_machine_is_virtual(env):
    target = env / "me.json"
    assert invoke("inventory", "--output", target).exit_code == 0
    host = json.loads(target.read_text(encoding="utf-8"))["host"]
    assert "virtualization" in host
    if host["virtualization"]:
        assert all(d["rotational"] is None for d in host["disks"])
    assert datetime.fromisoformat(
        json.loads(target.read_text(encoding="utf-8"))["generated_at"]
    ) <= datetime.now(UTC)

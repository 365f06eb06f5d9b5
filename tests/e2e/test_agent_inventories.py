"""Machines auditor never ran on: the inventories of GLPI Agent, FusionInventory Agent and
OCS Inventory Agent, read and judged like auditor's own (issue 18).

The two Debian agents run for real on the test machine (scripts/test installs them): their
files must say what auditor's own probes say about the same machine."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.host.identity import newest_per_machine
from auditor.collect.host.machine import collect_machine
from auditor.derive import derive
from auditor.inventory.read import read_any_inventory, read_inventory_folder

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "tests" / "data" / "agents"
GLPI_EXAMPLE = ROOT / "tests" / "data" / "glpi" / "computer_1.example.json"
AGENT_TIMEOUT = 180


def _run_agent(argv: list[str], folder: Path) -> Path:
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed (scripts/test installs it with apt-get)")
    folder.mkdir()
    try:
        done = subprocess.run(
            [*argv, str(folder)] if argv[-1] == "--local" else argv + [f"--local={folder}"],
            capture_output=True,
            timeout=AGENT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"{argv[0]} took over {AGENT_TIMEOUT} s on this machine")
    files = list(folder.iterdir())
    if not files:
        pytest.skip(f"{argv[0]} wrote no inventory: {done.stderr.decode(errors='replace')[-200:]}")
    return files[0]


@pytest.fixture(scope="module")
def real_inventories(tmp_path_factory) -> dict[str, Path]:
    """Each agent run once per session: FusionInventory's `--local DIR` and OCS's
    `--local=DIR` write one <deviceid>.ocs file of this machine."""
    base = tmp_path_factory.mktemp("agents")
    return {
        "fusioninventory": _run_agent(
            ["fusioninventory-agent", "--no-category=process,environment", "--local"],
            base / "fi",
        ),
        "ocs": _run_agent(["ocsinventory-agent"], base / "ocs"),
    }


@pytest.fixture(scope="module")
def this_machine():
    return collect_machine()


@pytest.mark.parametrize("agent", ["fusioninventory", "ocs"])
def test_a_real_agent_file_says_what_auditor_probes_say(agent, real_inventories, this_machine):
    found = read_any_inventory(real_inventories[agent])
    mine = this_machine.host
    assert found.host.hostname.split(".")[0] == mine.hostname.split(".")[0]
    assert found.host.cpu_model == mine.cpu_model
    assert abs(found.host.ram_bytes - mine.ram_bytes) <= 0.02 * mine.ram_bytes  # MiB rounding
    assert found.host.os_name == mine.os_name
    today = datetime.now(UTC).date()
    assert derive(found, today).support.label == derive(this_machine, today).support.label
    system, own = (next(d for d in m.disks if d.is_system) for m in (found.host, mine))
    assert abs(system.total_bytes - own.total_bytes) <= 2 * 1024 * 1024  # whole MiB
    # agents write df's "available" space (without root's reserve): psutil's `free`
    available = psutil.disk_usage(own.mountpoint).free
    free = system.total_bytes - system.used_bytes
    assert abs(free - available) <= 0.02 * own.total_bytes


def test_real_agent_files_and_a_live_scan_are_one_machine(real_inventories, tmp_path):
    folder = tmp_path / "stick"
    folder.mkdir()
    for agent, path in real_inventories.items():
        shutil.copy(path, folder / f"{agent}-{path.name}")
    result, report = scan(tmp_path, "--inventory", str(folder), host=True)
    assert result.exit_code in (0, 1), result.output
    assert len(report["hosts"]) == 1


def scan(tmp_path: Path, *args: str, host: bool = False):
    out = tmp_path / "r.json"
    env = {"AUDITOR_DB": str(tmp_path / "s.db"), "AUDITOR_CONFIG": str(tmp_path / "none.toml")}
    options = ["scan", "--no-mail", "--format", "json", "--output", str(out), "-q"]
    result = CliRunner(env=env).invoke(main, [*options, *([] if host else ["--no-host"]), *args])
    return result, json.loads(out.read_text(encoding="utf-8"))


def fired_on(report) -> dict[str, set[str]]:
    hosts: dict[str, set[str]] = {}
    for finding in report["findings"]:
        for row in finding["evidence"]:
            if "hostname" in row:
                hosts.setdefault(row["hostname"], set()).add(finding["rule_id"])
    return hosts


@pytest.fixture
def windows_fleet(tmp_path) -> Path:
    folder = tmp_path / "inventaires"
    folder.mkdir()
    for path in AGENTS.iterdir():
        if path.suffix in (".json", ".xml"):
            # the extension says nothing: the content does
            shutil.copy(path, folder / (path.stem + (".ocs" if path.suffix == ".xml" else ".json")))
    shutil.copy(GLPI_EXAMPLE, folder / "glpixps.json")
    return folder


def test_three_windows_agents_and_a_linux_laptop_are_judged_like_auditors_own(
    tmp_path, windows_fleet
):
    result, report = scan(tmp_path, "--inventory", str(windows_fleet))
    assert result.exit_code == 1, result.output
    fired = fired_on(report)
    # GLPI Agent: Defender off, definitions of September; Windows 10 past its end; 4 GB;
    # a spinning system disk 95 % full
    assert {"SEC001", "SEC002", "SEC003", "HW001", "HW002"} <= fired["PC-ACCUEIL"]
    # FusionInventory: ESET on and current, Windows 11, a battery at 45 %
    assert "HW005" in fired["PORTABLE-TRESO"]
    assert not {"SEC001", "SEC002", "SEC003"} & fired.get("PORTABLE-TRESO", set())
    # OCS carries no antivirus: "no antivirus" would be a guess, not a finding
    assert "SEC001" not in fired.get("PC-SALLE-1", set())
    assert "SEC003" in fired["PC-SALLE-1"]
    # GLPI's own example: a Fedora laptop, its battery at 88 %: no worn-battery finding
    assert "HW005" not in fired.get("glpixps", set())
    assert len(report["hosts"]) == 4


def test_each_format_carries_its_facts(windows_fleet):
    machines = {m.host.hostname: m for m in read_inventory_folder(windows_fleet)[0]}
    glpi, fusion, ocs = machines["PC-ACCUEIL"], machines["PORTABLE-TRESO"], machines["PC-SALLE-1"]
    assert glpi.host.os_version == "Windows 10 Pro 22H2"
    assert glpi.hardware.bios_date == "2013-09-14" and glpi.hardware.cpu_launch_year == 2013
    assert glpi.host.disks[0].rotational is True and glpi.host.owner == "Accueil (Marie)"
    assert fusion.batteries[0].health_percent == 44.8 and fusion.hardware.chassis == "laptop"
    assert fusion.host.disks[0].rotational is False and fusion.antivirus[0].up_to_date is True
    assert fusion.host.owner == "Bureau trésorerie"
    assert ocs.host.antivirus_checked is False and ocs.host.os_release == "10.0.19045"
    assert ocs.hardware.chassis == "desktop" and ocs.host.identifiers
    laptop = machines["glpixps"]
    assert laptop.hardware.model == "XPS 13 9350" and laptop.batteries[0].health_percent == 87.8


def test_a_linux_ocs_file_with_clamav_in_its_software_is_protected(tmp_path):
    xml = (AGENTS / "windows-ocs.xml").read_text(encoding="utf-8")
    xml = xml.replace("Microsoft Windows 10 Pro", "Debian GNU/Linux 12").replace(
        "<NAME>7-Zip 23.01</NAME>", "<NAME>clamav</NAME>"
    )
    (tmp_path / "linux.ocs").write_text(xml, encoding="utf-8")
    found = read_any_inventory(tmp_path / "linux.ocs")
    assert [a.product for a in found.antivirus] == ["ClamAV"]
    assert found.host.antivirus_checked is True


def test_a_billion_laughs_file_is_one_line_not_a_hang(tmp_path, windows_fleet):
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    (windows_fleet / "laughs.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE R [<!ENTITY l0 "lol">{laughs}]>'
        "<REQUEST><CONTENT><HARDWARE><NAME>&l9;</NAME></HARDWARE></CONTENT></REQUEST>"
    )
    (windows_fleet / "cut.ocs").write_text("<REQUEST><CONTENT><HARDWARE><NAME>x")
    (windows_fleet / "notes.xml").write_text("<notes>not an inventory</notes>")
    started = time.monotonic()
    machines, errors = read_inventory_folder(windows_fleet)
    assert time.monotonic() - started < 5
    assert len(machines) == 4 and len(errors) == 3
    assert all("\n" not in str(line) for line in errors)
    (laughs_line,) = (e for e in errors if "laughs.xml" in str(e))
    assert "DTD" in laughs_line.localized("en") and "DTD" in laughs_line.localized("fr")
    assert "not well-formed XML" in str(next(e for e in errors if "cut.ocs" in str(e)))


def test_a_fleet_of_300_files_is_each_machine_once(tmp_path):
    from tests.fleetgen import make_fleet

    folder = tmp_path / "fleet"
    expected = make_fleet(folder, files=300)
    found, errors = read_inventory_folder(folder)
    assert errors == [] and len(found) == 300
    today = datetime.now(UTC).date()
    machines = newest_per_machine([derive(m, today) for m in found])
    assert len(machines) == expected.machines
    newest = {m.host.identifiers[0]: m.host.collected_at for m in machines}
    assert all(newest[key] == when for key, when in expected.newest.items())


def test_the_glpi_export_carries_disks_antivirus_batteries_and_reads_back(tmp_path):
    """`auditor inventory --format glpi` of a laptop: its disks with their type, its
    antivirus (also as software), its battery; valid for GLPI, and read back the same."""
    import jsonschema

    from auditor.collect.host.records import (
        AntivirusFacts,
        BatteryFacts,
        DiskFacts,
        HardwareFacts,
        HostFacts,
    )
    from auditor.inventory.glpi import glpi_inventory

    host = HostFacts(
        hostname="portable-asso",
        os_name="Linux",
        os_version="Debian GNU/Linux 12 (bookworm)",
        os_release="6.1.0-18-amd64",
        cpu_model="Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz",
        cpu_cores_physical=4,
        cpu_cores_logical=8,
        ram_bytes=8 * 1024**3,
        boot_time=None,
        battery_present=True,
        battery_percent=80.0,
        disks=[
            DiskFacts("/", "/dev/nvme0n1p2", "ext4", 240 * 1024**3, 100 * 1024**3, False, True),
            DiskFacts("/srv", "/dev/sda1", "ext4", 900 * 1024**3, 10 * 1024**3, True, False),
        ],
    )
    doc = glpi_inventory(
        host,
        hardware=HardwareFacts(chassis="laptop"),
        antivirus=[AntivirusFacts("ClamAV", True, True, "2026-12-01", "clamav")],
        batteries=[BatteryFacts("BAT0", 50.0, 30.0, 300)],
        generated_at=datetime.now(UTC),
    )
    schema = json.loads(GLPI_EXAMPLE.with_name("inventory.schema.json").read_text())
    jsonschema.validate(doc, schema)
    content = doc["content"]
    assert content["storages"] == [
        {"name": "nvme0n1", "type": "disk", "description": "SSD"},
        {"name": "sda", "type": "disk", "description": "HDD"},
    ]
    assert content["softwares"] == [{"name": "ClamAV"}]
    (tmp_path / "export.json").write_text(json.dumps(doc), encoding="utf-8")
    back = read_any_inventory(tmp_path / "export.json")
    assert [d.rotational for d in back.host.disks] == [False, True]
    assert back.batteries[0].health_percent == 60.0
    assert back.antivirus[0].product == "ClamAV" and back.antivirus[0].up_to_date is True


def test_the_fleet_table_is_in_every_format_most_urgent_first(tmp_path, windows_fleet):
    """Text, Markdown, HTML and JSON show the same fleet table: machine, owner, age, system
    and its end of support, antivirus, system disk, battery, verdict."""
    from auditor.report import load_schema

    result, report = scan(tmp_path, "--inventory", str(windows_fleet))
    assert result.exit_code == 1, result.output
    import jsonschema

    jsonschema.validate(report, load_schema())
    rows = report["fleet"]
    assert [row["hostname"] for row in rows][0] == "PC-ACCUEIL"  # no fixes, Defender off, full
    urgency = [row["urgency"] for row in rows]
    assert urgency == sorted(urgency, reverse=True)
    by_name = {row["hostname"]: row for row in rows}
    assert by_name["PC-SALLE-1"]["antivirus"] == "not_checked"
    assert by_name["PC-ACCUEIL"]["owner"] == "Accueil (Marie)"
    assert by_name["PORTABLE-TRESO"]["antivirus"] == "protected"
    assert by_name["PORTABLE-TRESO"]["battery_health_percent"] == 44.8
    assert all(row["verdict"] for row in rows)
    env = {"AUDITOR_DB": str(tmp_path / "s.db"), "AUDITOR_CONFIG": str(tmp_path / "none.toml")}
    for fmt, lang, words in (
        ("text", "en", ("The fleet, most urgent first", "Accueil", "Verdict")),
        (
            "markdown",
            "fr",
            ("## Le parc, le plus urgent d'abord", "Accueil (Marie)", "non vérifié"),
        ),
        ("html", "en", ('id="fleet"', "Bureau trésorerie", "45% of new")),
    ):
        out = tmp_path / f"report.{fmt}"
        shown = CliRunner(env=env).invoke(
            main, ["report", "--format", fmt, "--lang", lang, "--output", str(out)]
        )
        assert shown.exit_code == 0, shown.output
        text = out.read_text(encoding="utf-8")
        for word in words:
            assert word in text, (fmt, word)


def test_a_product_only_in_the_software_list_is_shown_but_judged_on_nothing(tmp_path):
    """FusionInventory writes <ANTIVIRUS> only for products registered with Windows' Security
    Center; one only installed (fusioninventory-for-glpi issue #2030: Kaspersky Endpoint
    Security in <SOFTWARES>) is named, its state unknown, and no rule guesses about it."""
    xml = (AGENTS / "windows-fusioninventory.xml").read_text(encoding="utf-8")
    start, end = xml.index("<ANTIVIRUS>"), xml.index("</ANTIVIRUS>") + len("</ANTIVIRUS>")
    software = "<SOFTWARES><NAME>Kaspersky Endpoint Security 10 for Windows</NAME></SOFTWARES>"
    folder = tmp_path / "stick"
    folder.mkdir()
    (folder / "treso.xml").write_text(xml[:start] + software + xml[end:], encoding="utf-8")
    found = read_any_inventory(folder / "treso.xml")
    assert [(a.product, a.enabled, a.source) for a in found.antivirus] == [
        ("Kaspersky", None, "software")
    ]
    result, report = scan(tmp_path, "--inventory", str(folder))
    assert "SEC001" not in fired_on(report).get("PORTABLE-TRESO", set())
    (row,) = report["fleet"]
    assert row["antivirus"] == "unknown" and row["antivirus_products"] == ["Kaspersky"]


def test_auditors_own_file_and_an_agents_file_of_one_pc_are_one_machine(tmp_path):
    """Same SMBIOS UUID, other name, other tool: one machine, the newer facts win; and
    `auditor advise --inventory` reads the agents' files too."""
    from auditor.collect.host.identity import hardware_uuid_key
    from auditor.inventory.auditor_format import auditor_inventory, write_inventory

    folder = tmp_path / "stick"
    folder.mkdir()
    glpi = json.loads((AGENTS / "windows-glpi-agent.json").read_text(encoding="utf-8"))
    (folder / "accueil-glpi.json").write_text(json.dumps(glpi), encoding="utf-8")
    older = read_any_inventory(folder / "accueil-glpi.json").host
    older.hostname, older.collected_at = "ancien-nom", "2026-01-05T10:00:00+00:00"
    older.identifiers = [hardware_uuid_key(glpi["content"]["hardware"]["uuid"])]
    doc = auditor_inventory(older, generated_at=datetime(2026, 1, 5, 10, tzinfo=UTC))
    write_inventory(doc, folder / "accueil-auditor.json")
    result, report = scan(tmp_path, "--inventory", str(folder))
    assert [host["hostname"] for host in report["hosts"]] == ["PC-ACCUEIL"]
    advised = CliRunner().invoke(
        main, ["advise", "--inventory", str(folder), "--format", "json", "--lang", "fr"]
    )
    assert advised.exit_code == 0, advised.output
    assert len(json.loads(advised.stdout)["machines"]) == 1

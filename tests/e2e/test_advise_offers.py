"""A board pastes offers and gets a ranked answer beside the machines it owns
(`auditor advise --offer/--offers --inventory`), in French and English, in every format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.host.records import HardwareFacts
from auditor.inventory.auditor_format import auditor_inventory, write_inventory
from tests.e2e.test_machines import host

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "offers.csv"
T480 = "ThinkPad T480, i5-8350U, 8 Go, SSD 256 Go, 249 €, reconditionné"
NEW = "HP 15, Ryzen 5 7530U, 16 Go, SSD 512 Go, 649 €, neuf"


@pytest.fixture
def owned(tmp_path) -> Path:
    """Two machines owned, as inventory files on a USB stick: a 2018 desktop short of
    memory (upgrade), a 2014 desktop on Windows 10 that cannot run Windows 11 (free OS)."""
    folder = tmp_path / "usb"
    folder.mkdir()
    today = datetime.now(UTC)
    machines = {
        "pc-compta": (
            host(
                "pc-compta",
                "Windows",
                "Windows 11 Pro 25H2",
                "10.0.26200",
                4,
                256,
                False,
                "Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz",
            ),
            HardwareFacts(
                vendor="Dell Inc.", model="OptiPlex 5060", chassis="desktop", cpu_launch_year=2017
            ),
        ),
        "pc-accueil": (
            host(
                "pc-accueil",
                "Windows",
                "Windows 10 Pro 22H2",
                "10.0.19045",
                8,
                500,
                False,
                "Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz",
            ),
            HardwareFacts(
                vendor="Dell Inc.",
                model="OptiPlex 3020",
                chassis="desktop",
                cpu_launch_year=2014,
                uefi=True,
                secure_boot=False,
                tpm_version="1.2",
            ),
        ),
    }
    for name, (facts, hardware) in machines.items():
        doc = auditor_inventory(facts, hardware=hardware, generated_at=today)
        write_inventory(doc, folder / f"{name}.json")
    return folder


def advise(*args: str):
    return CliRunner().invoke(main, ["advise", *args])


def test_a_board_gets_a_ranked_answer_in_french_with_what_it_owns(owned) -> None:
    result = advise("--offer", T480, "--offer", NEW, "--inventory", str(owned), "--lang", "fr")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Avant d'acheter : les offres côte à côte avec ce que vous avez")
    # keeping what it owns (a free OS on one, memory in the other) beats buying
    assert "Meilleur choix : pc-accueil (déjà possédé) — 0 kg CO2e et 0 € par année utile" in out
    assert "kg CO2e par année utile" in out and "€ par année utile" in out
    titles = ("pc-accueil", "pc-compta", "ThinkPad T480", "HP 15")
    order = [out.index(f"\n{name} (") for name in titles]
    assert order == sorted(order)
    assert "pc-accueil (déjà possédé) — n° 1 : répond aux besoins avec un système libre" in out


def test_json_ranks_the_offers_of_the_example_file_beside_the_machines(owned) -> None:
    result = advise(
        "--offers", str(EXAMPLE), "--inventory", str(owned), "--format", "json", "--lang", "en"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    verdicts = {c["name"]: (c["verdict"], c["rank"]) for c in doc["candidates"]}
    assert verdicts["pc-accueil"] == ("free-os", 1)
    assert verdicts["pc-compta"] == ("upgrade", 2)
    assert verdicts["Lenovo IdeaPad 1"] == ("short", None)
    assert verdicts["Dell OptiPlex 3050 SFF"][0] == "free-os"
    assert verdicts["HP 15 (2024)"][0] == "buy"
    ranks = [c["rank"] for c in doc["candidates"] if c["rank"] is not None]
    assert ranks == list(range(1, len(ranks) + 1))
    new = next(c for c in doc["candidates"] if c["name"] == "HP 15 (2024)")
    assert new["kg_co2e"] == [175.0, 182.6] and new["useful_years"] == [4.0, 5.0]
    assert new["cpu"]["source"].startswith("https://")


@pytest.mark.parametrize(("fmt", "marker"), [("markdown", "| Verdict |"), ("html", "<table>")])
def test_markdown_and_html_lay_the_candidates_side_by_side(tmp_path, fmt, marker) -> None:
    out = tmp_path / f"offers.{fmt}"
    result = advise("--offers", str(EXAMPLE), "--no-host", "--format", fmt, "--output", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert marker in text and "Lenovo ThinkPad T480" in text


def test_an_unknown_processor_is_a_line_of_the_answer(tmp_path) -> None:
    result = advise(
        "--offer", "Mystère 14, Snapdragon X Elite, 16 Go, 512 Go SSD, 899 €, neuf",
        "--offer", T480, "--no-host", "--lang", "fr",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Le processeur « Snapdragon X Elite » n'est pas dans la table d'auditor" in result.stdout
    assert "processeur inconnu : impossible de juger" in result.stdout


@pytest.mark.parametrize(
    ("content", "english", "french"),
    [
        (
            "name,cpu,ram_gb,storage_gb,storage_type,condition\nA,i5-8350U,8,256,ssd,new\n",
            "offers.csv: missing column(s) price_eur; the first line",
            "offers.csv : colonne(s) manquante(s) price_eur ;",
        ),
        (
            "name,cpu,ram_gb,storage_gb,storage_type,price_eur,condition\n"
            "A,i5-8350U,8,256,ssd,249,90,refurbished\n",
            "offers.csv:2: 8 fields on this line where the header has 7: put a price with a comma",
            "offers.csv:2 : 8 champs sur cette ligne alors que l'en-tête en a 7",
        ),
    ],
)
def test_an_unreadable_csv_is_one_line_and_exit_2(tmp_path, content, english, french) -> None:
    path = tmp_path / "offers.csv"
    path.write_text(content, encoding="utf-8")
    for lang, expected in (("en", english), ("fr", french)):
        result = advise("--offers", str(path), "--no-host", "--lang", lang)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr
        assert "Traceback" not in result.output

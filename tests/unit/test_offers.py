"""Offers a board weighs (`advise --offer/--offers`): read from free text and CSV, then judged
side by side with a machine already owned, one verdict each."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from auditor.advise import advise
from auditor.collect.host.machine import Machine
from auditor.collect.host.records import DiskFacts, HardwareFacts, HostFacts
from auditor.compare import compare, render_html, render_markdown, render_text, to_json
from auditor.derive import derive
from auditor.errors import ConfigError
from auditor.offers import Offer, parse_offer_text, read_offers_csv
from tests.helpers import assert_config_error_line, raised_error

TODAY = date(2026, 12, 6)
NEEDS = ["office", "video-calls"]
ROOT = Path(__file__).resolve().parents[2]
GIB = 1024**3

GOOD_DEAL = "ThinkPad T480, i5-8350U, 8 GB, 256 GB SSD, 249 €, refurbished"
TOO_CHEAP = "Lenovo IdeaPad 1, Celeron N4020, 4 Go, 64 Go eMMC, 229 €, neuf"
NEW_LAPTOP = "HP 15, Ryzen 5 7530U, 16 Go, SSD 512 Go, 649 €, neuf"
FREE_OS_ONLY = "Dell OptiPlex 3050, i5-7500, 8 Go, 256 Go SSD, 139 €, reconditionné"
UNKNOWN_CPU = "Mystère 14, Snapdragon X Elite, 16 Go, 512 Go SSD, 899 €, neuf"


def owned_desktop(ram_gib: int = 4) -> Machine:
    """A 2018 office desktop on Windows 11 with too little memory: a module fixes it."""
    host = HostFacts(
        hostname="pc-compta",
        os_name="Windows",
        os_version="Windows 11 Pro 25H2",
        os_release="10.0.26200",
        cpu_model="Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz",
        cpu_cores_physical=6,
        cpu_cores_logical=6,
        ram_bytes=ram_gib * GIB,
        boot_time="2026-12-01T08:00:00+00:00",
        battery_present=False,
        battery_percent=None,
        disks=[DiskFacts("C:\\", "disk0", "ntfs", 256 * 10**9, 100 * 10**9, False, True)],
    )
    hardware = HardwareFacts(
        vendor="Dell Inc.", model="OptiPlex 5060", chassis="desktop", cpu_launch_year=2017
    )
    return derive(Machine(host, hardware, [], []), TODAY)


def judged(*texts: str, owned: list[Machine] | None = None, lang: str = "en"):
    machines = owned or []
    pairs = [(m, advise(m, NEEDS, lang)) for m in machines]
    result = compare([parse_offer_text(t) for t in texts], pairs, NEEDS, lang, TODAY)
    return {c.label: c for c in result.candidates}, result


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------


def test_the_boards_line_is_read_whole() -> None:
    offer = parse_offer_text(GOOD_DEAL)
    assert offer == Offer(
        name="ThinkPad T480",
        cpu="i5-8350U",
        ram_gb=8,
        storage_gb=256,
        storage_type="ssd",
        price_eur=249,
        condition="refurbished",
        chassis="laptop",
    )


@pytest.mark.parametrize(
    ("text", "price"),
    [
        ("PC, i5-8350U, 8 Go, 249,90 €", 249.9),
        ("PC, i5-8350U, 8 GB, 249.90 EUR", 249.9),
        ("PC, i5-8350U, 8 GB, 1 299 €", 1299.0),
        ("PC, i5-8350U, 8 GB, €249", 249.0),
    ],
)
def test_a_price_with_a_comma_or_a_dot_is_read(text: str, price: float) -> None:
    assert parse_offer_text(text).price_eur == price


def test_a_french_line_without_commas_is_read_too() -> None:
    offer = parse_offer_text(
        "PC portable reconditionné i5 8e génération 8 Go SSD 256 Go 249,90 EUR garantie 1 an 2018"
    )
    assert (offer.ram_gb, offer.storage_gb, offer.storage_type) == (8, 256, "ssd")
    assert (offer.price_eur, offer.condition, offer.warranty_years, offer.year) == (
        249.9,
        "refurbished",
        1,
        2018,
    )


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def test_the_example_file_reads_five_offers() -> None:
    offers = read_offers_csv(ROOT / "examples" / "offers.csv")
    assert [o.condition for o in offers] == [
        "refurbished",
        "new",
        "new",
        "refurbished",
        "refurbished",
    ]
    assert offers[4].price_eur == 599.0  # "599,00", quoted


def test_a_french_spreadsheets_semicolons_and_decimal_commas_are_read(tmp_path) -> None:
    path = tmp_path / "offres.csv"
    path.write_bytes(
        "name;cpu;ram_gb;storage_gb;storage_type;price_eur;condition\n"
        "T480;i5-8350U;8;256;SSD;249,90 €;reconditionné\n".encode("cp1252")
    )
    (offer,) = read_offers_csv(path)
    assert (offer.price_eur, offer.condition, offer.storage_type) == (249.9, "refurbished", "ssd")


@pytest.mark.parametrize(
    ("content", "key"),
    [
        (
            "name,cpu,ram_gb,storage_gb,storage_type,condition\nA,i5-8350U,8,256,ssd,new\n",
            "missing_column",
        ),
        (
            "name,cpu,ram_gb,storage_gb,storage_type,price_eur,condition\n"
            "A,i5-8350U,8,256,ssd,249,90,refurbished\n",
            "fields",
        ),
        (
            "name,cpu,ram_gb,storage_gb,storage_type,price_eur,condition\n"
            "A,i5-8350U,huit,256,ssd,249,new\n",
            "number",
        ),
        (
            "name,cpu,ram_gb,storage_gb,storage_type,price_eur,condition\n"
            "A,i5-8350U,8,256,ssd,249,broken\n",
            "choice",
        ),
        ("name,cpu,ram_gb,storage_gb,storage_type,price_eur,condition\n", "empty"),
    ],
)
def test_a_bad_csv_is_one_clear_line_in_both_languages(tmp_path, content: str, key: str) -> None:
    path = tmp_path / "offers.csv"
    path.write_text(content, encoding="utf-8")
    error = raised_error(lambda: read_offers_csv(path), ConfigError)
    assert error.key == f"advise.error.offers_{key}"
    assert_config_error_line(error)
    assert str(path) in str(error)
    if key in ("fields", "number", "choice"):
        assert str(error).startswith(f"{path}:2: ")  # the line to fix


def test_a_missing_file_is_one_line() -> None:
    error = raised_error(lambda: read_offers_csv(Path("/nonexistent/offers.csv")), ConfigError)
    assert error.key == "advise.error.offers_unreadable"
    assert_config_error_line(error)


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------


def test_a_good_refurbished_deal_comes_first() -> None:
    cands, result = judged(GOOD_DEAL, NEW_LAPTOP)
    deal, new = cands["ThinkPad T480"], cands["HP 15"]
    assert (deal.verdict, deal.rank, new.verdict, new.rank) == ("buy", 1, "buy", 2)
    assert deal.kg_per_year[1] < new.kg_per_year[0] + new.kg_per_year[1]
    assert deal.euros_per_year[1] < new.euros_per_year[0]
    assert deal.os_plan == "windows11"


def test_a_cheap_machine_that_will_not_hold_a_video_call_is_said_so() -> None:
    cands, _ = judged(TOO_CHEAP)
    cheap = cands["Lenovo IdeaPad 1"]
    assert (cheap.verdict, cheap.rank, cheap.meets) == ("short", None, False)
    assert {p.key for p in cheap.missed} == {
        "advise.offers.need.ram_short",
        "advise.offers.need.storage_short",
        "advise.offers.need.ssd_emmc",
    }
    assert "video calls" in cheap.missed[0].localized("en")


def test_a_new_machine_weighs_more_per_useful_year_than_upgrading_the_one_we_have() -> None:
    cands, result = judged(NEW_LAPTOP, owned=[owned_desktop()])
    kept, new = cands["pc-compta"], cands["HP 15"]
    assert kept.verdict == "upgrade" and kept.facts["actions"] == ["ram"]
    assert kept.rank == 1 and new.rank == 2
    assert kept.kg_per_year[1] < new.kg_per_year[0]  # even the worst case of the upgrade
    assert kept.euros_per_year[1] < new.euros_per_year[0]
    assert render_text(result, "en").splitlines()[3].startswith("Best choice: pc-compta")


def test_an_offer_that_cannot_run_windows_11_runs_a_free_os_well() -> None:
    cands, _ = judged(FREE_OS_ONLY)
    dell = cands["Dell OptiPlex 3050"]
    assert (dell.verdict, dell.rank, dell.os_plan, dell.cpu.windows11) == (
        "free-os",
        1,
        "free-os",
        "no",
    )
    assert dell.chassis == "desktop"
    assert "advise.offers.os.no_windows11" in {p.key for p in dell.notes}


def test_an_unknown_processor_is_a_line_of_the_answer_not_a_guess() -> None:
    cands, result = judged(UNKNOWN_CPU, GOOD_DEAL)
    mystery = cands["Mystère 14"]
    assert (mystery.verdict, mystery.rank, mystery.cpu, mystery.useful_years) == (
        "unknown",
        None,
        None,
        None,
    )
    assert mystery.unknown[0].key == "advise.offers.need.cpu_unknown"
    assert result.candidates[-1] is mystery
    assert "Snapdragon X Elite" in render_text(result, "fr")


def test_a_mac_is_useful_only_while_macos_is_updated() -> None:
    cands, _ = judged("MacBook Air M1, 8 Go, 256 Go SSD, 599 €, reconditionné")
    mac = cands["MacBook Air M1"]
    assert mac.os_plan == "macos" and mac.os_years == (1.0, 3.0)
    assert mac.useful_years == (1.0, 3.0)


def test_every_format_says_the_same_answer_in_both_languages() -> None:
    texts = (GOOD_DEAL, TOO_CHEAP, NEW_LAPTOP, FREE_OS_ONLY, UNKNOWN_CPU)
    for lang in ("en", "fr"):
        _, result = judged(*texts, owned=[owned_desktop()], lang=lang)
        outputs = [
            render_text(result, lang),
            render_markdown(result, lang),
            render_html(result, lang),
        ]
        for out in outputs:
            assert "{" not in out.replace("{border", "").replace("{{", "")
            assert "advise.offers" not in out
            for c in result.candidates:
                assert c.label in out or c.label.replace("è", "&#x27;") in out
        doc = to_json(result, lang)
        assert [c["verdict"] for c in doc["candidates"]] == [
            "upgrade",
            "buy",
            "free-os",
            "buy",
            "short",
            "unknown",
        ]
    assert "Meilleur choix : pc-compta (déjà possédé)" in render_text(result, "fr")


def test_html_escapes_what_the_offer_says() -> None:
    _, result = judged("<script>alert(1)</script>, i5-8350U, 8 GB, 256 GB SSD, 249 €, refurbished")
    page = render_html(result, "en")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_every_useful_years_range_names_its_source() -> None:
    from auditor.compare import useful_years_table

    table = useful_years_table()
    assert set(table) == {"refurbished", "keep", "oldest", "macos", "free_os"}
    for name, entry in table.items():
        assert entry["source"].strip(), name
    for name in ("refurbished", "keep"):
        low, high = table[name]["years"]
        assert 0 < low <= high, name

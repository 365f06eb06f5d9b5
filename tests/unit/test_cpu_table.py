"""The processor table behind `advise --offer`: sourced rows, Windows 11 verdicts that follow
Microsoft's lists, and free-text names recognised, never guessed."""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files

import pytest

from auditor.collect.host.cpu_models import (
    WINDOWS11_VALUES,
    cpu_models,
    intel_generation,
    model_key,
    recognise_cpu,
)
from auditor.collect.host.os_support import cpu_supports_windows11

# The pages each row's year, cores and threads were checked against.
SOURCES = re.compile(r"^https://en\.wikipedia\.org/wiki/[A-Za-z0-9_().%-]+$")
MICROSOFT_LISTS = (
    "https://learn.microsoft.com/windows-hardware/design/minimum/supported/windows-11-supported-intel-processors",
    "https://learn.microsoft.com/windows-hardware/design/minimum/supported/windows-11-supported-amd-processors",
)
# Models on Microsoft's lists only for some devices (the lists' own exceptions).
SELECT_DEVICES = {"i7-7820hq"}
# Read on Microsoft's lists (above): on them, and not on them.
ON_THE_LISTS = (
    "Intel Core i5-8350U",
    "Intel Core i5-1135G7",
    "Intel Core i5-10400",
    "Intel Celeron N4020",
    "Intel Pentium Silver N5030",
    "AMD Ryzen 5 2600",
    "AMD Ryzen 5 3500U",
    "AMD Ryzen 5 5500U",
    "AMD Athlon Gold 3150U",
)
NOT_ON_THE_LISTS = (
    "Intel Core i5-7200U",
    "Intel Core i7-6600U",
    "Intel Core i5-7500",
    "Intel Celeron N3350",
    "AMD Ryzen 5 2500U",  # Raven Ridge: first-generation Zen under a 2000 name
    "AMD Ryzen 5 2400G",
)


def _raw_rows() -> list[dict]:
    text = files("auditor.collect.host").joinpath("cpu_models.toml").read_text("utf-8")
    return tomllib.loads(text)["model"]


def test_every_row_has_its_source_and_sane_facts() -> None:
    rows = _raw_rows()
    assert len(cpu_models()) == len(rows), "two rows give the same model number"
    for row in rows:
        assert SOURCES.match(row["source"]), row
        assert 2015 <= row["year"] <= 2025, row
        assert 1 <= row["cores"] <= row["threads"] <= 32, row
        assert row["segment"] in ("laptop", "desktop", "either"), row
        assert row["windows11"] in WINDOWS11_VALUES and row["windows11"] != "unknown", row


def test_the_table_cites_microsofts_processor_lists() -> None:
    text = files("auditor.collect.host").joinpath("cpu_models.toml").read_text("utf-8")
    for url in MICROSOFT_LISTS:
        assert url in text


def test_each_windows_11_verdict_matches_microsofts_rule() -> None:
    """Intel Core 8th generation and later, Ryzen 2000 (Zen+) and later but for the 2000 APUs,
    the small Intel parts from Gemini Lake on; Apple silicon is not a Windows PC."""
    for key, row in cpu_models().items():
        if row.windows11 == "not-applicable":
            assert key.startswith("apple m"), row
        elif row.windows11 == "select-devices":
            assert key in SELECT_DEVICES, row
        else:
            assert (row.windows11 == "yes") is cpu_supports_windows11(row.name), row
        generation = intel_generation(key)
        if generation is not None and key not in SELECT_DEVICES:
            assert (row.windows11 == "yes") is (generation >= 8), row


@pytest.mark.parametrize("name", ON_THE_LISTS)
def test_a_processor_on_microsofts_list_runs_windows_11(name: str) -> None:
    assert recognise_cpu(name).windows11 == "yes"


@pytest.mark.parametrize("name", NOT_ON_THE_LISTS)
def test_a_processor_not_on_microsofts_list_does_not(name: str) -> None:
    assert recognise_cpu(name).windows11 == "no"


def test_the_table_covers_what_refurbished_offers_carry() -> None:
    keys = set(cpu_models())
    generations = {intel_generation(k) for k in keys} - {None}
    assert set(range(6, 14)) <= generations
    for generation in range(6, 14):
        segments = {
            row.segment for k, row in cpu_models().items() if intel_generation(k) == generation
        }
        assert segments == {"laptop", "desktop"}, generation
    ryzen_series = {int(m[1]) for k in keys if (m := re.match(r"ryzen \d (\d)", k))}
    assert set(range(2, 8)) <= ryzen_series
    assert {"apple m1", "apple m2", "apple m3"} <= keys
    assert any(k.startswith("athlon") for k in keys)
    assert {"n4020", "n4120", "n100"} <= keys


@pytest.mark.parametrize(
    ("text", "name", "year", "cores", "threads"),
    [
        ("i5-8350U", "Intel Core i5-8350U", 2017, 4, 8),
        ("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", "Intel Core i5-8250U", 2017, 4, 8),
        ("Ryzen 5 5500U", "AMD Ryzen 5 5500U", 2021, 6, 12),
        ("AMD Ryzen 5 PRO 4650U", "AMD Ryzen 5 4650U", 2020, 6, 12),
        ("Apple M1", "Apple M1", 2020, 8, 8),
        ("MacBook Air M2", "Apple M2", 2022, 8, 8),
        ("Celeron N4020", "Intel Celeron N4020", 2019, 2, 2),
        ("Intel N100", "Intel Processor N100", 2023, 4, 4),
    ],
)
def test_free_text_names_are_recognised(text, name, year, cores, threads) -> None:
    found = recognise_cpu(text)
    assert (found.name, found.precision, found.year, found.cores, found.threads) == (
        name,
        "model",
        year,
        cores,
        threads,
    )


def test_a_generation_is_summarised_from_its_models_as_at_least() -> None:
    for text in ("Intel Core i5 8th gen", "Core i5 de 8e génération"):
        found = recognise_cpu(text)
        assert found.precision == "generation" and found.generation == 8
        assert (found.year, found.cores, found.windows11) == (2017, 4, "yes")


def test_a_model_outside_the_table_gets_its_familys_year_and_no_core_count() -> None:
    found = recognise_cpu("Intel Core i5-8210Y")
    assert found.precision == "family" and found.year == 2017 and found.cores is None
    assert found.windows11 == "yes"
    assert recognise_cpu("Celeron N2840").windows11 == "no"


@pytest.mark.parametrize(
    "text", ["Snapdragon X Elite", "Intel Core i5", "M2 SSD 512", "processeur rapide", "", None]
)
def test_an_unknown_processor_is_unknown_not_guessed(text) -> None:
    assert recognise_cpu(text) is None


def test_each_row_name_reads_back_to_its_own_row() -> None:
    for key, row in cpu_models().items():
        assert model_key(row.name) == key
        assert recognise_cpu(row.name).name == row.name

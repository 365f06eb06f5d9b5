"""The purchase advisor: one verdict per machine, reasons in both languages, priced actions."""

from __future__ import annotations

import json
from datetime import date

import pytest

from auditor.advise import (
    MINIMUM_KEYS,
    VERDICTS,
    UnknownNeedError,
    advice_to_dict,
    advise,
    combined_minimums,
    render_advice_text,
)
from auditor.collect.host.machine import Machine
from auditor.collect.host.records import BatteryFacts, DiskFacts, HardwareFacts, HostFacts
from auditor.derive import derive
from auditor.errors import ConfigError
from auditor.impact import manufacturing_co2e_kg
from auditor.impact.needs import load_profiles
from auditor.rules.loader import load_rules
from tests.helpers import assert_catalog_line, raised_error

TODAY = date(2026, 11, 27)
GIB = 1024**3
GB = 1_000_000_000


def machine(
    *,
    os_name: str = "Linux",
    os_version: str = "Debian GNU/Linux 12 (bookworm)",
    os_release: str = "6.1.0-18-amd64",
    cpu: str = "Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz",
    cores: int = 4,
    ram_gib: float = 16,
    disk_gb: int = 512,
    rotational: bool | None = False,
    chassis: str = "laptop",
    vendor: str = "LENOVO",
    launch_year: int | None = 2017,
    tpm: str | None = "2.0",
    secure_boot: bool | None = True,
    uefi: bool | None = True,
    battery: tuple[float, float] | None = (57.0, 52.0),
) -> Machine:
    host = HostFacts(
        hostname="pc-test",
        os_name=os_name,
        os_version=os_version,
        os_release=os_release,
        cpu_model=cpu,
        cpu_cores_physical=cores,
        cpu_cores_logical=cores * 2,
        ram_bytes=int(ram_gib * GIB),
        boot_time=None,
        battery_present=battery is not None,
        battery_percent=80.0 if battery else None,
        disks=[
            DiskFacts("/", "/dev/sda2", "ext4", disk_gb * GB, disk_gb * GB // 3, rotational, True)
        ],
    )
    hardware = HardwareFacts(
        vendor=vendor,
        model="ThinkPad T480" if chassis == "laptop" else "OptiPlex 3020",
        chassis=chassis,
        cpu_launch_year=launch_year,
        uefi=uefi,
        secure_boot=secure_boot,
        tpm_version=tpm,
    )
    batteries = [BatteryFacts("BAT0", battery[0], battery[1], 300)] if battery else []
    return derive(Machine(host, hardware, [], batteries), TODAY)


def kinds(advice) -> list[str]:
    return [a["kind"] for a in advice.actions]


# --------------------------------------------------------------------------------------------
# Each verdict
# --------------------------------------------------------------------------------------------


def test_keep_when_nothing_is_missing() -> None:
    advice = advise(machine(), ["office", "video-calls"], "en")
    assert advice.verdict == "keep"
    assert advice.actions == []
    assert advice.euros_low == advice.euros_high == 0
    assert "as it is" in advice.reasons[0]
    # keeping avoids the whole laptop manufacturing footprint
    laptop = manufacturing_co2e_kg("laptop")
    assert (advice.co2e_new_kg_low, advice.co2e_new_kg_high) == laptop
    assert (advice.co2e_avoided_kg_low, advice.co2e_avoided_kg_high) == laptop


def test_upgrade_ram_and_ssd_on_a_desktop() -> None:
    desk = machine(
        chassis="desktop",
        vendor="Dell Inc.",
        ram_gib=2,
        rotational=True,
        disk_gb=500,
        battery=None,
    )
    advice = advise(desk, ["office"], "en")
    assert advice.verdict == "upgrade"
    assert kinds(advice) == ["ram", "ssd"]
    ram = advice.actions[0]
    assert ram["check"] is False  # a desktop takes modules
    prices = load_profiles()["prices"]
    assert advice.euros_low == prices["ram"][0] + prices["ssd"][0]
    assert advice.euros_high == prices["ram"][1] + prices["ssd"][1]
    desktop = manufacturing_co2e_kg("desktop")
    assert (advice.co2e_new_kg_low, advice.co2e_new_kg_high) == desktop
    assert 0 < advice.co2e_avoided_kg_low < advice.co2e_avoided_kg_high < desktop[1]
    assert any("spinning" in r for r in advice.reasons)


def test_laptop_ram_is_a_check() -> None:
    advice = advise(machine(ram_gib=4), ["video-calls"], "en")
    assert advice.verdict == "upgrade"
    assert advice.actions[0]["kind"] == "ram"
    assert advice.actions[0]["check"] is True
    assert "soldered" in advice.reasons[0]


def test_upgrade_battery() -> None:
    advice = advise(machine(battery=(57.0, 25.0)), ["office"], "en")
    assert advice.verdict == "upgrade"
    assert kinds(advice) == ["battery"]
    assert any("44" in r and "%" in r for r in advice.reasons)


def test_free_os_for_windows_10_not_ready_for_11() -> None:
    old = machine(
        os_name="Windows",
        os_version="Windows 10 Pro 22H2",
        os_release="10.0.19045",
        cpu="Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz",
        launch_year=2014,
        tpm="1.2",
        chassis="desktop",
        battery=None,
    )
    assert old.support is not None and old.support.supported is False
    assert old.readiness is not None and old.readiness.ready is False
    advice = advise(old, ["office"], "fr")
    assert advice.verdict == "free-os"
    assert kinds(advice) == ["os"]
    assert advice.euros_low == advice.euros_high == 0
    assert any("Linux" in r and "Windows 11" in r for r in advice.reasons)


def test_windows_10_ready_for_11_is_not_free_os() -> None:
    ready = machine(os_name="Windows", os_version="Windows 10 Pro 22H2", os_release="10.0.19045")
    assert ready.readiness is not None and ready.readiness.ready is True
    advice = advise(ready, ["office"], "en")
    assert advice.verdict == "keep"
    assert kinds(advice) == ["os"]
    assert any("move to Windows 11" in r for r in advice.reasons)


def test_free_os_for_an_unsupported_macos() -> None:
    mac = machine(
        os_name="Darwin",
        os_version="macOS 12.7.6",
        os_release="21.6.0",
        cpu="Intel(R) Core(TM) i5-5350U CPU @ 1.80GHz",
        cores=2,
        launch_year=2015,
        vendor="Apple Inc.",
        ram_gib=8,
    )
    assert mac.support is not None and mac.support.supported is False
    advice = advise(mac, ["office"], "en")
    assert advice.verdict == "free-os"


def test_refurbished_when_the_processor_is_too_old() -> None:
    old = machine(cpu="Intel(R) Core(TM)2 Duo CPU E8400 @ 3.00GHz", cores=2, launch_year=2008)
    advice = advise(old, ["office"], "en")
    assert advice.verdict == "refurbished"
    assert kinds(advice) == ["replace"]
    prices = load_profiles()["prices"]
    assert [advice.euros_low, advice.euros_high] == prices["refurbished_laptop"]
    text = " ".join(advice.reasons)
    assert "2008" in text and "2011" in text
    assert "4 GB of RAM" in text and "SSD of 120 GB" in text  # the minimum specs are said
    low, high = manufacturing_co2e_kg("laptop")
    assert advice.co2e_avoided_kg_low == pytest.approx(low * 0.43, abs=0.1)
    assert advice.co2e_avoided_kg_high == pytest.approx(high * 0.97, abs=0.1)


def test_soldered_ram_on_a_mac_laptop_means_replace() -> None:
    mac = machine(
        os_name="Darwin",
        os_version="macOS 14.6",
        os_release="23.6.0",
        vendor="Apple Inc.",
        ram_gib=8,
        launch_year=2020,
        cpu="Apple M1",
        cores=8,
    )
    advice = advise(mac, ["video-calls", "video-editing"], "en")
    assert advice.verdict in ("refurbished", "new")
    assert any("soldered" in r for r in advice.reasons)


def test_new_only_for_video_editing_far_below_the_floor() -> None:
    old = machine(cpu="Intel(R) Core(TM) i3-3217U CPU @ 1.80GHz", cores=2, launch_year=2012)
    advice = advise(old, ["video-editing"], "en")
    assert advice.verdict == "new"
    assert kinds(advice) == ["replace"]
    assert [advice.euros_low, advice.euros_high] == load_profiles()["prices"]["new_workstation"]
    assert advice.co2e_avoided_kg_low == advice.co2e_avoided_kg_high == 0
    assert any("refurbished" in r and "16 GB" in r for r in advice.reasons)
    # the same machine for office use is a refurbished case, not new
    assert advise(old, ["office", "video-calls"], "en").verdict == "refurbished"


def test_unknown_need_is_refused() -> None:
    with pytest.raises(UnknownNeedError):
        advise(machine(), ["gaming"], "en")
    with pytest.raises(UnknownNeedError):
        advise(machine(), [], "en")


def test_unknown_facts_say_check_not_replace() -> None:
    advice = advise(machine(launch_year=None, rotational=None), ["office"], "en")
    assert advice.verdict == "keep"
    assert any("check" in r for r in advice.reasons)


# --------------------------------------------------------------------------------------------
# Languages, JSON, text
# --------------------------------------------------------------------------------------------


def test_both_languages() -> None:
    desk = machine(chassis="desktop", ram_gib=2.5, rotational=True, battery=None)
    en = advise(desk, ["office"], "en")
    fr = advise(desk, ["office"], "fr")
    assert en.verdict == fr.verdict == "upgrade"
    assert en.reasons != fr.reasons
    assert "mémoire vive" in " ".join(fr.reasons)
    text = render_advice_text([fr], "fr")
    assert "améliorer" in text and "€" in text and "kg éq. CO2" in text
    assert "2,5 Go" in " ".join(fr.reasons)  # French decimal comma
    text_en = render_advice_text([en], "en")
    assert "upgrade" in text_en and "kg CO2e" in text_en and "€" in text_en


def test_json_dict_shape() -> None:
    advice = advise(machine(ram_gib=3.8, rotational=True), ["office", "photo"], "en")
    data = advice_to_dict(advice)
    json.dumps(data)  # serialisable
    assert set(data) == {
        "hostname",
        "verdict",
        "reasons",
        "actions",
        "euros_low",
        "euros_high",
        "co2e_avoided_kg_low",
        "co2e_avoided_kg_high",
        "co2e_new_kg_low",
        "co2e_new_kg_high",
        "needs",
        "reason_keys",
    }
    assert len(data["reason_keys"]) == len(data["reasons"])
    assert data["verdict"] in VERDICTS
    assert data["needs"] == ["office", "photo"]
    for item in data["actions"]:
        assert item["kind"] in ("ram", "ssd", "battery", "os", "replace")
        assert item["euros_low"] <= item["euros_high"]


# --------------------------------------------------------------------------------------------
# The data file
# --------------------------------------------------------------------------------------------


def test_every_minimum_has_a_source() -> None:
    data = load_profiles()
    assert set(data["profiles"]) == {"office", "video-calls", "photo", "video-editing"}
    for name, profile in data["profiles"].items():
        for key in MINIMUM_KEYS:
            assert key in profile, f"{name}: {key} missing"
            assert profile["sources"].get(key, "").strip(), f"{name}: no source for {key}"


def test_prices_have_sources_and_footprints_come_from_the_impact_model() -> None:
    from auditor.impact import FIGURES, manufacturing_co2e_kg

    data = load_profiles()
    assert data["refurbished"]["source"].strip()
    assert "footprints" not in data  # one place holds every figure: auditor/impact.py
    for key, value in data["prices"].items():
        if key == "sources":
            continue
        low, high = value
        assert 0 <= low <= high, f"prices.{key}"
        assert data["prices"]["sources"].get(key, "").strip(), f"prices.{key}: no source"
    assert manufacturing_co2e_kg("laptop") == (175.0, 182.6)
    for part in ("ram", "ssd", "battery"):
        low, high = manufacturing_co2e_kg(part)
        assert 0 < low <= high and FIGURES[f"manufacturing_{part}_low"].source


def test_every_profile_and_verdict_has_a_label() -> None:
    from auditor.i18n import catalog

    for lang in ("en", "fr"):
        keys = catalog(lang)
        for name in load_profiles()["profiles"]:
            assert f"advise.profile.{name}" in keys
        for verdict in VERDICTS:
            assert f"advise.verdict.{verdict}" in keys


# --------------------------------------------------------------------------------------------
# One threshold for every reader: `advise`, the rules and the Windows 11 readiness check
# --------------------------------------------------------------------------------------------


def _hw005_batteries(tmp_path, laptop: Machine) -> list:
    from auditor.rules.engine import run_rules
    from auditor.store import open_store, writes

    path = tmp_path / "s.db"
    conn = open_store(path)
    run = writes.start_run(conn)
    writes.insert_machine(conn, run, laptop)
    conn.close()
    rules = [r for r in load_rules().rules if r.id == "HW005"]
    findings, errors = run_rules(path, run, rules, now="2026-11-01T00:00:00+00:00")
    assert errors == []
    return [row["health_percent"] for f in findings for row in f.evidence]


def test_a_config_override_of_the_worn_battery_threshold_moves_advise_and_rule_hw005_alike(
    tmp_path,
) -> None:
    from auditor.impact import override_figures, reset_figures

    laptop = machine(battery=(57.0, 31.0))  # 54 % of its design capacity
    assert "battery" in kinds(advise(laptop, ["office"], "en"))
    assert _hw005_batteries(tmp_path / "a", laptop) == [54.4]
    try:
        override_figures({"battery_worn_percent": 50})  # what `[impact]` in the config does
        assert "battery" not in kinds(advise(laptop, ["office"], "en"))
        assert _hw005_batteries(tmp_path / "b", laptop) == []
    finally:
        reset_figures()


def test_one_reported_size_margin_for_advise_and_windows11_readiness() -> None:
    from auditor.impact import override_figures, reset_figures

    def windows10(ram_gib: float) -> Machine:
        return machine(
            os_name="Windows",
            os_version="Windows 10 Pro",
            os_release="10",
            ram_gib=ram_gib,
            chassis="desktop",
            battery=None,
        )

    # 4 GB installed, 3.5 GiB reported (graphics keep some): enough for both by default
    pc = windows10(3.5)
    assert "ram" not in pc.readiness.blockers
    assert "ram" not in kinds(advise(pc, ["office"], "en"))
    try:
        override_figures({"reported_size_margin": 0.9})
        pc = windows10(3.5)
        assert "ram" in pc.readiness.blockers
        assert "ram" in kinds(advise(pc, ["office"], "en"))
    finally:
        reset_figures()


# --------------------------------------------------------------------------------------------
# Advise errors are lines of the catalogue
# --------------------------------------------------------------------------------------------


def test_unknown_need_is_a_catalog_line() -> None:
    error = raised_error(lambda: combined_minimums(["gaming"], load_profiles()), UnknownNeedError)
    assert isinstance(error, ConfigError) and isinstance(error, ValueError)
    assert str(error) == (
        "unknown needs profile: gaming; known: office, video-calls, photo, video-editing"
    )
    assert error.localized("fr") == (
        "profil de besoins inconnu : gaming ; profils connus : office, video-calls, photo, "
        "video-editing"
    )
    assert_catalog_line(error.problem, "advise.error.")


def test_no_need_is_a_catalog_line() -> None:
    error = raised_error(lambda: combined_minimums([], load_profiles()), UnknownNeedError)
    assert str(error) == (
        "unknown needs profile: (none given); known: office, video-calls, photo, video-editing"
    )
    assert_catalog_line(error.problem, "advise.error.")


def test_each_reason_carries_the_same_key_in_every_language() -> None:
    en = advise(machine(ram_gib=3.8, rotational=True), ["office"], "en")
    fr = advise(machine(ram_gib=3.8, rotational=True), ["office"], "fr")
    assert en.reasons != fr.reasons  # two languages...
    assert [r["key"] for r in en.reason_keys] == [r["key"] for r in fr.reason_keys]  # one key
    assert "advise.reason.ssd_rotational" in {r["key"] for r in en.reason_keys}

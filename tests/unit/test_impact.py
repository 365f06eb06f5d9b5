"""The impact model: sourced figures, low-high estimators, config overrides."""

from __future__ import annotations

import tomllib
from importlib.resources import files

import pytest

from auditor import impact
from auditor.errors import ConfigError
from auditor.impact import (
    DEVICES,
    FIGURES,
    avoided_by_keeping_kg_per_year,
    emails_co2e_kg,
    figure,
    figures_used,
    manufacturing_co2e_kg,
    override_figures,
    refurbished_avoided_kg,
    reset_figures,
    sources_for,
    storage_co2e_kg_per_year,
    transfer_co2e_kg,
)
from tests.helpers import assert_config_error_line, raised_error

GB = 10**9


@pytest.fixture(autouse=True)
def _pristine_figures():
    reset_figures()
    yield
    reset_figures()


def test_figures_ship_inside_the_package():
    data = files("auditor.impact").joinpath("figures.toml").read_text(encoding="utf-8")
    assert {t["id"] for t in tomllib.loads(data)["figure"]} == set(FIGURES)


def test_every_figure_has_a_source_a_year_a_url_and_a_status():
    for fig in FIGURES.values():
        assert fig.source.strip(), fig.id
        assert 1990 < fig.year < 2100, fig.id
        assert fig.url.startswith("https://"), fig.id
        assert fig.status in {"verified", "secondary", "disputed", "estimate"}, fig.id
        assert fig.value >= 0, fig.id


def test_disputed_figures_say_why():
    disputed = [f for f in FIGURES.values() if f.status == "disputed"]
    assert {"storage_gb_year_high", "manufacturing_screen_high"} <= {f.id for f in disputed}
    assert all(f.note for f in disputed)


def test_every_low_figure_is_at_most_its_high_twin():
    lows = [fid for fid in FIGURES if fid.endswith("_low")]
    assert lows
    for fid in lows:
        assert figure(fid) <= figure(fid.removesuffix("_low") + "_high"), fid


def test_email_figure_warns_about_the_4_g_myth():
    assert figure("email_sent_read") == pytest.approx(0.00309)
    assert "back-of-the-envelope" in FIGURES["email_sent_read"].note


def test_one_gigabyte_stored_for_a_year_spans_ademe_to_the_us_estimate():
    assert storage_co2e_kg_per_year(GB) == pytest.approx((0.000235, 2.0))
    assert storage_co2e_kg_per_year(None) == (None, None)
    assert storage_co2e_kg_per_year(0) == (0.0, 0.0)


def test_transfer_over_mobile_costs_more_than_over_fixed():
    fixed = transfer_co2e_kg(2 * GB)
    mobile = transfer_co2e_kg(2 * GB, mobile=True)
    assert fixed == pytest.approx((0.019, 0.036))
    assert mobile == pytest.approx((0.0988, 0.100))
    assert mobile[0] > fixed[1]


def test_a_thousand_emails():
    assert emails_co2e_kg(1000) == pytest.approx((3.09, 3.09))
    assert emails_co2e_kg(0) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("laptop", (175.0, 182.6)),
        ("desktop", (204.4, 277.0)),
        ("screen", (64.7, 65.9)),
        ("smartphone", (84.0, 85.1)),
        ("tablet", (59.7, 75.9)),
    ],
)
def test_manufacturing_footprints(device, expected):
    assert manufacturing_co2e_kg(device) == pytest.approx(expected)


def test_keeping_a_laptop_two_more_years():
    # low: 175 kg over 5 y vs 7 y; high: 182.6 kg over 4 y vs 6 y
    low, high = avoided_by_keeping_kg_per_year("laptop", 2)
    assert low == pytest.approx(175 / 5 - 175 / 7)
    assert high == pytest.approx(182.6 / 4 - 182.6 / 6)
    assert low <= high


def test_keeping_a_device_no_longer_avoids_nothing():
    for device in DEVICES:
        assert avoided_by_keeping_kg_per_year(device, 0) == (0.0, 0.0)
    with pytest.raises(ValueError):
        avoided_by_keeping_kg_per_year("laptop", -1)


def test_refurbished_laptop_avoids_43_to_97_percent_of_its_footprint():
    assert refurbished_avoided_kg("laptop") == pytest.approx((0.43 * 175.0, 0.97 * 182.6))
    assert refurbished_avoided_kg("smartphone") == pytest.approx((0.64 * 84.0, 0.87 * 85.1))


def test_no_refurbished_share_is_sourced_for_screens():
    with pytest.raises(ValueError):
        refurbished_avoided_kg("screen")


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="printer"):
        manufacturing_co2e_kg("printer")


def test_every_estimator_range_is_ordered():
    checks = [storage_co2e_kg_per_year(5 * GB), transfer_co2e_kg(GB), emails_co2e_kg(7)]
    checks += [transfer_co2e_kg(GB, mobile=True)]
    for device in DEVICES:
        checks += [manufacturing_co2e_kg(device), avoided_by_keeping_kg_per_year(device, 1.5)]
        if device != "screen":
            checks.append(refurbished_avoided_kg(device))
    for low, high in checks:
        assert 0 < low <= high


def test_sources_name_existing_figures():
    assert sources_for(storage_co2e_kg_per_year) == (
        "storage_gb_year_low",
        "storage_gb_year_high",
    )
    assert sources_for(transfer_co2e_kg, mobile=True) == (
        "transfer_gb_mobile_low",
        "transfer_gb_mobile_high",
    )
    assert sources_for(emails_co2e_kg) == ("email_sent_read",)
    assert sources_for("avoided_by_keeping_kg_per_year", device="desktop") == (
        "manufacturing_desktop_low",
        "manufacturing_desktop_high",
        "lifetime_desktop",
    )
    for device in ("laptop", "tablet"):
        ids = sources_for(refurbished_avoided_kg, device=device)
        assert set(ids) <= set(FIGURES)
        assert len(figures_used(set(ids))) == 4
    with pytest.raises(ValueError):
        sources_for(manufacturing_co2e_kg)


def test_config_override_replaces_a_value_and_reset_restores_it():
    override_figures({"email_sent_read": 0.004, "storage_gb_year_high": 0.1})
    assert emails_co2e_kg(1000) == pytest.approx((4.0, 4.0))
    assert storage_co2e_kg_per_year(GB) == pytest.approx((0.000235, 0.1))
    assert FIGURES["email_sent_read"].status == "config"
    reset_figures()
    assert figure("email_sent_read") == pytest.approx(0.00309)


def test_override_keeps_the_dict_callers_imported():
    override_figures({"storage_gb_year_low": 0.001})
    assert impact.FIGURES is FIGURES
    assert FIGURES["storage_gb_year_low"].value == 0.001


def test_unknown_figure_id_is_refused_by_name():
    with pytest.raises(ConfigError, match="email_per_message"):
        override_figures({"email_per_message": 0.004, "email_sent_read": 0.001})
    assert figure("email_sent_read") == pytest.approx(0.00309)  # nothing applied


@pytest.mark.parametrize("bad", ["0.004", True, -1.0])
def test_override_needs_a_non_negative_number(bad):
    with pytest.raises(ConfigError, match="email_sent_read"):
        override_figures({"email_sent_read": bad})


def test_override_cannot_invert_a_range():
    with pytest.raises(ConfigError, match="storage_gb_year_low"):
        override_figures({"storage_gb_year_low": 5.0})
    assert figure("storage_gb_year_low") == pytest.approx(0.000235)


def test_report_footer_entries_keep_their_shape():
    entries = figures_used({"storage_gb_year_low", "storage_gb_year_high"})
    assert [e["id"] for e in entries] == ["storage_gb_year_low", "storage_gb_year_high"]
    assert set(entries[0]) == {"id", "label", "source", "url"}
    assert entries[0]["label"] == "0.000235 kg CO2e per GB stored per year"


BAD_OVERRIDES = [{"nope": 1}, {"storage_gb_year_high": "x"}, {"storage_gb_year_low": 1e9}]


@pytest.mark.parametrize("override", BAD_OVERRIDES)
def test_a_bad_impact_override_is_one_line_in_both_languages(override):
    try:
        error = raised_error(lambda: override_figures(override))
    finally:
        reset_figures()
    assert_config_error_line(error)

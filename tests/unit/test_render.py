"""The three report renderers, the report schema and the number/size formatting."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from rich.console import Console

from auditor.i18n.format import (
    clean_text,
    format_bytes,
    format_date,
    format_datetime,
    format_number,
    format_significant,
)
from auditor.report import (
    RENDERERS,
    load_schema,
    render,
    render_json,
    render_markdown,
    render_text,
)
from auditor.report.render_markdown import md_escape
from tests.unit.report_samples import NASTY_SUBJECT, empty_report, full_report

REPORTS = [full_report("en"), full_report("fr"), empty_report("fr"), empty_report("en")]


def text_of(report: dict) -> str:
    return render(report, "text")


# --- JSON and schema -----------------------------------------------------------------------


@pytest.mark.parametrize("report", REPORTS)
def test_json_validates_against_schema_and_round_trips(report: dict) -> None:
    out = render_json(report)
    jsonschema.Draft202012Validator.check_schema(load_schema())
    jsonschema.validate(json.loads(out), load_schema())
    assert json.loads(out) == report
    assert list(json.loads(out)) == list(report)  # key order kept
    assert out.endswith("\n")


def test_json_keeps_non_ascii_and_indents() -> None:
    out = render_json(full_report("fr"))
    assert "NégaOctet" in out
    assert '\n  "tool": {\n    "name": "auditor"' in out


def test_json_replaces_lone_surrogates() -> None:
    report = full_report()
    report["findings"][0]["evidence"][1]["subject"] = "bad \udcff byte"
    out = render_json(report)
    out.encode("utf-8")
    assert json.loads(out)["findings"][0]["evidence"][1]["subject"] == "bad \ufffd byte"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("plan"),
        lambda r: r.update(extra=1),
        lambda r: r["run"].update(status="done"),
        lambda r: r["findings"][0].update(severity="urgent"),
        lambda r: r["findings"][0].pop("count"),
        lambda r: r["hosts"][0]["disks"][0].update(smart="ok"),
        lambda r: r["mailboxes"][0].update(messages=None),
        lambda r: r.update(score=101),
        lambda r: r["findings"][0].update(evidence=[{"n": i} for i in range(51)]),
    ],
)
def test_schema_rejects_wrong_reports(mutate) -> None:
    report = full_report()
    mutate(report)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, load_schema())


def test_schema_accepts_unknown_numbers_and_free_evidence() -> None:
    report = full_report()
    report["score"] = None
    report["hosts"][0].update(cpu_model=None, cpu_cores_logical=None, ram_bytes=None)
    report["hosts"][0]["disks"][0].update(rotational=None, total_bytes=None)
    report["findings"][0]["evidence"].append({"anything": [1, 2], "nested": {"a": None}})
    jsonschema.validate(report, load_schema())
    for fmt in RENDERERS:
        assert render(report, fmt)


# --- Markdown ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "names"),
    [
        ("en", ["Urgent", "Quick wins", "To plan"]),
        ("fr", ["Urgent", "Gains rapides", "À planifier"]),
    ],
)
def test_markdown_sections_in_plan_order(lang: str, names: list[str]) -> None:
    md = render_markdown(full_report(lang))
    positions = [md.index(f"\n### {name} (") for name in names]
    assert positions == sorted(positions)
    # each finding in its section, in the plan's order
    order = [md.index(f"({rule})\n") for rule in ("SEC001", "MAIL004", "MAIL001", "HW003")]
    assert order == sorted(order)
    assert positions[0] < order[0] < positions[1] < order[1] < order[2] < positions[2] < order[3]
    assert "Heavy attachments" in md


def test_markdown_tables_and_gains() -> None:
    md = render_markdown(full_report("en"))
    assert "| Folder | Subject | Date | Size |" in md
    assert "| --- | --- | --- | ---: |" in md
    assert "41.0 MB reclaimable" in md
    assert "0.0096–0.08 kg CO2e/yr" in md
    assert "30 kg CO2e/yr" in md
    assert "5 of 7 examples shown." in md
    assert "1 of 2" not in md  # counted in evidence rows, not in `count`
    assert "Photos AG 5" not in md  # only 5 evidence rows
    assert "| 2024-01-15 |" in md
    md_fr = render_markdown(full_report("fr"))
    assert "41,0 Mo récupérables" in md_fr
    assert "0,0096–0,08 kg CO2e/an" in md_fr
    assert "15/01/2024" in md_fr


def test_markdown_escapes_mail_text() -> None:
    md = render_markdown(full_report("en"))
    assert NASTY_SUBJECT not in md
    assert "<script>" not in md
    assert "\\[bold\\]x\\[/bold\\] &lt;script&gt;" in md
    assert md_escape("a|b\nc") == "a\\|b c"
    assert md_escape("# title") == "\\# title"
    assert md_escape("<b>&amp;") == "&lt;b&gt;&amp;amp;"
    assert md_escape("[click](http://x)") == "\\[click\\](http://x)"
    assert md_escape("*bold* _it_ `code`") == "\\*bold\\* \\_it\\_ \\`code\\`"


def test_markdown_empty_report() -> None:
    md = render_markdown(empty_report("fr"))
    assert md.startswith("# Rapport d’audit\n")
    assert "Aucun constat" in md
    assert "### Urgent" not in md  # no empty sections when there is nothing to do
    assert "## Machines" not in md


def test_markdown_rows_have_constant_column_count() -> None:
    report = full_report()
    report["findings"][0]["evidence"][1]["subject"] = "a | b\n| c | d"
    md = render_markdown(report)
    lines = md.splitlines()
    start = lines.index("| Folder | Subject | Date | Size |")
    for line in lines[start : start + 7]:
        assert line.replace("\\|", "").count("|") == 5


# --- Text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_text_has_score_and_titles(lang: str) -> None:
    out = text_of(full_report(lang))
    assert "72/100" in out
    for title in ("Heavy attachments", "Newsletters never opened", "System on a hard disk"):
        assert title in out
    assert "pc-accueil" in out
    assert "\x1b" not in out
    assert "report." not in out  # no catalog key printed instead of its text


def test_text_labels_by_language() -> None:
    en, fr = text_of(full_report("en")), text_of(full_report("fr"))
    assert "Quick wins" in en and "Gains rapides" in fr and "À planifier" in fr
    assert "Partial run" in en and "Analyse partielle" in fr
    assert "41.0 MB reclaimable" in en and "41,0 Mo récupérables" in fr
    assert "0.0096–0.08 kg CO2e/yr" in en
    assert "CRITICAL" in en and "CRITIQUE" in fr
    assert "ADEME Impact CO2 (NégaOctet), 2023" in en
    assert "archives-2019.mbox (mbox file): not an mbox file" in en
    assert "INBOX: 1 malformed message skipped" in en


def test_text_sections_in_plan_order() -> None:
    out = text_of(full_report("en"))
    positions = [out.index(name) for name in (" Urgent ", " Quick wins ", " To plan ")]
    assert positions == sorted(positions)
    assert positions[0] < out.index("Password sent") < positions[1]


def test_text_prints_markup_literally() -> None:
    report = full_report("en")
    report["hosts"][0]["hostname"] = "[red]pc[/red]"
    report["hosts"][0]["disks"][0]["mountpoint"] = "C:\\"
    report["mailboxes"][0]["account"] = "bureau\\"
    out = text_of(report)
    assert NASTY_SUBJECT in out
    assert "[red]pc[/red]" in out
    assert "C:\\ (system)" in out and "C:\\\\" not in out
    assert "bureau\\ " in out


def test_text_never_forces_colours() -> None:
    buffer = __import__("io").StringIO()
    render_text(full_report("en"), Console(file=buffer, width=100))  # not a terminal
    assert "\x1b[" not in buffer.getvalue()


def test_text_colours_on_a_terminal_and_no_color() -> None:
    import io

    buffer = io.StringIO()
    render_text(full_report("en"), Console(file=buffer, width=100, force_terminal=True))
    assert "\x1b[" in buffer.getvalue()
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=True, no_color=True)
    render_text(full_report("en"), console)
    assert "\x1b[3" not in buffer.getvalue() and "\x1b[4" not in buffer.getvalue()


def test_text_removes_terminal_escapes_from_mail_text() -> None:
    report = full_report()
    report["findings"][0]["evidence"][1]["subject"] = "evil \x1b]0;pwned\x07 :warning: \u202eabc"
    out = text_of(report)
    assert "\x1b" not in out and "\u202e" not in out
    assert ":warning:" in out


def test_text_empty_report() -> None:
    for lang, needle in (("fr", "Aucun constat"), ("en", "No findings")):
        out = text_of(empty_report(lang))
        assert "100/100" in out
        assert needle in out


def test_render_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render(full_report(), "pdf")
    assert set(RENDERERS) == {"text", "markdown", "json", "html"}


def test_renderers_do_not_modify_the_report() -> None:
    report = full_report()
    before = copy.deepcopy(report)
    for fmt in RENDERERS:
        render(report, fmt)
    assert report == before


# --- Formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "fr", "en"),
    [
        (1234567890, "1,2 Go", "1.2 GB"),
        (0, "0 o", "0 B"),
        (999, "999 o", "999 B"),
        (1500, "1,5 ko", "1.5 kB"),
        (999_960, "1,0 Mo", "1.0 MB"),
        (23456789, "23,5 Mo", "23.5 MB"),
        (1234.5e12, "1,2 Po", "1.2 PB"),
        (None, "—", "—"),
    ],
)
def test_format_bytes(n: int, fr: str, en: str) -> None:
    assert format_bytes(n, "fr") == fr
    assert format_bytes(n, "en") == en


def test_format_bytes_forced_unit() -> None:
    assert format_bytes(1234567890, "fr", "MB") == "1 234,6 Mo"
    assert format_bytes(1234567890, "en", "MB") == "1,234.6 MB"
    with pytest.raises(ValueError):
        format_bytes(1, "en", "MiB")


def test_format_number() -> None:
    assert format_number(1234.5, "fr", 1) == "1 234,5"
    assert format_number(1234.5, "en", 1) == "1,234.5"
    assert format_number(1234567, "fr") == "1 234 567"
    assert format_number(-0.01, "en", 1) == "0.0"
    assert format_number(None, "en") == "—"
    assert format_significant(0.0096, "fr") == "0,0096"
    assert format_significant(0.08, "en") == "0.08"
    assert format_significant(12.34, "en") == "12"
    assert format_significant(1234.5, "fr") == "1 234"


def test_format_dates() -> None:
    assert format_date("2023-04-01T10:00:00+00:00", "fr") == "01/04/2023"
    assert format_date("2023-04-01T10:00:00+00:00", "en") == "2023-04-01"
    assert format_datetime("2026-11-27T16:00:00+00:00", "en") == "2026-11-27 16:00 UTC"
    assert format_datetime("2026-11-27T16:00:00+01:00", "fr") == "27/11/2026 16:00 +01:00"
    assert format_date("not a date", "en") == "not a date"


def test_clean_text() -> None:
    assert clean_text("a\r\nb\tc") == "a  b c"
    assert clean_text("x\x1b[31my") == "x\ufffd[31my"
    assert clean_text("abcdef", 4) == "abc…"
    assert clean_text(None) == ""


def test_one_off_gains_are_shown_with_their_units_in_both_languages():
    from auditor.report.sections import gains_parts

    finding = {
        "bytes_reclaimable": None,
        "co2e_kg_avoided_low": 126.0,
        "co2e_kg_avoided_high": 330.0,
        "euros_low": 430.0,
        "euros_high": 1060.0,
    }
    assert gains_parts(finding, "en") == [
        "126–330 kg CO2e avoided once (machine kept, not replaced), as much as 580–1,500 km by car",
        "430–1,060 € saved (part instead of a new machine)",
    ]
    fr = gains_parts(finding, "fr")
    assert fr[0].startswith("126–330 kg CO2e évités") and fr[1].startswith("430–1 060 €")
    assert gains_parts({"bytes_reclaimable": None}, "en") == []


def test_the_score_trend_says_which_way_and_since_when():
    from auditor.report.sections import score_trend

    report = {
        "score": 85,
        "trend": {
            "previous": {"started_at": "2026-10-27T10:00:00+00:00", "indicators": {"score": 70}}
        },
    }
    assert score_trend(report, "en") == "▲ +15 since 2026-10-27 10:00"
    assert score_trend(report, "fr") == "▲ +15 depuis le 27/10/2026 10:00"
    report["score"] = 60
    assert score_trend(report, "en").startswith("▼ -10")
    assert score_trend({"score": 60, "trend": {"previous": None}}, "en") is None

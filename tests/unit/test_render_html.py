"""The HTML report: escaping, sections, self-containment, languages and the SVG charts."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

import pytest

from auditor.report.render_html import render_html, safe_url
from auditor.report.render_markdown import render_markdown
from auditor.report.svg_charts import Bar, bar_chart, line_chart
from tests.unit.report_samples import ATTR, IMG, SCRIPT, empty_report, hostile_report


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <title> and <h1>…<h4>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(params=["en", "fr"])
def page(request: pytest.FixtureRequest) -> str:
    return render_html(hostile_report(request.param))


def test_hostile_text_is_escaped(page: str) -> None:
    assert SCRIPT not in page and "<script" not in page.lower()
    assert IMG not in page and "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'onmouseover="' not in page
    elements = parse(page)
    for tag, attrs in elements.tags:
        assert tag not in ("script", "img", "iframe", "object", "embed")
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    text = "".join(elements.text)
    # The browser shows the hostile strings as they were, as text.
    assert SCRIPT in text and IMG in text and ATTR in text


def test_hostile_text_in_svg_is_escaped() -> None:
    svg = bar_chart(f"t{SCRIPT}", [Bar(IMG, 10, ATTR, part=5)], description=SCRIPT)
    assert "<script" not in svg and "<img" not in svg and 'onmouseover="' not in svg
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg
    points = [(SCRIPT, 10, ATTR), ("b", None, "—"), ("c", 90, "90"), ("d", 80, "80")]
    line = line_chart(IMG, points)
    assert "<script" not in line and "<img" not in line and 'onmouseover="' not in line
    assert line.count("<polyline") == 1  # the unknown point leaves a gap, "a" stands alone
    assert line.count("<circle") == 3


def test_no_external_resources_and_no_script(page: str) -> None:
    assert "<script" not in page.lower()
    assert "@import" not in page and "url(" not in page
    for tag, attrs in parse(page).tags:
        if tag == "a":
            assert attrs["href"].startswith(("https://", "http://", "#")), attrs
            continue
        for name in ("src", "href", "srcset", "data", "poster", "xlink:href"):
            value = attrs.get(name) or ""
            assert "http" not in value.lower(), (tag, attrs)
            assert not value or tag == "meta", (tag, attrs)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_only_http_urls_become_links(page: str) -> None:
    hrefs = [attrs["href"] for tag, attrs in parse(page).tags if tag == "a"]
    assert "https://impactco2.fr/" in hrefs and "https://www.repaircafe.org/" in hrefs
    assert not any("javascript" in href for href in hrefs)
    assert "javascript:alert(1)" in page  # shown as text
    assert safe_url("http://example.org/a?b=1") == "http://example.org/a?b=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "ftp://x", 'https://x" a="', ""):
        assert safe_url(bad) is None


def test_sections_in_order(page: str) -> None:
    ids = [
        'id="trend"',
        'id="hosts"',
        'id="mailboxes"',
        'id="plan"',
        'id="plan-urgent"',
        'id="plan-quick_wins"',
        'id="plan-to_plan"',
        'id="errors"',
        'id="help"',
        'id="figures"',
    ]
    positions = [page.index(i) for i in ids]
    assert positions == sorted(positions)
    # Findings in plan order: SEC001 urgent, then MAIL004 before MAIL001, then HW003.
    rules = [page.index(f"({rule})</span>") for rule in ("SEC001", "MAIL004", "MAIL001", "HW003")]
    assert rules == sorted(rules)


def test_heading_hierarchy_and_accessibility(page: str) -> None:
    levels = [int(m) for m in re.findall(r"<h([1-6])[ >]", page)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    elements = parse(page)
    ths = [attrs for tag, attrs in elements.tags if tag == "th"]
    assert ths and all(attrs.get("scope") in ("col", "row") for attrs in ths)
    svgs = [attrs for tag, attrs in elements.tags if tag == "svg"]
    assert len(svgs) == 4  # score trend, machines, mailboxes, reclaimable space
    assert all(attrs.get("role") == "img" and attrs.get("aria-label") for attrs in svgs)
    assert page.count("<title>") == 1 + 4 + page.count('<g class="chart-row">') + 3
    tables = page.count("<table>")
    assert tables == page.count('<div class="table-wrap scroll"')
    assert "@media print" in page and "prefers-color-scheme: dark" in page
    assert "max-width: 600px" in page and "overflow-x: auto" in page


def test_english() -> None:
    page = render_html(hostile_report("en"))
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "<h1>Audit report</h1>" in page
    assert "Score: 72/100 (fair)" in page and "▲ +12 since 2026-11-01" in page
    assert ">1,234<" in page and "23.5 MB" in page and "1,234.5 PB" in page
    assert "0.0096–0.08 kg CO2e/yr" in page
    assert "Save the files in the shared drive,<br>then delete the messages." in page
    assert "5 of 7 examples shown." in page
    assert "Machines by status" in page and "Flagged" in page
    assert "Score over time" in page
    assert "ADEME Impact CO2 (NégaOctet), 2023" in page


def test_french_numbers_and_labels() -> None:
    page = render_html(hostile_report("fr"))
    assert '<html lang="fr">' in page and "<h1>Rapport d’audit</h1>" in page
    assert ">1 234<" in page  # messages
    assert "1 234,5 Po" in page  # size with thousands and a decimal comma
    assert "23,5 Mo" in page and "0,0096–0,08" in page and "80 %" in page
    assert "27/11/2026 16:00 UTC" in page and "15/01/2024" in page
    assert "Machines par état" in page and "Évolution du score" in page
    assert "Audit report" not in page


def test_machines_chart_counts_flagged_hosts() -> None:
    page = render_html(hostile_report("en"))
    assert "2 machines: 1 with nothing to flag, 1 flagged" in page
    report = hostile_report("en")
    report["findings"] = [f for f in report["findings"] if f["category"] == "mail"]
    report["plan"] = {"urgent": [], "quick_wins": ["MAIL004", "MAIL001"], "to_plan": []}
    assert "2 machines: 2 with nothing to flag, 0 flagged" in render_html(report)


def test_score_chart_needs_two_points() -> None:
    report = hostile_report("en")
    report["trend"]["series"] = report["trend"]["series"][-1:]
    page = render_html(report)
    assert "Score over time" not in page
    assert 'id="trend"' in page  # the table is still there


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_empty_report(lang: str) -> None:
    page = render_html(empty_report(lang))
    assert f'<html lang="{lang}">' in page and "<svg" not in page
    for section in ("trend", "hosts", "mailboxes", "errors", "help", "figures"):
        assert f'id="{section}"' not in page
    assert 'id="plan"' in page
    assert ("No findings" if lang == "en" else "Aucun constat") in page


def test_unknown_values_do_not_break_rendering() -> None:
    report = copy.deepcopy(hostile_report("en"))
    report["score"] = None
    report["language"] = "de"  # unknown language: English
    report["mailboxes"][0]["size_bytes"] = 0
    report["trend"]["series"][1]["indicators"]["score"] = None
    page = render_html(report)
    assert "Score: unknown" in page and '<html lang="en">' in page


# --- Reports a board member reads (issue 13) -------------------------------------------------


def test_every_chart_has_a_visible_title_above_it() -> None:
    page = render_html(hostile_report("en"))
    titles = re.findall(r'<figcaption class="chart-title">([^<]+)</figcaption>', page)
    assert len(titles) == page.count("<svg") == 4
    assert "Reclaimable space by finding" in titles and "Score over time (out of 100)" in titles


def test_bar_chart_labels_are_written_whole() -> None:
    report = hostile_report("en")
    report["findings"][0]["title"] = "Old mail already read, kept in every folder for years"
    page = render_html(report)
    chart = page.split('<figcaption class="chart-title">Reclaimable space', 1)[1]
    assert "MAIL001 Old mail already read, kept in every folder for years</text>" in chart
    assert "…</text>" not in chart


def test_commands_in_rule_texts_are_code_not_backquotes() -> None:
    report = hostile_report("fr")
    report["findings"][0]["how"] = "Lancez `auditor compress FICHIERS` puis joignez les copies."
    page = render_html(report)
    assert "<code>auditor compress FICHIERS</code>" in page and "`auditor" not in page
    markdown = render_markdown(report)
    assert "Lancez `auditor compress FICHIERS` puis" in markdown  # a code span, not \`


def test_wide_tables_and_charts_scroll_with_a_visible_cue() -> None:
    page = render_html(hostile_report("fr"))
    body = page.split("<body>", 1)[1]
    # every table and chart sits in a sideways-scrolling box ...
    assert body.count("<table>") == body.count('<div class="table-wrap scroll"')
    assert body.count("<svg") == body.count('<div class="chart-scroll scroll"')
    # ... shaded at the edge that hides something, with a line saying so on a phone
    assert "no-repeat local" in page and "no-repeat scroll" in page
    hint = "Plus large que l’écran : faites glisser de côté pour tout voir →"
    assert body.count(hint) >= body.count("<svg") + 1  # each chart, and the wide tables
    phone = page.split("@media (max-width: 600px)", 1)[1].split("\n}\n", 1)[0]
    assert ".scroll-hint { display: block; }" in phone

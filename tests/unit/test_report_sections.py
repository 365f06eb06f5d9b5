"""One report skeleton: each section's cells are computed once and every format shows them."""

from __future__ import annotations

import html

from auditor.report import render_markdown, render_text_string, sections
from auditor.report.render_html import render_html
from tests.unit.report_samples import full_report


def _formats(report: dict) -> dict[str, str]:
    return {
        "text": render_text_string(report, 250),
        "markdown": render_markdown(report),
        "html": html.unescape(render_html(report)),
    }


def test_every_format_shows_the_mailbox_cells_the_section_computed():
    report = full_report("fr")
    summary = sections.mailboxes(report, "fr")
    assert summary is not None and len(summary.headers) == len(summary.rows[0])
    for name, page in _formats(report).items():
        for cell in summary.rows[0][1:]:
            assert cell in page, (name, cell)
        if name != "text":  # the terminal breaks long headers between words
            assert all(header in page for header in summary.headers), name


def test_every_format_shows_each_machine_fact_and_disk_the_section_computed():
    report = full_report("en")
    (host,) = sections.hosts(report, "en")
    assert [fact.label_key for fact in host.facts][:3] == [
        "report.host.system",
        "report.host.processor",
        "report.host.memory",
    ]
    for name, page in _formats(report).items():
        assert host.hostname in page, name
        for fact in host.facts:
            assert fact.value in page, (name, fact.value)
        for disk in host.disks:
            assert disk.mountpoint in page and disk.cells[-1] in page, (name, disk)


def test_evidence_headers_are_the_packs_labels_in_every_format():
    report = full_report("en")
    examples, _ = sections.evidence(report["findings"][0], "en")
    assert examples.headers == ["Folder", "Subject", "Date", "Size"]
    for name, page in _formats(report).items():
        assert all(header in page for header in examples.headers), name

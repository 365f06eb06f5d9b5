"""The report as one self-contained HTML page: inline CSS and SVG charts, no script.

The sections mirror the Markdown report. Python prepares every value as plain text (sizes,
dates and numbers already formatted for the language, untrusted text cleaned by
`clean_text`); the Jinja template (templates/report.html.j2, autoescape on) escapes it.
The only markup that is not escaped by the template is the SVG from `svg_charts`, which
escapes its own texts. Only http(s) URLs become links; anything else is shown as text.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from markupsafe import Markup

from auditor.i18n import t
from auditor.i18n.format import (
    UNKNOWN,
    clean_text,
    distinct_labels,
    format_bytes,
    format_datetime,
    format_number,
    shorten_middle,
)
from auditor.report import sections
from auditor.report.formatting import SOURCE_NAME_MAX, code_spans
from auditor.report.svg_charts import Bar, bar_chart, line_chart

if TYPE_CHECKING:  # Jinja is imported when a page is rendered: a JSON report never pays it
    from jinja2 import BytecodeCache, Environment

_URL = re.compile(r"^https?://[^\s<>\"'`]+$", re.IGNORECASE)
_SEP = " · "
FLAG_CATEGORIES = ("hardware", "security")
SEVERITIES = ("critical", "high", "medium", "low", "info")


def _bytecode_cache() -> BytecodeCache | None:
    """Compiling the report's template takes longer than building the report itself
    (0.12 s of a 0.3 s `auditor report --format html`), so its compiled code is kept
    between runs, in Jinja's per-user folder (mode 0700, owner checked by Jinja). Entries
    are keyed by the template's checksum and Jinja's version: a changed template is compiled
    again. A cache that cannot be read, written or trusted only costs that compile time."""
    from jinja2 import FileSystemBytecodeCache
    from jinja2.bccache import Bucket

    class Quiet(FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except OSError:
                bucket.reset()

        def dump_bytecode(self, bucket: Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        return Quiet()  # Jinja refuses a folder another user owns or can open
    except (OSError, RuntimeError):
        return None


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("auditor.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )


def safe_url(value: object) -> str | None:
    """`value` when it is an http(s) URL that can be a link, else None."""
    url = clean_text(value or "").strip()
    return url if _URL.match(url) else None


def _lines(value: object) -> list[list[tuple[str, bool]]]:
    """Multi-line rule text as lines of (piece, is_code): `commands` become <code>."""
    return [code_spans(clean_text(line)) for line in str(value or "").splitlines() if line.strip()]


def _chart(title: str, svg: Markup, caption: str | None = None) -> dict:
    """A chart with its visible title (the SVG's own <title> is for screen readers)."""
    return {"title": title, "svg": svg, "caption": caption}


def _header(report: dict, lang: str) -> dict:
    run = report.get("run") or {}
    tool = report.get("tool") or {}
    score = report.get("score")
    sources = []
    for source in run.get("sources") or []:
        sources.append(
            {
                "name": shorten_middle(source.get("name"), SOURCE_NAME_MAX),
                "kind": t(lang, f"report.kind.{source.get('kind')}"),
                "failed": source.get("status") == "failed",
            }
        )
    generated_by = None
    if tool:
        generated_by = t(
            lang,
            "report.generated_by",
            name=clean_text(tool.get("name")),
            version=clean_text(tool.get("version")),
        )
    return {
        "run": t(lang, "report.run", id=clean_text(run.get("id", UNKNOWN))),
        "date": format_datetime(sections.run_time(report), lang),
        "datetime": clean_text(sections.run_time(report) or ""),
        "score": None if score is None else t(lang, "report.score", score=score),
        "score_value": score,
        "band": sections.score_band(score),
        "band_text": t(lang, f"report.band.{sections.score_band(score)}"),
        "score_trend": sections.score_trend(report, lang),
        "partial": run.get("status") == "partial",
        "sources": sources,
        "generated_by": generated_by,
    }


def _score_chart(report: dict, lang: str) -> dict | None:
    series = [p for p in (report.get("trend") or {}).get("series") or [] if isinstance(p, dict)]
    labels = distinct_labels([p.get("started_at") for p in series], lang)
    points = []
    for point, label in zip(series, labels, strict=True):
        value = (point.get("indicators") or {}).get("score")
        if not isinstance(value, int | float) or isinstance(value, bool):
            value = None
        if point.get("complete") is False:
            value = None  # a run with a source unread: its score is not comparable
        points.append((label, value, format_number(value, lang) if value is not None else UNKNOWN))
    known = [p for p in points if p[1] is not None]
    if len(known) < 2:
        return None
    title = t(lang, "html.chart.score.title")
    description = t(
        lang,
        "html.chart.score.alt",
        count=format_number(len(known), lang),
        first=known[0][2],
        first_date=known[0][0],
        last=known[-1][2],
        last_date=known[-1][0],
    )
    return _chart(title, line_chart(title, points, description=description))


def _trend(report: dict, lang: str) -> dict | None:
    table = sections.trend_table(report, lang)
    chart = _score_chart(report, lang)
    if table is None and chart is None:
        return None
    headers, rows = table if table is not None else ([], [])
    return {"headers": headers, "rows": rows, "chart": chart}


def _flagged_hosts(report: dict) -> set[str]:
    flagged = set()
    for finding in report.get("findings") or []:
        if finding.get("category") not in FLAG_CATEGORIES:
            continue
        for row in finding.get("evidence") or []:
            if isinstance(row, dict) and row.get("hostname") is not None:
                flagged.add(str(row["hostname"]))
    return flagged


def _machines_chart(report: dict, lang: str) -> dict | None:
    hosts = report.get("hosts") or []
    if not hosts:
        return None
    flagged_names = _flagged_hosts(report)
    flagged = sum(1 for host in hosts if str(host.get("hostname")) in flagged_names)
    ok = len(hosts) - flagged
    bars = [
        Bar(t(lang, "html.chart.machines.ok"), ok, format_number(ok, lang)),
        Bar(t(lang, "html.chart.machines.flagged"), flagged, format_number(flagged, lang)),
    ]
    description = t(
        lang,
        "html.chart.machines.alt",
        total=format_number(len(hosts), lang),
        ok=format_number(ok, lang),
        flagged=format_number(flagged, lang),
    )
    title = t(lang, "html.chart.machines.title")
    return _chart(
        title,
        bar_chart(title, bars, description=description),
        t(lang, "html.chart.machines.caption"),
    )


def _hosts(report: dict, lang: str) -> list[dict]:
    out = []
    for host in sections.hosts(report, lang):
        facts = [(t(lang, fact.label_key), fact.value) for fact in host.facts]
        disks = []
        for disk in host.disks:
            mount = disk.mountpoint + (f" ({disk.system})" if disk.system else "")
            disks.append([mount, *disk.cells])
        out.append({"hostname": host.hostname, "facts": facts, "disks": disks})
    return out


def _mailboxes(report: dict, lang: str) -> dict | None:
    summary = sections.mailboxes(report, lang)
    if summary is None:
        return None
    mailboxes = report.get("mailboxes") or []
    chart = None
    sized = [box for box in mailboxes if (box.get("size_bytes") or 0) > 0]
    if sized:
        sized.sort(key=lambda box: box.get("size_bytes") or 0, reverse=True)
        bars = []
        parts = []
        for box in sized:
            size_text = format_bytes(box.get("size_bytes"), lang)
            attach_text = format_bytes(box.get("attachment_bytes") or 0, lang)
            bars.append(
                Bar(
                    shorten_middle(box.get("account"), SOURCE_NAME_MAX),
                    box["size_bytes"],
                    size_text,
                    part=box.get("attachment_bytes") or 0,
                )
            )
            parts.append(
                t(
                    lang,
                    "html.chart.mailboxes.item",
                    account=clean_text(box.get("account"), 60),
                    size=size_text,
                    attachments=attach_text,
                )
            )
        title = t(lang, "html.chart.mailboxes.title")
        chart = _chart(
            title,
            bar_chart(
                title,
                bars,
                description="; ".join(parts),
                legend=(
                    t(lang, "html.chart.mailboxes.size"),
                    t(lang, "html.chart.mailboxes.attachments"),
                ),
            ),
        )
    return {
        "headers": summary.headers,
        "numeric": summary.numeric,
        "rows": summary.rows,
        "chart": chart,
    }


def _finding(finding: dict, lang: str) -> dict:
    examples, note = sections.evidence(finding, lang)
    severity = finding.get("severity")
    return {
        "severity": severity if severity in SEVERITIES else "info",
        "badge": t(lang, f"report.severity.{severity}"),
        "title": clean_text(finding.get("title")),
        "rule_id": clean_text(finding.get("rule_id")),
        "details": _SEP.join(sections.finding_details(finding, lang)),
        "gains": _SEP.join(sections.gains_parts(finding, lang)),
        "why": _lines(finding.get("why")),
        "how": _lines(finding.get("how")),
        "evidence_headers": examples.headers,
        "evidence_numeric": examples.numeric,
        "evidence_rows": examples.rows,
        "evidence_note": note,
    }


def _reclaimable_chart(report: dict, lang: str) -> dict | None:
    findings = [
        f
        for f in report.get("findings") or []
        if isinstance(f.get("bytes_reclaimable"), int | float) and f["bytes_reclaimable"] > 0
    ]
    if not findings:
        return None
    findings.sort(key=lambda f: f["bytes_reclaimable"], reverse=True)
    bars = [
        Bar(
            f"{clean_text(f.get('rule_id'))} {clean_text(f.get('title'))}",
            f["bytes_reclaimable"],
            format_bytes(f["bytes_reclaimable"], lang),
        )
        for f in findings
    ]
    total = (report.get("reclaimable") or {}).get("total_bytes")
    if len(bars) > 1 and isinstance(total, int | float):  # the sum, each byte counted once
        bars.append(Bar(t(lang, "html.chart.reclaimable.total"), total, format_bytes(total, lang)))
    description = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    title = t(lang, "html.chart.reclaimable.title")
    total = sections.reclaimable_line(report, lang)
    return _chart(title, bar_chart(title, bars, description=description), total)


def _plan(report: dict, lang: str) -> dict:
    groups = []
    if report.get("findings"):
        for name, findings in sections.plan_sections(report):
            groups.append(
                {
                    "name": name,
                    "title": t(lang, f"report.section.{name}"),
                    "count": format_number(len(findings), lang),
                    "findings": [_finding(f, lang) for f in findings],
                }
            )
    return {"sections": groups, "chart": _reclaimable_chart(report, lang)}


def _errors(report: dict, lang: str) -> list[str]:
    lines = sections.error_lines(report, lang)
    return lines


def _help(report: dict) -> list[dict]:
    return [
        {
            "name": clean_text(link.get("name")),
            "what": clean_text(link.get("what")),
            "url": safe_url(link.get("url")),
            "url_text": clean_text(link.get("url") or ""),
        }
        for link in report.get("help") or []
    ]


def _figures(report: dict) -> list[dict]:
    return [
        {
            "label": clean_text(figure.get("label")),
            "source": clean_text(figure.get("source")),
            "url": safe_url(figure.get("url")),
            "url_text": clean_text(figure.get("url") or ""),
        }
        for figure in report.get("figures") or []
    ]


def build_context(report: dict) -> dict:
    """Everything the template shows, as plain text (escaped by the template) or SVG."""
    lang = report.get("language") or "en"
    if lang not in ("en", "fr"):
        lang = "en"
    return {
        "lang": lang,
        "title": sections.report_title(report, lang),
        "header": _header(report, lang),
        "trend": _trend(report, lang),
        "fleet": sections.fleet(report, lang),  # cells plain: the template escapes
        "hosts": _hosts(report, lang),
        "machines_chart": _machines_chart(report, lang),
        "mailboxes": _mailboxes(report, lang),
        "has_findings": bool(report.get("findings")),
        "plan": _plan(report, lang),
        "errors": _errors(report, lang),
        "climate": sections.climate_lines(report, lang),
        "not_checked": sections.not_checked_lines(report, str),  # the template escapes
        "help": _help(report),
        "figures": _figures(report),
        "disk_headers": [
            t(lang, f"report.disk.{k}")
            for k in ("mountpoint", "device", "used", "size", "use", "type")
        ],
        "disk_numeric": [False, False, True, True, True, False],
        "t": lambda key, **values: t(lang, key, **values),
    }


def render_html(report: dict) -> str:
    """`report` as one self-contained HTML page in the report's language."""
    template = _environment().get_template("report.html.j2")
    return template.render(**build_context(report))

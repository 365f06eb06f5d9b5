"""The report as GitHub-flavoured Markdown (headings, lists, tables).

Every text that is not a label of ours goes through `md_escape`: Markdown punctuation is
backslash-escaped, `<`, `>` and `&` become entities, line breaks become spaces, so a subject
can neither add a heading, a link, HTML nor break a table row.
"""

from __future__ import annotations

import re

from auditor.i18n import t
from auditor.i18n.format import (
    UNKNOWN,
    clean_text,
    format_datetime,
    shorten_middle,
)
from auditor.report import sections
from auditor.report.formatting import SOURCE_NAME_MAX, code_spans

_SEP = " · "
# Characters that can start emphasis, code, links, tables, strikethrough or (on GitHub) maths.
_MD_PUNCT = re.compile(r"([\\`*_\[\]|~$])")
_URL = re.compile(r"^https?://[^\s<>]+$")


def md_escape(value: object, max_len: int | None = None) -> str:
    """Untrusted text as one inert line of Markdown, usable in a table cell or a heading."""
    text = clean_text(value, max_len)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCT.sub(r"\\\1", text)
    if text.startswith(("#", "+", "-", "=")):
        text = "\\" + text
    return text


def _md_code(text: str) -> str:
    """A code span that no backquote inside can end early (CommonMark: a longer fence)."""
    text = clean_text(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return (
        f"{fence} {text} {fence}"
        if text.startswith("`") or text.endswith("`")
        else (f"{fence}{text}{fence}")
    )


def _md_line(line: str) -> str:
    """One line of a rule's text: `commands` as code spans, the rest escaped."""
    return "".join(
        _md_code(piece) if is_code else md_escape(piece) for piece, is_code in code_spans(line)
    )


def _md_paragraph(value: object) -> str:
    """Multi-line text (a rule's "why" or "how") as one paragraph with hard line breaks."""
    lines = [_md_line(line) for line in str(value or "").splitlines()]
    return "  \n".join(line for line in lines if line.strip())


def _colon(lang: str, key: str) -> str:
    return t(lang, "report.colon", label=t(lang, key))


def _table(headers: list[str], rows: list[list[str]], numeric: list[bool]) -> list[str]:
    """Headers and cells must already be escaped."""
    out = ["| " + " | ".join(headers) + " |"]
    out.append("| " + " | ".join("---:" if num else "---" for num in numeric) + " |")
    out.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return out


def _header(report: dict, lang: str) -> list[str]:
    run = report.get("run") or {}
    tool = report.get("tool") or {}
    score = report.get("score")
    band = sections.score_band(score)
    if score is None:
        score_text = t(lang, "report.score_unknown")
    else:
        score_text = (
            f"**{t(lang, 'report.score', score=score)}** ({t(lang, f'report.band.{band}')})"
        )
        moved = sections.score_trend(report, lang)
        if moved:
            score_text += f" {md_escape(moved)}"
    out = [f"# {md_escape(sections.report_title(report, lang))}", ""]
    out.append(
        _SEP.join(
            [
                t(lang, "report.run", id=run.get("id", UNKNOWN)),
                md_escape(format_datetime(sections.run_time(report), lang)),
                score_text,
            ]
        )
    )
    if run.get("status") == "partial":
        out += ["", f"> **{t(lang, 'report.partial')}**"]
    sources = []
    for source in run.get("sources") or []:
        kind = t(lang, f"report.kind.{source.get('kind')}")
        label = f"{md_escape(shorten_middle(source.get('name'), SOURCE_NAME_MAX))} ({kind}"
        if source.get("status") == "failed":
            label += f", **{t(lang, 'report.source_failed')}**"
        sources.append(label + ")")
    if sources:
        out += ["", f"{t(lang, 'report.sources')} {', '.join(sources)}"]
    if tool:
        out += [
            "",
            "_"
            + t(
                lang,
                "report.generated_by",
                name=md_escape(tool.get("name")),
                version=md_escape(tool.get("version")),
            )
            + "_",
        ]
    return out


def _trend(report: dict, lang: str) -> list[str]:
    table = sections.trend_table(report, lang)
    if table is None:
        return []
    headers, rows = table
    numeric = [False] + [True] * (len(headers) - 2) + [False]
    escaped = [[md_escape(cell) for cell in row] for row in rows]
    return ["", f"## {t(lang, 'report.trend.title')}", ""] + _table(headers, escaped, numeric)


def _hosts(report: dict, lang: str) -> list[str]:
    machines = sections.hosts(report, lang, md_escape)
    if not machines:
        return []
    out = ["", f"## {t(lang, 'report.section.hosts')}"]
    for host in machines:
        out += ["", f"### {md_escape(host.hostname)}", ""]
        for fact in host.facts:
            value = md_escape(fact.value) if fact.untrusted else fact.value
            out.append(f"- **{_colon(lang, fact.label_key)}** {value}")
        if not host.disks:
            continue
        rows = []
        for disk in host.disks:
            mount = md_escape(disk.mountpoint)
            if disk.system:
                mount += f" ({disk.system})"
            rows.append([mount, *disk.cells])
        out += [""] + _table(host.disk_headers, rows, list(sections.DISK_NUMERIC))
    return out


def _fleet(report: dict, lang: str) -> list[str]:
    summary = sections.fleet(report, lang, md_escape)
    if summary is None:
        return []
    table = _table(summary.headers, summary.rows, summary.numeric)
    return ["", f"## {t(lang, 'report.section.fleet')}", ""] + table


def _mailboxes(report: dict, lang: str) -> list[str]:
    summary = sections.mailboxes(report, lang, md_escape)
    if summary is None:
        return []
    table = _table(summary.headers, summary.rows, summary.numeric)
    return ["", f"## {t(lang, 'report.section.mailboxes')}", ""] + table


def _finding(finding: dict, lang: str) -> list[str]:
    badge = t(lang, f"report.severity.{finding.get('severity')}")
    out = [
        "",
        f"#### `{badge}` {md_escape(finding.get('title'))} ({md_escape(finding.get('rule_id'))})",
        "",
    ]
    details = sections.finding_details(finding, lang)
    out.append(_SEP.join(details))
    gains = sections.gains_parts(finding, lang)
    if gains:
        out += ["", f"**{t(lang, 'report.finding.gains')}** {md_escape(_SEP.join(gains))}"]
    for key in ("why", "how"):
        if finding.get(key):
            out += ["", f"**{t(lang, f'report.finding.{key}')}** {_md_paragraph(finding[key])}"]
    examples, note = sections.evidence(finding, lang)
    if examples.rows:
        headers = [md_escape(header) for header in examples.headers]
        cells = [[md_escape(cell) for cell in row] for row in examples.rows]
        out += [""] + _table(headers, cells, examples.numeric)
    if note:
        out += ["", f"_{note}_"]
    return out


def _plan(report: dict, lang: str) -> list[str]:
    out = ["", f"## {t(lang, 'report.section.plan')}"]
    if not report.get("findings"):
        return out + ["", t(lang, "report.section.no_findings")]
    for name, findings in sections.plan_sections(report):
        out += ["", f"### {t(lang, f'report.section.{name}')} ({len(findings)})"]
        if not findings:
            out += ["", f"_{t(lang, 'report.section.empty')}_"]
        for finding in findings:
            out += _finding(finding, lang)
    total = sections.reclaimable_line(report, lang)
    if total:
        out += ["", f"**{md_escape(total)}**"]
    return out


def _climate(report: dict, lang: str) -> list[str]:
    lines = sections.climate_lines(report, lang)
    if not lines:
        return []
    return ["", f"## {t(lang, 'report.climate.title')}", ""] + [
        f"- {md_escape(line)}" for line in lines
    ]


def _not_checked(report: dict, lang: str) -> list[str]:
    lines = sections.not_checked_lines(report, md_escape)
    if not lines:
        return []
    return ["", f"## {t(lang, 'report.section.not_checked')}", ""] + [f"- {x}" for x in lines]


def _errors(report: dict, lang: str) -> list[str]:
    lines = sections.error_lines(report, lang, md_escape)
    if not lines:
        return []
    return ["", f"## {t(lang, 'report.section.errors')}", ""] + [f"- {line}" for line in lines]


def _footer(report: dict, lang: str) -> list[str]:
    figures = report.get("figures") or []
    if not figures:
        return []
    out = ["", f"## {t(lang, 'report.section.figures')}", ""]
    for figure in figures:
        parts = [md_escape(figure.get(k)) for k in ("label", "source") if figure.get(k)]
        url = clean_text(figure.get("url") or "")
        if url:
            parts.append(f"<{url}>" if _URL.match(url) else md_escape(url))
        out.append("- " + " — ".join(parts))
    return out


def _help(report: dict, lang: str) -> list[str]:
    links = report.get("help") or []
    if not links:
        return []
    out = ["", f"## {t(lang, 'report.section.help')}", ""]
    for link in links:
        url = clean_text(link.get("url") or "")
        name = md_escape(link.get("name"))
        shown = f"[{name}](<{url}>)" if _URL.match(url) else name
        out.append(f"- {shown} — {md_escape(link.get('what'))}")
    return out


def render_markdown(report: dict) -> str:
    """`report` as a Markdown document in the report's language, ending with a newline."""
    lang = report.get("language") or "en"
    lines = (
        _header(report, lang)
        + _trend(report, lang)
        + _fleet(report, lang)
        + _hosts(report, lang)
        + _mailboxes(report, lang)
        + _plan(report, lang)
        + _climate(report, lang)
        + _errors(report, lang)
        + _not_checked(report, lang)
        + _help(report, lang)
        + _footer(report, lang)
    )
    return "\n".join(lines) + "\n"

"""The terminal view of a report, with rich.

Colours come only from rich's own detection (a terminal, NO_COLOR unset); nothing here
forces them.

Nothing is ever parsed as rich markup: every line is assembled from `rich.text.Text` pieces
with explicit styles, so a subject "[bold]x[/bold]", "C:\\" or ":warning:" prints literally
(`rich.markup.escape` output is only safe when directly followed by a tag, which made a
trailing backslash print twice). Text read in a mailbox or on a machine also goes through
`clean_text`, which removes terminal escape sequences and line breaks.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from auditor.i18n import t
from auditor.i18n.format import (
    UNKNOWN,
    clean_text,
    format_datetime,
    shorten_middle,
)
from auditor.report import sections
from auditor.report.formatting import SOURCE_NAME_MAX

_SEVERITY_STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "bold yellow",
    "low": "bold cyan",
    "info": "bold",
}
_BAND_STYLES = {"good": "bold green", "fair": "bold yellow", "poor": "bold red", "unknown": "bold"}
_SEP = " · "

Piece = str | tuple[str, str]  # plain text, or (text, style)


def _line(*pieces: Piece) -> Text:
    """Literal text from pieces; strings are never interpreted as markup."""
    return Text.assemble(*pieces)


def _out(console: Console, renderable: RenderableType = "", indent: int = 0) -> None:
    if isinstance(renderable, str):
        renderable = Text(renderable)
    if indent:
        renderable = Padding(renderable, (0, 0, 0, indent), expand=False)
    console.print(renderable, highlight=False, emoji=False)


def _heading(console: Console, text: str) -> None:
    _out(console)
    _out(console, Text(text, style="bold underline"))


def _table(*columns: tuple[str, bool], stacked: bool = False) -> Table:
    """A table whose headers break between words only (never "Messag/es"), and whose
    numbers ("67.7 MB") stay on one line. `stacked` puts each word of a header on its own
    line, for a table of many narrow columns to fit 80 columns."""
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        header_style="bold",
    )
    for header, numeric in columns:
        longest_word = max((len(word) for word in header.split()), default=1)
        if stacked:
            header = "\n".join(header.split())
        table.add_column(
            Text(header),
            justify="right" if numeric else "left",
            overflow="fold",
            min_width=longest_word,
        )
    return table


def _add_row(table: Table, *cells: str | Text) -> None:
    texts = [Text(cell) if isinstance(cell, str) else cell for cell in cells]
    for column, text in zip(table.columns, texts, strict=False):
        if column.justify == "right":  # a number and its unit stay together: "67.7 MB"
            column.min_width = max(column.min_width or 0, text.cell_len)
    table.add_row(*texts)


def _header(report: dict, console: Console, lang: str) -> None:
    run = report.get("run") or {}
    tool = report.get("tool") or {}
    score = report.get("score")
    band = sections.score_band(score)
    pieces: list[Piece] = [
        (sections.report_title(report, lang), "bold"),
        _SEP,
        t(lang, "report.run", id=run.get("id", UNKNOWN)),
        _SEP,
        format_datetime(sections.run_time(report), lang),
        _SEP,
    ]
    if score is None:
        pieces.append(t(lang, "report.score_unknown"))
    else:
        pieces += [
            (t(lang, "report.score", score=score), _BAND_STYLES[band]),
            f" ({t(lang, f'report.band.{band}')})",
        ]
        moved = sections.score_trend(report, lang)
        if moved:
            pieces.append(f" {moved}")
    _out(console, _line(*pieces))
    if run.get("status") == "partial":
        _out(console, Text(t(lang, "report.partial"), style="bold yellow"))
    sources: list[Piece] = []
    for source in run.get("sources") or []:
        kind = t(lang, f"report.kind.{source.get('kind')}")
        name = shorten_middle(source.get("name"), SOURCE_NAME_MAX)
        sources += [", " if sources else " ", f"{name} ({kind}"]
        if source.get("status") == "failed":
            sources += [", ", (t(lang, "report.source_failed"), "bold red")]
        sources.append(")")
    if sources:
        _out(console, _line(t(lang, "report.sources"), *sources))
    if tool:
        generated = t(
            lang,
            "report.generated_by",
            name=clean_text(tool.get("name")),
            version=clean_text(tool.get("version")),
        )
        _out(console, Text(generated, style="dim"))


def _trend(report: dict, console: Console, lang: str) -> None:
    found = sections.trend_table(report, lang)
    if found is None:
        return
    headers, rows = found
    _heading(console, t(lang, "report.trend.title"))
    table = _table(*((h, 0 < i < len(headers) - 1) for i, h in enumerate(headers)))
    for row in rows:
        _add_row(table, *row)
    _out(console, table)


def _hosts(report: dict, console: Console, lang: str) -> None:
    machines = sections.hosts(report, lang)
    if not machines:
        return
    _heading(console, t(lang, "report.section.hosts"))
    for host in machines:
        _out(console)
        _out(console, Text(host.hostname, style="bold"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column(overflow="fold")
        for fact in host.facts:
            _add_row(grid, t(lang, fact.label_key), fact.value)
        _out(console, grid, indent=2)
        if not host.disks:
            continue
        table = _table(*zip(host.disk_headers, sections.DISK_NUMERIC, strict=True))
        for disk in host.disks:
            mount: list[Piece] = [disk.mountpoint]
            if disk.system:
                mount.append((f" ({disk.system})", "dim"))
            _add_row(table, _line(*mount), *disk.cells)
        _out(console, table, indent=2)


def _summary(report: dict, console: Console, lang: str, section: str) -> None:
    """The fleet or mailboxes table: cells from `sections`, laid out as a stacked table."""
    summary = getattr(sections, section)(report, lang)
    if summary is None:
        return
    _heading(console, t(lang, f"report.section.{section}"))
    table = _table(*zip(summary.headers, summary.numeric, strict=True), stacked=True)
    for row in summary.rows:
        _add_row(table, *row)
    _out(console, table, indent=2)


def _labelled(label: str, text: str, style: str = "bold") -> Table:
    """ "Label: text", the text wrapped and continued under itself (hanging indent)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(Text(label, style=style), Text(text))
    return grid


def _finding(finding: dict, console: Console, lang: str) -> None:
    severity = finding.get("severity")
    details = sections.finding_details(finding, lang)
    _out(console)
    _out(
        console,
        _line(
            (f" {t(lang, f'report.severity.{severity}')} ", _SEVERITY_STYLES.get(severity, "bold")),
            " ",
            (clean_text(finding.get("title")), "bold"),
            " ",
            (f"({clean_text(finding.get('rule_id'))})", "dim"),
            _SEP,
            _SEP.join(details),
        ),
    )
    gains = sections.gains_parts(finding, lang)
    if gains:
        label = t(lang, "report.finding.gains")
        _out(console, _labelled(label, _SEP.join(gains), "bold green"), indent=2)
    for key in ("why", "how"):
        if finding.get(key):
            lines = [clean_text(part) for part in str(finding[key]).splitlines()]
            text = "\n".join(line for line in lines if line.strip())
            _out(console, _labelled(t(lang, f"report.finding.{key}"), text), indent=2)
    examples, note = sections.evidence(finding, lang)
    if examples.rows:
        table = _table(*zip(examples.headers, examples.numeric, strict=True))
        for row in examples.rows:
            _add_row(table, *row)
        _out(console, table, indent=4)
    if note:
        _out(console, Text(note, style="dim"), indent=4)


def _plan(report: dict, console: Console, lang: str) -> None:
    _heading(console, t(lang, "report.section.plan"))
    if not report.get("findings"):
        _out(console, t(lang, "report.section.no_findings"))
        return
    for name, findings in sections.plan_sections(report):
        _out(console)
        title = t(lang, f"report.section.{name}")
        _out(console, _line((f" {title} ", "bold reverse"), f" ({len(findings)})"))
        if not findings:
            _out(console, Text(t(lang, "report.section.empty"), style="dim"), indent=2)
        for finding in findings:
            _finding(finding, console, lang)
    total = sections.reclaimable_line(report, lang)
    if total:
        _out(console)
        _out(console, Text(total, style="bold green"))


def _climate(report: dict, console: Console, lang: str) -> None:
    lines = sections.climate_lines(report, lang)
    if not lines:
        return
    _heading(console, t(lang, "report.climate.title"))
    for line in lines:
        _out(console, f"- {line}")


def _errors(report: dict, console: Console, lang: str) -> None:
    lines = sections.error_lines(report, lang)
    if not lines:
        return
    _heading(console, t(lang, "report.section.errors"))
    for line in lines:
        _out(console, f"- {line}")


def _not_checked(report: dict, console: Console, lang: str) -> None:
    lines = sections.not_checked_lines(report)
    if not lines:
        return
    _heading(console, t(lang, "report.section.not_checked"))
    for line in lines:
        _out(console, f"- {line}")


def _footer(report: dict, console: Console, lang: str) -> None:
    figures = report.get("figures") or []
    if not figures:
        return
    _heading(console, t(lang, "report.section.figures"))
    for figure in figures:
        parts = [clean_text(figure.get(k)) for k in ("label", "source", "url") if figure.get(k)]
        _out(console, Text("- " + " — ".join(parts), style="dim"))


def _help(report: dict, console: Console, lang: str) -> None:
    links = report.get("help") or []
    if not links:
        return
    _heading(console, t(lang, "report.section.help"))
    for link in links:
        parts = [clean_text(link.get(k)) for k in ("name", "what", "url") if link.get(k)]
        _out(console, "- " + " — ".join(parts))


def render_text(report: dict, console: Console) -> None:
    """Print `report` on `console` in the report's language ("en" or "fr")."""
    lang = report.get("language") or "en"
    _header(report, console, lang)
    _trend(report, console, lang)
    _summary(report, console, lang, "fleet")
    _hosts(report, console, lang)
    _summary(report, console, lang, "mailboxes")
    _plan(report, console, lang)
    _climate(report, console, lang)
    _errors(report, console, lang)
    _not_checked(report, console, lang)
    _help(report, console, lang)
    _footer(report, console, lang)

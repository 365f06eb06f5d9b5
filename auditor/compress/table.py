"""The table printed at the end of `auditor compress`: each file, before, after, why."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from auditor.compress.runner import FileResult
from auditor.i18n import plural, t
from auditor.i18n.format import clean_text, co2_range, format_bytes, format_number
from auditor.impact import storage_co2e_kg_per_year


def _shown_name(result: FileResult, cwd: Path) -> str:
    try:
        return str(result.source.resolve().relative_to(cwd))
    except ValueError:
        return str(result.source)


def result_line(result: FileResult, lang: str, dry_run: bool) -> str:
    """What happened to one file, in words: "written: photo.light.jpg" or the reason kept."""
    outcome = result.outcome
    if result.error:
        return result.error.localized(lang)
    if outcome.status == "smaller":
        key = "compress.table.would_write" if dry_run else "compress.table.written"
        text = t(lang, key, path=result.target.name if result.target else "")
    else:
        reason = outcome.reason
        text = reason.localized(lang) if reason else t(lang, f"compress.status.{outcome.status}")
    notes = [t(lang, note) for note in outcome.notes]
    return "; ".join([text, *notes])


def ratio(result: FileResult) -> float | None:
    before = result.outcome.size_before
    return result.size_after / before if before else None


def render_table(results: list[FileResult], lang: str, dry_run: bool, console: Console) -> None:
    cwd = Path.cwd().resolve()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(t(lang, "compress.table.file"), overflow="fold")
    for key in ("before", "after", "ratio", "ssim"):
        table.add_column(t(lang, f"compress.table.{key}"), justify="right", no_wrap=True)
    table.add_column(t(lang, "compress.table.result"), overflow="fold")
    for r in results:
        r_ratio = ratio(r)
        table.add_row(
            clean_text(_shown_name(r, cwd)),
            format_bytes(r.outcome.size_before, lang),
            format_bytes(r.size_after, lang),
            format_number(r_ratio * 100, lang) + " %" if r_ratio is not None else "—",
            format_number(r.outcome.ssim, lang, 3) if r.outcome.ssim is not None else "—",
            clean_text(result_line(r, lang, dry_run)),
        )
    console.print(table)
    console.print(summary_line(results, lang, dry_run))


def summary_line(results: list[FileResult], lang: str, dry_run: bool) -> str:
    """The total saved and its yearly CO2e range, one line."""
    before = sum(r.outcome.size_before for r in results)
    after = sum(r.size_after for r in results)
    saved = before - after
    low, high = storage_co2e_kg_per_year(saved)
    lighter = sum(1 for r in results if r.saved > 0)
    return t(
        lang,
        "compress.table.total_dry" if dry_run else "compress.table.total",
        files=plural(lang, "compress.table.files", len(results)),
        lighter=plural(
            lang, "compress.table.lighter_dry" if dry_run else "compress.table.lighter", lighter
        ),
        before=format_bytes(before, lang),
        after=format_bytes(after, lang),
        saved=format_bytes(saved, lang),
        co2=co2_range(low, high, lang) or "0",
    )

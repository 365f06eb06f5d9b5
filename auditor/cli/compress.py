"""`auditor compress`: lighter photos and PDFs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from auditor.cli.common import (
    EXIT_PARTIAL,
    EXIT_USAGE,
    language,
)
from auditor.cli.options import (
    HELP_LANG,
    debug_option,
    lang_option,
)
from auditor.errors import (
    ConfigError,
)
from auditor.i18n import t


def _ch(key: str) -> str:
    return t(HELP_LANG, f"compress.help.{key}")


@click.command(help=_ch("command"), epilog=_ch("examples"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--for",
    "preset_name",
    type=click.Choice(["email", "screen", "print"]),
    default="email",
    show_default=True,
    help=_ch("preset"),
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help=_ch("out"))
@click.option("--in-place", is_flag=True, help=_ch("in_place"))
@click.option("--no-backup", is_flag=True, help=_ch("no_backup"))
@click.option("--dry-run", is_flag=True, help=_ch("dry_run"))
@click.option("--max-px", type=click.IntRange(min=16), metavar="N", help=_ch("max_px"))
@click.option("--quality", type=click.IntRange(1, 100), metavar="N", help=_ch("quality"))
@click.option("--dpi", type=click.IntRange(min=36), metavar="N", help=_ch("dpi"))
@click.option("--format", "image_format", type=click.Choice(["webp"]), help=_ch("image_format"))
@click.option(
    "--engine",
    type=click.Choice(["auto", "pypdf", "ghostscript"]),
    default="auto",
    show_default=True,
    help=_ch("engine"),
)
@click.option("--jobs", type=click.IntRange(min=1), metavar="N", help=_ch("jobs"))
@click.option("--keep-location", is_flag=True, help=_ch("keep_location"))
@click.option("--quiet", "-q", is_flag=True, help=_ch("quiet"))
@lang_option
@debug_option
def compress(
    paths: tuple[Path, ...],
    preset_name: str,
    out_dir: Path | None,
    in_place: bool,
    no_backup: bool,
    dry_run: bool,
    max_px: int | None,
    quality: int | None,
    dpi: int | None,
    image_format: str | None,
    engine: str,
    jobs: int | None,
    keep_location: bool,
    quiet: bool,
    lang: str | None,
) -> None:
    from auditor.compress.presets import make_preset
    from auditor.compress.runner import find_files
    from auditor.compress.table import render_table

    lang = language(lang)
    if in_place and out_dir is not None:
        raise ConfigError("compress.error.in_place_out")
    if no_backup and not in_place:
        raise ConfigError("compress.error.no_backup_alone")
    if out_dir is not None:  # its subfolders are made, not --out itself (a missing USB stick)
        from auditor.files import require_folder

        require_folder(out_dir.expanduser(), at="--out")
    preset = make_preset(
        preset_name,
        max_px=max_px,
        quality=quality,
        dpi=dpi,
        image_format=image_format,
        keep_location=keep_location or None,
    )
    files, errors = find_files(paths)
    for missing in errors:
        click.echo(f"auditor: {t(lang, 'compress.error.missing', path=missing)}", err=True)
    if not files:
        if errors:
            sys.exit(EXIT_USAGE)
        if not quiet:
            click.echo(t(lang, "compress.table.nothing"))
        return
    console = Console(stderr=True)
    show_progress = not quiet and console.is_terminal and len(files) > 1
    results = _compress_with_progress(
        files,
        preset,
        console if show_progress else None,
        engine=engine,
        out_dir=out_dir,
        in_place=in_place,
        keep_backup=not no_backup,
        dry_run=dry_run,
        jobs=jobs,
    )
    for r in results:
        if r.error:
            click.echo(f"auditor: {r.error.localized(lang)}", err=True)
        elif r.outcome.status == "skipped":
            reason = r.outcome.reason.localized(lang) if r.outcome.reason else ""
            click.echo(f"auditor: {t(lang, 'errors.at', where=r.source, line=reason)}", err=True)
    if not quiet:
        render_table(results, lang, dry_run, Console(soft_wrap=False))
    if errors or any(r.error or r.outcome.status == "skipped" for r in results):
        sys.exit(EXIT_PARTIAL)


def _compress_with_progress(files, preset, console: Console | None, **options):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from auditor.compress.runner import compress_paths

    if console is None:
        return compress_paths(files, preset, **options)
    with Progress(
        BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task("", total=len(files))
        return compress_paths(files, preset, on_done=lambda _r: progress.advance(task), **options)

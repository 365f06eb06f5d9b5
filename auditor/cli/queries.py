"""Questions to the store: `auditor query` (your own SQL, read-only) and `auditor history`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from auditor.cli.common import (
    language,
    read_config,
    store_path,
)
from auditor.cli.options import (
    config_option,
    db_option,
    debug_option,
    h,
    lang_option,
)
from auditor.errors import (
    StoreError,
)
from auditor.i18n import t
from auditor.store.sandbox import QUERY_ROWS, QUERY_SECONDS


def _print_rows(columns: list[str], rows: list[tuple], fmt: str) -> None:
    if fmt == "json":
        click.echo(
            json.dumps(
                [dict(zip(columns, r, strict=True)) for r in rows],
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
    elif fmt == "csv":  # mail-derived text cannot become a spreadsheet formula
        from auditor.report.spreadsheet import csv_text

        click.echo(csv_text(columns, rows), nl=False)
    else:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for c in columns:
            table.add_column(c)
        for r in rows:
            table.add_row(*["" if v is None else str(v) for v in r])
        Console().print(table)


@click.command(help=h("query"), epilog=h("query_examples"))
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help=h("format_csv"),
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0.1),
    default=QUERY_SECONDS,
    show_default=True,
    metavar="N",
    help=h("max_seconds"),
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=QUERY_ROWS,
    show_default=True,
    metavar="N",
    help=h("max_rows"),
)
@db_option
@config_option
@debug_option
def query(
    sql: str,
    fmt: str,
    max_seconds: float,
    max_rows: int,
    db_path: Path | None,
    config_path: Path | None,
) -> None:
    import sqlite3

    from auditor.store import Store
    from auditor.store.sandbox import Limits, Sandbox, SqlRefused

    store = Store.open_readonly(store_path(db_path, read_config(config_path)))
    # reads only, known functions only, bounded in time and rows (auditor.store.sandbox)
    sandbox = Sandbox(store.conn, Limits(max_seconds, max_rows))
    try:
        cur = sandbox.execute(sql)
        columns = [d[0] for d in cur.description or []]
        rows = [tuple(r) for r in sandbox.rows(cur)]
    except SqlRefused as exc:
        raise StoreError(f"errors.query.{exc.reason}", **exc.values) from None
    except sqlite3.Error as exc:
        raise StoreError("errors.store.query", error=exc) from None
    finally:
        store.close()
    _print_rows(columns, rows, fmt)


# shown in the terminal (an 80-column table); JSON and CSV carry every indicator
HISTORY_TEXT_COLUMNS = (
    "run",
    "started",
    "score",
    "mailbox_bytes",
    "heavy_attachments",
    "unread_newsletters",
    "unprotected_machines",
    "unsupported_os",
)


@click.command(help=h("history"), epilog=h("history_examples"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help=h("format_csv"),
)
@click.option(
    "--limit", type=click.IntRange(1), metavar="N", default=24, show_default=True, help=h("limit")
)
@lang_option
@db_option
@config_option
@debug_option
def history(
    fmt: str, limit: int, lang: str | None, db_path: Path | None, config_path: Path | None
) -> None:
    import sqlite3

    from auditor.report.trends import INDICATORS, indicators
    from auditor.store import Store

    config = read_config(config_path)
    lang = language(lang or config.language)
    path = store_path(db_path, config)
    with Store.open_readonly(path) as store:
        try:
            columns = ["run", "started", "status", *INDICATORS]
            rows = [
                (*run, *indicators(store.conn, run[0]).values()) for run in store.ended_runs(limit)
            ]
        except sqlite3.DatabaseError as exc:  # a truncated or overwritten file: one line
            raise StoreError("errors.store.damaged", path=path, error=exc) from None
    if fmt == "text":
        from auditor.i18n.format import format_bytes, format_short_datetime

        keep = [columns.index(c) for c in HISTORY_TEXT_COLUMNS]
        headers = [t(lang, f"cli.history.{columns[i]}") for i in keep]

        def cell(column: str, value: object) -> object:
            if column == "mailbox_bytes":
                return format_bytes(value, lang)
            if column == "started":  # to the minute: two runs of one day differ
                return format_short_datetime(str(value), lang)
            if column == "status":
                return t(lang, f"cli.status.{value}")
            return value

        # a partial run is marked "3*" and explained under the table
        shown = [
            (f"{r[0]}*" if r[2] == "partial" else r[0], *(cell(columns[i], r[i]) for i in keep[1:]))
            for r in rows
        ]
        _print_rows(headers, shown, fmt)
        if any(r[2] == "partial" for r in rows):
            click.echo(t(lang, "cli.history.partial_note"))
    else:
        _print_rows(columns, rows, fmt)

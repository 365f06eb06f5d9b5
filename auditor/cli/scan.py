"""`auditor scan` and `auditor report`: a run into the store, and its report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from auditor.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_PARTIAL,
    check_email_settings,
    imap_accounts,
    language,
    loaded_rules,
    read_config,
    store_path,
    write_report,
)
from auditor.cli.options import (
    config_option,
    db_option,
    debug_option,
    h,
    lang_option,
    output_option,
    rules_dir_option,
)
from auditor.config import SEVERITIES, Config
from auditor.errors import (
    AuditorError,
    ConfigError,
    StoreError,
    localized,
)
from auditor.i18n import t


@click.command(help=h("scan"), epilog=h("scan_examples"))
@click.option("--demo", is_flag=True, help=h("demo"))
@click.option("--mbox", multiple=True, type=click.Path(path_type=Path), help=h("mbox"))
@click.option("--maildir", multiple=True, type=click.Path(path_type=Path), help=h("maildir"))
@click.option("--imap", "imap_urls", multiple=True, metavar="URL", help=h("imap"))
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help=h("ca_file"))
@click.option(
    "--inventory",
    "inventory_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help=h("inventory_dir"),
)
@click.option("--no-mail", is_flag=True, help=h("no_mail"))
@click.option("--no-host", is_flag=True, help=h("no_host"))
@click.option("--compress-attachments", is_flag=True, help=h("compress_attachments"))
@click.option("--compress-budget", metavar="SIZE|TIME", help=h("compress_budget"))
@click.option(
    "--light-copies", type=click.Path(path_type=Path), metavar="DIR", help=h("light_copies")
)
@rules_dir_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "html"]),
    default="text",
    show_default=True,
    help=h("format"),
)
@output_option
@click.option("--send", is_flag=True, help=h("send"))
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "never"]), help=h("fail_on"))
@click.option("--quiet", "-q", is_flag=True, help=h("quiet"))
@lang_option
@db_option
@config_option
@debug_option
def scan(
    demo: bool,
    mbox: tuple[Path, ...],
    maildir: tuple[Path, ...],
    imap_urls: tuple[str, ...],
    ca_file: str | None,
    inventory_dirs: tuple[Path, ...],
    no_mail: bool,
    no_host: bool,
    compress_attachments: bool,
    compress_budget: str | None,
    light_copies: Path | None,
    rules_dirs: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    send: bool,
    fail_on: str | None,
    quiet: bool,
    lang: str | None,
    db_path: Path | None,
    config_path: Path | None,
) -> None:
    from auditor.rules.engine import check_overrides
    from auditor.scan import MailSource, ScanRequest, run_scan
    from auditor.store import Store

    config, lang = _settings(config_path, lang, send)
    if output is not None:  # before scanning, not after: the folder must exist
        from auditor.files import require_folder

        require_folder(output.expanduser().parent, at=str(output.expanduser()))
    if config.impact:  # [impact] figure overrides; an unknown id is one line naming it
        from auditor.impact import override_figures

        override_figures(config.impact)
    store = Store.open(store_path(db_path, config))
    try:
        rules = loaded_rules(rules_dirs, config, schema=store.conn)  # EXPLAIN against it
        check_overrides(rules.rules, config.rule_params, config.disabled_rules, config.path)
    except BaseException:
        store.close()
        raise

    request = ScanRequest(scan_host=not no_host, inventory_dirs=list(inventory_dirs))
    _measure_options(request, config, compress_attachments, compress_budget, light_copies)
    if not no_mail:
        if demo:
            from auditor.demo import DEMO_DATE, demo_mailbox_dir

            request.mail_sources.append(MailSource("demo", "demo", demo_mailbox_dir()))
            request.now = DEMO_DATE  # the demo mailbox is judged as of the day it depicts
        for p in [*mbox, *map(Path, config.mbox)]:
            request.mail_sources.append(MailSource("mbox", str(p), Path(p).expanduser()))
        for p in [*maildir, *map(Path, config.maildir)]:
            request.mail_sources.append(MailSource("maildir", str(p), Path(p).expanduser()))
        request.imap_accounts = imap_accounts(config, imap_urls, ca_file, lang)
    err = Console(stderr=True)
    if not request.mail_sources and not request.imap_accounts and not no_mail and not quiet:
        err.print(t(lang, "cli.scan.no_mailbox"), highlight=False)

    try:
        show_progress = err.is_terminal and not quiet
        if show_progress:
            from auditor.progress import ScanProgress

            with ScanProgress(err, lang) as bar:
                result = run_scan(
                    store,
                    request,
                    config,
                    rules,
                    progress=bar.source,
                    imap_progress=bar.account,
                )
        else:
            result = run_scan(store, request, config, rules)
        # with --quiet and no file to write, nobody reads a report: do not build one
        needed = output is not None or fmt != "text" or not quiet or send
        report = None
        if needed:
            from auditor.report.model import build_report

            report = build_report(
                store.conn, result.run_id, lang, rules.by_id(), association=config.association
            )
    finally:
        store.close()

    if report is not None:
        _emit_report(report, fmt, output, quiet, lang)
    for line in result.errors:
        if quiet or output or fmt != "text":
            click.echo(f"auditor: {localized(line, lang)}", err=True)
    code = _exit_code(result, fail_on or config.fail_on)
    if send and report is not None and not _send_report(report, config, lang, quiet):
        code = EXIT_PARTIAL
    sys.exit(code)


def _settings(config_path: Path | None, lang: str | None, send: bool) -> tuple[Config, str]:
    """The config, the language it and the options ask for, and (for --send) checked mail
    settings: what `scan` and `report` both need before they start."""
    config = read_config(config_path)
    lang = language(lang or config.language)
    if send:
        check_email_settings(config, lang)
    return config, lang


def _measure_options(
    request, config: Config, measure: bool, budget: str | None, light: Path | None
) -> None:
    """--compress-attachments and its budget and light-copies folder, checked before scanning."""
    from auditor.config import DEFAULT_BUDGET, parse_budget

    request.compress_attachments = measure or config.compress_attachments
    request.compress_budget = budget or config.compress_budget or DEFAULT_BUDGET
    parse_budget(request.compress_budget)  # a bad one is one line, before any connection
    if light is not None:
        if not request.compress_attachments:
            raise ConfigError("cli.scan.light_needs_measure")
        from auditor.files import require_folder

        require_folder(light.expanduser(), at="--light-copies")
        request.light_copies = light.expanduser()


def _emit_report(report: dict, fmt: str, output: Path | None, quiet: bool, lang: str) -> None:
    """The report to `output` (atomically), or on stdout: text on the terminal, unless quiet."""
    from auditor.report import render

    if output:
        write_report(output, render(report, fmt))
        if not quiet:
            click.echo(t(lang, "cli.scan.written", path=str(output)))
    elif fmt == "text":
        if not quiet:
            from auditor.report.render_text import render_text

            render_text(report, Console())
    else:
        click.echo(render(report, fmt), nl=False)


def _send_report(report: dict, config: Config, lang: str, quiet: bool) -> bool:
    """Email `report` (text + HTML); keep the HTML on disk first so a failure loses nothing."""
    import platformdirs

    from auditor.report import render_html, render_text_string
    from auditor.report.send import build_message, send_report, smtp_password

    html = render_html(report)
    folder = Path(platformdirs.user_data_dir("auditor", appauthor=False)) / "reports"
    kept = folder / f"report-{report['run']['id']}-{report['language']}.html"
    write_report(kept, html, private_folder=True)
    message = build_message(
        report, render_text_string(report), html, config.email, config.association
    )
    try:
        send_report(message, config.email, smtp_password(config.email))
    except AuditorError as exc:  # SMTP refused, or no password: the report is kept either way
        click.echo(f"auditor: {exc.localized(lang)}", err=True)
        click.echo(f"auditor: {t(lang, 'cli.send.kept', path=str(kept))}", err=True)
        return False
    if not quiet:
        click.echo(t(lang, "cli.send.sent", to=", ".join(config.email.to), path=str(kept)))
    return True


def _exit_code(result, fail_on: str) -> int:
    if result.status == "partial":
        return EXIT_PARTIAL
    if fail_on != "never":
        threshold = SEVERITIES.index(fail_on)
        if any(SEVERITIES.index(f.rule.severity) >= threshold for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_OK


@click.command("report", help=h("report"), epilog=h("report_examples"))
@click.option("--run", "run_id", type=click.IntRange(1), metavar="N", help=h("report_run"))
@click.option("--compare-to", type=click.IntRange(1), metavar="N", help=h("compare_to"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "html"]),
    default="text",
    show_default=True,
    help=h("format"),
)
@output_option
@click.option("--send", is_flag=True, help=h("send"))
@click.option("--quiet", "-q", is_flag=True, help=h("quiet"))
@rules_dir_option
@lang_option
@db_option
@config_option
@debug_option
def report_command(
    run_id: int | None,
    compare_to: int | None,
    fmt: str,
    output: Path | None,
    send: bool,
    quiet: bool,
    rules_dirs: tuple[Path, ...],
    lang: str | None,
    db_path: Path | None,
    config_path: Path | None,
) -> None:
    import sqlite3

    from auditor.report.model import build_report
    from auditor.store import Store

    config, lang = _settings(config_path, lang, send)
    path = store_path(db_path, config)
    store = Store.open_readonly(path)
    try:
        rules = loaded_rules(rules_dirs, config, schema=store.conn)
        if run_id is None:
            run_id = store.latest_finished_run()
            if run_id is None:
                raise ConfigError("cli.report.no_run")
        for wanted in (run_id, compare_to):
            if wanted is not None and not store.is_finished(wanted):
                raise ConfigError("cli.report.unknown_run", run=wanted)
        report = build_report(
            store.conn,
            run_id,
            lang,
            rules.by_id(),
            compare_to=compare_to,
            association=config.association,
        )
    except sqlite3.DatabaseError as exc:  # a truncated or overwritten file: one line
        raise StoreError("errors.store.damaged", path=path, error=exc) from None
    finally:
        store.close()
    _emit_report(report, fmt, output, quiet, lang)
    if send and not _send_report(report, config, lang, quiet):
        sys.exit(EXIT_PARTIAL)

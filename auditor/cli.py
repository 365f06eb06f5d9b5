"""The `auditor` command. Thin: parse options, call the library, print."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from auditor import __version__
from auditor.config import SEVERITIES, Config, default_config_path, load_config
from auditor.errors import (
    AuditorError,
    ConfigError,
    StoreError,
    internal_error,
    localized,
    under,
)
from auditor.i18n import click_messages, pick_language, t
from auditor.store.sandbox import QUERY_ROWS, QUERY_SECONDS


def _language_asked(words: list[str]) -> str | None:
    """The value of --lang among command-line words, before Click parses them."""
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word == "--lang" or word.startswith("--lang="):
            return word.partition("=")[2] or following
    return None


# Help texts are set when the commands below are defined: in --lang's language when the
# command line has one (`auditor scan --lang fr --help`), else the locale's.
HELP_LANG = pick_language(_language_asked(sys.argv[1:]))
click_messages.install(HELP_LANG)  # before the options below: Click names its types at import


def _h(key: str) -> str:
    return t(HELP_LANG, f"cli.help.{key}")


EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERNAL = 0, 1, 2, 3, 4


class AuditorGroup(click.Group):
    """Turns every AuditorError into one line on stderr and its exit code."""

    def main(self, args=None, *rest, **kwargs):
        # Click reports a bad option before --lang's callback runs: read --lang first
        words = list(sys.argv[1:] if args is None else args)
        click_messages.remember_language(_language_asked(words))
        return super().main(args, *rest, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            if ctx.meta.get("auditor.debug"):
                traceback.print_exc()
            lang = pick_language(ctx.meta.get("auditor.lang"))
            click.echo(f"auditor: {exc.localized(lang)}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: one line that says what to do, never a traceback
            if ctx.meta.get("auditor.debug"):
                traceback.print_exc()
            lang = pick_language(ctx.meta.get("auditor.lang"))
            click.echo(f"auditor: {internal_error(exc).localized(lang)}", err=True)
            ctx.exit(EXIT_INTERNAL)


def _debug_option(f):
    def set_debug(ctx: click.Context, _param, value: bool) -> bool:
        if value:
            ctx.meta["auditor.debug"] = True
        return value

    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        callback=set_debug,
        is_eager=True,
        help=_h("debug"),
    )(f)


def _config_option(f):
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=_h("config"),
    )(f)


def _db_option(f):
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), help=_h("db")
    )(f)


def _output_option(f):
    return click.option(
        "--output", type=click.Path(dir_okay=False, path_type=Path), help=_h("output")
    )(f)


GROUP_LANG = "auditor.group_lang"  # `auditor --lang fr …`: the commands' default language


def _group_lang_option(f):
    """--lang before the command (`auditor --lang fr --help`): the help texts were already
    chosen from the command line (HELP_LANG); the commands below take it as their --lang."""

    def remember(ctx: click.Context, _param, value: str | None) -> str | None:
        if value:
            ctx.meta[GROUP_LANG] = ctx.meta["auditor.lang"] = value
            click_messages.remember_language(value)
        return value

    return click.option(
        "--lang",
        type=click.Choice(["fr", "en"]),
        callback=remember,
        is_eager=True,
        expose_value=False,
        help=_h("lang"),
    )(f)


def _lang_option(f):
    def remember(ctx: click.Context, _param, value: str | None) -> str | None:
        value = value or ctx.meta.get(GROUP_LANG)  # `auditor --lang fr scan`: the group's
        if value:
            ctx.meta["auditor.lang"] = value  # error lines use it too (meta is shared)
            click_messages.remember_language(value)
        return value

    return click.option(
        "--lang", type=click.Choice(["fr", "en"]), callback=remember, is_eager=True, help=_h("lang")
    )(f)


def _language(requested: str | None) -> str:
    """The command's language (--lang, else the config's, else the locale), also for its
    error lines."""
    lang = pick_language(requested)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta["auditor.lang"] = lang
    click_messages.remember_language(lang)
    return lang


def _rules_dir_option(f):
    return click.option(
        "--rules",
        "rules_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=_h("rules_dir"),
    )(f)


def _load_rules(rules_dirs: tuple[Path, ...], config: Config, schema=None):
    from auditor.rules.loader import load_rules

    extra = [*rules_dirs, *[Path(d).expanduser() for d in config.rules_dirs]]
    return load_rules(extra, schema)


def _store_path(db_path: Path | None, config: Config) -> Path:
    from auditor.store import default_store_path

    if db_path:
        return db_path
    if config.store:
        return Path(config.store).expanduser()
    return default_store_path()


def _load(config_path: Path | None) -> Config:
    return load_config(config_path)


@click.group(
    cls=AuditorGroup,
    help=_h("main"),
    epilog=_h("main_examples"),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="auditor")
@_group_lang_option
def main() -> None:
    pass


# --------------------------------------------------------------------------- scan


@main.command(help=_h("scan"), epilog=_h("scan_examples"))
@click.option("--demo", is_flag=True, help=_h("demo"))
@click.option("--mbox", multiple=True, type=click.Path(path_type=Path), help=_h("mbox"))
@click.option("--maildir", multiple=True, type=click.Path(path_type=Path), help=_h("maildir"))
@click.option("--imap", "imap_urls", multiple=True, metavar="URL", help=_h("imap"))
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help=_h("ca_file"))
@click.option(
    "--inventory",
    "inventory_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help=_h("inventory_dir"),
)
@click.option("--no-mail", is_flag=True, help=_h("no_mail"))
@click.option("--no-host", is_flag=True, help=_h("no_host"))
@_rules_dir_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "html"]),
    default="text",
    show_default=True,
    help=_h("format"),
)
@_output_option
@click.option("--send", is_flag=True, help=_h("send"))
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "never"]), help=_h("fail_on"))
@click.option("--quiet", "-q", is_flag=True, help=_h("quiet"))
@_lang_option
@_db_option
@_config_option
@_debug_option
def scan(
    demo: bool,
    mbox: tuple[Path, ...],
    maildir: tuple[Path, ...],
    imap_urls: tuple[str, ...],
    ca_file: str | None,
    inventory_dirs: tuple[Path, ...],
    no_mail: bool,
    no_host: bool,
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
    from auditor.store import open_store

    config = _load(config_path)
    lang = _language(lang or config.language)
    if send:
        _check_email_settings(config, lang)
    if output is not None:  # before scanning, not after: the folder must exist
        from auditor.files import require_folder

        require_folder(output.expanduser().parent, at=str(output.expanduser()))
    if config.impact:  # [impact] figure overrides; an unknown id is one line naming it
        from auditor.impact import override_figures

        override_figures(config.impact)
    db = _store_path(db_path, config)
    conn = open_store(db)
    try:
        rules = _load_rules(rules_dirs, config, schema=conn)  # EXPLAIN against the store
        check_overrides(rules.rules, config.rule_params, config.disabled_rules, config.path)
    except BaseException:
        conn.close()
        raise

    request = ScanRequest(scan_host=not no_host, inventory_dirs=list(inventory_dirs))
    if not no_mail:
        if demo:
            from auditor.demo import DEMO_DATE, demo_mailbox_dir

            request.mail_sources.append(MailSource("demo", "demo", demo_mailbox_dir()))
            request.now = DEMO_DATE  # the demo mailbox is judged as of the day it depicts
        for p in [*mbox, *map(Path, config.mbox)]:
            request.mail_sources.append(MailSource("mbox", str(p), Path(p).expanduser()))
        for p in [*maildir, *map(Path, config.maildir)]:
            request.mail_sources.append(MailSource("maildir", str(p), Path(p).expanduser()))
        request.imap_accounts = _imap_accounts(config, imap_urls, ca_file, lang)
    err = Console(stderr=True)
    if not request.mail_sources and not request.imap_accounts and not no_mail and not quiet:
        err.print(t(lang, "cli.scan.no_mailbox"), highlight=False)

    try:
        show_progress = err.is_terminal and not quiet
        if show_progress:
            from auditor.progress import ScanProgress

            with ScanProgress(err, lang) as bar:
                result = run_scan(
                    conn,
                    db,
                    request,
                    config,
                    rules,
                    progress=bar.source,
                    imap_progress=bar.account,
                )
        else:
            result = run_scan(conn, db, request, config, rules)
        # with --quiet and no file to write, nobody reads a report: do not build one
        needed = output is not None or fmt != "text" or not quiet or send
        report = None
        if needed:
            from auditor.report.model import build_report

            report = build_report(
                conn, result.run_id, lang, rules.by_id(), association=config.association
            )
    finally:
        conn.close()

    if report is not None:
        _emit_report(report, fmt, output, quiet, lang)
    for line in result.errors:
        if quiet or output or fmt != "text":
            click.echo(f"auditor: {localized(line, lang)}", err=True)
    code = _exit_code(result, fail_on or config.fail_on)
    if send and report is not None and not _send_report(report, config, lang, quiet):
        code = EXIT_PARTIAL
    sys.exit(code)


def _emit_report(report: dict, fmt: str, output: Path | None, quiet: bool, lang: str) -> None:
    """The report to `output` (atomically), or on stdout: text on the terminal, unless quiet."""
    from auditor.report import render

    if output:
        _write_report(output, render(report, fmt))
        if not quiet:
            click.echo(t(lang, "cli.scan.written", path=str(output)))
    elif fmt == "text":
        if not quiet:
            from auditor.report.render_text import render_text

            render_text(report, Console())
    else:
        click.echo(render(report, fmt), nl=False)


def _check_email_settings(config: Config, lang: str) -> None:
    """--send needs [report.email] with a server and recipients: say so before scanning."""
    email = config.email
    if not email.smtp_host or not email.to or not email.sender:
        raise ConfigError("cli.send.not_configured", path=str(config.path or "auditor.toml"))
    from auditor.report.send import check_password_source

    check_password_source(email)  # keyring = true where no keyring works


def _send_report(report: dict, config: Config, lang: str, quiet: bool) -> bool:
    """Email `report` (text + HTML); keep the HTML on disk first so a failure loses nothing."""
    import platformdirs

    from auditor.report import render_html, render_text_string
    from auditor.report.send import build_message, send_report, smtp_password

    html = render_html(report)
    folder = Path(platformdirs.user_data_dir("auditor", appauthor=False)) / "reports"
    kept = folder / f"report-{report['run']['id']}-{report['language']}.html"
    _write_report(kept, html, private_folder=True)
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


def _imap_accounts(config: Config, urls: tuple[str, ...], ca_file: str | None, lang: str) -> list:
    from auditor.accounts import account_from_url, accounts_from_config

    accounts = accounts_from_config(config)
    interactive = sys.stdin.isatty()

    def ask(account: str) -> str:
        question = t(lang, "cli.prompt.password", account=account)
        return click.prompt(question, hide_input=True, err=True)

    prompt = ask if interactive else None
    accounts += [account_from_url(url, ca_file, prompt) for url in urls]
    if ca_file:
        for account in accounts:
            account.ca_file = account.ca_file or ca_file
    seen: dict[str, str] = {}
    for account in accounts:
        if account.locator in seen:
            raise ConfigError(
                "errors.accounts.same_mailbox",
                first=seen[account.locator],
                second=account.name,
                locator=account.locator,
            )
        seen[account.locator] = account.name
    return accounts


def _write_report(path: Path, text: str, *, private_folder: bool = False) -> None:
    """Write atomically and readable by its owner only (0600): a report holds subjects,
    senders and file names, like the store. The temporary file is created by mkstemp in the
    target's folder, so no symlink planted by another user can redirect the write (a run is
    often root's, from cron). `private_folder`: a folder auditor creates for it is 0700."""
    from auditor.files import atomic_write_text, require_folder

    path = path.expanduser()
    if not private_folder:  # the user's --output: a missing folder is not made up
        require_folder(path.parent, at=str(path))
    try:
        if private_folder:  # auditor's own folder of kept reports
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_text(path, text)
    except OSError as exc:
        error = exc.strerror or type(exc).__name__
        raise ConfigError("errors.report.unwritable", path=path, error=error) from None


def _exit_code(result, fail_on: str) -> int:
    if result.status == "partial":
        return EXIT_PARTIAL
    if fail_on != "never":
        threshold = SEVERITIES.index(fail_on)
        if any(SEVERITIES.index(f.rule.severity) >= threshold for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_OK


# --------------------------------------------------------------------------- rules


@main.group(cls=AuditorGroup, help=_h("rules"), epilog=_h("rules_examples"))
def rules() -> None:
    pass


@rules.command("list", help=_h("rules_list"), epilog=_h("rules_list_examples"))
@_rules_dir_option
@_lang_option
@_config_option
@_debug_option
def rules_list(rules_dirs: tuple[Path, ...], lang: str | None, config_path: Path | None) -> None:
    config = _load(config_path)
    lang = _language(lang or config.language)
    loaded = _load_rules(rules_dirs, config)
    table = Table(title=t(lang, "cli.rules.title", count=len(loaded.rules)))
    for key in ("id", "severity", "category", "effort", "title"):
        table.add_column(t(lang, f"cli.rules.col_{key}"))
    for rule in sorted(loaded.rules, key=lambda r: r.id):
        disabled = rule.id in config.disabled_rules
        title = rule.title[lang] + (f" ({t(lang, 'cli.rules.disabled')})" if disabled else "")
        table.add_row(
            rule.id,
            t(lang, f"report.severity.{rule.severity}"),
            t(lang, f"report.category.{rule.category}"),
            t(lang, f"report.effort.{rule.effort}"),
            title,
        )
    Console().print(table)
    for line in loaded.errors:
        click.echo(f"auditor: {localized(line, lang)}", err=True)
    if loaded.errors:
        sys.exit(EXIT_USAGE)


@rules.command("explain", help=_h("rules_explain"), epilog=_h("rules_explain_examples"))
@click.argument("rule_id")
@_rules_dir_option
@_lang_option
@_config_option
@_debug_option
def rules_explain(
    rule_id: str, rules_dirs: tuple[Path, ...], lang: str | None, config_path: Path | None
) -> None:
    from auditor.rules.engine import bound_params

    config = _load(config_path)
    lang = _language(lang or config.language)
    loaded = _load_rules(rules_dirs, config)
    by_id = {r.id.upper(): r for r in loaded.rules} | {r.slug: r for r in loaded.rules}
    rule = by_id.get(rule_id.upper()) or by_id.get(rule_id)
    if rule is None:
        known = ", ".join(sorted(r.id for r in loaded.rules))
        raise ConfigError("cli.rules.unknown", rule_id=rule_id, known=known)
    current = bound_params(rule, config.rule_params, config.path)
    out = [
        f"{rule.id} ({rule.slug}): {rule.title[lang]}",
        "",
        f"{t(lang, 'cli.rules.col_severity')}: {t(lang, f'report.severity.{rule.severity}')}"
        f"   {t(lang, 'cli.rules.col_category')}: {t(lang, f'report.category.{rule.category}')}"
        f"   {t(lang, 'cli.rules.col_effort')}: {t(lang, f'report.effort.{rule.effort}')}"
        f"   {t(lang, 'cli.rules.gesture')}: {t(lang, f'cli.gesture.{rule.gesture}')}",
        "",
        f"## {t(lang, 'cli.rules.why')}",
        rule.why[lang],
        "",
        f"## {t(lang, 'cli.rules.how')}",
        rule.how[lang],
        "",
        f"## {t(lang, 'cli.rules.params')}",
    ]
    if not rule.params:
        out.append(t(lang, "cli.rules.no_params"))
    for p in rule.params:
        line = f"- {p.name} = {p.default!r}: {p.doc[lang]}"
        if current[p.name] != p.default:
            line += f" ({t(lang, 'cli.rules.configured', value=repr(current[p.name]))})"
        out.append(line)
    out += ["", f"## {t(lang, 'cli.rules.query')}", rule.sql, "", f"({rule.pack})"]
    click.echo("\n".join(out))


# --------------------------------------------------------------------------- query


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


@main.command(help=_h("query"), epilog=_h("query_examples"))
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help=_h("format_csv"),
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0.1),
    default=QUERY_SECONDS,
    show_default=True,
    metavar="N",
    help=_h("max_seconds"),
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=QUERY_ROWS,
    show_default=True,
    metavar="N",
    help=_h("max_rows"),
)
@_db_option
@_config_option
@_debug_option
def query(
    sql: str,
    fmt: str,
    max_seconds: float,
    max_rows: int,
    db_path: Path | None,
    config_path: Path | None,
) -> None:
    import sqlite3

    from auditor.store import open_readonly
    from auditor.store.sandbox import Limits, Sandbox, SqlRefused

    conn = open_readonly(_store_path(db_path, _load(config_path)))
    # reads only, known functions only, bounded in time and rows (auditor.store.sandbox)
    sandbox = Sandbox(conn, Limits(max_seconds, max_rows))
    try:
        cur = sandbox.execute(sql)
        columns = [d[0] for d in cur.description or []]
        rows = [tuple(r) for r in sandbox.rows(cur)]
    except SqlRefused as exc:
        raise StoreError(f"errors.query.{exc.reason}", **exc.values) from None
    except sqlite3.Error as exc:
        raise StoreError("errors.store.query", error=exc) from None
    finally:
        conn.close()
    _print_rows(columns, rows, fmt)


# --------------------------------------------------------------------------- history


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


@main.command(help=_h("history"), epilog=_h("history_examples"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help=_h("format_csv"),
)
@click.option(
    "--limit", type=click.IntRange(1), metavar="N", default=24, show_default=True, help=_h("limit")
)
@_lang_option
@_db_option
@_config_option
@_debug_option
def history(
    fmt: str, limit: int, lang: str | None, db_path: Path | None, config_path: Path | None
) -> None:
    import sqlite3

    from auditor.report.trends import INDICATORS, indicators
    from auditor.store import open_readonly

    config = _load(config_path)
    lang = _language(lang or config.language)
    store = _store_path(db_path, config)
    conn = open_readonly(store)
    try:
        runs = conn.execute(
            "SELECT id, started_at, status FROM runs WHERE status != 'running' "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        columns = ["run", "started", "status", *INDICATORS]
        rows = [(*tuple(r), *indicators(conn, r[0]).values()) for r in runs]
    except sqlite3.DatabaseError as exc:  # a truncated or overwritten file: one line
        raise StoreError("errors.store.damaged", path=store, error=exc) from None
    finally:
        conn.close()
    if fmt == "text":
        from auditor.report.formatting import format_bytes, format_short_datetime

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


# --------------------------------------------------------------------------- init


@main.command(help=_h("init"), epilog=_h("init_examples"))
@_lang_option
@_config_option
@_debug_option
def init(lang: str | None, config_path: Path | None) -> None:
    from importlib import resources

    lang = _language(lang)
    path = (config_path or default_config_path()).expanduser()
    if path.exists():
        raise ConfigError("cli.init.exists", path=str(path))
    template = (resources.files("auditor") / "config_template.toml").read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as fh:  # "x": never overwrite
        fh.write(template)
    path.chmod(0o600)
    click.echo(t(lang, "cli.init.written", path=str(path)))


# --------------------------------------------------------------------------- inventory


@main.command(help=_h("inventory"), epilog=_h("inventory_examples"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auditor", "glpi"]),
    default="auditor",
    show_default=True,
    help=_h("inventory_format"),
)
@_output_option
@click.option("--overwrite", is_flag=True, help=_h("overwrite"))
@_lang_option
@_debug_option
def inventory(fmt: str, output: Path | None, overwrite: bool, lang: str | None) -> None:
    from datetime import UTC, datetime

    from auditor.collect.host.machine import collect_machine
    from auditor.inventory import auditor_inventory, glpi_inventory, write_inventory

    lang = _language(lang)
    machine = collect_machine()
    build = glpi_inventory if fmt == "glpi" else auditor_inventory
    doc = build(
        machine.host,
        hardware=machine.hardware,
        antivirus=machine.antivirus,
        batteries=machine.batteries,
        generated_at=datetime.now(UTC),
    )
    if output is None:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    write_inventory(doc, output, overwrite=overwrite)
    click.echo(t(lang, "cli.inventory.written", path=str(output), host=machine.host.hostname))
    for line in machine.host.errors:
        click.echo(f"auditor: {localized(under(line, machine.host.hostname), lang)}", err=True)


# --------------------------------------------------------------------------- update-data


@main.command("update-data", help=_h("update_data"), epilog=_h("update_data_examples"))
@click.option("--url", default=None, metavar="URL", help=_h("update_url"))
@_lang_option
@_debug_option
def update_data(url: str | None, lang: str | None) -> None:
    from auditor.collect.host.os_support import API_BASE
    from auditor.collect.host.os_support import update_data as refresh

    lang = _language(lang)
    line = refresh(base_url=url or API_BASE)  # OSDataError is a SourceError: one line, exit 3
    click.echo(localized(line, lang))


# --------------------------------------------------------------------------- advise

NEEDS = ("office", "video-calls", "photo", "video-editing")


@main.command(help=_h("advise"), epilog=_h("advise_examples"))
@click.option(
    "--needs",
    multiple=True,
    type=click.Choice(NEEDS),
    help=_h("needs"),
)
@click.option(
    "--inventory",
    "inventory_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=_h("advise_inventory"),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help=_h("format"),
)
@_output_option
@_lang_option
@_debug_option
def advise(
    needs: tuple[str, ...],
    inventory_dir: Path | None,
    fmt: str,
    output: Path | None,
    lang: str | None,
) -> None:
    from datetime import UTC, datetime

    from auditor.advise import advice_to_dict, render_advice_text
    from auditor.advise import advise as advise_machine
    from auditor.collect.host.machine import collect_machine, judge

    lang = _language(lang)
    wanted = list(needs) or ["office", "video-calls"]
    errors: list[str] = []
    if inventory_dir is not None:
        from auditor.inventory import read_inventory_dir

        today = datetime.now(UTC).date()
        from auditor.collect.host.identity import newest_per_machine

        found, errors = read_inventory_dir(inventory_dir)
        machines = newest_per_machine(
            [judge(m.host, m.hardware, m.antivirus, m.batteries, today) for m in found]
        )
    else:
        machines = [collect_machine()]
    advices = [advise_machine(m, wanted, lang) for m in machines]
    if fmt == "json":
        text = json.dumps(
            {"needs": wanted, "machines": [advice_to_dict(a) for a in advices]},
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    else:
        text = render_advice_text(advices, lang)
    if output:
        _write_report(output, text + "\n")
        click.echo(t(lang, "cli.scan.written", path=str(output)))
    else:
        click.echo(text)
    for line in errors:
        click.echo(f"auditor: {localized(line, lang)}", err=True)
    if errors:
        sys.exit(EXIT_PARTIAL)


# --------------------------------------------------------------------------- report


@main.command("report", help=_h("report"), epilog=_h("report_examples"))
@click.option("--run", "run_id", type=click.IntRange(1), metavar="N", help=_h("report_run"))
@click.option("--compare-to", type=click.IntRange(1), metavar="N", help=_h("compare_to"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "html"]),
    default="text",
    show_default=True,
    help=_h("format"),
)
@_output_option
@click.option("--send", is_flag=True, help=_h("send"))
@click.option("--quiet", "-q", is_flag=True, help=_h("quiet"))
@_rules_dir_option
@_lang_option
@_db_option
@_config_option
@_debug_option
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
    from auditor.store import open_readonly

    config = _load(config_path)
    lang = _language(lang or config.language)
    if send:
        _check_email_settings(config, lang)
    store = _store_path(db_path, config)
    conn = open_readonly(store)
    try:
        rules = _load_rules(rules_dirs, config, schema=conn)
        finished = "status IN ('complete', 'partial')"
        if run_id is None:
            row = conn.execute(f"SELECT max(id) FROM runs WHERE {finished}").fetchone()
            run_id = row[0] if row else None
            if run_id is None:
                raise ConfigError("cli.report.no_run")
        for wanted in (run_id, compare_to):
            if (
                wanted is not None
                and not conn.execute(
                    f"SELECT 1 FROM runs WHERE id = ? AND {finished}", (wanted,)
                ).fetchone()
            ):
                raise ConfigError("cli.report.unknown_run", run=wanted)
        report = build_report(
            conn,
            run_id,
            lang,
            rules.by_id(),
            compare_to=compare_to,
            association=config.association,
        )
    except sqlite3.DatabaseError as exc:  # a truncated or overwritten file: one line
        raise StoreError("errors.store.damaged", path=store, error=exc) from None
    finally:
        conn.close()
    _emit_report(report, fmt, output, quiet, lang)
    if send and not _send_report(report, config, lang, quiet):
        sys.exit(EXIT_PARTIAL)


# --------------------------------------------------------------------------- schedule


@main.group(cls=AuditorGroup, help=_h("schedule"), epilog=_h("schedule_examples"))
def schedule() -> None:
    pass


def _schedule_where(f):
    f = click.option(
        "--crontab-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=_h("crontab_file"),
    )(f)
    return click.option("--systemd", is_flag=True, help=_h("systemd"))(f)


def _schedule_job(f):
    for option in reversed(
        [
            click.option(
                "--monthly", "every", flag_value="monthly", default=True, help=_h("monthly")
            ),
            click.option("--weekly", "every", flag_value="weekly", help=_h("weekly")),
            click.option("--send/--no-send", default=None, help=_h("schedule_send")),
            _schedule_where,
            _lang_option,
            _db_option,
            _config_option,
            _debug_option,
        ]
    ):
        f = option(f)
    return f


def _scheduled_job(every, send, lang, db_path, config_path):
    """(job, config, language) for this config, which must exist."""
    from auditor import schedule as sched

    path = (config_path or default_config_path()).expanduser()
    config = load_config(path, required=True)
    lang = _language(lang or config.language)
    if send:
        _check_email_settings(config, lang)
    return sched.make_job(config, path, every, send, lang, db_path), config, lang


def _check_secrets(job, config: Config, lang: str) -> None:
    """Every secret the job needs is read as the scheduler will; each that cannot be read
    is named with what to use instead, then exit 2."""
    from auditor.schedule import check_secrets

    failed = check_secrets(config, job.send)
    for problem, hint in failed:
        line = t(lang, "schedule.unreadable", line=problem.localized(lang), hint=t(lang, hint))
        click.echo(f"auditor: {line}", err=True)
    if failed:
        raise ConfigError("schedule.not_written")


def _say(notes, lang: str) -> None:
    for note in notes:
        click.echo(t(lang, note.key, **note.values), err=note.err)


@schedule.command("install", help=_h("schedule_install"), epilog=_h("schedule_install_examples"))
@_schedule_job
def schedule_install(every, send, systemd, crontab_file, lang, db_path, config_path) -> None:
    from auditor import schedule as sched

    job, config, lang = _scheduled_job(every, send, lang, db_path, config_path)
    _check_secrets(job, config, lang)  # before anything is written
    if sys.platform == "win32":
        click.echo(t(lang, "schedule.windows_create"))
        click.echo(sched.schtasks_create(job))
    elif systemd:
        _say(sched.install_systemd(job), lang)
    else:
        _say([sched.install_cron(job, crontab_file)], lang)


@schedule.command("show", help=_h("schedule_show"), epilog=_h("schedule_show_examples"))
@_schedule_job
def schedule_show(every, send, systemd, crontab_file, lang, db_path, config_path) -> None:
    from auditor import schedule as sched

    job, config, lang = _scheduled_job(every, send, lang, db_path, config_path)
    if sys.platform == "win32":
        click.echo(sched.schtasks_create(job))
    elif systemd:
        for name, text in sched.systemd_units(job).items():
            click.echo(f"# {sched.systemd_folder() / name}\n{text}")
    else:
        click.echo(sched.cron_entry(job), nl=False)
        _say([sched.cron_state(job, crontab_file)], lang)
    _check_secrets(job, config, lang)


@schedule.command("remove", help=_h("schedule_remove"), epilog=_h("schedule_remove_examples"))
@_schedule_where
@_lang_option
@_debug_option
def schedule_remove(systemd: bool, crontab_file: Path | None, lang: str | None) -> None:
    from auditor import schedule as sched

    lang = _language(lang)
    if sys.platform == "win32":
        click.echo(t(lang, "schedule.windows_delete"))
        click.echo(sched.schtasks_delete())
    elif systemd:
        _say(sched.remove_systemd(), lang)
    else:
        _say([sched.remove_cron(crontab_file)], lang)


# --------------------------------------------------------------------------- compress


def _ch(key: str) -> str:
    return t(HELP_LANG, f"compress.help.{key}")


@main.command(help=_ch("command"), epilog=_ch("examples"))
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
@_lang_option
@_debug_option
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

    lang = _language(lang)
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
            click.echo(f"auditor: {t(lang, r.error, **r.error_args)}", err=True)
        elif r.outcome.status == "skipped":
            reason = t(lang, r.outcome.reason, **r.outcome.reason_args)
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


# --------------------------------------------------------------------------- clean


def _cl(key: str) -> str:
    return t(HELP_LANG, f"clean.help.{key}")


@main.command(help=_cl("command"), epilog=_cl("examples"))
@click.option("--run", "run_id", type=click.IntRange(1), metavar="N", help=_cl("run"))
@click.option("--rule", "rule_ids", multiple=True, metavar="ID", help=_cl("rule"),
              type=click.Choice(["MAIL002", "MAIL003", "MAIL004", "MAIL005"], case_sensitive=False))
@click.option("--account", metavar="NAME", help=_cl("account"))
@click.option("--folder", metavar="NAME", help=_cl("folder"))
@click.option("--older-than", metavar="AGE", help=_cl("older_than"))
@click.option("--to-folder", metavar="NAME", help=_cl("to_folder"))
@click.option("--archive", type=click.Path(file_okay=False, path_type=Path), help=_cl("archive"))
@click.option("--remove-issues", is_flag=True, help=_cl("remove_issues"))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help=_cl("format"))
@click.option("--apply", "apply_", is_flag=True, help=_cl("apply"))
@click.option("--yes", "-y", is_flag=True, help=_cl("yes"))
@click.option("--undo", "undo_run", type=click.IntRange(1), metavar="RUN", help=_cl("undo"))
@click.option("--imap", "imap_urls", multiple=True, metavar="URL", help=_cl("imap"))
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help=_cl("ca_file"))
@click.option("--batch", type=click.IntRange(1), hidden=True)  # tests: small batches
@_lang_option
@_db_option
@_config_option
@_debug_option
def clean(run_id, rule_ids, account, folder, older_than, to_folder, archive, remove_issues,
          fmt, apply_, yes, undo_run, imap_urls, ca_file, batch, lang, db_path, config_path):
    from auditor.clean import command
    from auditor.clean.plan import Selection, parse_age
    from auditor.report.send import smtp_password
    from auditor.store import open_store

    config = _load(config_path)
    lang = _language(lang or config.language)
    sel = Selection(run_id, tuple(r.upper() for r in rule_ids), account, folder,
                    parse_age(older_than) if older_than else None, to_folder, remove_issues)
    conn = open_store(_store_path(db_path, config))
    try:
        needs_server = apply_ or undo_run is not None
        ctx = command.Context(
            conn, _imap_accounts(config, imap_urls, ca_file, lang) if needs_server else [], lang,
            click.echo, lambda line: click.echo(f"auditor: {line}", err=True), config.email,
            lambda: smtp_password(config.email) if config.email.username else None, batch)
        if undo_run is not None:
            sys.exit(command.undo(ctx, undo_run))
        ask = None if yes or not sys.stdin.isatty() else (
            lambda text: click.confirm(text, default=False, err=True))
        sys.exit(command.clean(ctx, sel, archive, apply_, fmt, ask))
    finally:
        conn.close()

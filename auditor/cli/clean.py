"""`auditor clean`: act on a run's mailbox findings, with a backup, and undo."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.common import (
    imap_accounts,
    language,
    read_config,
    store_path,
)
from auditor.cli.options import (
    HELP_LANG,
    config_option,
    db_option,
    debug_option,
    lang_option,
)
from auditor.i18n import t


def _cl(key: str) -> str:
    return t(HELP_LANG, f"clean.help.{key}")


@click.command(help=_cl("command"), epilog=_cl("examples"))
@click.option("--run", "run_id", type=click.IntRange(1), metavar="N", help=_cl("run"))
@click.option(
    "--rule",
    "rule_ids",
    multiple=True,
    metavar="ID",
    help=_cl("rule"),
    type=click.Choice(
        ["MAIL002", "MAIL003", "MAIL004", "MAIL005", "MAIL008"], case_sensitive=False
    ),
)
@click.option("--account", metavar="NAME", help=_cl("account"))
@click.option("--folder", metavar="NAME", help=_cl("folder"))
@click.option("--older-than", metavar="AGE", help=_cl("older_than"))
@click.option("--to-folder", metavar="NAME", help=_cl("to_folder"))
@click.option("--archive", type=click.Path(file_okay=False, path_type=Path), help=_cl("archive"))
@click.option("--remove-issues", is_flag=True, help=_cl("remove_issues"))
@click.option("--slim", type=click.Choice(["compress", "detach"]), help=_cl("slim"))
@click.option(
    "--detach-to", type=click.Path(file_okay=False, path_type=Path), help=_cl("detach_to")
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help=_cl("format"),
)
@click.option("--apply", "apply_", is_flag=True, help=_cl("apply"))
@click.option("--yes", "-y", is_flag=True, help=_cl("yes"))
@click.option("--undo", "undo_run", type=click.IntRange(1), metavar="RUN", help=_cl("undo"))
@click.option("--imap", "imap_urls", multiple=True, metavar="URL", help=_cl("imap"))
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help=_cl("ca_file"))
@click.option("--batch", type=click.IntRange(1), hidden=True)  # tests: small batches
@lang_option
@db_option
@config_option
@debug_option
def clean(
    run_id,
    rule_ids,
    account,
    folder,
    older_than,
    to_folder,
    archive,
    remove_issues,
    slim,
    detach_to,
    fmt,
    apply_,
    yes,
    undo_run,
    imap_urls,
    ca_file,
    batch,
    lang,
    db_path,
    config_path,
):
    from auditor.clean import command
    from auditor.clean.plan import Selection, parse_age, slim_rules
    from auditor.report.send import smtp_password
    from auditor.store import Store

    config = read_config(config_path)
    lang = language(lang or config.language)
    rules = tuple(r.upper() for r in rule_ids)
    if slim or "MAIL008" in rules:
        rules = slim_rules(rules, slim, detach_to)
    sel = Selection(
        run_id,
        rules,
        account,
        folder,
        parse_age(older_than) if older_than else None,
        to_folder,
        remove_issues,
        slim,
        str(detach_to.expanduser().resolve()) if detach_to else None,
    )
    store = Store.open(store_path(db_path, config))
    try:
        needs_server = apply_ or undo_run is not None
        accounts = imap_accounts(config, imap_urls, ca_file, lang) if needs_server else []
        ctx = command.Context(
            store.conn,
            accounts,
            lang,
            click.echo,
            lambda line: click.echo(f"auditor: {line}", err=True),
            config.email,
            lambda: smtp_password(config.email) if config.email.username else None,
            batch,
        )
        if undo_run is not None:
            sys.exit(command.undo(ctx, undo_run))
        ask = (
            None
            if yes or not sys.stdin.isatty()
            else (lambda text: click.confirm(text, default=False, err=True))
        )
        sys.exit(command.clean(ctx, sel, archive, apply_, fmt, ask))
    finally:
        store.close()

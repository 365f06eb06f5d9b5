"""`auditor clean` from start to end: plan, ask, act (or resume), unsubscribe; and undo.

The CLI parses options and calls `clean` or `undo` here with the accounts, the mail
settings and two callables (print a line, ask yes/no); the exit code comes back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from auditor.clean import journal
from auditor.clean.apply import Applier, Outcome
from auditor.clean.backup import BackupFailed, check_root, locked
from auditor.clean.plan import Plan, Selection
from auditor.clean.resume import find_start
from auditor.clean.undo import undo_account
from auditor.collect.mail.imap import ImapAccount
from auditor.config import EmailSettings
from auditor.errors import AuditorError, ConfigError, Problem
from auditor.i18n import plural, t
from auditor.i18n.format import format_bytes

EXIT_OK, EXIT_PARTIAL = 0, 3


@dataclass
class Context:
    conn: sqlite3.Connection
    accounts: list[ImapAccount]
    lang: str
    echo: Callable[[str], None]  # a line on stdout
    warn: Callable[[str], None]  # a line on stderr
    email: EmailSettings | None = None
    smtp_password: Callable[[], str | None] = lambda: None
    batch: int | None = None


def render_plan(plan: Plan, lang: str, archive: Path | None, fmt: str) -> str:
    groups = plan.groups()
    if fmt == "json":
        return json.dumps(
            {
                "run": plan.run_id,
                "archive": str(archive) if archive else None,
                "actions": groups,
                "messages": sum(g["messages"] for g in groups),
                "bytes_freed": sum(g["bytes_freed"] for g in groups),
                "unsubscribe": [u.__dict__ for u in plan.unsubscribes],
                "sealed": plan.sealed,
            },
            indent=2,
            ensure_ascii=False,
        )
    lines = [t(lang, "clean.plan.title", run=plan.run_id)]
    if not groups and not plan.unsubscribes and not plan.sealed:
        lines.append(t(lang, "clean.plan.nothing"))
    for g in groups:
        action = t(lang, f"clean.action.{g['action']}", target=g["target"] or "")
        lines.append(
            t(
                lang,
                "clean.plan.line",
                rule=g["rule_id"],
                action=action,
                account=g["account"],
                folder=g["folder"],
                messages=plural(lang, "clean.plan.messages", g["messages"]),
                freed=format_bytes(g["bytes_freed"], lang),
            )
        )
        if g["action"] == "move":
            lines.append("  " + t(lang, "clean.plan.move_frees_nothing"))
    for s in plan.sealed:  # slimming: a signature covers the bytes, so never rewritten
        lines.append(t(lang, "clean.plan.sealed", **s))
    for u in plan.unsubscribes:
        lines.append(
            t(
                lang,
                f"clean.plan.unsubscribe.{u.method.replace('-', '_')}",
                account=u.account,
                sender=u.sender,
                target=u.target,
            )
        )
    if any(g["action"] != "move" for g in groups) and archive:
        lines.append(t(lang, "clean.plan.archive", path=str(archive)))
    return "\n".join(lines)


def _archive(selected: Path | None, plan: Plan, journaled: str | None) -> Path | None:
    if journaled:
        return Path(journaled)
    if selected:
        return selected.expanduser()
    return None


def clean(
    ctx: Context,
    sel: Selection,
    archive: Path | None,
    apply: bool,
    fmt: str,
    confirm: Callable[[str], bool] | None,
) -> int:
    start = find_start(ctx.conn, sel)
    plan = start.plan
    archive = _archive(archive, plan, start.archive_dir)
    if start.finished:
        ctx.echo(t(ctx.lang, "clean.done_already", run=start.clean_run))
        return EXIT_OK
    if not apply:
        ctx.echo(render_plan(plan, ctx.lang, archive, fmt))
        if fmt == "text" and (plan.items or plan.unsubscribes):
            ctx.echo(t(ctx.lang, "clean.plan.dry_run"))
        return EXIT_OK
    if not plan.items and not plan.unsubscribes:
        ctx.echo(t(ctx.lang, "clean.plan.nothing"))
        return EXIT_OK
    if plan.items and archive is None:
        raise ConfigError("clean.error.archive_needed")
    if archive is not None:
        check_root(archive)
    if sel.slim == "detach" and not Path(sel.detach_to or "").is_dir():
        raise ConfigError("clean.error.no_detach_folder", path=sel.detach_to)
    if fmt == "text":
        ctx.echo(render_plan(plan, ctx.lang, archive, fmt))
    if confirm is not None and not confirm(t(ctx.lang, "clean.confirm")):
        ctx.echo(t(ctx.lang, "clean.cancelled"))
        return EXIT_OK
    outcome = Outcome()
    clean_run = start.clean_run
    if archive is not None:
        with locked(archive):
            clean_run = clean_run or journal.start_run(ctx.conn, plan, sel, str(archive))
            _act(ctx, clean_run, archive, plan, outcome)
    else:  # unsubscribing only
        clean_run = clean_run or journal.start_run(ctx.conn, plan, sel, "")
    _unsubscribe(ctx, clean_run, outcome)
    journal.finish_run(ctx.conn, clean_run, "partial" if outcome.partial else "done")
    return _summary(ctx, clean_run, outcome, archive)


def _accounts_of(ctx: Context, names: set[str], outcome: Outcome) -> list[ImapAccount]:
    known = {a.name: a for a in ctx.accounts}
    for name in sorted(names - set(known)):
        outcome.lines.append(Problem("clean.line.no_account", at=(name,)))
        outcome.partial = True
    return [known[n] for n in sorted(names) if n in known]


def _act(ctx: Context, clean_run: int, archive: Path, plan: Plan, outcome: Outcome) -> None:
    applier = Applier(ctx.conn, clean_run, archive, **({"batch": ctx.batch} if ctx.batch else {}))
    applier.outcome = outcome
    applier.lang = ctx.lang
    names = {
        e.account
        for e in journal.entries(ctx.conn, clean_run, ("planned", "saved", "acting", "done"))
    }
    for account in _accounts_of(ctx, names, outcome):
        try:
            applier.account(account)
        except AuditorError as exc:  # this account stops here; the others go on
            outcome.lines.append(exc.problem)
            outcome.partial = True
        except BackupFailed as exc:  # the backup could not be written (a full disk): stop
            outcome.lines.append(
                Problem("clean.line.backup_failed", path=exc.path, error=exc.error)
            )
            outcome.partial = True
            return


def _unsubscribe(ctx: Context, clean_run: int, outcome: Outcome) -> None:
    from auditor.clean.unsubscribe import UnsubscribeFailed, by_mail, one_click

    for row in journal.unsubscribes(ctx.conn, clean_run):
        if row["state"] not in ("planned", "failed"):  # a failed one is tried again
            continue
        at = (row["account"], row["sender"])
        try:
            if row["method"] == "one-click":
                one_click(row["target"])
            elif row["method"] == "mailto":
                by_mail(row["target"], ctx.email or EmailSettings(), ctx.smtp_password())
            else:
                journal.mark_unsubscribe(
                    ctx.conn, clean_run, row["account"], row["sender"], "listed"
                )
                continue
        except UnsubscribeFailed as exc:
            outcome.lines.append(exc.problem.under(*at))
            outcome.partial = True
            journal.mark_unsubscribe(
                ctx.conn, clean_run, row["account"], row["sender"], "failed", exc.problem.key
            )
            continue
        journal.mark_unsubscribe(ctx.conn, clean_run, row["account"], row["sender"], "done")


def _summary(ctx: Context, clean_run: int, outcome: Outcome, archive: Path | None) -> int:
    for line in outcome.lines:
        ctx.warn(line.localized(ctx.lang))
    counts = journal.counts(ctx.conn, clean_run)
    ctx.echo(
        t(
            ctx.lang,
            "clean.summary",
            run=clean_run,
            verified=counts.get("verified", 0),
            skipped=counts.get("skipped", 0),
            left=sum(counts.get(s, 0) for s in ("planned", "saved", "acting", "done")),
        )
    )
    for row in journal.unsubscribes(ctx.conn, clean_run):
        if row["state"] == "done":
            ctx.echo(
                t(ctx.lang, "clean.unsubscribed", account=row["account"], sender=row["sender"])
            )
        elif row["state"] == "listed":
            ctx.echo(
                t(
                    ctx.lang,
                    "clean.plan.unsubscribe.link",
                    account=row["account"],
                    sender=row["sender"],
                    target=row["target"],
                )
            )
    if archive is not None and counts.get("verified"):
        ctx.echo(t(ctx.lang, "clean.kept", path=str(archive), run=clean_run))
    if outcome.partial:
        ctx.echo(t(ctx.lang, "clean.resume_hint"))
        return EXIT_PARTIAL
    return EXIT_OK


def undo(ctx: Context, clean_run: int) -> int:
    row = journal.get_run(ctx.conn, clean_run)
    if row is None:
        raise ConfigError("clean.error.unknown_clean_run", run=clean_run)
    outcome = Outcome()
    names = {e.account for e in journal.entries(ctx.conn, clean_run)}
    for account in _accounts_of(ctx, names, outcome):
        try:
            undo_account(ctx.conn, clean_run, account, outcome)
        except AuditorError as exc:
            outcome.lines.append(exc.problem)
            outcome.partial = True
    for line in outcome.lines:
        ctx.warn(line.localized(ctx.lang))
    counts = journal.counts(ctx.conn, clean_run)
    left = sum(counts.get(s, 0) for s in ("saved", "acting", "done", "verified"))
    if not outcome.partial and not left:
        journal.finish_run(ctx.conn, clean_run, "undone")
    ctx.echo(
        t(ctx.lang, "clean.undone", run=clean_run, restored=counts.get("restored", 0), left=left)
    )
    return EXIT_PARTIAL if outcome.partial or left else EXIT_OK

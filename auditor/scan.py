"""One scan, start to end: collect every source, store the facts, run the rules, plan.

The flow goes one way: sources -> collectors -> store -> rules -> plan. Renderers read the
stored run afterwards (auditor.report.model), so a stored run can be re-rendered any time.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.config import Config
from auditor.errors import AuditorError, SourceError, internal_error
from auditor.plan import prioritise, score
from auditor.rules.engine import run_rules
from auditor.rules.finding import Finding
from auditor.rules.loader import LoadedRules
from auditor.store import writes
from auditor.store.store import Store

if TYPE_CHECKING:
    from auditor.collect.host.machine import Machine
    from auditor.collect.mail.imap import ImapAccount
    from auditor.collect.mail.localbox import LocalFolder


@dataclass
class MailSource:
    kind: str  # "mbox", "maildir", "demo"
    name: str  # what the report calls it
    path: Path


@dataclass
class ScanRequest:
    mail_sources: list[MailSource] = field(default_factory=list)
    imap_accounts: list[ImapAccount] = field(default_factory=list)
    scan_host: bool = True
    inventory_dirs: list[Path] = field(default_factory=list)
    now: str | None = None  # the date rules judge by; default: the run's start
    imap_workers: int = 4  # accounts scanned at once, one connection each
    # issue 17: measure the heavy photos/PDFs (budget "200MB" / "60s"), keep light copies
    compress_attachments: bool = False
    compress_budget: str = "200MB"
    light_copies: Path | None = None


@dataclass
class ScanResult:
    run_id: int
    status: str  # "complete" or "partial"
    findings: list[Finding]
    plan: dict[str, list[str]]
    score: int
    errors: list[str]


def _collect_mail(conn: sqlite3.Connection, sid: int, source: MailSource) -> list[LocalFolder]:
    """Read a local mail source, only what changed since the last scan stored it."""
    from auditor.collect.mail.localbox import rescan_maildir, rescan_mbox
    from auditor.store.localsync import file_states, known_flags

    if source.kind == "maildir":
        return rescan_maildir(source.path, lambda folder: known_flags(conn, sid, folder))
    return rescan_mbox(source.path, file_states(conn, sid))


def _store_mail(
    conn: sqlite3.Connection, run_id: int, source: MailSource, errors: list[str]
) -> bool:
    """Collect and store one mail source. False when it failed (the run is then partial)."""
    sid = writes.source_id(conn, source.kind, source.name, str(source.path.resolve()))
    busy = writes.claim_source(conn, sid, run_id, source.name)  # one run writes a source
    if busy is not None:
        errors.append(busy)
        writes.record_source_status(conn, run_id, sid, "failed", busy)
        return False
    try:
        folders = _collect_mail(conn, sid, source)
    except SourceError as exc:
        errors.append(exc.problem)
        writes.record_source_status(conn, run_id, sid, "failed", exc.problem)
        return False
    except Exception as exc:  # a bug: this source failed, one line; the others go on
        line = internal_error(exc).under(source.name)
        errors.append(line)
        writes.record_source_status(conn, run_id, sid, "failed", line)
        return False
    from auditor.store.localsync import forget_files, store_local_folder

    skipped = 0
    for folder in folders:
        store_local_folder(conn, sid, run_id, folder)
        skipped += folder.facts.skipped
        errors.extend(folder.facts.errors)
    names = [f.facts.name for f in folders]
    writes.close_missing_folders(conn, sid, run_id, names)
    forget_files(conn, sid, names)
    status = "ok" if skipped == 0 else "partial"  # a source not read whole is never a baseline
    writes.record_source_status(conn, run_id, sid, status, None, skipped)
    return skipped == 0  # a message that could not be read at all makes the run partial


ImapProgress = Callable[[str, int, int], None]  # (account, done, total)
HOST = "host"  # the name `progress` is given when this machine's probes start


def _scan_imap_account(
    db_path: Path,
    run_id: int,
    sid: int,
    account: ImapAccount,
    progress: ImapProgress | None,
    helpers: int,
) -> tuple[bool, list[str]]:
    """Scan one account with its own store connection (it runs in a worker thread)."""
    from auditor.collect.mail.imap import AccountScanner
    from auditor.store import open_store
    from auditor.store.mailsync import StoreFolderSink

    conn = open_store(db_path)
    try:
        busy = writes.claim_source(conn, sid, run_id, account.name)  # one run per account
        if busy is not None:
            writes.record_source_status(conn, run_id, sid, "failed", busy)
            return False, [busy]
        sink = StoreFolderSink(conn, sid, run_id)
        scanner = AccountScanner(
            account,
            sink,
            (lambda d, t: progress(account.name, d, t)) if progress else None,
            helper_sink=lambda: StoreFolderSink(open_store(db_path), sid, run_id),
            helpers=helpers,
        )
        try:
            stats = scanner.run()
        except AuditorError as exc:
            scanner.close()
            writes.record_source_status(conn, run_id, sid, "failed", exc.problem)
            return False, [exc.problem]
        except Exception as exc:  # a bug: this account failed, one line; the others go on
            scanner.close()
            conn.rollback()
            line = internal_error(exc).under(account.name)
            writes.record_source_status(conn, run_id, sid, "failed", line)
            return False, [line]
        # messages not read make the account partial: its lines say which and why
        status = "partial" if stats.partial or stats.skipped else "ok"
        writes.record_source_status(conn, run_id, sid, status, None, stats.skipped)
        return not stats.partial, stats.errors
    finally:
        conn.close()


def _scan_imap(
    store: Store,
    run_id: int,
    request: ScanRequest,
    progress: ImapProgress | None,
) -> tuple[bool, list[str]]:
    """Every account in parallel (bounded), each on a connection of its own to the store's
    file. False if one failed."""
    from concurrent.futures import ThreadPoolExecutor

    # sources are created here, in one thread, before the workers start
    conn, db_path = store.conn, store.path
    jobs = [(writes.source_id(conn, "imap", a.name, a.locator), a) for a in request.imap_accounts]
    conn.commit()
    ok, errors = True, []
    workers = max(1, min(request.imap_workers, len(jobs)))
    # one account alone gets helper processes for its big folders; several share the cores
    helpers = max(0, min(3, (os.cpu_count() or 1) - 1)) if len(jobs) == 1 else 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imap") as pool:
        results = pool.map(
            lambda job: _scan_imap_account(db_path, run_id, job[0], job[1], progress, helpers),
            jobs,
        )
        for account_ok, account_errors in results:
            ok &= account_ok
            errors.extend(account_errors)
    return ok, errors


def _measure_attachments(
    store: Store, run_id: int, request: ScanRequest, config: Config, rules: LoadedRules
) -> list[str]:
    """Measured savings for MAIL008 (`--compress-attachments`): each account's heavy photos
    and PDFs fetched part by part and compressed. A failure is a line; the scan stands."""
    from auditor.config import parse_budget
    from auditor.measure import measure_imap, threshold

    conn = store.conn
    wanted = ("MAIL001", "MAIL008")
    defaults = {r.id: r.defaults().get("min_bytes") for r in rules.rules if r.id in wanted}
    accounts = [
        (writes.source_id(conn, "imap", a.name, a.locator), a) for a in request.imap_accounts
    ]
    failed = {  # an account the scan could not read is not asked again: its line is said
        sid
        for (sid,) in conn.execute(
            "SELECT source_id FROM run_sources WHERE run_id = ? AND status = 'failed'", (run_id,)
        )
    }
    accounts = [(sid, a) for sid, a in accounts if sid not in failed]
    return measure_imap(
        conn,
        run_id,
        accounts,
        threshold(config.rule_params, defaults),
        parse_budget(request.compress_budget),
        request.light_copies,
    )


def _this_machine() -> Machine:
    """This machine's facts. What a probe could not read (no DMI table, no smartctl) is kept
    with them (host_facts.probe_errors: the report's "Not checked" section), not as a run
    error: the rest of the machine was read, and a --quiet run from cron stays silent."""
    from datetime import UTC, datetime

    from auditor.collect.host.machine import collect_machine
    from auditor.derive import derive

    return derive(collect_machine(), datetime.now(UTC).date())


def _store_machines(
    conn: sqlite3.Connection, run_id: int, machines: list[Machine], errors: list[str]
) -> None:
    """Each machine once per run, with its newest facts: a machine whose own inventory file
    is on the stick, or an older inventory of it, is the machine scanned live (identified by
    its hardware, not by where its facts came from; collect/host/identity.py)."""
    from auditor.collect.host.identity import newest_per_machine

    for machine in newest_per_machine(machines):  # one transaction: one disk sync, not 300
        verdict = _verdict(machine)
        writes.insert_machine(conn, run_id, machine, errors, commit=False, verdict=verdict)
    conn.commit()


def _verdict(machine: Machine) -> str | None:
    """`auditor advise`'s verdict for its default needs, for the report's fleet table; None
    when it cannot be given (a bug must not cost the machine its facts)."""
    from auditor.advise import DEFAULT_NEEDS, advise

    try:
        return advise(machine, list(DEFAULT_NEEDS), "en").verdict
    except Exception:
        return None


def _read_inventories(folder: Path, errors: list[str], machines: list[Machine]) -> bool:
    """Every inventory file of a folder (from `auditor inventory` on other machines), added
    to `machines`. A bad file is one line and the others still count; False when one was bad."""
    from datetime import UTC, datetime

    from auditor.derive import derive
    from auditor.inventory.read import read_inventory_folder

    try:  # auditor's own files, GLPI Agent's, FusionInventory's and OCS Inventory's
        found, bad = read_inventory_folder(folder)
    except SourceError as exc:
        errors.append(exc.problem)
        return False
    except Exception as exc:  # a bug: this folder failed, one line; the rest of the run goes on
        errors.append(internal_error(exc).under(str(folder)))
        return False
    today = datetime.now(UTC).date()
    machines += [derive(m, today) for m in found]
    errors.extend(bad)
    return not bad


def _judge(
    store: Store,
    run_id: int,
    now: str,
    config: Config,
    rules: LoadedRules,
) -> tuple[list[Finding], list[str]]:
    """Run the enabled rules, reusing the previous run's mail findings when nothing changed.

    Rules judge by the day (`:now` is the day's start, UTC), so a rescan the same day gives
    the same answer and an unchanged mailbox needs no query at all.
    """
    from auditor.rules.engine import bound_params, failed_rule_ids
    from auditor.rules.reuse import reusable_findings, rule_digest, unchanged_previous_run

    conn = store.conn
    day = f"{now[:10]}T00:00:00+00:00"
    enabled = [r for r in rules.rules if r.id not in config.disabled_rules]
    digests = {r.id: rule_digest(r, bound_params(r, config.rule_params), day) for r in enabled}
    prev = unchanged_previous_run(conn, run_id)
    settled, reused = reusable_findings(conn, prev, digests, rules.by_id()) if prev else (set(), [])
    findings, errors = run_rules(
        store.path,
        run_id,
        [r for r in enabled if r.id not in settled],
        now=day,
        overrides=config.rule_params,
    )
    failed = failed_rule_ids(errors)
    store.record_rule_digests(run_id, [(r, d) for r, d in digests.items() if r not in failed])
    return findings + reused, errors


def run_scan(
    store: Store,
    request: ScanRequest,
    config: Config,
    rules: LoadedRules,
    progress: Callable[[str], None] = lambda _msg: None,
    imap_progress: ImapProgress | None = None,
) -> ScanResult:
    """Scan every requested source into a new run and judge it. Never raises for a source."""
    errors: list[str] = list(rules.errors)
    conn = store.conn
    run_id = writes.start_run(conn)
    try:
        return _scan_run(store, run_id, request, config, rules, errors, progress, imap_progress)
    except Exception as exc:  # a bug: the run is marked failed, never left `running`
        conn.rollback()
        errors.append(internal_error(exc))
        writes.finish_run(conn, run_id, "failed", None, errors)
        raise


def _scan_run(
    store: Store,
    run_id: int,
    request: ScanRequest,
    config: Config,
    rules: LoadedRules,
    errors: list[str],
    progress: Callable[[str], None],
    imap_progress: ImapProgress | None,
) -> ScanResult:
    conn = store.conn
    partial = bool(rules.errors)
    for source in request.mail_sources:
        progress(source.name)
        partial |= not _store_mail(conn, run_id, source, errors)
    if request.imap_accounts:
        imap_ok, imap_errors = _scan_imap(store, run_id, request, imap_progress)
        partial |= not imap_ok
        errors.extend(imap_errors)
        if request.compress_attachments:
            errors.extend(_measure_attachments(store, run_id, request, config, rules))
    machines: list[Machine] = []
    for folder in request.inventory_dirs:
        progress(str(folder))
        partial |= not _read_inventories(folder, errors, machines)
    if request.scan_host:
        progress(HOST)
        try:
            machines.append(_this_machine())
        except AuditorError as exc:
            errors.append(exc.problem)
            partial = True
    _store_machines(conn, run_id, machines, errors)
    _record_indicators(conn, run_id, sources_only=True)  # ECO002 reads them
    now = request.now or store.started_at(run_id)
    findings, rule_errors = _judge(store, run_id, now, config, rules)
    errors.extend(rule_errors)
    partial |= bool(rule_errors)
    plan = prioritise(findings)
    run_score = score([f.rule.severity for f in findings])
    store.save_findings([f.to_row(run_id) for f in findings])
    status = "partial" if partial else "complete"
    writes.finish_run(conn, run_id, status, run_score, errors)
    _record_indicators(conn, run_id)
    return ScanResult(run_id, status, findings, plan, run_score, errors)


def _record_indicators(conn: sqlite3.Connection, run_id: int, sources_only: bool = False) -> None:
    """Store the run's indicators (trends and ECO002 read them; auditor.store.indicators):
    each mail source's once its mail is read, the run's when it has ended. If that fails
    the run stays complete: its indicators are then counted when a report needs them, with
    the same result."""
    from auditor.store.indicators import record, record_sources

    try:
        (record_sources if sources_only else record)(conn, run_id)
        conn.commit()
    except sqlite3.Error:
        conn.rollback()

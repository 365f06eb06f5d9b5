"""Running rules: each one a read-only SQL query whose rows are the evidence."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError, Problem
from auditor.rules.finding import Finding
from auditor.rules.loader import Rule
from auditor.store.db import open_readonly
from auditor.store.sandbox import RULE_ROWS, RULE_SECONDS, Limits, Sandbox, SqlRefused

EVIDENCE_KEPT = 50  # rows kept per finding; `count` always holds the full number


QUERY_FAILED = "errors.rules.query_failed"  # a Problem whose `rule` value is the rule's id
# a rule stopped by the sandbox (auditor.store.sandbox): SqlRefused.reason -> line
REFUSED = {
    "denied": "errors.query.rule_denied",
    "seconds": "errors.query.rule_seconds",
    "rows": "errors.query.rule_rows",
}
NO_COLUMNS = "errors.query.rule_no_columns"
_RULE_FAILURES = {QUERY_FAILED, NO_COLUMNS, *REFUSED.values()}


def failed_rule_ids(errors: list[str]) -> set[str]:
    """The rules that could not run, from the lines `run_rules` returned."""
    return {e.values["rule"] for e in errors if isinstance(e, Problem) and e.key in _RULE_FAILURES}


class _NoColumns(Exception):
    """The rule's SQL is not a query (a PRAGMA that was allowed, an empty statement)."""


def bound_params(
    rule: Rule, overrides: dict[str, dict[str, Any]], config_path: Path | None = None
) -> dict[str, Any]:
    """The rule's parameters: defaults, overridden by the config's [rules.RULE_ID] table."""
    params = rule.defaults()
    for name, value in overrides.get(rule.id, {}).items():
        if name not in params:
            known = ", ".join(params) or "none"
            raise ConfigError(
                "errors.rules.unknown_param",
                where=config_path or "config",
                rule=rule.id,
                name=name,
                known=known,
            )
        if type(value) is not type(params[name]) and not (
            isinstance(value, int | float) and isinstance(params[name], int | float)
        ):
            raise ConfigError(
                "errors.rules.bad_param",
                where=config_path or "config",
                rule=rule.id,
                name=name,
                like=repr(params[name]),
                value=repr(value),
            )
        params[name] = value
    return params


def check_overrides(
    rules: list[Rule],
    overrides: dict[str, dict[str, Any]],
    disabled: set[str],
    config_path: Path | None = None,
) -> None:
    """Fail early (usage error) on config entries naming rules or parameters that do not exist."""
    known = {r.id: r for r in rules}
    for rid in list(overrides) + sorted(disabled):
        if rid not in known:
            raise ConfigError(
                "errors.rules.no_such_rule",
                where=config_path or "config",
                rule=rid,
            )
    for rule in rules:
        bound_params(rule, overrides, config_path)


def _finding(rule: Rule, cursor: sqlite3.Cursor, sandbox: Sandbox) -> Finding | None:
    if cursor.description is None:
        raise _NoColumns
    columns = [d[0] for d in cursor.description]
    evidence: list[dict[str, Any]] = []
    count = 0
    reclaimable = 0
    has_bytes = "bytes_reclaimable" in columns
    # what is stored and stays stored: its yearly footprint, without calling it reclaimable
    has_footprint = "footprint_bytes" in columns and not has_bytes
    footprint = 0
    rows = 0
    kept: list[tuple[str, str]] = []  # (device, part) of every machine kept going
    for row in sandbox.rows(cursor):
        rows += 1
        record = dict(zip(columns, row, strict=True))
        count += int(record.get(rule.count_column) or 0) if rule.count_column else 1
        if has_bytes:
            reclaimable += record.get("bytes_reclaimable") or 0
        if has_footprint:
            footprint += record.get("footprint_bytes") or 0
        if record.get("keep_device") and record.get("keep_with"):
            kept.append((str(record["keep_device"]), str(record["keep_with"])))
        if len(evidence) < EVIDENCE_KEPT:
            evidence.append(record)
    if rows == 0:
        return None
    finding = Finding(rule=rule, count=count, evidence=evidence, minutes=rule.minutes)
    if has_footprint or has_bytes:
        # imported here: a rescan whose findings are all reused never loads the figures
        from auditor.impact import storage_co2e_kg_per_year
    if has_footprint:
        low, high = storage_co2e_kg_per_year(int(footprint))
        finding.co2e_kg_per_year_low, finding.co2e_kg_per_year_high = low, high
    if has_bytes:
        finding.bytes_reclaimable = int(reclaimable)
        low, high = storage_co2e_kg_per_year(finding.bytes_reclaimable)
        finding.co2e_kg_per_year_low, finding.co2e_kg_per_year_high = low, high
    if kept:
        _add_keeping_gains(finding, kept)
    return finding


def _add_keeping_gains(finding: Finding, kept: list[tuple[str, str]]) -> None:
    """One-off kg CO2e and euros saved by keeping machines going with a part, not a new one.

    Rows name the machine (`keep_device`: laptop or desktop) and what keeps it going
    (`keep_with`: ram, ssd, battery, os for a free system, or nothing when it just meets the
    needs as it is). Per machine, the avoided
    footprint is a new machine's manufacture minus the part's (low: device low − part high),
    and the euros are a new machine's price minus the part's (auditor.impact.needs.prices).
    """
    from auditor.impact import PARTS, manufacturing_co2e_kg
    from auditor.impact.needs import prices as price_ranges

    prices = price_ranges()
    co2_low = co2_high = euros_low = euros_high = 0.0
    for device, part in kept:
        if device not in ("laptop", "desktop") or part not in (*PARTS, "os", "nothing"):
            continue
        dev_low, dev_high = manufacturing_co2e_kg(device)
        part_low, part_high = manufacturing_co2e_kg(part) if part in PARTS else (0.0, 0.0)
        co2_low += max(0.0, dev_low - part_high)
        co2_high += max(0.0, dev_high - part_low)
        new_low, new_high = prices[f"new_{device}"]
        cost_low, cost_high = prices[part] if part in prices else (0.0, 0.0)
        euros_low += max(0.0, new_low - cost_high)
        euros_high += max(0.0, new_high - cost_low)
    if co2_high > 0:
        finding.co2e_kg_avoided_low, finding.co2e_kg_avoided_high = co2_low, co2_high
        finding.euros_low, finding.euros_high = euros_low, euros_high


def run_rules(
    db_path: Path,
    run_id: int,
    rules: list[Rule],
    *,
    now: str,
    overrides: dict[str, dict[str, Any]] | None = None,
    disabled: set[str] | None = None,
) -> tuple[list[Finding], list[str]]:
    """Run every enabled rule on one run's facts; a failing rule is one line, not fatal.

    Each rule reads only (no ATTACH, no PRAGMA that changes anything, known functions) and
    stops at RULE_SECONDS or RULE_ROWS (auditor.store.sandbox): an endless query fails its
    rule, the others still run."""
    findings: list[Finding] = []
    errors: list[str] = []
    conn = open_readonly(db_path)
    sandbox = Sandbox(conn, Limits(RULE_SECONDS, RULE_ROWS))
    try:
        for rule in rules:
            if rule.id in (disabled or set()):
                continue
            params = bound_params(rule, overrides or {})
            params |= {"run_id": run_id, "now": now}
            where = {"pack": rule.pack, "rule": rule.id}
            try:
                finding = _finding(rule, sandbox.execute(rule.sql, params), sandbox)
            except SqlRefused as exc:
                errors.append(Problem(REFUSED[exc.reason], **where, **exc.values))
                continue
            except _NoColumns:
                errors.append(Problem(NO_COLUMNS, **where))
                continue
            except sqlite3.Error as exc:
                errors.append(Problem(QUERY_FAILED, **where, error=exc))
                continue
            if finding:
                findings.append(finding)
    finally:
        conn.close()
    return findings, errors

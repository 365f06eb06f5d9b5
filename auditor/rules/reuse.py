"""Reusing the previous run's findings when nothing they depend on changed.

A rescan of an unchanged mailbox writes no fact (facts are versioned), so its mail rules
would compute exactly what the previous run computed. When the previous run scanned the
same sources, no mail fact appeared, changed or went away in this run, quotas are equal,
and a rule's digest (query, parameters, judging day) is the same, its finding is copied
instead of queried again. Rules that read machines (hosts, disks) always run: those facts
are new every run.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from typing import Any

from auditor.rules.finding import Finding
from auditor.rules.loader import Rule

# Rules that read machines (new facts every run) or other runs (a comparison over time) are
# never reused.
_NOT_REUSABLE = re.compile(
    r"\b(?:latest_)?(?:hosts|disks|host_facts|disk_facts|antivirus|batteries|runs)\b", re.I
)


def rule_digest(rule: Rule, params: dict[str, Any], now: str) -> str:
    payload = json.dumps([rule.sql, sorted(params.items()), now[:10]], default=str)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def reads_only_mail(rule: Rule) -> bool:
    return not _NOT_REUSABLE.search(rule.sql)


def unchanged_previous_run(conn: sqlite3.Connection, run_id: int) -> int | None:
    """The previous run whose mail facts equal this run's, if there is one."""
    row = conn.execute("SELECT max(id) FROM finished_runs WHERE id < ?", (run_id,)).fetchone()
    prev = row[0] if row else None
    if prev is None:
        return None

    def sources(run: int) -> set:
        return set(
            conn.execute("SELECT source_id, status FROM run_sources WHERE run_id = ?", (run,))
        )

    def quotas(run: int) -> list:
        return conn.execute(
            "SELECT source_id, root, used_bytes, limit_bytes, used_messages, limit_messages "
            "FROM quota_facts WHERE run_id = ? ORDER BY source_id, root",
            (run,),
        ).fetchall()

    if sources(prev) != sources(run_id) or quotas(prev) != quotas(run_id):
        return None
    for table in ("message_versions", "folder_versions"):
        for column in ("first_run", "gone_run"):  # two indexed look-ups, not one OR scan
            changed = conn.execute(
                f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (run_id,)
            ).fetchone()
            if changed:
                return None
    # attachments measured in this run (scan --compress-attachments) change MAIL008's savings
    measured = conn.execute(
        "SELECT 1 FROM attachment_measures WHERE measured_run = ? LIMIT 1", (run_id,)
    ).fetchone()
    return None if measured else prev


def reusable_findings(
    conn: sqlite3.Connection, prev: int, digests: dict[str, str], rules: dict[str, Rule]
) -> tuple[set[str], list[Finding]]:
    """(rule ids settled by the previous run, their findings) for mail rules with equal digests."""
    settled = (
        {
            rule_id
            for rule_id, digest in conn.execute(
                "SELECT rule_id, digest FROM rule_runs WHERE run_id = ?", (prev,)
            )
            if digests.get(rule_id) == digest and reads_only_mail(rules[rule_id])
        }
        if digests
        else set()
    )
    findings = []
    for row in conn.execute("SELECT * FROM finding_rows WHERE run_id = ?", (prev,)):
        if row["rule_id"] in settled:
            findings.append(Finding.from_row(row, rules[row["rule_id"]]))
    return settled, findings

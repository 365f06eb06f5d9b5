"""Resuming: the same command run again continues the journaled run it started.

A clean run is keyed by its selection (scan run, rules, account, folder, age, target). A
run with the same key that is not finished is continued from its journal, whatever
stopped it (connection cut, process killed, full disk): what is left is whatever is not
yet verified or skipped. A new selection plans afresh, leaving out messages another clean
run already acted on.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from auditor.clean import journal
from auditor.clean.plan import Item, Plan, Selection, build_plan, pick_run

LEFT = ("planned", "saved", "acting", "done")


@dataclass
class Start:
    plan: Plan  # what is left to do
    clean_run: int | None  # the journaled run continued, None for a new one
    finished: bool = False  # that run is already complete
    archive_dir: str | None = None


def left_of(conn: sqlite3.Connection, clean_run: int, plan: Plan) -> Plan:
    """The plan of a journaled run: its messages not done yet and its pending unsubscribes."""
    for e in journal.entries(conn, clean_run, LEFT):
        plan.items.append(
            Item(
                e.rule_id,
                e.action,
                e.account,
                e.folder,
                e.uid,
                e.size_bytes,
                e.message_id,
                None,
                e.uidvalidity,
                e.target,
            )
        )
    plan.unsubscribes = [
        journal.as_unsubscribe(r)
        for r in journal.unsubscribes(conn, clean_run)
        if r["state"] in ("planned", "failed")
    ]
    return plan


def find_start(conn: sqlite3.Connection, sel: Selection) -> Start:
    run_id = pick_run(conn, sel.run_id)
    row = journal.find_run(conn, sel.key(run_id))
    if row is not None:
        plan = left_of(conn, row["id"], Plan(run_id, sel))
        finished = row["status"] == "done" and not plan.items and not plan.unsubscribes
        return Start(plan, row["id"], finished, row["archive_dir"])
    return Start(build_plan(conn, sel, journal.handled_messages(conn)), None)

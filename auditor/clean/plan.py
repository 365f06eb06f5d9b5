"""The plan: which messages each action touches, read from a stored run's findings.

A finding's evidence names the folders (MAIL002, MAIL004), the Message-IDs (MAIL005) or the
senders (MAIL003) in alarm; the messages themselves are read from the run's `messages`
view. Only messages of IMAP accounts can be acted on; nothing here talks to a server.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from auditor.errors import ConfigError, StoreError

RULES = ("MAIL002", "MAIL003", "MAIL004", "MAIL005")
_AGE = re.compile(r"^\s*(\d{1,6})\s*([dmy]?)\s*$", re.IGNORECASE)
_DAYS = {"": 1, "d": 1, "m": 30.44, "y": 365.25}


def slim_rules(rules: tuple[str, ...], slim: str | None, detach_to) -> tuple[str, ...]:
    """--slim acts on MAIL008 alone; MAIL008 needs --slim, detach needs --detach-to."""
    if not slim:
        raise ConfigError("clean.error.slim_needed")
    if slim == "detach" and not detach_to:
        raise ConfigError("clean.error.detach_to_needed")
    if slim != "detach" and detach_to:
        raise ConfigError("clean.error.detach_to_alone")
    return ("MAIL008",)


def parse_age(text: str) -> int:
    """'90', '90d', '6m' or '2y' as a number of days."""
    match = _AGE.match(text or "")
    if not match:
        raise ConfigError("clean.error.bad_age", value=text)
    return round(int(match.group(1)) * _DAYS[match.group(2).lower()])


@dataclass(frozen=True)
class Selection:
    """What the user asked for; equal selections on one run resume the same journal."""

    run_id: int | None = None
    rules: tuple[str, ...] = ()
    account: str | None = None
    folder: str | None = None
    older_than_days: int | None = None
    to_folder: str | None = None
    remove_issues: bool = False
    slim: str | None = None  # MAIL008: "compress" or "detach" the heavy attachments
    detach_to: str | None = None

    def key(self, run_id: int) -> str:
        key = {
            "run": run_id,
            "rules": sorted(self.rules or RULES),
            "account": self.account,
            "folder": self.folder,
            "older_than_days": self.older_than_days,
            "to_folder": self.to_folder,
            "remove_issues": self.remove_issues,
        }
        if self.slim:  # only then: the keys of earlier runs stay what they were
            key |= {"slim": self.slim, "detach_to": self.detach_to}
        return json.dumps(key, sort_keys=True)


@dataclass
class Item:
    """One message to act on, as the scan saw it."""

    rule_id: str
    action: str  # "archive" (out of the server), "move" (to a server folder), "delete"
    account: str
    folder: str
    uid: int
    size_bytes: int
    message_id: str | None
    internal_date: str | None
    uidvalidity: int | None
    target: str | None = None  # slimming: {"parts": [IMAP sections], "dir": detach folder}
    freed: int | None = None  # bytes a slimming frees (else the message's size)


SLIM = ("compress", "detach")


@dataclass
class Unsubscribe:
    account: str
    sender: str
    method: str  # "one-click", "mailto" or "link" (listed only: never opened)
    target: str


@dataclass
class Plan:
    run_id: int
    selection: Selection
    items: list[Item] = field(default_factory=list)
    unsubscribes: list[Unsubscribe] = field(default_factory=list)
    sealed: list[dict] = field(default_factory=list)  # slimming: signed/encrypted, left as is

    def groups(self) -> list[dict]:
        """One line per action and folder: messages, bytes freed on the server, the rule."""
        rows: dict[tuple, dict] = {}
        for it in self.items:
            target = None if it.action in SLIM else it.target
            row = rows.setdefault(
                (it.rule_id, it.action, it.account, it.folder, target),
                {
                    "rule_id": it.rule_id,
                    "action": it.action,
                    "account": it.account,
                    "folder": it.folder,
                    "target": target,
                    "messages": 0,
                    "bytes_freed": 0,
                },
            )
            row["messages"] += 1
            # a move to another server folder frees nothing on the quota
            freed = it.size_bytes if it.freed is None else it.freed
            row["bytes_freed"] += 0 if it.action == "move" else freed
        return list(rows.values())


def pick_run(conn: sqlite3.Connection, run_id: int | None) -> int:
    """--run ID (complete or partial), else the latest complete run."""
    if run_id is None:
        row = conn.execute("SELECT max(id) FROM finished_runs WHERE status = 'complete'").fetchone()
        if not row or row[0] is None:
            raise StoreError("clean.error.no_run")
        return int(row[0])
    row = conn.execute("SELECT status FROM finished_runs WHERE id = ?", (run_id,)).fetchone()
    if not row:
        raise StoreError("clean.error.unknown_run", run=run_id)
    return run_id


def _findings(conn: sqlite3.Connection, run_id: int) -> dict[str, list[dict]]:
    return {
        rule_id: json.loads(evidence)
        for rule_id, evidence in conn.execute(
            "SELECT rule_id, evidence FROM finding_rows WHERE run_id = ?", (run_id,)
        )
    }


def _imap_accounts(conn: sqlite3.Connection, run_id: int) -> set[str]:
    return {
        row[0]
        for row in conn.execute(
            "SELECT s.account FROM run_sources rs JOIN sources s ON s.id = rs.source_id "
            "WHERE rs.run_id = ? AND s.kind = 'imap'",
            (run_id,),
        )
    }


def _uidvalidity(conn: sqlite3.Connection, account: str, folder: str) -> int | None:
    row = conn.execute(
        "SELECT fs.uidvalidity FROM folder_state fs JOIN sources s ON s.id = fs.source_id "
        "WHERE s.kind = 'imap' AND s.account = ? AND fs.name = ?",
        (account, folder),
    ).fetchone()
    return row[0] if row else None


_COLUMNS = "uid, size_bytes, message_id, internal_date"


# Virtual folders (RFC 6154 \\All, \\Flagged: Gmail's [Gmail]/All Mail, Starred) show
# messages that live in another folder too: acting there would act on every label at once.
_REAL = "coalesce(special_use, '') NOT IN ('All', 'Flagged')"


def _messages(conn, run_id, account, folder, where, params, limit=-1) -> list[sqlite3.Row]:
    return conn.execute(
        f"SELECT folder, {_COLUMNS} FROM messages WHERE run_id = ? AND account = ? "
        f"AND folder = ? AND {_REAL} AND {where} ORDER BY julianday(internal_date), uid LIMIT ?",
        (run_id, account, folder, *params, limit),
    ).fetchall()


def _wanted(sel: Selection, account: str | None, folder: str | None) -> bool:
    return (sel.account is None or sel.account == account) and (
        sel.folder is None or sel.folder == folder
    )


def _old_enough(sel: Selection, internal_date: str | None, now: datetime) -> bool:
    if sel.older_than_days is None:
        return True
    if not internal_date:
        return False
    try:
        when = datetime.fromisoformat(internal_date)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return now - when > timedelta(days=sel.older_than_days)


def build_plan(
    conn: sqlite3.Connection,
    sel: Selection,
    handled: set[tuple[str, str, int | None, int]] | None = None,
    now: datetime | None = None,
) -> Plan:
    """The actions for the findings of the chosen run, without the messages in `handled`
    ((account, folder, uidvalidity, uid) already done by an earlier clean run)."""
    run_id = pick_run(conn, sel.run_id)
    now = now or datetime.now(UTC)
    handled = handled or set()
    findings = _findings(conn, run_id)
    imap = _imap_accounts(conn, run_id)
    rules = set(sel.rules or RULES)
    plan = Plan(run_id, sel)
    validity: dict[tuple[str, str], int | None] = {}

    def add(
        rule_id: str, action: str, account: str, row: sqlite3.Row, target=None, freed=None
    ) -> None:
        folder = row["folder"]
        if (account, folder) not in validity:
            validity[account, folder] = _uidvalidity(conn, account, folder)
        uv = validity[account, folder]
        if (account, folder, uv, row["uid"]) in handled:
            return
        if not _old_enough(sel, row["internal_date"], now):
            return
        plan.items.append(
            Item(
                rule_id,
                action,
                account,
                folder,
                row["uid"],
                row["size_bytes"],
                row["message_id"],
                row["internal_date"],
                uv,
                target,
                freed,
            )
        )

    def rows_of(rule_id: str) -> list[dict]:
        if rule_id not in rules:
            return []
        return [
            r
            for r in findings.get(rule_id, [])
            if r.get("account") in imap and _wanted(sel, r.get("account"), r.get("folder"))
        ]

    if sel.slim:
        # the smallest attachment MAIL008 reported is the rule's threshold for this run (its
        # evidence may be cut to the largest rows: then the threshold read is higher, safer)
        sizes = [r.get("size_bytes") or 0 for r in rows_of("MAIL008")]
        least = min(sizes) if sizes else None
        for account, row, parts, freed in _heavy(conn, run_id, imap, sel, least):
            if _is_sealed(conn, run_id, account, row):
                plan.sealed.append({"account": account, "folder": row["folder"], "uid": row["uid"]})
                continue
            target = json.dumps({"parts": parts, "dir": sel.detach_to})
            add("MAIL008", sel.slim, account, row, target, freed)
        return plan
    # MAIL002: the folder's N oldest read messages are the ones the rule counted (it keeps
    # read messages older than a cut-off date), as the report's reclaimable total reads them.
    for r in rows_of("MAIL002"):
        action = "move" if sel.to_folder else "archive"
        if sel.to_folder == r["folder"]:
            continue  # already where it would go
        where = "seen = 1 AND internal_date IS NOT NULL"
        for row in _messages(conn, run_id, r["account"], r["folder"], where, (), r["messages"]):
            add("MAIL002", action, r["account"], row, sel.to_folder)
    # MAIL004: the N oldest messages of a Trash or Junk folder.
    for r in rows_of("MAIL004"):
        where = "internal_date IS NOT NULL"
        for row in _messages(conn, run_id, r["account"], r["folder"], where, (), r["messages"]):
            add("MAIL004", "delete", r["account"], row)
    # MAIL005: every copy of a Message-ID but the oldest UID. The evidence keeps the 50
    # largest groups only: the folders it names are searched for every group.
    folders = {(r["account"], r["folder"]) for r in rows_of("MAIL005")}
    for account, folder in sorted(folders):
        groups: dict[str, list[sqlite3.Row]] = defaultdict(list)
        for row in conn.execute(
            f"SELECT folder, {_COLUMNS} FROM messages WHERE run_id = ? AND account = ? "
            f"AND folder = ? AND {_REAL} AND message_id IN (SELECT message_id FROM messages WHERE "
            "run_id = ? AND account = ? AND folder = ? AND message_id IS NOT NULL "
            "GROUP BY message_id HAVING count(*) > 1) ORDER BY message_id, uid",
            (run_id, account, folder, run_id, account, folder),
        ):
            groups[row["message_id"]].append(row)
        for copies in groups.values():
            for row in copies[1:]:
                add("MAIL005", "delete", account, row)
    # MAIL003: unsubscribe; with --remove-issues, the sender's issues go too.
    for r in rows_of("MAIL003"):
        account, sender = r["account"], r.get("from_addr")
        latest = conn.execute(
            "SELECT list_unsubscribe, one_click_unsubscribe FROM messages WHERE run_id = ? "
            "AND account = ? AND from_addr IS ? AND list_unsubscribe IS NOT NULL "
            "ORDER BY julianday(internal_date) DESC, uid DESC LIMIT 1",
            (run_id, account, sender),
        ).fetchone()
        if latest:
            method, target = unsubscribe_method(latest[0], bool(latest[1]))
            plan.unsubscribes.append(Unsubscribe(account, sender or "", method, target))
        if sel.remove_issues:
            for row in conn.execute(
                f"SELECT folder, {_COLUMNS} FROM messages WHERE run_id = ? AND account = ? "
                "AND from_addr IS ? AND list_unsubscribe IS NOT NULL "
                f"AND coalesce(special_use, '') NOT IN ('Trash', 'Junk') AND {_REAL} "
                "ORDER BY folder, uid",
                (run_id, account, sender),
            ):
                if _wanted(sel, account, row["folder"]):
                    add("MAIL003", "delete", account, row)
    _drop_repeats(plan)
    return plan


# MAIL008's photos and PDFs, outside Trash and Junk
_HEAVY_TYPES = "(a.content_type LIKE 'image/%' OR a.content_type = 'application/pdf')"


def _heavy(conn: sqlite3.Connection, run_id: int, imap: set[str], sel: Selection, least):
    """(account, message row, sections, bytes freed) per message to slim: for compress the
    attachments whose light version (measured by scan --compress-attachments) saves at
    least slim.MIN_SAVING; for detach every heavy photo and PDF."""
    from auditor.clean.slim import MIN_SAVING

    measured = (
        "a.light_bytes IS NOT NULL AND a.measure_status = 'smaller' "
        f"AND a.saving_bytes >= {MIN_SAVING} * (a.light_bytes + a.saving_bytes)"
        if sel.slim == "compress"
        else "1"
    )
    freed = "a.saving_bytes" if sel.slim == "compress" else "a.encoded_bytes"
    rows = (
        conn.execute(
            f"SELECT a.account, a.folder, a.uid, a.part, {freed} AS freed, m.size_bytes, "
            "m.message_id, m.internal_date FROM attachments a "
            "JOIN messages m ON m.run_id = a.run_id AND m.account = a.account "
            "AND m.folder = a.folder AND m.uid = a.uid "
            f"WHERE a.run_id = ? AND a.size_bytes >= ? AND {_HEAVY_TYPES} AND {measured} "
            "AND coalesce(a.special_use, '') NOT IN ('Trash', 'Junk', 'All', 'Flagged') "
            "ORDER BY a.account, a.folder, a.uid, a.part",
            (run_id, least),
        ).fetchall()
        if least is not None
        else []
    )
    found: dict[tuple, tuple] = {}
    for r in rows:
        if r["account"] not in imap or not _wanted(sel, r["account"], r["folder"]):
            continue
        key = (r["account"], r["folder"], r["uid"])
        _a, row, parts, total = found.get(key) or (r["account"], r, [], 0)
        found[key] = (r["account"], row, [*parts, r["part"]], total + int(r["freed"] or 0))
    return list(found.values())


# the parts a signed or encrypted message holds (RFC 3156 PGP/MIME, RFC 8551 S/MIME); the
# apply step checks the message's own structure again before any rewrite
_SEALS = (
    "application/pgp-signature",
    "application/pgp-encrypted",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
)


def _is_sealed(conn: sqlite3.Connection, run_id: int, account: str, row: sqlite3.Row) -> bool:
    marks = ",".join("?" * len(_SEALS))
    return (
        conn.execute(
            "SELECT 1 FROM attachments WHERE run_id = ? AND account = ? AND folder = ? "
            f"AND uid = ? AND content_type IN ({marks}) LIMIT 1",
            (run_id, account, row["folder"], row["uid"], *_SEALS),
        ).fetchone()
        is not None
    )


def _drop_repeats(plan: Plan) -> None:
    """A message named by two rules is acted on once (the first rule in RULES order)."""
    seen: set[tuple] = set()
    kept = []
    for it in sorted(plan.items, key=lambda i: (RULES.index(i.rule_id), i.account, i.folder)):
        key = (it.account, it.folder, it.uid)
        if key not in seen:
            seen.add(key)
            kept.append(it)
    plan.items = kept


_URIS = re.compile(r"<\s*([^<>\s]+)\s*>")


def unsubscribe_method(header: str, one_click: bool) -> tuple[str, str]:
    """(method, target) from a List-Unsubscribe header (RFC 2369) and RFC 8058's flag.

    One-click only with an https URI and List-Unsubscribe-Post (the scan's flag); else a
    mailto: address; else the first link, to be listed and never opened."""
    uris = _URIS.findall(header or "")
    https = [u for u in uris if u.lower().startswith("https://")]
    mailto = [u for u in uris if u.lower().startswith("mailto:")]
    if one_click and https:
        return "one-click", https[0]
    if mailto:
        return "mailto", mailto[0]
    return "link", (uris[0] if uris else (header or "").strip())

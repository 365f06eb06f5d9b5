"""The report: one plain dict (docs/report-json.md) built from a stored run.

Every renderer reads this dict, never the store or a mail server, so any stored run can be
rendered again in any format and language.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from auditor import __version__
from auditor.errors import Problem, localized, under
from auditor.impact import (
    car_km,
    figures_used,
    keeping_longer_kg,
    sources_for,
    storage_co2e_kg_per_year,
)
from auditor.plan import GROUPS
from auditor.rules.finding import report_entry
from auditor.rules.loader import Rule

SCHEMA_VERSION = 1


def _stored_line(text: str | None, lang: str) -> str | None:
    """A source's error (stored as JSON key + values, or as text by older versions) in `lang`."""
    if text is None or not text.startswith("{"):
        return text
    try:
        return localized(Problem.from_json(json.loads(text)), lang)
    except (ValueError, KeyError, IndexError):
        return text


def _source_problem(text: str | None, name: str) -> str | None:
    """A source's stored error, without repeating the source's own name first (the report
    already says which source it is): a Problem, or the text an older version stored."""
    if text is None or not text.startswith("{"):
        return text
    try:
        problem = Problem.from_json(json.loads(text))
    except (ValueError, KeyError, IndexError):
        return text
    if isinstance(problem, Problem) and problem.at[:1] == (name,):
        problem = Problem(problem.key, at=problem.at[1:], **problem.values)
    return problem


def keyed(line: str | None) -> dict[str, Any] | None:
    """The catalogue key and values of a line (docs/report-json.md, "Keys beside sentences"):
    what a monitoring tool matches on, whatever the report's language. A line stored as plain
    text by an older version has no key (null)."""
    if line is None:
        return None
    if not isinstance(line, Problem):
        return {"key": None, "values": {}, "at": []}
    return {"key": line.key, "values": dict(line.values), "at": list(line.at)}


def _run(conn: sqlite3.Connection, run_id: int, lang: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    sources = []
    failures = set()  # each failed source's line as the run recorded it too
    for r in conn.execute(
        "SELECT s.kind, s.account, rs.status, rs.error FROM run_sources rs "
        "JOIN sources s ON s.id = rs.source_id WHERE rs.run_id = ? ORDER BY s.id",
        (run_id,),
    ):
        problem = _source_problem(r["error"], r["account"])
        sources.append(
            {
                "kind": r["kind"],
                "name": r["account"],
                "status": r["status"],
                "error": localized(problem, lang) if problem is not None else None,
                "error_key": keyed(problem),
            }
        )
        if r["status"] != "ok" and r["error"]:
            failures.add(_stored_line(r["error"], lang))
    for host in conn.execute("SELECT source FROM host_facts WHERE run_id = ?", (run_id,)):
        sources.append(
            {
                "kind": "host",
                "name": host["source"],
                "status": "ok",
                "error": None,
                "error_key": None,
            }
        )
    # a failed source is said once, with its source (not again as a run error)
    problems = [Problem.from_json(e) for e in json.loads(row["errors"])]
    problems = [p for p in problems if localized(p, lang) not in failures]
    return {
        "id": run_id,
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "status": row["status"] if row["status"] in ("complete", "partial") else "partial",
        "sources": sources,
        "errors": [localized(p, lang) for p in problems],
        "error_keys": [keyed(p) for p in problems],
    }


def _not_checked(conn: sqlite3.Connection, run_id: int) -> list[str]:
    """What a machine's probes could not read (no DMI table, no smartctl...): the rest of
    the report stands, so these are no run errors; one line each, after the machine's name."""
    lines = []
    for h in conn.execute(
        "SELECT hostname, probe_errors FROM host_facts WHERE run_id = ? ORDER BY id", (run_id,)
    ):
        for item in json.loads(h["probe_errors"] or "[]"):
            lines.append(under(Problem.from_json(item), h["hostname"] or "?"))
    return lines


def _hosts(conn: sqlite3.Connection, run_id: int) -> list[dict[str, Any]]:
    hosts = []
    for h in conn.execute("SELECT * FROM host_facts WHERE run_id = ? ORDER BY id", (run_id,)):
        disks = [
            {
                "mountpoint": d["mountpoint"],
                "device": d["device"],
                "total_bytes": d["total_bytes"],
                "used_bytes": d["used_bytes"],
                "rotational": None if d["rotational"] is None else bool(d["rotational"]),
                "is_system": bool(d["is_system"]),
            }
            for d in conn.execute(
                "SELECT * FROM disk_facts WHERE host_fact_id = ? ORDER BY is_system DESC, "
                "mountpoint",
                (h["id"],),
            )
        ]
        hosts.append(
            {
                "hostname": h["hostname"],
                "os_name": h["os_name"],
                "os_version": h["os_version"],
                "cpu_model": h["cpu_model"],
                "cpu_cores_logical": h["cpu_cores_logical"],
                "ram_bytes": h["ram_bytes"],
                "battery_percent": h["battery_percent"],
                # the hypervisor of a virtual machine (schema v6), None for a real one
                "virtualization": h["virtualization"] if "virtualization" in h.keys() else None,
                "disks": disks,
            }
        )
    return hosts


# The fleet table: one row per machine, the most urgent first. Each weight is a reason to
# act: a system without security fixes or a Windows/Mac without working protection (3), a
# system disk 90 % full (2), support ending within six months, a worn battery, a machine
# `advise` would replace or move to a free system (1 each).
_URGENCY = {
    "os_unsupported": 3,
    "unprotected": 3,
    "disk_full": 2,
    "support_ends_soon": 1,
    "battery_worn": 1,
    "replace": 1,
}
_SOON_DAYS, _FULL_PERCENT, _WORN_PERCENT = 183, 90.0, 60.0


def _antivirus_state(host: dict[str, Any], products: list[str]) -> str:
    """protected, unprotected, unknown (a product whose state the source does not say),
    none (none found where auditor looked) or not_checked (the inventory format carries
    no antivirus)."""
    if host["av_protected"] == 1:
        return "protected"
    if host["av_protected"] == 0:
        return "unprotected"
    if products:
        return "unknown"
    return "not_checked" if host["av_checked"] == 0 else "none"


def _urgency(row: dict[str, Any], os_name: str | None, days_left: int | None) -> int:
    disk, battery = row["system_disk"], row["battery_health_percent"]
    reasons = {
        "os_unsupported": row["os_supported"] is False,
        "unprotected": row["antivirus"] in ("unprotected", "none")
        and os_name in ("Windows", "Darwin"),
        "disk_full": bool(disk and (disk["used_percent"] or 0) >= _FULL_PERCENT),
        "support_ends_soon": row["os_supported"] is True
        and days_left is not None
        and days_left <= _SOON_DAYS,
        "battery_worn": battery is not None and battery < _WORN_PERCENT,
        "replace": row["verdict"] in ("refurbished", "new", "free-os"),
    }
    return sum(_URGENCY[name] for name, present in reasons.items() if present)


def _fleet(conn: sqlite3.Connection, run_id: int) -> list[dict[str, Any]]:
    """Every machine of the run in one row (docs/report-json.md, `fleet`), most urgent first."""
    products: dict[str, list[str]] = {}
    for a in conn.execute(
        "SELECT hostname, product FROM antivirus WHERE run_id = ? ORDER BY product", (run_id,)
    ):
        products.setdefault(a["hostname"], []).append(a["product"])
    rows = []
    for row_in in conn.execute("SELECT * FROM hosts WHERE run_id = ?", (run_id,)):
        h = dict(row_in)  # a store read before schema v10 has no owner, verdict, av_checked
        for key in ("owner", "verdict", "av_checked", "collected_at"):
            h.setdefault(key, None)
        found = list(dict.fromkeys(products.get(h["hostname"], [])))
        disk = None
        if h["system_disk_bytes"] is not None:
            rotational = h["system_disk_rotational"]
            disk = {
                "total_bytes": h["system_disk_bytes"],
                "used_percent": h["system_disk_used_percent"],
                "rotational": None if rotational is None else bool(rotational),
            }
        supported = h["os_supported"]
        row = {
            "hostname": h["hostname"],
            "owner": h["owner"],
            "source": h["source"],
            "collected_at": h["collected_at"],
            "age_years": h["age_years"],
            "os_label": h["os_label"] or h["os_version"],
            "os_eol": h["os_eol"],
            "os_supported": None if supported is None else bool(supported),
            "antivirus": _antivirus_state(h, found),
            "antivirus_products": found,
            "system_disk": disk,
            "battery_health_percent": h["battery_health_percent"],
            "verdict": h["verdict"],
        }
        row["urgency"] = _urgency(row, h["os_name"], h["os_days_left"])
        rows.append(row)
    rows.sort(key=lambda row: (-row["urgency"], str(row["hostname"]).casefold()))
    return rows


def _mailboxes(conn: sqlite3.Connection, run_id: int) -> list[dict[str, Any]]:
    """One row per account holding messages at the run, from the figures each mail source
    stored when its mail was read (run_indicators), or counted now for a run without them."""
    from auditor.store.indicators import SOURCE_COLUMNS, source_figures, stored_sources

    sources = conn.execute(
        "SELECT s.id, s.account, rs.skipped FROM run_sources rs JOIN sources s "
        "ON s.id = rs.source_id WHERE rs.run_id = ?",
        (run_id,),
    ).fetchall()
    figures = stored_sources(conn, run_id) or {
        source: source_figures(conn, source, run_id) for source, _, _ in sources
    }
    accounts: dict[str, list[int]] = {}
    for source, account, _ in sources:
        accounts.setdefault(account, []).append(source)
    boxes = []
    # sorted as SQLite's ORDER BY sorts text (BINARY: UTF-8 bytes, i.e. code points)
    for account in sorted(accounts):
        ids = accounts[account]
        totals = dict.fromkeys(SOURCE_COLUMNS, 0)
        for source in ids:
            for name, value in zip(SOURCE_COLUMNS, figures[source], strict=True):
                totals[name] += value
        if not totals["messages"]:
            continue  # an account without a message has no row (as before: none to count)
        if len(ids) > 1:  # sources of one account may share a folder name: counted once
            totals["folders"] = _account_folders(conn, run_id, ids)
        boxes.append(
            {
                "account": account,
                "folders": totals["folders"],
                "messages": totals["messages"],
                "size_bytes": totals["mailbox_bytes"],
                "attachments": totals["attachments"],
                "attachment_bytes": totals["attachment_bytes"],
                "unread": totals["unread"],
                "malformed": totals["malformed"],
                "skipped": sum(skipped for _, name, skipped in sources if name == account),
            }
        )
    return boxes


def _account_folders(conn: sqlite3.Connection, run_id: int, sources: list[int]) -> int:
    """Distinct folder names holding a message at the run, over several sources."""
    marks = ", ".join("?" * len(sources))
    return conn.execute(
        f"SELECT count(DISTINCT folder) FROM message_versions WHERE source_id IN ({marks}) "
        "AND first_run <= ? AND (gone_run IS NULL OR gone_run > ?)",
        (*sources, run_id, run_id),
    ).fetchone()[0]


def _keeping_figures(evidence: list[dict[str, Any]]) -> set[str]:
    """The manufacturing figures behind a "keep it going" estimate, from its evidence rows."""
    from auditor.impact import FIGURES

    ids: set[str] = set()
    for row in evidence:
        for name in (row.get("keep_device"), row.get("keep_with")):
            for end in ("_low", "_high"):
                if f"manufacturing_{name}{end}" in FIGURES:
                    ids.add(f"manufacturing_{name}{end}")
    return ids


def build_report(
    conn: sqlite3.Connection,
    run_id: int,
    lang: str,
    rules: dict[str, Rule],
    compare_to: int | None = None,
    association: str | None = None,
) -> dict[str, Any]:
    """The report of one stored run, in `lang`, with rule texts from `rules`.

    `compare_to` picks the run its trend compares with (default: the previous run over the
    same sources read completely). `association` (the config's `[report] association`) is
    named in every format's title.
    """
    from auditor.report.trends import trend

    findings = []
    plan: dict[str, list[str]] = {g: [] for g in GROUPS}
    figure_ids: set[str] = set()
    for f in conn.execute(
        "SELECT * FROM finding_rows WHERE run_id = ? ORDER BY plan_group, plan_rank", (run_id,)
    ):
        rule = rules.get(f["rule_id"])
        plan.setdefault(f["plan_group"], []).append(f["rule_id"])
        if f["co2e_kg_per_year_low"] is not None:  # storage estimates
            figure_ids |= {"storage_gb_year_low", "storage_gb_year_high"}
        if f["co2e_kg_avoided_low"] is not None:  # hardware kept: the machines' and parts'
            figure_ids |= _keeping_figures(json.loads(f["evidence"]))
        findings.append(report_entry(f, rule, lang))
    mailboxes = _mailboxes(conn, run_id)
    climate_block = climate(findings, mailboxes)
    if figure_ids or climate_block["mailbox_storage_kg_per_year"]:
        # the everyday equivalents every CO2e figure is shown with, and the reference gain
        figure_ids |= set(sources_for("car_km")) | set(sources_for("keeping_longer_kg", "laptop"))
        if climate_block["mailbox_storage_kg_per_year"]:
            figure_ids |= {"storage_gb_year_low", "storage_gb_year_high"}
    order = {rid: i for i, rid in enumerate(plan["urgent"] + plan["quick_wins"] + plan["to_plan"])}
    findings.sort(key=lambda f: order.get(f["rule_id"], len(order)))
    score = conn.execute("SELECT score FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    not_checked = _not_checked(conn, run_id)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "auditor", "version": __version__},
        "language": lang,
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "association": (association or "").strip() or None,
        "run": _run(conn, run_id, lang),
        "score": score if score is not None else 0,
        "hosts": _hosts(conn, run_id),
        "fleet": _fleet(conn, run_id),
        "not_checked": [localized(line, lang) for line in not_checked],
        "not_checked_keys": [keyed(line) for line in not_checked],
        "mailboxes": mailboxes,
        "findings": findings,
        "plan": {g: plan.get(g, []) for g in GROUPS},
        "reclaimable": reclaimable(conn, run_id, findings),
        "trend": trend(conn, run_id, compare_to),
        "climate": climate_block,
        "figures": figures_used(figure_ids, lang),
        "help": help_links(lang),
    }


KEPT_DEVICE, KEPT_YEARS = "laptop", 2  # the reference gain every report compares with


def climate(findings: list[dict], mailboxes: list[dict]) -> dict[str, Any]:
    """What a reader can weigh the CO2e figures against (docs/report-json.md, "climate").

    The yearly footprint of storing the mailboxes, the report's largest one-off gain
    (hardware kept), the gain of keeping one laptop two more years (the order of magnitude
    of hardware), and the kg CO2e of one km by car (ADEME Impact CO2), all as (low, high).
    """
    size = sum(box.get("size_bytes") or 0 for box in mailboxes)
    storage = storage_co2e_kg_per_year(size) if mailboxes else (None, None)
    largest = None
    for f in findings:
        high = f.get("co2e_kg_avoided_high")
        if high and (largest is None or high > largest["kg"][1]):
            largest = {
                "rule_id": f["rule_id"],
                "title": f["title"],
                "kg": [f.get("co2e_kg_avoided_low") or 0.0, high],
            }
    keep = keeping_longer_kg(KEPT_DEVICE, KEPT_YEARS)
    return {
        "mailbox_bytes": size if mailboxes else None,
        "mailbox_storage_kg_per_year": list(storage) if storage[1] else None,
        "largest_avoided": largest,
        "keeping_laptop_two_years_kg": [round(keep[0], 1), round(keep[1], 1)],
        "car_km_kg": round(1 / car_km(1.0), 6),
    }


# Findings whose evidence rows are single attachments (account, folder, date, sender, file):
# deleting one (MAIL001) and compressing it (MAIL008) act on the same bytes.
ATTACHMENT_RULES = ("MAIL001", "MAIL008")
OLD_MAIL_RULE = "MAIL002"  # deletes whole old read messages, attachments included


def _attachment_key(row: dict[str, Any]) -> tuple:
    return tuple(row.get(k) for k in ("account", "folder", "date", "from_addr", "filename"))


def _deleted_as_old(
    conn: sqlite3.Connection, run_id: int, finding: dict[str, Any] | None, keys: list[tuple]
) -> set[tuple]:
    """The attachment keys (account, folder, date, sender, ...) whose message the old-mail
    finding would delete.

    Its evidence counts them per folder: they are that folder's N oldest read messages (the
    rule keeps read messages older than a cut-off date). Only the few attachment rows of the
    evidence are looked up, each against the folder's N-th oldest read message (found
    through the index on (source_id, folder, internal_date), schema v13), rather than
    reading all N (tens of thousands in a large mailbox) into memory.
    """
    counted: dict[tuple, int] = {}
    for row in (finding or {}).get("evidence") or []:
        where = (row.get("account"), row.get("folder"))
        counted[where] = max(counted.get(where, 0), int(row.get("messages") or 0))
    last: dict[tuple, tuple | None] = {}
    found: set[tuple] = set()
    for key in keys:
        account, folder, date, sender = key[:4]
        n = counted.get((account, folder), 0)
        if n <= 0 or date is None:
            continue
        if (account, folder) not in last:
            last[(account, folder)] = _oldest_read(conn, run_id, account, folder, n)
        if last[(account, folder)] is not None:
            found |= {key} if _no_later(conn, last[(account, folder)], date, sender) else set()
    return found


def _oldest_read(
    conn: sqlite3.Connection, run_id: int, account: Any, folder: Any, n: int
) -> tuple | None:
    """Where a folder's N oldest read messages at a run are: (SQL condition, its values,
    the N-th one's date and id, or None when the folder has fewer). None when no source of
    the account has that folder outside Trash and Junk (the rule leaves them out)."""
    sources = [
        source
        for (source,) in conn.execute(
            "SELECT rs.source_id FROM run_sources rs JOIN sources s ON s.id = rs.source_id "
            "WHERE rs.run_id = ? AND s.account = ? AND NOT EXISTS ("
            "SELECT 1 FROM folder_versions f WHERE f.source_id = rs.source_id AND f.name = ? "
            "AND f.first_run <= rs.run_id AND (f.gone_run IS NULL OR f.gone_run > rs.run_id) "
            "AND f.special_use IN ('Trash', 'Junk'))",
            (run_id, account, folder),
        )
    ]
    if not sources:
        return None
    # one source (the usual case) is an equality, so the index gives the order: no sort
    where = (
        f"m.source_id IN ({', '.join('?' * len(sources))}) AND m.folder = ? "
        "AND m.first_run <= ? AND (m.gone_run IS NULL OR m.gone_run > ?) "
        "AND m.seen = 1 AND m.internal_date IS NOT NULL"
    ).replace(" IN (?)", " = ?")
    values = (*sources, folder, run_id, run_id)
    bound = conn.execute(
        f"SELECT m.internal_date, m.id FROM message_versions m "
        f"INDEXED BY message_versions_dated WHERE {where} "
        "ORDER BY m.internal_date, m.id LIMIT 1 OFFSET ?",
        (*values, n - 1),
    ).fetchone()
    return where, values, tuple(bound) if bound is not None else (None, None)


def _no_later(conn: sqlite3.Connection, oldest: tuple, date: Any, sender: Any) -> bool:
    """Whether a read message of that day and sender comes no later than the folder's N-th
    oldest read message (ISO 8601 UTC text sorts in time order; equal dates by row id, the
    index's own order)."""
    where, values, (last_date, last_id) = oldest
    return (
        conn.execute(
            f"SELECT 1 FROM message_versions m INDEXED BY message_versions_dated WHERE {where} "
            # the day's range of the index ('T' follows the day in ISO 8601, 'U' after it)
            "AND m.internal_date >= ? AND m.internal_date < ? || 'U' "
            "AND substr(m.internal_date, 1, 10) = ? "
            "AND m.from_addr IS ? AND (? IS NULL OR m.internal_date < ? "
            "OR (m.internal_date = ? AND m.id <= ?)) LIMIT 1",
            (*values, date, date, date, sender, last_date, last_date, last_date, last_id),
        ).fetchone()
        is not None
    )


def reclaimable(conn: sqlite3.Connection, run_id: int, findings: list[dict]) -> dict | None:
    """The space all findings free together, each byte counted once.

    Findings overlap: the same heavy attachment is deleted by MAIL001 and compressed by
    MAIL008 (the larger action, deleting it, is counted once), and old read messages
    (MAIL002) hold attachments that MAIL001/MAIL008 also count. The total is the sum of the
    findings' gains minus those overlaps (found in the evidence, which keeps the 50 largest
    rows of a finding: beyond them an overlap is not seen and the total stays an upper bound).
    """
    gains = [f for f in findings if (f.get("bytes_reclaimable") or 0) > 0]
    if not gains:
        return None
    listed = sum(f["bytes_reclaimable"] for f in gains)
    by_rule = {f["rule_id"]: f for f in gains}
    largest: dict[tuple, int] = {}
    counted = 0
    for rule_id in ATTACHMENT_RULES:
        for row in (by_rule.get(rule_id) or {}).get("evidence") or []:
            saving = row.get("bytes_reclaimable")
            if isinstance(saving, int | float) and saving > 0:
                key = _attachment_key(row)
                largest[key] = max(largest.get(key, 0), int(saving))
                counted += int(saving)
    overlap = counted - sum(largest.values())
    old = _deleted_as_old(conn, run_id, by_rule.get(OLD_MAIL_RULE), list(largest))
    overlap += sum(saving for key, saving in largest.items() if key in old)
    return {"total_bytes": max(listed - overlap, 0), "counted_twice_bytes": overlap}


def help_links(lang: str) -> list[dict[str, str]]:
    """Where to get help (auditor/report/help_links.toml), in `lang`."""
    import tomllib
    from importlib import resources

    from auditor.i18n import t

    data = tomllib.loads((resources.files("auditor.report") / "help_links.toml").read_text("utf-8"))
    return [
        {
            "name": t(lang, f"report.help.{link['id']}.name"),
            "what": t(lang, f"report.help.{link['id']}.what"),
            "url": link["url"],
        }
        for link in data["link"]
    ]

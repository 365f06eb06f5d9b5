"""The report's sections, computed once: what each section says, cell by cell.

The text, Markdown and HTML renderers lay these out (a rich table, a pipe table, a template)
and escape text for their format; none of them decides again what a section holds, in which
order, or how a value is formatted. Text read in a mailbox or on a machine is returned
through `clean_text` (one printable line); Markdown passes `escape=md_escape` to the
builders whose cells hold such text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.i18n import t
from auditor.i18n.format import (
    UNKNOWN,
    clean_text,
    co2_range,
    distinct_labels,
    format_bytes,
    format_date,
    format_mb,
    format_number,
    format_percent,
    format_short_datetime,
    format_significant,
    shorten_middle,
)
from auditor.report.formatting import (
    SOURCE_NAME_MAX,
    about,
    column_label,
    disk_cells,
    evidence_note,
    evidence_table,
    km_range,
    km_text,
    mailbox_cells,
)

Escape = Callable[..., str]

DISK_COLUMNS = ("mountpoint", "device", "used", "size", "use", "type")
DISK_NUMERIC = (False, False, True, True, True, False)
MAILBOX_COLUMNS = (
    "account",
    "folders",
    "messages",
    "size",
    "attachments",
    "attachment_size",
    "unread",
    "malformed",
    "skipped",
)


@dataclass
class Table:
    """Headers (already in the report's language), right-aligned columns, formatted cells."""

    headers: list[str]
    numeric: list[bool]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Fact:
    """One line about a machine: its catalogue label key, its value, and whether the value
    was read on the machine (a renderer escapes those) or formatted by auditor."""

    label_key: str
    value: str
    untrusted: bool


@dataclass
class Disk:
    mountpoint: str  # one printable line, at most 60 characters, not escaped
    system: str | None  # "(system disk)"'s words when it is the system disk, else None
    cells: list[str]  # device, used, size, use, type (device escaped by the builder)


@dataclass
class Host:
    hostname: str  # one printable line, at most 80 characters, not escaped
    facts: list[Fact]
    disks: list[Disk]
    disk_headers: list[str]


def host_facts(host: dict, lang: str) -> list[Fact]:
    """System, processor, memory and (when known) battery of one machine."""
    system = " ".join(clean_text(v) for v in (host.get("os_name"), host.get("os_version")) if v)
    cpu = clean_text(host.get("cpu_model")) if host.get("cpu_model") else UNKNOWN
    if host.get("cpu_cores_logical") is not None:
        threads = format_number(host["cpu_cores_logical"], lang)
        cpu += f" ({t(lang, 'report.host.threads', count=threads)})"
    facts = [
        Fact("report.host.system", system or UNKNOWN, True),
        Fact("report.host.processor", cpu, True),
        Fact("report.host.memory", format_bytes(host.get("ram_bytes"), lang), False),
    ]
    if host.get("battery_percent") is not None:
        battery = format_percent(host["battery_percent"], lang)
        facts.append(Fact("report.host.battery", battery, False))
    return facts


def hosts(report: dict, lang: str, escape: Escape | None = None) -> list[Host]:
    """Every machine of the report, with its facts and its disks' cells."""
    headers = [t(lang, f"report.disk.{key}") for key in DISK_COLUMNS]
    system = t(lang, "report.disk.system")
    return [
        Host(
            hostname=clean_text(host.get("hostname"), 80),
            facts=host_facts(host, lang),
            disks=[
                Disk(
                    clean_text(disk.get("mountpoint"), 60),
                    system if disk.get("is_system") else None,
                    disk_cells(disk, lang, escape),
                )
                for disk in host.get("disks") or []
            ],
            disk_headers=headers,
        )
        for host in report.get("hosts") or []
    ]


FLEET_COLUMNS = (
    "machine",
    "owner",
    "source",
    "age",
    "system",
    "antivirus",
    "disk",
    "battery",
    "verdict",
)


def _fleet_system(row: dict, lang: str, escape: Escape) -> str:
    label = escape(row.get("os_label"), 80) if row.get("os_label") else UNKNOWN
    if not row.get("os_eol"):
        return label
    key = "ended" if row.get("os_supported") is False else "until"
    return t(lang, f"report.fleet.{key}", label=label, date=format_date(row["os_eol"], lang))


def _fleet_antivirus(row: dict, lang: str, escape: Escape) -> str:
    state = row.get("antivirus") or "none"
    products = ", ".join(escape(name, 40) for name in row.get("antivirus_products") or [])
    return t(lang, f"report.fleet.{state}", products=products or UNKNOWN)


def _fleet_disk(row: dict, lang: str) -> str:
    disk = row.get("system_disk")
    if not disk:
        return UNKNOWN
    kind = disk.get("rotational")
    prefix = "" if kind is None else t(lang, f"report.disk.{'hdd' if kind else 'ssd'}") + ", "
    return t(
        lang,
        "report.fleet.disk_cell",
        type=prefix,
        size=format_bytes(disk.get("total_bytes"), lang),
        use=format_percent(disk.get("used_percent"), lang),
    )


def _fleet_cells(row: dict, lang: str, escape: Escape) -> list[str]:
    source = row.get("source")
    where = t(lang, "report.fleet.local") if source == "local" else escape(source, 60)
    when = format_date(row["collected_at"], lang) if row.get("collected_at") else None
    age = row.get("age_years")
    battery = row.get("battery_health_percent")
    verdict = row.get("verdict")
    return [
        escape(row.get("hostname"), 80),
        escape(row.get("owner"), 60) if row.get("owner") else UNKNOWN,
        f"{where}, {when}" if when else where,
        UNKNOWN if age is None else t(lang, "report.fleet.years", years=format_number(age, lang)),
        _fleet_system(row, lang, escape),
        _fleet_antivirus(row, lang, escape),
        _fleet_disk(row, lang),
        UNKNOWN
        if battery is None
        else t(lang, "report.fleet.battery_cell", percent=format_percent(battery, lang)),
        t(lang, f"advise.verdict.{verdict}") if verdict else UNKNOWN,
    ]


def fleet(report: dict, lang: str, escape: Escape | None = None) -> Table | None:
    """The fleet table: every machine in one row, most urgent first (the report's order),
    text read on the machines escaped with `escape`; None without machines."""
    rows = report.get("fleet") or []
    if not rows:
        return None
    return Table(
        headers=[t(lang, f"report.fleet.{key}") for key in FLEET_COLUMNS],
        numeric=[False] * len(FLEET_COLUMNS),
        rows=[_fleet_cells(row, lang, escape or clean_text) for row in rows],
    )


def mailboxes(report: dict, lang: str, escape: Escape | None = None) -> Table | None:
    """The mailboxes' summary table (accounts escaped with `escape`), or None without one."""
    boxes = report.get("mailboxes") or []
    if not boxes:
        return None
    return Table(
        headers=[t(lang, f"report.mailbox.{key}") for key in MAILBOX_COLUMNS],
        numeric=[key != "account" for key in MAILBOX_COLUMNS],
        rows=[mailbox_cells(box, lang, escape) for box in boxes],
    )


def evidence(finding: dict, lang: str) -> tuple[Table, str | None]:
    """A finding's evidence table (headers as its pack labels them; cells not escaped) and
    the "5 of 7 examples shown." note when rows are left out."""
    keys, rows, numeric = evidence_table(finding, lang)
    table = Table([column_label(key, finding) for key in keys], numeric, rows)
    return table, evidence_note(finding, len(rows), lang)


# --- Title, plan, findings, trend, problems, climate --------------------------------------


PLAN_SECTIONS = ("urgent", "quick_wins", "to_plan")


def report_title(report: dict, lang: str) -> str:
    """ "Audit report — Les Amis du Quartier", or "Audit report" with no association named."""
    association = clean_text(report.get("association") or "", 80).strip()
    if association:
        return t(lang, "report.title_for", association=association)
    return t(lang, "report.title")


def run_time(report: dict) -> str | None:
    """When the run took place (its end, else its start): a report re-rendered later shows
    the run's time, not the time of rendering."""
    run = report.get("run") or {}
    return run.get("finished_at") or run.get("started_at") or report.get("generated_at")


def score_band(score: int | None) -> str:
    """The band of a score: "good" (80 and up), "fair" (50 to 79), "poor" or "unknown"."""
    if score is None:
        return "unknown"
    if score >= 80:
        return "good"
    if score >= 50:
        return "fair"
    return "poor"


def plan_sections(report: dict) -> list[tuple[str, list[dict]]]:
    """The findings of each plan section, in plan order.

    Findings the plan does not name come last in an "other" section (only when there are
    some); rule ids of the plan without a finding are skipped.
    """
    by_id: dict[str, dict] = {}
    for finding in report.get("findings") or []:
        by_id.setdefault(finding.get("rule_id"), finding)
    plan = report.get("plan") or {}
    sections: list[tuple[str, list[dict]]] = []
    placed: set[str] = set()
    for name in PLAN_SECTIONS:
        found = []
        for rule_id in plan.get(name) or []:
            if rule_id in by_id and rule_id not in placed:
                found.append(by_id[rule_id])
                placed.add(rule_id)
        sections.append((name, found))
    others = [f for f in report.get("findings") or [] if f.get("rule_id") not in placed]
    if others:
        sections.append(("other", others))
    return sections


def _negligible_kg() -> float:
    """kg CO2e a year under which a gain is not a climate matter (an impact threshold)."""
    from auditor.impact import threshold

    return threshold("negligible_kg_per_year")


def gains_parts(finding: dict, lang: str) -> list[str]:
    """The known gains of a finding, each one short: "41.0 MB", "0.0096–0.08 kg CO2e/yr
    (at most 0.37 km by car a year)", each CO2e range with the km by car it equals.

    A yearly gain under the `negligible_kg_per_year` threshold says so, with what it is really
    good for; a one-off gain of zero (nothing avoided) is not printed. `minutes` is the work it
    takes, not a gain: see `finding_details`.
    """
    parts = []
    if finding.get("bytes_reclaimable") is not None:
        parts.append(
            t(lang, "report.gains.space", size=format_mb(finding["bytes_reclaimable"], lang))
        )
    low, high = finding.get("co2e_kg_per_year_low"), finding.get("co2e_kg_per_year_high")
    co2 = co2_range(low, high, lang)
    if co2 is not None:
        km = km_text(high if high is not None else low or 0, lang)
        parts.append(t(lang, "report.gains.co2_car", range=co2, km=km))
        negligible = (high if high is not None else low or 0) < _negligible_kg()
        if negligible and finding.get("bytes_reclaimable") is not None:  # a gain, not a weight
            parts.append(t(lang, "report.gains.negligible"))
    low, high = finding.get("co2e_kg_avoided_low"), finding.get("co2e_kg_avoided_high")
    if high:  # "avoids 0 kg" says nothing but looks like a bug
        parts.append(
            t(
                lang,
                "report.gains.avoided_car",
                range=co2_range(low, high, lang),
                km=km_range(low, high, lang),
            )
        )
    if finding.get("euros_high"):
        euros = co2_range(finding.get("euros_low"), finding["euros_high"], lang)
        parts.append(t(lang, "report.gains.euros", range=euros))
    return parts


def finding_details(finding: dict, lang: str) -> list[str]:
    """Count and effort of a finding: ["count: 7", "effort: a few minutes (about 20 min)"]."""
    details = [t(lang, "report.finding.count", count=format_number(finding.get("count"), lang))]
    if finding.get("effort"):
        effort = t(lang, f"report.effort.{finding['effort']}")
        if finding.get("minutes") is not None:
            minutes = format_number(finding["minutes"], lang)
            details.append(t(lang, "report.finding.effort_minutes", effort=effort, minutes=minutes))
        else:
            details.append(t(lang, "report.finding.effort", effort=effort))
    return details


TREND_INDICATORS = (
    "score",
    "mailbox_bytes",
    "heavy_attachments",
    "unread_newsletters",
    "unprotected_machines",
    "unsupported_os",
)


_ARROWS = {"better": "▲", "worse": "▼", "same": "="}


def _indicator_value(name: str, value: object, lang: str) -> str:
    if name.endswith("_bytes"):
        return format_bytes(value, lang)  # type: ignore[arg-type]
    return format_number(value, lang)  # type: ignore[arg-type]


def _move_text(move: str, lang: str) -> str:
    return f"{_ARROWS[move]} {t(lang, f'report.trend.{move}')}"


def score_trend(report: dict, lang: str) -> str | None:
    """ "▲ +5 since 27/10/2026" (the score against the previous comparable run), or None."""
    from auditor.report.trends import change

    trend = report.get("trend") or {}
    previous = trend.get("previous")
    score = report.get("score")
    if not previous or score is None or "score" in (trend.get("not_comparable") or []):
        return None
    before = (previous.get("indicators") or {}).get("score")
    if before is None:
        return None
    delta = score - before
    return t(
        lang,
        "report.trend.score",
        arrow=_ARROWS[change(score, before, "score")],
        delta=f"{delta:+d}" if isinstance(delta, int) else str(delta),
        date=format_short_datetime(previous.get("started_at"), lang),
    )


def trend_table(report: dict, lang: str) -> tuple[list[str], list[list[str]]] | None:
    """(headers, rows): each indicator now, at the previous run, a month ago, and its move."""
    from auditor.report.trends import change

    trend = report.get("trend") or {}
    points = [p for p in (trend.get("month_ago"), trend.get("previous")) if p]
    if not points:
        return None
    current = trend.get("current") or {}
    headers = [t(lang, "report.trend.indicator")]
    labels = distinct_labels([p.get("started_at") for p in points], lang)
    headers += [t(lang, "report.trend.run_of", date=label) for label in labels]
    not_comparable = set(trend.get("not_comparable") or [])
    headers += [t(lang, "report.trend.now"), t(lang, "report.trend.change")]
    rows = []
    for name in TREND_INDICATORS:
        now = current.get(name)
        before = points[-1].get("indicators", {}).get(name)
        move = (
            t(lang, "report.trend.not_comparable")
            if name in not_comparable
            else _move_text(change(now, before, name), lang)
        )
        rows.append(
            [t(lang, "report.trend.score_label" if name == "score" else f"report.trend.{name}")]
            + [_indicator_value(name, p.get("indicators", {}).get(name), lang) for p in points]
            + [_indicator_value(name, now, lang), move]
        )
    return headers, rows


def error_lines(report: dict, lang: str, escape=None) -> list[str]:
    """One line per failed source and per run error, each value passed through `escape`."""
    escape = escape or clean_text
    run = report.get("run") or {}
    lines = []
    for source in run.get("sources") or []:
        if source.get("status") == "failed":
            lines.append(
                t(
                    lang,
                    "report.source_error",
                    name=escape(shorten_middle(source.get("name"), SOURCE_NAME_MAX)),
                    kind=t(lang, f"report.kind.{source.get('kind')}"),
                    error=escape(source.get("error") or t(lang, "report.source_failed")),
                )
            )
    lines.extend(escape(error) for error in run.get("errors") or [])
    return lines


def not_checked_lines(report: dict, escape=None) -> list[str]:
    """What could not be checked on the machines (no DMI table, no smartctl...), escaped."""
    escape = escape or clean_text
    return [escape(line) for line in report.get("not_checked") or []]


def _years(x: float, lang: str) -> str:
    """A number of years said the way people say it: "570 years", "5.7 million years"."""
    if x >= 1e6:
        return t(lang, "report.climate.million_years", value=format_significant(x / 1e6, lang))
    return t(lang, "report.climate.years", value=format_significant(about(x), lang))


def climate_lines(report: dict, lang: str) -> list[str]:
    """The report's CO2e figures weighed against what a reader knows (km by car, keeping a
    laptop longer), and, when the mail gains are negligible, what they are really for."""
    climate = report.get("climate") or {}
    keep = climate.get("keeping_laptop_two_years_kg")
    if not keep:
        return []
    lines = []
    storage = climate.get("mailbox_storage_kg_per_year")
    co2 = [
        f
        for f in report.get("findings") or []
        if f.get("co2e_kg_per_year_high") or f.get("co2e_kg_avoided_high")
    ]
    if not storage and not co2:
        return []  # no figure in this report to weigh
    if storage:
        lines.append(
            t(
                lang,
                "report.climate.storage",
                size=format_bytes(climate.get("mailbox_bytes"), lang),
                range=co2_range(storage[0], storage[1], lang),
                km=km_text(storage[1], lang),
            )
        )
    largest = climate.get("largest_avoided")
    if largest:
        low, high = largest["kg"]
        lines.append(
            t(
                lang,
                "report.climate.largest",
                title=clean_text(largest.get("title")),
                rule=clean_text(largest.get("rule_id")),
                range=co2_range(low, high, lang),
                km=km_range(low, high, lang),
            )
        )
    keep_range, keep_km = co2_range(keep[0], keep[1], lang), km_range(keep[0], keep[1], lang)
    if storage and storage[0] > 0:
        lines.append(
            t(
                lang,
                "report.climate.keeping_storage",
                range=keep_range,
                km=keep_km,
                low=_years(keep[0] / storage[1], lang),
                high=_years(keep[1] / storage[0], lang),
            )
        )
    else:
        lines.append(t(lang, "report.climate.keeping", range=keep_range, km=keep_km))
    if storage and storage[1] < _negligible_kg():
        lines.append(t(lang, "report.climate.mail_small"))
    return lines


def reclaimable_line(report: dict, lang: str) -> str | None:
    """The space all findings free together, each byte counted once (when some overlap or
    several findings free space)."""
    total = report.get("reclaimable") or {}
    if not total or total.get("total_bytes") is None:
        return None
    gains = [f for f in report.get("findings") or [] if (f.get("bytes_reclaimable") or 0) > 0]
    if len(gains) < 2:
        return None
    return t(lang, "report.reclaimable.total", size=format_mb(total["total_bytes"], lang))

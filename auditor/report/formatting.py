"""What the text, Markdown and HTML reports share: sections, evidence tables, gains, trends.

Numbers, sizes, dates and CO2e ranges are formatted by auditor.i18n.format, which compress,
clean and advise use too.
"""

from __future__ import annotations

import json
import math

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
    looks_like_datetime,
    shorten_middle,
)


def code_spans(text: str) -> list[tuple[str, bool]]:
    """`text` as (piece, is_code) pairs, code being what stands between two backquotes.

    Rule texts write commands as `auditor compress`: each format shows them its own way
    (HTML <code>, Markdown code span) instead of printing the backquotes.
    """
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backquote: plain text
        return [(text, False)]
    return [(part, i % 2 == 1) for i, part in enumerate(parts) if part]


# --- Shared by the renderers -------------------------------------------------------------

PLAN_SECTIONS = ("urgent", "quick_wins", "to_plan")
EVIDENCE_LIMIT = 5
CELL_MAX = 120  # characters of one evidence value


SOURCE_NAME_MAX = 40  # a source's name (a path, an address) in a line or a table cell


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


def column_label(key: str, finding: dict) -> str:
    """The printed header of an evidence column: as the rule's pack labels it, else the key."""
    return clean_text((finding.get("columns") or {}).get(key) or key)


# 0/1 columns that rules return from SQLite, shown as yes / no.
FLAG_COLUMNS = {"one_click", "seen", "rotational", "is_system", "malformed", "battery_present"}


def format_value(key: str, value: object, lang: str) -> str:
    """One evidence value: *_bytes as sizes, ISO dates shortened, numbers localised."""
    if value is None:
        return UNKNOWN
    if isinstance(value, bool) or (key in FLAG_COLUMNS and value in (0, 1)):
        return t(lang, "report.yes" if value else "report.no")
    if isinstance(value, int | float) and (
        key.endswith("_bytes") or key in ("bytes", "bytes_reclaimable")
    ):
        return format_bytes(value, lang)
    if isinstance(value, int):
        return format_number(value, lang)
    if isinstance(value, float):
        return format_significant(value, lang, 3)
    if looks_like_datetime(value):
        return format_date(str(value), lang)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return clean_text(value, CELL_MAX)


def is_numeric_column(key: str, rows: list[dict]) -> bool:
    values = [row.get(key) for row in rows if row.get(key) is not None]
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def _redundant_column(key: str, keys: list[str], rows: list[dict]) -> bool:
    """Columns a reader does not need: one account everywhere, or the reclaimable bytes
    when a size column already says it (the finding's gains give the total)."""
    if key == "account":
        return len({row.get("account") for row in rows}) <= 1
    if key == "bytes_reclaimable":
        return any(k != key and k.endswith("bytes") for k in keys)
    return key in ("keep_device", "keep_with")  # inputs of the estimate, not evidence


def evidence_table(
    finding: dict, lang: str, limit: int = EVIDENCE_LIMIT
) -> tuple[list[str], list[list[str]], list[bool]]:
    """(column keys, formatted rows, numeric flags) of the first `limit` evidence rows."""
    rows = [row for row in (finding.get("evidence") or [])[:limit] if isinstance(row, dict)]
    keys: list[str] = []
    for row in rows:
        for key in row:
            if key not in keys:
                keys.append(key)
    keys = [k for k in keys if not _redundant_column(k, keys, rows)]
    cells = [[format_value(key, row.get(key), lang) for key in keys] for row in rows]
    numeric = [is_numeric_column(key, rows) for key in keys]
    return keys, cells, numeric


def evidence_note(finding: dict, shown: int, lang: str) -> str | None:
    """ "5 of 7 examples shown." when the table leaves evidence rows out, else None.

    Counted in rows: `count` may be a sum over a column (messages of several lists).
    """
    total = len(finding.get("evidence") or [])
    if shown and total > shown:
        return t(
            lang,
            "report.finding.evidence_more",
            shown=format_number(shown, lang),
            total=format_number(total, lang),
        )
    return None


def _negligible_kg() -> float:
    """kg CO2e a year under which a gain is not a climate matter (an impact threshold)."""
    from auditor.impact import threshold

    return threshold("negligible_kg_per_year")


def _car_km(kg: float) -> float:
    from auditor.impact import car_km

    return car_km(kg)


def _about(x: float) -> float:
    """`x` to two significant digits, integers included: 579.04 -> 580, 1517 -> 1500."""
    if x <= 0 or not math.isfinite(x):
        return x
    return round(x, 1 - math.floor(math.log10(x)))


def km_text(kg: float, lang: str) -> str:
    """The km by car that emit as much as `kg` CO2e, rounded: "0.44", "580"."""
    return format_significant(_about(_car_km(kg)), lang)


def km_range(low: float | None, high: float | None, lang: str) -> str | None:
    """The km by car that emit as much as `low`–`high` kg CO2e: "320–420"."""
    if high is None:
        return None
    return co2_range(None if low is None else _about(_car_km(low)), _about(_car_km(high)), lang)


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


def disk_type(rotational: bool | None, lang: str) -> str:
    if rotational is None:
        return UNKNOWN
    return t(lang, "report.disk.hdd" if rotational else "report.disk.ssd")


def disk_use(disk: dict, lang: str) -> str:
    total, used = disk.get("total_bytes"), disk.get("used_bytes")
    if not total or used is None:
        return UNKNOWN
    return format_percent(100 * used / total, lang)


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


def disk_cells(disk: dict, lang: str, escape=None) -> list[str]:
    """One disk as table cells after its mount point (device escaped with `escape`), in
    every format; the mount point is the caller's, each format marks the system disk its way."""
    escape = escape or clean_text
    return [
        escape(disk.get("device"), 60),
        format_bytes(disk.get("used_bytes"), lang),
        format_bytes(disk.get("total_bytes"), lang),
        disk_use(disk, lang),
        disk_type(disk.get("rotational"), lang),
    ]


def mailbox_cells(box: dict, lang: str, escape=None) -> list[str]:
    """One mailbox summary as table cells (account escaped with `escape`), in every format."""
    escape = escape or clean_text
    return [
        escape(shorten_middle(box.get("account"), SOURCE_NAME_MAX)),
        format_number(box.get("folders"), lang),
        format_number(box.get("messages"), lang),
        format_bytes(box.get("size_bytes"), lang),
        format_number(box.get("attachments"), lang),
        format_bytes(box.get("attachment_bytes"), lang),
        format_number(box.get("unread"), lang),
        format_number(box.get("malformed"), lang),
        format_number(box.get("skipped"), lang),
    ]


def _years(x: float, lang: str) -> str:
    """A number of years said the way people say it: "570 years", "5.7 million years"."""
    if x >= 1e6:
        return t(lang, "report.climate.million_years", value=format_significant(x / 1e6, lang))
    return t(lang, "report.climate.years", value=format_significant(_about(x), lang))


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

"""Values as the reports show them: evidence cells and headers, km by car, disks, mailboxes.

The sections built from them are auditor.report.sections.

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
    format_bytes,
    format_date,
    format_number,
    format_percent,
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

EVIDENCE_LIMIT = 5
CELL_MAX = 120  # characters of one evidence value


SOURCE_NAME_MAX = 40  # a source's name (a path, an address) in a line or a table cell


def column_label(key: str, finding: dict) -> str:
    """The printed header of an evidence column: as the rule's pack labels it, else the key."""
    return clean_text((finding.get("columns") or {}).get(key) or key)


# 0/1 columns that rules return from SQLite, shown as yes / no.
FLAG_COLUMNS = {
    "one_click",
    "seen",
    "rotational",
    "is_system",
    "malformed",
    "battery_present",
    "measured",  # MAIL008: saving measured on the attachment (scan --compress-attachments)
}


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


def _car_km(kg: float) -> float:
    from auditor.impact import car_km

    return car_km(kg)


def about(x: float) -> float:
    """`x` to two significant digits, integers included: 579.04 -> 580, 1517 -> 1500."""
    if x <= 0 or not math.isfinite(x):
        return x
    return round(x, 1 - math.floor(math.log10(x)))


def km_text(kg: float, lang: str) -> str:
    """The km by car that emit as much as `kg` CO2e, rounded: "0.44", "580"."""
    return format_significant(about(_car_km(kg)), lang)


def km_range(low: float | None, high: float | None, lang: str) -> str | None:
    """The km by car that emit as much as `low`–`high` kg CO2e: "320–420"."""
    if high is None:
        return None
    return co2_range(None if low is None else about(_car_km(low)), about(_car_km(high)), lang)


def disk_type(rotational: bool | None, lang: str) -> str:
    if rotational is None:
        return UNKNOWN
    return t(lang, "report.disk.hdd" if rotational else "report.disk.ssd")


def disk_use(disk: dict, lang: str) -> str:
    total, used = disk.get("total_bytes"), disk.get("used_bytes")
    if not total or used is None:
        return UNKNOWN
    return format_percent(100 * used / total, lang)


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

"""Numbers, sizes, dates, CO2e ranges and untrusted text, formatted for one language.

French: "1 234,5 Mo", "27/11/2026". English: "1,234.5 MB", "2026-11-27".
Sizes use decimal units (1 kB = 1000 bytes), as disks and mail providers count them.
Every function accepts None ("unknown") and returns a dash for it. The report, `compress`,
`clean` and `advise` all print through these, so a number reads the same everywhere.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime

from auditor.i18n import t

UNKNOWN = "—"

# (thousands separator, decimal point)
_SEPARATORS = {"en": (",", "."), "fr": (" ", ",")}
_UNIT_KEYS = ("b", "kb", "mb", "gb", "tb", "pb")
_UNIT_NAMES = {"B": 0, "kB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}

# Bidirectional overrides and isolates can reorder what a terminal or a browser shows.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def format_number(x: float | None, lang: str, decimals: int = 0) -> str:
    """`x` with `decimals` decimals and the language's separators: "1,234.5" / "1 234,5"."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return UNKNOWN
    if round(x, decimals) == 0:
        x = 0  # no "-0.0"
    text = f"{x:,.{decimals}f}"
    thousands, point = _SEPARATORS.get(lang, _SEPARATORS["en"])
    return text.replace(",", "\0").replace(".", point).replace("\0", thousands)


def format_significant(x: float | None, lang: str, digits: int = 2) -> str:
    """`x` with `digits` significant digits, trailing zeros dropped: 0.0096, 0.08, 12, 1.5."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return UNKNOWN
    if x == 0:
        return format_number(0, lang)
    magnitude = math.floor(math.log10(abs(x)))
    decimals = min(max(0, digits - 1 - magnitude), 9)
    text = format_number(round(x, decimals), lang, decimals)
    point = _SEPARATORS.get(lang, _SEPARATORS["en"])[1]
    if point in text:
        text = text.rstrip("0").rstrip(point)
    return text


def format_bytes(n: float | None, lang: str, unit: str | None = None) -> str:
    """A size in decimal units: format_bytes(1234567890, "fr") == "1,2 Go".

    `unit` ("B", "kB", "MB", "GB", "TB") forces the unit; otherwise the largest unit that
    keeps the value at or above 1 is used. Bytes have no decimals, larger units one.
    """
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return UNKNOWN
    if unit is not None:
        if unit not in _UNIT_NAMES:
            raise ValueError(f"unknown unit {unit!r}, expected one of {', '.join(_UNIT_NAMES)}")
        exponent = _UNIT_NAMES[unit]
    else:
        exponent = 0
        while exponent < len(_UNIT_KEYS) - 1 and round(abs(n) / 1000**exponent, 1) >= 1000:
            exponent += 1
    decimals = 0 if exponent == 0 else 1
    label = t(lang, f"report.units.{_UNIT_KEYS[exponent]}")
    return f"{format_number(n / 1000**exponent, lang, decimals)} {label}"


def format_percent(x: float | None, lang: str) -> str:
    """A percentage: "80 %" in French, "80%" in English."""
    if x is None:
        return UNKNOWN
    number = format_number(x, lang, 0)
    return f"{number} %" if lang == "fr" else f"{number}%"


def _parse_iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None


def looks_like_datetime(value: object) -> bool:
    """True for ISO 8601 strings such as "2023-04-01" or "2023-04-01T10:00:00+00:00"."""
    return isinstance(value, str) and bool(_ISO_DATETIME.match(value.strip()))


def format_date(value: str | None, lang: str) -> str:
    """The date part of an ISO 8601 string: "2026-11-27" / "27/11/2026".

    Text that is not an ISO date is returned cleaned but unchanged.
    """
    if value is None:
        return UNKNOWN
    parsed = _parse_iso(value)
    if parsed is None:
        return clean_text(value)
    return parsed.strftime("%d/%m/%Y" if lang == "fr" else "%Y-%m-%d")


def format_datetime(value: str | None, lang: str) -> str:
    """Date and time to the minute, with "UTC" or the offset as stored: "2026-11-27 16:00 UTC"."""
    if value is None:
        return UNKNOWN
    parsed = _parse_iso(value)
    if parsed is None:
        return clean_text(value)
    text = f"{format_date(value, lang)} {parsed.strftime('%H:%M')}"
    offset = parsed.utcoffset()
    if offset is None:
        return text
    if not offset:
        return f"{text} UTC"
    return f"{text} {parsed.strftime('%z')[:3]}:{parsed.strftime('%z')[3:]}"


def format_short_datetime(value: str | None, lang: str) -> str:
    """Date and time to the minute, no zone: "27/11/2026 16:00" (runs of one day differ)."""
    if value is None:
        return UNKNOWN
    parsed = _parse_iso(value)
    if parsed is None:
        return clean_text(value)
    return f"{format_date(value, lang)} {parsed.strftime('%H:%M')}"


def distinct_labels(values: list[str | None], lang: str) -> list[str]:
    """Labels for points in time: the date alone when every date differs, else date and time."""
    dates = [format_date(v, lang) for v in values]
    if len(set(dates)) == len(dates):
        return dates
    return [format_short_datetime(v, lang) for v in values]


def shorten_middle(value: object, max_len: int) -> str:
    """One clean line of at most `max_len` characters, cut in the middle with "…".

    For paths and addresses, whose start and end say the most:
    "/home/marie/.thunderbird/x.default/Mail/Local Folders/Inbox" keeps its home and its
    folder name.
    """
    text = clean_text(value)
    if len(text) <= max_len:
        return text
    head = (max_len - 1) // 2
    tail = max_len - 1 - head
    return f"{text[:head]}…{text[-tail:]}"


def clean_text(value: object, max_len: int | None = None) -> str:
    """One printable line from text read in a mailbox or on a machine.

    Line breaks and tabs become spaces; control characters (terminal escape sequences
    included), bidirectional overrides and lone surrogates become U+FFFD. The result is
    cut to `max_len` characters with "…". Markup escaping is the renderer's job.
    """
    text = "" if value is None else str(value)
    if max_len is not None:
        text = text[: max_len + 1]
    out = []
    for char in text:
        if char in "\r\n\t":
            out.append(" ")
        elif char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs"):
            out.append("\ufffd")
        else:
            out.append(char)
    text = "".join(out)
    if max_len is not None and len(text) > max_len:
        text = text[: max_len - 1].rstrip() + "…"
    return text


def format_mb(n: float | None, lang: str) -> str:
    """Reclaimable space in MB with one decimal ("< 0.1 MB" for a small non-zero size)."""
    if n is not None and 0 < n < 50_000:
        return t(lang, "report.gains.less_than", value=format_bytes(100_000, lang, "MB"))
    return format_bytes(n, lang, "MB")


def co2_range(low: float | None, high: float | None, lang: str) -> str | None:
    """A range such as "0.0096–0.08"; one value when only one is known or both are equal."""
    if low is None and high is None:
        return None
    if (
        low is None
        or high is None
        or format_significant(low, lang) == format_significant(high, lang)
    ):
        return format_significant(low if low is not None else high, lang)
    return f"{format_significant(low, lang)}–{format_significant(high, lang)}"

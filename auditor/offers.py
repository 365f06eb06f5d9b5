"""Offers a board is weighing: read from free text (`advise --offer "..."`) or a CSV file
(`advise --offers offers.csv`, columns in docs/offers.md).

The free-text reader is forgiving: it looks for each fact wherever it is in the line
("ThinkPad T480, i5-8350U, 8 GB, 256 GB SSD, 249 €, refurbished" and "PC portable reconditionné
i5 8e génération 8 Go SSD 256 Go 249,90 EUR garantie 1 an" both work) and leaves out what it
cannot find (the comparison says "not stated"). The CSV reader is strict about its shape (a
missing column, a row with too many fields, a number that is not one: one line naming the file,
the line and what to do; exit 2) and forgiving about its numbers ("249,90", "249 €", "1 000").
The processor is only recognised later (auditor/collect/host/cpu_models.py): an unknown one is
a line of the answer, not an error.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from auditor.collect.host.cpu_models import model_key
from auditor.errors import ConfigError
from auditor.files import NotRegularFile, TooLarge, read_regular_bytes

OFFERS_LIMIT = 1_000_000  # bytes: a list of offers, not a catalogue
REQUIRED_COLUMNS = ("name", "cpu", "ram_gb", "storage_gb", "storage_type", "price_eur", "condition")
OPTIONAL_COLUMNS = ("warranty_years", "year", "os", "url", "chassis")
CONDITIONS = ("new", "refurbished")
STORAGE_TYPES = ("ssd", "hdd", "emmc")
CHASSIS = ("laptop", "desktop")


@dataclass
class Offer:
    """One machine on offer; None where the offer does not say."""

    name: str
    cpu: str | None = None
    ram_gb: float | None = None
    storage_gb: float | None = None
    storage_type: str | None = None  # one of STORAGE_TYPES
    price_eur: float | None = None
    condition: str | None = None  # one of CONDITIONS
    warranty_years: float | None = None
    year: int | None = None
    os: str | None = None  # "windows 11", "windows 10", "macos", "linux", "none"
    url: str | None = None
    chassis: str | None = None  # one of CHASSIS


# --------------------------------------------------------------------------------------------
# Words, in French and English
# --------------------------------------------------------------------------------------------

_REFURBISHED = re.compile(
    r"reconditionn|refurb|occasion|\bused\b|seconde main|second.hand|remis à neuf"
)
_NEW = re.compile(r"\bneuf\b|\bneuve\b|\bnew\b|\bbrand new\b")
_SSD = re.compile(r"\bssd\b|\bnvme\b|\bm\.2\b|\bsolid")
_HDD = re.compile(r"\bhdd\b|disque dur|hard (?:disk|drive)|\b\d{4} ?(?:rpm|tr/min)\b")
_EMMC = re.compile(r"\bemmc\b")
_DESKTOP = re.compile(
    r"\b(?:desktop|tour|tower|fixe|sff|usff|mini ?pc|optiplex|elitedesk|prodesk|thinkcentre|"
    r"mac mini|imac|unité centrale)\b"
)
_LAPTOP = re.compile(
    r"\b(?:laptop|portable|notebook|ultrabook|thinkpad|latitude|elitebook|probook|macbook|"
    r"chromebook|zenbook|vivobook|ideapad|inspiron|travelmate|surface)\b"
)
_PRICE = re.compile(
    r"(\d{1,3}(?:[ \u00a0\u202f.]\d{3})+|\d+)(?:[.,](\d{1,2}))?\s*(?:€|eur\b|euros?\b)"
    r"|(?:€|eur\b)\s*(\d+)(?:[.,](\d{1,2}))?"
)
_SIZE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(to|tb|tib|go|gb|gib)\b")
_RAM_WORD = re.compile(r"^\s*(?:de\s+)?(?:ram|mémoire|memoire|memory|ddr\d?|lpddr\d?x?)\b")
_RAM_WORD_BEFORE = re.compile(r"(?:ram|mémoire|memoire|memory)\s*:?\s*$")
_STORAGE_WORD = re.compile(r"^\s*(?:de\s+)?(?:ssd|hdd|emmc|nvme|m\.2|disque|stockage|storage|sata)")
_STORAGE_WORD_BEFORE = re.compile(r"(?:ssd|hdd|emmc|nvme|disque|stockage|storage)\s*:?\s*$")
_WARRANTY = re.compile(
    r"(?:garantie|garanti|warranty)\s*:?\s*(\d+)\s*(ans?|years?|mois|months?)"
    r"|(\d+)\s*(ans?|years?|mois|months?)\s*(?:de\s+)?(?:garantie|warranty)"
)
_YEAR = re.compile(r"\b(20[0-3]\d)\b")
_OS = (
    (re.compile(r"windows\s*11|\bwin\s*11\b|\bw11\b"), "windows 11"),
    (re.compile(r"windows\s*10|\bwin\s*10\b|\bw10\b"), "windows 10"),
    (re.compile(r"\bmac\s*os|\bmacos\b|\bsonoma\b|\bsequoia\b|\btahoe\b|\bventura\b"), "macos"),
    (re.compile(r"\blinux\b|\bubuntu\b|\bdebian\b|\bmint\b|\bfedora\b|\bchromeos flex\b"), "linux"),
    (re.compile(r"sans (?:os|système)|no os|without os|freedos"), "none"),
)
# the pieces of a line: a comma before a digit is a decimal mark ("249,90 €"), not a separator
_PIECES = re.compile(r"[;|]|,(?!\d)")
_CPU_WORDS = re.compile(
    r"\b(?:intel|amd|core|ryzen|celeron|pentium|athlon|atom|xeon|apple|snapdragon|mediatek|"
    r"qualcomm|arm|processeur|processor|cpu)\b|\bi[3579]\b"
)


def _number(text: str) -> float:
    """ "249,90" 249.9, "1 000" 1000.0, "249 €" 249.0; ValueError when it is not a number."""
    cleaned = re.sub(r"[\s\u00a0\u202f€]|eur(?:os?)?$", "", text.strip().casefold())
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", cleaned):  # "1.000": a thousands separator
        cleaned = cleaned.replace(".", "")
    cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        raise ValueError(text)
    return float(cleaned)


def _gb(value: str, unit: str) -> float:
    size = float(value.replace(",", "."))
    return size * 1000 if unit in ("to", "tb", "tib") else size


def _condition(low: str) -> str | None:
    if _REFURBISHED.search(low):
        return "refurbished"
    if _NEW.search(low):
        return "new"
    return None


def _storage_type(low: str) -> str | None:
    if _SSD.search(low):
        return "ssd"
    if _EMMC.search(low):
        return "emmc"
    if _HDD.search(low):
        return "hdd"
    return None


def _chassis(low: str) -> str | None:
    if _DESKTOP.search(low):
        return "desktop"
    if _LAPTOP.search(low):
        return "laptop"
    return None


def _price(low: str) -> float | None:
    match = _PRICE.search(low)
    if not match:
        return None
    whole = match[1] or match[3]
    cents = match[2] or match[4]
    euros = float(re.sub(r"[ \u00a0\u202f.]", "", whole))
    return euros + (float(f"0.{cents}") if cents else 0.0)


def _sizes(low: str) -> tuple[float | None, float | None]:
    """(RAM, storage) in GB: a size followed or preceded by its word, else the smaller size
    under 64 GB is the memory and the larger is the storage."""
    ram = storage = None
    loose: list[float] = []
    for match in _SIZE.finditer(low):
        size = _gb(match[1], match[2])
        after = low[match.end() : match.end() + 12]
        before = low[max(0, match.start() - 12) : match.start()]
        # "8 Go SSD 256 Go": a word next to a size that cannot be its kind is the other one's
        if (_RAM_WORD.match(after) or _RAM_WORD_BEFORE.search(before)) and size <= 256:
            ram = ram if ram is not None else size
        elif (_STORAGE_WORD.match(after) or _STORAGE_WORD_BEFORE.search(before)) and size >= 32:
            storage = storage if storage is not None else size
        else:
            loose.append(size)
    for size in sorted(loose):
        if ram is None and size <= 64:
            ram = size
        elif storage is None and size >= 32:
            storage = size
    return ram, storage


def _warranty(low: str) -> float | None:
    match = _WARRANTY.search(low)
    if not match:
        return None
    count = int(match[1] or match[3])
    unit = match[2] or match[4]
    return count / 12 if unit.startswith(("mois", "month")) else float(count)


def _os(low: str) -> str | None:
    for pattern, name in _OS:
        if pattern.search(low):
            return name
    return None


def _cpu_text(text: str) -> str | None:
    """The part of the line that names the processor: the comma-separated piece with a model
    number the table can read, else the first piece with a processor word."""
    pieces = [piece.strip() for piece in _PIECES.split(text) if piece.strip()]
    for piece in pieces:
        if model_key(piece) is not None:
            return piece
    for piece in pieces:
        if _CPU_WORDS.search(piece.casefold()):
            return piece
    return None


def parse_offer_text(text: str) -> Offer:
    """An offer from one line of free text, French or English."""
    low = " ".join(text.casefold().split())
    name = _PIECES.split(text, maxsplit=1)[0].strip() or text.strip()
    ram, storage = _sizes(low)
    price = _price(low)
    year_match = _YEAR.search(low)
    return Offer(
        name=name,
        cpu=_cpu_text(text),
        ram_gb=ram,
        storage_gb=storage,
        storage_type=_storage_type(low),
        price_eur=price,
        condition=_condition(low),
        warranty_years=_warranty(low),
        year=int(year_match[1]) if year_match else None,
        os=_os(low),
        chassis=_chassis(low),
    )


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        raw = read_regular_bytes(path, OFFERS_LIMIT)
    except NotRegularFile:
        raise ConfigError("advise.error.offers_not_regular", path=str(path)) from None
    except TooLarge:
        raise ConfigError("advise.error.offers_too_large", path=str(path), limit="1 MB") from None
    except OSError as exc:
        error = exc.strerror or str(exc)
        raise ConfigError("advise.error.offers_unreadable", path=str(path), error=error) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # a spreadsheet saved as "CSV (Windows)" in France writes cp1252
        return raw.decode("cp1252", errors="replace")


def _delimiter(first_line: str) -> str:
    """A French spreadsheet writes ';' (the comma is its decimal mark); others write ','."""
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _cell_number(row: dict[str, str], column: str, at: str) -> float | None:
    value = (row.get(column) or "").strip()
    if not value:
        return None
    try:
        return _number(value)
    except ValueError:
        raise ConfigError(
            "advise.error.offers_number", at=(at,), column=column, value=value[:40]
        ) from None


def _cell_choice(row: dict[str, str], column: str, at: str, choices: tuple[str, ...]) -> str | None:
    value = (row.get(column) or "").strip().casefold()
    if not value:
        return None
    if column == "condition":
        found = _condition(value)
    elif column == "storage_type":
        found = _storage_type(value)
    elif column == "chassis":
        found = _chassis(value) or (value if value in choices else None)
    else:
        found = value if value in choices else None
    if found is None:
        raise ConfigError(
            "advise.error.offers_choice",
            at=(at,),
            column=column,
            value=value[:40],
            choices=", ".join(choices),
        )
    return found


def _offer_from_row(row: dict[str, str], at: str) -> Offer:
    year = _cell_number(row, "year", at)
    os_text = (row.get("os") or "").strip()
    return Offer(
        name=(row.get("name") or "").strip() or at,
        cpu=(row.get("cpu") or "").strip() or None,
        ram_gb=_cell_number(row, "ram_gb", at),
        storage_gb=_cell_number(row, "storage_gb", at),
        storage_type=_cell_choice(row, "storage_type", at, STORAGE_TYPES),
        price_eur=_cell_number(row, "price_eur", at),
        condition=_cell_choice(row, "condition", at, CONDITIONS),
        warranty_years=_cell_number(row, "warranty_years", at),
        year=int(year) if year is not None else None,
        os=(_os(os_text.casefold()) or os_text.casefold()) if os_text else None,
        url=(row.get("url") or "").strip() or None,
        chassis=_cell_choice(row, "chassis", at, CHASSIS),
    )


def read_offers_csv(path: Path) -> list[Offer]:
    """The offers of a CSV file (docs/offers.md); ConfigError (one line, exit 2) when the file
    cannot be read or a row is not what the columns say."""
    text = _read_text(path)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ConfigError("advise.error.offers_empty", path=str(path))
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(lines[0]))
    header = [cell.strip().casefold() for cell in next(reader)]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ConfigError(
            "advise.error.offers_missing_column",
            path=str(path),
            missing=", ".join(missing),
            required=", ".join(REQUIRED_COLUMNS),
        )
    offers: list[Offer] = []
    for cells in reader:
        at = f"{path}:{reader.line_num}"
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise ConfigError(
                "advise.error.offers_fields", at=(at,), found=len(cells), expected=len(header)
            )
        offers.append(_offer_from_row(dict(zip(header, cells, strict=True)), at))
    if not offers:
        raise ConfigError("advise.error.offers_empty", path=str(path))
    return offers

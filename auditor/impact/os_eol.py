"""The dated table of operating systems' end of support: shipped, refreshed, saved.

The table ships with the package (`os_eol.json`, compiled from endoflife.date and the vendors'
pages, see its "data" fields) so a scan works offline; `refresh_table()` + `save_table()` (what
`auditor update-data` runs, `update_data()`) put a fresher copy in the user data dir, and
`load_table()` prefers that copy only when it is newer than the embedded one. Reading a machine
never fetches anything: auditor/collect/host/os_support.py looks releases up in this table,
and auditor.derive calls it between the collectors and the store.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from auditor.errors import Problem, SourceError
from auditor.files import atomic_write_text

API_BASE = "https://endoflife.date/api"
PRODUCTS = ("windows", "macos", "ubuntu", "debian", "linuxmint", "fedora")
TABLE_FILE = "os_eol.json"
_MAX_ANSWER_BYTES = 4 * 1024 * 1024  # an endoflife.date product answer is a few tens of kB
_USER_AGENT = "auditor (OS end-of-support table; https://endoflife.date)"


class OSDataError(SourceError):
    """The support table could not be fetched, read or saved: one line naming the URL or the
    file first, raised with a catalog key ("probe.os_data.…") like every `AuditorError`.
    `str()` is the English line, `localized(lang)` the line in `lang`."""


def eol_value(raw: Any) -> date | bool | None:
    """A table `eol` field: a date, True (ended, date unknown), False (no end announced);
    None when it is neither."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------------------------
# The table: embedded, user copy, refresh
# --------------------------------------------------------------------------------------------


def validate_table(table: Any, where: str | None = None) -> None:
    """Raise OSDataError unless `table` has the shape `support_status()` reads.

    `where` is the file or URL the table came from, named first in the line; without it the
    line is about the table `refresh_table()` just built ("refreshed table: no products")."""

    def invalid(kind: str, **values: object) -> OSDataError:
        if where is None:
            return OSDataError(f"probe.os_data.refreshed_table.{kind}", **values)
        return OSDataError(f"probe.os_data.table.{kind}", at=(where,), **values)

    if not isinstance(table, Mapping):
        raise invalid("not_object")
    try:
        date.fromisoformat(str(table.get("fetched")))
    except ValueError:
        raise invalid("no_fetched") from None
    products = table.get("products")
    if not isinstance(products, Mapping) or not products:
        raise invalid("no_products")
    for name, product in products.items():
        if not isinstance(product, Mapping) or not isinstance(product.get("cycles"), list):
            raise invalid("no_cycles", product=name)
        for entry in product["cycles"]:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("cycle"), str):
                raise invalid("unnamed_cycle", product=name)
            if eol_value(entry.get("eol")) is None:
                raise invalid("bad_eol", product=name, cycle=entry["cycle"])


@cache
def _embedded_text() -> str:
    return resources.files("auditor.impact").joinpath(TABLE_FILE).read_text("utf-8")


def embedded_table() -> dict[str, Any]:
    """The table shipped with auditor (a fresh copy each call: callers may change it)."""
    return json.loads(_embedded_text())


def user_table_path() -> Path:
    """Where `auditor update-data` keeps the refreshed table: the user data dir."""
    return Path(platformdirs.user_data_dir("auditor", appauthor=False)) / TABLE_FILE


def load_table(path: Path | None = None) -> dict[str, Any]:
    """The user's refreshed table when it exists, is valid and is newer than the embedded one;
    else the embedded table. Never raises for a missing or damaged user copy."""
    embedded = embedded_table()
    path = user_table_path() if path is None else Path(path)
    try:
        user = json.loads(path.read_text("utf-8"))
        validate_table(user, str(path))
    except (OSError, ValueError, OSDataError):
        return embedded
    if date.fromisoformat(user["fetched"]) > date.fromisoformat(embedded["fetched"]):
        return user
    return embedded


def save_table(table: Mapping[str, Any], path: Path | None = None) -> Path:
    """Write `table` to `path` (default: `user_table_path()`) atomically: a reader sees the old
    file or the new one, never half of one. Raises OSDataError, leaving the old file as it was."""
    path = user_table_path() if path is None else Path(path)
    validate_table(table)
    text = json.dumps(table, ensure_ascii=False, indent=1) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)  # mkstemp in the folder, fsync, rename
    except OSError as exc:
        raise OSDataError("probe.os_data.save", at=(str(path),), error=exc.strerror or exc) from exc
    return path


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _fetch_json(url: str, timeout: float) -> Any:
    request = urllib.request.Request(
        url, headers={"User-Agent": _USER_AGENT, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read(_MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise OSDataError(
            "probe.os_data.http", at=(url,), code=exc.code, reason=_one_line(exc.reason)
        ) from None
    except urllib.error.URLError as exc:
        raise OSDataError(
            "probe.os_data.connect", at=(url,), reason=_one_line(exc.reason)
        ) from None
    except TimeoutError:
        raise OSDataError("probe.os_data.timeout", at=(url,), seconds=timeout) from None
    except OSError as exc:
        raise OSDataError("probe.os_data.read", at=(url,), error=_one_line(exc)) from None
    if len(body) > _MAX_ANSWER_BYTES:
        raise OSDataError("probe.os_data.too_large", at=(url,), limit=_MAX_ANSWER_BYTES)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OSDataError("probe.os_data.not_json", at=(url,), error=_one_line(exc)) from None


def _api_date(value: Any) -> str | bool | None:
    """An endoflife.date date-or-flag field, as the table stores it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            return None
    return None


def convert_api_cycles(answer: Any, url: str, eol_field: str | None = None) -> list[dict[str, Any]]:
    """Table cycles from one endoflife.date `/api/{product}.json` answer (a list of cycles with
    cycle, releaseDate, eol, support, extendedSupport, lts, latest, codename...).

    `eol_field` names the API field to read as the end of support when it holds a date (Debian:
    "extendedSupport", the end of Debian LTS); `eol` is used otherwise."""
    if not isinstance(answer, list):
        raise OSDataError("probe.os_data.not_list", at=(url,))
    cycles: list[dict[str, Any]] = []
    for item in answer:
        if not isinstance(item, Mapping) or item.get("cycle") in (None, ""):
            raise OSDataError("probe.os_data.unnamed_cycle", at=(url,))
        eol = _api_date(item.get("eol"))
        if eol_field:
            preferred = _api_date(item.get(eol_field))
            if isinstance(preferred, str):
                eol = preferred
        if eol is None:
            continue  # no usable end: the cycle is left out rather than guessed
        entry: dict[str, Any] = {"cycle": str(item["cycle"])}
        if isinstance(item.get("codename"), str) and item["codename"]:
            entry["codename"] = item["codename"]
        release = _api_date(item.get("releaseDate", item.get("release")))
        if isinstance(release, str):
            entry["release"] = release
        support = _api_date(item.get("support", item.get("eoas")))
        if support is not None and support != eol:
            entry["support"] = support
        entry["eol"] = eol
        if item.get("lts"):
            entry["lts"] = True
        if item.get("latest") not in (None, ""):
            entry["latest"] = str(item["latest"])
        cycles.append(entry)
    if not cycles:
        raise OSDataError("probe.os_data.no_eol", at=(url,))
    return cycles


def refresh_table(
    base_url: str = API_BASE,
    products: Iterable[str] = PRODUCTS,
    timeout: float = 10,
    *,
    today: date | None = None,
) -> dict[str, Any]:
    """A new table from `{base_url}/{product}.json` for each product, on top of the embedded one
    (products not asked for keep their embedded data, and every product keeps its references
    and notes). Raises OSDataError, one line naming the URL, at the first failure: then nothing
    is returned, so nothing gets saved."""
    base = base_url.rstrip("/")
    table = embedded_table()
    fetched = (today or date.today()).isoformat()
    for name in products:
        url = f"{base}/{name}.json"
        meta = dict(table["products"].get(name, {"name": name}))
        cycles = convert_api_cycles(_fetch_json(url, timeout), url, meta.get("eol_field"))
        meta.update(source=url, fetched=fetched, cycles=cycles)
        meta["data"] = f"endoflife.date API answer {url}, fetched {fetched}."
        table["products"][name] = meta
    table["fetched"] = fetched
    return table


def update_data(
    path: Path | None = None,
    base_url: str = API_BASE,
    products: Iterable[str] = PRODUCTS,
    timeout: float = 10,
) -> Problem:
    """What `auditor update-data` runs for the OS table: refresh, save, one line to print (a
    `Problem`: `str` is English, `localized(lang)` any language). Raises OSDataError (nothing
    written) when a product cannot be fetched."""
    products = tuple(products)
    saved = save_table(refresh_table(base_url, products, timeout), path)
    return Problem("probe.os_data.refreshed", products=", ".join(products), path=saved)

"""Loading and validating rule packs (TOML files in `rules/` and in `--rules DIR`).

A broken pack or rule gives one line naming the file and the rule (a `Problem`, catalog keys
`pack.*`, in French and English); the others still load.
Each rule's SQL is checked against an empty store of the current schema at load time, so a
typo shows up in `auditor rules list` rather than in the middle of a scan.
"""

from __future__ import annotations

import sqlite3
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.config import SEVERITIES, non_finite
from auditor.errors import Problem, RuleError
from auditor.files import read_regular_bytes
from auditor.store.functions import register_functions
from auditor.store.schema import MIGRATIONS

EFFORTS = ("minutes", "hours", "days")
CATEGORIES = ("mail", "security", "hardware", "eco")
# The eco-gestures of the guide (../shared/context), each rule serves one.
GESTURES = (
    "real-needs",
    "digital-culture",
    "evaluate",
    "light-emails",
    "sort-delete-mail",
    "adapted-hardware",
    "free-os",
    "protect-machines",
)
_REQUIRED = ("id", "category", "severity", "effort", "gesture", "title", "why", "how", "sql")
_KNOWN = set(_REQUIRED) | {"slug", "params", "minutes", "count_column", "columns"}
PACK_LIMIT = 10_000_000  # bytes: a pack is text; a FIFO or a device named *.toml is refused


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    doc: dict[str, str]
    threshold: str = ""  # an auditor.impact threshold, whose value (overrides too) is the default


@dataclass(frozen=True)
class Rule:
    id: str
    slug: str
    category: str
    severity: str
    effort: str
    gesture: str
    title: dict[str, str]
    why: dict[str, str]
    how: dict[str, str]
    sql: str
    params: tuple[Param, ...] = ()
    minutes: int | None = None
    count_column: str | None = None  # the finding's count is this column's sum, else rows
    pack: str = ""
    # header of each evidence column, by SQL name then language: the pack's [columns] table,
    # overridden by the rule's own columns.NAME (a column without one shows its SQL name)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        from auditor.impact import threshold  # read at each run: the config may override it

        return {p.name: threshold(p.threshold) if p.threshold else p.default for p in self.params}


@dataclass
class LoadedRules:
    rules: list[Rule] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # Problems, one per broken pack or rule

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def packaged_rules_dir() -> Path:
    """The built-in packs: inside the wheel (auditor/rule_packs) or the repo's rules/."""
    shipped = resources.files("auditor") / "rule_packs"
    if shipped.is_dir():
        return Path(str(shipped))
    return Path(__file__).resolve().parents[2] / "rules"


def _texts(value: Any) -> dict[str, str] | None:
    if isinstance(value, dict) and all(isinstance(value.get(k), str) for k in ("en", "fr")):
        return {"en": value["en"].strip(), "fr": value["fr"].strip()}
    return None


def labels(table: Any) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The evidence column headers of a `columns` table (NAME = { en = "…", fr = "…" }), and
    the names whose header lacks a non-empty English or French text."""
    found: dict[str, dict[str, str]] = {}
    bad: list[str] = []
    for name, value in (table if isinstance(table, dict) else {}).items():
        texts = _texts(value)
        if texts is None or not all(texts.values()):
            bad.append(name)
        else:
            found[name] = texts
    if table is not None and not isinstance(table, dict):
        bad.append("columns")
    return found, bad


def _threshold(name: Any, param: str, invalid: Any) -> Any:
    """The value of the auditor.impact threshold a parameter takes as its default."""
    from auditor.impact import THRESHOLDS

    if name not in THRESHOLDS:
        known = ", ".join(THRESHOLDS)
        raise invalid("param_threshold", name=param, threshold=repr(name), known=known)
    return THRESHOLDS[name]


def _empty_store() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    for step in MIGRATIONS:
        step(conn) if callable(step) else conn.executescript(step)
    return conn


def _parse_rule(
    raw: dict,
    where: str,
    check: sqlite3.Connection,
    pack_columns: dict[str, dict[str, str]] | None = None,
) -> Rule:
    """The rule `raw` of the pack `where`; RuleError (one line) when it is not valid.
    `pack_columns`: the headers the pack gives its columns (the rule's own ones win)."""
    rid = raw.get("id", "?")

    def invalid(name: str, /, **values: object) -> RuleError:
        return RuleError(f"pack.rule.{name}", at=(where,), rule=rid, **values)

    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise invalid("missing", keys=", ".join(missing))
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise invalid("unknown_key", keys=", ".join(unknown))
    for key in ("id", "sql"):
        if not isinstance(raw[key], str):
            raise invalid("not_text", setting=key)
    if not isinstance(raw.get("params", {}), dict):
        raise invalid("params_table")
    for key, allowed in (
        ("severity", SEVERITIES),
        ("effort", EFFORTS),
        ("category", CATEGORIES),
        ("gesture", GESTURES),
    ):
        if raw[key] not in allowed:
            raise invalid("one_of", setting=key, allowed=", ".join(allowed), value=repr(raw[key]))
    texts = {}
    for key in ("title", "why", "how"):
        texts[key] = _texts(raw[key])
        if texts[key] is None:
            raise invalid("texts", setting=key)
    params = []
    for name, spec in raw.get("params", {}).items():
        if isinstance(spec, dict) and "threshold" in spec and "default" not in spec:
            spec = {**spec, "default": _threshold(spec["threshold"], name, invalid)}
        if not isinstance(spec, dict) or "default" not in spec or _texts(spec) is None:
            raise invalid("param", name=name)
        if non_finite(spec["default"]) is not None:  # nan: every comparison false, no finding
            raise invalid("param_not_finite", name=name, value=repr(non_finite(spec["default"])))
        params.append(Param(name, spec["default"], _texts(spec) or {}, spec.get("threshold", "")))
    columns, bad = labels(raw.get("columns"))
    if bad:
        raise invalid("columns", column=bad[0])
    sql = raw["sql"].strip()
    bind = {p.name: p.default for p in params} | {"run_id": 0, "now": "2000-01-01"}
    try:
        check.execute("EXPLAIN " + sql, bind)
    except sqlite3.Error as exc:
        raise invalid("sql", error=exc) from None
    return Rule(
        id=rid,
        slug=raw.get("slug", rid.lower()),
        category=raw["category"],
        severity=raw["severity"],
        effort=raw["effort"],
        gesture=raw["gesture"],
        title=texts["title"],
        why=texts["why"],
        how=texts["how"],
        sql=sql,
        params=tuple(params),
        minutes=raw.get("minutes"),
        count_column=raw.get("count_column"),
        pack=where,
        columns={**(pack_columns or {}), **columns},
    )


def load_rules(
    extra_dirs: list[Path] | None = None, schema: sqlite3.Connection | None = None
) -> LoadedRules:
    """Every valid rule of the built-in packs and of `extra_dirs`, plus one line per problem.

    Queries are checked with EXPLAIN against `schema` (an open store of the current version),
    or an empty in-memory store built for the purpose."""
    loaded = LoadedRules()
    check = schema or _empty_store()
    seen: dict[str, str] = {}
    dirs = [packaged_rules_dir(), *[Path(d) for d in extra_dirs or []]]
    for folder in dirs:
        if not folder.is_dir():
            loaded.errors.append(Problem("pack.folder_missing", at=(str(folder),)))
            continue
        for pack in sorted(folder.glob("*.toml")):
            try:
                text = read_regular_bytes(pack, PACK_LIMIT).decode("utf-8-sig")
                data = tomllib.loads(text)
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
                loaded.errors.append(Problem("pack.unreadable", at=(str(pack),), error=exc))
                continue
            raws = data.get("rule", [])
            if not isinstance(raws, list):
                loaded.errors.append(Problem("pack.not_tables", at=(str(pack),)))
                continue
            pack_columns, bad = labels(data.get("columns"))
            for name in bad:
                loaded.errors.append(Problem("pack.columns", at=(str(pack),), column=name))
            for number, raw in enumerate(raws, 1):
                if not isinstance(raw, dict):
                    loaded.errors.append(
                        Problem("pack.rule.not_table", at=(str(pack),), number=number)
                    )
                    continue
                try:
                    rule = _parse_rule(raw, str(pack), check, pack_columns)
                except RuleError as exc:
                    loaded.errors.append(exc.problem)
                    continue
                if rule.id in seen:
                    loaded.errors.append(
                        Problem(
                            "pack.rule.duplicate",
                            at=(str(pack),),
                            rule=rule.id,
                            other=seen[rule.id],
                        )
                    )
                    continue
                seen[rule.id] = str(pack)
                loaded.rules.append(rule)
    if schema is None:
        check.close()
    return loaded

"""A finding, and its one codec: to a `finding_rows` row, back from one, to the report's dict.

The store writes `Finding.to_row`, a rescan reuses `Finding.from_row`, the report reads
`report_entry`: a new gain column is added here once (and to the schema), not in three
hand-written shapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.rules.loader import Rule

# Gains stored and reported as they are (None: the rule does not estimate it).
GAINS = (
    "bytes_reclaimable",
    "co2e_kg_per_year_low",
    "co2e_kg_per_year_high",
    "minutes",
    "co2e_kg_avoided_low",
    "co2e_kg_avoided_high",
    "euros_low",
    "euros_high",
)
# What the rule said about itself when the finding was stored (a later pack may differ).
_RULE_COLUMNS = ("category", "severity", "effort", "gesture")


@dataclass
class Finding:
    rule: Rule
    count: int
    evidence: list[dict[str, Any]]
    bytes_reclaimable: int | None = None
    co2e_kg_per_year_low: float | None = None
    co2e_kg_per_year_high: float | None = None
    minutes: int | None = None
    co2e_kg_avoided_low: float | None = None  # one-off: hardware kept instead of replaced
    co2e_kg_avoided_high: float | None = None
    euros_low: float | None = None  # one-off: a part bought instead of a new machine
    euros_high: float | None = None
    plan_group: str = ""
    plan_rank: int = 0

    def to_row(self, run_id: int) -> dict[str, Any]:
        """The `finding_rows` row (column -> value) that stores this finding."""
        return {
            "run_id": run_id,
            "rule_id": self.rule.id,
            **{name: getattr(self.rule, name) for name in _RULE_COLUMNS},
            "plan_group": self.plan_group,
            "plan_rank": self.plan_rank,
            "count": self.count,
            "evidence": json.dumps(self.evidence, ensure_ascii=False, default=str),
            **{name: getattr(self, name) for name in GAINS},
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any], rule: Rule) -> Finding:
        """The finding a stored row holds, for `rule` (a rescan reusing it)."""
        return cls(
            rule=rule,
            count=row["count"],
            evidence=json.loads(row["evidence"]),
            **{name: row[name] for name in GAINS},
        )


def report_entry(row: Mapping[str, Any], rule: Rule | None, lang: str) -> dict[str, Any]:
    """A stored finding as the report's dict (docs/report-json.md, "findings"), in `lang`.

    The rule's texts and column headers come from the loaded pack; without it (a rule since
    removed) the title is its id and columns show their SQL names."""
    evidence = json.loads(row["evidence"])
    return {
        "rule_id": row["rule_id"],
        **{name: row[name] for name in _RULE_COLUMNS},
        "title": rule.title[lang] if rule else row["rule_id"],
        "why": rule.why[lang] if rule else "",
        "how": rule.how[lang] if rule else "",
        "count": row["count"],
        "evidence": evidence,
        "columns": _headers(evidence, rule, lang),
        **{name: row[name] for name in GAINS},
    }


def _headers(evidence: list[Any], rule: Rule | None, lang: str) -> dict[str, str]:
    """The header of each evidence column the rule's pack labels, in `lang`, in column order."""
    labels = rule.columns if rule else {}
    names = dict.fromkeys(name for row in evidence if isinstance(row, dict) for name in row)
    return {name: labels[name].get(lang) or labels[name]["en"] for name in names if name in labels}

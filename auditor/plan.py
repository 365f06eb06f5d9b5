"""The prioritiser: findings into three groups, ordered, and one score per run.

Groups (first match wins):
  urgent      severity critical, or a security finding of severity high;
  quick_wins  effort "minutes";
  to_plan     everything else (hardware, habits, work of hours or days).

Order inside a group: by priority, highest first, then by rule id (stable for ties):
  priority = 10 * severity_weight + gain_points - effort_penalty
  severity_weight: info 0, low 1, medium 2, high 3, critical 4
  gain_points = min(10, 2 * log10(1 + MB reclaimable) + 2 * log10(1 + kg CO2e per year, high))
  effort_penalty: minutes 0, hours 2, days 4
so a severity level always outweighs any gain (10 points > at most 10 points of gain only on
a tie of severity), and within a level, bigger gains and smaller effort come first.

Score (0-100, higher is better): 100 minus a penalty per finding by severity
(critical 20, high 10, medium 5, low 2, info 0), never below 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

SEVERITY_WEIGHT = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
EFFORT_PENALTY = {"minutes": 0, "hours": 2, "days": 4}
SCORE_PENALTY = {"critical": 20, "high": 10, "medium": 5, "low": 2, "info": 0}
GROUPS = ("urgent", "quick_wins", "to_plan")


class _RuleLike(Protocol):
    id: str
    category: str
    severity: str
    effort: str


class Plannable(Protocol):
    rule: _RuleLike
    bytes_reclaimable: int | None
    co2e_kg_per_year_high: float | None
    plan_group: str
    plan_rank: int


def plan_group(category: str, severity: str, effort: str) -> str:
    if severity == "critical" or (category == "security" and severity == "high"):
        return "urgent"
    if effort == "minutes":
        return "quick_wins"
    return "to_plan"


def priority(
    severity: str, effort: str, bytes_reclaimable: int | None, co2e_high: float | None
) -> float:
    gain = 2 * math.log10(1 + (bytes_reclaimable or 0) / 1e6) + 2 * math.log10(1 + (co2e_high or 0))
    return 10 * SEVERITY_WEIGHT[severity] + min(10.0, gain) - EFFORT_PENALTY[effort]


def prioritise(findings: Sequence[Plannable]) -> dict[str, list[str]]:
    """Set each finding's plan_group and plan_rank; return {group: [rule ids in order]}."""
    plan: dict[str, list[str]] = {g: [] for g in GROUPS}
    keyed = sorted(
        findings,
        key=lambda f: (
            -priority(f.rule.severity, f.rule.effort, f.bytes_reclaimable, f.co2e_kg_per_year_high),
            f.rule.id,
        ),
    )
    for f in keyed:
        f.plan_group = plan_group(f.rule.category, f.rule.severity, f.rule.effort)
        plan[f.plan_group].append(f.rule.id)
        f.plan_rank = len(plan[f.plan_group])
    return plan


def score(severities: Sequence[str]) -> int:
    return max(0, 100 - sum(SCORE_PENALTY[s] for s in severities))

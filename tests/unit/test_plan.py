"""The prioritiser's documented formula, on crafted cases."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import plan_group, prioritise, score


@dataclass
class R:
    id: str
    category: str
    severity: str
    effort: str


@dataclass
class F:
    rule: R
    bytes_reclaimable: int | None = None
    co2e_kg_per_year_high: float | None = None
    plan_group: str = ""
    plan_rank: int = 0


def test_security_high_and_any_critical_are_urgent():
    assert plan_group("security", "high", "hours") == "urgent"
    assert plan_group("hardware", "critical", "days") == "urgent"
    assert plan_group("hardware", "high", "minutes") == "quick_wins"
    assert plan_group("mail", "low", "hours") == "to_plan"


def test_a_tie_is_broken_by_rule_id():
    a, b = F(R("B2", "mail", "low", "minutes")), F(R("A1", "mail", "low", "minutes"))
    assert prioritise([a, b])["quick_wins"] == ["A1", "B2"]
    assert (b.plan_rank, a.plan_rank) == (1, 2)


def test_a_huge_low_severity_gain_stays_below_a_small_medium_one():
    huge = F(R("M1", "mail", "low", "minutes"), bytes_reclaimable=10**12, co2e_kg_per_year_high=2e3)
    small = F(R("M2", "mail", "medium", "minutes"), bytes_reclaimable=1)
    assert prioritise([huge, small])["quick_wins"] == ["M2", "M1"]


def test_bigger_gain_first_within_a_severity():
    big = F(R("M9", "mail", "low", "minutes"), bytes_reclaimable=5 * 10**9)
    small = F(R("M1", "mail", "low", "minutes"), bytes_reclaimable=10**6)
    assert prioritise([small, big])["quick_wins"] == ["M9", "M1"]


def test_small_critical_finding_is_first_in_urgent():
    crit = F(R("S1", "security", "critical", "days"))
    big = F(R("M1", "mail", "medium", "minutes"), bytes_reclaimable=10**11)
    plan = prioritise([big, crit])
    assert plan["urgent"] == ["S1"] and plan["quick_wins"] == ["M1"]


def test_score_subtracts_penalties_and_never_goes_below_zero():
    assert score([]) == 100
    assert score(["high", "medium", "low", "info"]) == 83
    assert score(["critical"] * 6) == 0

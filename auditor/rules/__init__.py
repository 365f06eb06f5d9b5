"""The rule engine: load TOML packs, bind parameters, run read-only SQL, build findings."""

from auditor.rules.engine import run_rules
from auditor.rules.finding import Finding
from auditor.rules.loader import GESTURES, Rule, load_rules, packaged_rules_dir

__all__ = ["GESTURES", "Finding", "Rule", "load_rules", "packaged_rules_dir", "run_rules"]

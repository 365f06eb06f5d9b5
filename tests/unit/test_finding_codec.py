"""One finding codec: what the store writes, a rescan reads back and the report shows agree."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from auditor.rules.finding import GAINS, Finding, report_entry
from auditor.rules.loader import load_rules
from auditor.store import open_store, writes

SCHEMA = Path(__file__).parents[2] / "auditor" / "report" / "report.schema.json"


def _a_rule():
    return load_rules().rules[0]


def _stored(tmp_path: Path, finding: Finding) -> sqlite3.Row:
    conn = open_store(tmp_path / "store.db")
    row = finding.to_row(writes.start_run(conn))
    conn.execute(
        f"INSERT INTO finding_rows ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})",
        row,
    )
    conn.row_factory = sqlite3.Row
    return conn.execute("SELECT * FROM finding_rows").fetchone()


def test_a_stored_finding_reads_back_as_it_was_with_every_gain(tmp_path):
    rule = _a_rule()
    gains = {name: i + 1 for i, name in enumerate(GAINS)}
    finding = Finding(rule=rule, count=3, evidence=[{"account": "é", "n": 2}], **gains)
    back = Finding.from_row(_stored(tmp_path, finding), rule)
    assert back == finding


def test_the_report_shows_every_gain_the_store_keeps_and_the_schema_names(tmp_path):
    rule = _a_rule()
    finding = Finding(rule=rule, count=1, evidence=[], euros_low=10.0, euros_high=20.0)
    entry = report_entry(_stored(tmp_path, finding), rule, "fr")
    schema = json.loads(SCHEMA.read_text())["$defs"]["finding"]["properties"]
    assert set(GAINS) <= set(entry)
    assert set(entry) == set(schema)
    assert (entry["title"], entry["euros_high"]) == (rule.title["fr"], 20.0)


def test_a_finding_carries_no_list_of_figures():
    assert "figures" not in Finding.__dataclass_fields__

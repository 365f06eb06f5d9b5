"""`auditor query` and rule packs only read the store: no file created anywhere, no setting
changed, no dangerous function, and an endless or huge query stops with one line."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.config import Config
from auditor.rules import engine
from auditor.rules.loader import load_rules
from auditor.scan import ScanRequest, run_scan
from auditor.store import Store, open_store, writes
from tests.helpers import RULE, folder, message

ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
COUNTING = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "s.db"
    conn = open_store(path)
    src = writes.source_id(conn, "mbox", "box", "/x")
    run = writes.start_run(conn)
    writes.record_source_status(conn, run, src, "ok")
    writes.sync_folder(conn, src, run, folder("INBOX", [message(1), message(2)]))
    writes.finish_run(conn, run, "complete", 100, [])
    conn.close()
    return path


def query(store, sql, *options):
    result = CliRunner().invoke(
        main, ["query", "--db", str(store), "--format", "json", *options, sql]
    )
    return result.exit_code, result.stdout, result.stderr


def one_line(code, err, expected):
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert expected in err, err


def test_attach_cannot_create_a_file(store, tmp_path):
    planted = tmp_path / "planted.db"
    code, _out, err = query(store, f"ATTACH DATABASE '{planted}' AS x")
    one_line(code, err, "is not allowed; auditor query only reads the store")
    assert not planted.exists()


def test_vacuum_into_cannot_copy_the_store_elsewhere(store, tmp_path):
    copy = tmp_path / "copy.db"
    code, _out, err = query(store, f"VACUUM INTO '{copy}'")
    one_line(code, err, "is not allowed")
    assert not copy.exists()


def test_query_only_cannot_be_turned_off(store):
    code, _out, err = query(store, "PRAGMA query_only = OFF")
    one_line(code, err, "PRAGMA query_only = OFF is not allowed")


def test_fts3_tokenizer_is_out_of_reach(store):
    code, _out, err = query(store, "SELECT fts3_tokenizer('simple')")
    one_line(code, err, "fts3_tokenizer() is not allowed")


def test_writes_and_schema_changes_are_refused(store):
    for sql in ("DELETE FROM runs", "CREATE TEMP TABLE t (x)", "DROP VIEW messages"):
        code, _out, err = query(store, sql)
        one_line(code, err, "is not allowed")
    code, out, _err = query(store, "SELECT count(*) AS n FROM runs")
    assert code == 0 and '"n": 1' in out


def test_an_endless_recursive_query_stops_at_the_time_budget(store):
    started = time.monotonic()
    code, _out, err = query(store, ENDLESS, "--max-seconds", "0.5")
    one_line(code, err, "query: stopped after 0.5 s")
    assert time.monotonic() - started < 10


def test_a_huge_result_stops_at_the_row_cap(store):
    code, out, err = query(store, COUNTING, "--max-rows", "1000")
    one_line(code, err, "query: more than 1000 rows")
    assert out == ""


def test_a_value_too_long_to_build_is_one_line(store):
    code, _out, err = query(store, "SELECT length(zeroblob(100000000))")  # 100 MB
    one_line(code, err, "query: string or blob too big")


def test_what_a_reader_needs_still_works(store):
    sql = (
        "SELECT m.uid, count(*) OVER () AS n, json_extract('{\"a\": 2}', '$.a') AS j, "
        "date('2026-01-02') AS d, compress_saving('image/jpeg', 'a.jpg', 1000000) >= 0 AS c, "
        "(SELECT count(*) FROM json_each('[1,2,3]')) AS e, "
        "(SELECT count(*) FROM pragma_table_info('runs')) AS cols "
        "FROM latest_messages m ORDER BY m.uid"
    )
    code, out, err = query(store, sql)
    assert code == 0, err
    assert '"j": 2' in out and '"e": 3' in out and '"d": "2026-01-02"' in out
    code, out, err = query(store, "PRAGMA table_info(messages)")
    assert code == 0 and '"name": "subject"' in out, err


def _pack(tmp_path, *rules):
    d = tmp_path / "packs"
    d.mkdir(exist_ok=True)
    (d / "mine.toml").write_text("\n".join(rules), encoding="utf-8")
    return d


def test_an_endless_rule_fails_alone_and_the_scan_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "RULE_SECONDS", 0.5)
    rules = load_rules(
        [
            _pack(
                tmp_path,
                RULE.format(id="X100", sql=ENDLESS),
                RULE.format(id="X101", sql="SELECT uid FROM messages WHERE run_id = :run_id"),
                RULE.format(id="X102", sql="PRAGMA query_only = OFF"),
                RULE.format(id="X103", sql=f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x"),
            )
        ]
    )
    box = tmp_path / "box.mbox"
    box.write_bytes(b"From a@b Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody\n")
    from auditor.scan import MailSource

    store = Store.open(tmp_path / "s.db")
    started = time.monotonic()
    result = run_scan(
        store,
        ScanRequest(mail_sources=[MailSource("mbox", "box", box)], scan_host=False),
        Config(),
        rules,
    )
    store.close()
    assert time.monotonic() - started < 20
    assert result.status == "partial"
    assert "X101" in {f.rule.id for f in result.findings}
    lines = [str(e) for e in result.errors]
    assert any("rule X100: stopped after 0.5 s" in line for line in lines), lines
    assert any("rule X102: PRAGMA query_only = OFF is not allowed" in line for line in lines)
    assert any("rule X103:" in line and "not allowed" in line for line in lines)
    assert not (tmp_path / "x.db").exists()


def test_a_rule_whose_sql_returns_no_columns_fails_alone(store, tmp_path):
    import dataclasses

    loaded = load_rules(
        [
            _pack(
                tmp_path,
                RULE.format(id="X200", sql="PRAGMA query_only = ON"),  # no columns, no rows
                RULE.format(id="X201", sql="SELECT uid FROM messages WHERE run_id = :run_id"),
            )
        ]
    )
    rules = {r.id: r for r in loaded.rules}
    silent = dataclasses.replace(rules["X201"], id="X202", sql="-- nothing to select")
    findings, errors = engine.run_rules(
        store, 1, [rules["X200"], silent, rules["X201"]], now="2026-11-01"
    )
    assert [f.rule.id for f in findings] == ["X201"]
    assert any("rule X200: PRAGMA query_only = ON is not allowed" in e for e in errors)
    assert any(
        "rule X202: its SQL returns no columns; a rule must be one SELECT" in e for e in errors
    )
    assert engine.failed_rule_ids(errors) == {"X200", "X202"}

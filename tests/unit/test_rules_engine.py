"""The rule engine: packs are data, validated on load, run read-only, one line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import ConfigError, Problem
from auditor.rules.engine import bound_params, check_overrides, run_rules
from auditor.rules.loader import load_rules, packaged_rules_dir
from auditor.store import open_store, writes
from tests.helpers import (
    RULE,
    assert_catalog_line,
    assert_config_error_line,
    attachment,
    folder,
    message,
    raised_error,
)


def pack(tmp_path, name, *rules):
    d = tmp_path / "packs"
    d.mkdir(exist_ok=True)
    (d / name).write_text("\n".join(rules), encoding="utf-8")
    return d


def test_every_shipped_rule_loads_with_both_languages():
    loaded = load_rules()
    assert loaded.errors == []
    ids = {r.id for r in loaded.rules}
    assert {"MAIL001", "MAIL002", "MAIL003", "MAIL004", "MAIL005"} <= ids
    assert {"HW001", "HW002", "HW003"} <= ids
    for rule in loaded.rules:
        for text in (rule.title, rule.why, rule.how):
            assert text["en"] and text["fr"] and text["en"] != text["fr"], rule.id
        for p in rule.params:
            assert p.doc["en"] and p.doc["fr"], (rule.id, p.name)


def test_packaged_rules_dir_holds_the_packs():
    assert {p.name for p in packaged_rules_dir().glob("*.toml")} >= {"mail.toml", "hardware.toml"}


def test_invalid_sql_is_one_line_naming_file_and_rule_and_others_still_load(tmp_path):
    d = pack(
        tmp_path,
        "mine.toml",
        RULE.format(id="X001", sql="SELECT nope FROM messages WHERE run_id = :run_id"),
        RULE.format(id="X002", sql="SELECT uid FROM messages WHERE run_id = :run_id"),
    )
    loaded = load_rules([d])
    assert [e for e in loaded.errors if "X001" in e] == [
        f"{d / 'mine.toml'}: rule X001: invalid SQL (no such column: nope)"
    ]
    assert "X002" in {r.id for r in loaded.rules}


def test_rule_missing_french_text_is_refused(tmp_path):
    text = RULE.format(id="X003", sql="SELECT 1").replace('why.fr = "w"\n', "")
    loaded = load_rules([pack(tmp_path, "a.toml", text)])
    assert any("rule X003: why needs both en and fr texts" in e for e in loaded.errors)


def test_pack_with_toml_syntax_error_is_one_line(tmp_path):
    d = pack(tmp_path, "broken.toml", "[[rule]\nid=")
    loaded = load_rules([d])
    assert len([e for e in loaded.errors if "broken.toml" in e]) == 1
    assert "MAIL001" in {r.id for r in loaded.rules}


def test_duplicate_rule_id_is_reported_and_ignored(tmp_path):
    d = pack(tmp_path, "dup.toml", RULE.format(id="MAIL001", sql="SELECT 1"))
    loaded = load_rules([d])
    assert any("rule MAIL001: id already used" in e for e in loaded.errors)
    assert len([r for r in loaded.rules if r.id == "MAIL001"]) == 1


def test_config_overrides_win_and_unknown_ones_are_refused():
    rule = load_rules().by_id()["MAIL001"]
    assert bound_params(rule, {"MAIL001": {"min_bytes": 1}})["min_bytes"] == 1
    with pytest.raises(ConfigError, match=r"rules.MAIL001.max: unknown parameter"):
        bound_params(rule, {"MAIL001": {"max": 1}})
    with pytest.raises(ConfigError, match=r"rules.NOPE1: no such rule"):
        check_overrides(load_rules().rules, {}, {"NOPE1"})


def _scan_into(tmp_path, folders):
    path = tmp_path / "s.db"
    conn = open_store(path)
    src = writes.source_id(conn, "mbox", "box", "/x")
    run = writes.start_run(conn)
    writes.record_source_status(conn, run, src, "ok")
    for f in folders:
        writes.sync_folder(conn, src, run, f)
    conn.close()
    return path, run


def test_heavy_attachment_rule_fires_with_evidence_and_gains(tmp_path):
    path, run = _scan_into(
        tmp_path,
        [
            folder(
                "INBOX",
                [
                    message(1, attachments=(attachment("2", 6_000_000, "scan.pdf"),)),
                    message(2, attachments=(attachment("2", 100_000),)),
                ],
            ),
            folder("Trash", [message(3, attachments=(attachment("2", 9_000_000),))], "Trash"),
        ],
    )
    rules = [r for r in load_rules().rules if r.id == "MAIL001"]
    findings, errors = run_rules(path, run, rules, now="2026-11-01T00:00:00+00:00")
    assert errors == []
    (f,) = findings
    assert f.count == 1 and f.evidence[0]["filename"] == "scan.pdf"
    assert f.bytes_reclaimable == 8_000_000  # the encoded size the server stores
    assert 0 < f.co2e_kg_per_year_low < f.co2e_kg_per_year_high


def test_rule_parameters_change_the_result(tmp_path):
    path, run = _scan_into(
        tmp_path, [folder("INBOX", [message(1, attachments=(attachment("2", 2_000_000),))])]
    )
    rules = [r for r in load_rules().rules if r.id == "MAIL001"]
    now = "2026-11-01T00:00:00+00:00"
    assert run_rules(path, run, rules, now=now)[0] == []
    found, _ = run_rules(path, run, rules, now=now, overrides={"MAIL001": {"min_bytes": 1_000_000}})
    assert found[0].count == 1


def test_stale_read_mail_counts_messages_not_folders(tmp_path):
    old = "2019-01-01T00:00:00+00:00"
    path, run = _scan_into(
        tmp_path,
        [
            folder(
                "INBOX",
                [
                    message(1, internal_date=old),
                    message(2, internal_date=old),
                    message(3, internal_date=old, seen=False),
                    message(4, internal_date="2026-06-01T00:00:00+00:00"),
                ],
            )
        ],
    )
    rules = [r for r in load_rules().rules if r.id == "MAIL002"]
    (f,), _ = run_rules(path, run, rules, now="2026-11-01T00:00:00+00:00")
    assert f.count == 2 and f.evidence[0]["messages"] == 2


def test_a_failing_rule_is_one_line_and_the_others_run(tmp_path):
    path, run = _scan_into(
        tmp_path, [folder("INBOX", [message(1, attachments=(attachment("2", 7_000_000),))])]
    )
    good = [r for r in load_rules().rules if r.id == "MAIL001"]
    d = pack(
        tmp_path,
        "x.toml",
        RULE.format(id="X009", sql="SELECT abs(-9223372036854775808) FROM messages"),
    )
    bad = [r for r in load_rules([d]).rules if r.id == "X009"]
    findings, errors = run_rules(path, run, bad + good, now="2026-11-01")
    assert [f.rule.id for f in findings] == ["MAIL001"]
    assert len(errors) == 1 and "rule X009: query failed (integer overflow)" in errors[0]


def test_a_rule_cannot_write_to_the_store(tmp_path):
    path, run = _scan_into(tmp_path, [folder("INBOX", [message(1)])])
    d = pack(tmp_path, "evil.toml", RULE.format(id="X666", sql="DELETE FROM message_versions"))
    loaded = load_rules([d])
    evil = [r for r in loaded.rules if r.id == "X666"]
    assert evil  # EXPLAIN accepts a DELETE; the read-only connection must refuse it
    _, errors = run_rules(path, run, evil, now="2026-11-01")
    assert errors and "DELETE message_versions is not allowed" in errors[0]
    conn = open_store(path)
    assert conn.execute("SELECT count(*) FROM message_versions").fetchone()[0] == 1


def test_disabled_rules_do_not_run(tmp_path):
    path, run = _scan_into(
        tmp_path, [folder("INBOX", [message(1, attachments=(attachment("2", 7_000_000),))])]
    )
    rules = load_rules().rules
    findings, _ = run_rules(path, run, rules, now="2026-11-01", disabled={"MAIL001"})
    assert "MAIL001" not in {f.rule.id for f in findings}


BAD_RULE_SETTINGS = [{"NOPE1": {}}, {"MAIL001": {"size": 1}}, {"MAIL001": {"min_bytes": "big"}}]


@pytest.mark.parametrize("settings", BAD_RULE_SETTINGS)
def test_a_bad_rule_setting_is_one_line_in_both_languages(settings):
    error = raised_error(lambda: check_overrides(load_rules().rules, settings, set()))
    assert_config_error_line(error)


# --------------------------------------------------------------------------------------------
# Rule pack errors are Problems, in both languages
# --------------------------------------------------------------------------------------------


def broken_packs(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a_sql.toml").write_text(
        RULE.format(id="X001", sql="SELECT nope FROM messages WHERE run_id = :run_id")
    )
    (folder / "b_syntax.toml").write_text("[[rule]\nid=")
    (folder / "c_french.toml").write_text(
        RULE.format(id="X003", sql="SELECT 1").replace('why.fr = "w"\n', "")
    )
    (folder / "d_dup.toml").write_text(RULE.format(id="MAIL001", sql="SELECT 1"))
    (folder / "e_severity.toml").write_text(
        RULE.format(id="X005", sql="SELECT 1").replace('"low"', '"urgent"')
    )
    (folder / "f_missing.toml").write_text('[[rule]]\nid = "X006"\n')
    (folder / "g_table.toml").write_text('[rule]\nid = "X007"\n')
    (folder / "h_item.toml").write_text('rule = ["X008"]\n')
    return folder


def test_rule_pack_errors_are_problems(tmp_path) -> None:
    folder = broken_packs(tmp_path / "packs")
    loaded = load_rules([folder, tmp_path / "absent"])
    by_file = {}
    for line in loaded.errors:
        assert_catalog_line(line, "pack.")
        by_file[Path(line.at[0]).name] = line
    assert set(by_file) == {
        "a_sql.toml",
        "b_syntax.toml",
        "c_french.toml",
        "d_dup.toml",
        "e_severity.toml",
        "f_missing.toml",
        "g_table.toml",
        "h_item.toml",
        "absent",
    }
    assert (
        by_file["a_sql.toml"]
        == f"{folder / 'a_sql.toml'}: rule X001: invalid SQL (no such column: nope)"
    )
    assert by_file["a_sql.toml"].localized("fr") == (
        f"{folder / 'a_sql.toml'} : règle X001 : requête SQL invalide (no such column: nope)"
    )
    assert by_file["b_syntax.toml"].startswith(
        f"{folder / 'b_syntax.toml'}: cannot read this rule pack ("
    )
    assert by_file["c_french.toml"].endswith(": rule X003: why needs both en and fr texts")
    assert by_file["d_dup.toml"].key == "pack.rule.duplicate"
    assert by_file["d_dup.toml"].endswith(
        f"rule MAIL001: id already used in {by_file['d_dup.toml'].values['other']}; ignored"
    )
    assert by_file["e_severity.toml"].endswith(
        ": rule X005: severity must be one of info, low, medium, high, critical, not 'urgent'"
    )
    assert by_file["f_missing.toml"].endswith(
        ": rule X006: missing category, severity, effort, gesture, title, why, how, sql"
    )
    assert by_file["g_table.toml"].key == "pack.not_tables"
    assert by_file["h_item.toml"].endswith(": rule #1: must be a [[rule]] table")
    assert by_file["absent"] == f"{tmp_path / 'absent'}: rules folder not found"
    assert (
        by_file["absent"].localized("fr")
        == f"{tmp_path / 'absent'} : dossier de règles introuvable"
    )
    assert "MAIL001" in {r.id for r in loaded.rules}  # the built-in packs still load


def test_rule_pack_errors_survive_the_store(tmp_path) -> None:
    loaded = load_rules([tmp_path / "absent"])
    (line,) = loaded.errors
    back = Problem.from_json(line.to_json())
    assert back == line and back.localized("fr") == line.localized("fr")

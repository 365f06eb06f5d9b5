"""The `auditor` command as a user runs it: Click's runner, and the real console script."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "auditor" / "report" / "report.schema.json").read_text())


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    return CliRunner()


def run(runner, *args):
    return runner.invoke(main, list(args), catch_exceptions=False)


def scan_json(runner, tmp_path, *args) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    result = run(runner, "scan", "--format", "json", "--output", str(out), "--quiet", *args)
    return result.exit_code, json.loads(out.read_text(encoding="utf-8"))


def test_demo_scan_prints_the_plan_in_english(runner):
    result = run(runner, "scan", "--demo", "--no-host", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "Heavy attachments kept in the mailbox" in result.output
    assert "Quick wins" in result.output


def test_demo_scan_prints_the_plan_in_french(runner):
    result = run(runner, "scan", "--demo", "--no-host", "--lang", "fr")
    assert "Pièces jointes lourdes conservées dans la boîte" in result.output
    assert "Gains rapides" in result.output


def test_demo_fires_every_first_mail_rule_and_json_follows_the_schema(runner, tmp_path):
    code, report = scan_json(runner, tmp_path, "--demo", "--no-host")
    jsonschema.validate(report, SCHEMA)
    assert code == 0
    fired = {f["rule_id"] for f in report["findings"]}
    assert {"MAIL001", "MAIL002", "MAIL003", "MAIL004", "MAIL005"} <= fired
    planned = report["plan"]["urgent"] + report["plan"]["quick_wins"] + report["plan"]["to_plan"]
    assert sorted(planned) == sorted(fired)
    assert [f["rule_id"] for f in report["findings"]] == planned
    (box,) = report["mailboxes"]
    assert box["account"] == "demo" and box["messages"] > 50 and box["folders"] >= 3
    assert 0 <= report["score"] < 100
    heavy = next(f for f in report["findings"] if f["rule_id"] == "MAIL001")
    assert heavy["bytes_reclaimable"] > 5_000_000
    assert heavy["co2e_kg_per_year_low"] < heavy["co2e_kg_per_year_high"]
    assert report["figures"] and all(f["source"] for f in report["figures"])


def test_host_scan_describes_this_machine(runner, tmp_path):
    _, report = scan_json(runner, tmp_path, "--no-mail")
    (host,) = report["hosts"]
    assert host["hostname"] == os.uname().nodename
    assert sum(d["is_system"] for d in host["disks"]) == 1


def test_markdown_report_is_written_to_the_file_asked(runner, tmp_path):
    out = tmp_path / "sub" / "report.md"
    out.parent.mkdir()  # an existing folder: a missing one is refused (test_output_folders)
    result = run(
        runner, "scan", "--demo", "--no-host", "--format", "markdown", "--output", str(out)
    )
    assert result.exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("#") and "MAIL001" in text


def test_fail_on_sets_exit_code_1(runner):
    assert run(runner, "scan", "--demo", "--no-host", "--fail-on", "low", "-q").exit_code == 1
    assert run(runner, "scan", "--demo", "--no-host", "--fail-on", "never", "-q").exit_code == 0


def test_missing_mbox_is_one_line_and_the_run_is_partial(runner, tmp_path):
    missing = tmp_path / "nowhere.mbox"
    result = run(runner, "scan", "--no-host", "--demo", "--mbox", str(missing), "-q")
    assert result.exit_code == 3
    lines = [line for line in result.stderr.splitlines() if str(missing) in line]
    assert len(lines) == 1 and "Traceback" not in result.output


def test_local_mbox_and_maildir_are_scanned_together(runner, tmp_path):
    data = ROOT / "tests" / "data" / "mail"
    mboxes = sorted(p for p in data.rglob("*") if p.is_file() and p.read_bytes()[:5] == b"From ")
    maildirs = sorted(p for p in data.rglob("*") if (p / "cur").is_dir() and (p / "new").is_dir())
    assert mboxes and maildirs
    code, report = scan_json(
        runner, tmp_path, "--no-host", "--mbox", str(mboxes[0]), "--maildir", str(maildirs[0])
    )
    assert code in (0, 1)
    assert {b["account"] for b in report["mailboxes"]} == {str(mboxes[0]), str(maildirs[0])}


def test_cpython_email_corpus_scans_with_malformed_messages_counted(runner, tmp_path):
    import test.test_email as corpus_pkg

    corpus = Path(corpus_pkg.__file__).parent / "data"
    files = sorted(corpus.glob("msg_*.txt"))
    if not files:
        pytest.skip("this interpreter does not ship CPython's email test corpus")
    mbox = tmp_path / "corpus.mbox"
    with mbox.open("wb") as fh:
        for f in files:
            body = f.read_bytes().replace(b"\r\n", b"\n")
            body = b"\n".join(
                b">" + ln if ln.startswith(b"From ") else ln for ln in body.split(b"\n")
            )
            fh.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2004\n" + body + b"\n\n")
    code, report = scan_json(runner, tmp_path, "--no-host", "--mbox", str(mbox))
    (box,) = report["mailboxes"]
    assert box["messages"] + box["skipped"] == len(files)
    assert box["malformed"] >= 1
    assert code in (0, 1, 3)


def test_config_syntax_error_is_one_line_and_exit_2(runner, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[report]\nlanguage = "fr\n')
    result = run(runner, "scan", "--config", str(cfg), "--no-host", "--demo")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and f"{cfg}:2" in result.stderr


def test_invalid_rule_pack_is_one_line_and_other_rules_still_run(runner, tmp_path):
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "mine.toml").write_text(
        (ROOT / "rules" / "mail.toml").read_text(encoding="utf-8").split("[[rule]]")[0]
        + '[[rule]]\nid = "MINE1"\ncategory = "mail"\nseverity = "low"\neffort = "minutes"\n'
        'gesture = "light-emails"\ntitle = {en = "a", fr = "b"}\nwhy = {en = "a", fr = "b"}\n'
        'how = {en = "a", fr = "b"}\nsql = "SELEC uid FROM messages"\n',
        encoding="utf-8",
    )
    code, report = scan_json(runner, tmp_path, "--demo", "--no-host", "--rules", str(packs))
    assert code == 3
    assert any("rule MINE1: invalid SQL" in e for e in report["run"]["errors"])
    assert "MAIL001" in {f["rule_id"] for f in report["findings"]}


def test_store_that_is_not_sqlite_is_one_line_and_left_untouched(runner, tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"not a database " * 100)
    result = run(runner, "scan", "--no-host", "--demo", "--db", str(bogus))
    assert result.exit_code == 2
    assert f"{bogus}: cannot use this file as the store" in result.stderr
    assert bogus.read_bytes() == b"not a database " * 100


def test_read_only_store_is_one_line(runner, tmp_path):
    store = tmp_path / "ro.sqlite3"
    run(runner, "scan", "--no-host", "--demo", "--db", str(store), "-q")
    before = store.read_bytes()
    immutable = False
    if os.geteuid() == 0:  # root writes through file modes: make the file immutable instead
        chattr = shutil.which("chattr")
        if not chattr or subprocess.run([chattr, "+i", str(store)]).returncode != 0:
            pytest.skip("running as root on a file system without chattr +i")
        immutable = True
    else:
        store.chmod(0o444)
    try:
        result = run(runner, "scan", "--no-host", "--db", str(store), "-q")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(store)], check=True)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "store: cannot write" in result.stderr
    assert store.read_bytes() == before


def test_query_reads_views_in_three_formats(runner):
    run(runner, "scan", "--demo", "--no-host", "-q")
    sql = "SELECT folder, count(*) AS n FROM latest_messages GROUP BY folder ORDER BY folder"
    as_json = json.loads(run(runner, "query", sql, "--format", "json").output)
    assert {row["folder"] for row in as_json} >= {"Inbox", "Sent", "Trash"}
    as_csv = run(runner, "query", sql, "--format", "csv").output.splitlines()
    assert as_csv[0] == "folder,n" and len(as_csv) == len(as_json) + 1
    assert "Inbox" in run(runner, "query", sql).output


def test_query_cannot_change_the_store(runner):
    run(runner, "scan", "--demo", "--no-host", "-q")
    result = run(runner, "query", "DELETE FROM runs")
    assert result.exit_code == 2 and "DELETE runs is not allowed" in result.stderr
    assert json.loads(
        run(runner, "query", "SELECT count(*) AS n FROM runs", "--format", "json").output
    ) == [{"n": 1}]


def test_history_lists_runs_newest_first_with_indicators(runner, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    run(runner, "scan", "--demo", "--no-host", "-q")
    run(runner, "scan", "--demo", "--no-host", "-q")
    rows = json.loads(run(runner, "history", "--format", "json").output)
    assert [r["run"] for r in rows] == [2, 1]
    assert rows[0]["messages"] == rows[1]["messages"] > 0
    assert rows[0]["heavy_attachments"] >= 1
    assert {"unread_newsletters", "unprotected_machines", "unsupported_os"} <= set(rows[0])
    text = run(runner, "history", "--lang", "fr").output
    assert "PJ lourdes" in text and "Sans AV" in text
    assert "*" not in text  # no partial run
    csv_text = run(runner, "history", "--format", "csv").output
    assert csv_text.splitlines()[0].startswith("run,started,status,score,")


def test_rescan_writes_nothing_new_for_an_unchanged_mailbox(runner, tmp_path):
    run(runner, "scan", "--demo", "--no-host", "-q")
    db = Path(os.environ["AUDITOR_DB"])
    first = sqlite3.connect(db).execute("SELECT count(*) FROM message_versions").fetchone()[0]
    run(runner, "scan", "--demo", "--no-host", "-q")
    second = sqlite3.connect(db).execute("SELECT count(*) FROM message_versions").fetchone()[0]
    assert first == second


def test_init_writes_a_commented_config_and_never_overwrites(runner, tmp_path):
    target = tmp_path / "conf" / "auditor.toml"
    result = run(runner, "init", "--config", str(target))
    assert result.exit_code == 0 and str(target) in result.output
    text = target.read_text(encoding="utf-8")
    assert "[[accounts]]" in text and "password_env" in text
    target.write_text(text + "\n# mine\n", encoding="utf-8")
    again = run(runner, "init", "--config", str(target))
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert target.read_text(encoding="utf-8").endswith("# mine\n")


def test_rules_list_and_explain_in_both_languages(runner):
    listed = run(runner, "rules", "list", "--lang", "en").output
    assert "MAIL001" in listed and "HW003" in listed
    explained = run(runner, "rules", "explain", "MAIL001", "--lang", "en").output
    assert "Why it matters" in explained and "min_bytes = 5000000" in explained
    assert "SELECT" in explained
    fr = run(runner, "rules", "explain", "heavy-attachments", "--lang", "fr").output
    assert "Pourquoi c'est important" in fr and "Pièces jointes lourdes" in fr


def test_explain_unknown_rule_is_one_line(runner):
    result = run(runner, "rules", "explain", "NOPE42")
    assert result.exit_code == 2 and "no rule NOPE42" in result.stderr


def test_config_overrides_a_rule_parameter(runner, tmp_path):
    cfg = tmp_path / "auditor.toml"
    cfg.write_text("[rules.MAIL001]\nmin_bytes = 100000000000\n[rules]\ndisable = ['MAIL005']\n")
    _, report = scan_json(runner, tmp_path, "--demo", "--no-host", "--config", str(cfg))
    fired = {f["rule_id"] for f in report["findings"]}
    assert "MAIL001" not in fired and "MAIL005" not in fired and "MAIL002" in fired


def test_console_script_runs_as_a_user_would(tmp_path):
    exe = shutil.which("auditor", path=str(Path(sys.executable).parent))
    assert exe
    env = dict(
        os.environ, AUDITOR_CONFIG=str(tmp_path / "none.toml"), AUDITOR_DB=str(tmp_path / "s.db")
    )
    proc = subprocess.run(
        [exe, "scan", "--demo", "--no-host", "--lang", "en"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Heavy attachments" in proc.stdout
    assert "\x1b[" not in proc.stdout  # no colours when stdout is not a terminal
    module = subprocess.run(
        [sys.executable, "-m", "auditor", "--version"], capture_output=True, text=True
    )
    assert module.returncode == 0 and "auditor" in module.stdout


def test_unchanged_rescan_reuses_mail_findings_and_a_change_reruns_them(runner, tmp_path):
    box = tmp_path / "box.mbox"
    src = ROOT / "tests" / "data" / "mail" / "mbox" / "Inbox.mbox"
    box.write_bytes(src.read_bytes())
    _, first = scan_json(runner, tmp_path, "--no-host", "--mbox", str(box))
    _, second = scan_json(runner, tmp_path, "--no-host", "--mbox", str(box))
    assert second["findings"] == first["findings"]
    db = Path(os.environ["AUDITOR_DB"])
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM rule_runs WHERE run_id = 2").fetchone()[0] > 0
    # a changed mailbox: the rules run again and see the new message
    with box.open("ab") as fh:
        fh.write(
            b"\nFrom a@example.org Mon Jan  1 00:00:00 2018\nFrom: a@example.org\n"
            b"Message-ID: <dup-for-reuse@example.org>\nStatus: RO\n\nold\n"
            b"\nFrom a@example.org Mon Jan  1 00:00:00 2018\nFrom: a@example.org\n"
            b"Message-ID: <dup-for-reuse@example.org>\nStatus: RO\n\nold\n"
        )
    _, third = scan_json(runner, tmp_path, "--no-host", "--mbox", str(box))
    dup = next(f for f in third["findings"] if f["rule_id"] == "MAIL005")
    assert any(e["message_id"] == "<dup-for-reuse@example.org>" for e in dup["evidence"])


def test_evaluate_over_time_growth_is_reported_against_the_previous_run(runner, tmp_path):
    box = tmp_path / "grow.mbox"
    src = ROOT / "tests" / "data" / "mail" / "mbox" / "Inbox.mbox"
    box.write_bytes(src.read_bytes())
    _, first = scan_json(runner, tmp_path, "--no-host", "--mbox", str(box))
    assert "ECO002" not in {f["rule_id"] for f in first["findings"]}
    footprint = next(f for f in first["findings"] if f["rule_id"] == "ECO001")
    assert footprint["bytes_reclaimable"] is None and footprint["co2e_kg_per_year_high"] > 0
    with box.open("ab") as fh:
        fh.write(
            b"\nFrom a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\n"
            b"Subject: big\n\n" + b"x" * 200_000 + b"\n"
        )
    _, second = scan_json(runner, tmp_path, "--no-host", "--mbox", str(box))
    growth = next(f for f in second["findings"] if f["rule_id"] == "ECO002")
    assert growth["evidence"][0]["growth_bytes"] > 200_000
    _, third = scan_json(runner, tmp_path, "--no-host", "--mbox", str(box))
    assert "ECO002" not in {f["rule_id"] for f in third["findings"]}  # unchanged: no growth


def test_growth_is_never_measured_from_a_mailbox_read_only_in_part(runner, tmp_path):
    """A maildir with a pipe among its messages is read in part (the pipe is skipped): that
    run's size is not the mailbox's, so the next complete run has nothing to compare with."""
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    body = b"From: a@example.org\nSubject: big\nMessage-ID: <big@example.org>\n\n"
    (maildir / "cur" / "1.host:2,S").write_bytes(body + b"x" * 100_000 + b"\n")
    fifo = maildir / "cur" / "2.host:2,S"
    os.mkfifo(fifo)
    _, first = scan_json(runner, tmp_path, "--no-host", "--maildir", str(maildir))
    assert first["run"]["sources"][0]["status"] == "partial"
    fifo.unlink()
    (maildir / "cur" / "2.host:2,S").write_bytes(body.replace(b"big@", b"big2@") + b"y" * 100_000)
    _, second = scan_json(runner, tmp_path, "--no-host", "--maildir", str(maildir))
    assert second["run"]["sources"][0]["status"] == "ok"
    assert "ECO002" not in {f["rule_id"] for f in second["findings"]}  # no whole baseline yet
    (maildir / "cur" / "3.host:2,S").write_bytes(body.replace(b"big@", b"big3@") + b"z" * 100_000)
    _, third = scan_json(runner, tmp_path, "--no-host", "--maildir", str(maildir))
    growth = next(f for f in third["findings"] if f["rule_id"] == "ECO002")
    assert 100_000 < growth["evidence"][0]["growth_bytes"] < 110_000  # from run 2, not run 1


def test_impact_figures_can_be_overridden_from_the_config(runner, tmp_path):
    from auditor.impact import reset_figures

    cfg = tmp_path / "auditor.toml"
    cfg.write_text("[impact]\nstorage_gb_year_high = 0.1\n")
    try:
        _, report = scan_json(runner, tmp_path, "--demo", "--no-host", "--config", str(cfg))
    finally:
        reset_figures()
    heavy = next(f for f in report["findings"] if f["rule_id"] == "MAIL001")
    gb = heavy["bytes_reclaimable"] / 1e9
    assert heavy["co2e_kg_per_year_high"] == pytest.approx(gb * 0.1)
    cfg.write_text("[impact]\nno_such_figure = 1\n")
    result = run(runner, "scan", "--demo", "--no-host", "--config", str(cfg))
    assert result.exit_code == 2 and "no_such_figure" in result.stderr


def test_reports_say_where_to_get_help_in_both_languages(runner, tmp_path):
    _, report = scan_json(runner, tmp_path, "--demo", "--no-host", "--lang", "fr")
    names = [h["name"] for h in report["help"]]
    assert any("DLA" in n for n in names) and any("Solidatech" in n for n in names)
    assert all(h["url"].startswith("https://") for h in report["help"])
    text = run(runner, "scan", "--demo", "--no-host", "--lang", "en").output
    assert "Where to get help" in text and "Repair Caf" in text


def test_compressible_attachments_rule_estimates_from_measured_ratios(runner, tmp_path):
    from auditor.impact.compression import estimated_saving

    _code, report = scan_json(runner, tmp_path, "--demo", "--no-host")
    finding = next(f for f in report["findings"] if f["rule_id"] == "MAIL008")
    assert finding["gesture"] == "light-emails" and finding["count"] >= 1
    for row in finding["evidence"]:
        assert row["size_bytes"] >= 1_000_000
        saving = estimated_saving(row["content_type"], row["filename"], row["size_bytes"])
        assert row["bytes_reclaimable"] == saving > 0
    assert finding["bytes_reclaimable"] == sum(r["bytes_reclaimable"] for r in finding["evidence"])
    assert "estimate" in finding["why"]


def test_store_error_lines_follow_the_language(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "nowhere.sqlite3"))
    fr = run(runner, "history", "--lang", "fr")
    assert fr.exit_code == 2
    assert "pas encore de base ici" in fr.output and len(fr.output.strip().splitlines()) == 1
    en = run(runner, "history", "--lang", "en")
    assert "no store here yet" in en.output
    foreign = tmp_path / "other.sqlite3"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    other = run(runner, "scan", "--no-host", "--db", str(foreign), "--lang", "fr")
    assert other.exit_code == 2 and "n'est pas une base d'auditor" in other.output


def test_config_error_lines_follow_the_language(runner, tmp_path):
    bad = tmp_path / "auditor.toml"
    bad.write_text('[report]\ncolour = "blue"\n', encoding="utf-8")
    fr = run(runner, "scan", "--no-host", "--config", str(bad), "--lang", "fr")
    assert fr.exit_code == 2
    assert f"{bad}:2 : report.colour : clé inconnue" in fr.output
    en = run(runner, "scan", "--no-host", "--config", str(bad), "--lang", "en")
    assert f"{bad}:2: report.colour: unknown key" in en.output
    missing = run(runner, "history", "--config", str(tmp_path / "nope.toml"), "--lang", "fr")
    assert "fichier de configuration introuvable" in missing.output


# A problem met during a scan is stored as a key, so any later report shows it in its language.


@pytest.fixture
def scan_env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    return tmp_path


def test_a_french_scans_problems_read_in_english_later_and_the_other_way(scan_env):
    missing = scan_env / "gone.mbox"
    bad_inventory = scan_env / "inventories"
    bad_inventory.mkdir()
    (bad_inventory / "pc.json").write_text("{not json", encoding="utf-8")

    scan = CliRunner().invoke(
        main,
        ["scan", "--lang", "fr", "--no-host", "--demo", "--mbox", str(missing)]
        + ["--inventory", str(bad_inventory), "--format", "json", "-q"],
    )
    assert scan.exit_code == 3, scan.output
    # printed at scan time in the scan's language
    assert f"auditor: mbox introuvable : {missing}" in scan.output

    store = sqlite3.connect(scan_env / "store.sqlite3")
    stored = store.execute("SELECT errors FROM runs").fetchone()
    keys = [item["key"] for item in json.loads(stored[0])]
    assert "source.mbox.not_found" in keys and len(keys) == 2

    def errors(lang: str) -> list[str]:
        out = CliRunner().invoke(main, ["report", "--run", "1", "--lang", lang, "--format", "json"])
        assert out.exit_code == 0, out.output
        run = json.loads(out.output)["run"]
        # a failed source's line is said once, with its source (run.sources[].error)
        return run["errors"] + [s["error"] for s in run["sources"] if s["error"]]

    english, french = errors("en"), errors("fr")
    assert f"mbox not found: {missing}" in english
    assert f"mbox introuvable : {missing}" in french
    assert any(line.startswith(str(bad_inventory / "pc.json") + ": ") for line in english)
    assert any(line.startswith(str(bad_inventory / "pc.json") + " : ") for line in french)

    markdown = CliRunner().invoke(main, ["report", "--run", "1", "--format", "markdown"])
    markdown_fr = CliRunner().invoke(
        main, ["report", "--run", "1", "--format", "markdown", "--lang", "fr"]
    )
    assert "mbox not found:" in markdown.output or "mbox introuvable :" in markdown.output
    assert "mbox introuvable :" in markdown_fr.output and "mbox not found" not in markdown_fr.output

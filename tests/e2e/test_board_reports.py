"""From the first scan to the third monthly report: trends a board can trust, reports it reads.

Each test scans into a real store (the demo mailbox or an mbox file written here) through the
command line, then reads the report as a board member would.
"""

from __future__ import annotations

import json
import mailbox
import re
import sqlite3
from email.message import EmailMessage
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.report import load_schema, render_text_string

CONFIG = """\
[report]
association = "Les Amis du Quartier"
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    config = tmp_path / "auditor.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("AUDITOR_CONFIG", str(config))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("COLUMNS", "100")
    return tmp_path


def auditor(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 1, 3), result.output
    return result.output


def json_report(env: Path, *args: str) -> dict:
    out = env / "r.json"
    out.unlink(missing_ok=True)
    auditor(*args, "--format", "json", "--output", str(out), "-q")
    report = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(report, load_schema())
    return report


def write_mbox(path: Path, count: int) -> None:
    box = mailbox.mbox(path)
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = "marie@amisduquartier.example.org"
        msg["To"] = "bureau@amisduquartier.example.org"
        msg["Subject"] = f"Compte rendu {i}"
        msg["Date"] = "Mon, 05 Oct 2026 10:00:00 +0000"
        msg["Message-ID"] = f"<cr{i}@amisduquartier.example.org>"
        msg.set_content("Bonjour,\n" + "Ordre du jour.\n" * 200)
        box.add(msg)
    box.close()


# --- 1. Trends that can be trusted ---------------------------------------------------------


def test_a_first_run_that_could_not_read_the_mailbox_is_never_the_baseline(env):
    mbox = env / "association.mbox"
    failed = json_report(env, "scan", "--no-host", "--mbox", str(mbox))  # not there yet
    assert failed["run"]["sources"][0]["status"] == "failed"
    write_mbox(mbox, 5)
    complete = json_report(env, "scan", "--no-host", "--mbox", str(mbox), "--lang", "fr")
    # the failed run (score of nothing read, mailbox "0 B") is not what the month is judged by
    assert complete["trend"]["previous"] is None
    assert [p["run_id"] for p in complete["trend"]["series"]] == [complete["run"]["id"]]
    text = auditor("report", "--lang", "fr")
    assert "▼" not in text and "moins bien" not in text and "Dans le temps" not in text


def test_a_run_whose_mailbox_failed_says_not_comparable_instead_of_a_move(env):
    mbox = env / "association.mbox"
    write_mbox(mbox, 5)
    json_report(env, "scan", "--no-host", "--mbox", str(mbox))
    mbox.unlink()  # next month the file cannot be read
    failed = json_report(env, "scan", "--no-host", "--mbox", str(mbox), "--lang", "en")
    assert "mailbox_bytes" in failed["trend"]["not_comparable"]
    assert "score" in failed["trend"]["not_comparable"]
    text = render_text_string(failed)
    row = next(line for line in text.splitlines() if line.startswith("Mailbox size"))
    assert "not comparable" in row and "worse" not in row and "better" not in row
    assert "since" not in text.splitlines()[0]  # no score arrow in the title line


def test_a_failed_source_is_said_once_in_the_reports_language(env):
    mbox = env / "absent.mbox"
    report = json_report(env, "scan", "--no-host", "--mbox", str(mbox), "--lang", "fr")
    text = render_text_string(report)
    errors = text.split("Problèmes pendant l’analyse", 1)[1].split("\n\n", 1)[0]
    lines = [line for line in errors.splitlines() if line.startswith("- ")]
    assert len(lines) == 1, errors
    assert "absent.mbox" in lines[0] and "(fichier mbox)" in lines[0]
    assert "Le climat" not in text  # nothing was read: no figure to weigh


def test_a_failed_source_carries_the_same_key_beside_its_sentence_in_every_language(env):
    mbox = env / "absent.mbox"
    reports = {
        lang: json_report(env, "scan", "--no-host", "--mbox", str(mbox), "--lang", lang)
        for lang in ("fr", "en")
    }
    sources = {lang: report["run"]["sources"][0] for lang, report in reports.items()}
    assert sources["fr"]["error"] != sources["en"]["error"]  # two languages...
    assert sources["fr"]["error_key"] == sources["en"]["error_key"]  # ...one key to match on
    assert sources["en"]["error_key"]["key"].startswith("source.mbox.")
    for report in reports.values():
        run = report["run"]
        assert len(run["error_keys"]) == len(run["errors"])
        assert len(report["not_checked_keys"]) == len(report["not_checked"])


def test_report_of_an_old_run_shows_when_it_ran_not_when_it_was_rendered(env):
    json_report(env, "scan", "--demo", "--no-host")
    with sqlite3.connect(env / "store.sqlite3") as conn:
        conn.execute(
            "UPDATE runs SET started_at = '2026-10-01T09:58:00+00:00', "
            "finished_at = '2026-10-01T10:00:00+00:00' WHERE id = 1"
        )
    first_line = auditor("report", "--run", "1", "--lang", "en").splitlines()[0]
    assert "2026-10-01 10:00 UTC" in first_line
    markdown = env / "r.md"
    auditor("report", "--run", "1", "--format", "markdown", "--output", str(markdown), "-q")
    assert "2026-10-01 10:00 UTC" in markdown.read_text(encoding="utf-8")


def test_history_tells_apart_two_runs_of_the_same_day(env):
    json_report(env, "scan", "--demo", "--no-host")
    json_report(env, "scan", "--demo", "--no-host")
    with sqlite3.connect(env / "store.sqlite3") as conn:
        conn.execute("UPDATE runs SET started_at = '2026-11-01T09:05:00+00:00' WHERE id = 1")
        conn.execute("UPDATE runs SET started_at = '2026-11-01T17:40:00+00:00' WHERE id = 2")
    text = auditor("history", "--lang", "fr")
    assert "01/11/2026 09:05" in text and "01/11/2026 17:40" in text
    html = env / "r.html"
    auditor("report", "--format", "html", "--output", str(html), "-q", "--lang", "fr")
    axis = re.findall(r'text-anchor="(?:start|end|middle)">([^<]+)</text>', html.read_text())
    dates = [label for label in axis if "/2026" in label]
    assert len(dates) == 2 and len(set(dates)) == 2  # the chart's axis: two distinct labels


# --- 2. The association's name in every title ------------------------------------------------


def test_the_association_is_named_in_every_formats_title(env):
    report = json_report(env, "scan", "--demo", "--no-host", "--lang", "fr")
    assert report["association"] == "Les Amis du Quartier"
    assert render_text_string(report).startswith("Rapport d’audit — Les Amis du Quartier")
    for fmt, start in (("markdown", "# Rapport d’audit — Les Amis du Quartier"), ("html", "")):
        out = env / f"r.{fmt}"
        auditor("report", "--format", fmt, "--output", str(out), "-q", "--lang", "fr")
        page = out.read_text(encoding="utf-8")
        assert page.startswith(start)
        if fmt == "html":
            assert "<h1>Rapport d’audit — Les Amis du Quartier</h1>" in page
            assert "<title>Rapport d’audit — Les Amis du Quartier" in page


# --- 3. French stays French ------------------------------------------------------------------


def test_every_evidence_column_of_every_rule_has_a_label_in_both_languages(env):
    from auditor.report.formatting import _redundant_column
    from auditor.rules.engine import bound_params
    from auditor.rules.loader import load_rules
    from auditor.store import open_store

    json_report(env, "scan", "--demo", "--no-host")
    conn = open_store(env / "store.sqlite3")
    try:
        missing = []
        for rule in load_rules(None, conn).rules:
            params = {**bound_params(rule, {}, None), "run_id": 1, "now": "2026-11-01"}
            columns = [d[0] for d in conn.execute(rule.sql, params).description]
            for column in columns:
                if _redundant_column(column, columns, [{}]) and column != "account":
                    continue  # never shown
                for lang in ("en", "fr"):
                    if not rule.columns.get(column, {}).get(lang):
                        missing.append((rule.id, column, lang))
    finally:
        conn.close()
    assert missing == []


def test_a_french_report_has_french_figure_sources_and_column_headers(env):
    report = json_report(env, "scan", "--demo", "--no-host", "--lang", "fr")
    text = render_text_string(report, 200)
    sources = text.split("Sources des estimations", 1)[1]
    for english in ("per GB", "stored per year", "embodied", "French electricity mix", "by car"):
        assert english not in sources
    assert "par Go stocké pendant un an" in sources and "km en voiture" in sources
    for raw in ("footprint_bytes", "attachments_bytes", "latest"):
        assert raw not in text


USER_PACK = """\
[columns]
subject = { en = "What it is about", fr = "De quoi il s'agit" }

[[rule]]
id = "ASSO001"
category = "mail"
severity = "low"
effort = "minutes"
gesture = "light-emails"
title.en = "Messages about the general meeting"
title.fr = "Messages sur l'assemblée générale"
why.en = "The board wants to find them."
why.fr = "Le bureau veut les retrouver."
how.en = "File them in one folder."
how.fr = "Rangez-les dans un dossier."
columns.n_attach = { en = "Already read", fr = "Déjà lu" }
sql = \"\"\"
SELECT subject, seen AS n_attach, size_bytes AS weight
FROM messages WHERE run_id = :run_id ORDER BY size_bytes DESC
\"\"\"
"""


def test_a_user_pack_labels_its_own_evidence_columns_in_both_languages(env):
    pack = env / "packs"
    pack.mkdir()
    (pack / "asso.toml").write_text(USER_PACK, encoding="utf-8")
    reports = {
        lang: json_report(env, "scan", "--demo", "--no-host", "--rules", str(pack), "--lang", lang)
        for lang in ("fr", "en")
    }
    finding = next(f for f in reports["fr"]["findings"] if f["rule_id"] == "ASSO001")
    assert finding["columns"] == {
        "subject": "De quoi il s'agit",
        "n_attach": "Déjà lu",
    }
    text = render_text_string(reports["fr"], 200)
    assert "De quoi il s'agit" in text and "Déjà lu" in text
    assert "weight" in text  # not labelled: shown under its SQL name, as before
    english = render_text_string(reports["en"], 200)
    assert "What it is about" in english and "Already read" in english


def test_a_pack_column_label_without_french_is_one_line_naming_pack_and_column(env):
    pack = env / "packs"
    pack.mkdir()
    broken = USER_PACK.replace(', fr = "De quoi il s\'agit"', "")
    (pack / "asso.toml").write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "list", "--rules", str(pack)])
    assert result.exit_code == 2  # a broken pack, as for any other pack line
    line = next(line for line in result.output.splitlines() if "asso.toml" in line)
    assert "column subject" in line and "columns.subject.en and .fr" in line
    assert "ASSO001" in result.output  # the rule still loads, its column unlabelled


def test_rules_list_names_categories_in_french(env):
    text = auditor("rules", "list", "--lang", "fr")
    assert "messagerie" in text and "matériel" in text and "sécurité" in text
    assert not re.search(r"│\s*(mail|hardware|security)\s*│", text)


def test_compress_counts_one_file_in_the_singular():
    from auditor.i18n import plural

    assert plural("fr", "compress.table.files", 1) == "1 fichier"
    assert plural("en", "compress.table.files", 1) == "1 file"
    assert plural("fr", "compress.table.files", 2) == "2 fichiers"
    assert plural("fr", "compress.table.lighter", 1) == "1 allégé"
    assert plural("en", "compress.table.files", 0) == "0 files"


# --- 4. Terminal at 80 columns ---------------------------------------------------------------


def test_at_80_columns_headers_break_between_words_and_long_paths_are_shortened(env):
    report = json_report(env, "scan", "--demo", "--no-host", "--lang", "fr")
    path = "/home/marie/.thunderbird/k3j2h1g0.default-release/Mail/Local Folders/Inbox"
    report["mailboxes"][0]["account"] = path
    report["run"]["sources"][0]["name"] = path
    text = render_text_string(report, 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    table = text.split("Boîtes mail", 1)[1].split("Plan d’action", 1)[0]
    header_words = set(table.split("─", 1)[0].split())
    for word in ("Compte", "Dossiers", "Messages", "Taille", "Pièces", "jointes", "Ignorés"):
        assert word in header_words, table
    assert "67,7 Mo" in table  # a size is not cut from its unit
    path_lines = [line for line in table.splitlines() if line.strip().startswith(("/", "ie", "e"))]
    assert len(path_lines) <= 4, table  # was 8 lines for the whole path
    sources = next(line for line in text.splitlines() if line.startswith("Sources :"))
    assert "/home/marie/.thunde…/Local Folders/Inbox" in sources  # cut in the middle


# --- 5. Each byte counted once ----------------------------------------------------------------


def test_the_reclaimable_total_counts_each_byte_once(env):
    report = json_report(env, "scan", "--demo", "--no-host", "--lang", "en")
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    summed = sum(f["bytes_reclaimable"] or 0 for f in report["findings"])
    total = report["reclaimable"]["total_bytes"]
    mailbox = report["mailboxes"][0]["size_bytes"]
    # MAIL001 deletes the attachments MAIL008 would compress: their sum outweighs the mailbox
    assert summed > mailbox
    assert total <= mailbox
    assert total >= by_rule["MAIL001"]["bytes_reclaimable"]
    assert report["reclaimable"]["counted_twice_bytes"] == summed - total
    html = env / "r.html"
    auditor("report", "--format", "html", "--output", str(html), "-q", "--lang", "en")
    page = html.read_text(encoding="utf-8")
    assert "Total, each byte counted once" in page


# --- 6. CO2e a reader can weigh --------------------------------------------------------------


def test_co2e_comes_with_km_by_car_and_says_when_it_is_negligible(env):
    report = json_report(env, "scan", "--demo", "--no-host", "--lang", "en")
    text = render_text_string(report, 120)
    mail001 = text.split("(MAIL001)", 1)[1].split("Why:", 1)[0]
    assert "km by car" in mail001 and "negligible for the climate" in mail001
    assert "space, speed and backups" in mail001
    climate = text.split("The climate, in orders of magnitude", 1)[1]
    assert "keeping one laptop two more years" in climate
    assert "storing these mailboxes for" in climate and "years" in climate
    assert "car_km" in [f["id"] for f in report["figures"]]
    assert "avoids 0" not in text and " 0 kg CO2e avoided" not in text


def test_a_buy_new_verdict_never_says_it_avoids_zero_kg():
    from auditor.advise import Advice, render_advice_text

    advice = Advice(
        hostname="vieux-pc",
        verdict="new",
        needs=["video-editing"],
        reasons=["x"],
        actions=[],
        euros_low=700,
        euros_high=1200,
        co2e_avoided_kg_low=0.0,
        co2e_avoided_kg_high=0.0,
        co2e_new_kg_low=175.0,
        co2e_new_kg_high=183.0,
    )
    for lang in ("en", "fr"):
        text = render_advice_text([advice], lang)
        assert "avoids 0" not in text and "évite 0" not in text
        assert ("km by car" if lang == "en" else "km en voiture") in text

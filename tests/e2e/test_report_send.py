"""The monthly cron job: `auditor scan --send` and `auditor report`, to a real SMTP server."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.integration.test_send_smtp import Collector, free_port, start


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "auditor.toml"
    path.write_text(
        f"""
[report]
association = "Les Amis du Quartier"

[report.email]
to = ["bureau@asso.test", "tresorier@asso.test"]
from = "auditor@asso.test"
smtp_host = "127.0.0.1"
smtp_port = {port}
security = "none"
""",
        encoding="utf-8",
    )
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_scan_send_delivers_text_and_html_and_stays_quiet_for_cron(env):
    collector = Collector()
    controller = start(collector)
    try:
        cfg = config(env, controller.port)
        result = invoke(
            "scan", "--demo", "--no-host", "--send", "--quiet", "--lang", "fr", "--config", str(cfg)
        )
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet: nothing but errors, for cron
    (envelope,) = collector.envelopes
    assert sorted(envelope.rcpt_tos) == ["bureau@asso.test", "tresorier@asso.test"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert "Les Amis du Quartier" in message["Subject"] and "/100" in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Pièces jointes lourdes" in text
    assert html.lstrip().lower().startswith("<!doctype html") and "<svg" in html
    kept = list((env / "data" / "auditor" / "reports").glob("report-*-fr.html"))
    on_disk = kept[0].read_text(encoding="utf-8")
    assert len(kept) == 1 and on_disk.splitlines() == html.splitlines()  # SMTP ends lines in CRLF


def test_smtp_failure_is_one_line_exit_3_and_the_report_is_kept(env):
    cfg = config(env, free_port())  # nothing listens there
    result = invoke(
        "scan", "--demo", "--no-host", "--send", "-q", "--lang", "en", "--config", str(cfg)
    )
    assert result.exit_code == 3
    lines = result.output.strip().splitlines()
    assert any("connection refused" in line and "127.0.0.1" in line for line in lines)
    kept_line = next(line for line in lines if "kept at" in line)
    path = Path(kept_line.split("kept at ", 1)[1])
    assert path.is_file() and "<svg" in path.read_text(encoding="utf-8")


def test_send_without_email_settings_is_a_usage_error_before_scanning(env):
    cfg = env / "auditor.toml"
    cfg.write_text('[report]\nlanguage = "en"\n', encoding="utf-8")
    result = invoke("scan", "--demo", "--no-host", "--send", "--config", str(cfg))
    assert result.exit_code == 2 and "[report.email]" in result.output
    assert not (env / "store.sqlite3").exists()


def test_report_rerenders_any_run_and_compares_to_the_chosen_one(env, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(env / "none.toml"))
    for _ in range(3):
        invoke("scan", "--demo", "--no-host", "-q")
    out = env / "r.html"
    result = invoke(
        "report",
        "--run",
        "3",
        "--compare-to",
        "1",
        "--format",
        "html",
        "--output",
        str(out),
        "--lang",
        "en",
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "Over time" in html
    json_out = env / "r.json"
    invoke(
        "report",
        "--run",
        "3",
        "--compare-to",
        "1",
        "--format",
        "json",
        "--output",
        str(json_out),
    )
    import json

    report = json.loads(json_out.read_text(encoding="utf-8"))
    assert report["run"]["id"] == 3 and report["trend"]["previous"]["run_id"] == 1
    latest = invoke("report", "--format", "json")
    assert json.loads(latest.output)["run"]["id"] == 3
    missing = invoke("report", "--run", "42")
    assert missing.exit_code == 2 and "run 42" in missing.output

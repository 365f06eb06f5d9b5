"""The HTML report of a real IMAP mailbox (Dovecot) whose messages try to inject HTML."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.e2e.test_html_chromium import HOSTILE_IMG, HOSTILE_SCRIPT, chromium, run_chromium
from tests.integration.test_imap_scan import account_table, write_config


def hostile_message(subject: str, filename: str, size: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f'"{HOSTILE_IMG}" <attaquant@example.org>'
    msg["To"] = "accueil@example.org"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 02 Nov 2026 10:00:00 +0000"
    msg.set_content("Bonjour")
    msg.add_attachment(os.urandom(size), maintype="application", subtype="pdf", filename=filename)
    return msg.as_bytes()


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed")
def test_html_report_of_a_dovecot_mailbox_shows_hostile_text_as_text(
    imap_account, tmp_path, monkeypatch
):
    for subject, name in ((HOSTILE_SCRIPT, f"{HOSTILE_IMG}.pdf"), (HOSTILE_IMG, "ok.pdf")):
        raw = hostile_message(subject, name, 6_000_000)
        imap_account.server.deliver(imap_account.user, "INBOX", raw)
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    config = write_config(tmp_path, account_table(imap_account))
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        [
            "scan",
            "--no-host",
            "--config",
            str(config),
            "--format",
            "html",
            "--output",
            str(out),
            "-q",
            "--lang",
            "fr",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.output
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;" in html
    dom = run_chromium(tmp_path, "--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-500:]
    assert "PWNED" not in dom.stdout.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom.stdout
    shot = tmp_path / "dovecot-report.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", out.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    artefacts = Path(__file__).resolve().parents[1] / "artifacts"
    artefacts.mkdir(exist_ok=True)
    (artefacts / "report-dovecot.png").write_bytes(shot.read_bytes())

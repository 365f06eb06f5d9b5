"""The monthly report as cron runs it: the command `auditor schedule show` writes, started
with cron's bare environment (HOME, PATH=/usr/bin:/bin, nothing else), no terminal and stdin
closed, against the test Dovecot and a loopback SMTP server. Cron mails whatever a job
prints, so a healthy run prints nothing."""

from __future__ import annotations

import email
import os
import sqlite3
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from tests.integration.test_send_smtp import (
    ASCII_PASSWORD,
    USER,
    Collector,
    authenticator,
    start,
)
from tests.mailgen import generate_messages

AUDITOR = str(Path(sys.executable).parent / "auditor")  # the console script a user runs


def write_config(folder: Path, account, smtp_port: int) -> Path:
    (folder / "imap.pass").write_text(account.password + "\n", encoding="utf-8")
    (folder / "smtp.pass").write_text(ASCII_PASSWORD + "\n", encoding="utf-8")
    for secret in ("imap.pass", "smtp.pass"):
        (folder / secret).chmod(0o600)
    path = folder / "auditor.toml"
    path.write_text(
        f"""
[report]
association = "Les Amis du Quartier"

[report.email]
to = ["bureau@asso.test"]
from = "auditor@asso.test"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
security = "none"
username = "{USER}"
password_command = "cat {folder / "smtp.pass"}"

[[accounts]]
name = "asso"
host = "{account.host}"
port = {account.port}
security = "starttls"
username = "{account.user}"
password_command = "cat {folder / "imap.pass"}"
ca_file = "{account.ca_file}"
""",
        encoding="utf-8",
    )
    return path


def scheduled_command(config: Path, home: Path) -> str:
    """The command of the crontab line `auditor schedule show` prints (as cron reads it)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "XDG_", "LC_", "LANG"))
    }
    shown = subprocess.run(
        [AUDITOR, "schedule", "show", "--config", str(config), "--lang", "fr"],
        env={**env, "HOME": str(home), "LANG": "fr_FR.UTF-8"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    (line,) = [x for x in shown.stdout.splitlines() if x and not x.startswith("#")]
    return line.split(None, 5)[5].replace("\\%", "%")  # cron turns \% into %


@pytest.mark.skipif(not Path("/usr/bin/env").exists(), reason="needs /usr/bin/env")
def test_the_scheduled_command_under_cron_delivers_one_complete_report_and_prints_nothing(
    imap_account, tmp_path
):
    imap_account.client().logout()  # the first login creates the special-use folders
    imap_account.server.deliver_generated(
        imap_account.user, generate_messages(12, seed=5, light=True)
    )
    home = tmp_path / "home"
    home.mkdir()
    collector = Collector()
    controller = start(collector, auth_require_tls=False, authenticator=authenticator)
    try:
        config = write_config(tmp_path, imap_account, controller.port)
        command = scheduled_command(config, home)
        assert command.startswith(f"{AUDITOR} scan --quiet --fail-on never --send ")
        cron = subprocess.run(
            ["/usr/bin/env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin", "/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            start_new_session=True,  # no controlling terminal, as under cron
            check=False,
        )
    finally:
        controller.stop()
    assert (cron.returncode, cron.stdout, cron.stderr) == (0, "", "")

    (envelope,) = collector.envelopes
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert "Les Amis du Quartier" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Gains rapides" in text or "Plan d" in text  # the report, in French (--lang fr)
    stores = list(home.glob(".local/share/auditor/*.sqlite3"))
    assert len(stores) == 1  # HOME's default store: the next month's run finds it again
    with sqlite3.connect(stores[0]) as conn:
        runs = conn.execute("SELECT status FROM runs").fetchall()
        (messages,) = conn.execute("SELECT count(*) FROM messages").fetchone()
    assert runs == [("complete",)] and messages == 12

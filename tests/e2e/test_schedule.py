"""`auditor schedule`: the monthly report that runs by itself (cron, systemd, Windows)."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.schedule import Job, cron_line, schtasks_create

ROOT = Path(__file__).resolve().parents[2]
AUDITOR = str(Path(sys.executable).parent / "auditor")  # the console script, as a user runs it


def config(folder: Path, accounts: str = "", email: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "imap.pass").write_text("not-a-real-password\n", encoding="utf-8")
    path = folder / "auditor.toml"
    path.write_text(accounts + email, encoding="utf-8")
    return path


def good_account(folder: Path) -> str:
    secret = folder / "imap.pass"
    return f"""
[[accounts]]
name = "asso"
host = "127.0.0.1"
username = "tresorier"
password_command = "cat {secret}"
"""


def schedule(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AUDITOR, "schedule", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_install_adds_one_line_keeps_the_crontab_and_remove_takes_it_back(tmp_path):
    cfg = config(tmp_path, good_account(tmp_path))
    crontab = tmp_path / "crontab"
    mine = "MAILTO=moi@asso.test\n30 2 * * * /usr/local/bin/backup\n"
    crontab.write_text(mine, encoding="utf-8")

    done = schedule("install", "--config", str(cfg), "--crontab-file", str(crontab), "--lang", "en")
    assert done.returncode == 0, done.stderr
    text = crontab.read_text(encoding="utf-8")
    assert text.startswith(mine)
    (line,) = [x for x in text.splitlines()[2:] if not x.startswith("#")]
    assert line.split()[:5] == ["0", "7", "1", "*", "*"]  # the 1st of the month at 7:00
    assert shlex.split(line.split(None, 5)[5]) == [
        AUDITOR,
        "scan",
        "--quiet",
        "--fail-on",
        "never",
        "--lang",
        "en",
        "--config",
        str(cfg),
    ]
    assert done.stdout == f"Added to your crontab: {line}\n"

    again = schedule("install", "--config", str(cfg), "--crontab-file", str(crontab))
    assert "unchanged" in again.stdout and crontab.read_text(encoding="utf-8") == text
    weekly = schedule("install", "--weekly", "--config", str(cfg), "--crontab-file", str(crontab))
    assert weekly.returncode == 0
    assert crontab.read_text(encoding="utf-8").count(AUDITOR) == 1  # replaced, not added
    assert " 7 * * 1 " in crontab.read_text(encoding="utf-8")

    removed = schedule("remove", "--crontab-file", str(crontab), "--lang", "fr")
    assert removed.stdout.startswith("Retiré de votre crontab : 0 7 * * 1 ")
    assert crontab.read_text(encoding="utf-8") == mine


def test_show_prints_the_entry_and_whether_it_is_installed(tmp_path):
    cfg = config(tmp_path, good_account(tmp_path))
    crontab = tmp_path / "crontab"
    shown = schedule("show", "--config", str(cfg), "--crontab-file", str(crontab), "--lang", "en")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("# auditor schedule: monthly report")
    assert "Not installed yet" in shown.stderr and not crontab.exists()
    schedule("install", "--config", str(cfg), "--crontab-file", str(crontab))
    shown = schedule("show", "--config", str(cfg), "--crontab-file", str(crontab), "--lang", "en")
    assert shown.stdout == crontab.read_text(encoding="utf-8") and "Installed" in shown.stderr


def test_odd_paths_reach_auditor_intact_through_cron_and_sh():
    job = Job(program=("/opt/my tools/auditor",), config="/home/a/100% asso/it's.toml")
    command = cron_line(job).split(None, 5)[5]
    assert "100\\% asso" in command  # a bare % would end the command (crontab(5))
    done = subprocess.run(
        ["sh", "-c", "printf '%s\\n' " + command.replace("\\%", "%")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines() == job.args()


def test_a_password_only_in_the_shell_is_named_and_nothing_is_written(tmp_path):
    accounts = (
        good_account(tmp_path)
        + """
[[accounts]]
name = "secretariat"
host = "127.0.0.1"
username = "secretariat"
password_env = "SECRETARIAT_PASSWORD"
"""
    )
    email = """
[report.email]
to = ["bureau@asso.test"]
from = "auditor@asso.test"
smtp_host = "127.0.0.1"
username = "auditor@asso.test"
keyring = true
"""
    cfg = config(tmp_path, accounts, email)
    crontab = tmp_path / "crontab"
    done = schedule(
        "install",
        "--config",
        str(cfg),
        "--crontab-file",
        str(crontab),
        "--lang",
        "en",
        env={"SECRETARIAT_PASSWORD": "set-in-my-shell-only"},
    )
    assert done.returncode == 2 and done.stdout == "" and not crontab.exists()
    lines = done.stderr.splitlines()
    assert len(lines) == 3, lines  # the variable, the keyring, then "nothing was scheduled"
    assert lines[0].startswith("auditor: secretariat: environment variable ")
    assert "SECRETARIAT_PASSWORD" in lines[0] and "password_command" in lines[0]
    assert lines[1].startswith("auditor: report.email: ") and "keyring" in lines[1]
    assert "nothing was scheduled" in lines[2]
    assert "set-in-my-shell-only" not in done.stderr
    assert "asso" not in done.stderr  # the account whose password_command works is fine


def test_a_missing_config_is_one_line_exit_2(tmp_path):
    done = schedule("install", "--config", str(tmp_path / "none.toml"), "--crontab-file", "x")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "auditor init" in done.stderr


def test_systemd_units_name_this_auditor_and_say_that_lingering_is_needed(tmp_path):
    cfg = config(tmp_path, good_account(tmp_path))
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    done = schedule("install", "--systemd", "--config", str(cfg), "--lang", "en", env=env)
    assert done.returncode == 0, done.stderr
    units = tmp_path / "xdg" / "systemd" / "user"
    service = configparser.ConfigParser(interpolation=None, strict=False)
    service.read(units / "auditor-report.service")
    assert service["Service"]["Type"] == "oneshot"
    assert shlex.split(service["Service"]["ExecStart"])[:2] == [AUDITOR, "scan"]
    timer = configparser.ConfigParser(interpolation=None)
    timer.read(units / "auditor-report.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-01 07:00:00"
    assert timer["Timer"]["Persistent"] == "true"
    linger = subprocess.run(
        ["sh", "-c", "loginctl show-user $(id -un) --property=Linger 2>/dev/null"],
        capture_output=True,
        text=True,
    )
    if "Linger=yes" not in linger.stdout:
        assert "loginctl enable-linger" in done.stdout

    removed = schedule("remove", "--systemd", "--lang", "en", env=env)
    assert removed.returncode == 0 and sorted(units.iterdir()) == []


def test_the_windows_task_runs_this_auditor_with_its_config():
    job = Job(
        program=("C:\\Users\\Marie Curie\\.local\\bin\\auditor.exe",),
        config="C:\\Users\\Marie Curie\\AppData\\Local\\auditor\\auditor.toml",
        lang="fr",
    )
    command = schtasks_create(job)
    assert command.startswith('schtasks /Create /SC MONTHLY /D 1 /ST 07:00 /TN "auditor report"')
    run = command.split('/TR "', 1)[1].rsplit('" /F', 1)[0].replace('\\"', '"')
    words = shlex.split(run.replace("\\", "/"))
    assert words[0] == "C:/Users/Marie Curie/.local/bin/auditor.exe"
    assert words[-2:] == ["--config", "C:/Users/Marie Curie/AppData/Local/auditor/auditor.toml"]
    assert len(run) <= 261  # schtasks refuses a longer /TR


def test_examples_are_what_auditor_schedule_writes():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_examples.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("crontab") is None, reason="no crontab (Debian: apt install cron)")
def test_the_real_crontab_gets_the_line_and_loses_it_unchanged(tmp_path):
    cfg = config(tmp_path, good_account(tmp_path))
    before = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    try:
        done = schedule("install", "--config", str(cfg), "--lang", "en")
        assert done.returncode == 0, done.stderr
        now = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=True).stdout
        assert f"{AUDITOR} scan --quiet --fail-on never --lang en --config {cfg}" in now
        assert schedule("remove").returncode == 0
        after = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
        assert after.stdout == (before.stdout if before.returncode == 0 else "")
    finally:  # whatever happened, the user's crontab as it was
        if before.returncode == 0:
            subprocess.run(["crontab", "-"], input=before.stdout, text=True, check=True)
        else:
            subprocess.run(["crontab", "-r"], capture_output=True)

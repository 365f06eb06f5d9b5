"""Every file in examples/ is parsed or run here, so none of them can rot."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import sys
from pathlib import Path

from auditor.cli import main
from auditor.config import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _auditor_args(command_line: str) -> list[str]:
    """The arguments after the auditor program in a scheduler's command line."""
    words = shlex.split(command_line.replace("%h", "/home/x").replace("$HOME", "/home/x"))
    start = next(i for i, w in enumerate(words) if w.rsplit("/", 1)[-1].startswith("auditor"))
    return words[start + 1 :]


def _parses(args: list[str]) -> None:
    """Click accepts these arguments for the auditor command (options and choices exist)."""
    name, *rest = args
    command = main.get_command(None, name)  # type: ignore[arg-type]
    assert command is not None, name
    ctx = command.make_context(name, list(rest), resilient_parsing=False)
    assert ctx.params["send"] is True and ctx.params["quiet"] is True


def test_sample_config_loads_with_every_table():
    config = load_config(EXAMPLES / "auditor.toml")
    assert config.email.to and config.email.smtp_host and config.email.password_command
    assert any(a.password_env for a in config.accounts)
    assert config.accounts and config.rule_params and config.impact and config.maildir


def test_crontab_line_is_monthly_and_a_valid_auditor_command():
    lines = [
        line
        for line in (EXAMPLES / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    (line,) = lines
    fields = line.split(None, 5)
    assert fields[:5] == ["0", "7", "1", "*", "*"]
    _parses(_auditor_args(fields[5]))


def test_systemd_service_and_timer_parse():
    service = configparser.ConfigParser(interpolation=None, strict=False)
    service.read(EXAMPLES / "systemd" / "auditor-report.service")
    assert service["Service"]["Type"] == "oneshot"
    _parses(_auditor_args(service["Service"]["ExecStart"]))
    timer = configparser.ConfigParser(interpolation=None)
    timer.read(EXAMPLES / "systemd" / "auditor-report.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-01 07:00:00"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_windows_task_command_is_a_valid_auditor_command():
    text = (EXAMPLES / "windows" / "task-scheduler.cmd").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("schtasks")]
    assert "/SC MONTHLY" in line and "/D 1" in line
    task = line.split('/TR "', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
    _parses(shlex.split(task.replace("\\", "/"))[1:])


def test_sample_reports_match_what_the_code_writes_today():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_sample_reports.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    html = (EXAMPLES / "report-demo.html").read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html


def _sample_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_sample_reports", ROOT / "scripts" / "make_sample_reports.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_readme_sample_output_is_what_the_demo_prints_today():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- sample:demo-text -->" in readme  # the region the script rewrites
    assert _sample_script().readme_text(readme) == readme, (
        "README.md's sample output differs from the code: run python scripts/make_sample_reports.py"
    )
    region = readme.split("<!-- sample:demo-text -->", 1)[1].split("<!-- /sample -->", 1)[0]
    assert "Score: " in region and "Quick wins" in region and "Gains rapides" in region


def test_readme_rules_table_lists_every_rule_in_one_table():
    import tomllib

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| id | rule | gesture | default |", 1)[1].split("\n\n", 1)[0]
    listed = {line.split("|")[1].strip() for line in table.splitlines()[2:]}
    ids = {
        rule["id"]
        for pack in (ROOT / "rules").glob("*.toml")
        for rule in tomllib.loads(pack.read_text(encoding="utf-8"))["rule"]
    }
    assert ids <= listed, sorted(ids - listed)

"""Reports on disk: another local user cannot redirect them, and nobody else can read them.

A scan often runs as root from cron, writing into a folder other users can see; a report
holds subjects, senders and file names that the store keeps private.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.integration.test_send_smtp import free_port


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def invoke(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_symlink_planted_at_the_old_temporary_name_does_not_redirect_the_report(env):
    victim = env / "victim.conf"
    victim.write_text("precious\n", encoding="utf-8")
    reports = env / "reports"
    reports.mkdir()
    target = reports / "monthly.html"
    # auditor once wrote ".NAME.tmp" next to the target, following symlinks
    (reports / ".monthly.html.tmp").symlink_to(victim)
    result = invoke("scan", "--demo", "--no-host", "-q", "--format", "html", "--output", target)
    assert result.exit_code == 0, result.output
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert target.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert not target.is_symlink()
    leftovers = {p.name for p in reports.iterdir()} - {"monthly.html", ".monthly.html.tmp"}
    assert leftovers == set()


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_every_report_format_is_written_readable_by_its_owner_only(env, fmt):
    target = env / f"report.{fmt}"
    previous = os.umask(0o022)  # the usual umask, which made reports 0644
    try:
        result = invoke(
            "scan", "--demo", "--no-host", "-q", "--format", fmt, "--output", str(target)
        )
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert mode(target) == 0o600


def test_a_report_replacing_an_older_one_is_private_too(env):
    target = env / "report.json"
    target.write_text("{}", encoding="utf-8")
    target.chmod(0o644)
    invoke("scan", "--demo", "--no-host", "-q", "--format", "json", "--output", str(target))
    assert mode(target) == 0o600 and target.read_text(encoding="utf-8") != "{}"


def test_a_report_rendered_again_later_is_private_too(env):
    invoke("scan", "--demo", "--no-host", "-q")
    report = env / "again.md"
    result = invoke("report", "--format", "markdown", "--output", str(report))
    assert result.exit_code == 0, result.output
    assert mode(report) == 0o600


def test_the_copy_kept_for_send_is_private_in_a_private_folder(env):
    cfg = env / "auditor.toml"
    cfg.write_text(
        "[report.email]\n"
        'to = ["bureau@asso.test"]\n'
        'from = "auditor@asso.test"\n'
        'smtp_host = "127.0.0.1"\n'
        f"smtp_port = {free_port()}\n"
        'security = "none"\n',
        encoding="utf-8",
    )
    cfg.chmod(0o600)
    result = invoke("scan", "--demo", "--no-host", "--send", "-q", "--config", str(cfg))
    assert result.exit_code == 3  # nothing listens: the report is kept
    folder = env / "data" / "auditor" / "reports"
    (kept,) = folder.glob("report-*.html")
    assert mode(kept) == 0o600
    assert mode(folder) == 0o700

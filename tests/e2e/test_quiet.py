"""`--quiet` is quiet on a healthy run: cron mails whatever a job prints.

What a probe could not read on this machine (no DMI table in a virtual machine, no smartctl)
is no error of the run: it is in the report's "Not checked" section, not on stderr.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def auditor(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUDITOR_CONFIG": str(tmp_path / "none.toml")}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args, "--db", str(tmp_path / "store.sqlite3")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_a_quiet_scan_of_this_machine_prints_nothing_and_lists_what_it_could_not_check(tmp_path):
    done = auditor(tmp_path, "scan", "--quiet", "--no-mail", "--fail-on", "never")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

    with sqlite3.connect(tmp_path / "store.sqlite3") as conn:
        (probe_errors,) = conn.execute("SELECT probe_errors FROM host_facts").fetchone()
        (status, run_errors) = conn.execute("SELECT status, errors FROM runs").fetchone()
    assert status == "complete" and json.loads(run_errors) == []
    shown = auditor(tmp_path, "report", "--format", "json", "--lang", "fr")
    report = json.loads(shown.stdout)
    assert len(report["not_checked"]) == len(json.loads(probe_errors))
    hostname = report["hosts"][0]["hostname"]
    assert all(line.startswith(f"{hostname} : ") for line in report["not_checked"])
    if report["not_checked"]:  # this machine has no smartctl or no DMI table (CI: both)
        text = auditor(tmp_path, "report", "--lang", "fr").stdout
        assert "Non vérifié" in text
        assert report["run"]["errors"] == []

"""The wheel, installed in a fresh virtual environment outside the repository, works alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = dist.glob("auditor-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    return env_dir / "bin" / "auditor"


def _run(exe: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AUDITOR_DB": str(tmp_path / "store.sqlite3"),
        "AUDITOR_CONFIG": str(tmp_path / "none.toml"),
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        [str(exe), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def test_installed_wheel_lists_its_shipped_rule_packs(installed, tmp_path):
    proc = _run(installed, tmp_path, "rules", "list", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    for rid in ("MAIL001", "MAIL005", "HW001", "HW003"):
        assert rid in proc.stdout


def test_installed_wheel_runs_the_demo_scan(installed, tmp_path):
    out = tmp_path / "r.json"
    proc = _run(installed, tmp_path, "scan", "--demo", "--format", "json", "--output", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"MAIL001", "MAIL003"} <= {f["rule_id"] for f in report["findings"]}
    assert report["hosts"] and report["mailboxes"][0]["account"] == "demo"


def test_installed_wheel_writes_a_glpi_inventory_with_its_data_files(installed, tmp_path):
    proc = _run(installed, tmp_path, "inventory", "--format", "glpi")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["content"]["hardware"]["name"]


def test_installed_wheel_has_the_html_template_and_the_measured_ratios(installed, tmp_path):
    out = tmp_path / "r.html"
    proc = _run(
        installed, tmp_path, "scan", "--demo", "--no-host", "--format", "html", "--output", str(out)
    )
    assert proc.returncode in (0, 1), proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "MAIL008" in html  # template + compress ratios data file

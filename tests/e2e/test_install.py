"""The README's first command on a fresh machine: `scripts/install`, then `auditor scan --demo`.

Run as a user would: from a clean clone of the repository, with a fresh home folder, on the
system's Python (externally managed on Debian 12: plain `pip install .` is refused there),
and without the test suite's venv on PATH. pip still uses the machine's wheel cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def user_environment(home: Path) -> dict[str, str]:
    """This machine's environment minus everything of the test run (venv, pipx settings)."""
    venv_bin = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != venv_bin]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIPX_", "VIRTUAL_ENV", "PYTHON", "AUDITOR_", "XDG_"))
    }
    cache = Path.home() / ".cache" / "pip"
    if cache.is_dir():
        env["PIP_CACHE_DIR"] = str(cache)  # no second download of numpy and Pillow
    env.update(HOME=str(home), PATH=os.pathsep.join(path))
    return env


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_fresh_clone_installs_with_scripts_install_and_scans_the_demo(tmp_path):
    source, home = tmp_path / "auditor", tmp_path / "home"
    home.mkdir()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(source)], check=True, timeout=120)
    env = user_environment(home)

    installed = subprocess.run(
        [str(source / "scripts" / "install")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    auditor = home / ".local" / "bin" / "auditor"
    assert f"auditor is installed: {auditor}" in installed.stderr
    assert str(auditor.resolve()).startswith(str(home))  # its own environment, not ours

    demo = subprocess.run(
        [str(auditor), "scan", "--demo", "--no-host", "--lang", "en"],
        env={**env, "AUDITOR_DB": str(tmp_path / "store.sqlite3")},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Quick wins" in demo.stdout and "Heavy attachments" in demo.stdout

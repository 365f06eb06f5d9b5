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


def readme_first_command() -> str:
    """The command under "The two commands" that installs and runs the main job."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The two commands", 1)[1]
    return section.split("```sh\n", 1)[1].split("\n```", 1)[0].strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_readmes_first_command_works_as_written_in_a_fresh_clone(tmp_path):
    command = readme_first_command()
    assert command == "scripts/install && ~/.local/bin/auditor scan --demo"
    source, home = tmp_path / "auditor", tmp_path / "home"
    home.mkdir()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(source)], check=True, timeout=120)
    env = {**user_environment(home), "LANG": "C.UTF-8"}
    ran = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    # 1 means "findings at or above --fail-on": the job ran (this machine may have some)
    assert ran.returncode in (0, 1), ran.stderr[-3000:]
    assert "Quick wins" in ran.stdout and "Heavy attachments" in ran.stdout
    auditor = home / ".local" / "bin" / "auditor"
    assert f"auditor is installed: {auditor}" in ran.stderr
    assert str(auditor.resolve()).startswith(str(home))  # its own environment, not ours

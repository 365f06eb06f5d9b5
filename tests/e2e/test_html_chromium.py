"""The HTML report in a real browser: hostile subjects stay text, screenshots get drawn.

Skipped when Chromium is not installed. The desktop screenshot is kept as the test's
artefact in tests/artifacts/report.png.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.report.render_html import render_html
from tests.unit.report_samples import hostile_report

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "tests" / "artifacts" / "report.png"
PNG = b"\x89PNG\r\n\x1a\n"

HOSTILE_SCRIPT = "<script>document.title='PWNED'</script>"
HOSTILE_IMG = "<img src=x onerror=\"document.title='PWNED'\">"


def chromium() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


pytestmark = pytest.mark.skipif(chromium() is None, reason="Chromium is not installed")


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    command = [
        chromium() or "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    report = hostile_report("fr")
    evidence = report["findings"][0]["evidence"]
    evidence[0]["subject"] = HOSTILE_SCRIPT
    evidence[1]["subject"] = HOSTILE_IMG
    report["mailboxes"][0]["account"] = HOSTILE_IMG
    report["hosts"][0]["hostname"] = HOSTILE_SCRIPT
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def test_hostile_subjects_do_not_run(tmp_path: Path, report_file: Path) -> None:
    result = run_chromium(tmp_path, "--dump-dom", report_file.as_uri())
    dom = result.stdout
    assert "<html" in dom, result.stderr[-2000:]
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "PWNED" not in title
    assert title.startswith("Rapport d’audit")
    # The hostile strings are in the page as text, serialised escaped, never as elements.
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=\"document.title='PWNED'\"&gt;" in dom
    assert "<img" not in dom
    assert dom.lower().count("<script") == 0


@pytest.mark.parametrize("width", [1280, 400, 390])
def test_screenshots(tmp_path: Path, report_file: Path, width: int) -> None:
    shot = tmp_path / f"report-{width}.png"
    result = run_chromium(
        tmp_path,
        f"--screenshot={shot}",
        f"--window-size={width},2000",
        "--hide-scrollbars",
        report_file.as_uri(),
    )
    assert shot.is_file(), result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000
    if width == 1280:
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, ARTIFACT)

"""A problem met during a scan is stored as a key, so any later report shows it in its language."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from auditor.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    return tmp_path


def test_a_french_scans_problems_read_in_english_later_and_the_other_way(env):
    missing = env / "gone.mbox"
    bad_inventory = env / "inventories"
    bad_inventory.mkdir()
    (bad_inventory / "pc.json").write_text("{not json", encoding="utf-8")

    scan = CliRunner().invoke(
        main,
        ["scan", "--lang", "fr", "--no-host", "--demo", "--mbox", str(missing)]
        + ["--inventory", str(bad_inventory), "--format", "json", "-q"],
    )
    assert scan.exit_code == 3, scan.output
    # printed at scan time in the scan's language
    assert f"auditor: mbox introuvable : {missing}" in scan.output

    stored = sqlite3.connect(env / "store.sqlite3").execute("SELECT errors FROM runs").fetchone()
    keys = [item["key"] for item in json.loads(stored[0])]
    assert "source.mbox.not_found" in keys and len(keys) == 2

    def errors(lang: str) -> list[str]:
        out = CliRunner().invoke(main, ["report", "--run", "1", "--lang", lang, "--format", "json"])
        assert out.exit_code == 0, out.output
        run = json.loads(out.output)["run"]
        # a failed source's line is said once, with its source (run.sources[].error)
        return run["errors"] + [s["error"] for s in run["sources"] if s["error"]]

    english, french = errors("en"), errors("fr")
    assert f"mbox not found: {missing}" in english
    assert f"mbox introuvable : {missing}" in french
    assert any(line.startswith(str(bad_inventory / "pc.json") + ": ") for line in english)
    assert any(line.startswith(str(bad_inventory / "pc.json") + " : ") for line in french)

    markdown = CliRunner().invoke(main, ["report", "--run", "1", "--format", "markdown"])
    markdown_fr = CliRunner().invoke(
        main, ["report", "--run", "1", "--format", "markdown", "--lang", "fr"]
    )
    assert "mbox not found:" in markdown.output or "mbox introuvable :" in markdown.output
    assert "mbox introuvable :" in markdown_fr.output and "mbox not found" not in markdown_fr.output

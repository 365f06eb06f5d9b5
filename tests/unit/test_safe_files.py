"""Files that are not what they seem: a FIFO where a message or an inventory should be, an
inventory with impossible numbers, a folder with nothing in it. Each is one line naming the
file, the run is partial (exit 3), and nothing ever waits on a pipe.

Every scan here runs in a child process with a timeout, so a regression fails instead of
hanging the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.inventory.auditor_format import auditor_inventory, write_inventory
from auditor.inventory.read import read_inventory_folder
from tests.e2e.test_machines import fleet

MESSAGE = b"From: alice@example.org\nSubject: hello\nDate: Mon, 2 Jan 2023 10:00:00 +0000\n\nhi\n"


def scan(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    """`auditor scan ARGS` as cron runs it, killed after 60 s: (exit code, report, stderr)."""
    out = tmp_path / "report.json"
    env = {
        **os.environ,
        "AUDITOR_DB": str(tmp_path / "store.db"),
        "AUDITOR_CONFIG": str(tmp_path / "none.toml"),
    }
    command = [sys.executable, "-m", "auditor", "scan", "--no-host", "--lang", "en"]
    command += ["--format", "json", "--output", str(out), "-q", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return done.returncode, report, done.stderr


def maildir(root: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1700000000.1.host:2,S").write_bytes(MESSAGE)
    return root


def test_a_fifo_in_a_maildir_is_one_line_and_the_other_messages_count(tmp_path):
    box = maildir(tmp_path / "Maildir")
    os.mkfifo(box / "cur" / "1700000001.2.host:2,S")
    code, report, stderr = scan(tmp_path, "--maildir", str(box))
    assert code == 3
    lines = [e for e in report["run"]["errors"] if "1700000001.2.host" in e]
    assert len(lines) == 1 and "not a regular file" in lines[0]
    assert report["run"]["status"] == "partial"
    assert sum(m["messages"] for m in report["mailboxes"]) == 1
    assert "Traceback" not in stderr


def test_a_fifo_given_as_mbox_fails_that_source_with_one_line(tmp_path):
    fifo = tmp_path / "Inbox.mbox"
    os.mkfifo(fifo)
    code, report, stderr = scan(tmp_path, "--mbox", str(fifo))
    assert code == 3
    (source,) = report["run"]["sources"]
    assert source["status"] == "failed"
    assert "not a regular file" in source["error"] and str(fifo) in source["error"]
    assert report["run"]["status"] == "partial"
    assert stderr.count("not a regular file") == 1 and "Traceback" not in stderr


def test_a_fifo_in_a_thunderbird_folder_is_not_waited_on(tmp_path):
    profile = tmp_path / "Mail"
    profile.mkdir()
    (profile / "Inbox").write_bytes(b"From alice Mon Jan  2 10:00:00 2023\n" + MESSAGE)
    os.mkfifo(profile / "Trash")
    code, report, _ = scan(tmp_path, "--mbox", str(profile))
    assert code in (0, 1)  # nothing wrong: only the real mbox is a folder
    (mailbox,) = report["mailboxes"]
    assert mailbox["folders"] == 1 and mailbox["messages"] == 1


@pytest.fixture
def inventories(tmp_path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    for name, doc in list(fleet(datetime.now(UTC)).items())[:1]:
        write_inventory(doc, folder / f"{name}.json")
    return folder


def test_a_fifo_among_the_inventory_files_is_one_line(tmp_path, inventories):
    os.mkfifo(inventories / "pc-bureau.json")
    code, report, _ = scan(tmp_path, "--no-mail", "--inventory", str(inventories))
    assert code == 3
    (line,) = report["run"]["errors"]
    assert "pc-bureau.json" in line and "not a regular file" in line
    assert len(report["hosts"]) == 1


def test_numbers_no_machine_has_are_refused_with_one_line_each(tmp_path, inventories):
    (good,) = inventories.iterdir()
    doc = json.loads(good.read_text(encoding="utf-8"))
    doc["host"]["ram_bytes"] = 2**70  # beyond SQLite's 64-bit integers
    (inventories / "huge-ram.json").write_text(json.dumps(doc))
    doc["host"]["ram_bytes"] = 8 * 2**30
    text = json.dumps({**doc, "host": {**doc["host"], "battery_percent": 0.5}})
    (inventories / "infinite.json").write_text(text.replace("0.5", "1e400"))  # reads as inf
    nested = json.dumps({**doc, "host": {**doc["host"], "errors": "@"}})
    (inventories / "deep.json").write_text(nested.replace('"@"', "[" * 5000 + "]" * 5000))
    code, report, stderr = scan(tmp_path, "--no-mail", "--inventory", str(inventories))
    assert code == 3 and "Traceback" not in stderr
    errors = report["run"]["errors"]
    (huge,) = [e for e in errors if "huge-ram.json" in e]
    assert "host.ram_bytes" in huge and "out of range" in huge
    (inf,) = [e for e in errors if "infinite.json" in e]
    assert "host.battery_percent" in inf and "out of range" in inf
    (deep,) = [e for e in errors if "deep.json" in e]
    assert "nested too deeply" in deep
    assert len(report["hosts"]) == 1


def test_an_inventory_file_of_50_mb_or_more_is_not_read(tmp_path, inventories):
    with (inventories / "dump.json").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024 + 1)  # sparse: costs no disk
    code, report, _ = scan(tmp_path, "--no-mail", "--inventory", str(inventories))
    assert code == 3
    (line,) = report["run"]["errors"]
    assert "dump.json" in line and "too large" in line and "50 MB" in line


def test_an_empty_inventory_folder_is_said_and_the_run_is_partial(tmp_path):
    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / "notes.txt").write_text("copy the files here")
    code, report, _ = scan(tmp_path, "--no-mail", "--inventory", str(folder))
    assert code == 3
    (line,) = report["run"]["errors"]
    assert str(folder) in line and "no inventory file" in line
    assert report["run"]["status"] == "partial"


def test_years_0001_and_9999_in_an_inventory_do_not_break_the_scan(tmp_path, inventories):
    (good,) = inventories.iterdir()
    doc = json.loads(good.read_text(encoding="utf-8"))
    for name, moment in (("y1", "0001-01-01T00:00:00+14:00"), ("y9", "9999-12-31T23:00:00-12:00")):
        doc["generated_at"] = doc["host"]["boot_time"] = moment
        doc["hardware"]["bios_date"] = moment
        for product in doc["antivirus"]:
            product["signature_date"] = moment
        (inventories / f"{name}.json").write_text(json.dumps(doc))
    code, report, stderr = scan(tmp_path, "--no-mail", "--inventory", str(inventories))
    assert "Traceback" not in stderr and code in (0, 1, 3)
    assert report["run"]["status"] in ("complete", "partial")


def test_an_inventory_is_written_readable_by_its_owner_only(tmp_path):
    (doc,) = list(fleet(datetime.now(UTC)).values())[:1]
    path = tmp_path / "usb" / "pc.json"
    path.parent.mkdir()
    write_inventory(doc, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["pc.json"]  # no temporary file left
    machines, errors = read_inventory_folder(path.parent)
    assert len(machines) == 1 and errors == []
    assert auditor_inventory  # the writer used by `auditor inventory --output`


def test_a_bug_while_reading_one_mail_source_fails_that_source_only(tmp_path, monkeypatch):
    """No real input is known to crash a collector (each one found was fixed); a bug is
    simulated here to check that it costs one source and one line, not the run."""
    from click.testing import CliRunner

    from auditor import scan as scanning
    from auditor.cli import main

    box = maildir(tmp_path / "Maildir")

    def broken(conn, sid, source):
        if source.kind == "mbox":
            raise KeyError("a bug")
        return real(conn, sid, source)

    real = scanning._collect_mail
    monkeypatch.setattr(scanning, "_collect_mail", broken)
    mbox = tmp_path / "Inbox.mbox"
    mbox.write_bytes(b"From alice Mon Jan  2 10:00:00 2023\n" + MESSAGE)
    out = tmp_path / "r.json"
    env = {"AUDITOR_DB": str(tmp_path / "s.db"), "AUDITOR_CONFIG": str(tmp_path / "none.toml")}
    result = CliRunner(env=env).invoke(
        main,
        ["scan", "--no-host", "--mbox", str(mbox), "--maildir", str(box), "--format", "json"]
        + ["--output", str(out), "-q", "--lang", "en"],
    )
    assert result.exit_code == 3
    report = json.loads(out.read_text(encoding="utf-8"))
    statuses = {s["kind"]: s["status"] for s in report["run"]["sources"]}
    assert statuses == {"mbox": "failed", "maildir": "ok"}
    assert report["run"]["status"] == "partial"


def test_impossible_dates_in_an_mbox_are_no_date_rather_than_a_wrong_one(tmp_path):
    from auditor.collect.mail.localbox import collect_mbox

    mbox = tmp_path / "Archives.mbox"
    mbox.write_bytes(
        b"From x Mon Jan  1 00:00:00 0001\nDate: Mon, 1 Jan 0001 00:00:00 +1400\n"
        b"Subject: year one\n\nx\n\n"
        b"From x Fri Dec 31 23:59:59 9999 -1400\nDate: Fri, 31 Dec 9999 23:59:59 -1400\n"
        b"Subject: beyond 9999 in UTC\n\nx\n\n"
        b"From x Mon Jan  2 10:00:00 2023\nSubject: a real one\n\nx\n"
    )
    (folder,) = collect_mbox(mbox)
    dates = {m.subject: m.internal_date for m in folder.messages}
    assert dates == {  # year 0001 was read as the two-digit year 01: 2001
        "year one": None,
        "beyond 9999 in UTC": None,
        "a real one": "2023-01-02T10:00:00+00:00",
    }
    code, report, stderr = scan(tmp_path, "--mbox", str(mbox))
    assert code in (0, 1) and "Traceback" not in stderr
    assert report["run"]["status"] == "complete"

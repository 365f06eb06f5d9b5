"""`auditor clean` as a volunteer runs it, against the test Dovecot."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.integration.clean_mailbox import (
    ROOT,
    cli,
    config_for,
    env_for,
    fill,
    scan,
    snapshot,
)
from tests.integration.test_send_smtp import Collector, start


@pytest.fixture
def mailbox(imap_account, tmp_path):
    fill(imap_account.server, imap_account.user)
    config_for(tmp_path, imap_account)
    scan(tmp_path, imap_account)
    (tmp_path / "archive").mkdir()
    return imap_account


def test_the_plan_says_what_each_action_frees_and_changes_nothing(mailbox, tmp_path):
    before = snapshot(mailbox)
    result = cli(tmp_path, mailbox, "clean", "--archive", str(tmp_path / "archive"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert re.search(
        r"MAIL002 +archive on this computer, then remove +asso / INBOX: 8 messages", out
    )
    assert re.search(r"MAIL004 +remove \(a copy is kept\) +asso / Trash: 4 messages", out)
    assert re.search(r"MAIL005 +remove \(a copy is kept\) +asso / Lists: 2 messages", out)
    assert "unsubscribe by email  asso: news@lettre.example" in out
    assert "Nothing was changed. Add --apply to act." in out
    assert snapshot(mailbox) == before
    assert not any((tmp_path / "archive").iterdir())


def test_the_plan_in_json_and_in_french(mailbox, tmp_path):
    doc = json.loads(cli(tmp_path, mailbox, "clean", "--format", "json").output)
    assert {(a["rule_id"], a["folder"], a["messages"]) for a in doc["actions"]} == {
        ("MAIL002", "INBOX", 8),
        ("MAIL004", "Trash", 4),
        ("MAIL005", "Lists", 2),
    }
    assert doc["bytes_freed"] == sum(a["bytes_freed"] for a in doc["actions"]) > 0
    assert doc["unsubscribe"][0]["method"] == "mailto"
    fr = cli(tmp_path, mailbox, "clean", "--lang", "fr", "--rule", "MAIL004")
    assert "supprimer (une copie est gardée)  asso / Trash : 4 messages" in fr.output
    assert "Rien n'a été modifié." in fr.output


def test_selection_options_narrow_the_plan(mailbox, tmp_path):
    def plan(*args):
        return json.loads(cli(tmp_path, mailbox, "clean", "--format", "json", *args).output)

    assert {a["rule_id"] for a in plan("--rule", "MAIL004")["actions"]} == {"MAIL004"}
    assert {a["folder"] for a in plan("--folder", "Trash")["actions"]} == {"Trash"}
    assert plan("--account", "nobody")["actions"] == []
    assert plan("--older-than", "2y")["messages"] == 12  # the duplicates are 3 days old
    moved = cli(tmp_path, mailbox, "clean", "--rule", "MAIL002", "--to-folder", "Old mail")
    assert "move to Old mail" in moved.output
    assert "frees nothing on the quota" in moved.output


def test_to_folder_moves_old_mail_on_the_server_and_undo_moves_it_back(mailbox, tmp_path):
    before = snapshot(mailbox)
    result = cli(
        tmp_path,
        mailbox,
        "clean",
        "--apply",
        "--yes",
        "--rule",
        "MAIL002",
        "--to-folder",
        "Old mail",
        "--archive",
        str(tmp_path / "archive"),
    )
    assert result.exit_code == 0, result.output
    after = snapshot(mailbox)
    assert sum(1 for k in after.elements() if k[0] == "Old mail") == 8
    assert sum(after.values()) == sum(before.values())
    assert cli(tmp_path, mailbox, "clean", "--undo", "1").exit_code == 0
    back = snapshot(mailbox)
    assert back == before


def test_running_the_same_command_again_does_nothing_twice(mailbox, tmp_path):
    args = (
        "clean",
        "--apply",
        "--yes",
        "--rule",
        "MAIL004",
        "--archive",
        str(tmp_path / "archive"),
    )
    assert cli(tmp_path, mailbox, *args).exit_code == 0
    once = snapshot(mailbox)
    again = cli(tmp_path, mailbox, *args)
    assert again.exit_code == 0
    assert "already did everything" in again.output
    assert snapshot(mailbox) == once


def test_a_folder_recreated_since_the_scan_is_skipped_with_a_line(mailbox, tmp_path):
    client = mailbox.client()
    client.select_folder("Trash")
    kept = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])
    client.close_folder()
    client.delete_folder("Trash")  # same messages, new UIDVALIDITY (RFC 3501 2.3.1.1)
    client.create_folder("Trash")
    for f in kept.values():
        flags = [x for x in f[b"FLAGS"] if x != b"\\Recent"]
        client.append("Trash", f[b"BODY[]"], flags, f[b"INTERNALDATE"])
    client.logout()
    before = snapshot(mailbox)
    result = cli(
        tmp_path,
        mailbox,
        "clean",
        "--apply",
        "--yes",
        "--rule",
        "MAIL004",
        "--archive",
        str(tmp_path / "archive"),
    )
    assert "UIDVALIDITY changed" in result.stderr
    assert snapshot(mailbox) == before


def test_apply_needs_an_archive_folder_that_exists(mailbox, tmp_path):
    before = snapshot(mailbox)
    missing = cli(tmp_path, mailbox, "clean", "--apply", "--yes", "--rule", "MAIL004")
    assert missing.exit_code == 2
    assert "--archive DIR" in missing.stderr
    absent = cli(
        tmp_path,
        mailbox,
        "clean",
        "--apply",
        "--yes",
        "--rule",
        "MAIL004",
        "--archive",
        str(tmp_path / "usb-stick"),
    )
    assert absent.exit_code == 2
    assert "this archive folder does not exist" in absent.stderr
    assert snapshot(mailbox) == before


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--older-than", "soon"), "--older-than soon: give a number of days"),
        (("--undo", "99"), "There is no clean run 99 in the store"),
        (("--run", "42"), "There is no complete or partial run 42"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(mailbox, tmp_path, args, line):
    result = cli(tmp_path, mailbox, "clean", *args)
    assert result.exit_code == 2
    assert line in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _on_a_terminal(tmp_path, account, answer: bytes) -> str:
    """`auditor clean --apply` with its stdin on a pseudo-terminal, answering `answer`."""
    main_fd, sub_fd = os.openpty()
    env = {**os.environ, **env_for(tmp_path, account), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auditor",
            "clean",
            "--config",
            str(tmp_path / "auditor.toml"),
            "--apply",
            "--rule",
            "MAIL004",
            "--archive",
            str(tmp_path / "archive"),
        ],
        stdin=sub_fd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    os.close(sub_fd)
    os.write(main_fd, answer)
    out, err = proc.communicate(timeout=60)
    os.close(main_fd)
    assert proc.returncode == 0, err
    return out.decode() + err.decode()


def test_on_a_terminal_apply_asks_once_and_no_changes_nothing(mailbox, tmp_path):
    before = snapshot(mailbox)
    said = _on_a_terminal(tmp_path, mailbox, b"n\n")
    assert "Apply this plan? [y/N]" in said
    assert "Nothing was changed." in said
    assert snapshot(mailbox) == before
    said = _on_a_terminal(tmp_path, mailbox, b"y\n")
    assert "4 message(s) done and checked" in said
    assert sum(snapshot(mailbox).values()) == sum(before.values()) - 4


def test_unsubscribing_by_mailto_goes_through_the_configured_smtp_server(mailbox, tmp_path):
    handler = Collector()
    controller = start(handler)
    try:
        config = tmp_path / "auditor.toml"
        config.write_text(
            config.read_text().replace("smtp_port = 1", f"smtp_port = {controller.port}")
        )
        before = snapshot(mailbox)
        result = cli(tmp_path, mailbox, "clean", "--apply", "--yes", "--rule", "MAIL003")
        assert result.exit_code == 0, result.output + result.stderr
        assert "Unsubscribed: asso: news@lettre.example" in result.output
        assert [e.rcpt_tos for e in handler.envelopes] == [["unsub@lettre.example"]]
        assert snapshot(mailbox) == before  # the issues stay without --remove-issues
    finally:
        controller.stop()

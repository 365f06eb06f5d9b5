"""`auditor clean` against the test Dovecot: the plan, --apply, resume and --undo."""

from __future__ import annotations

import json
import sqlite3

from tests.integration.clean_mailbox import (
    assert_nothing_lost,
    cli,
    config_for,
    fill,
    scan,
    snapshot,
)
from tests.integration.test_send_smtp import Collector, start


def test_apply_then_undo_gives_back_exactly_the_original_mailbox(imap_account, tmp_path):
    fill(imap_account.server, imap_account.user)
    config_for(tmp_path, imap_account)
    scan(tmp_path, imap_account)
    before = snapshot(imap_account)
    plan = cli(
        tmp_path,
        imap_account,
        "clean",
        "--format",
        "json",
        "--rule",
        "MAIL002",
        "--rule",
        "MAIL004",
        "--rule",
        "MAIL005",
    )
    print(plan.output)
    assert plan.exit_code == 0
    doc = json.loads(plan.output)
    assert snapshot(imap_account) == before  # a dry run changes nothing
    archive = tmp_path / "archive"
    archive.mkdir()
    done = cli(
        tmp_path,
        imap_account,
        "clean",
        "--apply",
        "--yes",
        "--archive",
        str(archive),
        "--rule",
        "MAIL002",
        "--rule",
        "MAIL004",
        "--rule",
        "MAIL005",
    )
    print(done.output)
    after = snapshot(imap_account)
    assert_nothing_lost(before, after, tmp_path / "store.sqlite3")
    assert sum(after.values()) == sum(before.values()) - doc["messages"]
    undo = cli(tmp_path, imap_account, "clean", "--undo", "1")
    print(undo.output)
    assert undo.exit_code == 0
    assert snapshot(imap_account) == before


def _ready(imap_account, tmp_path):
    fill(imap_account.server, imap_account.user)
    config_for(tmp_path, imap_account)
    scan(tmp_path, imap_account)
    (tmp_path / "archive").mkdir()
    return snapshot(imap_account)


def _apply(tmp_path, account, *args):
    return cli(
        tmp_path,
        account,
        "clean",
        "--apply",
        "--yes",
        "--archive",
        str(tmp_path / "archive"),
        *args,
    )


def test_a_message_that_is_not_the_one_the_scan_saw_is_skipped_never_acted_on(
    imap_account, tmp_path
):
    before = _ready(imap_account, tmp_path)
    # the store says another size and another Message-ID than the server now holds
    db = sqlite3.connect(tmp_path / "store.sqlite3")
    with db:
        db.execute(
            "UPDATE message_versions SET size_bytes = size_bytes + 1 "
            "WHERE folder = 'Trash' AND message_id = '<m400@example.org>'"
        )
        db.execute(
            "UPDATE message_versions SET message_id = '<other@example.org>' "
            "WHERE folder = 'Trash' AND message_id = '<m401@example.org>'"
        )
    db.close()
    result = _apply(tmp_path, imap_account, "--rule", "MAIL004")
    assert result.exit_code == 0, result.output
    assert "2 message(s) changed since the scan" in result.stderr
    after = snapshot(imap_account)
    assert sum(after.values()) == sum(before.values()) - 2  # only the two that match
    trash = {k[1] for k in after.elements() if k[0] == "Trash"}
    assert len(trash) == 3  # m400, m401 and the recent m404 stay


def test_undo_never_puts_back_a_copy_whose_sha256_does_not_match(imap_account, tmp_path):
    before = _ready(imap_account, tmp_path)
    assert _apply(tmp_path, imap_account, "--rule", "MAIL004").exit_code == 0
    db = sqlite3.connect(tmp_path / "store.sqlite3")
    path, offset = db.execute(
        "SELECT backup_path, backup_offset FROM clean_items ORDER BY uid LIMIT 1"
    ).fetchone()
    db.close()
    with open(path, "r+b") as fh:  # one byte of the first copy changes on disk
        fh.seek(offset + 10)
        byte = fh.read(1)
        fh.seek(offset + 10)
        fh.write(bytes([byte[0] ^ 1]))
    undo = cli(tmp_path, imap_account, "clean", "--undo", "1")
    assert undo.exit_code == 3
    assert "does not match its SHA-256; it was not put back" in undo.stderr
    back = snapshot(imap_account)
    assert sum(back.values()) == sum(before.values()) - 1
    assert set(back) <= set(before)  # nothing altered was appended


def test_remove_issues_takes_the_newsletters_off_after_unsubscribing(imap_account, tmp_path):
    handler = Collector()
    controller = start(handler)
    try:
        before = _ready(imap_account, tmp_path)
        config = tmp_path / "auditor.toml"
        config.write_text(
            config.read_text().replace("smtp_port = 1", f"smtp_port = {controller.port}")
        )
        result = _apply(tmp_path, imap_account, "--rule", "MAIL003", "--remove-issues")
        assert result.exit_code == 0, result.output + result.stderr
        assert len(handler.envelopes) == 1
        after = snapshot(imap_account)
        assert sum(after.values()) == sum(before.values()) - 4
        assert_nothing_lost(before, after, tmp_path / "store.sqlite3")
        assert cli(tmp_path, imap_account, "clean", "--undo", "1").exit_code == 0
        assert snapshot(imap_account) == before
    finally:
        controller.stop()

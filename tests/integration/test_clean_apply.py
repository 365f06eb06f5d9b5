"""`auditor clean` against the test Dovecot: the plan, --apply, resume and --undo."""

from __future__ import annotations

import json

from tests.integration.clean_mailbox import (
    assert_nothing_lost,
    cli,
    config_for,
    fill,
    scan,
    snapshot,
)


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

"""One FETCH answer the parser cannot read must not lose the rest of its batch."""

from __future__ import annotations

import io

from rich.console import Console

import auditor.collect.mail.imap as imap
from auditor.progress import ScanProgress

GOOD = b'%d (UID %d RFC822.SIZE 100 FLAGS (\\Seen) INTERNALDATE "01-Jan-2020 10:00:00 +0000")'
BROKEN = b'%d (UID %d RFC822.SIZE 100 BODYSTRUCTURE ("TEXT" "PLAIN"'  # the list never ends


class Sink:
    def __init__(self):
        self.added = []

    def add(self, folder, messages):
        self.added += messages


def test_unparseable_message_is_kept_as_malformed_and_its_batch_survives(monkeypatch):
    def fake_fetch(client, uids, items, modifiers=None):
        if "BODYSTRUCTURE" in items and 2 in uids:
            return [(BROKEN if uid == 2 else GOOD) % (uid, uid) for uid in uids]
        return [GOOD % (uid, uid) for uid in uids]

    monkeypatch.setattr(imap, "fetch_raw", fake_fetch)
    account = imap.ImapAccount(name="a", host="127.0.0.1", username="u", secret=lambda: "x")
    scanner = imap.AccountScanner(account, Sink())
    folder = imap._Folder("INBOX", "INBOX", None)
    scanner._fetch_batches(object(), folder, [1, 2, 3])
    by_uid = {m.key: m for m in scanner.sink.added}
    assert sorted(by_uid) == [1, 2, 3]
    assert by_uid[2].malformed and not by_uid[1].malformed and not by_uid[3].malformed
    assert by_uid[2].size_bytes == 100 and by_uid[2].seen


def test_progress_bar_draws_one_line_per_account_on_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with ScanProgress(console, "en") as bar:
        bar.account("asso", 10, 100)
        bar.account("asso", 100, 100)
        bar.account("other", 5, 50)
        bar.source("demo")
    text = out.getvalue()
    assert "asso" in text and "other" in text

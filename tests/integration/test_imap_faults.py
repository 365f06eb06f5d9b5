"""IMAP scans under faults: what a server does wrong is one honest line, never wrong data.

Dovecot will not misbehave on demand, so most faults come from `tests.fake_imap.FakeImap`,
a small scriptable server on 127.0.0.1; what Dovecot does for real (a folder deleted by
another client, a non-ASCII password) is tested against Dovecot.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.mail.imap import AccountScanner, ImapAccount
from auditor.store import open_store, writes
from auditor.store.mailsync import StoreFolderSink
from tests.fake_imap import FakeImap, messages
from tests.mailgen import generate_messages


def scan(tmp_path: Path, monkeypatch, *accounts: dict) -> tuple[int, dict, list[str], Path]:
    """`auditor scan` of these [[accounts]]: exit code, JSON report, stderr lines, store."""
    lines = []
    for a in accounts:
        lines.append("[[accounts]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in a.items()]
    config = tmp_path / "auditor.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db, out = tmp_path / "store.sqlite3", tmp_path / "report.json"
    out.unlink(missing_ok=True)
    monkeypatch.setenv("AUDITOR_DB", str(db))
    result = CliRunner().invoke(
        main,
        ["scan", "--no-host", "--format", "json", "--output", str(out), "-q"]
        + ["--config", str(config)],
        catch_exceptions=False,
    )
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return result.exit_code, report, result.stderr.splitlines(), db


def fake_account(fake: FakeImap, monkeypatch, name: str = "asso", **extra) -> dict:
    monkeypatch.setenv("FAKE_IMAP_PW", fake.password)
    table = {
        "name": name,
        "host": "127.0.0.1",
        "port": fake.port,
        "security": "none",
        "username": fake.user,
        "password_env": "FAKE_IMAP_PW",
    }
    table.update(extra)
    return table


def stored(db: Path, folder: str = "INBOX") -> dict[int, int]:
    """{uid: size} of the messages the last run holds in `folder`."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT uid, size_bytes FROM messages WHERE folder = ? "
            "AND run_id = (SELECT max(id) FROM runs)",
            (folder,),
        ).fetchall()
    return dict(rows)


def run_status(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]


def account_lines(err: list[str], name: str = "asso") -> list[str]:
    return [line for line in err if line.startswith(f"auditor: {name}:")]


@pytest.fixture
def fake():
    server = FakeImap(messages=messages(10))
    yield server
    server.close()


# --- 2. unsolicited FETCH responses -------------------------------------------------------


def test_unsolicited_fetch_with_a_uid_never_becomes_a_message(fake, tmp_path, monkeypatch):
    # RFC 3501 7.4.2: a server may tell about flags at any time; with QRESYNC it gives the UID
    fake.unsolicited = [
        b"* 3 FETCH (UID 999 FLAGS (\\Seen))\r\n",  # a UID the scan did not ask for
        b"* 4 FETCH (UID 4 FLAGS (\\Flagged))\r\n",  # one it asked for, without its items
        b"* 5 FETCH (FLAGS (\\Seen))\r\n",  # the plain RFC 3501 kind, without a UID
    ]
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 0, err
    assert stored(db) == {uid: 1000 for uid in range(1, 11)}  # no phantom of size 0


# --- 3. messages left out of a FETCH answer -----------------------------------------------


def test_messages_left_out_once_are_fetched_again(fake, tmp_path, monkeypatch):
    fake.omit, fake.omit_times = {3, 7}, 1
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 0, err
    assert sorted(stored(db)) == list(range(1, 11))


def test_messages_always_left_out_make_the_account_partial_and_are_retried_next_scan(
    fake, tmp_path, monkeypatch
):
    fake.omit = {3, 7}
    account = fake_account(fake, monkeypatch)
    code, _report, err, db = scan(tmp_path, monkeypatch, account)
    assert code == 3, err
    assert sorted(stored(db)) == [1, 2, 4, 5, 6, 8, 9, 10]
    assert account_lines(err) == [
        "auditor: asso: INBOX: the server left 2 message(s) out of its answers; they are "
        "skipped, and the next scan reads this folder again"
    ]
    assert run_status(db) == "partial"
    # the folder was not recorded as complete: the next scan gets what the server now gives
    fake.omit = set()
    code, _report, err, db = scan(tmp_path, monkeypatch, account)
    assert code == 0, err
    assert sorted(stored(db)) == list(range(1, 11))


# --- 6. one unreadable message, a vanished folder, a huge structure -----------------------


def test_a_message_the_server_refuses_is_skipped_and_counted_not_the_account(
    fake, tmp_path, monkeypatch
):
    fake.refuse = {6}
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 3, err
    assert sorted(stored(db)) == [1, 2, 3, 4, 5, 7, 8, 9, 10]
    assert account_lines(err) == [
        "auditor: asso: INBOX: the server refused to send 1 message(s) (Some messages could "
        "not be FETCHed); they are skipped, and the next scan reads this folder again"
    ]
    assert fake.connections == 1  # a NO is not a lost connection


def test_a_folder_deleted_by_another_client_during_the_scan_is_skipped(
    imap_account, tmp_path, monkeypatch
):
    acct = imap_account
    acct.client().logout()
    acct.server.create_folder(acct.user, "Old")
    acct.server.deliver_generated(acct.user, generate_messages(5, seed=3, light=True))
    other = acct.client()
    other.append("Old", b"Subject: old\r\n\r\nold\r\n")

    def delete_old(done: int, total: int) -> None:  # while INBOX is being read
        if other is not None and "Old" in [f[2] for f in other.list_folders()]:
            other.delete_folder("Old")

    db = tmp_path / "s.db"
    conn = open_store(db)
    run_id = writes.start_run(conn)
    sid = writes.source_id(conn, "imap", "asso", "imap://dovecot")
    account = ImapAccount(
        name="asso",
        host=acct.host,
        port=acct.port,
        username=acct.user,
        security="none",
        secret=lambda: acct.password,
    )
    stats = AccountScanner(account, StoreFolderSink(conn, sid, run_id), delete_old).run()
    other.logout()
    assert stats.errors == [
        "asso: Old: this folder was deleted by another program during the scan; "
        "it is counted as gone"
    ]
    assert not stats.partial and stats.fetched == 5


def test_a_one_megabyte_attachment_name_is_read(fake, tmp_path, monkeypatch):
    name = b"x" * 1_100_000 + b".pdf"  # one line of more than imaplib's 1 MB
    fake.messages[2].structure = (
        b'("APPLICATION" "PDF" ("NAME" "' + name + b'") NIL NIL "BASE64" 4000 NIL '
        b'("ATTACHMENT" ("FILENAME" "' + name + b'")) NIL NIL)'
    )
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 0, err
    with sqlite3.connect(db) as conn:
        (length,) = conn.execute("SELECT length(filename) FROM attachments").fetchone()
    assert length == len(name)


# --- 15. stalls and huge literals are bounded ----------------------------------------------


def test_a_stalled_server_costs_about_twice_the_timeout(fake, tmp_path, monkeypatch):
    fake.stall = "UID FETCH"
    started = time.monotonic()
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch, timeout=1))
    elapsed = time.monotonic() - started
    assert code == 3, err
    assert elapsed < 6, elapsed
    (line,) = account_lines(err)
    assert line.startswith("auditor: asso: connection lost and not recovered after")
    assert run_status(db) == "partial"


@pytest.mark.parametrize("size", [3_000_000_000, 99_999_999_999])
def test_an_absurd_literal_is_refused_at_once(fake, tmp_path, monkeypatch, size):
    fake.raw[4] = b"* 4 FETCH (UID 4 RFC822.SIZE 10 BODY[HEADER.FIELDS (DATE)] {%d}\r\n" % size
    started = time.monotonic()
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert time.monotonic() - started < 5
    assert code == 3, err
    assert account_lines(err) == [
        f"auditor: asso: the server announced an answer of {size} bytes (more than the "
        "67108864 bytes any answer to the scan can need); the scan of this account stopped; "
        "what was read before is kept"
    ]
    assert fake.connections == 1
    assert run_status(db) == "partial"


def test_timeout_out_of_range_is_a_config_line(fake, tmp_path, monkeypatch):
    account = fake_account(fake, monkeypatch, timeout=0)
    code, _report, err, _db = scan(tmp_path, monkeypatch, account)
    assert code == 2
    assert err[-1].endswith("accounts.timeout: must be a number of seconds between 1 and 3600")


# --- 16. impossible values and shapes: one line, never a traceback -------------------------

_BIG = 2**64


@pytest.mark.parametrize(
    "raw",
    [
        b'* 5 FETCH (UID 5 RFC822.SIZE %d FLAGS () INTERNALDATE "01-Jan-2024 10:00:00 +0000")\r\n'
        % _BIG,
        b'* 5 FETCH (UID 5 RFC822.SIZE 10 FLAGS () BODYSTRUCTURE ("APPLICATION" "PDF" NIL NIL '
        b'NIL "BASE64" %d NIL NIL NIL NIL))\r\n' % _BIG,
    ],
    ids=["message-size", "part-size"],
)
def test_numbers_beyond_64_bits_skip_the_message_with_a_line(fake, tmp_path, monkeypatch, raw):
    fake.raw[5] = raw
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 3, err
    assert 5 not in stored(db) and len(stored(db)) == 9
    assert account_lines(err) == [
        "auditor: asso: INBOX: 1 message(s) have an answer that cannot be read or values no "
        "message can have (a size or number beyond 64 bits); they are skipped, and the next "
        "scan reads this folder again"
    ]


def test_a_uid_beyond_32_bits_in_search_is_a_line(fake, tmp_path, monkeypatch):
    fake.search_extra = [_BIG]
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 3, err
    assert len(stored(db)) == 10
    (line,) = account_lines(err)
    assert "INBOX: 1 message(s) have an answer that cannot be read" in line


def test_year_0001_and_deep_or_nil_structures_keep_the_message(fake, tmp_path, monkeypatch):
    fake.messages[1].date = "01-Jan-0001 00:00:00 +0100"  # before year 1 in UTC
    leaf = b'"APPLICATION" "PDF" NIL NIL NIL "BASE64" 1 NIL NIL NIL NIL'
    fake.messages[2].structure = b"(" * 5000 + leaf + b")" * 5000
    fake.messages[3].structure = b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    fake.messages[4].structure = b"(() NIL)"
    fake.messages[5].structure = b"NIL"  # read as: no attachment
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 0, err
    assert sorted(stored(db)) == list(range(1, 11))
    with sqlite3.connect(db) as conn:
        malformed = conn.execute("SELECT uid FROM messages WHERE malformed ORDER BY uid")
        assert [uid for (uid,) in malformed] == [2, 3, 4]
    assert run_status(db) == "complete"
    assert account_lines(err) == [
        "auditor: asso: INBOX: 2 message(s) are kept with their size, date and flags only: "
        "the server's description of their parts (BODYSTRUCTURE) cannot be read"
    ]


def test_a_folder_listed_without_a_name_is_a_line(fake, tmp_path, monkeypatch):
    fake.list_lines = [b'* LIST () "/" NIL\r\n', b'* LIST () "/" "INBOX"\r\n']
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 3, err
    assert len(stored(db)) == 10
    assert account_lines(err) == [
        "auditor: asso: the server listed 1 folder(s) without a name; they cannot be scanned"
    ]


def test_a_non_ascii_password_logs_in_with_authenticate_plain(
    dovecot, imap_account, tmp_path, monkeypatch
):
    user, password = imap_account.user + "-ete", "mot-de-passe-été"
    dovecot.add_user(user, password)
    try:
        dovecot.deliver_generated(user, generate_messages(3, seed=5, light=True))
        monkeypatch.setenv("TEST_IMAP_PW", password)
        table = {
            "name": "asso",
            "host": imap_account.host,
            "port": imap_account.port,
            "security": "none",
            "username": user,
            "password_env": "TEST_IMAP_PW",
        }
        code, report, err, _db = scan(tmp_path, monkeypatch, table)
    finally:
        dovecot.remove_user(user)
    assert code == 0, err
    assert report["mailboxes"][0]["messages"] == 3
    assert password not in "\n".join(err) + json.dumps(report)


def test_a_non_ascii_password_without_authenticate_plain_is_one_line(fake, tmp_path, monkeypatch):
    fake.password, fake.caps = "mot-de-passe-été", "IMAP4rev1"
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 3
    (line,) = account_lines(err)
    assert "non-ASCII characters" in line and "AUTHENTICATE PLAIN" in line
    assert run_status(db) == "partial"


def test_a_bug_in_one_account_fails_it_alone(fake, tmp_path, monkeypatch):
    other = FakeImap(messages=messages(4))

    def broken(self, client):  # a bug that only shows with the first account
        if self.account.name == "broken":
            raise ZeroDivisionError("division by zero")
        return []

    monkeypatch.setattr(AccountScanner, "_quota", broken)
    try:
        code, report, err, db = scan(
            tmp_path,
            monkeypatch,
            fake_account(fake, monkeypatch, name="broken"),
            fake_account(other, monkeypatch, name="fine"),
        )
    finally:
        other.close()
    assert code == 3, err
    (line,) = account_lines(err, "broken")
    assert "ZeroDivisionError" in line and "Traceback" not in "\n".join(err)
    assert [b["account"] for b in report["mailboxes"]] == ["fine"]
    assert run_status(db) == "partial"


# --- 17. only a lost connection is retried ---------------------------------------------------


def test_a_refused_command_is_its_own_line_and_not_retried(fake, tmp_path, monkeypatch):
    fake.refuse_search = True
    code, _report, err, _db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 3
    assert account_lines(err) == [
        "auditor: asso: the server refused a command (SEARCH failed: search refused by the "
        "fake server); the scan of this account stopped; what was read before is kept"
    ]
    assert fake.connections == 1


def test_an_answer_that_cannot_be_parsed_is_its_own_line_and_not_retried(
    fake, tmp_path, monkeypatch
):
    fake.raw[8] = b"* 8 FETCH (UID 8 RFC822.SIZE 10 FLAGS (\\Seen\r\n"  # the list never ends
    code, _report, err, db = scan(tmp_path, monkeypatch, fake_account(fake, monkeypatch))
    assert code == 3, err
    assert sorted(stored(db)) == [1, 2, 3, 4, 5, 6, 7, 9, 10]
    (line,) = account_lines(err)
    assert line.startswith("auditor: asso: INBOX: 1 message(s) have an answer that cannot be read")
    assert fake.connections == 1

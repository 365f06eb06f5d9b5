"""IMAP scans against a real Dovecot on 127.0.0.1: read-only, complete, incremental, safe."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.mail.fetch_parser import parse_fetch
from auditor.collect.mail.imap import AccountScanner, ImapAccount, fetch_raw
from auditor.collect.mail.mime import message_facts
from auditor.store import open_store, writes
from auditor.store.mailsync import StoreFolderSink
from tests.mailgen import cpython_corpus_messages, generate_messages


def write_config(tmp_path: Path, *accounts: dict) -> Path:
    lines = []
    for a in accounts:
        lines.append("[[accounts]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in a.items()]
    path = tmp_path / "auditor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def account_table(acct, name="asso", **extra) -> dict:
    table = {
        "name": name,
        "host": acct.host,
        "port": acct.port,
        "security": "none",
        "username": acct.user,
        "password_env": "TEST_IMAP_PW",
    }
    table.update(extra)
    return table


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("AUDITOR_CONFIG", str(tmp_path / "absent.toml"))
    runner = CliRunner()

    def scan(*args: str) -> tuple[int, dict, str]:
        out = tmp_path / "report.json"
        out.unlink(missing_ok=True)
        result = runner.invoke(
            main,
            ["scan", "--no-host", "--format", "json", "--output", str(out), "-q", *args],
            catch_exceptions=False,
        )
        report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
        return result.exit_code, report, result.stderr

    return scan


def load(acct, count=300, seed=7):
    acct.client().logout()  # the first login creates the special-use folders
    msgs = list(generate_messages(count, seed=seed, light=True))
    acct.server.deliver_generated(acct.user, msgs)
    return msgs


def server_snapshot(acct) -> dict:
    """Every folder's UIDVALIDITY, count, HIGHESTMODSEQ, and every message's UID and flags."""
    client = acct.client()
    client.enable("CONDSTORE")
    snap = {}
    for _flags, _delim, name in client.list_folders():
        info = client.select_folder(name, readonly=True)
        uids = client.search("ALL")
        flags = client.get_flags(uids) if uids else {}
        snap[name] = (
            info[b"UIDVALIDITY"],
            info[b"EXISTS"],
            info.get(b"HIGHESTMODSEQ"),
            {uid: tuple(sorted(f)) for uid, f in flags.items()},
        )
    client.logout()
    return snap


def test_scan_changes_nothing_on_the_server(imap_account, tmp_path, cli, monkeypatch):
    load(imap_account)
    before = server_snapshot(imap_account)
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    code, report, err = cli("--config", str(write_config(tmp_path, account_table(imap_account))))
    assert code in (0, 1), err
    assert report["mailboxes"][0]["messages"] == 300
    assert server_snapshot(imap_account) == before


def test_every_message_and_attachment_matches_what_the_file_says(
    imap_account, tmp_path, cli, monkeypatch
):
    msgs = load(imap_account, 200, seed=11)
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    cli("--config", str(write_config(tmp_path, account_table(imap_account))))
    conn = sqlite3.connect(tmp_path / "store.sqlite3")
    got = {
        (subject, size): seen
        for subject, size, seen in conn.execute(
            "SELECT subject, size_bytes, seen FROM latest_messages"
        )
    }
    for m in msgs:
        crlf = m.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert got[(m.subject, len(crlf))] == int(m.seen)
    stored = sorted(
        (name or "", ctype, size)
        for name, ctype, size in conn.execute(
            "SELECT filename, content_type, size_bytes FROM latest_attachments"
        )
    )
    expected = sorted(
        (a.filename or "", a.content_type, a.size_bytes)
        for m in msgs
        for a in message_facts(m.raw, 1, False).attachments
    )
    assert [s[:2] for s in stored] == [e[:2] for e in expected]
    for (_, _, got_size), (_, _, want) in zip(stored, expected, strict=True):
        assert abs(got_size - want) <= max(4, want // 100)  # BODYSTRUCTURE sizes are estimates


def test_special_use_folders_are_recognised(imap_account, tmp_path, cli, monkeypatch):
    load(imap_account, 50)
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    cli("--config", str(write_config(tmp_path, account_table(imap_account))))
    conn = sqlite3.connect(tmp_path / "store.sqlite3")
    roles = dict(conn.execute("SELECT folder, special_use FROM latest_folders"))
    assert roles["Trash"] == "Trash" and roles["Junk"] == "Junk" and roles["Sent"] == "Sent"
    assert roles["INBOX"] is None


def _scanner(acct, db: Path, run_id: int, **kw) -> tuple[AccountScanner, sqlite3.Connection]:
    conn = open_store(db)
    sid = writes.source_id(conn, "imap", "asso", f"imap://{acct.user}@{acct.host}")
    writes.record_source_status(conn, run_id, sid, "ok")
    account = ImapAccount(
        name="asso",
        host=acct.host,
        port=acct.port,
        username=acct.user,
        security="none",
        secret=lambda: acct.password,
    )
    return AccountScanner(account, StoreFolderSink(conn, sid, run_id), **kw), conn


def _run(db: Path, acct, **kw):
    conn = open_store(db)
    run_id = writes.start_run(conn)
    scanner, sconn = _scanner(acct, db, run_id, **kw)
    stats = scanner.run()
    writes.finish_run(conn, run_id, "complete", 100, [])
    return run_id, stats, conn


@pytest.mark.parametrize("condstore", [True, False], ids=["condstore", "no-condstore"])
def test_rescan_fetches_only_what_changed(imap_account, tmp_path, condstore, monkeypatch):
    load(imap_account, 120)
    db = tmp_path / "s.db"
    if not condstore:  # a server without CONDSTORE, such as Microsoft 365
        real = AccountScanner._connect

        def without_condstore(self):
            client = real(self)
            self.condstore = False
            return client

        monkeypatch.setattr(AccountScanner, "_connect", without_condstore)
    run1, stats1, conn = _run(db, imap_account)
    assert stats1.fetched == 120
    run_again, stats_again, _ = _run(db, imap_account)
    assert (stats_again.fetched, stats_again.flag_changes, stats_again.vanished) == (0, 0, 0)

    server = imap_account.server
    inbox = server.imap_client(imap_account.user, imap_account.password)
    inbox.select_folder("INBOX")
    uids = inbox.search("ALL")
    unseen = inbox.search("UNSEEN")
    inbox.logout()
    target, gone = unseen[0], uids[-1] if uids[-1] != unseen[0] else uids[-2]
    server.doveadm(
        "flags", "add", "-u", imap_account.user, "\\Seen", "mailbox", "INBOX", "uid", str(target)
    )
    server.doveadm("expunge", "-u", imap_account.user, "mailbox", "INBOX", "uid", str(gone))
    server.deliver(imap_account.user, "INBOX", next(generate_messages(1, seed=99, light=True)).raw)

    run3, stats3, conn = _run(db, imap_account)
    assert stats3.fetched == 1 and stats3.vanished == 1 and stats3.flag_changes == 1

    def inbox_state(run):
        return dict(
            conn.execute(
                "SELECT uid, seen FROM messages WHERE run_id = ? AND folder = 'INBOX'", (run,)
            ).fetchall()
        )

    first, last = inbox_state(run1), inbox_state(run3)
    assert first[target] == 0 and last[target] == 1
    assert gone in first and gone not in last
    assert len(last) == len(first)  # one gone, one new
    total = conn.execute("SELECT count(*) FROM messages WHERE run_id = ?", (run_again,))
    assert total.fetchone()[0] == 120  # the unchanged run still holds the whole mailbox


def test_uidvalidity_change_rebuilds_the_folder(imap_account, tmp_path):
    acct = imap_account
    acct.client().logout()
    acct.server.create_folder(acct.user, "Projets", subscribe=True)
    for m in generate_messages(5, seed=3, light=True):
        acct.server.deliver(acct.user, "Projets", m.raw)
    db = tmp_path / "s.db"
    _run(db, acct)
    acct.server.doveadm("mailbox", "delete", "-u", acct.user, "Projets")
    acct.server.create_folder(acct.user, "Projets", subscribe=True)
    for m in generate_messages(2, seed=4, light=True):
        acct.server.deliver(acct.user, "Projets", m.raw)
    run2, stats, conn = _run(db, acct)
    assert stats.fetched == 2
    n = conn.execute(
        "SELECT count(*) FROM messages WHERE run_id = ? AND folder = 'Projets'", (run2,)
    ).fetchone()[0]
    assert n == 2


def test_quota_is_stored_and_the_rule_fires_at_80_percent(imap_account, tmp_path, cli, monkeypatch):
    acct = imap_account
    acct.server.set_quota(acct.user, 10)  # 10 MB
    acct.client().logout()
    big = [m for m in generate_messages(400, seed=5, light=True)]
    total = 0
    for m in big:
        if total > 8.5e6:
            break
        acct.server.deliver(acct.user, "INBOX", m.raw)
        total += len(m.raw)
    monkeypatch.setenv("TEST_IMAP_PW", acct.password)
    code, report, err = cli("--config", str(write_config(tmp_path, account_table(acct))))
    quota = next(f for f in report["findings"] if f["rule_id"] == "MAIL006")
    assert quota["evidence"][0]["limit_bytes"] == 10 * 1024 * 1024
    assert quota["evidence"][0]["used_percent"] >= 80
    # an unchanged rescan keeps the quota (copied, since no folder moved)
    code, again, err = cli("--config", str(write_config(tmp_path, account_table(acct))))
    quota_again = next(f for f in again["findings"] if f["rule_id"] == "MAIL006")
    assert quota_again["evidence"] == quota["evidence"]
    conn = sqlite3.connect(tmp_path / "store.sqlite3")
    rows = conn.execute("SELECT run_id, used_bytes FROM quotas ORDER BY run_id").fetchall()
    assert len(rows) == 2 and rows[0][1] == rows[1][1]


def test_imaps_verifies_the_certificate(imap_account, tmp_path, cli, monkeypatch):
    load(imap_account, 10)
    monkeypatch.setenv("AUDITOR_IMAP_PASSWORD", imap_account.password)
    url = f"imaps://{imap_account.user}@127.0.0.1:{imap_account.imaps_port}"
    code, report, err = cli("--imap", url, "--ca-file", str(imap_account.ca_file))
    assert code in (0, 1), err
    assert report["mailboxes"][0]["messages"] == 10
    code, report, err = cli("--imap", url)
    assert code == 3
    lines = [line for line in err.splitlines() if "certificate is not trusted" in line]
    assert len(lines) == 1 and imap_account.user in lines[0]


def test_starttls_url_scans_with_the_ca_file(imap_account, tmp_path, cli, monkeypatch):
    load(imap_account, 10)
    monkeypatch.setenv("AUDITOR_IMAP_PASSWORD", imap_account.password)
    url = f"imap://{imap_account.user}@127.0.0.1:{imap_account.port}"
    code, report, err = cli("--imap", url, "--ca-file", str(imap_account.ca_file))
    assert code in (0, 1), err and report["mailboxes"][0]["messages"] == 10


def test_bad_password_fails_one_account_and_the_others_complete(
    imap_account, dovecot, tmp_path, cli, monkeypatch
):
    load(imap_account, 20)
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    monkeypatch.setenv("WRONG_PW", "not-the-password-xyz")
    dovecot.add_user("other-" + imap_account.user, "the-real-one")
    other = account_table(imap_account, name="bad", password_env="WRONG_PW")
    other["username"] = "other-" + imap_account.user
    cfg = write_config(tmp_path, account_table(imap_account, name="good"), other)
    code, report, err = cli("--config", str(cfg))
    assert code == 3, err
    assert [b["account"] for b in report["mailboxes"]] == ["good"]
    assert report["mailboxes"][0]["messages"] == 20
    lines = [line for line in err.splitlines() if line.startswith("auditor: bad:")]
    assert lines == ["auditor: bad: login refused: check the user name and password"]
    assert "not-the-password-xyz" not in err + json.dumps(report)


def test_the_same_mailbox_twice_is_a_config_error(imap_account, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    cfg = write_config(
        tmp_path, account_table(imap_account, name="a"), account_table(imap_account, name="b")
    )
    code, _report, err = cli("--config", str(cfg))
    assert code == 2 and "accounts a and b are the same mailbox" in err


def test_unencrypted_login_to_a_remote_host_is_refused(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PW", "whatever")
    cfg = write_config(
        tmp_path,
        {
            "name": "far",
            "host": "imap.example.org",
            "security": "none",
            "username": "u",
            "password_env": "TEST_IMAP_PW",
        },
    )
    code, _report, err = cli("--config", str(cfg))
    assert code == 3
    assert "refusing to send a password unencrypted to imap.example.org" in err


def test_closed_port_is_one_clear_line(tmp_path, cli, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TEST_IMAP_PW", "pw")
    cfg = write_config(
        tmp_path,
        {
            "name": "off",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "username": "u",
            "password_env": "TEST_IMAP_PW",
        },
    )
    code, _report, err = cli("--config", str(cfg))
    assert code == 3 and f"off: connection refused by 127.0.0.1:{port}" in err


def test_no_secret_in_store_report_or_debug_output(imap_account, tmp_path, monkeypatch):
    load(imap_account, 20)
    secret = imap_account.password
    monkeypatch.setenv("TEST_IMAP_PW", secret)
    monkeypatch.setenv("AUDITOR_DB", str(tmp_path / "store.sqlite3"))
    cfg = write_config(tmp_path, account_table(imap_account))
    out = tmp_path / "r.md"
    result = CliRunner().invoke(
        main,
        [
            "scan",
            "--no-host",
            "--config",
            str(cfg),
            "--debug",
            "--format",
            "markdown",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code in (0, 1)
    assert secret not in result.output + result.stderr
    assert secret.encode() not in (tmp_path / "store.sqlite3").read_bytes()
    assert secret not in out.read_text(encoding="utf-8")


class DroppingProxy:
    """A loopback TCP proxy that cuts the first connection after `cut_after` bytes."""

    def __init__(self, target_port: int, cut_after: int):
        self.target = target_port
        self.cut_after = cut_after
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            limit = self.cut_after if self.connections == 1 else None
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()

    @staticmethod
    def _pipe(src, dst, limit):
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                sent += len(data)
                if limit is not None and sent >= limit:
                    break
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def close(self):
        self.sock.close()


def test_dropped_connection_is_retried_and_the_scan_completes(imap_account, tmp_path):
    load(imap_account, 400)
    proxy = DroppingProxy(imap_account.port, cut_after=60_000)
    try:
        acct = imap_account
        db = tmp_path / "s.db"
        conn = open_store(db)
        run_id = writes.start_run(conn)
        sid = writes.source_id(conn, "imap", "asso", "imap://proxy")
        writes.record_source_status(conn, run_id, sid, "ok")
        account = ImapAccount(
            name="asso",
            host="127.0.0.1",
            port=proxy.port,
            username=acct.user,
            security="none",
            secret=lambda: acct.password,
        )
        stats = AccountScanner(account, StoreFolderSink(conn, sid, run_id)).run()
        assert proxy.connections >= 2
        n = conn.execute("SELECT count(*) FROM messages WHERE run_id = ?", (run_id,)).fetchone()
        assert n[0] == 400 and stats.fetched == 400
    finally:
        proxy.close()


def test_fast_parser_agrees_with_imapclient_on_every_corpus_message(imap_account):
    acct = imap_account
    acct.client().logout()
    corpus = cpython_corpus_messages()
    if not corpus:
        pytest.skip("this interpreter does not ship CPython's email test corpus")
    for _name, raw in corpus:
        acct.server.deliver(acct.user, "INBOX", raw, internal_date=datetime(2020, 1, 2, tzinfo=UTC))
    for m in generate_messages(300, seed=21, light=True):
        acct.server.deliver(acct.user, "INBOX", m.raw)
    client = acct.client()
    client.normalise_times = False
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    items = [
        "UID",
        "RFC822.SIZE",
        "FLAGS",
        "BODYSTRUCTURE",
        "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID LIST-ID)]",
    ]
    theirs = client.fetch(uids, items)
    ours = {f[b"UID"]: f for _s, f in parse_fetch(fetch_raw(client, uids, " ".join(items)))}
    client.logout()
    assert set(ours) == set(theirs)
    for uid, fields in theirs.items():
        for key, value in fields.items():
            if key == b"SEQ":
                continue
            assert ours[uid][key] == value, (uid, key)


def test_cpython_corpus_scans_without_failing(imap_account, tmp_path, cli, monkeypatch):
    acct = imap_account
    acct.client().logout()
    corpus = cpython_corpus_messages()
    if not corpus:
        pytest.skip("this interpreter does not ship CPython's email test corpus")
    for _name, raw in corpus:
        acct.server.deliver(acct.user, "INBOX", raw)
    monkeypatch.setenv("TEST_IMAP_PW", acct.password)
    code, report, err = cli("--config", str(write_config(tmp_path, account_table(acct))))
    assert code in (0, 1), err
    assert report["mailboxes"][0]["messages"] == len(corpus)


def test_helper_processes_split_a_big_folder_and_store_each_message_once(
    imap_account, tmp_path, monkeypatch
):
    import auditor.collect.mail.imap as imap_mod

    load(imap_account, 300)
    monkeypatch.setattr(imap_mod, "PARALLEL_MIN", 10)
    monkeypatch.setattr(imap_mod, "BATCH", 40)
    db = tmp_path / "s.db"
    conn = open_store(db)
    run_id = writes.start_run(conn)
    scanner, sconn = _scanner(imap_account, db, run_id)
    sid = scanner.sink.source
    scanner.helpers = 1
    scanner.helper_sink = lambda: StoreFolderSink(open_store(db), sid, run_id)
    stats = scanner.run()
    rows = conn.execute(
        "SELECT folder, uid, count(*) FROM messages WHERE run_id = ? GROUP BY folder, uid",
        (run_id,),
    ).fetchall()
    assert len(rows) == 300 and all(n == 1 for _f, _u, n in rows)
    assert stats.fetched == 300


def test_scan_fast_path_gives_the_same_facts_as_the_full_parser(imap_account):
    from auditor.collect.mail.fetch_parser import parse_scan_fetch
    from auditor.collect.mail.imap import _HEADER_ITEM, message_from_fetch

    acct = imap_account
    acct.client().logout()
    for _name, raw in cpython_corpus_messages():
        acct.server.deliver(acct.user, "INBOX", raw)
    for m in generate_messages(400, seed=31, light=True):
        acct.server.deliver(acct.user, "INBOX", m.raw)
    client = acct.client()
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    data = fetch_raw(
        client, uids, f"UID RFC822.SIZE INTERNALDATE FLAGS BODYSTRUCTURE {_HEADER_ITEM}"
    )
    client.logout()
    full = {f[b"UID"]: message_from_fetch(f[b"UID"], f) for _s, f in parse_fetch(data)}
    fast = {f[b"UID"]: message_from_fetch(f[b"UID"], f) for _s, f in parse_scan_fetch(data)}
    assert fast == full and len(fast) == len(uids)

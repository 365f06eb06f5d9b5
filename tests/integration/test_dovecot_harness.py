"""The Dovecot test harness itself: TLS, capabilities, direct delivery, quota, CONDSTORE."""

from __future__ import annotations

import socket
import ssl
import time
from datetime import UTC, date, datetime

import imapclient
import pytest

from tests.dovecot import Dovecot, DovecotError, encode_mutf7
from tests.mailgen import FOLDERS, cpython_corpus_messages, generate_messages

RAW = (
    b"From: Marie Dupont <marie@example.org>\r\n"
    b"To: secretariat@example.org\r\n"
    b"Subject: =?utf-8?q?R=C3=A9union?=\r\n"
    b"Date: Tue, 14 Mar 2023 09:30:00 +0100\r\n"
    b"Message-ID: <harness-1@example.org>\r\n"
    b"\r\n"
    b"Bonjour,\r\nA jeudi.\r\n"
)


def test_greeting_and_plain_login(dovecot, imap_account):
    with socket.create_connection((dovecot.host, dovecot.imap_port), timeout=5) as sock:
        assert sock.makefile("rb").readline().startswith(b"* OK")
    client = imap_account.client()
    try:
        assert client.noop()
    finally:
        client.logout()


def test_wrong_password_is_refused(dovecot, imap_account):
    with pytest.raises(imapclient.exceptions.LoginError):
        dovecot.imap_client(imap_account.user, "not-the-password")


def test_starttls_is_offered_and_verifies(dovecot, imap_account):
    client = imapclient.IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10)
    try:
        assert b"STARTTLS" in client.capabilities()
        client.starttls(dovecot.ssl_context())
        client.login(imap_account.user, imap_account.password)
        assert client.noop()
    finally:
        client.logout()


def test_imaps_login_verifies_against_ca_file(dovecot, imap_account):
    client = imap_account.client(ssl=True)
    try:
        cert = client.socket().getpeercert()
        assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]
        assert ("DNS", "localhost") in cert["subjectAltName"]
        assert client.noop()
    finally:
        client.logout()


def test_imaps_verification_fails_without_ca_file(dovecot):
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(
            dovecot.host,
            port=dovecot.imaps_port,
            ssl=True,
            ssl_context=ssl.create_default_context(),
            timeout=10,
        )


def test_capabilities_after_login(imap_account):
    client = imap_account.client()
    try:
        caps = set(client.capabilities())
    finally:
        client.logout()
    assert {b"IMAP4REV1", b"CONDSTORE", b"QRESYNC", b"ENABLE", b"QUOTA", b"SPECIAL-USE"} <= caps


def test_special_use_folders(imap_account):
    client = imap_account.client()
    try:
        folders = {name: set(flags) for flags, _sep, name in client.list_folders()}
        separator = client.namespace().personal[0][1]
    finally:
        client.logout()
    assert separator == "/"
    for name in ("Trash", "Junk", "Sent", "Archive", "Drafts"):
        assert f"\\{name}".encode() in folders[name], folders


def test_delivered_messages_keep_date_flags_and_size(imap_account):
    server = imap_account.server
    when = datetime(2021, 6, 5, 14, 3, 7, tzinfo=UTC)
    server.deliver(imap_account.user, "INBOX", RAW, seen=True, internal_date=when)
    server.deliver(imap_account.user, "INBOX", RAW.replace(b"\r\n", b"\n"), flags=["\\Flagged"])
    client = imap_account.client()
    client.normalise_times = False
    try:
        client.select_folder("INBOX", readonly=True)
        data = client.fetch([1, 2], ["INTERNALDATE", "FLAGS", "RFC822.SIZE"])
    finally:
        client.logout()
    first, second = data[1], data[2]
    assert first[b"INTERNALDATE"] == when
    assert b"\\Seen" in first[b"FLAGS"]
    assert first[b"RFC822.SIZE"] == len(RAW)
    assert b"\\Seen" not in second[b"FLAGS"] and b"\\Flagged" in second[b"FLAGS"]
    assert second[b"RFC822.SIZE"] == len(RAW)  # bare LFs count as CRLF


def test_folders_on_disk_hierarchy_and_non_ascii(imap_account):
    server, user = imap_account.server, imap_account.user
    maildir = server.mail_root / user / "Maildir"
    assert server.mailbox_path(user, "INBOX") == maildir
    assert server.mailbox_path(user, "Archive/2021") == maildir / ".Archive.2021"
    assert server.mailbox_path(user, "Reçus") == maildir / f".{encode_mutf7('Reçus')}"
    assert encode_mutf7("Reçus") == "Re&AOc-us"
    for folder in ("Archive/2021", "Reçus", "Newsletters"):
        server.deliver(user, folder, RAW)
    client = imap_account.client()
    try:
        names = {name for _flags, _sep, name in client.list_folders()}
        counts = {f: client.folder_status(f, [b"MESSAGES"])[b"MESSAGES"] for f in names}
    finally:
        client.logout()
    assert {"Archive/2021", "Reçus", "Newsletters"} <= names
    assert counts["Archive/2021"] == counts["Reçus"] == counts["Newsletters"] == 1
    with pytest.raises(ValueError):
        server.mailbox_path(user, "with.dot")


def test_getquotaroot(dovecot):
    dovecot.add_user("quota-default", "pw-1")
    dovecot.add_user("quota-small", "pw-2", quota_mb=5)
    dovecot.deliver("quota-small", "INBOX", RAW + b"x" * 200_000 + b"\r\n")
    try:
        limits = {}
        for user, password in (("quota-default", "pw-1"), ("quota-small", "pw-2")):
            client = dovecot.imap_client(user, password)
            try:
                roots, quotas = client.get_quota_root("INBOX")
            finally:
                client.logout()
            assert roots.quota_roots
            limits[user] = {q.resource: (q.usage, q.limit) for q in quotas}
    finally:
        dovecot.remove_user("quota-default")
        dovecot.remove_user("quota-small")
    assert limits["quota-default"]["STORAGE"] == (0, 1024 * 1024)
    usage, limit = limits["quota-small"]["STORAGE"]
    assert limit == 5 * 1024 and usage >= 195


def test_deliver_many_is_fast(imap_account):
    messages = list(generate_messages(5000, seed=11, light=True))
    began = time.perf_counter()
    written = imap_account.server.deliver_many(imap_account.user, "Archive", messages)
    elapsed = time.perf_counter() - began
    total_mb = sum(m.size for m in messages) / 1e6
    print(
        f"\ndeliver_many: {written} messages, {total_mb:.0f} MB in {elapsed:.2f} s "
        f"({written / elapsed:,.0f} msg/s)"
    )
    assert written == 5000
    assert elapsed < 5
    client = imap_account.client()
    client.normalise_times = False
    try:
        info = client.select_folder("Archive", readonly=True)
        assert info[b"EXISTS"] == 5000
        edges = client.fetch([1, 5000], ["INTERNALDATE", "RFC822.SIZE", "FLAGS"])
    finally:
        client.logout()
    for seq, msg in ((1, messages[0]), (5000, messages[-1])):  # UIDs follow delivery order
        assert edges[seq][b"INTERNALDATE"] == msg.internal_date
        assert edges[seq][b"RFC822.SIZE"] == msg.size
        assert (b"\\Seen" in edges[seq][b"FLAGS"]) == msg.seen


def test_condstore_highestmodseq_moves_with_doveadm(imap_account):
    server, user = imap_account.server, imap_account.user
    for _ in range(3):
        server.deliver(user, "INBOX", RAW)
    client = imap_account.client()
    try:
        client.enable("CONDSTORE")
        before = client.select_folder("INBOX")[b"HIGHESTMODSEQ"]
        client.unselect_folder()
        server.doveadm("flags", "add", "-u", user, "\\Seen", "mailbox", "INBOX", "uid", "3")
        after = client.select_folder("INBOX")[b"HIGHESTMODSEQ"]
        flags = client.fetch([3], ["FLAGS", "MODSEQ"])[3]
    finally:
        client.logout()
    assert after > before
    assert b"\\Seen" in flags[b"FLAGS"] and flags[b"MODSEQ"][0] == after


def test_private_instance_restart_keeps_mail_and_ports():
    with Dovecot(quota_mb=None) as server:
        assert server.start_seconds < 2, server.start_seconds
        server.add_user("alice", "secret")
        server.deliver("alice", "Sent", RAW, seen=True)
        ports = server.imap_port, server.imaps_port
        server.restart()
        assert (server.imap_port, server.imaps_port) == ports
        client = server.imap_client("alice", "secret", ssl=True)
        try:
            assert client.folder_status("Sent", [b"MESSAGES"])[b"MESSAGES"] == 1
            # No limit: Dovecot answers "OK No quota" without any untagged QUOTAROOT,
            # which imapclient 4.1's get_quota_root() cannot parse (IndexError).
            typ, data = client._imap.getquotaroot("INBOX")
        finally:
            client.logout()
        assert typ == "OK" and data == [[None], [None]]
        root = server.root
        with pytest.raises(DovecotError):
            server.doveadm("flags", "add", "-u", "nobody-here", "\\Seen", "mailbox", "INBOX")
    assert root is not None and not root.exists()
    assert not server.running


def test_generator_is_deterministic_and_varied():
    first = list(generate_messages(400, seed=3, start=date(2019, 1, 1), end=date(2021, 1, 1)))
    again = list(generate_messages(400, seed=3, start=date(2019, 1, 1), end=date(2021, 1, 1)))
    assert [m.raw for m in first] == [m.raw for m in again]
    assert {m.folder for m in first} <= set(FOLDERS)
    assert {"plain", "newsletter", "photos", "pdf", "nested"} <= {m.kind for m in first}
    dates = [m.internal_date for m in first]
    assert dates == sorted(dates)
    assert datetime(2019, 1, 1, tzinfo=UTC) <= dates[0] and dates[-1] <= datetime(
        2021, 1, 1, 23, 59, 59, tzinfo=UTC
    )
    assert any(m.seen for m in first) and not all(m.seen for m in first)
    assert all(m.raw.count(b"\n") == m.raw.count(b"\r\n") for m in first)  # CRLF only


def test_cpython_corpus_is_readable():
    corpus = cpython_corpus_messages()
    if not corpus:
        pytest.skip("this interpreter ships without test.test_email")
    assert all(name.startswith("msg_") and raw for name, raw in corpus)

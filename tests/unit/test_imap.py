"""auditor.collect.mail.imap: what a user reads when an account cannot be scanned.

Each line is a `Problem` whose English text is the line auditor always printed and whose
French one is whole, the account named first in both. (Behaviour against a real server is
in tests/integration/.)
"""

from __future__ import annotations

import json
import socket

from imapclient.exceptions import IMAPClientError

import auditor.collect.mail.imap as imap
from auditor.collect.mail.imap import AccountScanner, ImapAccount, connect
from tests.helpers import assert_bilingual, raised


def account(**changes) -> ImapAccount:
    fields = {"name": "asso", "host": "127.0.0.1", "username": "u", "secret": lambda: "s3cret"}
    return ImapAccount(**{**fields, **changes})


def test_a_password_is_never_sent_unencrypted_to_a_remote_host():
    line = raised(lambda: connect(account(host="mail.example.org", security="none")))
    assert_bilingual(
        line,
        "asso: refusing to send a password unencrypted to mail.example.org; "
        'use security = "tls" (port 993) or "starttls" (port 143)',
        "asso",
    )
    assert "s3cret" not in json.dumps(line.to_json())


def test_a_closed_port_is_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = raised(lambda: connect(account(port=port, security="none")))
    assert_bilingual(line, f"asso: connection refused by 127.0.0.1:{port}", "asso")
    assert line.localized("fr") == f"asso : connexion refusée par 127.0.0.1:{port}"
    assert "s3cret" not in json.dumps(line.to_json())


class _NoQuota:
    def capabilities(self):
        return (b"IMAP4REV1", b"QUOTA")

    def get_quota_root(self, _folder):
        raise IMAPClientError("GETQUOTAROOT failed: NO no such quota")


def test_a_quota_that_cannot_be_read_is_a_line_not_a_failure():
    scanner = AccountScanner(account(), sink=None)  # type: ignore[arg-type]
    scanner._quota(_NoQuota())
    (line,) = scanner.stats.errors
    assert_bilingual(
        line, "asso: quota not readable (GETQUOTAROOT failed: NO no such quota)", "asso"
    )


def test_a_connection_lost_for_good_names_the_retries(monkeypatch):
    def drop(_account):
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(imap, "connect", drop)
    scanner = AccountScanner(account(), sink=None, retries=0)  # type: ignore[arg-type]
    line = raised(scanner.run)
    assert_bilingual(
        line,
        "asso: connection lost and not recovered after 0 retries "
        "([Errno 104] Connection reset by peer)",
        "asso",
    )

"""IMAP accounts from a URL or the config: secrets only when logging in, never in errors."""

from __future__ import annotations

import pytest

from auditor.accounts import account_from_url, accounts_from_config
from auditor.collect.mail.imap import is_loopback
from auditor.config import Account, Config
from auditor.errors import ConfigError
from tests.helpers import assert_config_error_line, raised_error


def test_imaps_url_gives_tls_on_993(monkeypatch):
    monkeypatch.setenv("AUDITOR_IMAP_PASSWORD", "pw-from-env")
    acct = account_from_url("imaps://accueil%40asso.fr@imap.example.org", None, None)
    assert (acct.username, acct.host, acct.security, acct.effective_port) == (
        "accueil@asso.fr",
        "imap.example.org",
        "tls",
        993,
    )
    assert acct.secret() == "pw-from-env"
    assert "pw-from-env" not in acct.locator


def test_imap_url_gives_starttls_and_keeps_the_port():
    acct = account_from_url("imap://u@127.0.0.1:1143", "/tmp/ca.pem", None)
    assert (acct.security, acct.port, acct.ca_file) == ("starttls", 1143, "/tmp/ca.pem")


def test_password_in_the_url_is_refused_and_not_repeated():
    with pytest.raises(ConfigError) as err:
        account_from_url("imaps://u:hunter2@imap.example.org", None, None)
    assert "hunter2" not in str(err.value) and "refused" in str(err.value)


def test_no_password_and_no_terminal_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("AUDITOR_IMAP_PASSWORD", raising=False)
    acct = account_from_url("imaps://u@imap.example.org", None, None)
    with pytest.raises(ConfigError, match="AUDITOR_IMAP_PASSWORD"):
        acct.secret()


def test_prompt_is_used_on_a_terminal(monkeypatch):
    monkeypatch.delenv("AUDITOR_IMAP_PASSWORD", raising=False)
    acct = account_from_url("imaps://u@imap.example.org", None, lambda text: "typed")
    assert acct.secret() == "typed"


def test_bad_url_is_refused():
    with pytest.raises(ConfigError, match="expected imaps://USER@HOST"):
        account_from_url("https://imap.example.org", None, None)


def test_oauth2_account_needs_a_token_command():
    cfg = Config(accounts=[Account(name="g", host="imap.gmail.com", username="u", auth="oauth2")])
    with pytest.raises(ConfigError, match="oauth2_token_command"):
        accounts_from_config(cfg)


def test_config_password_is_resolved_only_when_asked(monkeypatch):
    cfg = Config(accounts=[Account(name="a", host="h", username="u", password_env="PW_LATER")])
    (acct,) = accounts_from_config(cfg)  # the variable is not set yet: no error until login
    monkeypatch.setenv("PW_LATER", "now-set")
    assert acct.secret() == "now-set"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("imap.example.org", False),
        ("192.168.1.2", False),
    ],
)
def test_only_loopback_counts_as_loopback(host, expected):
    assert is_loopback(host) is expected


def _account(**kw):
    from auditor.collect.mail.imap import ImapAccount

    base = dict(name="asso", host="127.0.0.1", username="u", secret=lambda: "pw", security="none")
    base.update(kw)
    return ImapAccount(**base)


def test_unknown_host_is_one_clear_line(monkeypatch):
    import socket

    from auditor.collect.mail.imap import connect
    from auditor.errors import SourceError

    def no_such_host(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(SourceError, match=r"^asso: unknown host imap.invalid$"):
        connect(_account(host="imap.invalid", security="tls"))


def test_server_without_imap4rev1_is_one_clear_line():
    import socket
    import threading

    from auditor.collect.mail.imap import connect
    from auditor.errors import SourceError

    server = socket.create_server(("127.0.0.1", 0))

    def old_server():
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"* OK [CAPABILITY IMAP4] an old server\r\n")
            data = b""
            while b"\r\n" not in data:
                data += conn.recv(1024)
            tag = data.split(b" ", 1)[0]
            conn.sendall(b"* CAPABILITY IMAP4\r\n" + tag + b" OK done\r\n")
            conn.recv(1024)

    threading.Thread(target=old_server, daemon=True).start()
    try:
        with pytest.raises(SourceError, match="does not speak IMAP4rev1"):
            connect(_account(port=server.getsockname()[1]))
    finally:
        server.close()


@pytest.mark.parametrize("url", ["imaps://u:secret@h", "imaps://u@h:xx", "http://h"])
def test_a_bad_imap_url_is_one_line_in_both_languages_without_its_password(url, monkeypatch):
    monkeypatch.delenv("AUDITOR_IMAP_PASSWORD", raising=False)
    assert_config_error_line(raised_error(lambda: account_from_url(url, None, None)))

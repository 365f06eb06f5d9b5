"""Sending the report by email, against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

from auditor.config import EmailSettings  # noqa: E402
from auditor.report import send as send_module  # noqa: E402
from auditor.report.send import SendError, build_message, send_report  # noqa: E402

Controller = aiosmtpd_controller.Controller
AuthResult = aiosmtpd_smtp.AuthResult

USER = "auditor@asso.test"
PASSWORD = "s3cret-P4ss-wörd"  # non-ASCII: smtplib alone cannot send it
ASCII_PASSWORD = "plain-ascii-S3cret"
RECIPIENTS = ["bureau@asso.test", "tresorier@asso.test"]
TEXT = "Audit report\nScore: 85/100\nÉté : tout va bien.\n"
HTML = "<html><body><h1>Audit report</h1><p>Score 85/100 — été</p></body></html>\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """Keeps every delivered envelope; refuses recipients starting with 'nobody'."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == USER.encode() and auth_data.password in (
        PASSWORD.encode(),
        ASCII_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


def start(handler: Collector, **kwargs) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def server() -> Iterator[tuple[Controller, Collector]]:
    handler = Collector()
    controller = start(handler)
    yield controller, handler
    controller.stop()


@pytest.fixture
def auth_server() -> Iterator[tuple[Controller, Collector]]:
    handler = Collector()
    controller = start(handler, auth_require_tls=False, authenticator=authenticator)
    yield controller, handler
    controller.stop()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> tuple[Path, Path, Path]:
    from tests.dovecot import _write_certificates

    try:
        return _write_certificates(tmp_path_factory.mktemp("certs"))
    except Exception as exc:  # no cryptography and no openssl
        pytest.skip(f"cannot make a test certificate: {exc}")


def server_context(certificates) -> ssl.SSLContext:
    _, cert_file, key_file = certificates
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def report(lang: str = "en", score: int | None = 85) -> dict:
    return {
        "language": lang,
        "score": score,
        "run": {"id": 7, "started_at": "2026-11-15T09:30:00+00:00"},
    }


def settings(port: int, **extra) -> EmailSettings:
    values = dict(
        to=list(RECIPIENTS),
        sender="Auditor <auditor@asso.test>",
        smtp_host="127.0.0.1",
        smtp_port=port,
        security="none",
    )
    values.update(extra)
    return EmailSettings(**values)


def parts(msg) -> dict[str, object]:
    return {part.get_content_type(): part for part in msg.walk() if not part.is_multipart()}


# --------------------------------------------------------------------------- the message


def test_subject_in_english_and_french() -> None:
    s = settings(25)
    en = build_message(report("en"), TEXT, HTML, s, association="Les Amis du Quartier")
    assert en["Subject"] == "Audit report — Les Amis du Quartier — November 2026 — score 85/100"
    fr = build_message(report("fr"), TEXT, HTML, s, association="Les Amis du Quartier")
    assert fr["Subject"] == "Rapport d'audit — Les Amis du Quartier — novembre 2026 — score 85/100"
    anonymous = build_message(report("fr"), TEXT, None, s)
    assert anonymous["Subject"] == "Rapport d'audit — auditor — novembre 2026 — score 85/100"
    assert anonymous.get_content_type() == "text/plain"
    assert en.get_content_type() == "multipart/alternative"
    assert en["Message-ID"].endswith("@asso.test>")
    assert en["Date"]


# --------------------------------------------------------------------------- delivery


def test_delivers_text_and_html_to_every_recipient(server) -> None:
    controller, handler = server
    s = settings(controller.port)
    msg = build_message(report("fr"), TEXT, HTML, s, association="Les Amis du Quartier")
    send_report(msg, s, None, timeout=10)

    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.mail_from == "auditor@asso.test"
    assert sorted(envelope.rcpt_tos) == sorted(RECIPIENTS)
    delivered = message_from_bytes(envelope.original_content, policy=policy.default)
    assert delivered.get_content_type() == "multipart/alternative"
    found = parts(delivered)
    assert list(found) == ["text/plain", "text/html"]
    assert found["text/html"].get_content().replace("\r\n", "\n") == HTML
    assert found["text/plain"].get_content().replace("\r\n", "\n") == TEXT
    subject = str(delivered["Subject"])
    assert "novembre 2026" in subject and "85/100" in subject
    assert "Les Amis du Quartier" in subject
    to = [a.addr_spec for a in delivered["To"].addresses]
    assert to == RECIPIENTS
    assert delivered["Message-ID"] and delivered["Date"]


@pytest.mark.parametrize("password", [PASSWORD, ASCII_PASSWORD])
def test_login_accepted(auth_server, password) -> None:
    controller, handler = auth_server
    s = settings(controller.port, username=USER)
    send_report(build_message(report(), TEXT, HTML, s), s, password, timeout=10)
    assert len(handler.envelopes) == 1


@pytest.mark.parametrize("wrong", ["wrong-" + PASSWORD, "wrong-" + ASCII_PASSWORD])
def test_wrong_password_is_a_send_error_without_the_password(auth_server, wrong) -> None:
    controller, handler = auth_server
    s = settings(controller.port, username=USER)
    with pytest.raises(SendError) as info:
        send_report(build_message(report(), TEXT, HTML, s), s, wrong, timeout=10)
    text = str(info.value)
    assert f"127.0.0.1:{controller.port}" in text
    assert "login refused" in text
    assert wrong not in text and PASSWORD not in text and ASCII_PASSWORD not in text
    assert "\n" not in text
    assert info.value.key == "send.error.login_refused"
    french = info.value.localized("fr")
    assert french.startswith(f"SMTP 127.0.0.1:{controller.port} : identifiant refusé : ")
    assert wrong not in french and PASSWORD not in french and ASCII_PASSWORD not in french
    assert info.value.exit_code == 3
    assert handler.envelopes == []


def test_recipient_refused(server) -> None:
    controller, handler = server
    s = settings(controller.port, to=["nobody@asso.test"])
    with pytest.raises(SendError, match=r"127\.0\.0\.1:\d+: every recipient was refused") as info:
        send_report(build_message(report(), TEXT, HTML, s), s, None, timeout=10)
    assert handler.envelopes == []
    assert info.value.localized("fr") == (
        f"SMTP 127.0.0.1:{controller.port} : tous les destinataires ont été refusés : "
        "nobody@asso.test (550 5.1.1 no such user)"
    )


def test_some_recipients_refused(server) -> None:
    controller, handler = server
    s = settings(controller.port, to=["bureau@asso.test", "nobody@asso.test"])
    with pytest.raises(SendError, match="refused: nobody@asso.test") as info:
        send_report(build_message(report(), TEXT, HTML, s), s, None, timeout=10)
    assert handler.envelopes[0].rcpt_tos == ["bureau@asso.test"]
    assert str(info.value) == (
        f"SMTP 127.0.0.1:{controller.port}: delivered to the other recipients, but refused: "
        "nobody@asso.test (550 5.1.1 no such user)"
    )
    assert "refusé pour : nobody@asso.test" in info.value.localized("fr")


# --------------------------------------------------------------------------- failures


def test_connection_refused_names_host_and_port() -> None:
    port = free_port()  # bound then closed: nobody listens there
    s = settings(port, username=USER)
    with pytest.raises(SendError) as info:
        send_report(build_message(report(), TEXT, HTML, s), s, PASSWORD, timeout=5)
    text = str(info.value)
    assert f"127.0.0.1:{port}" in text and "connection refused" in text
    assert PASSWORD not in text and "\n" not in text
    french = info.value.localized("fr")
    assert "connexion refusée" in french and PASSWORD not in french


def test_timeout_when_the_server_never_speaks() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel accepts the connection; nobody sends a greeting
        port = listener.getsockname()[1]
        s = settings(port)
        with pytest.raises(SendError, match=rf"127\.0\.0\.1:{port}: no answer within 1 s") as info:
            send_report(build_message(report(), TEXT, HTML, s), s, None, timeout=1)
    assert info.value.localized("fr") == f"SMTP 127.0.0.1:{port} : pas de réponse en 1 s"


@pytest.mark.parametrize("host", ["192.0.2.1", "2001:db8::1"])
def test_clear_text_refused_to_a_non_loopback_address(host, monkeypatch) -> None:
    def no_connection(*args, **kwargs):
        raise AssertionError("connected before the loopback check")

    monkeypatch.setattr(send_module.smtplib, "SMTP", no_connection)
    monkeypatch.setattr(send_module.socket, "getaddrinfo", no_connection)
    s = settings(25, smtp_host=host, username=USER)
    with pytest.raises(SendError, match="only allowed to a loopback address") as info:
        send_report(build_message(report(), TEXT, HTML, s), s, PASSWORD)
    assert host in str(info.value) and PASSWORD not in str(info.value)


def test_clear_text_refused_to_a_name_resolving_elsewhere(monkeypatch) -> None:
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", port)),
        ]

    def no_connection(*args, **kwargs):
        raise AssertionError("connected before the loopback check")

    monkeypatch.setattr(send_module.socket, "getaddrinfo", resolve)
    monkeypatch.setattr(send_module.smtplib, "SMTP", no_connection)
    s = settings(25, smtp_host="mail.asso.test")
    with pytest.raises(SendError, match="only allowed to a loopback address"):
        send_report(build_message(report(), TEXT, HTML, s), s, None)


def test_clear_text_allowed_to_localhost(server) -> None:
    controller, handler = server
    s = settings(controller.port, smtp_host="localhost")
    try:
        send_report(build_message(report(), TEXT, HTML, s), s, None, timeout=10)
    except SendError as exc:  # localhost may resolve to ::1 first, where nobody listens
        assert "connection refused" in str(exc)
        pytest.skip("localhost resolves to ::1 first here")
    assert len(handler.envelopes) == 1


# --------------------------------------------------------------------------- TLS


def test_starttls_with_login(certificates, monkeypatch) -> None:
    ca_file = certificates[0]
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # trusted by create_default_context()
    handler = Collector()
    controller = start(
        handler,
        tls_context=server_context(certificates),
        require_starttls=True,
        authenticator=authenticator,
    )
    try:
        s = settings(controller.port, security="starttls", username=USER)
        send_report(build_message(report(), TEXT, HTML, s), s, PASSWORD, timeout=10)
    finally:
        controller.stop()
    assert len(handler.envelopes) == 1


def test_implicit_tls(certificates, monkeypatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates[0]))
    handler = Collector()
    controller = start(handler, ssl_context=server_context(certificates))
    try:
        s = settings(controller.port, security="tls")
        send_report(build_message(report(), TEXT, HTML, s), s, None, timeout=10)
    finally:
        controller.stop()
    assert len(handler.envelopes) == 1


def test_untrusted_certificate_is_refused(certificates, monkeypatch, tmp_path) -> None:
    empty_store = tmp_path / "none.pem"
    empty_store.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty_store))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    handler = Collector()
    controller = start(
        handler, tls_context=server_context(certificates), authenticator=authenticator
    )
    try:
        s = settings(controller.port, security="starttls", username=USER)
        with pytest.raises(SendError, match="certificate not trusted") as info:
            send_report(build_message(report(), TEXT, HTML, s), s, PASSWORD, timeout=10)
    finally:
        controller.stop()
    assert PASSWORD not in str(info.value)
    assert handler.envelopes == []


def test_starttls_not_offered(server) -> None:
    controller, _ = server
    s = settings(controller.port, security="starttls")
    with pytest.raises(SendError, match=r"127\.0\.0\.1:\d+: .*STARTTLS") as info:
        send_report(build_message(report(), TEXT, HTML, s), s, None, timeout=10)
    assert str(info.value) == (
        f"SMTP 127.0.0.1:{controller.port}: STARTTLS extension not supported by server"
    )
    assert info.value.localized("fr").endswith(" : le serveur ne propose pas STARTTLS")


def test_implicit_tls_to_a_clear_text_server(server) -> None:
    controller, _ = server
    s = settings(controller.port, security="tls")
    with pytest.raises(SendError, match=rf"127\.0\.0\.1:{controller.port}: "):
        send_report(build_message(report(), TEXT, HTML, s), s, None, timeout=5)


@pytest.mark.parametrize("password", [PASSWORD, ASCII_PASSWORD])
def test_login_to_a_server_without_auth(server, password) -> None:
    controller, handler = server
    s = settings(controller.port, username=USER)
    with pytest.raises(SendError) as info:
        send_report(build_message(report(), TEXT, HTML, s), s, password, timeout=10)
    assert str(info.value) == (
        f"SMTP 127.0.0.1:{controller.port}: SMTP AUTH extension not supported by server"
    )
    assert info.value.localized("fr") == (
        f"SMTP 127.0.0.1:{controller.port} : le serveur ne propose pas l'identification SMTP (AUTH)"
    )
    assert handler.envelopes == []

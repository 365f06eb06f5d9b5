"""auditor.report.send: every failure to send a report is one line of the catalogue, in both
languages, and never shows the password. No network: the checks run before any connection.
"""

from __future__ import annotations

import base64
import smtplib
import socket

import pytest

from auditor.config import EmailSettings
from auditor.errors import ConfigError, SourceError
from auditor.report import send as send_module
from auditor.report.send import SendError, build_message, send_report
from tests.helpers import assert_catalog_line, raised_error

PASSWORD = "s3cret-été"
LOOPBACK_ONLY = (
    'security = "none" is only allowed to a loopback address (127.0.0.1, ::1, localhost): '
    'use security = "tls" (port 465) or "starttls" (port 587)'
)


def email(**extra) -> EmailSettings:
    values = dict(
        to=["bureau@asso.test"],
        sender="auditor@asso.test",
        smtp_host="127.0.0.1",
        smtp_port=2525,
        security="none",
    )
    values.update(extra)
    return EmailSettings(**values)


MESSAGE = build_message({"language": "en", "score": 80}, "text", None, email())


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to connect")

    monkeypatch.setattr(send_module.smtplib, "SMTP", refuse)
    monkeypatch.setattr(send_module.smtplib, "SMTP_SSL", refuse)
    monkeypatch.setattr(send_module.socket, "getaddrinfo", refuse)


SEND_CASES = [
    (
        lambda: send_report(MESSAGE, email(security="ssl"), None),
        ConfigError,
        "report.email: unknown security 'ssl'",
    ),
    (
        lambda: send_report(MESSAGE, email(smtp_host=None), None),
        ConfigError,
        'report.email: smtp_host = "…" is needed to send the report',
    ),
    (
        lambda: send_report(MESSAGE, email(to=[]), None),
        ConfigError,
        'report.email: to = ["…"] is needed to send the report',
    ),
    (
        lambda: send_report(MESSAGE, email(username="u"), None),
        ConfigError,
        "report.email: username is set but no password was given",
    ),
    (
        lambda: build_message({"language": "fr"}, "text", None, email(sender=None)),
        ConfigError,
        'report.email: from = "…" is needed to send the report',
    ),
    (
        lambda: send_report(MESSAGE, email(smtp_host="192.0.2.1", smtp_port=None), PASSWORD),
        SendError,
        "SMTP 192.0.2.1:25: refusing to send without encryption to 192.0.2.1; " + LOOPBACK_ONLY,
    ),
    (
        lambda: send_report(MESSAGE, email(smtp_host="2001:db8::1"), PASSWORD),
        SendError,
        "SMTP [2001:db8::1]:2525: refusing to send without encryption to 2001:db8::1; "
        + LOOPBACK_ONLY,
    ),
]


@pytest.mark.parametrize("case", range(len(SEND_CASES)))
def test_send_errors_are_catalog_lines(case, no_network) -> None:
    call, kind, english = SEND_CASES[case]
    error = raised_error(call, kind)
    assert str(error) == english
    french = assert_catalog_line(error.problem, "send.error.")
    assert PASSWORD not in str(error) and PASSWORD not in french


def test_send_error_is_a_source_error_with_exit_code_3(no_network) -> None:
    call = lambda: send_report(MESSAGE, email(smtp_host="192.0.2.1"), None)  # noqa: E731
    error = raised_error(call, SendError)
    assert isinstance(error, SourceError) and error.exit_code == 3
    french = error.localized("fr")
    assert french.startswith("SMTP 192.0.2.1:2525 : envoi sans chiffrement vers 192.0.2.1 refusé")


def test_unknown_host_in_clear_text(monkeypatch) -> None:
    def unknown(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(send_module.socket, "getaddrinfo", unknown)
    error = raised_error(lambda: send_report(MESSAGE, email(smtp_host="mail.nowhere.test"), None))
    assert str(error) == "SMTP mail.nowhere.test:2525: unknown host mail.nowhere.test"
    assert error.localized("fr") == (
        "SMTP mail.nowhere.test:2525 : serveur inconnu : mail.nowhere.test"
    )


def _failure(exc: BaseException, password: str | None = PASSWORD) -> SendError:
    """The SendError send_report raises when `exc` interrupts the SMTP exchange."""
    name, values = send_module._cause(exc, 30, "mail.asso.test")
    return send_module._failure("mail.asso.test:587", name, values, password)


ENCODED = base64.b64encode(PASSWORD.encode()).decode()

CAUSES = [
    (
        smtplib.SMTPAuthenticationError(535, f"5.7.8 bad credentials {PASSWORD}".encode()),
        "login refused: check the user name and password (535 5.7.8 bad credentials ***)",
        "identifiant refusé : vérifiez le nom d'utilisateur et le mot de passe "
        "(535 5.7.8 bad credentials ***)",
    ),
    (
        smtplib.SMTPRecipientsRefused({"nobody@asso.test": (550, b"5.1.1 no such user")}),
        "every recipient was refused: nobody@asso.test (550 5.1.1 no such user)",
        "tous les destinataires ont été refusés : nobody@asso.test (550 5.1.1 no such user)",
    ),
    (
        smtplib.SMTPSenderRefused(553, b"not yours", "auditor@asso.test"),
        "sender auditor@asso.test refused (553 not yours)",
        "expéditeur auditor@asso.test refusé (553 not yours)",
    ),
    (
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed: timed out"),
        "no answer within 30 s",
        "pas de réponse en 30 s",
    ),
    (
        smtplib.SMTPServerDisconnected(f"AUTH PLAIN {ENCODED} rejected"),
        "the server closed the connection (AUTH PLAIN *** rejected)",
        "le serveur a coupé la connexion (AUTH PLAIN *** rejected)",
    ),
    (
        send_module._Unsupported("no_starttls"),
        "STARTTLS extension not supported by server",
        "le serveur ne propose pas STARTTLS",
    ),
    (
        send_module._Unsupported("no_auth_plain"),
        "the server does not offer AUTH PLAIN, needed for a non-ASCII user name or password",
        "le serveur ne propose pas AUTH PLAIN, nécessaire pour un nom d'utilisateur ou un mot "
        "de passe avec des accents ou d'autres caractères non ASCII",
    ),
    (
        ConnectionRefusedError(111, "Connection refused"),
        "connection refused (is the server running, are host and port right?)",
        "connexion refusée (le serveur est-il en marche, le nom du serveur et le port "
        "sont-ils justes ?)",
    ),
    (
        OSError(101, "Network is unreachable"),
        "Network is unreachable",
        "erreur réseau (Network is unreachable)",
    ),
]


@pytest.mark.parametrize("case", range(len(CAUSES)))
def test_smtp_causes_keep_the_server_reply_untranslated(case) -> None:
    exc, english, french = CAUSES[case]
    error = _failure(exc)
    assert str(error) == f"SMTP mail.asso.test:587: {english}"
    assert error.localized("fr") == f"SMTP mail.asso.test:587 : {french}"
    assert_catalog_line(error.problem, "send.error.")
    for line in (str(error), error.localized("fr"), repr(error.values)):
        assert PASSWORD not in line and ENCODED not in line

"""Send a rendered report by email: build the MIME message, then deliver it over SMTP.

`build_message` makes a multipart/alternative message (plain text, then HTML) whose subject
names the association, the month of the run and the score, in the report's language.
`send_report` delivers it with implicit TLS, STARTTLS or, on a loopback address only, in
clear. Every failure is one `SendError` line naming host:port and the cause; the password
never appears in it.
"""

from __future__ import annotations

import base64
import ipaddress
import smtplib
import socket
import ssl
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from auditor.config import EmailSettings, resolve_secret
from auditor.errors import ConfigError, SourceError
from auditor.i18n import t

DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


class SendError(SourceError):
    """The report could not be delivered (connection, TLS, login or recipients refused)."""


# --------------------------------------------------------------------------- the message


def _run_month(report: dict) -> datetime:
    """When the run started (local time), else when the report was generated, else now."""
    for value in (report.get("run", {}).get("started_at"), report.get("generated_at")):
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                continue
            return when.astimezone() if when.tzinfo else when
    return datetime.now().astimezone()


def month_label(lang: str, when: datetime) -> str:
    """'November 2026' / 'novembre 2026'."""
    month = t(lang, f"send.month.{_MONTHS[when.month - 1]}")
    return t(lang, "send.month_year", month=month, year=when.year)


def subject_for(report: dict, association: str | None = None) -> str:
    lang = report.get("language") or "en"
    month = month_label(lang, _run_month(report))
    name = association or "auditor"
    score = report.get("score")
    if score is None:
        return t(lang, "send.subject_no_score", association=name, month=month)
    return t(lang, "send.subject", association=name, month=month, score=score)


def _domain_of(address: str) -> str:
    addr = getaddresses([address])[0][1]
    domain = addr.rpartition("@")[2] if "@" in addr else ""
    return domain or "auditor.invalid"


def build_message(
    report: dict,
    text_body: str,
    html_body: str | None,
    settings: EmailSettings,
    association: str | None = None,
) -> EmailMessage:
    """The report as an email: text/plain, plus text/html as an alternative when given."""
    if not settings.sender:
        raise ConfigError('report.email: from = "…" is needed to send the report')
    if not settings.to:
        raise ConfigError('report.email: to = ["…"] is needed to send the report')
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject_for(report, association)
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.to)
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid("auditor", domain=_domain_of(settings.sender))
    msg["Content-Language"] = report.get("language") or "en"
    msg.set_content(text_body, charset="utf-8")
    if html_body is not None:
        msg.add_alternative(html_body, subtype="html", charset="utf-8")
    return msg


# --------------------------------------------------------------------------- the sending


def smtp_password(settings: EmailSettings) -> str | None:
    """The SMTP password (env, command or keyring, as for IMAP); None when no login is set."""
    if not settings.username:
        return None
    return resolve_secret(
        "report.email",
        env=settings.password_env,
        command=settings.password_command,
        keyring_user=f"{settings.username}@{settings.smtp_host}" if settings.keyring else None,
    )


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _loopback_address(host: str, port: int, where: str) -> str:
    """The address to connect to in clear: refused unless every address of `host` is loopback.

    Nothing is sent before this check; an IP literal is not looked up on the network.
    """
    refusal = (
        f'refusing to send without encryption to {host}; security = "none" is only allowed '
        'to a loopback address (127.0.0.1, ::1, localhost): use security = "tls" (port 465) '
        'or "starttls" (port 587)'
    )
    literal = host.strip("[]")
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        ip = None
    if ip is not None:
        if not ip.is_loopback:
            raise SendError(f"SMTP {where}: {refusal}")
        return literal
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SendError(f"SMTP {where}: unknown host {host}") from None
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise SendError(f"SMTP {where}: {refusal}")
    return addresses[0]


def _redact(text: str, password: str | None) -> str:
    """`text` on one line, without the password nor its base64 forms."""
    text = " ".join(str(text).split())
    if password:
        secrets = {password}
        raw = password.encode("utf-8", "replace")
        secrets.add(base64.b64encode(raw).decode("ascii"))
        for s in list(secrets):
            if s:
                text = text.replace(s, "***")
    return text


def _reply(code: int, resp: bytes | str) -> str:
    if isinstance(resp, bytes):
        resp = resp.decode("utf-8", "replace")
    return f"{code} {resp}".strip()


def _cause(exc: BaseException, timeout: float, host: str) -> str:
    """The reason of a failure, in a few words (the caller redacts and prefixes it)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            "login refused: check the user name and password ("
            + _reply(exc.smtp_code, exc.smtp_error)
            + ")"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{rcpt} ({_reply(code, resp)})" for rcpt, (code, resp) in exc.recipients.items()
        )
        return f"every recipient was refused: {refused}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPDataError):
        return f"message refused ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return str(exc).rstrip(".") or "not supported by the server"
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"the server refused the connection ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if "timed out" in str(exc):
            return f"no answer within {timeout:g} s"
        return f"the server closed the connection ({exc or 'no reason given'})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"unexpected answer ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message or exc.reason})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc}); check the port and security setting"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, are host and port right?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host {host}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login; AUTH PLAIN in UTF-8 (RFC 4616) for a non-ASCII name or password.

    smtplib encodes credentials as ASCII, so "mot-de-passe-été" would fail before reaching
    the server.
    """
    if (username + password).isascii():
        smtp.login(username, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    if "PLAIN" not in smtp.esmtp_features["auth"].upper().split():
        raise smtplib.SMTPNotSupportedError(
            "the server does not offer AUTH PLAIN, needed for a non-ASCII user name or password"
        )
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, resp = smtp.docmd("AUTH", "PLAIN " + token)
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, resp)


def send_report(
    message: EmailMessage,
    settings: EmailSettings,
    password: str | None,
    timeout: float = 30,
) -> None:
    """Deliver `message` to settings.to through settings.smtp_host. Raises SendError.

    security "tls": SMTP over TLS (port 465 by default); "starttls": SMTP then STARTTLS
    (port 587); "none": clear text, refused unless the host is a loopback address (port 25).
    Certificates are checked against the system's trusted authorities. Logs in when
    settings.username is set.
    """
    if not settings.smtp_host:
        raise ConfigError('report.email: smtp_host = "…" is needed to send the report')
    if not settings.to:
        raise ConfigError('report.email: to = ["…"] is needed to send the report')
    if settings.security not in DEFAULT_PORTS:
        raise ConfigError(f"report.email: unknown security {settings.security!r}")
    if settings.username and password is None:
        raise ConfigError("report.email: username is set but no password was given")
    host = settings.smtp_host
    port = settings.smtp_port or DEFAULT_PORTS[settings.security]
    where = _where(host, port)
    connect_to = host
    if settings.security == "none":
        connect_to = _loopback_address(host, port, where)  # before any connection

    sender = settings.sender or str(message.get("From", ""))
    smtp: smtplib.SMTP | None = None
    try:
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(
                connect_to, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(connect_to, port, timeout=timeout)
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        smtp.set_debuglevel(0)  # debug output would print the AUTH exchange
        if settings.username:
            _login(smtp, settings.username, password or "")
        refused = smtp.send_message(message, from_addr=sender, to_addrs=list(settings.to))
    except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as exc:
        if smtp is not None:
            smtp.close()  # no QUIT: the server may be the problem
        cause = _redact(_cause(exc, timeout, host), password)
        raise SendError(f"SMTP {where}: {cause}") from None
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()  # the message was accepted: a failed goodbye does not matter
    if refused:
        listed = ", ".join(
            f"{rcpt} ({_reply(code, resp)})" for rcpt, (code, resp) in refused.items()
        )
        raise SendError(
            f"SMTP {where}: delivered to the other recipients, but refused: "
            + _redact(listed, password)
        )


__all__ = [
    "SendError",
    "build_message",
    "month_label",
    "send_report",
    "smtp_password",
    "subject_for",
]

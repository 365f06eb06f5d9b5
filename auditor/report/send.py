"""Send a rendered report by email: build the MIME message, then deliver it over SMTP.

`build_message` makes a multipart/alternative message (plain text, then HTML) whose subject
names the association, the month of the run and the score, in the report's language.
`send_report` delivers it with implicit TLS, STARTTLS or, on a loopback address only, in
clear. Every failure is one `SendError` line naming host:port and the cause, in French and
English (catalog keys `send.error.*`); the server's own replies and the system's error texts
stay as they are, inside the translated sentence. The password never appears in it.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import smtplib
import socket
import ssl
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from auditor.config import EmailSettings, keyring_unavailable, resolve_secret
from auditor.errors import ConfigError, SourceError
from auditor.i18n import t

DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}
_SETTINGS = ("report.email",)  # what configuration errors are about
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


class _Unsupported(smtplib.SMTPNotSupportedError):
    """The server lacks what sending needs; `what` names it (a `send.error.<what>` key)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


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
        raise ConfigError("send.error.no_sender", at=_SETTINGS)
    if not settings.to:
        raise ConfigError("send.error.no_recipients", at=_SETTINGS)
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


def check_password_source(settings: EmailSettings) -> None:
    """Before a scan with --send: `keyring = true` on a machine without a keyring is said at
    once (ConfigError, exit 2), not after the scan (the secret itself is not read here)."""
    if (
        settings.username
        and settings.keyring
        and not (settings.password_env or settings.password_command)
    ):
        problem = keyring_unavailable()
        if problem:
            raise ConfigError(problem, what="report.email")


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _loopback_address(host: str, port: int, where: str) -> str:
    """The address to connect to in clear: refused unless every address of `host` is loopback.

    Nothing is sent before this check; an IP literal is not looked up on the network.
    """
    at = (f"SMTP {where}",)
    literal = host.strip("[]")
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        ip = None
    if ip is not None:
        if not ip.is_loopback:
            raise SendError("send.error.clear_refused", at=at, host=host)
        return literal
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SendError("send.error.unknown_host", at=at, host=host) from None
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise SendError("send.error.clear_refused", at=at, host=host)
    return addresses[0]


_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
# What a server that wraps a long echo puts between two characters of it: a line break, and on
# the next line the reply code and the enhanced status code (RFC 5321 4.2.1, RFC 3463), which
# smtplib keeps or strips.
_GAP = r"(?:\s+(?:\d{3}[ -])?(?:\d\.\d{1,3}\.\d{1,3}\s+)?)?"
_HIDDEN = "\x00"  # marks a redacted span until it is widened to its whole base64 word


def _base64_cores(raw: bytes) -> set[str]:
    """The characters of any base64 text that encode `raw`, whatever surrounds it.

    Base64 writes 3 bytes as 4 characters, so where `raw` starts in the encoded data (its
    offset modulo 3) decides its characters: three forms. The characters that also carry bits
    of the neighbouring bytes are left out. AUTH PLAIN sends base64("authzid\0user\0password")
    (RFC 4616), AUTH LOGIN base64("password"): both contain one of these forms.
    """
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw).decode("ascii")
        start = -(-offset * 8 // 6)  # the first character made of `raw`'s bits only
        end = (offset + len(raw)) * 8 // 6
        cores.add(encoded[start:end])
    return cores


def secret_forms(password: str) -> list[str]:
    """Every way `password` can show in a server reply or an exception text, longest first:
    as typed, as escaped bytes or code points (`\\xc3\\xa9`, `\\u00e9`), and in base64, for
    the UTF-8 and Latin-1 bytes of a non-ASCII password."""
    forms = {password, ascii(password)[1:-1], password.encode("unicode_escape").decode("ascii")}
    for encoding in ("utf-8", "latin-1"):
        try:
            raw = password.encode(encoding)
        except UnicodeEncodeError:
            continue
        forms.add(repr(raw)[2:-1])  # as str(bytes) shows it: b'mot-de-passe-\xc3\xa9t\xc3\xa9'
        forms.update(_base64_cores(raw))
    # a form of 3 characters or fewer would hide ordinary words; the password itself always goes
    return sorted((f for f in forms if len(f) >= 4 or f == password), key=len, reverse=True)


def _redact(text: str, password: str | None) -> str:
    """`text` on one line, without the password in any of its forms (`secret_forms`).

    A form split over several reply lines is found too; the whole base64 word that holds a
    form is hidden (it also carries the user name).
    """
    text = " ".join(str(text).split()).replace(_HIDDEN, "")
    if not password:
        return text
    for form in secret_forms(password):
        pattern = _GAP.join(re.escape(char) for char in form)
        text = re.sub(pattern, _HIDDEN, text)
    return _widen(text)


def _widen(text: str) -> str:
    """Each hidden span, with the base64 characters glued to it, becomes `***`."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != _HIDDEN:
            out.append(text[i])
            i += 1
            continue
        while out and out[-1] in _BASE64_CHARS:
            out.pop()
        while i < len(text) and (text[i] == _HIDDEN or text[i] in _BASE64_CHARS):
            i += 1
        out.append("***")
    return "".join(out)


def _reply(code: int, resp: bytes | str) -> str:
    if isinstance(resp, bytes):
        resp = resp.decode("utf-8", "replace")
    return f"{code} {resp}".strip()


def _refused(recipients: dict) -> str:
    """'a@x (550 no such user), b@y (...)': the server's replies, as it sent them."""
    return ", ".join(f"{rcpt} ({_reply(code, resp)})" for rcpt, (code, resp) in recipients.items())


def _cause(exc: BaseException, timeout: float, host: str) -> tuple[str, dict[str, str]]:
    """The reason of a failure: a `send.error.<name>` and its values (the caller redacts them).

    The values are what the server, the TLS library or the system said, never translated.
    """
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "login_refused", {"reply": _reply(exc.smtp_code, exc.smtp_error)}
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipients_refused", {"refused": _refused(exc.recipients)}
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "sender_refused", {
            "sender": str(exc.sender),
            "reply": _reply(exc.smtp_code, exc.smtp_error),
        }
    if isinstance(exc, smtplib.SMTPDataError):
        return "message_refused", {"reply": _reply(exc.smtp_code, exc.smtp_error)}
    if isinstance(exc, _Unsupported):
        return exc.what, {}
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        error = str(exc).rstrip(".")
        return ("not_supported", {"error": error}) if error else ("not_supported_bare", {})
    if isinstance(exc, smtplib.SMTPConnectError):
        return "connection_refused_by_server", {"reply": _reply(exc.smtp_code, exc.smtp_error)}
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if "timed out" in str(exc):
            return "timeout", {"seconds": f"{timeout:g}"}
        if str(exc):
            return "closed", {"reason": str(exc)}
        return "closed_no_reason", {}
    if isinstance(exc, smtplib.SMTPResponseException):
        return "unexpected_reply", {"reply": _reply(exc.smtp_code, exc.smtp_error)}
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate_untrusted", {"error": str(exc.verify_message or exc.reason)}
    if isinstance(exc, ssl.SSLError):
        return "tls_failed", {"error": str(exc.reason or exc)}
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout", {"seconds": f"{timeout:g}"}
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused", {}
    if isinstance(exc, socket.gaierror):
        return "unknown_host", {"host": host}
    if isinstance(exc, OSError):
        return "system", {"error": exc.strerror or str(exc) or type(exc).__name__}
    return "unexpected", {"error": f"{type(exc).__name__}: {exc}"}


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login; AUTH PLAIN in UTF-8 (RFC 4616) for a non-ASCII name or password.

    smtplib encodes credentials as ASCII, so "mot-de-passe-été" would fail before reaching
    the server.
    """
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("auth"):
        raise _Unsupported("no_auth")
    if (username + password).isascii():
        smtp.login(username, password)
        return
    if "PLAIN" not in smtp.esmtp_features["auth"].upper().split():
        raise _Unsupported("no_auth_plain")
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
        raise ConfigError("send.error.no_server", at=_SETTINGS)
    if not settings.to:
        raise ConfigError("send.error.no_recipients", at=_SETTINGS)
    if settings.security not in DEFAULT_PORTS:
        raise ConfigError(
            "send.error.unknown_security", at=_SETTINGS, security=repr(settings.security)
        )
    if settings.username and password is None:
        raise ConfigError("send.error.no_password", at=_SETTINGS)
    host = settings.smtp_host
    port = settings.smtp_port or DEFAULT_PORTS[settings.security]
    where = _where(host, port)
    connect_to = host
    if settings.security == "none":
        connect_to = _loopback_address(host, port, where)  # before any connection

    sender = settings.sender or str(message.get("From", ""))
    smtp: smtplib.SMTP | None = None
    failure: SendError | None = None
    try:
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(
                connect_to, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(connect_to, port, timeout=timeout)
            if settings.security == "starttls":
                smtp.ehlo_or_helo_if_needed()
                if not smtp.has_extn("starttls"):
                    raise _Unsupported("no_starttls")
                smtp.starttls(context=ssl.create_default_context())
        smtp.set_debuglevel(0)  # debug output would print the AUTH exchange
        if settings.username:
            _login(smtp, settings.username, password or "")
        refused = smtp.send_message(message, from_addr=sender, to_addrs=list(settings.to))
    except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as exc:
        if smtp is not None:
            smtp.close()  # no QUIT: the server may be the problem
        name, values = _cause(exc, timeout, host)
        failure = _failure(where, name, values, password)
    if failure is not None:
        # raised outside the `except`: the SMTP exception, whose text may hold the password
        # as the server echoed it, is not kept as the new one's __context__
        raise failure
    assert smtp is not None
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()  # the message was accepted: a failed goodbye does not matter
    if refused:
        raise _failure(where, "partly_refused", {"refused": _refused(refused)}, password)


def _failure(where: str, name: str, values: dict[str, str], password: str | None) -> SendError:
    """The SendError `send.error.<name>` about the server at `where`, without the password."""
    return SendError(
        f"send.error.{name}",
        at=(f"SMTP {where}",),
        **{key: _redact(value, password) for key, value in values.items()},
    )


__all__ = [
    "SendError",
    "build_message",
    "check_password_source",
    "month_label",
    "send_report",
    "smtp_password",
    "subject_for",
]

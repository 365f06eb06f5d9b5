"""Unsubscribing from newsletters nobody reads (MAIL003).

RFC 8058 one-click: one HTTPS POST to the List-Unsubscribe URI with the body
`List-Unsubscribe=One-Click` (application/x-www-form-urlencoded), no cookies, no
credentials, a timeout; a redirect to another host is not followed (section 3.2 lets a
sender's server answer, not send us somewhere else). Else a `mailto:` URI (RFC 2369, RFC
6068) is sent through the SMTP server of the config's [report.email]. Any other link is
listed for a person to judge and never opened: opening it may confirm the address to a
spammer, or need a click on a page.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import replace
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

from auditor.collect.mail.imap import is_loopback
from auditor.config import EmailSettings
from auditor.errors import AuditorError, Problem

TIMEOUT = 15.0  # seconds for the whole POST
MAX_REDIRECTS = 3
BODY = b"List-Unsubscribe=One-Click"


class UnsubscribeFailed(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _fail(key: str, **values: object) -> UnsubscribeFailed:
    return UnsubscribeFailed(Problem(key, **values))


def one_click(url: str, timeout: float = TIMEOUT, allow_loopback_http: bool = False) -> int:
    """POST the one-click body to `url`; the final HTTP status (2xx). Raises
    UnsubscribeFailed. Plain http is refused, except to a loopback host when a test asks."""
    first_host = urlsplit(url).hostname
    for _hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        host = parts.hostname or ""
        plain = parts.scheme == "http" and allow_loopback_http and is_loopback(host)
        if parts.scheme != "https" and not plain:
            raise _fail("clean.unsubscribe.not_https", url=url)
        if host != first_host:
            raise _fail("clean.unsubscribe.other_host", url=url, host=host)
        cls = http.client.HTTPConnection if plain else http.client.HTTPSConnection
        kwargs = {} if plain else {"context": ssl.create_default_context()}
        conn = cls(host, parts.port, timeout=timeout, **kwargs)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(
                "POST",
                path,
                body=BODY,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": "auditor (RFC 8058 one-click unsubscribe)",
                },
            )
            response = conn.getresponse()
            status, location = response.status, response.getheader("Location")
            response.read(65536)
        except (OSError, http.client.HTTPException) as exc:
            raise _fail("clean.unsubscribe.unreachable", url=url, error=str(exc)[:200]) from None
        finally:
            conn.close()
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        if 200 <= status < 300:
            return status
        raise _fail("clean.unsubscribe.refused", url=url, status=status)
    raise _fail("clean.unsubscribe.too_many_redirects", url=url)


def by_mail(mailto: str, settings: EmailSettings, password: str | None) -> None:
    """Send the message a mailto: URI asks for (RFC 6068: to, subject, body)."""
    from auditor.report.send import send_report

    parts = urlsplit(mailto)
    address = unquote(parts.path)
    query = parse_qs(parts.query)
    if not address or "@" not in address:
        raise _fail("clean.unsubscribe.bad_mailto", target=mailto)
    if not settings.smtp_host or not settings.sender:
        raise _fail("clean.unsubscribe.no_smtp")
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = address
    msg["Subject"] = (query.get("subject") or ["unsubscribe"])[0]
    msg.set_content((query.get("body") or ["unsubscribe"])[0])
    try:
        send_report(msg, replace(settings, to=[address]), password)
    except AuditorError as exc:
        raise UnsubscribeFailed(Problem("clean.unsubscribe.mail_failed", error=str(exc))) from None

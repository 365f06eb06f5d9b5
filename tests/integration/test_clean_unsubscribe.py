"""Unsubscribing (MAIL003): RFC 8058 one-click against a loopback HTTP server, mailto:
against a loopback SMTP server (aiosmtpd), and the links that are never opened.

Plain http is allowed here only because the test asks for it on a loopback address
(`allow_loopback_http`); the command always requires https.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from auditor.clean.plan import unsubscribe_method
from auditor.clean.unsubscribe import UnsubscribeFailed, by_mail, one_click
from auditor.config import EmailSettings
from tests.integration.test_send_smtp import Collector, start


class Page:
    """A loopback HTTP server that records each request and answers as told."""

    def __init__(self, host: str = "127.0.0.1", answer=(200, {})) -> None:
        self.requests: list[tuple[str, str, bytes, str | None]] = []
        self.answer = answer
        self.delay = 0.0
        page = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                page.requests.append(
                    (self.command, self.path, body, self.headers.get("Content-Type"))
                )
                time.sleep(page.delay)
                status, headers = page.answer(self.path) if callable(page.answer) else page.answer
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _any

            def log_message(self, *args) -> None:  # quiet test output
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.host = host
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/u") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def page() -> Iterator[Page]:
    p = Page()
    yield p
    p.close()


def test_one_click_is_one_post_with_the_rfc_8058_body(page):
    assert one_click(page.url("/u?id=42"), allow_loopback_http=True) == 200
    assert page.requests == [
        ("POST", "/u?id=42", b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded")
    ]


def test_a_redirect_to_another_host_is_not_followed(page):
    elsewhere = Page("127.0.0.2")
    try:
        page.answer = (302, {"Location": elsewhere.url("/track")})
        with pytest.raises(UnsubscribeFailed) as caught:
            one_click(page.url(), allow_loopback_http=True)
        assert caught.value.problem.key == "clean.unsubscribe.other_host"
        assert elsewhere.requests == []  # never contacted
        assert len(page.requests) == 1
    finally:
        elsewhere.close()


def test_a_redirect_on_the_same_host_is_followed_with_the_same_post(page):
    page.answer = lambda path: (307, {"Location": "/done"}) if path == "/u" else (200, {})
    assert one_click(page.url(), allow_loopback_http=True) == 200
    assert [(r[0], r[1], r[2]) for r in page.requests] == [
        ("POST", "/u", b"List-Unsubscribe=One-Click"),
        ("POST", "/done", b"List-Unsubscribe=One-Click"),
    ]


def test_a_page_that_never_answers_is_given_up_after_the_timeout(page):
    page.delay = 3
    started = time.monotonic()
    with pytest.raises(UnsubscribeFailed) as caught:
        one_click(page.url(), timeout=0.5, allow_loopback_http=True)
    assert time.monotonic() - started < 2.5
    assert caught.value.problem.key == "clean.unsubscribe.unreachable"


def test_plain_http_is_refused_without_any_connection(page):
    with pytest.raises(UnsubscribeFailed) as caught:
        one_click(page.url())  # what the command does: https only
    assert caught.value.problem.key == "clean.unsubscribe.not_https"
    assert page.requests == []


def test_a_link_that_is_not_one_click_is_only_listed():
    header = "<https://news.example/unsub?u=1>"
    assert unsubscribe_method(header, one_click=False) == ("link", "https://news.example/unsub?u=1")
    both = "<https://news.example/u>, <mailto:leave@news.example?subject=unsubscribe>"
    assert unsubscribe_method(both, one_click=False)[0] == "mailto"
    assert unsubscribe_method(both, one_click=True) == ("one-click", "https://news.example/u")


def test_mailto_is_sent_through_the_configured_smtp_server():
    handler = Collector()
    controller = start(handler)
    try:
        settings = EmailSettings(
            to=["board@asso.test"],
            sender="asso@asso.test",
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            security="none",
        )
        by_mail("mailto:leave@news.example?subject=stop%20please&body=bye", settings, None)
        assert len(handler.envelopes) == 1
        envelope = handler.envelopes[0]
        assert envelope.rcpt_tos == ["leave@news.example"]  # not the report's recipients
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert msg["Subject"] == "stop please"
        assert msg.get_content().strip() == "bye"
    finally:
        controller.stop()


def test_mailto_without_an_smtp_server_is_one_line():
    with pytest.raises(UnsubscribeFailed) as caught:
        by_mail("mailto:leave@news.example", EmailSettings(), None)
    assert caught.value.problem.key == "clean.unsubscribe.no_smtp"

"""An SMTP server that repeats the AUTH exchange in its refusal never gets the password into
what auditor prints, keeps or raises: not as typed, not in base64, not split over lines.

Some servers answer a failed login with the command they received ("535 5.7.8 AUTH PLAIN
AGFsaWNl…: authentication failed"); cron then mails that line to the association.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

from auditor.config import EmailSettings  # noqa: E402
from auditor.report.send import SendError, build_message, send_report  # noqa: E402

USER = "alice@asso.test"
PASSWORD = "mot-de-passe-été"  # non-ASCII: sent as AUTH PLAIN in UTF-8 (RFC 4616)
ASCII_PASSWORD = "Tr3sor-ier-2026"  # smtplib may send this one with AUTH LOGIN


class EchoingSMTP(aiosmtpd_smtp.SMTP):
    """Refuses every login, quoting in its reply what the client sent.

    `shape` says how: "one_line" (the base64 as sent), "wrapped" (the line cut into three
    reply lines, each with its codes, as a server with a short line limit does), "decoded"
    (the decoded credentials, in UTF-8).
    """

    shape = "one_line"

    async def smtp_AUTH(self, arg: str) -> None:
        if await self.check_helo_needed("EHLO"):
            return
        said = f"AUTH {arg}"
        if arg.upper().startswith("LOGIN"):  # RFC 4954 exchange: 334 challenges
            if len(arg.split()) == 1:
                said += " " + await self._answer(b"Username:")
            said += " " + await self._answer(b"Password:")
        await self.push(self._refusal(said))

    async def _answer(self, challenge: bytes) -> str:
        await self.push(b"334 " + base64.b64encode(challenge))
        return (await self._reader.readline()).decode("ascii").strip()

    def _refusal(self, said: str) -> str:
        if self.shape == "decoded":
            token = said.split()[-1]
            decoded = base64.b64decode(token).replace(b"\0", b" / ").decode("utf-8")
            return f"535 5.7.8 no account matches {decoded}"
        if self.shape == "wrapped":
            third = len(said) // 3
            pieces = (said[:third], said[third : 2 * third], said[2 * third :])
            return "\r\n".join(
                f"535{'-' if i < 2 else ' '}5.7.8 {piece}" for i, piece in enumerate(pieces)
            )
        return f"535 5.7.8 {said}: authentication failed"


class EchoingController(aiosmtpd_controller.Controller):
    def __init__(self, shape: str, **kwargs) -> None:
        self.shape = shape
        super().__init__(object(), hostname="127.0.0.1", port=_free_port(), **kwargs)

    def factory(self) -> EchoingSMTP:
        server = EchoingSMTP(self.handler, **self.SMTP_kwargs)
        server.shape = self.shape
        return server


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def echoing() -> Iterator[callable]:
    started = []

    def start(shape: str, **kwargs) -> EchoingController:
        controller = EchoingController(shape, auth_require_tls=False, **kwargs)
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


def forms(password: str) -> list[str]:
    """What must never show: the password as typed, as escaped bytes, and every base64 of
    it or of the AUTH PLAIN/LOGIN data, plus the part of any base64 text that carries it."""
    shown = [password]
    for encoding in ("utf-8", "latin-1"):
        raw = password.encode(encoding)
        shown.append(str(raw)[2:-1])
        for data in (raw, b"\0" + USER.encode() + b"\0" + raw, USER.encode() * 2 + b"\0" + raw):
            shown.append(base64.b64encode(data).decode())
        for offset in range(3):  # base64 of `raw` wherever it starts in a longer text
            encoded = base64.b64encode(bytes(offset) + raw).decode()
            shown.append(encoded[-(-offset * 8 // 6) : (offset + len(raw)) * 8 // 6])
    return shown


def assert_nothing_leaks(text: str, password: str) -> None:
    # what a wrapped reply puts between the pieces: spaces, line breaks, codes
    joined = re.sub(r"\s+(?:\d{3}[ -])?(?:\d\.\d{1,3}\.\d{1,3}\s+)?", "", text)
    for form in forms(password):
        assert form not in text, f"{form!r} in {text!r}"
        assert form not in joined, f"{form!r} in {joined!r}"


def settings(port: int, **extra) -> EmailSettings:
    return EmailSettings(
        to=["bureau@asso.test"],
        sender="auditor@asso.test",
        smtp_host="127.0.0.1",
        smtp_port=port,
        security="none",
        username=USER,
        **extra,
    )


REPORT = {"language": "fr", "score": 80, "run": {"id": 1, "started_at": "2026-11-15T09:30:00"}}


def refusal(controller, password: str) -> SendError:
    s = settings(controller.port)
    msg = build_message(REPORT, "Rapport\n", None, s)
    with pytest.raises(SendError) as caught:
        send_report(msg, s, password, timeout=10)
    return caught.value


def everything_said(error: SendError) -> str:
    """Every text the exception carries: its line in both languages, its repr and values,
    and the traceback a --debug run or a logger would print (with any chained exception)."""
    return "\n".join(
        [
            str(error),
            error.localized("fr"),
            repr(error),
            repr(error.values),
            "".join(traceback.format_exception(error)),
        ]
    )


@pytest.mark.parametrize("shape", ["one_line", "wrapped", "decoded"])
def test_a_server_echoing_auth_plain_never_gets_the_password_into_the_error(echoing, shape):
    controller = echoing(shape)
    error = refusal(controller, PASSWORD)
    assert error.key == "send.error.login_refused"
    assert error.__context__ is None and error.__cause__ is None
    assert_nothing_leaks(everything_said(error), PASSWORD)
    assert "***" in str(error)  # the echo was there, and was hidden


@pytest.mark.parametrize("shape", ["one_line", "wrapped"])
def test_a_server_echoing_auth_login_never_gets_the_password_into_the_error(echoing, shape):
    controller = echoing(shape, auth_exclude_mechanism=["PLAIN", "CRAM-MD5"])
    error = refusal(controller, ASCII_PASSWORD)
    assert error.key == "send.error.login_refused"
    assert_nothing_leaks(everything_said(error), ASCII_PASSWORD)
    assert "AUTH LOGIN" in str(error)  # what the server said around the secret is kept


@pytest.mark.parametrize("shape", ["one_line", "wrapped", "decoded"])
def test_cron_output_and_kept_report_hold_no_password(echoing, tmp_path, shape):
    controller = echoing(shape)
    config = tmp_path / "auditor.toml"
    config.write_text(
        f"""
[report.email]
to = ["bureau@asso.test"]
from = "auditor@asso.test"
smtp_host = "127.0.0.1"
smtp_port = {controller.port}
security = "none"
username = "{USER}"
password_env = "SMTP_PASSWORD"
""",
        encoding="utf-8",
    )
    env = dict(
        os.environ,
        SMTP_PASSWORD=PASSWORD,
        AUDITOR_DB=str(tmp_path / "store.sqlite3"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "scan", "--demo", "--no-host", "--send", "-q"]
        + ["--lang", "fr", "--config", str(config), "--debug"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    assert "identifiant refusé" in proc.stderr and "***" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr  # --debug prints none for a refused login
    assert_nothing_leaks(proc.stdout + proc.stderr, PASSWORD)
    kept = list(Path(tmp_path, "data").rglob("report-*.html"))
    assert kept, proc.stderr
    for path in kept:
        assert_nothing_leaks(path.read_text(encoding="utf-8"), PASSWORD)

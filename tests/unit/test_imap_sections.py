"""When a BODYSTRUCTURE looks wrong, the scan asks for the part's own bytes, read-only.

Dovecot answers these for real in tests/integration/test_mime_three_paths.py; here the server
refuses, or sends what cannot be parsed, and the message is still kept, flagged with a reason.
"""

from __future__ import annotations

import imaplib

import pytest

import auditor.collect.mail.imap as imap
from auditor.collect.mail.fetch_parser import FetchParseError

# c07 of tests/data/mail/mime_classes as Dovecot describes it: the types it could not read
# come back as ("" "") with every parameter lost.
LOST_TYPES = (
    [
        (b"", b"", None, None, None, b"7bit", 17, None, None, None, None),
        (b"", b"", None, None, None, b"base64", 410, None, None, None, None),
    ],
    b"mixed",
    (b"boundary", b"b7"),
    None,
    None,
    None,
)
MIME_2 = b"Content-Type: BINARY;name=report.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"


def fields() -> dict:
    return {b"UID": 7, b"RFC822.SIZE": 871, b"FLAGS": (), b"BODYSTRUCTURE": LOST_TYPES}


def test_a_part_whose_type_the_server_lost_is_read_from_its_own_header(monkeypatch):
    asked: list[str] = []

    def fake_fetch(client, uids, items, modifiers=None):
        asked.append(items)
        return [
            (b"1 (UID 7 BODY[1.MIME] {2}", b"\r\n"),
            (b" BODY[2.MIME] {%d}" % len(MIME_2), MIME_2),
            b")",
        ]

    monkeypatch.setattr(imap, "fetch_raw", fake_fetch)
    f = fields()
    imap.fetch_sections(object(), 7, f)
    msg = imap.message_from_fetch(7, f)
    # BODY.PEEK never sets \Seen (RFC 3501 6.4.5); one request for both parts
    assert asked == ["UID BODY.PEEK[1.MIME] BODY.PEEK[2.MIME]"]
    assert [(a.part, a.filename, a.content_type, a.size_bytes) for a in msg.attachments] == [
        ("2", "report.bin", "text/plain", 300)
    ]
    assert msg.malformed and "invalid-content-type" in msg.malformed_reasons


@pytest.mark.parametrize(
    "failure",
    [
        imap.FetchRefused("NO [SERVERBUG] cannot", []),
        FetchParseError("odd"),
        imaplib.IMAP4.error("BAD command"),
    ],
)
def test_a_server_that_will_not_say_leaves_its_view_flagged(monkeypatch, failure):
    def fake_fetch(client, uids, items, modifiers=None):
        raise failure

    monkeypatch.setattr(imap, "fetch_raw", fake_fetch)
    f = fields()
    imap.fetch_sections(object(), 7, f)
    msg = imap.message_from_fetch(7, f)
    assert msg.malformed
    assert "server-structure-corrected" in msg.malformed_reasons
    assert all(a.content_type != "/" for a in msg.attachments)  # never the type "/"


def test_a_lost_connection_while_asking_is_retried_like_any_other(monkeypatch):
    def fake_fetch(client, uids, items, modifiers=None):
        raise imaplib.IMAP4.abort("socket error: EOF")

    monkeypatch.setattr(imap, "fetch_raw", fake_fetch)
    with pytest.raises(imaplib.IMAP4.abort):
        imap.fetch_sections(object(), 7, fields())


def test_a_sound_structure_asks_for_nothing(monkeypatch):
    def fake_fetch(client, uids, items, modifiers=None):
        raise AssertionError("nothing to ask")

    monkeypatch.setattr(imap, "fetch_raw", fake_fetch)
    f = fields()
    f[b"BODYSTRUCTURE"] = (
        b"application",
        b"pdf",
        (b"name", b"report.pdf"),
        None,
        None,
        b"base64",
        410,
        None,
        None,
        None,
        None,
    )
    imap.fetch_sections(object(), 7, f)
    msg = imap.message_from_fetch(7, f)
    assert [a.filename for a in msg.attachments] == ["report.pdf"] and not msg.malformed

"""The fast paths for headers and IMAP dates give what the stdlib gives."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime

import pytest

from auditor.collect.mail import mime
from auditor.collect.mail.imap import internal_date_iso
from tests.mailgen import cpython_corpus_messages, generate_messages

WORDS = [
    "=?utf-8?q?caf=C3=A9?= =?utf-8?q?_cr=C3=A8me?=",
    "Re: =?ISO-8859-1?Q?Andr=E9?= Pirard",
    "=?UTF-8?B?RmFjdHVyZV/DqXTDqS5wZGY=?=",
    "a =?utf-8?q?b?= c",
    "=?utf-8?b?w6k=?=x",  # touches text: decoded as clients do, not compared
    "=?US-ASCII*EN?Q?Keith_Moore?=",  # RFC 2231 language: not compared
    "=?iso-8859-15?q?=A4uro?= =?utf-8?q?_et_=C3=A9?=",
]


def _stdlib(text: str) -> str | None:
    try:
        return str(make_header(decode_header(mime._unfold(text))))
    except Exception:
        return None


def _header_values() -> list[str]:
    values = list(WORDS)
    for m in generate_messages(1500, seed=5):
        for line in m.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if b"=?" in line:
                values.append(line.split(b":", 1)[-1].decode("ascii", "replace").strip())
    for _name, raw in cpython_corpus_messages():
        for line in raw.split(b"\n\n", 1)[0].split(b"\n"):
            if b"=?" in line:
                values.append(line.split(b":", 1)[-1].decode("ascii", "surrogateescape").strip())
    return values


# An encoded word standing apart (RFC 2047 section 5 (1)): white space or the ends around it.
_APART = re.compile(r"(?:^|(?<=\s))=\?[^?*\s]+\?[bBqQ]\?[^?\s]*\?=(?=\s|$)")


def test_rfc2047_decoding_equals_the_stdlib_on_well_formed_words():
    # Where RFC 2047 is followed (words apart, no RFC 2231 language), the hand-written decoder
    # gives what the stdlib gives; elsewhere it does what clients do (test_mime, mime_classes).
    answered = 0
    for value in _header_values():
        text = mime._unfold(value)
        words = len(re.findall(r"=\?", text))
        if not words or len(_APART.findall(text)) != words:
            continue
        expected = _stdlib(value)
        if expected is None:
            continue
        answered += 1
        assert mime.decode_header_text(value) == expected, value
    assert answered > 100


@pytest.mark.parametrize(
    "value",
    [
        "Marie Dupont <Marie.Dupont@Example.org>",
        "jean@example.fr",
        '"Dupont, M." <m@x.org>',
        "=?utf-8?q?Ren=C3=A9?= <rene@x.fr>",
        "x@y.z (comment)",
        "undisclosed-recipients:;",
        "a@b.c, d@e.f",
        "<a@b.c>",
    ],
)
def test_fast_from_address_equals_the_stdlib(value):
    expected = next(
        (a.strip().strip("<>").strip().lower() for _n, a in getaddresses([value]) if a.strip()),
        None,
    )
    assert mime._from_addr(value, mime._State()) == expected


@pytest.mark.parametrize(
    "value",
    [b"17-Jul-1996 02:44:25 -0700", b" 1-Jan-2024 00:00:00 +0000", b"29-Feb-2024 23:59:59 +0530"],
)
def test_internal_date_parsing_matches_the_stdlib(value):
    text = value.decode().strip()
    day, month, rest = text.split("-", 2)
    year, clock, zone = rest.split(" ")
    expected = parsedate_to_datetime(f"{day} {month} {year} {clock} {zone}").astimezone(UTC)
    assert internal_date_iso(value) == expected.isoformat()


def test_bad_internal_date_is_none_not_an_error():
    assert internal_date_iso(b"yesterday") is None
    assert internal_date_iso(datetime(2020, 1, 1)) == "2020-01-01T00:00:00+00:00"

"""message_facts: one raw message in, metadata out; never a body, never an exception."""

from __future__ import annotations

import base64
import email
from pathlib import Path

import pytest

from auditor.collect.mail.mime import decode_header_text, message_facts, parse_date_header

EML = Path(__file__).resolve().parent.parent / "data" / "mail" / "eml"


def facts(name: str, **kwargs):
    return message_facts((EML / name).read_bytes(), key=7, seen=False, **kwargs)


# --- headers -------------------------------------------------------------------------------


def test_plain_headers_are_read_and_from_is_a_lower_case_bare_address():
    mf = facts("rfc2231_filename.eml")
    assert mf.key == 7
    assert mf.from_addr == "jean.moreau@example.org"
    assert mf.from_domain == "example.org"
    assert mf.message_id == "<facture-ete@example.org>"
    assert mf.subject == "Facture de l'été"
    assert mf.size_bytes == (EML / "rfc2231_filename.eml").stat().st_size
    assert mf.seen is False
    assert mf.malformed is False


def test_display_name_with_a_comma_does_not_confuse_the_address():
    assert facts("rfc2231_continuation.eml").from_addr == "marie.dupont@example.org"


def test_rfc2047_subject_and_display_name_are_decoded():
    mf = facts("rfc2047_filename.eml")
    assert mf.subject == "Planning des bénévoles"
    assert mf.from_addr == "helene.girard@example.fr"


def test_internal_date_defaults_to_the_date_header_in_utc():
    assert facts("rfc2231_filename.eml").internal_date == "2026-09-15T08:00:00+00:00"


def test_internal_date_given_by_the_store_wins_over_the_date_header():
    mf = facts("rfc2231_filename.eml", internal_date="2026-09-16T00:00:00+00:00")
    assert mf.internal_date == "2026-09-16T00:00:00+00:00"


def test_missing_or_garbled_date_gives_no_internal_date():
    raw = b"From: a@example.org\nDate: the day after tomorrow\nSubject: x\n\nbody\n"
    assert message_facts(raw, 1, True).internal_date is None
    assert message_facts(b"From: a@example.org\n\nbody\n", 1, True).internal_date is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 15 Sep 2026 10:00:00 +0200", "2026-09-15T08:00:00+00:00"),
        ("15 Sep 2026 10:00:00 -0000", "2026-09-15T10:00:00+00:00"),
        ("Tue, 15 Sep 2026 10:00:00 GMT", "2026-09-15T10:00:00+00:00"),
        ("Tue,\n 15 Sep 2026 10:00:00 +0000", "2026-09-15T10:00:00+00:00"),
        ("not a date", None),
        ("", None),
    ],
)
def test_date_headers_become_iso_utc(value, expected):
    assert parse_date_header(value) == expected


def test_one_click_unsubscribe_needs_the_post_header_and_an_https_uri():
    # RFC 8058 section 3.1
    one_click = facts("newsletter_one_click.eml")
    assert one_click.one_click_unsubscribe is True
    assert one_click.list_unsubscribe.startswith("<https://bureau-discount.example.com/u/7f3a>,")
    assert "\n" not in one_click.list_unsubscribe  # unfolded
    assert one_click.list_id == "Offres Bureau Discount <offres.bureau-discount.example.com>"
    assert one_click.precedence == "bulk"

    mailto_only = facts("newsletter_mailto_only.eml")
    assert mailto_only.one_click_unsubscribe is False
    assert mailto_only.list_unsubscribe.startswith("<mailto:")
    assert mailto_only.precedence == "list"


def test_one_click_is_false_without_the_post_header():
    raw = b"From: n@example.com\nList-Unsubscribe: <https://example.com/u>\n\nx\n"
    mf = message_facts(raw, 1, False)
    assert mf.list_unsubscribe == "<https://example.com/u>"
    assert mf.one_click_unsubscribe is False


def test_auto_submitted_keeps_the_keyword_without_comments():
    mf = facts("auto_reply.eml")
    assert mf.auto_submitted == "auto-replied"
    assert mf.subject == "Réponse automatique : Absent"
    assert mf.attachments == ()


def test_raw_utf8_headers_are_legal_and_decoded():
    # RFC 6532 allows UTF-8 in headers.
    mf = facts("raw_utf8_header.eml")
    assert mf.subject == "Réunion à 9 h"
    assert mf.malformed is False


def test_raw_latin1_headers_are_read_but_mark_the_message_malformed():
    mf = facts("raw_latin1_header.eml")
    assert mf.subject == "Réunion à 9 h"
    assert mf.from_addr == "rene@example.fr"
    assert mf.malformed is True


def test_unknown_charset_in_an_encoded_word_is_malformed_but_still_read():
    raw = b"From: a@example.org\nSubject: =?x-klingon?q?Bonjour?= tout le monde\n\nx\n"
    mf = message_facts(raw, 1, False)
    assert mf.malformed is True
    assert mf.subject is not None and "Bonjour" in mf.subject


def test_decode_header_text_joins_encoded_and_plain_words():
    assert decode_header_text("Re: =?iso-8859-1?q?caf=E9?= ok") == "Re: café ok"
    assert decode_header_text("=?utf-8?b?QUJD?=\n =?utf-8?b?REVG?=") == "ABCDEF"
    assert decode_header_text(None) is None


def test_flags_are_passed_through():
    mf = message_facts(b"From: a@example.org\n\nx\n", 1, True, flags=("\\Seen", "\\Flagged"))
    assert mf.flags == ("\\Seen", "\\Flagged")
    assert mf.seen is True


# --- attachments ---------------------------------------------------------------------------


def test_rfc2231_filename_is_decoded():
    (att,) = facts("rfc2231_filename.eml").attachments
    assert att.filename == "Facture_été.pdf"
    assert att.content_type == "application/pdf"
    assert att.part == "2"


def test_rfc2231_filename_continuations_are_joined_before_decoding():
    # RFC 2231 section 4.1: here the two octets of "é" are split across filename*0* and *1*.
    (att,) = facts("rfc2231_continuation.eml").attachments
    assert att.filename == "Procès-verbal de l'assemblée générale signé.tiff"


def test_rfc2047_encoded_filename_is_decoded():
    (att,) = facts("rfc2047_filename.eml").attachments
    assert att.filename == "Capture d'écran 2026.png"


def test_encoded_and_decoded_sizes_are_measured():
    (att,) = facts("rfc2231_filename.eml").attachments
    lines = [
        b"JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCkJUCkVU",
        b"CmVuZHN0cmVhbQplbmRvYmoK",
    ]
    assert att.encoded_bytes == len(b"\n".join(lines))
    assert att.size_bytes == len(base64.b64decode(b"".join(lines)))


def test_quoted_printable_attachment_size_is_decoded():
    att = facts("nested_parts.eml").attachments[1]
    assert att.filename == "adherents.csv"
    assert att.size_bytes == len("nom;prénom\nDupont;Marie".encode())
    assert att.encoded_bytes > att.size_bytes


def test_message_rfc822_counts_as_one_attachment():
    mf = facts("forward_rfc822.eml")
    (att,) = mf.attachments  # not the PDF and JPEG inside the forwarded message
    assert att.content_type == "message/rfc822"
    assert att.part == "2"
    raw = (EML / "forward_rfc822.eml").read_bytes()
    inner = raw[raw.index(b"Date: Wed") : raw.index(b"\n--outer--")]
    assert att.encoded_bytes == att.size_bytes == len(inner)
    assert mf.malformed is False


def test_part_numbers_are_imap_style_in_nested_multiparts():
    parts = [(a.part, a.content_type) for a in facts("nested_parts.eml").attachments]
    # mixed[ related[ alternative[plain, html], png ], csv, plain-as-attachment ]
    assert parts == [("1.2", "image/png"), ("2", "text/csv"), ("3", "text/plain")]


def test_text_bodies_are_not_attachments_but_a_disposition_makes_them_one():
    atts = facts("nested_parts.eml").attachments
    assert all(a.part not in ("1.1.1", "1.1.2") for a in atts)
    assert atts[-1].filename is None and atts[-1].content_type == "text/plain"


def test_single_part_message_is_part_one():
    mf = facts("single_part_pdf.eml")
    (att,) = mf.attachments
    assert att.part == "1"
    assert att.content_type == "application/pdf"
    assert att.size_bytes == len(base64.b64decode("JVBERi0xLjQKJeLjz9MK"))


def test_plain_text_message_has_no_attachment():
    assert facts("newsletter_mailto_only.eml").attachments == ()
    assert facts("newsletter_one_click.eml").attachments == ()  # a lone text/html body


def test_crlf_message_is_split_like_an_lf_one():
    mf = facts("crlf.eml")
    (att,) = mf.attachments
    assert (att.part, att.filename, att.encoded_bytes, att.size_bytes) == ("2", "a.pdf", 12, 9)
    assert mf.subject == "CRLF"
    assert mf.malformed is False


def test_bad_base64_is_estimated_and_marks_the_message_malformed():
    mf = facts("bad_base64.eml")
    (att,) = mf.attachments
    assert att.encoded_bytes == len("UEsDBAoAAAAAAAAAIQ")
    assert att.size_bytes == len("UEsDBAoAAAAAAAAAIQ") * 3 // 4
    assert mf.malformed is True


def test_multipart_without_boundary_is_text_and_malformed():
    # RFC 2046 5.1.1: a multipart that cannot be split is read as text, not an attachment
    mf = facts("no_boundary.eml")
    assert mf.malformed is True
    assert "multipart-without-boundary" in mf.malformed_reasons
    assert mf.subject == "Gagnant"
    assert mf.attachments == ()


def test_missing_close_delimiter_keeps_the_parts_and_marks_malformed():
    raw = (
        b"From: a@example.org\nContent-Type: multipart/mixed; boundary=q\n\n--q\n"
        b"Content-Type: text/plain\n\nhi\n--q\nContent-Type: image/gif\n\nGIF89a\n"
    )
    mf = message_facts(raw, 1, False)
    assert [(a.part, a.content_type) for a in mf.attachments] == [("2", "image/gif")]
    assert mf.malformed is True


def test_boundary_prefix_lines_are_not_delimiters():
    raw = (
        b"From: a@example.org\nContent-Type: multipart/mixed; boundary=q\n\n--q\n"
        b"Content-Type: application/octet-stream\n\n--qq is data, not a delimiter\n--q--\n"
    )
    mf = message_facts(raw, 1, False)
    (att,) = mf.attachments
    assert att.size_bytes == len(b"--qq is data, not a delimiter")
    assert mf.malformed is False


def test_adjacent_delimiters_make_an_empty_part_numbered_as_the_server_does():
    # "--q" twice in a row: an empty part 1 (text, no attachment), the image is part 2, as
    # Dovecot numbers it over IMAP (CPython's msg_37.txt: parts 1, 3 and 7).
    raw = (
        b"From: a@example.org\nContent-Type: multipart/mixed; boundary=q\n\n--q\n--q\n"
        b"Content-Type: image/gif\n\nGIF89a\n--q--\n"
    )
    assert [a.part for a in message_facts(raw, 1, False).attachments] == ["2"]


def test_deep_nesting_does_not_blow_the_stack():
    raw = b"From: a@example.org\n"
    for depth in range(2000):
        raw += f"Content-Type: multipart/mixed; boundary=b{depth}\n\n--b{depth}\n".encode()
    raw += b"Content-Type: image/png\n\nx\n"
    mf = message_facts(raw, 1, False)
    assert mf.malformed is True


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n\n",
        b"\x00\xff\xfe garbage without headers",
        b"Subject: =?utf-8?b?###?=\n\n",
        b'Content-Type: multipart/mixed; boundary=""\n\n--\n--\n',
        b"Content-Type: text/plain; name*0*=x-unknown''%FF%FE\n"
        b"Content-Disposition: attachment\n\nx",
        b"Content-Type: message/rfc822\n\n",
        b"From: <<<@@@>>>\nMessage-ID: \xff\n\n",
    ],
)
def test_garbage_never_raises(raw):
    mf = message_facts(raw, 3, False)
    assert mf.key == 3
    assert mf.size_bytes == len(raw)


def test_empty_message_is_a_message_without_anything():
    mf = message_facts(b"", 1, False)
    assert (mf.from_addr, mf.subject, mf.message_id, mf.attachments) == (None, None, None, ())


# --- CPython's own email test corpus -------------------------------------------------------


def _cpython_corpus() -> list[Path]:
    try:
        import test.test_email as corpus
    except ImportError:
        return []
    return sorted((Path(corpus.__file__).parent / "data").glob("msg_*.txt"))


def test_cpython_email_corpus_never_raises_and_defects_are_malformed():
    files = _cpython_corpus()
    if not files:
        pytest.skip("this interpreter does not ship test.test_email")
    defective = 0
    for path in files:
        raw = path.read_bytes()
        mf = message_facts(raw, 1, False)  # must not raise
        stdlib = email.message_from_bytes(raw)
        if any(part.defects for part in stdlib.walk()):
            defective += 1
            assert mf.malformed, f"{path.name}: the stdlib sees defects, message_facts does not"
        else:
            # only for what the stdlib lets pass: an invalid media type (RFC 2045 5.2)
            stricter = set(mf.malformed_reasons) - {"invalid-content-type"}
            assert not stricter, f"{path.name}: clean for the stdlib, malformed here"
    assert defective >= 5  # the corpus does hold broken messages; the check above ran


def test_every_malformed_reason_is_explained_in_both_languages():
    from auditor.collect.mail import mimeheader
    from auditor.i18n import LANGUAGES, t

    reasons = [v for k, v in vars(mimeheader).items() if k.startswith("R_")]
    assert len(reasons) >= 10
    for lang in LANGUAGES:
        for reason in reasons:
            key = f"source.mail.malformed.{reason}"
            assert t(lang, key) != key, (lang, reason)

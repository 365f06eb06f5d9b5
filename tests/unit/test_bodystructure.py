"""attachments_from_bodystructure: IMAP BODYSTRUCTURE in, attachment metadata out, never a raise.

Fixtures are written as the server sends them and read by imapclient's own parser
(`parse_bodystructure_text`). "Constructed" fixtures follow the shape the named client produces;
the malformed ones are copied from the public bug reports cited above each of them.
"""

from __future__ import annotations

import base64
import os
import random

import pytest

from auditor.collect.mail.bodystructure import (
    attachments_from_bodystructure,
    parse_bodystructure_text,
)
from auditor.collect.mail.records import AttachmentFacts


def read(raw: bytes) -> tuple[tuple[AttachmentFacts, ...], bool]:
    return attachments_from_bodystructure(parse_bodystructure_text(raw))


def literal(data: bytes) -> bytes:
    """An IMAP literal, as servers send names with 8-bit characters."""
    return b"{%d}\r\n" % len(data) + data


def summary(attachments) -> list[tuple[str, str | None, str]]:
    return [(a.part, a.filename, a.content_type) for a in attachments]


# --- RFC 3501 section 7.4.2's own examples ------------------------------------------------


def test_rfc3501_single_part_text_message_has_no_attachment():
    attachments, malformed = read(
        b'* 12 FETCH (BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))'
    )
    assert attachments == ()
    assert malformed is False


def test_rfc3501_multipart_example_reports_the_named_diff_as_part_two():
    attachments, malformed = read(
        b'BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff")'
        b' "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73)'
        b' "MIXED")'
    )
    assert malformed is False
    assert attachments == (
        # base64 text part: 73 lines of CRLF come off before the 3/4.
        AttachmentFacts("2", "cc.diff", "text/plain", 4554, (4554 - 2 * 73) * 3 // 4),
    )


# --- what the usual mail clients send (constructed in their shape) --------------------------


THUNDERBIRD = (
    b"* 7 FETCH (UID 42 BODYSTRUCTURE ("
    b'(("text" "plain" ("charset" "UTF-8" "format" "flowed") NIL NIL "quoted-printable"'
    b" 1834 47 NIL NIL NIL NIL)"
    b'("text" "html" ("charset" "UTF-8") NIL NIL "quoted-printable" 9120 160 NIL NIL NIL NIL)'
    b' "alternative" ("boundary" "------------a1") NIL NIL NIL)'
    b'("application" "pdf" ("name" "Compte-rendu AG 2024.pdf") NIL NIL "base64" 412580 NIL'
    b' ("attachment" ("filename" "Compte-rendu AG 2024.pdf")) NIL NIL)'
    b'("image" "jpeg" ("name" "photo.jpg") NIL NIL "base64" 1864212 NIL'
    b' ("attachment" ("filename" "photo.jpg")) NIL NIL)'
    b' "mixed" ("boundary" "------------m1") NIL "fr" NIL))'
)


def test_thunderbird_mail_with_two_files_lists_both_and_skips_the_text():
    attachments, malformed = read(THUNDERBIRD)
    assert malformed is False
    assert summary(attachments) == [
        ("2", "Compte-rendu AG 2024.pdf", "application/pdf"),
        ("3", "photo.jpg", "image/jpeg"),
    ]


def test_base64_attachment_size_is_three_quarters_of_the_text_without_line_breaks():
    pdf, jpeg = read(THUNDERBIRD)[0]
    assert pdf.encoded_bytes == 412580
    # 5290 lines of 76 characters + CRLF: the only line count that leaves whole base64 quads.
    assert pdf.size_bytes == (412580 - 2 * 5290) * 3 // 4 == 301500
    # RFC 2046 5.1.1: the last line's CRLF belongs to the delimiter (Dovecot does not count
    # it), so ceil((octets + 2) / 78) lines hold one CRLF fewer.
    assert jpeg.size_bytes == (1864212 - 2 * 23900) * 3 // 4


@pytest.mark.parametrize("length", [0, 1, 57, 1000, 299_999, 300_000, 1_234_567])
def test_base64_estimate_is_within_two_bytes_of_the_real_decoded_size(length):
    data = os.urandom(length)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")  # 76 per line, as mailers do
    raw = (
        b'("application" "octet-stream" ("name" "blob.bin") NIL NIL "base64" %d NIL NIL NIL NIL)'
        % len(encoded)
    )
    ((part,), malformed) = read(raw)
    assert malformed is False
    assert part.encoded_bytes == len(encoded)
    assert abs(part.size_bytes - length) <= 2


OUTLOOK = (
    b'* 3 FETCH (UID 9 BODYSTRUCTURE (((("text" "plain" ("charset" "utf-8") NIL NIL'
    b' "quoted-printable" 2210 61 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 18830 300 NIL NIL NIL NIL)'
    b' "alternative" ("boundary" "_000_alt_") NIL NIL NIL)'
    b'("image" "png" ("name" "image001.png") "<image001.png@01DA1B2C.3D4E5F60>" "image001.png"'
    b' "base64" 11420 NIL ("inline" ("filename" "image001.png" "size" "8340"'
    b' "creation-date" "Tue, 10 Sep 2024 08:00:00 GMT")) NIL NIL)'
    b' "related" ("boundary" "_004_rel_" "type" "multipart/alternative") NIL NIL NIL)'
    b'("application" "vnd.openxmlformats-officedocument.spreadsheetml.sheet"'
    b' ("name" "=?utf-8?B?UGxhbm5pbmcgZGVzIGLDqW7DqXZvbGVzLnhsc3g=?=") NIL'
    b' "=?utf-8?B?UGxhbm5pbmcgZGVzIGLDqW7DqXZvbGVzLnhsc3g=?=" "base64" 30600 NIL'
    b' ("attachment" ("filename" "=?utf-8?B?UGxhbm5pbmcgZGVzIGLDqW7DqXZvbGVzLnhsc3g=?="'
    b' "size" "22300")) NIL NIL)'
    b' "mixed" ("boundary" "_005_mixed_") NIL "fr-FR" NIL))'
)


def test_outlook_inline_image_with_content_id_is_an_attachment_numbered_inside_related():
    attachments, malformed = read(OUTLOOK)
    assert malformed is False
    assert summary(attachments) == [
        ("1.2", "image001.png", "image/png"),
        (
            "2",
            "Planning des bénévoles.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ]


def test_rfc2047_encoded_file_name_is_decoded():
    sheet = read(OUTLOOK)[0][-1]
    assert sheet.filename == "Planning des bénévoles.xlsx"
    assert sheet.size_bytes == (30600 - 2 * 392) * 3 // 4  # 393 lines, the last without CRLF


def test_gmail_attachment_with_content_id_and_upper_case_fields():
    attachments, malformed = read(
        b'* 5 FETCH (X-GM-MSGID 1563491715126921418 UID 8 BODYSTRUCTURE ((("TEXT" "PLAIN"'
        b' ("CHARSET" "UTF-8") NIL NIL "7BIT" 120 3 NIL NIL NIL)("TEXT" "HTML" ("CHARSET"'
        b' "UTF-8") NIL NIL "QUOTED-PRINTABLE" 480 8 NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY"'
        b' "0000a1") NIL NIL)("APPLICATION" "PDF" ("NAME" "Statuts.pdf") "<f_lzq1x0>" NIL'
        b' "BASE64" 95000 NIL ("ATTACHMENT" ("FILENAME" "Statuts.pdf")) NIL) "MIXED"'
        b' ("BOUNDARY" "0000a2") NIL NIL))'
    )
    assert malformed is False
    assert summary(attachments) == [("2", "Statuts.pdf", "application/pdf")]


def test_non_multipart_message_that_is_a_file_is_attachment_one():
    attachments, malformed = read(
        b'("APPLICATION" "PDF" ("NAME" "scan.pdf") NIL NIL "BASE64" 7800 NIL NIL NIL NIL)'
    )
    assert malformed is False
    assert summary(attachments) == [("1", "scan.pdf", "application/pdf")]


def test_text_part_marked_attachment_without_a_name_is_an_attachment():
    attachments, _ = read(
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)'
        b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 500 12 NIL ("attachment" NIL)'
        b' NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)'
    )
    assert summary(attachments) == [("2", None, "text/plain")]
    assert attachments[0].size_bytes == 500  # 7bit: as transferred


def test_calendar_invitation_counts_the_inline_calendar_and_the_ics_file():
    attachments, malformed = read(
        b'((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 800 20 NIL NIL NIL'
        b' NIL)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 4100 70 NIL NIL'
        b' NIL NIL)("text" "calendar" ("charset" "utf-8" "method" "REQUEST") NIL NIL "base64"'
        b' 2270 30 NIL NIL NIL NIL) "alternative" ("boundary" "alt") NIL NIL NIL)'
        b'("application" "ics" ("name" "invite.ics") NIL "invite.ics" "base64" 3060 NIL'
        b' ("attachment" ("filename" "invite.ics" "size" "2210")) NIL NIL)'
        b' "mixed" ("boundary" "mix") NIL NIL NIL)'
    )
    assert malformed is False
    assert summary(attachments) == [
        ("1.3", None, "text/calendar"),
        ("2", "invite.ics", "application/ics"),
    ]
    # A text part gives its line count: 30 CRLF come off, not ceil(2270 / 78) = 30 by luck.
    assert attachments[0].size_bytes == (2270 - 2 * 30) * 3 // 4


def test_quoted_printable_size_is_the_transferred_size():
    ((part,), _) = read(
        b'("text" "csv" ("charset" "utf-8" "name" "adherents.csv") NIL NIL "quoted-printable"'
        b" 5123 80 NIL NIL NIL NIL)"
    )
    assert (part.encoded_bytes, part.size_bytes) == (5123, 5123)


def test_android_inline_image_takes_the_disposition_file_name_over_the_type_name():
    # MailCore/mailcore2#599 (https://github.com/MailCore/mailcore2/issues/599): the logged
    # response lacks one "(" (imapclient cannot read it as sent); balanced here.
    attachments, malformed = read(
        b'((("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "base64" 5374 125 NIL NIL NIL)'
        b'("TEXT" "HTML" ("CHARSET" "UTF-8") NIL NIL "base64" 28410 408 NIL NIL NIL)'
        b'("IMAGE" "PNG" ("NAME" "IMAGE002.PNG")'
        b' "_com_android_email_attachmentprovider_1_2178_RAW@sec.galaxytab" "image002.png"'
        b' "base64" 14824 NIL ("INLINE" ("FILENAME" "image002.png" "size" "10831")) NIL)'
        b' "RELATIVE" ("BOUNDARY" "--_com.android.email_1869209453459961") NIL NIL)'
        b' "ALTERNATIVE" ("boundary" "--_com.android.email_1869209365737870") NIL NIL)'
    )
    assert malformed is False
    assert summary(attachments) == [("1.3", "image002.png", "image/png")]


# --- forwarded messages ------------------------------------------------------------------


FORWARD = (
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 35 7 NIL NIL NIL NIL)'
    b'("message" "rfc822" ("name" "Some email subject one.eml") NIL NIL "7bit" 10034116'
    b' ("Sun, 19 Sep 2021 10:04:43 +0200" "Some email subject one" (("A" NIL "a" "example.org"))'
    b' (("A" NIL "a" "example.org")) (("A" NIL "a" "example.org")) ((NIL NIL "b" "example.org"))'
    b' NIL NIL NIL "<one@example.org>")'
    b' (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 20 2 NIL NIL NIL NIL)'
    b'("application" "pdf" ("name" "inside.pdf") NIL NIL "base64" 7000000 NIL'
    b' ("attachment" ("filename" "inside.pdf")) NIL NIL) "mixed" ("boundary" "in") NIL NIL NIL)'
    b' 130000 NIL ("attachment" ("filename" "Some email subject one.eml")) NIL NIL)'
    b' "mixed" ("boundary" "out") NIL NIL NIL)'
)


def test_forwarded_message_counts_as_one_attachment():
    # Shape of mjs/imapclient#447 (https://github.com/mjs/imapclient/issues/447): imapclient
    # leaves the embedded body un-regrouped; it is not read at all here.
    attachments, malformed = read(FORWARD)
    assert malformed is False
    assert attachments == (
        AttachmentFacts("2", "Some email subject one.eml", "message/rfc822", 10034116, 10034116),
    )


def test_forwarded_message_is_whole_even_when_given_in_raw_nested_form():
    # The body inside the message/rfc822 part, as imapclient hands it (not a BodyData).
    embedded = parse_bodystructure_text(FORWARD)[0][1][8]
    attachments, malformed = attachments_from_bodystructure(embedded)
    assert malformed is False
    assert summary(attachments) == [("2", "inside.pdf", "application/pdf")]


def test_gmail_delivery_report_lists_the_status_and_the_returned_message():
    # jstedfast/MailKit#1841 (https://github.com/jstedfast/MailKit/issues/1841), Gmail: the
    # returned message's body is the nonsensical ("ALTERNATIVE"); it is not descended into.
    attachments, malformed = read(
        b'* 51 FETCH (MODSEQ (18812) BODY (("TEXT" "PLAIN" ("CHARSET" "windows-1252") NIL NIL'
        b' "QUOTED-PRINTABLE" 211 5)("MESSAGE" "DELIVERY-STATUS" NIL NIL NIL "7BIT" 344)'
        b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 2942 ("Sat, 3 Jan 2015 19:26:15 +0100"'
        b' "Re: MPG" (("c p" NIL "---.---87" "gmail.com")) (("c p" NIL "---.---87" "gmail.com"))'
        b' (("c p" NIL "---.---87" "gmail.com")) (("am sa[cft]" NIL "sm" "cft.ce.fr")) NIL NIL'
        b' "<D3CAD328B4CFD24E83DD07E8923DFEE902FA8F1B@PRDGCE8P4523.sigce.ce.fr>"'
        b' "<D4A-8A32-4DC3-AC6C-98429154@gmail.com>") ("ALTERNATIVE") 51) "REPORT"))'
    )
    assert malformed is False
    assert summary(attachments) == [
        ("2", None, "message/delivery-status"),
        ("3", None, "message/rfc822"),
    ]
    assert attachments[1].size_bytes == attachments[1].encoded_bytes == 2942


def test_bounce_whose_returned_message_has_an_empty_multipart_still_counts_it_once():
    # jstedfast/MailKit#1393 (https://github.com/jstedfast/MailKit/issues/1393): the body of
    # the returned message is (NIL "alternative" ...), a multipart with no part.
    attachments, malformed = read(
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 727 16 NIL NIL NIL NIL)'
        b'("message" "delivery-status" ("name" "Delivery status") NIL NIL "7bit" 416 NIL NIL'
        b' NIL NIL)("message" "rfc822" ("name" "Message headers") NIL NIL "7bit" 903'
        b' ("Mon, 17 Nov 2014 13:29:21 +0100" "Re: Adresy" (("username" NIL "e.username"'
        b' "example.com")) (("username" NIL "e.username" "example.com")) (("username" NIL'
        b' "e.username" "example.com")) (("=?utf-8?Q?Justyna?=" NIL "salesde"'
        b' "some-company.eu")) ((NIL NIL "saleseu" "some-company.eu")("Bogdan" NIL "bogdan"'
        b' "some-company.eu")) NIL "<004901d00260$35405970$9fc10c50$@some-company.eu>"'
        b' "<D6173425-9D71-4D78-8C3C-1CEB03BCB4D0@example.com>") (NIL "alternative"'
        b' ("boundary" "Apple-Mail=_352FCEEC-EB15-428F-9D8B-D3B4259DD646") NIL NIL NIL) 17 NIL'
        b' NIL NIL NIL) "report" ("report-type" "delivery-status" "boundary"'
        b' "_e0d7475d888f9882b71de053e5efb221_idea") NIL NIL NIL)'
    )
    assert malformed is False
    assert summary(attachments) == [
        ("2", "Delivery status", "message/delivery-status"),
        ("3", "Message headers", "message/rfc822"),
    ]


# --- file names: RFC 2231 and RFC 2047 ---------------------------------------------------------


def test_rfc2231_continuation_file_name_is_joined_and_decoded():
    ((part,), malformed) = read(
        b'("application" "pdf" NIL NIL NIL "base64" 1000 NIL ("attachment"'
        b' ("filename*0*" "utf-8\'\'Facture_%C3%A9t%C3%A9" "filename*1*" "_2024.pdf"))'
        b" NIL NIL)"
    )
    assert malformed is False
    assert part.filename == "Facture_été_2024.pdf"


def test_rfc2231_character_split_across_two_sections_is_decoded_once_joined():
    ((part,), malformed) = read(
        b'("application" "pdf" ("NAME*0*" "UTF-8\'fr\'Facture_%C3" "NAME*1*" "%A9t%C3%A9"'
        b' "NAME*2" "_2024.pdf") NIL NIL "base64" 1000 NIL NIL NIL NIL)'
    )
    assert malformed is False
    assert part.filename == "Facture_été_2024.pdf"


def test_rfc2231_sections_out_of_order_are_put_back_in_order():
    ((part,), malformed) = read(
        b'("application" "pdf" NIL NIL NIL "base64" 100 NIL ("attachment" ("filename*1" "b.pdf"'
        b' "filename*0" "a")) NIL NIL)'
    )
    assert (part.filename, malformed) == ("ab.pdf", False)


def test_rfc2231_missing_section_keeps_the_rest_and_flags_the_message():
    ((part,), malformed) = read(
        b'("application" "pdf" NIL NIL NIL "base64" 100 NIL ("attachment" ("filename*0" "a"'
        b' "filename*2" ".pdf")) NIL NIL)'
    )
    assert (part.filename, malformed) == ("a.pdf", True)


def test_rfc2231_value_in_a_literal_is_decoded():
    # apple/swift-nio-imap#679 (https://github.com/apple/swift-nio-imap/issues/679): the
    # server sends FILENAME* as a {181} literal; shortened to one image.
    value = (
        b"utf-8''%6D%61%69%6C%69%6E%67%61%73%73%65%74%73%5F%64%62%35%61%65%34%34%36%62%65%35%65"
        b"%31%39%35%64%63%30%37%63%61%38%64%64%32%31%63%63%63%61%30%62%62%38%34%34%39%66%39%32"
        b"%2E%6A%70%67"
    )
    assert len(value) == 181
    attachments, malformed = read(
        b'* 25945 FETCH (UID 69410 RFC822.SIZE 1812683 BODYSTRUCTURE (("TEXT" "PLAIN"'
        b' ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" 7738 134 NIL NIL NIL NIL)(("TEXT"'
        b' "HTML" ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" 48084 617 NIL NIL NIL NIL)'
        b'("IMAGE" "JPEG" NIL "<FWMAILdf3882a06804abc2069c60bd5d6ad3d9>" NIL "BASE64" 22864 NIL'
        b' ("INLINE" ("FILENAME*" ' + literal(value) + b')) NIL NIL) "RELATED" ("BOUNDARY" "r")'
        b' NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "a") NIL NIL NIL))'
    )
    assert malformed is False
    assert summary(attachments) == [
        ("2.2", "mailingassets_db5ae446be5e195dc07ca8dd21ccca0bb8449f92.jpg", "image/jpeg")
    ]


def test_extended_file_name_is_preferred_to_the_plain_one():
    ((part,), _) = read(
        b'("application" "pdf" NIL NIL NIL "base64" 100 NIL ("attachment" ("filename"'
        b' "Recu.pdf" "filename*" "utf-8\'\'Re%C3%A7u.pdf")) NIL NIL)'
    )
    assert part.filename == "Reçu.pdf"


def test_raw_utf8_file_name_in_a_literal_is_read_as_utf8():
    ((part,), malformed) = read(
        b'("application" "pdf" ("name" ' + literal("résumé.pdf".encode()) + b') NIL NIL "base64"'
        b" 100 NIL NIL NIL NIL)"
    )
    assert (part.filename, malformed) == ("résumé.pdf", False)


def test_raw_latin1_file_name_is_read_as_cp1252_and_flagged():
    ((part,), malformed) = read(
        b'("application" "pdf" ("name" ' + literal("résumé.pdf".encode("latin-1")) + b") NIL"
        b' NIL "base64" 100 NIL NIL NIL NIL)'
    )
    assert (part.filename, malformed) == ("résumé.pdf", True)


def test_encoded_word_with_an_unknown_charset_is_kept_readable_and_flagged():
    ((part,), malformed) = read(
        b'("application" "pdf" ("name" "=?x-unknown?Q?caf=C3=A9.pdf?=") NIL NIL "base64" 100'
        b" NIL NIL NIL NIL)"
    )
    assert malformed is True
    assert part.filename is not None and part.filename.startswith("caf")


def test_rfc2231_with_a_bogus_charset_falls_back_and_flags():
    ((part,), malformed) = read(
        b'("application" "pdf" NIL NIL NIL "base64" 100 NIL ("attachment" ("filename*"'
        b" \"x-bogus''caf%E9.pdf\")) NIL NIL)"
    )
    assert (part.filename, malformed) == ("café.pdf", True)


def test_empty_disposition_file_name_falls_back_to_the_type_name():
    # MailCore/mailcore2#1407 (https://github.com/MailCore/mailcore2/pull/1407): videos sent
    # with filename="" and the real name RFC 2047-encoded in Content-Type.
    attachments, malformed = read(
        b'((("text" "plain" ("charset" "utf-8") NIL NIL "base64" 58 1 NIL NIL NIL NIL)("text"'
        b' "html" ("charset" "utf-8") NIL NIL "base64" 112 2 NIL NIL NIL NIL) "alternative"'
        b' ("boundary" "--ALT--tVxePtRpLBZY6Hs0ao1c7BSGQcoQy5ur1460647449") NIL NIL NIL)'
        b'("video" "quicktime" ("name" "=?UTF-8?B?Mi5tb3Y=?=") NIL NIL "base64" 3722950 NIL'
        b' ("attachment" ("filename" "")) NIL NIL)("video" "quicktime" ("name"'
        b' "=?UTF-8?B?MS5tb3Y=?=") NIL NIL "base64" 3941584 NIL ("attachment" ("filename" ""))'
        b' NIL NIL)("video" "quicktime" ("name" "=?UTF-8?B?My5tb3Y=?=") NIL NIL "base64"'
        b' 15571848 NIL ("attachment" ("filename" "")) NIL NIL) "mixed" ("boundary"'
        b' "----tVxePtRpLBZY6Hs0ao1c7BSGQcoQy5ur-lcGxoWOFOYrZWofU-1460647449") NIL NIL NIL)'
    )
    assert malformed is False
    assert summary(attachments) == [
        ("2", "2.mov", "video/quicktime"),
        ("3", "1.mov", "video/quicktime"),
        ("4", "3.mov", "video/quicktime"),
    ]


# --- malformed structures seen in the wild ----------------------------------------------------


def test_exchange_bare_inline_disposition_is_read_and_flagged():
    # jstedfast/MailKit#919 (https://github.com/jstedfast/MailKit/issues/919), Exchange:
    # NIL "inline" where body-fld-dsp must be ("inline" NIL). Boundary shortened.
    attachments, malformed = read(
        b'* 37 FETCH (UID 67 FLAGS (\\Seen \\Recent) RFC822.SIZE 14801 BODYSTRUCTURE (("text"'
        b' "plain" ("charset" "ISO-8859-1") NIL NIL "QUOTED-PRINTABLE" 850 31 NIL "inline" NIL'
        b' NIL)("text" "html" ("charset" "ISO-8859-1") NIL NIL "QUOTED-PRINTABLE" 14692 502'
        b' NIL "inline" NIL NIL) "alternative" ("boundary" "----=_Part_45") NIL NIL NIL))'
    )
    assert attachments == ()
    assert malformed is True


def test_exchange_365_single_part_with_bare_disposition_is_flagged_but_empty():
    # jakartaee/mail-api#31 (https://github.com/jakartaee/mail-api/issues/31), Exchange 365.
    attachments, malformed = read(
        b'* 3099 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL'
        b' "quoted-printable" 802 19 NIL "inline" NIL NIL))'
    )
    assert (attachments, malformed) == ((), True)


def test_exchange_bare_attachment_disposition_still_makes_an_attachment():
    # Same Exchange quirk as above on a text part that is a file.
    attachments, malformed = read(
        b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 802 19 NIL "attachment" NIL NIL)'
    )
    assert (summary(attachments), malformed) == ([("1", None, "text/plain")], True)


def test_exchange_description_in_the_multipart_disposition_slot_keeps_the_attachment():
    # javaee/javamail#278 (https://github.com/javaee/javamail/issues/278), Exchange:
    # "S/MIME Encrypted Message" NIL where the multipart's body-fld-dsp goes.
    attachments, malformed = read(
        b'* 9 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'
        b' NIL NIL NIL NIL)("application" "octet-stream" ("name"'
        b' "MSCONS_TL_9907305000001_9906622000009_20171015_1728800281242.txt") NIL NIL "base64"'
        b' 171724 NIL ("attachment" ("filename"'
        b' "MSCONS_TL_9907305000001_9906622000009_20171015_1728800281242.txt")) NIL NIL) "mixed"'
        b' ("boundary" "----=_Part_694_566091238.1508061421046") "S/MIME Encrypted Message"'
        b" NIL))"
    )
    assert malformed is True
    assert summary(attachments) == [
        (
            "2",
            "MSCONS_TL_9907305000001_9906622000009_20171015_1728800281242.txt",
            "application/octet-stream",
        )
    ]


def test_exchange_2010_nil_parameter_value_is_skipped_and_flagged():
    # jakartaee/mail-api#203 (https://github.com/jakartaee/mail-api/issues/203): Exchange 2010
    # sends NIL for name="" (described there without a log; reconstructed).
    attachments, malformed = read(
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)'
        b'("application" "octet-stream" ("name" NIL) NIL NIL "base64" 7800 NIL'
        b' ("attachment" ("filename" NIL)) NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)'
    )
    assert malformed is True
    assert summary(attachments) == [("2", None, "application/octet-stream")]


def test_gmail_parts_reduced_to_a_disposition_are_skipped_and_flagged():
    # jstedfast/MailKit#371 (https://github.com/jstedfast/MailKit/issues/371#issuecomment),
    # Gmail (X-GM-* items): four parts sent as ("RELATED" NIL ("ATTACHMENT" NIL) NIL), with
    # neither subtype nor size. They cannot be measured; the message says so.
    attachments, malformed = read(
        b"* 56697 FETCH (X-GM-THRID 1563190496481790748 X-GM-MSGID 1563491715126921418 UID"
        b' 227195 RFC822.SIZE 87705 BODYSTRUCTURE ((("TEXT" "PLAIN" ("CHARSET" "UTF-8" "DELSP"'
        b' "yes" "FORMAT" "flowed") NIL NIL "BASE64" 10418 133 NIL NIL NIL)("TEXT" "HTML"'
        b' ("CHARSET" "UTF-8") NIL NIL "BASE64" 34544 442 NIL NIL NIL) "ALTERNATIVE"'
        b' ("BOUNDARY" "94eb2c1cd0507723d5054c1ce6cb") NIL NIL)("RELATED" NIL ("ATTACHMENT" NIL)'
        b' NIL)("RELATED" NIL ("ATTACHMENT" NIL) NIL)("RELATED" NIL ("ATTACHMENT" NIL) NIL)'
        b'("RELATED" NIL ("ATTACHMENT" NIL) NIL) "MIXED" ("BOUNDARY"'
        b' "94eb2c1cd0507723e6054c1ce6cd") NIL NIL))'
    )
    assert (attachments, malformed) == ((), True)


def test_mail_ru_size_in_exponent_notation_and_nil_boundary_are_survived():
    # jstedfast/MailKit#1840 (https://github.com/jstedfast/MailKit/issues/1840), mail.ru sends
    # the size as the atom 1.86931e+06; pimalaya/himalaya#649
    # (https://github.com/pimalaya/himalaya/issues/649), mail.ru sends ("boundary" NIL) and
    # 0 lines. The structure around them is reconstructed.
    attachments, malformed = read(
        b'((("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 1721 0 NIL NIL NIL NIL)("text"'
        b' "html" ("charset" "utf-8") NIL NIL "8bit" 31289 0 NIL NIL NIL NIL) "alternative"'
        b' ("boundary" NIL))("application" "pdf"'
        b' ("name" "=?UTF-8?Q?=D0=A1=D1=87=D0=B5=D1=82.pdf?=")'
        b' NIL NIL "base64" 1.86931e+06 NIL ("attachment" NIL) NIL NIL) "mixed" ("boundary"'
        b' "m") NIL NIL NIL)'
    )
    assert malformed is True
    assert summary(attachments) == [("2", "Счет.pdf", "application/pdf")]
    assert attachments[0].encoded_bytes == 1869310


def test_unescaped_quotes_that_shift_the_fields_still_give_the_size():
    # emersion/go-imap#659 (https://github.com/emersion/go-imap/issues/659), NetEase
    # (qiye.163.com): Content-Description `""""`; imapclient reads two empty strings and every
    # later field moves one place.
    attachments, malformed = read(
        b'* 150 FETCH (UID 1733220355 BODY (("text" "html" ("charset" "UTF-8") NIL NIL'
        b' "quoted-printable" 1224 16)("application" "octet-stream" ("name" "2154973550.pdf")'
        b' NIL """" "base64" 65322) "MIXED"))'
    )
    assert malformed is True
    assert attachments == (
        AttachmentFacts(
            "2",
            "2154973550.pdf",
            "application/octet-stream",
            65322,
            (65322 - 2 * 837) * 3 // 4,  # 838 lines, the last without CRLF: whole quads
        ),
    )


def test_multipart_sent_as_a_leaf_with_negative_size_is_not_an_attachment():
    # javaee/javamail#282 (https://github.com/javaee/javamail/issues/282): "bad size element".
    attachments, malformed = read(
        b'* 1 FETCH (BODYSTRUCTURE ("multipart" "signed" ("boundary"'
        b' "_9bc333e9-3a24-4740-8211-a395c5448479_") NIL NIL "7BIT" -1 NIL NIL NIL NIL))'
    )
    assert (attachments, malformed) == ((), True)


def test_nil_body_encoding_is_read_as_7bit_and_flagged():
    # apple/swift-nio-imap#684 (https://github.com/apple/swift-nio-imap/issues/684).
    attachments, malformed = read(
        b'* 2114 FETCH (UID 2114 MODSEQ (3143) RFC822.SIZE 11867 BODYSTRUCTURE ((("text" "plain"'
        b' ("CHARSET" "UTF-8") NIL NIL NIL 1423 44 NIL NIL NIL NIL)("text" "html" ("CHARSET"'
        b' "UTF-8") NIL NIL "quoted-printable" 2524 34 NIL NIL NIL NIL) "alternative"'
        b' ("BOUNDARY" "000000000000ccac3a05a5ef76c3") NIL NIL NIL)("application" "pdf" NIL NIL'
        b' NIL NIL 1423 NIL NIL NIL NIL) "mixed" ("BOUNDARY"'
        b' "===============5781602957316160403==") NIL NIL NIL))'
    )
    # The pdf part is added to the report's structure to show the NIL encoding's size.
    assert malformed is True
    assert attachments == (AttachmentFacts("2", None, "application/pdf", 1423, 1423),)


def test_size_sent_as_a_string_and_nil_parameter_list_as_a_string():
    attachments, malformed = read(
        b'(("text" "plain" "NIL" NIL NIL "7bit" "10" "1" NIL NIL NIL NIL)("image" "gif" "NIL"'
        b' NIL NIL "base64" "7800" NIL ("attachment" "NIL") NIL NIL) "mixed" "NIL" NIL NIL'
        b" NIL)"
    )
    assert malformed is True
    assert attachments == (
        AttachmentFacts("2", None, "image/gif", 7800, (7800 - 2 * 100) * 3 // 4),
    )


def test_response_imapclient_rejects_never_reaches_this_function():
    # MailCore/mailcore2#1473 (https://github.com/MailCore/mailcore2/issues/1473): a Content-Type
    # folded into the subtype string. imapclient raises on the whole FETCH response, so the IMAP
    # collector has to catch that around its fetch, not rely on this module.
    raw = (
        b'825 FETCH (UID 30825 BODYSTRUCTURE ((("TEXT" "PLAIN" ("charset" "gb2312") NIL NIL'
        b' "quoted-printable" 119 8 NIL NIL NIL) "related" ("boundary" "r") NIL NIL)'
        b'("APPLICATION" "PDF\n    NAME="ATT1-160708123935.PDF"" NIL NIL NIL "base64" 257328 NIL'
        b' ("attachment" ("filename" "att1-160708123935.pdf")) NIL) "mixed" ("boundary" "m")'
        b" NIL NIL))"
    )
    with pytest.raises(Exception):  # noqa: B017 - imapclient's ProtocolError or ValueError
        parse_bodystructure_text(raw)


# --- structure and robustness ------------------------------------------------------------------


def test_part_numbers_follow_imap_nesting():
    attachments, malformed = read(
        b'((("text" "plain" NIL NIL NIL "7bit" 1 1)(("text" "html" NIL NIL NIL "7bit" 1 1)'
        b'("image" "png" NIL "<a>" NIL "base64" 100) "related") "alternative")'
        b'("application" "zip" NIL NIL NIL "base64" 100) "mixed")'
    )
    assert malformed is False  # BODY without extension data is legal
    assert [a.part for a in attachments] == ["1.2.2", "2"]


@pytest.mark.parametrize(
    "value",
    [None, b"", 42, (), [], (None,), (b"text",), ([],), ([None], b"mixed"), ((1, 2), b"mixed")],
)
def test_garbage_gives_no_attachment_and_a_malformed_flag(value):
    assert attachments_from_bodystructure(value) == ((), True)


def test_nesting_bomb_stops_without_recursion_error():
    node: tuple = (b"application", b"pdf", None, None, None, b"base64", 100)
    for _ in range(5000):
        node = ([node], b"mixed")
    attachments, malformed = attachments_from_bodystructure(node)
    assert (attachments, malformed) == ((), True)


def _mutate(node, rng: random.Random):
    if isinstance(node, list):
        return [_mutate(child, rng) for child in node]
    if isinstance(node, tuple):
        items = [_mutate(child, rng) for child in node]
        roll = rng.random()
        if roll < 0.1 and items:
            del items[rng.randrange(len(items))]
        elif roll < 0.2 and items:
            items[rng.randrange(len(items))] = rng.choice(
                [None, b"NIL", b"", -1, 10**30, b"1e999", (), ("x",), b"=?bad?Q?=FF?="]
            )
        elif roll < 0.25:
            items.append(rng.choice([None, b"x", ()]))
        return tuple(items)
    return node


@pytest.mark.parametrize("fixture", [THUNDERBIRD, OUTLOOK, FORWARD])
def test_random_damage_never_raises(fixture):
    bs = parse_bodystructure_text(fixture)
    rng = random.Random(20240915)
    for _ in range(300):
        attachments, malformed = attachments_from_bodystructure(_mutate(tuple(bs), rng))
        assert isinstance(malformed, bool)
        for a in attachments:
            assert isinstance(a, AttachmentFacts)
            assert a.encoded_bytes >= 0 and a.size_bytes >= 0
            assert a.content_type == a.content_type.lower() and "/" in a.content_type


def test_plain_tuples_and_lists_are_accepted_like_body_data():
    bs = (
        [
            (b"text", b"plain", (b"charset", b"utf-8"), None, None, b"7bit", 10, 1),
            [b"image", b"png", [b"name", b"a.png"], None, None, b"base64", 780],
        ],
        b"mixed",
    )
    attachments, malformed = attachments_from_bodystructure(bs)
    assert summary(attachments) == [("2", "a.png", "image/png")]
    assert attachments[0].size_bytes == (780 - 2 * 10) * 3 // 4
    assert malformed is False

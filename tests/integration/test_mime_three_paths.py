"""The same message gives the same attachments over IMAP, from a Maildir and from an mbox.

Each file of tests/data/mail/mime_classes/ is one defect class of issue 14 (broken MIME that
real mail has; see the README there). Its bytes are APPENDed to the real Dovecot of the test
suite and scanned over IMAP, written into a Maildir, and written into an mbox (mboxrd escapes,
as Thunderbird and mutt write them), then read by the tool on all three paths. Every path must
give the attachments a careful reader gives (docs/attachments.md): same parts, names, types
and decoded sizes, and the `malformed` flag where the structure had to be guessed.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from imapclient import IMAPClient

from auditor.collect.mail.imap import AccountScanner, ImapAccount
from auditor.collect.mail.localbox import collect_maildir, collect_mbox, maildir_key
from auditor.collect.mail.records import MessageFacts
from auditor.store import open_store, writes
from auditor.store.mailsync import StoreFolderSink
from tests.mailgen import cpython_corpus_messages

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "mail" / "mime_classes"
FILES = sorted(FIXTURES.glob("c*.eml"))

OCTET = "application/octet-stream"
# fixture -> (attachments as (part, file name, content type, decoded size), malformed)
EXPECTED: dict[str, tuple[list[tuple[str, str | None, str, int]], bool]] = {
    # 1. raw 8-bit names: UTF-8, then the part's charset (ISO-8859-2), then cp1252
    "c01_raw_8bit_names.eml": (
        [
            ("2", "ciële.txt", "text/plain", 5),
            ("3", "škola.txt", "text/plain", 6),
            ("4", "Résumé.bin", OCTET, 4),
        ],
        True,
    ),
    # 2. no delimiter: the body is text (RFC 2046), not an attachment
    "c02_delimiter_never_appears.eml": ([], True),
    # 3. a folded boundary is unfolded (RFC 5322 2.2.3): "simple boundary"
    "c03_folded_boundary.eml": ([("2", "report.pdf", "application/pdf", 300)], False),
    # 4. a nested multipart reusing its parent's boundary keeps the parts after it
    "c04_nested_same_boundary.eml": ([("2", "photos.zip", "application/zip", 774)], True),
    # 5. bad header lines before Content-Type do not end the header block
    "c05_bad_header_lines.eml": ([("2", "invoice.pdf", "application/pdf", 300)], True),
    # 6. "From " lines in a body, an obsolete "From  :" header (mbox escapes undone)
    "c06_from_lines.eml": ([("2", "quotes.txt", "text/plain", 76)], False),
    # 7. invalid Content-Type: text/plain (RFC 2045 5.2), the name kept
    "c07_invalid_content_type.eml": (
        [("2", "report.bin", "text/plain", 300), ("3", "data.gz", "text/plain", 10)],
        True,
    ),
    # 8. unquoted names with a space or a slash, whole
    "c08_unquoted_names.eml": (
        [("2", "This is a test.txt", OCTET, 3), ("3", "attach/01", OCTET, 4)],
        True,
    ),
    # 9. "multipart/mixed;;": the forwarded message inside is found
    "c09_double_semicolon.eml": ([("2", None, "message/rfc822", 53)], True),
    # 10. a base64 forwarded message is measured decoded
    "c10_base64_rfc822.eml": ([("2", "fwd.eml", "message/rfc822", 111)], False),
    # 11. RFC 2231 language in a word, iso-8859-8-i, GB2312 holding GBK, Big5 holding HKSCS
    "c11_charsets.eml": (
        [
            ("2", "šola.txt", OCTET, 1),
            ("3", "שלום.txt", OCTET, 1),
            ("4", "報告.txt", OCTET, 1),
            ("5", "𥚃.txt", OCTET, 1),
        ],
        False,
    ),
    # 12. an RFC 2231 value is final; a file name's words are decoded without added spaces
    "c12_quoted_encoded_words.eml": (
        [("2", "=?utf-8?q?x?=.txt", OCTET, 1), ("3", "café.txt", OCTET, 1)],
        False,
    ),
    # delivery reports: the status block counts, labelled by its type
    "c13_delivery_status.eml": (
        [
            ("2", None, "message/delivery-status", 112),
            ("3", None, "text/rfc822-headers", 39),
        ],
        False,
    ),
}
# What the IMAP path cannot see: Dovecot read these header lines itself and the scan fetches
# only the header fields it needs, so nothing there looks guessed.
IMAP_MALFORMED = {"c05_bad_header_lines.eml": False}
FROM_LINE = b"From sender@example.org Mon Jan  2 10:00:00 2023\n"


def crlf(path: Path) -> bytes:
    """The fixture as mail travels (RFC 5322 lines end with CRLF)."""
    return path.read_bytes().replace(b"\n", b"\r\n")


def mboxrd(raw: bytes) -> bytes:
    """An mbox entry as mboxrd writers make it: every ">*From " line gets one more ">"."""
    return FROM_LINE + re.sub(rb"(?m)^(>*From )", rb">\1", raw) + b"\n"


class CapturingSink(StoreFolderSink):
    """The store's own sink, keeping what the scan hands it."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.got: list[MessageFacts] = []

    def add(self, folder: str, messages: list[MessageFacts]) -> None:
        self.got += messages
        super().add(folder, messages)


def imap_facts(dovecot, tmp: Path, messages: list[bytes], user: str) -> list[MessageFacts]:
    """APPEND the messages to a new Dovecot user, scan it as `auditor scan` does."""
    password = "mime-classes-password"
    dovecot.add_user(user, password)
    try:
        with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False) as client:
            client.login(user, password)
            for raw in messages:
                client.append("INBOX", raw)
        conn = open_store(tmp / f"{user}.sqlite3")
        run_id = writes.start_run(conn)
        sid = writes.source_id(conn, "imap", "asso", f"imap://{user}@{dovecot.host}")
        writes.record_source_status(conn, run_id, sid, "ok")
        account = ImapAccount(
            name="asso",
            host=dovecot.host,
            port=dovecot.imap_port,
            username=user,
            security="none",
            secret=lambda: password,
        )
        sink = CapturingSink(conn, sid, run_id)
        AccountScanner(account, sink).run()
        # BODY.PEEK only, folders EXAMINEd: no message gained a flag (\\Seen above all)
        assert all(not f for f in _flags(dovecot, user, password)), "the scan changed a flag"
        return sorted(sink.got, key=lambda m: m.key)
    finally:
        dovecot.remove_user(user)


def _flags(dovecot, user: str, password: str) -> list[tuple]:
    with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False) as client:
        client.login(user, password)
        client.select_folder("INBOX", readonly=True)
        answers = client.fetch(client.search(), ["FLAGS"]).values()
        return [tuple(f for f in a[b"FLAGS"] if f != b"\\Recent") for a in answers]


def maildir_facts(root: Path, messages: list[bytes]) -> list[MessageFacts]:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for i, raw in enumerate(messages, 1):
        (root / "cur" / f"{i:04d}.mime:2,").write_bytes(raw)
    (inbox,) = collect_maildir(root)
    keys = {m.key: m for m in inbox.messages}
    return [keys[maildir_key(f"{i:04d}.mime")] for i in range(1, len(messages) + 1)]


def mbox_facts(path: Path, messages: list[bytes]) -> list[MessageFacts]:
    path.write_bytes(b"".join(mboxrd(raw) for raw in messages))
    (inbox,) = collect_mbox(path)
    return sorted(inbox.messages, key=lambda m: m.key)


def read_three_ways(dovecot, tmp: Path, named: list[tuple[str, bytes]], tag: str):
    """{path: {name: MessageFacts}} for the messages read over IMAP, Maildir and mbox."""
    messages = [raw for _name, raw in named]
    paths = {
        "imap": imap_facts(dovecot, tmp, messages, f"{tag}{os.getpid()}"),
        "maildir": maildir_facts(tmp / f"{tag}-Maildir", messages),
        "mbox": mbox_facts(tmp / f"{tag}.mbox", messages),
    }
    out: dict[str, dict[str, MessageFacts]] = {}
    for path, facts in paths.items():
        assert len(facts) == len(named), f"{path}: {len(facts)} messages"
        out[path] = {name: f for (name, _raw), f in zip(named, facts, strict=True)}
    return out


@pytest.fixture(scope="module")
def three_paths(dovecot, tmp_path_factory) -> dict[str, dict[str, MessageFacts]]:
    tmp = tmp_path_factory.mktemp("mime_classes")
    return read_three_ways(dovecot, tmp, [(p.name, crlf(p)) for p in FILES], "mime")


def summary(facts: MessageFacts) -> list[tuple[str, str | None, str, int]]:
    return [(a.part, a.filename, a.content_type, a.size_bytes) for a in facts.attachments]


def test_every_class_has_a_fixture_and_an_expectation():
    assert sorted(EXPECTED) == [p.name for p in FILES]


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
@pytest.mark.parametrize("path", ["imap", "maildir", "mbox"])
def test_each_path_gives_the_attachments_a_careful_reader_gives(three_paths, path, fixture):
    facts = three_paths[path][fixture]
    attachments, malformed = EXPECTED[fixture]
    assert summary(facts) == attachments
    if path == "imap":
        malformed = IMAP_MALFORMED.get(fixture, malformed)
    assert facts.malformed is malformed, facts.malformed_reasons
    if malformed:
        assert facts.malformed_reasons  # always with a reason


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_the_three_paths_agree_on_the_message(three_paths, fixture):
    imap, maildir, mbox = (three_paths[p][fixture] for p in ("imap", "maildir", "mbox"))
    for local in (maildir, mbox):
        assert summary(local) == summary(imap)
        assert (local.from_addr, local.subject, local.list_id, local.message_id) == (
            imap.from_addr,
            imap.subject,
            imap.list_id,
            imap.message_id,
        )
        assert local.size_bytes == imap.size_bytes  # mbox: escapes and separators undone
        for mine, theirs in zip(local.attachments, imap.attachments, strict=True):
            # Dovecot counts the last line ending of an encoded forwarded message in it
            slack = 2 if mine.content_type.startswith("message/") else 0
            assert abs(mine.encoded_bytes - theirs.encoded_bytes) <= slack


def test_headers_after_a_bad_line_are_read_on_every_path(three_paths):
    for path in ("imap", "maildir", "mbox"):
        facts = three_paths[path]["c05_bad_header_lines.eml"]
        assert facts.from_addr == "alice@example.org", path
        assert facts.subject == "obsolete space before the colon", path
        assert three_paths[path]["c06_from_lines.eml"].from_addr == "alice@example.org", path


def test_quoted_encoded_words_in_a_list_id_stay_as_written(three_paths):
    for path in ("imap", "maildir", "mbox"):
        facts = three_paths[path]["c12_quoted_encoded_words.eml"]
        assert facts.list_id == '"=?utf-8?q?caf=C3=A9?=" <club.example.org>', path


# --- real, public mail: CPython's email test corpus (PSF licence, read where it is installed) --

# What only the local path can see: the scan downloads no body and no part's whole header, so
# a skipped header line, a missing close delimiter or base64 that does not decode are seen in
# the bytes only. These may be missing over IMAP; nothing may be flagged over IMAP only.
LOCAL_ONLY = {"header-line", "multipart-not-closed", "bad-encoding"}


def test_cpython_corpus_gives_the_same_attachments_on_the_three_paths(dovecot, tmp_path):
    corpus = [
        (name, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        for name, raw in cpython_corpus_messages()
    ]
    if not corpus:
        pytest.skip("this interpreter does not ship test.test_email")
    got = read_three_ways(dovecot, tmp_path, corpus, "cpython")
    for name, _raw in corpus:
        imap, maildir, mbox = (got[p][name] for p in ("imap", "maildir", "mbox"))
        # the same bytes, read by the same parser (keys, dates, flags: the store's own)
        same = {"key": 0, "internal_date": None, "seen": False, "flags": ()}
        assert replace(mbox, **same) == replace(maildir, **same), name
        assert [(a.part, a.filename, a.content_type) for a in imap.attachments] == [
            (a.part, a.filename, a.content_type) for a in maildir.attachments
        ], name
        for over_imap, local in zip(imap.attachments, maildir.attachments, strict=True):
            # an estimate over IMAP (no body is downloaded): exact for 76-character base64
            # lines without padding; CPython's hand-made GIFs have shorter lines
            assert abs(over_imap.size_bytes - local.size_bytes) <= 8, name
        assert (imap.from_addr, imap.subject, imap.message_id, imap.size_bytes) == (
            maildir.from_addr,
            maildir.subject,
            maildir.message_id,
            maildir.size_bytes,
        ), name
        assert set(imap.malformed_reasons) <= set(maildir.malformed_reasons), name
        assert set(maildir.malformed_reasons) - set(imap.malformed_reasons) <= LOCAL_ONLY, name

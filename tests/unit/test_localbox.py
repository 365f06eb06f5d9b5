"""Local mail stores: mbox files, Thunderbird folder trees and Maildir++ become FolderFacts."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

import auditor.collect.mail.localbox as localbox
from auditor.collect.mail.localbox import collect_maildir, collect_mbox, special_use_from_name
from auditor.errors import Problem, SourceError
from tests.helpers import assert_bilingual, raised

DATA = Path(__file__).resolve().parent.parent / "data" / "mail"
MBOX = DATA / "mbox" / "Inbox.mbox"
THUNDERBIRD = DATA / "thunderbird" / "Local Folders"


def by_id(folder):
    return {m.message_id: m for m in folder.messages}


# --- errors --------------------------------------------------------------------------------


def test_missing_mbox_is_one_clear_error(tmp_path):
    missing = tmp_path / "x" / "y"
    with pytest.raises(SourceError) as caught:
        collect_mbox(missing)
    assert str(caught.value) == f"mbox not found: {missing}"
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 3


def test_missing_maildir_is_one_clear_error(tmp_path):
    with pytest.raises(SourceError, match=r"^maildir not found: .*nowhere$"):
        collect_maildir(tmp_path / "nowhere")


def test_a_file_that_is_not_an_mbox_is_refused():
    with pytest.raises(SourceError, match="not an mbox file"):
        collect_mbox(DATA / "mbox" / "notes.txt")


def test_a_folder_without_cur_and_new_is_not_a_maildir(tmp_path):
    with pytest.raises(SourceError, match="not a Maildir"):
        collect_maildir(tmp_path)


# --- one mbox file -------------------------------------------------------------------------


def test_mbox_file_is_one_folder_named_after_its_stem():
    (folder,) = collect_mbox(MBOX)
    assert folder.name == "Inbox"
    assert folder.special_use is None


def test_status_and_mozilla_flags_decide_seen():
    msgs = by_id(collect_mbox(MBOX)[0])
    assert msgs["<one@example.org>"].seen is True  # Status: RO
    assert msgs["<two@example.org>"].seen is True  # X-Mozilla-Status 0001 beats Status: O
    assert msgs["<four@example.fr>"].seen is False  # Status: O
    assert msgs["<six@example.com>"].flags == ("\\Seen", "\\Answered")  # 0x0003
    assert msgs["<four@example.fr>"].flags == ("\\Flagged",)  # X-Status: F


def test_thunderbird_expunged_messages_are_skipped_silently():
    folder = collect_mbox(MBOX)[0]
    assert "<three@example.com>" not in by_id(folder)
    assert not any("message 3" in error for error in folder.errors)


def test_key_is_the_one_based_position_in_the_file():
    keys = {m.message_id: m.key for m in collect_mbox(MBOX)[0].messages}
    assert keys == {
        "<one@example.org>": 1,
        "<two@example.org>": 2,
        "<four@example.fr>": 4,
        "<six@example.com>": 5,
    }


def test_internal_date_comes_from_the_from_line_else_the_date_header():
    msgs = by_id(collect_mbox(MBOX)[0])
    assert msgs["<one@example.org>"].internal_date == "2026-09-14T08:00:00+00:00"
    # Date header 09:59:50 +0200 is 07:59:50Z: the From line was used, not the header.
    assert msgs["<two@example.org>"].internal_date == "2026-09-15T10:00:00+00:00"
    # An epoch placeholder on the From line: fall back to the Date header.
    assert msgs["<four@example.fr>"].internal_date == "2026-09-17T10:00:00+00:00"


def test_escaped_from_in_a_body_does_not_split_the_message():
    folder = collect_mbox(MBOX)[0]
    assert len(folder.messages) == 4
    first = by_id(folder)["<one@example.org>"]
    raw = MBOX.read_bytes()
    start = raw.index(b"\n") + 1
    end = raw.index(b"\n\nFrom - Tue")
    # the message without its separator line, its ">From " escapes undone (mboxrd)
    escapes = raw[start:end].count(b"\n>From ")
    assert escapes
    assert first.size_bytes == end + 1 - start - escapes


def test_empty_message_is_skipped_with_a_line_naming_folder_and_position():
    (folder,) = collect_mbox(DATA / "mbox" / "Truncated.mbox")
    assert folder.skipped == 1
    assert folder.errors == ["Truncated: message 1 is empty"]
    assert [(m.key, m.message_id) for m in folder.messages] == [(2, "<after-empty@example.com>")]


def test_a_clean_mbox_reports_no_error():
    folder = collect_mbox(MBOX)[0]
    assert (folder.skipped, folder.errors) == (0, [])


def test_a_message_that_cannot_be_read_is_counted_not_fatal(monkeypatch):
    real = localbox.message_facts

    def flaky(raw, key, *args, **kwargs):
        if key == 2:
            raise ValueError("boom")
        return real(raw, key, *args, **kwargs)

    monkeypatch.setattr(localbox, "message_facts", flaky)
    folder = collect_mbox(MBOX)[0]
    assert folder.skipped == 1
    assert folder.errors == ["Inbox: message 2 could not be read: boom"]
    assert len(folder.messages) == 3
    (line,) = folder.errors
    assert line.localized("fr") == "Inbox : le message 2 n'a pas pu être lu : boom"
    assert line.values == {"number": 2, "error": "boom"}  # the number stays a number
    # a scan puts the account or host first: the folder stays second, in both languages
    outer = line.under("asso")
    assert outer == "asso: Inbox: message 2 could not be read: boom"
    assert outer.localized("fr") == "asso : Inbox : le message 2 n'a pas pu être lu : boom"


def test_crlf_mbox_is_read_like_an_lf_one(tmp_path):
    crlf = tmp_path / "Sent"
    crlf.write_bytes(MBOX.read_bytes().replace(b"\n", b"\r\n"))
    lf = collect_mbox(MBOX)[0]
    folder = collect_mbox(crlf)[0]
    assert folder.special_use == "Sent"
    assert [m.message_id for m in folder.messages] == [m.message_id for m in lf.messages]
    assert [m.seen for m in folder.messages] == [m.seen for m in lf.messages]
    assert [m.internal_date for m in folder.messages] == [m.internal_date for m in lf.messages]


def test_empty_mbox_file_is_an_empty_folder(tmp_path):
    empty = tmp_path / "Drafts.mbox"
    empty.touch()
    (folder,) = collect_mbox(empty)
    assert (folder.name, folder.special_use, folder.messages) == ("Drafts", "Drafts", [])


def test_no_body_is_kept():
    for message in collect_mbox(MBOX)[0].messages:
        for value in (message.subject, message.list_unsubscribe, message.message_id):
            assert value is None or "Premier message" not in value
        assert not hasattr(message, "__dict__")  # slots only: nothing smuggled in


# --- Thunderbird folder tree ---------------------------------------------------------------


def test_thunderbird_tree_lists_mbox_files_and_sbd_subfolders():
    folders = {f.name: f for f in collect_mbox(THUNDERBIRD)}
    # Trash is empty but has its .msf index; "Unsent Messages" is empty without one;
    # .msf, .dat, .json and hidden files are not folders.
    assert sorted(folders) == ["Archives", "Archives/2021", "Inbox", "Trash"]
    assert folders["Archives/2021"].special_use is None
    assert folders["Archives"].special_use == "Archive"
    assert folders["Trash"].special_use == "Trash"
    assert folders["Trash"].messages == []
    assert [m.subject for m in folders["Archives/2021"].messages] == ["Archive 2021"]
    assert folders["Archives/2021"].messages[0].seen is False
    assert folders["Inbox"].messages[0].seen is True


def test_thunderbird_tree_order_is_stable():
    assert [f.name for f in collect_mbox(THUNDERBIRD)] == [
        "Archives",
        "Archives/2021",
        "Inbox",
        "Trash",
    ]


# --- Maildir++ -----------------------------------------------------------------------------


def test_shipped_maildir_fixture_is_read_without_flags():
    # Checked-in tree: names without ":2,FLAGS" so that it checks out on Windows too.
    folders = collect_maildir(DATA / "maildir")
    assert [(f.name, f.special_use, len(f.messages)) for f in folders] == [
        ("INBOX", None, 2),
        ("Sent", "Sent", 1),
        ("Trash", "Trash", 1),
    ]
    assert not any(m.seen for f in folders for m in f.messages)
    assert all(f.skipped == 0 for f in folders)  # .gitkeep and maildirfolder are not mail


def make_maildir(root: Path) -> Path:
    """A tiny Maildir++ tree (built here: ':' in file names does not check out on Windows)."""
    eml = DATA / "eml"
    layout = {
        "cur/1700000001.M1P1.host:2,S": "rfc2231_filename.eml",
        "cur/1700000002.M2P1.host:2,FR": "rfc2047_filename.eml",
        "new/1700000003.M3P1.host": "auto_reply.eml",
        "tmp/1700000004.M4P1.host": "crlf.eml",  # delivery in progress: not a message yet
        ".Sent/cur/1700000005.M5P1.host:2,S": "forward_rfc822.eml",
        ".Archives.2021/cur/1700000006.M6P1.host:2,ST": "newsletter_mailto_only.eml",
        ".&AMk-l&AOk-ments envoy&AOk-s/cur/1700000007.M7P1.host:2,S": "crlf.eml",
    }
    for name, source in layout.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(eml / source, target)
        os.utime(target, (1_790_000_000, 1_790_000_000))
    for folder in ("", ".Sent", ".Archives.2021", ".&AMk-l&AOk-ments envoy&AOk-s"):
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)
    (root / ".Sent" / "maildirfolder").touch()
    (root / "dovecot.index").write_bytes(b"\0\0")
    return root


def test_maildir_root_is_inbox_and_subfolders_are_named_by_dots(tmp_path):
    folders = collect_maildir(make_maildir(tmp_path))
    names = [(f.name, f.special_use, len(f.messages)) for f in folders]
    assert names == [
        ("INBOX", None, 3),
        ("Archives/2021", None, 1),
        ("Sent", "Sent", 1),
        ("Éléments envoyés", "Sent", 1),  # modified UTF-7, RFC 3501 section 5.1.3
    ]


def test_maildir_seen_and_flags_come_from_the_info_suffix(tmp_path):
    inbox = collect_maildir(make_maildir(tmp_path))[0]
    msgs = by_id(inbox)
    assert msgs["<facture-ete@example.org>"].seen is True
    assert msgs["<planning@example.fr>"].seen is False
    assert msgs["<planning@example.fr>"].flags == ("\\Flagged", "\\Answered")
    assert msgs["<auto@example.com>"].seen is False  # new/: never seen
    archived = collect_maildir(tmp_path)[1].messages[0]
    assert archived.flags == ("\\Seen", "\\Deleted")


def test_maildir_key_is_a_stable_63_bit_hash_of_the_unique_name(tmp_path):
    inbox = collect_maildir(make_maildir(tmp_path))[0]
    msg = by_id(inbox)["<facture-ete@example.org>"]
    digest = hashlib.blake2b(b"1700000001.M1P1.host", digest_size=8).digest()
    assert msg.key == int.from_bytes(digest, "big") & (2**63 - 1)
    assert 0 <= msg.key < 2**63
    # Flags change the file name after ':' but not the key.
    old = tmp_path / "cur" / "1700000001.M1P1.host:2,S"
    old.rename(tmp_path / "cur" / "1700000001.M1P1.host:2,RS")
    again = by_id(collect_maildir(tmp_path)[0])["<facture-ete@example.org>"]
    assert again.key == msg.key


def test_maildir_internal_date_is_the_file_mtime(tmp_path):
    inbox = collect_maildir(make_maildir(tmp_path))[0]
    # 1_790_000_000 is 2026-09-21T14:13:20Z; the Date header says 2026-09-15.
    assert {m.internal_date for m in inbox.messages} == {"2026-09-21T14:13:20+00:00"}


def test_maildir_falls_back_to_the_date_header_when_mtime_is_lost(tmp_path):
    make_maildir(tmp_path)
    os.utime(tmp_path / "cur" / "1700000001.M1P1.host:2,S", (0, 0))
    msg = by_id(collect_maildir(tmp_path)[0])["<facture-ete@example.org>"]
    assert msg.internal_date == "2026-09-15T08:00:00+00:00"


def test_maildir_tmp_is_ignored(tmp_path):
    inbox = collect_maildir(make_maildir(tmp_path))[0]
    assert "<crlf@example.fr>" not in by_id(inbox)


# --- special use ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Trash", "Trash"),
        ("Deleted Items", "Trash"),
        ("Deleted Messages", "Trash"),
        ("Corbeille", "Trash"),
        ("Éléments supprimés", "Trash"),
        ("[Gmail]/Trash", "Trash"),
        ("[Gmail]/Corbeille", "Trash"),
        ("Junk", "Junk"),
        ("SPAM", "Junk"),
        ("Junk E-mail", "Junk"),
        ("Courrier indésirable", "Junk"),
        ("Indésirables", "Junk"),
        ("Sent", "Sent"),
        ("Sent Items", "Sent"),
        ("sent messages", "Sent"),
        ("[Gmail]/Sent Mail", "Sent"),
        ("Envoyés", "Sent"),
        ("Éléments envoyés", "Sent"),
        ("Elements envoyes", "Sent"),
        ("INBOX/Messages envoyés", "Sent"),
        ("Drafts", "Drafts"),
        ("Brouillons", "Drafts"),
        ("Archive", "Archive"),
        ("Archives", "Archive"),
        ("[Gmail]/All Mail", "All"),
        ("Inbox", None),
        ("INBOX", None),
        ("Archives/2021", None),
        ("Trash/Old", None),
        ("Sentinelles", None),
        ("", None),
    ],
)
def test_special_use_is_guessed_from_the_last_path_component(name, expected):
    assert special_use_from_name(name) == expected


# --------------------------------------------------------------------------------------------
# Error lines of mbox and Maildir, in both languages
# --------------------------------------------------------------------------------------------


def test_missing_or_wrong_mail_stores(tmp_path):
    missing = tmp_path / "nowhere"
    assert_bilingual(raised(lambda: collect_mbox(missing)), f"mbox not found: {missing}")
    assert_bilingual(raised(lambda: collect_maildir(missing)), f"maildir not found: {missing}")
    notes = DATA / "mbox" / "notes.txt"
    assert_bilingual(
        raised(lambda: collect_mbox(notes)),
        f"not an mbox file (no 'From ' line at the start): {notes}",
    )
    assert_bilingual(
        raised(lambda: collect_maildir(tmp_path)),
        f"not a Maildir (no cur/ and new/ folders): {tmp_path}",
    )


def test_an_mbox_file_that_cannot_be_read_is_a_line_about_its_folder(tmp_path):
    gone = tmp_path / "Inbox"
    folder = localbox._read_mbox_file(gone, "Inbox")
    (line,) = folder.errors
    assert_bilingual(line, f"Inbox: cannot read {gone}: No such file or directory", "Inbox")
    assert line.localized("fr") == f"Inbox : impossible de lire {gone} : No such file or directory"
    assert folder.skipped == 0  # no message was lost: the file itself was not there


def test_an_empty_mbox_message_is_a_line_about_its_folder():
    (folder,) = collect_mbox(DATA / "mbox" / "Truncated.mbox")
    (line,) = folder.errors
    assert_bilingual(line, "Truncated: message 1 is empty", "Truncated")
    assert line.localized("fr") == "Truncated : le message 1 est vide"


def test_a_maildir_message_that_cannot_be_read(tmp_path):
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "cur" / "1700000000.M1.host:2,S").mkdir()  # a folder where a file should be
    (folder,) = collect_maildir(tmp_path)
    (line,) = folder.errors
    assert_bilingual(
        line, "INBOX: message 1 (1700000000.M1.host:2,S) could not be read: Is a directory", "INBOX"
    )
    assert folder.skipped == 1


def test_stored_folder_lines_come_back_in_french():
    (folder,) = collect_mbox(DATA / "mbox" / "Truncated.mbox")
    stored = json.loads(json.dumps([line.to_json() for line in folder.errors]))
    (back,) = [Problem.from_json(item) for item in stored]
    assert back == folder.errors[0]
    assert back.localized("fr") == "Truncated : le message 1 est vide"

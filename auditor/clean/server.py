"""The IMAP writes of `auditor clean`, and the reads that check before them.

Removing a message: `UID STORE +FLAGS.SILENT (\\Deleted)` then `UID EXPUNGE` of those UIDs
only (RFC 4315 UIDPLUS, 2.1): a bare EXPUNGE would also remove what someone else marked
\\Deleted. Moving: `UID MOVE` (RFC 6851) where offered, else UID COPY + \\Deleted + UID
EXPUNGE. Without UIDPLUS nothing is removed (there is no safe way).

Gmail (X-GM-EXT-1, https://developers.google.com/gmail/imap/imap-extensions): a folder is
a label, and removing a message from a label folder only removes the label. Deleting is a
move to the \\Trash folder ([Gmail]/Trash), then an expunge there of the same message found
by its X-GM-MSGID; one message under several labels is one message (one X-GM-MSGID).
"""

from __future__ import annotations

import imaplib
import re
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from auditor.collect.mail.fetch_parser import FetchParseError, parse_fetch
from auditor.collect.mail.imap import FetchRefused, fetch_raw, uid_set

_MSGID = re.compile(rb"<[^<>\s]*>")


# The Message-ID field of a header block, with its folded lines (RFC 5322 3.6.4, 2.2.3).
_MSGID_FIELD = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def header_message_id(head: bytes) -> str | None:
    """The Message-ID of a header block, as the scan stores it (`<...>`, else the text)."""
    field = _MSGID_FIELD.search(head)
    if field is None:
        return None
    value = re.sub(rb"\s+", b" ", field.group(1)).strip()
    match = _MSGID.search(value)
    text = (match.group(0) if match else value).decode("utf-8", "replace")
    return text or None


DELETED = b"\\Deleted"
# A lost connection: the run stops and is resumed by running the command again.
LOST = (OSError, socket.timeout, imaplib.IMAP4.abort, IMAPClientAbortError, EOFError)
REFUSED = (IMAPClientError, imaplib.IMAP4.error, FetchParseError)


class Capabilities:
    def __init__(self, client: IMAPClient) -> None:
        caps = {c.upper() for c in client.capabilities()}
        self.move = b"MOVE" in caps
        self.uidplus = b"UIDPLUS" in caps
        self.gmail = b"X-GM-EXT-1" in caps


def fetch(client: IMAPClient, uids: Sequence[int], items: str) -> dict[int, dict[bytes, Any]]:
    """{uid: fields} for the messages of `uids` that still exist (answers about other UIDs,
    and unsolicited FLAGS, are left out: RFC 3501 7.4.2)."""
    if not uids:
        return {}
    try:
        answers = fetch_raw(client, [uid_set(uids)], items)
    except FetchRefused as exc:  # some were expunged meanwhile: the others answered
        answers = exc.answers
    wanted = set(uids)
    found: dict[int, dict[bytes, Any]] = {}
    for _seq, fields in parse_fetch(answers):
        uid = fields.get(b"UID")
        if type(uid) is int and uid in wanted:
            found.setdefault(uid, {}).update(fields)
    return found


def present(client: IMAPClient, uids: Sequence[int]) -> dict[int, tuple[bytes, ...]]:
    """{uid: flags} of the UIDs still in the selected folder."""
    return {
        uid: tuple(f.get(b"FLAGS") or ())
        for uid, f in fetch(client, uids, "UID FLAGS").items()
        if b"FLAGS" in f
    }


def _expunge(client: IMAPClient, uids: Sequence[int]) -> set[int]:
    """Remove these UIDs; the ones that were still there (the STORE answers for them)."""
    if not uids:
        return set()
    # not .SILENT: the FETCH answers say which messages really got \Deleted (one another
    # client expunged a moment ago gets none), RFC 3501 6.4.6; read by the fast parser
    imap = client._imap
    tag = imap._command("UID", "STORE", uid_set(uids), "+FLAGS", "(\\Deleted)")
    typ, data = imap._command_complete("STORE", tag)
    answers = [d for d in imap.untagged_responses.pop("FETCH", []) if d is not None]
    if typ != "OK":
        raise imaplib.IMAP4.error(f"STORE refused: {data!r:.200}")
    answered = {f.get(b"UID") for _seq, f in parse_fetch(answers)} & set(uids)
    unsure = [u for u in uids if u not in answered]
    if unsure:  # no answer when the flag was already set (by our STORE before a cut, or by
        # someone): NOOP lets the server say what was expunged meanwhile; those still here
        # are ours to remove
        client.noop()
        answered |= set(present(client, unsure))
    client.uid_expunge(uids)  # RFC 4315: only these UIDs
    return answered


def trash_folder(client: IMAPClient) -> str | None:
    for flags, _delim, name in client.list_folders():
        if b"\\Trash" in flags:
            return name
    return None


def ensure_folder(client: IMAPClient, name: str) -> None:
    if not client.folder_exists(name):
        client.create_folder(name)


def move(client: IMAPClient, caps: Capabilities, uids: Sequence[int], target: str) -> None:
    if caps.move:
        client.move(uids, target)
    else:  # the caller checked caps.uidplus
        client.copy(uids, target)
        _expunge(client, uids)


def remove(
    client: IMAPClient,
    caps: Capabilities,
    folder: str,
    uids: Sequence[int],
    gm_ids: Sequence[int] = (),
) -> set[int]:
    """Take the messages off the server (quota freed); the UIDs that were still there."""
    if caps.gmail:
        trash = trash_folder(client)
        if trash and folder != trash:
            move(client, caps, uids, trash)
            client.select_folder(trash)
            in_trash = [u for g in gm_ids for u in client.search(["X-GM-MSGID", g])]
            if in_trash:
                _expunge(client, in_trash)
            client.select_folder(folder)
            return set(uids)
    return _expunge(client, uids)


def search_copies(
    client: IMAPClient, wanted: dict[tuple[str | None, int], list[int]]
) -> dict[tuple[str | None, int], list[int]]:
    """UIDs of the selected folder per (Message-ID, size), for the keys of `wanted`."""
    found: dict[tuple[str | None, int], list[int]] = {}
    uids = client.search(["ALL"])
    if not uids:
        return found

    for chunk in _chunks(sorted(uids), 2000):
        got = fetch(client, chunk, "UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]")
        for uid, f in got.items():
            key = (
                header_message_id(f.get(b"BODY[HEADER.FIELDS (MESSAGE-ID)]") or b""),
                f.get(b"RFC822.SIZE"),
            )
            if key in wanted:
                found.setdefault(key, []).append(uid)  # type: ignore[arg-type]
    return found


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

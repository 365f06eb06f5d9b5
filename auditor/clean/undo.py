"""`auditor clean --undo RUN`: every message of a clean run back where it was.

Each copy is read from the backup and its SHA-256 checked first (a damaged copy is said,
never appended). Before an APPEND, the folder is searched for the same message (Message-ID
and size, then the SHA-256 of the candidates' bodies): a message already there (never
removed, or put back by an undo cut short) is not appended twice. The APPEND carries the
journaled flags and INTERNALDATE (RFC 3501 6.3.11). A message moved to another server
folder (--to-folder) is appended back, then removed from that folder.
"""

from __future__ import annotations

from collections import defaultdict

from imapclient.datetime_util import parse_to_datetime

from auditor.clean import journal
from auditor.clean.apply import Outcome
from auditor.clean.backup import read_copy, sha256
from auditor.clean.journal import Entry
from auditor.clean.plan import SLIM
from auditor.clean.server import (
    LOST,
    REFUSED,
    Capabilities,
    _expunge,
    ensure_folder,
    fetch,
    search_copies,
)
from auditor.collect.mail.imap import ImapAccount, connect
from auditor.errors import Problem, SourceError

UNDOABLE = ("saved", "acting", "done", "verified")


def _holding(client, entries: list[Entry], home: bool = True) -> dict[int, list[int]]:
    """{entry id: UIDs of the selected folder holding that exact message}.

    A copy counts for an entry when it is the entry's own UID (never removed), or a UID
    above every journaled one (appended since, by an undo cut short), each claimed once:
    the oldest copy a duplicate removal kept (a lower UID) is not taken for the removed
    copies, so undoing MAIL005 gives back every copy. In another folder (`home` false: the
    target of a move) any copy counts, each once."""
    wanted = {(e.message_id, e.size_bytes): [] for e in entries}
    found = search_copies(client, wanted)
    above = max(e.uid for e in entries)
    claimed: set[int] = set()
    held: dict[int, list[int]] = {}
    for e in entries:
        uids = [u for u in found.get((e.message_id, e.size_bytes), []) if u not in claimed]
        if home:
            uids = [u for u in uids if u == e.uid or u > above]
        if not uids:
            continue
        bodies = fetch(client, uids, "UID BODY.PEEK[]")
        same = [u for u, b in bodies.items() if sha256(b.get(b"BODY[]") or b"") == e.sha256]
        if same:
            pick = e.uid if e.uid in same else min(same)
            claimed.add(pick)
            held[e.id] = [pick]
    return held


def undo_account(conn, clean_run: int, account: ImapAccount, outcome: Outcome) -> None:
    todo = [e for e in journal.entries(conn, clean_run, UNDOABLE) if e.account == account.name]
    if not todo:
        return
    client = connect(account)
    try:
        caps = Capabilities(client)
        by_folder: dict[str, list[Entry]] = defaultdict(list)
        for e in todo:
            by_folder[e.folder].append(e)
        for folder, entries in by_folder.items():
            try:
                _restore_folder(conn, client, caps, account, folder, entries, outcome)
            except LOST:
                raise
            except REFUSED as exc:
                outcome.lines.append(
                    Problem("clean.line.refused", at=(account.name, folder), error=str(exc)[:200])
                )
                outcome.partial = True
    except LOST:
        outcome.partial = True
        raise SourceError("clean.error.connection_lost", at=(account.name,)) from None
    finally:
        try:
            client.logout()
        except Exception:  # already gone
            pass


def _drop_slimmed(client, e: Entry) -> None:
    """Remove the light copies `auditor clean --slim` made of this message (found by the
    X-Auditor-Slimmed header naming its SHA-256), once the original is back in the folder."""
    if e.action in SLIM and e.sha256:
        from auditor.clean.slimming import slim_copies

        copies = slim_copies(client, e.sha256)
        if copies:
            _expunge(client, copies)


def _restore_folder(conn, client, caps, account, folder, entries, outcome: Outcome) -> None:
    at = (account.name, folder)
    ensure_folder(client, folder)  # a folder deleted since is made again
    client.select_folder(folder)
    held = _holding(client, entries)
    moved: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        if e.action == "move" and e.target:
            moved[e.target].append(e)  # journaled "restored" once the target copy is gone
        if e.id in held:
            _drop_slimmed(client, e)
            if not (e.action == "move" and e.target):
                journal.mark(conn, [e.id], "restored", "already in place")
            continue
        raw = read_copy(e.backup_path, e.backup_offset, e.backup_length) if e.backup_path else b""
        if not e.backup_path or sha256(raw) != e.sha256:
            outcome.lines.append(Problem("clean.line.backup_damaged", at=at, uid=e.uid))
            outcome.partial = True
            moved[e.target or ""] = [m for m in moved.get(e.target or "", []) if m.id != e.id]
            continue
        flags = [f for f in (e.flags or "").split() if f.lower() != "\\recent"]
        date = e.internal_date
        when = parse_to_datetime(date.encode(), normalise=False) if date else None
        client.append(folder, raw, flags, msg_time=when)
        _drop_slimmed(client, e)  # the original is back: its light copy goes
        if not (e.action == "move" and e.target):
            journal.mark(conn, [e.id], "restored")
    for target, group in moved.items():  # then the copy in the target folder goes
        if group and client.folder_exists(target):
            client.select_folder(target)
            copies = _holding(client, group, home=False)
            uids = [u for e in group for u in copies.get(e.id, [])[:1]]
            if uids:
                _expunge(client, uids)
            client.select_folder(folder)
        journal.mark(conn, [e.id for e in group], "restored")

"""Carrying out a journaled clean run on the IMAP server, batch by batch.

For each folder, each batch goes: re-check and fetch whole (`BODY.PEEK[]`, flags,
INTERNALDATE) -> write the copies and fsync -> journal "saved" -> read the flags again ->
journal "acting" -> the server change -> journal "done" -> check the UIDs are gone from the
folder -> journal "verified". A crash anywhere leaves the journal one step behind the
server at most; the next run reads the server to find out (see `_settle`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from imapclient.datetime_util import parse_to_datetime

from auditor.clean import journal
from auditor.clean.backup import BackupFailed, BackupWriter, backup_file, read_copy, sha256
from auditor.clean.journal import Entry
from auditor.clean.plan import SLIM
from auditor.clean.server import (
    LOST,
    REFUSED,
    Capabilities,
    ensure_folder,
    fetch,
    header_message_id,
    move,
    present,
)
from auditor.clean.server import remove as remove_messages
from auditor.collect.mail.imap import ImapAccount, connect, uid_set
from auditor.errors import Problem, SourceError

BATCH = 1000  # messages per fetch, fsync and server change...
BATCH_BYTES = 64 * 1024 * 1024  # ...and at most this much mail held in memory at once


def batches(entries: list[Entry], count: int, size: int) -> Iterator[list[Entry]]:
    """Runs of at most `count` messages and `size` bytes (a message larger than `size` goes
    alone): ten photos of 30 MB are not held in memory together."""
    chunk: list[Entry] = []
    held = 0
    for e in entries:
        if chunk and (len(chunk) >= count or held + e.size_bytes > size):
            yield chunk
            chunk, held = [], 0
        chunk.append(e)
        held += e.size_bytes
    if chunk:
        yield chunk


_DATE = re.compile(rb"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MONTHS = {
    m: i for i, m in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}


def internal_date(value: bytes | None) -> datetime | None:
    """An INTERNALDATE (RFC 3501 date-time, "04-Mar-2019 10:30:00 +0000") as an aware
    datetime; a regex is ten times faster than imapclient's parser over 10 000 messages."""
    if not value:
        return None
    m = _DATE.match(value)
    try:
        if m is None:
            return parse_to_datetime(value, normalise=False)
        day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
        offset = timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == b"-" else 1)
        return datetime(
            int(year),
            _MONTHS[mon.capitalize()],
            int(day),
            int(hh),
            int(mm),
            int(ss),
            tzinfo=timezone(offset),
        )
    except (ValueError, KeyError):
        return None


def _head(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw if end < 0 else raw[: end + 2]


def flag_text(flags) -> str:
    names = [f.decode() if isinstance(f, bytes) else str(f) for f in flags]
    return " ".join(n for n in names if n.lower() != "\\recent")


@dataclass
class Outcome:
    lines: list[Problem] = field(default_factory=list)
    partial: bool = False


class Applier:
    def __init__(
        self,
        conn,
        clean_run: int,
        archive: Path,
        batch: int = BATCH,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.run = clean_run
        self.writer = BackupWriter(archive, lambda p: journal.committed_end(conn, p))
        self.archive = archive
        self.batch = batch
        self.on_batch = on_batch or (lambda n: None)
        self.outcome = Outcome()
        self.lang = "en"  # the language of a detached attachment's note, by default

    def say(self, key: str, at: tuple[str, ...], **values) -> None:
        self.outcome.lines.append(Problem(key, at=at, **values))

    def account(self, account: ImapAccount) -> None:
        todo = journal.entries(self.conn, self.run, ("planned", "saved", "acting", "done"))
        mine = [e for e in todo if e.account == account.name]
        if not mine:
            return
        by_folder: dict[str, list[Entry]] = defaultdict(list)
        for e in mine:
            by_folder[e.folder].append(e)
        client = connect(account)
        try:
            caps = Capabilities(client)
            for folder, entries in by_folder.items():
                self._folder(client, caps, account, folder, entries)
        except LOST:
            self.outcome.partial = True
            raise SourceError("clean.error.connection_lost", at=(account.name,)) from None
        except REFUSED as exc:  # e.g. the target folder cannot be created
            self.say("clean.line.refused", (account.name,), error=str(exc)[:200])
            self.outcome.partial = True
        finally:
            try:
                client.logout()
            except Exception:  # the connection is already gone: nothing to say goodbye to
                pass

    def _folder(self, client, caps, account, folder: str, entries: list[Entry]) -> None:
        at = (account.name, folder)
        if not (caps.move or caps.uidplus):
            self.say("clean.line.no_uidplus", at)
            self.outcome.partial = True
            return
        try:
            info = client.select_folder(folder)
        except LOST:  # a subclass of imaplib's error: a cut is not a missing folder
            raise
        except REFUSED:
            self.say("clean.line.folder_gone", at, count=len(entries))
            journal.mark(self.conn, [e.id for e in entries], "skipped", "folder gone")
            return
        validity = info.get(b"UIDVALIDITY")
        unknown = [e.id for e in entries if e.uidvalidity is None]
        if unknown and validity:
            journal.set_uidvalidity(self.conn, unknown, validity)
            for e in entries:
                e.uidvalidity = e.uidvalidity or validity
        stale = [e for e in entries if e.uidvalidity != validity]
        if stale:  # RFC 3501 2.3.1.1: the UIDs now name other messages
            self.say("clean.line.uidvalidity", at, count=len(stale))
            journal.mark(self.conn, [e.id for e in stale], "skipped", "uidvalidity changed")
            entries = [e for e in entries if e.uidvalidity == validity]
        for targets in {e.target for e in entries if e.action == "move" and e.target}:
            ensure_folder(client, targets)
        for chunk in batches(entries, self.batch, BATCH_BYTES):
            try:
                self._batch(client, caps, account, folder, chunk)
            except LOST:
                raise
            except REFUSED as exc:
                self.say("clean.line.refused", at, error=str(exc)[:200])
                self.outcome.partial = True
                return
            self.on_batch(len(chunk))

    def _batch(self, client, caps, account, folder, chunk: list[Entry]) -> None:
        at = (account.name, folder)
        ids = [c.id for c in chunk]
        # two commits per batch: "saved" and "acting" together once the copies are on disk
        # (fsync'd) and the flags read again, before the server change; "done" and
        # "verified" after it. A crash between leaves "acting", which a re-run settles.
        with journal.grouped(self.conn):
            planned = [e for e in chunk if e.state == "planned"]
            if planned:
                self._save(client, caps, at, planned)
            # copied, not yet changed on the server (this run's, or an earlier run's)
            ready = journal.entries_by_id(self.conn, ids, ("saved", "acting"))
            if ready:
                ready = self._prepare(client, at, ready)
        with journal.grouped(self.conn):
            if ready:
                self._change(client, caps, at, folder, ready)
            done = journal.entries_by_id(self.conn, ids, ("done",))
            if done:
                self._verify(client, at, done)

    def _gmail_seen(self) -> set[int]:
        """X-GM-MSGIDs this run already saved: Gmail shows one message in each of its label
        folders; it is saved and acted on once (deleting it removes every label)."""
        return journal.gmail_ids(self.conn, self.run)

    def _save(self, client, caps, at, planned: list[Entry]) -> None:
        items = "UID RFC822.SIZE FLAGS INTERNALDATE BODY.PEEK[]"
        if caps.gmail:
            items += " X-GM-MSGID"
        got = fetch(client, [e.uid for e in planned], items)
        keep, gone, changed, labels = [], [], [], []
        for e in planned:
            f = got.get(e.uid)
            raw = f.get(b"BODY[]") if f else None
            if f is None or raw is None:
                gone.append(e.id)
            elif caps.gmail and f.get(b"X-GM-MSGID") in self._gmail_seen():
                labels.append(e.id)  # one Gmail message seen under another label
            elif f.get(b"RFC822.SIZE") != e.size_bytes or (
                header_message_id(_head(raw)) != e.message_id
            ):
                changed.append(e.id)
            else:
                keep.append((e, f, raw))
        if gone:
            self.say("clean.line.gone", at, count=len(gone))
            journal.mark(self.conn, gone, "skipped", "gone before clean")
        if changed:
            self.say("clean.line.changed", at, count=len(changed))
            journal.mark(self.conn, changed, "skipped", "changed since the scan")
        if labels:
            journal.mark(self.conn, labels, "skipped", "same Gmail message, another label")
        if not keep:
            return
        writes = []
        files: dict[tuple, Path] = {}
        for e, f, raw in keep:
            when = internal_date(f.get(b"INTERNALDATE"))
            key = (e.account, e.action, when.year if when else 1970)
            if key not in files:
                files[key] = backup_file(self.archive, *key)
            writes.append((files[key], raw, when))
        # a full disk (ENOSPC) stops here, before anything is journaled or acted on
        try:
            copies = self.writer.write_batch(writes)
            back = [read_copy(c.path, c.offset, c.length) for c in copies]
        except OSError as exc:
            raise BackupFailed(
                str(exc.filename or self.archive), exc.strerror or str(exc)
            ) from None
        saved = []
        for (e, f, raw), copy, again in zip(keep, copies, back, strict=True):
            digest = sha256(raw)
            if sha256(again) != digest:
                raise BackupFailed(copy.path, "a copy reads back different")
            date = f.get(b"INTERNALDATE")
            saved.append(
                (
                    e.id,
                    digest,
                    flag_text(f.get(b"FLAGS") or ()),
                    date.decode() if isinstance(date, bytes) else date,
                    f.get(b"X-GM-MSGID"),
                    copy.path,
                    copy.offset,
                    copy.length,
                )
            )
        journal.mark_saved(self.conn, saved)

    def _prepare(self, client, at, ready: list[Entry]) -> list[Entry]:
        """Which copied messages are still there to act on; journaled "acting"."""
        # NOOP first: the server then tells this session what other clients expunged
        # (RFC 3501 6.1.2, 7.4.1); a FETCH alone may still answer for a message just gone
        client.noop()
        now = present(client, [e.uid for e in ready])
        for e in ready:
            if e.uid not in now:
                if e.state == "acting":  # our change went through before the crash
                    journal.mark(self.conn, [e.id], "done", "found done on resume")
                else:  # someone else removed it first: not ours to restore
                    self.say("clean.line.gone", at, count=1)
                    journal.mark(self.conn, [e.id], "skipped", "removed by someone else")
        ready = [e for e in ready if e.uid in now]
        if not ready:
            return []
        # flags another client changed since the copy: the journal keeps the latest ones
        # (not for a resumed change: the \\Deleted seen then may be our own STORE's)
        changed = {
            e.id: flag_text(now[e.uid])
            for e in ready
            if e.state == "saved" and flag_text(now[e.uid]) != e.flags
        }
        if changed:
            journal.set_flags(self.conn, changed)
            for e in ready:  # a slimmed copy is appended with these
                e.flags = changed.get(e.id, e.flags)
        journal.mark(self.conn, [e.id for e in ready], "acting")
        return ready

    def _change(self, client, caps, at, folder: str, ready: list[Entry]) -> None:
        """The server change, then "done" (in the journal once the batch is verified)."""
        groups: dict[tuple[str, str | None], list[Entry]] = defaultdict(list)
        for e in ready:
            kind = e.action if e.action in ("move", *SLIM) else "remove"
            groups[kind, None if kind in SLIM else e.target].append(e)
        for (kind, target), group in groups.items():
            if kind in SLIM:  # the light copy appended and checked first, then the original
                from auditor.clean.slimming import slim_in_place

                group = slim_in_place(self, client, caps, at, folder, group)
                if not group:
                    continue
            uids = [e.uid for e in group]
            if kind == "move" and target:
                if not caps.move:
                    uids = self._not_copied_yet(client, at, folder, target, group)
                if uids:
                    move(client, caps, uids, target)
            else:
                gm = [e.gm_msgid for e in group if e.gm_msgid]
                removed = remove_messages(client, caps, folder, uids, gm)
                gone = [e for e in group if e.uid not in removed]
                if gone:  # expunged by someone else a moment before: not ours to restore
                    self.say("clean.line.gone", at, count=len(gone))
                    journal.mark(self.conn, [e.id for e in gone], "skipped", "removed meanwhile")
                    group = [e for e in group if e.uid in removed]
            journal.mark(self.conn, [e.id for e in group], "done")

    def _not_copied_yet(self, client, at, folder, target, group: list[Entry]) -> list[int]:
        """UID COPY + EXPUNGE cut in the middle may have copied already: a copy in the
        target (same Message-ID, size and SHA-256) is not made twice; the original is then
        only removed."""
        from auditor.clean.server import search_copies

        resumed = [e for e in group if e.state == "acting"]
        if not resumed:
            return [e.uid for e in group]
        client.select_folder(target)
        wanted = {(e.message_id, e.size_bytes): [] for e in resumed}
        found = search_copies(client, wanted)
        copied: set[int] = set()
        for e in resumed:
            uids = found.get((e.message_id, e.size_bytes), [])
            bodies = fetch(client, uids, "UID BODY.PEEK[]")
            if any(sha256(b.get(b"BODY[]") or b"") == e.sha256 for b in bodies.values()):
                copied.add(e.id)
        client.select_folder(folder)
        already = [e.uid for e in group if e.id in copied]
        if already:
            from auditor.clean.server import _expunge

            _expunge(client, already)
        return [e.uid for e in group if e.id not in copied]

    def _verify(self, client, at, done: list[Entry]) -> None:
        still = set(client.search(["UID", uid_set([e.uid for e in done])]))
        journal.mark(self.conn, [e.id for e in done if e.uid not in still], "verified")
        back = [e.id for e in done if e.uid in still]
        if back:  # the server kept them: a re-run acts again
            self.say("clean.line.still_there", at, count=len(back))
            journal.mark(self.conn, back, "saved", "still on the server")
            self.outcome.partial = True

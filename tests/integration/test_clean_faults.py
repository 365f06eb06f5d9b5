"""`auditor clean` under faults, against the test Dovecot: nothing is ever lost.

A connection cut after N bytes (N swept over the whole session), the process killed with
SIGKILL, a full disk during the backup, another client changing the mailbox meanwhile.
After each fault the same command is run again to completion; then, by SHA-256, every
original message is on the server or in the backup, and --undo gives back exactly the
original mailbox (no duplicate; flags and INTERNALDATE equal).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.dovecot import ImapAccount
from tests.integration.clean_mailbox import (
    OLD,
    assert_nothing_lost,
    cli,
    config_for,
    fill,
    process,
    raw_message,
    scan,
    snapshot,
)

# when to kill: the first of these journal counts reached (a state may last a millisecond)
MOMENTS = {
    "saved": (("saved", 1), ("acting", 1), ("done", 1), ("verified", 1)),
    "acting": (("acting", 1), ("done", 1), ("verified", 1)),
    "verified": (("verified", 12),),
}
RULES = ("--rule", "MAIL002", "--rule", "MAIL004", "--rule", "MAIL005")
_USERS = itertools.count(1)


class CuttingProxy:
    """A loopback TCP proxy to Dovecot. Armed with `cut_at`, it forwards that many bytes
    (both directions, counted in the order forwarded) of the next connection and then cuts
    it; it logs each chunk (who sent it, the count after it, its first bytes) and can run a
    callback when the client sends a chunk (another client's changes at a chosen moment)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.cut_at: int | None = None
        self.on_client: Callable[[bytes], None] | None = None
        self.log: list[tuple[str, int, bytes]] = []
        self.cuts = 0
        self.strip_move = False
        threading.Thread(target=self._serve, daemon=True).start()

    def arm(self, cut_at: int | None) -> None:
        self.cut_at, self.log = cut_at, []

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            state = {"sent": 0, "limit": self.cut_at, "lock": threading.Lock()}
            self.cut_at = None  # one connection only
            for src, dst, who in ((client, upstream, "c"), (upstream, client, "s")):
                threading.Thread(
                    target=self._pipe, args=(src, dst, who, state, (client, upstream)), daemon=True
                ).start()

    def _pipe(self, src, dst, who, state, both) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if who == "s" and self.strip_move and b"CAPABILITY" in data:
                    data = re.sub(rb" MOVE(?=[ \]\r])", b"", data)  # a server without MOVE
                with state["lock"]:
                    limit = state["limit"]
                    if limit is not None and state["sent"] + len(data) >= limit:
                        dst.sendall(data[: max(limit - state["sent"], 0)])
                        state["sent"] = limit
                        self.cuts += 1
                        break
                    if who == "c" and self.on_client:
                        self.on_client(data)
                    dst.sendall(data)
                    state["sent"] += len(data)
                    self.log.append((who, state["sent"], data[:200]))
        except OSError:
            pass
        for s in both:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.sock.close()


def new_account(dovecot) -> ImapAccount:
    n = next(_USERS)
    user, password = f"clean{n:03d}-{os.getpid()}", f"pw-{n}"
    dovecot.add_user(user, password)
    return ImapAccount(
        user,
        password,
        dovecot.host,
        dovecot.imap_port,
        dovecot.imaps_port,
        dovecot.ca_file,
        dovecot,
    )


def prepared(dovecot, tmp_path, port=None, **fill_args):
    """A filled, scanned account; its config points at `port` (a proxy) when given."""
    account = new_account(dovecot)
    fill(dovecot, account.user, **fill_args)
    config_for(tmp_path, account)
    scan(tmp_path, account)  # the scan goes straight to Dovecot
    if port:
        config_for(tmp_path, account, port=port)
    (tmp_path / "archive").mkdir(exist_ok=True)
    return account


def apply(tmp_path, account, *extra):
    return cli(
        tmp_path,
        account,
        "clean",
        "--apply",
        "--yes",
        "--archive",
        str(tmp_path / "archive"),
        "--batch",
        "3",
        *RULES,
        *extra,
    )


def finish(tmp_path, account, *extra, tries: int = 3):
    """Run the same command again until it completes (exit 0)."""
    for _ in range(tries):
        result = apply(tmp_path, account, *extra)
        if result.exit_code == 0:
            return result
    raise AssertionError(f"no run completed: {result.output}")


def journal_states(db) -> Counter:
    conn = sqlite3.connect(db)
    try:
        return Counter(dict(conn.execute("SELECT state, count(*) FROM clean_items GROUP BY 1")))
    finally:
        conn.close()


def check_then_undo(tmp_path, account, before: Counter, removed: int) -> None:
    db = tmp_path / "store.sqlite3"
    after = snapshot(account)
    assert_nothing_lost(before, after, db)
    assert sum(after.values()) == sum(before.values()) - removed
    states = journal_states(db)
    notes = (
        sqlite3.connect(db)
        .execute("SELECT uid, folder, note FROM clean_items WHERE state = 'skipped'")
        .fetchall()
    )
    assert set(states) == {"verified"}, notes
    undo = cli(tmp_path, account, "clean", "--undo", "1")
    assert undo.exit_code == 0, undo.output
    assert snapshot(account) == before


def cut_points(log: list[tuple[str, int, bytes]], total: int) -> list[int]:
    """Where to cut (about 8 points, so the sweep stays short): inside the first
    whole-message fetch answer; right after the first two commands that change the server
    and after the last one (sent, not yet answered: the change happens, the journal does not
    hear of it); right after the first one's answer; and at a quarter and three quarters."""
    points: set[int] = set()
    asked = next(i for i, (who, _n, head) in enumerate(log) if b"BODY.PEEK[]" in head)
    answer = next(i for i in range(asked + 1, len(log)) if log[i][0] == "s")
    points.add(log[answer][1] - 20)  # inside the answer: the messages' literals
    changes = [
        i
        for i, (who, _n, head) in enumerate(log)
        if who == "c" and any(c in head for c in (b"UID MOVE", b"UID STORE", b"EXPUNGE"))
    ]
    for i in [*changes[:2], changes[-1]]:
        points.add(log[i][1])
    if changes[0] + 1 < len(log):
        points.add(log[changes[0] + 1][1])
    points |= {total // 4, total * 3 // 4}
    return sorted(p for p in points if 0 < p < total)


# archive: UID STORE + UID EXPUNGE; --to-folder: UID MOVE (the old mail stays on the server)
@pytest.mark.parametrize(
    ("extra", "removed"), [((), 14), (("--to-folder", "Old mail"), 6)], ids=["archive", "move"]
)
def test_a_connection_cut_anywhere_loses_nothing_and_the_same_command_finishes(
    dovecot, tmp_path, extra, removed
):
    proxy = CuttingProxy(dovecot.imap_port)
    try:
        # one full session through the proxy, to know its bytes and its steps
        first = tmp_path / "measure"
        first.mkdir()
        account = prepared(dovecot, first, proxy.port)
        proxy.arm(None)
        assert apply(first, account, *extra).exit_code == 0
        total = proxy.log[-1][1]
        points = cut_points(proxy.log, total)
        assert len(points) >= 6
        if extra:  # the fetch and the even steps are the same as archiving's: cut the MOVEs
            moves = [n for who, n, head in proxy.log if who == "c" and b"UID MOVE" in head]
            points = sorted({moves[0], moves[-1], *[p for p in points if p > moves[0]][:2]})
        if extra:
            assert any(b"UID MOVE" in head for _w, _n, head in proxy.log)
        for n, cut in enumerate(points):
            where = tmp_path / f"cut{n}"
            where.mkdir()
            account = prepared(dovecot, where, proxy.port)
            before = snapshot(account)
            proxy.arm(cut)
            cut_run = apply(where, account, *extra)
            assert cut_run.exit_code in (0, 3), cut_run.output
            assert_nothing_lost(before, snapshot(account), where / "store.sqlite3")
            finish(where, account, *extra)
            check_then_undo(where, account, before, removed)
        assert proxy.cuts >= len(points)
    finally:
        proxy.close()


@pytest.mark.parametrize("moment", ["saved", "acting", "verified"])
def test_a_killed_clean_loses_nothing_and_the_same_command_finishes(dovecot, tmp_path, moment):
    account = prepared(dovecot, tmp_path, old_inbox=30)
    before = snapshot(account)
    db = tmp_path / "store.sqlite3"
    proc = process(
        tmp_path,
        account,
        "clean",
        "--apply",
        "--yes",
        "--archive",
        str(tmp_path / "archive"),
        "--batch",
        "2",
        *RULES,
    )
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                states = journal_states(db)
                if any(states[s] >= need for s, need in MOMENTS[moment]):
                    break
            except sqlite3.OperationalError:  # the table is not there yet, or locked
                pass
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert_nothing_lost(before, snapshot(account), db)
    finish(tmp_path, account)
    check_then_undo(tmp_path, account, before, removed=38)


def _mounted(path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(path)]).returncode == 0


def test_a_full_disk_during_the_backup_removes_nothing_not_saved(dovecot, tmp_path):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    archive = tmp_path / "archive"
    archive.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(archive)])
    if done.returncode != 0:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        account = new_account(dovecot)
        big = b"x" * 20_000 + b"\r\n"
        for n in range(8):
            dovecot.deliver(
                account.user,
                "INBOX",
                raw_message(n, body=big.decode()),
                seen=True,
                internal_date=OLD,
            )
        config_for(tmp_path, account)
        scan(tmp_path, account)
        before = snapshot(account)
        result = apply(tmp_path, account)
        assert result.exit_code == 3
        assert "could not be written" in result.stderr
        states = journal_states(tmp_path / "store.sqlite3")
        assert states["planned"] > 0, "the disk did not fill up"
        after = snapshot(account)
        # what left the server is exactly what was saved and checked
        removed = sum(before.values()) - sum(after.values())
        assert removed == states["verified"]
        assert_nothing_lost(before, after, tmp_path / "store.sqlite3")
        subprocess.run(["mount", "-o", "remount,size=4m", str(archive)], check=True)
        finish(tmp_path, account)
        check_then_undo(tmp_path, account, before, removed=8)
    finally:
        if _mounted(archive):
            subprocess.run(["umount", "-l", str(archive)])


# The other client acts when clean sends this command of its first batch, after the copy:
# NOOP (clean then learns of the expunge before reading the flags again), or the flags
# FETCH itself (clean learns it from the STORE's answers: no FETCH for a message gone).
@pytest.mark.parametrize("trigger", [b"NOOP", b"(UID FLAGS)"])
def test_another_client_changing_the_mailbox_meanwhile_is_never_undone(dovecot, tmp_path, trigger):
    proxy = CuttingProxy(dovecot.imap_port)
    try:
        account = prepared(dovecot, tmp_path, proxy.port, old_inbox=12)
        other = account.client()
        other.select_folder("INBOX")
        old_uids = sorted(other.search(["SEEN", "BEFORE", "1-Jan-2020"]))
        changes = {"done": False}

        def meanwhile(chunk: bytes) -> None:
            # between the first batch's copy and its server change (clean reads the flags
            # again just before acting): the other client's changes land right there
            if changes["done"] or trigger not in chunk:
                return
            changes["done"] = True
            other.append("INBOX", raw_message(900), flags=[b"\\Seen"])  # new mail
            other.delete_messages([old_uids[1]])  # a message clean has copied, deleted
            other.uid_expunge([old_uids[1]])
            other.add_flags([old_uids[2]], [b"\\Flagged", b"$Important"])  # one re-flagged
            other.select_folder("Lists")
            other.add_flags(other.search(["ALL"])[-1:], [b"\\Deleted"])  # not expunged by us
            other.select_folder("INBOX")

        proxy.on_client = meanwhile
        before_run = snapshot(account)
        result = apply(tmp_path, account)
        proxy.on_client = None
        assert changes["done"]
        assert result.exit_code == 0, result.output
        assert "already gone" in result.stderr
        other.select_folder("Lists")
        assert other.search(["DELETED"]), "another client's \\Deleted message was expunged"
        other.select_folder("INBOX")
        assert other.search(["HEADER", "Message-ID", "<m900@example.org>"])
        undo = cli(tmp_path, account, "clean", "--undo", "1")
        assert undo.exit_code == 0, undo.output
        other.select_folder("INBOX")
        # the message the other client deleted stays deleted; the flags it set are kept
        deleted_id = "<m1@example.org>"
        assert not other.search(["HEADER", "Message-ID", deleted_id])
        flagged = other.search(["FLAGGED", "KEYWORD", "$Important"])
        assert len(flagged) == 1
        back = snapshot(account)
        assert sum(back.values()) == sum(before_run.values())  # +1 new, -1 deleted
        other.logout()
    finally:
        proxy.close()


def test_an_undo_cut_anywhere_and_run_again_puts_back_each_message_once(dovecot, tmp_path):
    proxy = CuttingProxy(dovecot.imap_port)
    try:
        first = tmp_path / "measure"
        first.mkdir()
        account = prepared(dovecot, first, proxy.port)
        assert apply(first, account).exit_code == 0
        proxy.arm(None)
        assert cli(first, account, "clean", "--undo", "1").exit_code == 0
        log = proxy.log
        # right after a message's literal reached the server (APPEND done, answer lost)
        appends = [
            log[i + 1][1]
            for i, (who, _n, head) in enumerate(log[:-1])
            if who == "s" and head.startswith(b"+")
        ]
        assert len(appends) >= 10
        points = [appends[0], appends[-1], log[-1][1] // 3]
        for n, cut in enumerate(points):
            where = tmp_path / f"undo{n}"
            where.mkdir()
            account = prepared(dovecot, where, proxy.port)
            before = snapshot(account)
            assert apply(where, account).exit_code == 0
            proxy.arm(cut)
            assert cli(where, account, "clean", "--undo", "1").exit_code == 3
            again = cli(where, account, "clean", "--undo", "1")
            assert again.exit_code == 0, again.output
            assert snapshot(account) == before  # no duplicate, nothing missing
    finally:
        proxy.close()


def test_without_move_a_cut_between_copy_and_expunge_makes_no_second_copy(dovecot, tmp_path):
    proxy = CuttingProxy(dovecot.imap_port)
    proxy.strip_move = True  # UID COPY + \\Deleted + UID EXPUNGE (RFC 4315), not UID MOVE
    extra = ("--to-folder", "Old mail")
    try:
        first = tmp_path / "measure"
        first.mkdir()
        account = prepared(dovecot, first, proxy.port)
        proxy.arm(None)
        assert apply(first, account, *extra).exit_code == 0
        heads = [head for _w, _n, head in proxy.log]
        assert any(b"UID COPY" in h for h in heads) and not any(b"UID MOVE" in h for h in heads)
        copy = next(i for i, (who, _n, h) in enumerate(proxy.log) if b"UID COPY" in h)
        for n, cut in enumerate((proxy.log[copy][1], proxy.log[copy + 1][1])):
            where = tmp_path / f"cut{n}"
            where.mkdir()
            account = prepared(dovecot, where, proxy.port)
            before = snapshot(account)
            proxy.arm(cut)  # the copy is made (or not); the journal does not hear of it
            assert apply(where, account, *extra).exit_code == 3
            finish(where, account, *extra)
            after = snapshot(account)
            assert sum(1 for k in after.elements() if k[0] == "Old mail") == 8  # not 8 + 3
            check_then_undo(where, account, before, removed=6)
    finally:
        proxy.close()

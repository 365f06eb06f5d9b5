"""`auditor clean --rule MAIL008 --slim compress|detach` on the test Dovecot (issue 17): the
association's heavy photos and PDFs made light inside their messages, every other byte kept,
the original saved first and given back by --undo; cut or killed, nothing is lost and no
message stays both slimmed and original."""

from __future__ import annotations

import email
import email.message
import hashlib
import signal
import sqlite3
import stat
import time
from email.policy import default

from auditor.clean.slim import structure
from tests.integration.clean_mailbox import OLD, assert_nothing_lost, cli, config_for, process
from tests.integration.test_clean_faults import CuttingProxy, journal_states, new_account
from tests.integration.test_slim_rebuild import PDF, association_message, leaves

MIN_BYTES = 400_000  # MAIL008's threshold here: the corpus' photo and PDF are above it


def pdf_message() -> bytes:
    """The association's message without its photo (one PDF to compress: a quicker run)."""
    raw = association_message()
    msg = email.message_from_bytes(raw, policy=default)
    msg.set_payload([p for p in msg.get_payload() if p.get_content_type() != "image/jpeg"])
    msg["Content-Language"] = "fr"  # the note is written in the message's language
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def signed_message() -> bytes:
    """A PGP-signed message (RFC 3156) holding the PDF: a signature covers its bytes."""
    inner = email.message.EmailMessage()
    inner.set_content("Budget signé.\n")
    inner.add_attachment(PDF.read_bytes(), "application", "pdf", filename="budget.pdf")
    raw = (
        b"From: tresor@asso.example\nTo: bureau@asso.example\nSubject: budget\n"
        b"Message-ID: <signed@asso.example>\nMIME-Version: 1.0\nContent-Type: multipart/signed;"
        b' protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="s1"\n\n'
        b"--s1\n" + inner.as_bytes() + b"\n--s1\nContent-Type: application/pgp-signature\n\n"
        b"sig\n--s1--\n"
    )
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def slim_mailbox(dovecot, tmp_path, messages, port=None, measure=True):
    """A new account holding `messages` (read, flagged, old), scanned with its attachments
    measured; the config then points at `port` (a proxy) when given."""
    account = new_account(dovecot)
    for raw in messages:
        dovecot.deliver(
            account.user, "INBOX", raw, seen=True, flags=["\\Flagged"], internal_date=OLD
        )
    for p in (None, port) if port else (None,):
        config = config_for(tmp_path, account, port=p)
        with config.open("a", encoding="utf-8") as fh:
            fh.write(f"[rules.MAIL008]\nmin_bytes = {MIN_BYTES}\n")
        if p is None:
            extra = ["--compress-attachments"] if measure else []
            out = str(tmp_path / "report.json")
            args = ["scan", "--no-host", *extra, "--format", "json", "-q", "--output", out]
            assert cli(tmp_path, account, *args).exit_code in (0, 1)
    (tmp_path / "archive").mkdir(exist_ok=True)
    return account


def slim(tmp_path, account, *extra: str):
    archive = str(tmp_path / "archive")
    return cli(
        tmp_path,
        account,
        "clean",
        "--rule",
        "MAIL008",
        "--apply",
        "--yes",
        "--archive",
        archive,
        *(extra or ("--slim", "compress")),
    )


def inbox(account) -> list[tuple[bytes, tuple, float]]:
    """(bytes, flags, INTERNALDATE) of each message in INBOX, in UID order."""
    client = account.client()
    try:
        client.select_folder("INBOX", readonly=True)
        got = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
    finally:
        client.logout()
    return [
        (
            f[b"BODY[]"],
            tuple(sorted(x for x in f[b"FLAGS"] if x != b"\\Recent")),
            f[b"INTERNALDATE"].timestamp(),
        )
        for _uid, f in sorted(got.items())
    ]


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def assert_one_of_each(originals: list[bytes], account, db, cut: bool = False) -> None:
    """Every original is on the server or in the backup, never slimmed twice, and (once a
    run completed: not `cut`) never there both as the original and as its slimmed copy."""
    now = inbox(account)
    assert_nothing_lost(_counter([(r,) for r in originals]), _counter(now), db)
    for raw in originals:
        here = sum(m[0] == raw for m in now)
        slimmed = sum(f"original-sha256={sha(raw)}".encode() in m[0][:300] for m in now)
        assert slimmed <= 1 and here <= 1 and (cut or here + slimmed == 1), (here, slimmed)


def _counter(messages):
    from collections import Counter

    return Counter(("INBOX", sha(m[0]), (), 0) for m in messages)


def test_slim_compress_keeps_every_other_byte_flags_and_date_and_undo_gives_the_original_back(
    dovecot, tmp_path
):
    raw, signed = association_message(), signed_message()
    account = slim_mailbox(dovecot, tmp_path, [raw, signed])
    before = inbox(account)

    plan = cli(tmp_path, account, "clean", "--rule", "MAIL008", "--slim", "compress")
    assert plan.exit_code == 0 and "MAIL008" in plan.output, plan.output
    assert "signed or encrypted" in plan.output and "UID 2" in plan.output  # listed, left
    result = slim(tmp_path, account)
    assert result.exit_code == 0, result.output
    journaled = sqlite3.connect(tmp_path / "store.sqlite3").execute(
        "SELECT uid, state FROM clean_items"
    )
    assert journaled.fetchall() == [(1, "verified")]  # the signed message is never touched

    after = inbox(account)
    assert [m for m in after if m[0] == signed] == [m for m in before if m[0] == signed]
    assert not [m for m in after if m[0] == raw]  # the original is gone from the server...
    ((light, flags, when),) = [m for m in after if m[0].startswith(b"X-Auditor-Slimmed")]
    assert f"original-sha256={sha(raw)}".encode() in light.split(b"\r\n", 1)[0]
    assert (flags, when) == next((f, w) for r, f, w in before if r == raw)
    assert len(light) < len(raw) * 0.5
    body = light.split(b"\r\n", 1)[1]
    old, new = ({n.section: n for n in leaves(structure(r))} for r in (raw, body))
    assert old.keys() == new.keys() == {"1.1", "1.2", "2", "3"}
    for section in ("1.1", "1.2"):  # the text parts, byte for byte
        assert (
            body[new[section].start : new[section].end]
            == raw[old[section].start : old[section].end]
        )
    assert body[: raw.index(b"\r\n\r\n")] == raw[: raw.index(b"\r\n\r\n")]  # every header

    undo = cli(tmp_path, account, "clean", "--undo", "1")
    assert undo.exit_code == 0, undo.output
    back = inbox(account)
    assert sorted(sha(m[0]) for m in back) == sorted(sha(m[0]) for m in before)
    assert sorted(m[1:] for m in back) == sorted(m[1:] for m in before)


def test_slim_detach_writes_the_file_and_leaves_a_note(dovecot, tmp_path):
    raw = pdf_message()
    account = slim_mailbox(dovecot, tmp_path, [raw], measure=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    result = slim(tmp_path, account, "--slim", "detach", "--detach-to", str(shared))
    assert result.exit_code == 0, result.output
    (saved,) = shared.iterdir()
    assert saved.name == "compte-rendu.pdf"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    original = email.message_from_bytes(raw, policy=default)
    pdf = next(p for p in original.walk() if p.get_filename() == "compte-rendu.pdf")
    assert saved.read_bytes() == pdf.get_content()
    ((note_msg, _f, _w),) = inbox(account)
    parsed = email.message_from_bytes(note_msg, policy=default)
    note = parsed.get_payload()[-1]
    assert note.get_content_type() == "text/plain"
    text = note.get_content()
    assert "compte-rendu.pdf" in text and sha(saved.read_bytes()) in text  # in French
    assert "détachée" in text and str(saved) in text
    assert note["X-Mozilla-External-Attachment-URL"] == saved.as_uri()


def test_slim_detach_needs_an_existing_folder(dovecot, tmp_path):
    account = slim_mailbox(dovecot, tmp_path, [pdf_message()], measure=False)
    result = slim(tmp_path, account, "--slim", "detach", "--detach-to", str(tmp_path / "no"))
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output
    assert len(inbox(account)) == 1


def cuts(log) -> list[int]:
    """Inside the APPEND's literal; once the APPEND was sent whole (the server appends, the
    client never hears); once the original's removal was sent (not answered)."""
    appends = [i for i, (who, _n, head) in enumerate(log) if who == "c" and b"APPEND" in head]
    answer = next(
        i for i in range(appends[0], len(log)) if log[i][0] == "s" and b"APPENDUID" in log[i][2]
    )
    store = next(n for who, n, head in log if who == "c" and b"UID STORE" in head)
    return [log[appends[0]][1] + 5000, log[answer - 1][1], store]


def test_a_cut_or_a_kill_while_slimming_loses_nothing_and_never_leaves_both(dovecot, tmp_path):
    raw = pdf_message()
    proxy = CuttingProxy(dovecot.imap_port)
    try:
        first = tmp_path / "measure"
        first.mkdir()
        account = slim_mailbox(dovecot, first, [raw], proxy.port)
        proxy.arm(None)
        assert slim(first, account).exit_code == 0
        points = cuts(proxy.log)
        for n, cut in enumerate(points):
            where = tmp_path / f"cut{n}"
            where.mkdir()
            account = slim_mailbox(dovecot, where, [raw], proxy.port)
            proxy.arm(cut)
            assert slim(where, account).exit_code in (0, 3)
            assert_one_of_each([raw], account, where / "store.sqlite3", cut=True)
            assert slim(where, account).exit_code == 0
            assert_one_of_each([raw], account, where / "store.sqlite3")
            assert not [m for m in inbox(account) if m[0] == raw]  # slimmed, once
        assert proxy.cuts >= len(points)
    finally:
        proxy.close()

    where = tmp_path / "kill"
    where.mkdir()
    account = slim_mailbox(dovecot, where, [raw])
    db = where / "store.sqlite3"
    archive = str(where / "archive")
    args = ["clean", "--rule", "MAIL008", "--slim", "compress", "--apply", "--yes"]
    proc = process(where, account, *args, "--archive", archive)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if journal_states(db)["acting"]:
                    break  # compressing, appending or removing: kill it there
            except sqlite3.OperationalError:
                pass
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert_one_of_each([raw], account, db, cut=True)
    assert slim(where, account).exit_code == 0
    assert_one_of_each([raw], account, db)
    undo = cli(where, account, "clean", "--undo", "1")
    assert undo.exit_code == 0, undo.output
    assert [sha(m[0]) for m in inbox(account)] == [sha(raw)]


def test_mail008_says_how_to_slim_when_slim_is_missing(tmp_path):
    from click.testing import CliRunner

    from auditor.cli import main

    db = str(tmp_path / "store.sqlite3")
    for args, said in (
        (["--rule", "MAIL008"], "--slim compress"),
        (["--slim", "detach"], "--detach-to DIR"),
        (["--slim", "compress", "--detach-to", str(tmp_path)], "--slim detach only"),
    ):
        result = CliRunner().invoke(main, ["clean", "--db", db, *args])
        assert result.exit_code == 2 and said in result.output, result.output
        assert "Traceback" not in result.output


def test_a_compressor_failure_leaves_the_message_as_it_is(dovecot, tmp_path, monkeypatch):
    raw = pdf_message()
    account = slim_mailbox(dovecot, tmp_path, [raw])

    def broken(data, filename):
        raise MemoryError("the decoder gave up")

    monkeypatch.setattr("auditor.measure.compress_bytes", broken)  # in the forked worker too
    result = slim(tmp_path, account)
    assert result.exit_code == 0, result.output
    assert "UID 1" in result.output and "20 %" in result.output
    assert [m[0] for m in inbox(account)] == [raw]  # untouched, and said


def test_detach_never_writes_over_a_file_and_says_when_it_cannot_save(dovecot, tmp_path):
    raw = pdf_message()
    account = slim_mailbox(dovecot, tmp_path, [raw], measure=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "compte-rendu.pdf").write_bytes(b"another file, same name")
    pdf = next(p for p in email.message_from_bytes(raw, policy=default).walk() if p.get_filename())
    taken = shared / f"compte-rendu-{sha(pdf.get_content())[:12]}.pdf"
    taken.mkdir()  # the second name is taken too (by a folder): nowhere left to write
    result = slim(tmp_path, account, "--slim", "detach", "--detach-to", str(shared))
    assert result.exit_code == 0, result.output
    assert "could not be saved" in result.output and "UID 1" in result.output
    assert (shared / "compte-rendu.pdf").read_bytes() == b"another file, same name"
    assert [m[0] for m in inbox(account)] == [raw]  # left as it was

    taken.rmdir()  # a new clean run (another selection: --folder) saves it there
    again = ("--slim", "detach", "--detach-to", str(shared), "--folder", "INBOX")
    assert slim(tmp_path, account, *again).exit_code == 0
    assert taken.read_bytes() == pdf.get_content()
    assert str(taken).encode() in inbox(account)[0][0]

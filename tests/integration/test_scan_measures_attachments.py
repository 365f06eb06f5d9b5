"""`auditor scan --compress-attachments` on a real Dovecot: MAIL008 measured on the
association's own photos and PDFs (benchmarks/corpus), fetched part by part, flags untouched,
incremental (issue 17)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.measure import compress_bytes
from tests.integration.test_imap_scan import server_snapshot

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "corpus"
PHOTO = CORPUS / "photos" / "mate-Wood.jpg"  # 525 kB, a real photo
PDF = CORPUS / "pdfs" / "image-gallery-gallery-example.pdf"  # 798 kB, images in a PDF
MIN_BYTES = 400_000  # MAIL008's threshold for these tests: both files are above it


class CountingProxy:
    """A loopback TCP proxy counting the bytes the server sends to the client."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.down = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if count:
                    with self.lock:
                        self.down += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


def message(subject: str, files: list[tuple[Path, str, str]], extra: bytes = b"") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Marie Dupont <marie@asso.example>"
    msg["To"] = "bureau@asso.example"
    msg["Subject"] = subject
    msg["Date"] = "Sat, 14 Mar 2026 10:00:00 +0100"
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@asso.example>"
    msg.set_content("Bonjour,\nvoici les fichiers.\n")
    for path, maintype, subtype in files:
        msg.add_attachment(path.read_bytes(), maintype, subtype, filename=path.name)
    if extra:  # a heavy attachment nobody can compress: never fetched by the measure
        msg.add_attachment(extra, "application", "zip", filename="archive.zip")
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def mailbox(imap_account):
    client = imap_account.client()
    photo = message("photos kermesse", [(PHOTO, "image", "jpeg")], os.urandom(600_000))
    pdf = message("compte rendu", [(PDF, "application", "pdf")])
    client.append("INBOX", photo, flags=())  # unread: must stay unread
    client.append("INBOX", pdf, flags=(b"\\Seen", b"\\Flagged"))
    client.logout()
    return imap_account, len(photo) + len(pdf)


def run_scan(
    tmp_path: Path, port: int, user: str, *args: str, scan_table: str = ""
) -> tuple[int, dict, str]:
    config = tmp_path / "auditor.toml"
    config.write_text(
        "[[accounts]]\n"
        'name = "asso"\nhost = "127.0.0.1"\n'
        f'port = {port}\nsecurity = "none"\nusername = "{user}"\npassword_env = "TEST_IMAP_PW"\n'
        f"[rules.MAIL008]\nmin_bytes = {MIN_BYTES}\n{scan_table}",
        encoding="utf-8",
    )
    out = tmp_path / "report.json"
    out.unlink(missing_ok=True)
    result = CliRunner().invoke(
        main,
        ["scan", "--no-host", "--config", str(config), "--db", str(tmp_path / "store.db")]
        + ["--format", "json", "--output", str(out), "-q", *args],
        catch_exceptions=False,
    )
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return result.exit_code, report, result.stderr


def mail008_rows(report: dict) -> list[dict]:
    found = [f for f in report["findings"] if f["rule_id"] == "MAIL008"]
    return found[0]["evidence"] if found else []


def test_scan_measures_photos_and_pdfs_part_by_part_and_changes_no_flag(
    mailbox, tmp_path, monkeypatch
):
    acct, whole = mailbox
    monkeypatch.setenv("TEST_IMAP_PW", acct.password)
    before = server_snapshot(acct)
    proxy = CountingProxy(acct.port)
    try:
        plain = tmp_path / "plain"
        plain.mkdir()
        code, report, err = run_scan(plain, proxy.port, acct.user)
        assert code in (0, 1), err
        assert {r["measured"] for r in mail008_rows(report)} == {0}  # estimates only
        scan_only, proxy.down = proxy.down, 0

        light = tmp_path / "light"
        light.mkdir()
        code, report, err = run_scan(
            tmp_path, proxy.port, acct.user, "--compress-attachments", "--light-copies", str(light)
        )
        assert code in (0, 1), err
        measuring = proxy.down
    finally:
        proxy.close()

    assert server_snapshot(acct) == before  # no \Seen set, nothing moved
    conn = sqlite3.connect(tmp_path / "store.db")
    stored = dict(
        conn.execute(
            "SELECT filename, light_bytes FROM latest_attachments WHERE light_bytes IS NOT NULL"
        ).fetchall()
    )
    assert set(stored) == {PHOTO.name, PDF.name}
    assert stored[PHOTO.name] < PHOTO.stat().st_size * 0.5
    assert stored[PDF.name] < PDF.stat().st_size
    rows = {r["filename"]: r for r in mail008_rows(report)}
    assert rows[PHOTO.name]["measured"] == 1 and rows[PDF.name]["measured"] == 1
    assert rows[PHOTO.name]["bytes_reclaimable"] == PHOTO.stat().st_size - stored[PHOTO.name]
    # only the two parts came down: their base64 (4/3 of the file, plus line ends) and the
    # protocol around them; not the messages (the photo's carries a 600 kB zip besides)
    encoded = sum(
        conn.execute(
            "SELECT encoded_bytes FROM latest_attachments WHERE light_bytes IS NOT NULL"
        ).fetchall(),
        (),
    )
    extra = measuring - scan_only
    assert sum(encoded) <= extra <= sum(encoded) + 20_000, (extra, encoded)
    assert extra < whole
    day = conn.execute("SELECT substr(max(internal_date), 1, 10) FROM messages").fetchone()[0]
    names = sorted(p.name for p in light.iterdir())
    assert names == [
        f"{day}_marie@asso.example_image-gallery-gallery-example.light.pdf",
        f"{day}_marie@asso.example_mate-Wood.light.jpg",
    ]
    for p in light.iterdir():
        assert p.stat().st_mode & 0o777 == 0o600


def test_a_second_scan_fetches_no_attachment_again(mailbox, tmp_path, monkeypatch):
    acct, _whole = mailbox
    monkeypatch.setenv("TEST_IMAP_PW", acct.password)
    proxy = CountingProxy(acct.port)
    try:
        table = "[scan]\ncompress_attachments = true\n"  # the config's way to ask
        code, _report, err = run_scan(tmp_path, proxy.port, acct.user, scan_table=table)
        assert code in (0, 1), err
        proxy.down = 0
        code, report, err = run_scan(tmp_path, proxy.port, acct.user, "--compress-attachments")
        assert code in (0, 1), err
        again = proxy.down
    finally:
        proxy.close()
    assert again < 20_000  # an unchanged rescan: no part fetched (each is > 500 kB)
    assert {r["measured"] for r in mail008_rows(report)} == {1}
    conn = sqlite3.connect(tmp_path / "store.db")
    assert conn.execute("SELECT DISTINCT measured_run FROM attachment_measures").fetchall() == [
        (1,)
    ]


def test_the_budget_measures_the_newest_first_and_the_next_scan_goes_on(
    mailbox, tmp_path, monkeypatch
):
    acct, _whole = mailbox
    monkeypatch.setenv("TEST_IMAP_PW", acct.password)
    code, report, err = run_scan(
        tmp_path, acct.port, acct.user, "--compress-attachments", "--compress-budget", "0.5MB"
    )
    assert code in (0, 1), err
    assert sorted(r["measured"] for r in mail008_rows(report)) == [0, 1]  # one, then stop
    code, report, err = run_scan(tmp_path, acct.port, acct.user, "--compress-attachments")
    assert {r["measured"] for r in mail008_rows(report)} == {1}


@pytest.mark.parametrize("budget", ["lots", "0MB", "-3s"])
def test_a_bad_budget_is_one_line_and_exit_2(tmp_path, budget):
    result = CliRunner().invoke(
        main,
        ["scan", "--no-host", "--no-mail", "--db", str(tmp_path / "s.db")]
        + ["--compress-attachments", "--compress-budget", budget, "--lang", "fr"],
    )
    assert result.exit_code == 2
    assert "--compress-budget" in result.output and "200MB" in result.output
    assert "Traceback" not in result.output


def test_light_copies_need_an_existing_folder(tmp_path):
    result = CliRunner().invoke(
        main,
        ["scan", "--no-host", "--no-mail", "--db", str(tmp_path / "s.db")]
        + ["--compress-attachments", "--light-copies", str(tmp_path / "absent")],
    )
    assert result.exit_code == 2
    assert not (tmp_path / "absent").exists()


def test_a_bad_budget_in_the_config_names_its_line(tmp_path):
    config = tmp_path / "auditor.toml"
    config.write_text('[scan]\ncompress_attachments = true\ncompress_budget = "vite"\n')
    result = CliRunner().invoke(
        main, ["scan", "--no-host", "--no-mail", "--config", str(config), "--lang", "en"]
    )
    assert result.exit_code == 2
    assert f"{config}:3: scan.compress_budget" in result.output
    assert "200MB" in result.output


def _dies_on_pdfs(data: bytes, filename: str | None):
    if filename and filename.endswith(".pdf"):
        os._exit(9)  # as a decoder crash or the memory killer would end the worker
    return compress_bytes(data, filename)


def test_a_file_that_kills_the_worker_is_skipped_and_the_others_measured(
    mailbox, tmp_path, monkeypatch
):
    acct, _whole = mailbox
    monkeypatch.setenv("TEST_IMAP_PW", acct.password)
    monkeypatch.setattr("auditor.measure.compress_bytes", _dies_on_pdfs)
    code, report, err = run_scan(tmp_path, acct.port, acct.user, "--compress-attachments")
    assert code in (0, 1), err
    conn = sqlite3.connect(tmp_path / "store.db")
    got = sorted(conn.execute("SELECT status FROM attachment_measures").fetchall())
    assert got == [("skipped",), ("smaller",)]
    rows = {r["filename"]: r["measured"] for r in mail008_rows(report)}
    assert rows == {PHOTO.name: 1}  # the PDF measured no saving: not reported as one


def test_an_account_the_scan_could_not_read_is_said_once(mailbox, tmp_path, monkeypatch):
    acct, _whole = mailbox
    monkeypatch.setenv("TEST_IMAP_PW", acct.password)
    run_scan(tmp_path, acct.port, acct.user)  # the attachments are in the store, unmeasured
    monkeypatch.setenv("TEST_IMAP_PW", "not-the-password")
    code, report, err = run_scan(tmp_path, acct.port, acct.user, "--compress-attachments")
    assert code == 3
    assert err.count("login refused") == 1, err

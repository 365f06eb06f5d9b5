#!/usr/bin/env python3
"""How fast does `auditor clean` archive old mail out of a server? Prints the README's figure.

Starts a private Dovecot on 127.0.0.1 (tests/dovecot.py), loads N old read messages
(plain mail of 2 to 8 kB, dated 2019) into INBOX of two accounts, scans the first, then
times, each seen from outside:

  bare UID MOVE   `UID MOVE` of the whole set out of a folder on the second account
                  (imapclient, already logged in; the median of three): what the server alone
                  costs to take the messages out of INBOX
  auditor clean   `auditor clean --apply --yes --rule MAIL002 --archive DIR` as a process:
                  plan, fetch every message whole, write the mbox copies and fsync them once
                  per batch, journal each step, UID STORE + UID EXPUNGE, check they are gone

and checks afterwards that every message is in the archive with its SHA-256. Usage:

    python benchmarks/clean.py                  # 10 000 messages
    python benchmarks/clean.py --messages 2000
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.clean.backup import read_copy  # noqa: E402
from tests.dovecot import Dovecot  # noqa: E402

OLD = dt.datetime(2019, 3, 4, 10, 30, tzinfo=dt.UTC)
WORDS = "association réunion budget bénévoles assemblée compte rendu adhésion projet".split()


def messages(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(300, 1200)))
        body = "\r\n".join(words[j : j + 72] for j in range(0, len(words), 72))
        out.append(
            (
                f"From: membre{i % 50}@example.org\r\nTo: asso@example.org\r\n"
                f"Subject: compte rendu {i}\r\nMessage-ID: <bench{i}@example.org>\r\n"
                "Date: Mon, 4 Mar 2019 10:30:00 +0000\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
                f"\r\n{body}\r\n"
            ).encode()
        )
    return out


def run(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[2:5])} failed ({done.returncode}): {done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="auditor-clean-bench-"))
    raws = messages(args.messages)
    size = sum(len(r) for r in raws)
    try:
        with Dovecot(quota_mb=None) as server:
            for user in ("bench", "bare"):
                server.add_user(user, "bench-password")
                server.deliver_many(user, "INBOX", ((r, True, OLD) for r in raws))
                server.create_folder(user, "Archive")
            config = work / "auditor.toml"
            config.write_text(
                '[[accounts]]\nname = "asso"\nhost = "127.0.0.1"\n'
                f'port = {server.imap_port}\nsecurity = "none"\nusername = "bench"\n'
                'password_env = "BENCH_PW"\n',
                encoding="utf-8",
            )
            env = {
                **os.environ,
                "AUDITOR_DB": str(work / "store.sqlite3"),
                "BENCH_PW": "bench-password",
                "PYTHONPATH": str(ROOT),
            }
            base = [sys.executable, "-m", "auditor"]
            run([*base, "scan", "--no-host", "-q", "--config", str(config)], env)

            # the median of three moves of the whole set (INBOX -> Archive -> INBOX -> Archive)
            client = server.imap_client("bare", "bench-password")
            times = []
            for source, target in (
                ("INBOX", "Archive"),
                ("Archive", "INBOX"),
                ("INBOX", "Archive"),
            ):
                client.select_folder(source)
                uids = client.search(["ALL"])
                started = time.perf_counter()
                client.move(uids, target)
                times.append(time.perf_counter() - started)
            bare = sorted(times)[1]
            client.logout()

            archive = work / "archive"
            archive.mkdir()
            clean = run(
                [
                    *base,
                    "clean",
                    "--config",
                    str(config),
                    "--apply",
                    "--yes",
                    "--rule",
                    "MAIL002",
                    "--archive",
                    str(archive),
                ],
                env,
            )
            check = server.imap_client("bench", "bench-password")
            left = check.select_folder("INBOX")[b"EXISTS"]
            check.logout()
        conn = sqlite3.connect(work / "store.sqlite3")
        rows = conn.execute(
            "SELECT backup_path, backup_offset, backup_length, sha256, state FROM clean_items"
        ).fetchall()
        conn.close()
        verified = sum(1 for r in rows if r[4] == "verified")
        good = sum(
            1 for p, o, n, sha, _s in rows if hashlib.sha256(read_copy(p, o, n)).hexdigest() == sha
        )
        wanted = {hashlib.sha256(r).hexdigest() for r in raws}
        saved = {r[3] for r in rows}
        print(f"messages             {args.messages} ({size / 1e6:.1f} MB)")
        print(f"bare UID MOVE        {bare:.2f} s  ({args.messages / bare:,.0f} messages/s)")
        print(f"auditor clean        {clean:.2f} s  ({args.messages / clean:,.0f} messages/s)")
        print(f"ratio                {clean / bare:.1f}x the bare move")
        print(f"left in INBOX        {left}")
        print(
            f"verified / read back {verified} / {good} (every SHA-256 of the originals "
            f"{'found' if wanted <= saved else 'NOT found'} in the archive)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

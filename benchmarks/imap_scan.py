#!/usr/bin/env python3
"""How fast does `auditor scan` read a big mailbox over IMAP? Prints the figures the README quotes.

Starts a private Dovecot on 127.0.0.1 (tests/dovecot.py), loads N generated messages
(tests/mailgen.py: a realistic mix of plain mail, newsletters, photos and PDFs, years of
dates, read and unread), then times, each as a whole command seen from outside:

  lower bound   a raw socket sending one `UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS
                BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (...)])` per folder and reading the
                answer without parsing it: what the server alone costs
  first scan    `auditor scan --no-host --quiet` on an empty store
  rescan        the same command again, nothing changed on the server
  --help        a bare `auditor --help`: the process's fixed cost

and the peak RSS of the scans. Usage:

    python benchmarks/imap_scan.py                 # 100 000 messages (about 5 GB on disk)
    python benchmarks/imap_scan.py --messages 20000
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.collect.mail.imap import HEADER_FIELDS  # noqa: E402
from tests.dovecot import Dovecot  # noqa: E402
from tests.mailgen import generate_messages  # noqa: E402

USER, PASSWORD = "bench", "bench-password"


def _read_until_tag(sock: socket.socket, tag: bytes) -> int:
    """Read until the tagged completion line; return the bytes received."""
    marker = b"\r\n" + tag + b" "
    total = 0
    tail = b"\r\n"  # the tagged line may be the first line of the answer
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        total += len(chunk)
        tail = (tail + chunk)[-4096:]
        idx = tail.rfind(marker)
        if idx >= 0 and tail.endswith(b"\r\n") and tail.find(b"\r\n", idx + 2) == len(tail) - 2:
            if not tail[idx + len(marker) :].startswith(b"OK"):
                raise RuntimeError(tail[idx:].decode(errors="replace"))
            return total


def raw_status_round(port: int) -> float:
    """Seconds for the server alone to answer what an unchanged rescan asks: log in, one
    LIST-STATUS (RFC 5819) for every folder's counters, log out."""
    start = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.recv(4096)
    for n, text in enumerate(
        (
            f"LOGIN {USER} {PASSWORD}",
            "ENABLE CONDSTORE",
            'LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ))',
            "LOGOUT",
        )
    ):
        tag = f"s{n:03d}".encode()
        sock.sendall(tag + b" " + text.encode() + b"\r\n")
        _read_until_tag(sock, tag)
    sock.close()
    return time.perf_counter() - start


def raw_lower_bound(port: int, folders: list[str]) -> tuple[float, int]:
    """Seconds and bytes for the server to send everything a scan needs, unparsed."""
    start = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.recv(4096)  # greeting
    received = 0
    n = 0

    def command(text: str) -> None:
        nonlocal received, n
        n += 1
        tag = f"b{n:04d}".encode()
        sock.sendall(tag + b" " + text.encode() + b"\r\n")
        received += _read_until_tag(sock, tag)

    command(f"LOGIN {USER} {PASSWORD}")
    for folder in folders:
        command(f'EXAMINE "{folder}"')
        command(
            "UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS BODYSTRUCTURE "
            f"BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
        )
    command("LOGOUT")
    sock.close()
    return time.perf_counter() - start, received


# A small launcher reports the peak RSS of the command and its helper processes: measured
# from this (large) benchmark process, a forked child would count our pages too.
_LAUNCHER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "t = time.perf_counter() - t; "
    "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, code)"
)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (bytes) and exit code of one command."""
    out = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *cmd], env=env, capture_output=True, text=True
    )
    elapsed, rss, code = out.stdout.split()
    if int(code) not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}: {out.stderr}")
    return float(elapsed), int(rss), int(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of --help and rescan")
    args = parser.parse_args()

    exe = shutil.which("auditor", path=str(Path(sys.executable).parent)) or shutil.which("auditor")
    if not exe:
        sys.exit("install auditor first (pip install -e .)")
    work = Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    with Dovecot(quota_mb=20 * 1024) as server:  # a 20 GB quota, as hosted mailboxes have
        server.add_user(USER, PASSWORD)
        server.imap_client(USER, PASSWORD).logout()  # creates the special-use folders
        t0 = time.perf_counter()
        per_folder = server.deliver_generated(
            USER, generate_messages(args.messages, seed=args.seed)
        )
        load_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in server.mail_root.rglob("*") if p.is_file())
        print(
            f"loaded {args.messages} messages ({size / 1e9:.2f} GB) in {load_s:.1f} s: "
            + ", ".join(f"{k} {v}" for k, v in sorted(per_folder.items()))
        )

        cfg = work / "auditor.toml"
        cfg.write_text(
            f'[[accounts]]\nname = "bench"\nhost = "127.0.0.1"\nport = {server.imap_port}\n'
            f'security = "none"\nusername = "{USER}"\npassword_env = "BENCH_PW"\n',
            encoding="utf-8",
        )
        env = dict(
            os.environ,
            BENCH_PW=PASSWORD,
            AUDITOR_DB=str(work / "store.sqlite3"),
            AUDITOR_CONFIG=str(cfg),
        )
        folders = sorted(per_folder)
        # the first pass warms Dovecot's index cache, as any client's first visit would
        raw_lower_bound(server.imap_port, folders)
        lower, received = min(raw_lower_bound(server.imap_port, folders) for _ in range(2))

        scan = [exe, "scan", "--no-host", "--quiet"]
        first, first_rss, _ = timed(scan, env)
        rescans = [timed(scan, env) for _ in range(args.repeat)]
        rescan = min(r[0] for r in rescans)
        rescan_rss = max(r[1] for r in rescans)
        helps = [timed([exe, "--help"], env)[0] for _ in range(args.repeat)]
        help_s = min(helps)
        status_s = min(raw_status_round(server.imap_port) for _ in range(args.repeat))

    print(f"lower bound (raw UID FETCH, {received / 1e6:.0f} MB): {lower:.2f} s")
    print(
        f"auditor first scan:      {first:.2f} s   ({first / lower:.2f}x the lower bound;"
        " target <= 4x)"
    )
    print(
        f"auditor rescan, no change: {rescan:.3f} s ({rescan / help_s:.2f}x --help; target <= 2x)"
    )
    print(f"auditor --help:          {help_s:.3f} s")
    print(
        f"server alone for a rescan (login + LIST-STATUS + logout): {status_s:.3f} s;"
        f" rescan minus that: {(rescan - status_s) / help_s:.2f}x --help"
    )
    print(
        f"peak RSS: first scan {first_rss / 1e6:.0f} MB, rescan {rescan_rss / 1e6:.0f} MB"
        " (target <= 150 MB)"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""How fast does `auditor scan` read IMAP mailboxes? Prints the figures the README quotes.

Starts a private Dovecot on 127.0.0.1 (tests/dovecot.py), loads N generated messages
(tests/mailgen.py: a realistic mix of plain mail, newsletters, photos and PDFs, years of
dates, read and unread; written straight into the Maildir), then times, each as a whole
command seen from outside, in three parts (--only picks some; each stays under 5 minutes):

reports (loopback)
  lower bound   a raw socket sending one `UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS
                BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (...)])` per folder and reading the
                answer without parsing it: what the server alone costs
  first scan    `auditor scan --no-host --quiet` on an empty store
  history       --past-runs unchanged rescans, as a year or two of monthly cron runs
  rescan        the same command again, nothing changed on the server, --quiet, then
                writing the JSON report (`--format json --output r.json`), then the HTML
                report of that run (`auditor report --format html --output r.html`)
  --help        a bare `auditor --help`: the process's fixed cost, run side by side

slow-link (through SlowLink: 12.5 ms each way, 50 Mbit/s per connection)
  the raw lower bound, the first scan and the unchanged rescan, all through the proxy;
  the rescan's cost over --help in round trips

accounts (through SlowLink)
  --accounts accounts of --account-messages messages in one config: the first scan of all
  together (time, peak RSS), then each account alone on an empty store

Usage:

    python benchmarks/imap_scan.py --only reports           # 100 000 messages, 24 past runs
    python benchmarks/imap_scan.py --only slow-link         # 100 000 messages through the proxy
    python benchmarks/imap_scan.py --only accounts          # 10 accounts of 5 000 messages
    python benchmarks/imap_scan.py --messages 20000         # every part, smaller
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
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


class SlowLink:
    """A loopback TCP proxy that behaves like a distant server's link: every byte arrives
    `one_way` seconds after it was sent (12.5 ms: a 25 ms round trip), and each connection
    carries at most `bits_per_second` each way (50 Mbit/s), bytes queued behind each other
    as on a real link. The cap is per connection (the server's or the path's share of one
    TCP stream), so parallel connections add up, as they do towards a real server."""

    def __init__(self, target_port: int, one_way: float = 0.0125, bits_per_second=50e6):
        self.target_port = target_port
        self.one_way = one_way
        self.bytes_per_second = bits_per_second / 8
        self.port = 0
        self.round_trips = 0  # times a client spoke again after the server had answered
        self.sent: list[bytes] = []  # what clients sent, chunk by chunk
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowLink:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *_exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _connection(self, client_r, client_w) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        for writer in (client_w, server_w):  # small answers go at once, as on a real link
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        turn = {"server_spoke": True}  # the greeting: the client's first command is a turn
        await asyncio.gather(
            self._pipe(client_r, server_w, turn, from_client=True),
            self._pipe(server_r, client_w, turn, from_client=False),
        )

    async def _pipe(self, source, sink, turn: dict, from_client: bool) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                when, data = item
                if (wait := when - loop.time()) > 0:
                    await asyncio.sleep(wait)
                sink.write(data)
                await sink.drain()
            sink.close()

        task = asyncio.ensure_future(deliver())
        link_free = 0.0  # when the link has sent everything queued so far
        try:
            while data := await source.read(16384):
                if from_client:
                    self.sent.append(data)
                    if turn["server_spoke"]:
                        self.round_trips += 1
                turn["server_spoke"] = not from_client
                link_free = max(loop.time(), link_free) + len(data) / self.bytes_per_second
                queue.put_nowait((link_free + self.one_way, data))
        except (ConnectionError, OSError):
            pass
        queue.put_nowait(None)
        try:
            await task
        except (ConnectionError, OSError):
            pass


# A small launcher reports the peak RSS of the command and its helper processes: measured
# from this (large) benchmark process, a forked child would count our pages too.
_LAUNCHER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "t = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(t, u.ru_maxrss * 1024, u.ru_utime + u.ru_stime, code)"
)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (bytes) and CPU seconds (user + system, helpers included)
    of one command: on a shared machine the CPU time moves far less than the wall clock."""
    out = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *cmd], env=env, capture_output=True, text=True
    )
    elapsed, rss, cpu, code = out.stdout.split()
    if int(code) not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}: {out.stderr}")
    return float(elapsed), int(rss), float(cpu)


def _config(path: Path, accounts: list[tuple[str, str, int]]) -> None:
    """An auditor config naming (name, user, port) accounts, passwords from $BENCH_PW."""
    path.write_text(
        "".join(
            f'[[accounts]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {port}\n'
            f'security = "none"\nusername = "{user}"\npassword_env = "BENCH_PW"\n\n'
            for name, user, port in accounts
        ),
        encoding="utf-8",
    )


def _env(work: Path, store: str, config: Path) -> dict[str, str]:
    return dict(
        os.environ,
        BENCH_PW=PASSWORD,
        AUDITOR_DB=str(work / store),
        AUDITOR_CONFIG=str(config),
    )


def _load(server: Dovecot, user: str, messages: int, seed: int) -> dict[str, int]:
    server.add_user(user, PASSWORD)
    server.imap_client(user, PASSWORD).logout()  # creates the special-use folders
    t0 = time.perf_counter()
    per_folder = server.deliver_generated(user, generate_messages(messages, seed=seed))
    size = sum(p.stat().st_size for p in (server.mail_root / user).rglob("*") if p.is_file())
    print(
        f"loaded {messages} messages for {user} ({size / 1e9:.2f} GB) in"
        f" {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(per_folder.items()))
    )
    return per_folder


def _side_by_side(runs: dict[str, list[str]], env, repeat: int) -> dict[str, float]:
    """Best wall time of each command, run in turns so a shared machine's load weighs on
    all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, cmd in runs.items():
            times[name].append(timed(cmd, env)[0])
    return {name: min(t) for name, t in times.items()}


def part_reports(exe: str, args, work: Path) -> None:
    """Part 1: the report of an unchanged rescan with a long history, against --help."""
    with Dovecot(quota_mb=20 * 1024) as server:  # a 20 GB quota, as hosted mailboxes have
        folders = sorted(_load(server, USER, args.messages, args.seed))
        config = work / "auditor.toml"
        _config(config, [("bench", USER, server.imap_port)])
        env = _env(work, "store.sqlite3", config)
        # the first pass warms Dovecot's index cache, as any client's first visit would
        raw_lower_bound(server.imap_port, folders)
        lower, received = min(raw_lower_bound(server.imap_port, folders) for _ in range(2))

        scan = [exe, "scan", "--no-host", "--quiet"]
        first, first_rss, first_cpu = timed(scan, env)
        t0 = time.perf_counter()
        for _ in range(args.past_runs - 1):
            timed(scan, env)
        history_s = time.perf_counter() - t0
        best = _side_by_side(
            {
                "help": [exe, "--help"],
                "quiet": scan,
                "json": [*scan, "--format", "json", "--output", str(work / "r.json")],
                "html": [exe, "report", "--format", "html", "--output", str(work / "r.html")],
            },
            env,
            args.repeat,
        )
        rescan_rss = timed(scan, env)[1]
        status_s = min(raw_status_round(server.imap_port) for _ in range(args.repeat))
    help_s = best["help"]
    print(f"lower bound (raw UID FETCH, {received / 1e6:.0f} MB): {lower:.2f} s")
    print(
        f"auditor first scan:        {first:.2f} s ({first / lower:.2f}x the lower bound;"
        f" CPU {first_cpu:.1f} s)"
    )
    print(f"history: {args.past_runs} runs ({args.past_runs - 1} rescans in {history_s:.0f} s)")
    print(f"auditor --help:            {help_s:.3f} s")
    for name, label in (
        ("quiet", "rescan, no change, --quiet:"),
        ("json", "rescan + JSON report:      "),
        ("html", "HTML report of that run:   "),
    ):
        print(f"{label} {best[name]:.3f} s ({best[name] / help_s:.2f}x --help; goal <= 2x)")
    print(
        f"server alone for a rescan (login + LIST-STATUS + logout): {status_s:.3f} s;"
        f" rescan minus that: {(best['quiet'] - status_s) / help_s:.2f}x --help"
    )
    print(f"peak RSS: first scan {first_rss / 1e6:.0f} MB, rescan {rescan_rss / 1e6:.0f} MB")


def part_slow_link(exe: str, args, work: Path) -> None:
    """Part 3: the first scan and the unchanged rescan through a 25 ms, 50 Mbit/s link."""
    with Dovecot(quota_mb=20 * 1024) as server, SlowLink(server.imap_port) as link:
        folders = sorted(_load(server, USER, args.messages, args.seed))
        config = work / "slow.toml"
        _config(config, [("bench", USER, link.port)])
        env = _env(work, "slow.sqlite3", config)
        raw_lower_bound(server.imap_port, folders)  # warm Dovecot's caches, not the link
        lower, received = raw_lower_bound(link.port, folders)
        scan = [exe, "scan", "--no-host", "--quiet"]
        first, first_rss, first_cpu = timed(scan, env)
        best = _side_by_side({"help": [exe, "--help"], "rescan": scan}, env, args.repeat)
        link.round_trips = 0
        timed(scan, env)
        turns = link.round_trips  # counted by the link: does not move with the machine's load
        status_s = min(raw_status_round(link.port) for _ in range(args.repeat))
    rtt = 2 * link.one_way
    extra = best["rescan"] - best["help"]
    print(f"through SlowLink ({rtt * 1000:.0f} ms round trip, 50 Mbit/s per connection):")
    print(f"  lower bound (raw UID FETCH, {received / 1e6:.0f} MB): {lower:.2f} s")
    print(
        f"  first scan:            {first:.2f} s ({first / lower:.2f}x the lower bound;"
        f" goal <= 1.3x), CPU {first_cpu:.1f} s, peak RSS {first_rss / 1e6:.0f} MB"
    )
    print(f"  auditor --help:        {best['help']:.3f} s")
    print(
        f"  rescan, no change:     {best['rescan']:.3f} s (--help + {extra:.3f} s ="
        f" --help + {extra / rtt:.1f} round trips; goal <= 5)"
    )
    print(
        f"  the rescan spoke {turns} times after the server's answer (the last is LOGOUT, not"
        " waited for), after the greeting (half a round trip)"
    )
    print(
        f"  server alone for a rescan (connect, login, LIST-STATUS, logout): {status_s:.3f} s"
        f" = {status_s / rtt:.1f} round trips"
    )


def part_accounts(exe: str, args, work: Path) -> None:
    """Part 4: many accounts in one config, through the slow link, against one at a time."""
    n, size = args.accounts, args.account_messages
    users = [f"asso{i:02d}" for i in range(1, n + 1)]
    with Dovecot(quota_mb=20 * 1024) as server, SlowLink(server.imap_port) as link:
        for i, user in enumerate(users):
            _load(server, user, size, args.seed + i)
        together = work / "all.toml"
        _config(together, [(user, user, link.port) for user in users])
        total, rss, cpu = timed(
            [exe, "scan", "--no-host", "--quiet"], _env(work, "all.sqlite3", together)
        )
        alone = []
        for user in users:
            config = work / f"{user}.toml"
            _config(config, [(user, user, link.port)])
            env = _env(work, f"{user}.sqlite3", config)
            alone.append(timed([exe, "scan", "--no-host", "--quiet"], env))
    slowest = max(t for t, _r, _c in alone)
    print(f"{n} accounts of {size} messages through SlowLink, first scan:")
    print(
        f"  all together:   {total:.2f} s ({total / slowest:.2f}x the slowest alone;"
        f" goal <= 1.5x), CPU {cpu:.1f} s, peak RSS {rss / 1e6:.0f} MB (goal <= 200 MB)"
    )
    print(
        f"  one by one:     slowest {slowest:.2f} s, sum {sum(t for t, _r, _c in alone):.2f} s,"
        f" CPU sum {sum(c for _t, _r, c in alone):.1f} s,"
        f" peak RSS {max(r for _t, r, _c in alone) / 1e6:.0f} MB"
    )


PARTS = {"reports": part_reports, "slow-link": part_slow_link, "accounts": part_accounts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(PARTS), help="repeatable")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--past-runs", type=int, default=24, help="history before the rescan")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--account-messages", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of --help and rescan")
    args = parser.parse_args()

    exe = shutil.which("auditor", path=str(Path(sys.executable).parent)) or shutil.which("auditor")
    if not exe:
        sys.exit("install auditor first (pip install -e .)")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    for name in args.only or list(PARTS):
        work = Path(tempfile.mkdtemp(prefix="auditor-bench-"))
        try:
            PARTS[name](exe, args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

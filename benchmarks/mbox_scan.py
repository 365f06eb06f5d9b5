#!/usr/bin/env python3
"""How fast is a first scan of a local mbox, and how much memory does one huge message take?

1. Reads an mbox of about 100 MB of realistic mail (tests/mailgen.py: text, newsletters,
   photos, PDFs) with `collect_mbox`, and prints the best of N timings.
2. Reads an mbox holding one message of about 300 MB (a video sent by mistake, base64) in a
   child process, and prints its peak resident memory: it must stay far below the message.

    python benchmarks/mbox_scan.py [--mb 100] [--huge-mb 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.collect.mail.localbox import collect_mbox  # noqa: E402
from tests.mailgen import generate_messages  # noqa: E402


def realistic_mbox(path: Path, megabytes: int) -> int:
    """Write generated mail until the file holds `megabytes` MB; the number of messages."""
    count = 0
    with path.open("wb") as fh:
        for message in generate_messages(100_000, seed=5):
            fh.write(b"From sender@example.org Mon Jan  2 10:00:00 2023\n")
            fh.write(message.raw.replace(b"\nFrom ", b"\n>From "))
            fh.write(b"\n")
            count += 1
            if fh.tell() >= megabytes * 1024 * 1024:
                break
    return count


def huge_message_mbox(path: Path, megabytes: int) -> None:
    """One message with a `megabytes` MB attachment, base64 in 76-character lines."""
    line = b"QUJD" * 19 + b"\n"  # 57 bytes once decoded
    lines = megabytes * 1024 * 1024 // len(line)
    with path.open("wb") as fh:
        fh.write(
            b"From sender@example.org Mon Jan  2 10:00:00 2023\n"
            b"From: sender@example.org\nSubject: the film of the party\n"
            b"Date: Mon, 2 Jan 2023 10:00:00 +0000\nMIME-Version: 1.0\n"
            b'Content-Type: multipart/mixed; boundary="b"\n\n'
            b"--b\nContent-Type: text/plain\n\nHere it is.\n"
            b'--b\nContent-Type: video/mp4; name="party.mp4"\n'
            b"Content-Transfer-Encoding: base64\n\n"
        )
        block = line * 1024
        for _ in range(lines // 1024):
            fh.write(block)
        fh.write(line * (lines % 1024))
        fh.write(b"--b--\n")


def peak_rss_child(path: str) -> None:
    """In the child: read the mbox, print the attachment's size and the peak RSS."""
    (folder,) = collect_mbox(Path(path))
    (message,) = folder.messages
    sizes = [a.size_bytes for a in message.attachments]
    status = Path("/proc/self/status")  # VmHWM: ru_maxrss would survive exec (Linux)
    if status.exists():
        peak_kb = int(status.read_text().split("VmHWM:")[1].split()[0])
    else:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS {peak_kb // 1024} MB; message {message.size_bytes} bytes, parts {sizes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--huge-mb", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peak_rss_child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        mbox = Path(tmp) / "Inbox.mbox"
        count = realistic_mbox(mbox, args.mb)
        timings, cpu = [], []
        for _ in range(args.runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            (folder,) = collect_mbox(mbox)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        assert len(folder.messages) + folder.skipped == count
        size = mbox.stat().st_size / 1024 / 1024
        # CPU time too: on a shared machine it moves far less than the wall clock
        print(
            f"{size:.0f} MB mbox, {count} messages: best {min(timings):.2f} s "
            f"(CPU {min(cpu):.2f} s)"
        )
        os.remove(mbox)
        huge = Path(tmp) / "Huge.mbox"
        huge_message_mbox(huge, args.huge_mb)
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(huge)], capture_output=True, text=True
        )
        if done.returncode:
            print(f"one {args.huge_mb} MB message: FAILED\n{done.stderr[-2000:]}")
            return
        print(f"one {args.huge_mb} MB message: {done.stdout.strip()}")


if __name__ == "__main__":
    main()

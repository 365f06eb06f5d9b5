"""A message of any size is read with bounded memory, and reading in chunks changes nothing.

An mbox is read in chunks; a message larger than WHOLE_MESSAGE_LIMIT streams through
`MessageStream` instead of being held whole. Both must give exactly the facts that
`message_facts` gives on the whole message, and the mbox must be cut where it always was.
"""

from __future__ import annotations

import io
import json
import random
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.collect.mail import localbox
from auditor.collect.mail.localbox import _MboxReader, collect_maildir, collect_mbox
from auditor.collect.mail.mime import message_facts
from auditor.collect.mail.mimestream import MessageStream
from tests.mailgen import cpython_corpus_messages, generate_messages

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "mail"


def corpus() -> list[tuple[str, bytes]]:
    messages = [(p.name, p.read_bytes()) for p in sorted((DATA / "eml").glob("*.eml"))]
    for path in sorted((DATA / "mime_classes").glob("*.eml")):  # broken MIME (issue 14)
        messages.append((path.name, path.read_bytes()))
        messages.append((f"crlf-{path.name}", path.read_bytes().replace(b"\n", b"\r\n")))
    messages += cpython_corpus_messages()
    messages += [(f"generated-{i}", m.raw) for i, m in enumerate(generate_messages(300, seed=3))]
    return messages


def streamed(raw: bytes, rng: random.Random):
    stream = MessageStream()
    pos = 0
    while pos < len(raw):
        size = rng.choice([1, 2, 3, 7, 64, 1000, 65536])
        stream.feed(raw[pos : pos + size])
        pos += size
    return stream.facts(1, False, flags=("\\Seen",))


def test_a_message_read_in_chunks_gives_the_facts_of_the_whole_message():
    rng = random.Random(12)
    messages = corpus()
    assert len(messages) > 300
    for name, raw in messages:
        whole = message_facts(raw, 1, False, flags=("\\Seen",))
        assert streamed(raw, rng) == whole, name


def reference_segments(data: bytes) -> list[tuple[bytes, bytes]]:
    """How auditor cut an mbox before it read in chunks (the whole file in memory)."""
    starts = [0] if data[:5] == b"From " else []
    pos = data.find(b"\nFrom ")
    while pos >= 0:
        starts.append(pos + 1)
        pos = data.find(b"\nFrom ", pos + 6)
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        eol = data.find(b"\n", start, end)
        body_start = end if eol < 0 else eol + 1
        # the line ending before the next "From " line, or the end of the file (the last
        # message's), belongs to the separator
        if data[end - 2 : end] == b"\r\n" and end - 2 >= body_start:
            end -= 2
        elif data[end - 1 : end] == b"\n" and end - 1 >= body_start:
            end -= 1
        out.append((data[start:body_start], data[body_start : max(end, body_start)]))
    return out


def awkward_mboxes() -> list[bytes]:
    one = b"From a Mon Jan  2 10:00:00 2023\r\nSubject: crlf\r\n\r\nbody\r\n"
    return [
        b"",
        b"From a Mon Jan  2 10:00:00 2023",  # a From line alone, no line ending
        b"preamble that is no message\nFrom a Mon Jan  2 10:00:00 2023\nSubject: x\n\nbody\n",
        one * 5,
        b"From a\nFrom b\nSubject: the first is empty\n\nbody",  # no final line ending
        b"From a\nSubject: y\n\nline\n\n\nFrom b\n\nFrom c\nSubject: z\n\n>From escaped\n",
    ]


@pytest.mark.parametrize(("chunk", "whole_limit"), [(1, 10), (7, 50), (4096, 100), (None, None)])
def test_an_mbox_read_in_chunks_is_cut_where_it_always_was(chunk, whole_limit):
    generated = b"".join(
        b"From x@example.org Mon Jan  2 10:00:00 2023\n" + m.raw + b"\n"
        for m in generate_messages(40, seed=9, light=True)
    )
    for data in [*awkward_mboxes(), generated]:
        reader = _MboxReader(io.BytesIO(data), whole_limit=whole_limit, chunk=chunk)
        got = [
            (line, raw if raw is not None else b"".join(chunks))
            for line, raw, chunks in reader.messages()
        ]
        assert got == reference_segments(data)


def test_large_messages_stream_and_give_the_same_folder(tmp_path, monkeypatch):
    mbox = tmp_path / "Inbox.mbox"
    mbox.write_bytes(
        b"".join(
            b"From x@example.org Mon Jan  2 10:00:00 2023\n" + m.raw + b"\n"
            for m in generate_messages(60, seed=4)
        )
    )
    (whole,) = collect_mbox(mbox)
    monkeypatch.setattr(localbox, "WHOLE_MESSAGE_LIMIT", 2000)  # nearly all stream
    monkeypatch.setattr(localbox, "_CHUNK", 997)
    (streamed_folder,) = collect_mbox(mbox)
    assert streamed_folder == whole


def test_escaped_from_lines_are_undone_the_same_when_a_message_streams(tmp_path, monkeypatch):
    # mboxrd: ">From " lines were "From ", ">>From " were ">From "; the last message's
    # separator line ending is not its own. A streamed message must give the same sizes.
    mbox = tmp_path / "Inbox.mbox"
    raws = [p.read_bytes() for p in sorted((DATA / "mime_classes").glob("*.eml"))]
    escaped = [re.sub(rb"(?m)^(>*From )", rb">\1", raw) for raw in raws]
    mbox.write_bytes(
        b"".join(b"From x@example.org Mon Jan  2 10:00:00 2023\n" + e + b"\n" for e in escaped)
    )
    (whole,) = collect_mbox(mbox)
    assert [m.size_bytes for m in whole.messages] == [len(raw) for raw in raws]
    monkeypatch.setattr(localbox, "WHOLE_MESSAGE_LIMIT", 100)  # every message streams
    for chunk in (7, 997):
        monkeypatch.setattr(localbox, "_CHUNK", chunk)
        (streamed_folder,) = collect_mbox(mbox)
        assert streamed_folder == whole


def test_a_large_maildir_message_streams_too(tmp_path, monkeypatch):
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    for i, message in enumerate(generate_messages(20, seed=8)):
        (tmp_path / "cur" / f"17000000{i:02}.M{i}.host:2,S").write_bytes(message.raw)
    (whole,) = collect_maildir(tmp_path)
    monkeypatch.setattr(localbox, "WHOLE_MESSAGE_LIMIT", 1000)
    (streamed_folder,) = collect_maildir(tmp_path)
    assert streamed_folder == whole


CHILD = """
import json, sys
from pathlib import Path
from auditor.collect.mail.localbox import collect_mbox
(folder,) = collect_mbox(Path(sys.argv[1]))
(message,) = folder.messages
print(json.dumps({
    "size": message.size_bytes,
    "subject": message.subject,
    "parts": [[a.part, a.filename, a.content_type, a.size_bytes] for a in message.attachments],
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would count the forking pytest
    "peak_mb": int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) // 1024,
}))
"""


def test_one_300_mb_message_is_read_in_bounded_memory(tmp_path):
    mbox = tmp_path / "Huge.mbox"
    line = b"QUJD" * 19 + b"\n"  # 76 base64 characters, 57 bytes once decoded
    lines = 300 * 1024 * 1024 // len(line)
    with mbox.open("wb") as fh:
        fh.write(
            b"From sender@example.org Mon Jan  2 10:00:00 2023\n"
            b"From: sender@example.org\nSubject: the film of the party\n"
            b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
            b"--b\nContent-Type: text/plain\n\nHere it is.\n"
            b'--b\nContent-Type: video/mp4; name="party.mp4"\n'
            b"Content-Transfer-Encoding: base64\n\n"
        )
        for _ in range(lines // 4096):
            fh.write(line * 4096)
        fh.write(line * (lines % 4096))
        fh.write(b"--b--\n")
    size = mbox.stat().st_size

    def limit_memory():  # a 300 MB message must fit in far less than 300 MB
        resource.setrlimit(resource.RLIMIT_AS, (400 * 1024 * 1024, 400 * 1024 * 1024))

    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(mbox)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_memory,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    from_line = len(b"From sender@example.org Mon Jan  2 10:00:00 2023\n")
    assert result["size"] == size - from_line - 1  # the last line ending is the separator's
    assert result["subject"] == "the film of the party"
    assert result["parts"] == [["2", "party.mp4", "video/mp4", (lines - 1) * 57 + 57]]
    assert result["peak_mb"] < 200


def test_a_uuencoded_attachment_is_measured_decoded_whole_or_streamed():
    import binascii

    data = bytes(range(256)) * 4
    lines = [binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45)]
    raw = (
        b"From: a@example.org\nSubject: uu\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="u"\n\n--u\nContent-Type: text/plain\n\nhi\n'
        b'--u\nContent-Type: application/octet-stream; name="data.bin"\n'
        b"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 data.bin\n"
        + b"".join(lines)
        + b"`\nend\n--u--\n"
    )
    whole = message_facts(raw, 1, False, flags=("\\Seen",))
    assert [a.size_bytes for a in whole.attachments] == [len(data)]
    rng = random.Random(5)
    for _ in range(5):
        assert streamed(raw, rng) == whole

"""A small scriptable IMAP server on 127.0.0.1, for the faults Dovecot will not commit.

It speaks just enough IMAP4rev1 (RFC 3501) for `auditor scan`: CAPABILITY, LOGIN,
AUTHENTICATE PLAIN, ENABLE, LIST, STATUS, EXAMINE/SELECT, SEARCH / UID SEARCH, UID FETCH,
NOOP, LOGOUT. Each test scripts the misbehaviour it needs through attributes:

- `messages`: {uid: FakeMessage} of the one folder INBOX (or `folders` for more);
- `unsolicited`: raw untagged lines sent before each UID FETCH answer (`* 1 FETCH ...`);
- `omit`: UIDs a UID FETCH leaves out silently; `omit_times` how many FETCHes do so;
- `refuse`: UIDs that make a UID FETCH end in NO (the others are answered first);
- `stall`: a command name ("UID FETCH", "LOGIN"...) the server never answers;
- `raw`: {uid: bytes} the whole FETCH response for that UID, sent as it is;
- `list_lines`: raw `* LIST` lines instead of the folders';
- `search_extra`: UIDs added to every SEARCH answer; `refuse_search`: SEARCH answers NO.

`connections` counts the logins' connections, `commands` keeps every command line.
"""

from __future__ import annotations

import base64
import re
import socketserver
import threading
from dataclasses import dataclass, field

HEADER = (
    b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nFrom: Alice <alice@example.org>\r\n"
    b"Subject: hello\r\nMessage-ID: <%d@example.org>\r\n\r\n"
)


@dataclass
class FakeMessage:
    size: int = 1000
    flags: str = "\\Seen"
    date: str = "01-Jan-2024 10:00:00 +0000"
    structure: bytes = b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 1000 20 NIL NIL NIL)'


@dataclass
class FakeImap:
    user: str = "asso"
    password: str = "secret"
    caps: str = "IMAP4rev1 AUTH=PLAIN"
    messages: dict[int, FakeMessage] = field(default_factory=dict)
    folders: dict[str, dict[int, FakeMessage]] = field(default_factory=dict)
    unsolicited: list[bytes] = field(default_factory=list)
    omit: set[int] = field(default_factory=set)
    omit_times: int = 10**9
    refuse: set[int] = field(default_factory=set)
    stall: str | None = None
    raw: dict[int, bytes] = field(default_factory=dict)
    list_lines: list[bytes] | None = None
    search_extra: list[int] = field(default_factory=list)
    refuse_search: bool = False
    connections: int = 0
    commands: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.folders:
            self.folders = {"INBOX": self.messages}
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._stop = threading.Event()
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._stop.set()  # stalled handlers wake up and hang up
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeImap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def uid_set(text: str, known: list[int]) -> list[int]:
    """RFC 3501 sequence-set of UIDs ("1:3,7", "*") to the known UIDs it names."""
    top = max(known, default=0)
    wanted: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition(":")
        low = top if a == "*" else int(a)
        high = low if not b else (top if b == "*" else int(b))
        low, high = min(low, high), max(low, high)
        wanted |= {u for u in known if low <= u <= high}
    return sorted(wanted)


def _handler(fake: FakeImap) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def setup(self) -> None:
            super().setup()
            self.folder: dict[int, FakeMessage] | None = None

        def send(self, data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        def handle(self) -> None:
            fake.connections += 1
            self.send(f"* OK [CAPABILITY {fake.caps}] fake ready\r\n".encode())
            try:
                while not fake._stop.is_set():
                    line = self.rfile.readline()
                    if not line:
                        return
                    text = line.decode("utf-8", "replace").rstrip("\r\n")
                    fake.commands.append(text)
                    tag, _, rest = text.partition(" ")
                    name, _, args = rest.partition(" ")
                    name = name.upper()
                    if name == "UID":
                        sub, _, args = args.partition(" ")
                        name = f"UID {sub.upper()}"
                    if fake.stall and name == fake.stall:
                        fake._stop.wait()  # never answer; hang up when the test ends
                        return
                    if not self.answer(tag, name, args):
                        return
            except OSError:
                pass

        def answer(self, tag: str, name: str, args: str) -> bool:
            ok = f"{tag} OK done\r\n".encode()
            if name == "CAPABILITY":
                self.send(f"* CAPABILITY {fake.caps}\r\n".encode() + ok)
            elif name == "LOGIN":
                words = re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', args)
                user, password = (_unquote(q) or a for q, a in words)
                self.login(tag, user == fake.user and password == fake.password)
            elif name == "AUTHENTICATE":
                self.send(b"+ \r\n")
                reply = base64.b64decode(self.rfile.readline().strip())
                _authz, user, password = reply.split(b"\0")
                self.login(
                    tag,
                    user.decode() == fake.user and password.decode("utf-8") == fake.password,
                )
            elif name in ("ENABLE", "NOOP"):
                self.send(ok)
            elif name == "LIST":
                lines = fake.list_lines
                if lines is None:
                    lines = [b'* LIST () "/" "%s"\r\n' % n.encode() for n in fake.folders]
                self.send(b"".join(lines) + ok)
            elif name == "STATUS":
                self.send(ok)
            elif name in ("EXAMINE", "SELECT"):
                folder_name = args.strip('"')
                if folder_name not in fake.folders:
                    self.send(f"{tag} NO [NONEXISTENT] Mailbox doesn't exist\r\n".encode())
                    return True
                self.folder = fake.folders[folder_name]
                top = max(self.folder, default=0)
                self.send(
                    f"* {len(self.folder)} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n"
                    f"* OK [UIDNEXT {top + 1}] ok\r\n{tag} OK [READ-ONLY] done\r\n".encode()
                )
            elif name in ("SEARCH", "UID SEARCH"):
                if fake.refuse_search:
                    self.send(f"{tag} NO search refused by the fake server\r\n".encode())
                    return True
                uids = sorted(self.folder or {})
                if args.upper().startswith("UID "):
                    uids = uid_set(args.split()[1], uids)
                found = " ".join(map(str, [*uids, *fake.search_extra]))
                self.send(f"* SEARCH {found}\r\n".encode() + ok)
            elif name == "UID FETCH":
                self.fetch(tag, args)
            elif name == "LOGOUT":
                self.send(b"* BYE bye\r\n" + ok)
                return False
            else:
                self.send(f"{tag} BAD unknown command\r\n".encode())
            return True

        def login(self, tag: str, good: bool) -> None:
            if good:
                self.send(f"{tag} OK [CAPABILITY {fake.caps}] logged in\r\n".encode())
            else:
                self.send(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".encode())

        def fetch(self, tag: str, args: str) -> None:
            folder = self.folder or {}
            uid_text, _, items = args.partition(" ")
            uids = uid_set(uid_text, sorted(folder))
            out = list(fake.unsolicited)
            order = sorted(folder)
            omitting = fake.omit_times > 0
            if omitting and fake.omit & set(uids):
                fake.omit_times -= 1
            for uid in uids:
                if (omitting and uid in fake.omit) or uid in fake.refuse:
                    continue
                seq = order.index(uid) + 1
                out.append(fake.raw.get(uid) or self.response(seq, uid, folder[uid], items))
            self.send(b"".join(out))
            if fake.refuse & set(uids):
                self.send(f"{tag} NO Some messages could not be FETCHed\r\n".encode())
            else:
                self.send(f"{tag} OK Fetch completed.\r\n".encode())

        @staticmethod
        def response(seq: int, uid: int, m: FakeMessage, items: str) -> bytes:
            parts = [b"UID %d" % uid]
            if "RFC822.SIZE" in items:
                parts.append(b"RFC822.SIZE %d" % m.size)
            if "INTERNALDATE" in items:
                parts.append(b'INTERNALDATE "%s"' % m.date.encode())
            if "FLAGS" in items:
                parts.append(b"FLAGS (%s)" % m.flags.encode())
            if "BODYSTRUCTURE" in items:
                parts.append(b"BODYSTRUCTURE " + m.structure)
            header = re.search(r"BODY\.PEEK(\[HEADER\.FIELDS \([^)]*\)\])", items)
            if header:
                body = HEADER % uid
                parts.append(b"BODY%s {%d}\r\n%s" % (header.group(1).encode(), len(body), body))
            return b"* %d FETCH (%s)\r\n" % (seq, b" ".join(parts))

    return Handler


def messages(count: int) -> dict[int, FakeMessage]:
    """UIDs 1..count, each a small text message."""
    return {uid: FakeMessage() for uid in range(1, count + 1)}

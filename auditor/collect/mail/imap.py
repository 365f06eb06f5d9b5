"""IMAP collector: read-only, incremental scans of real mailboxes (RFC 3501, 7162, 6154, 2087).

Every folder is opened with EXAMINE and only BODY.PEEK is fetched, so no flag ever changes.
A rescan uses the sync state the store kept (UIDVALIDITY, UIDNEXT, EXISTS and, with
CONDSTORE, HIGHESTMODSEQ) to fetch only what changed. The collector never judges and never
stores itself: it reports to a `FolderSink` (implemented by the store).
"""

from __future__ import annotations

import fnmatch
import imaplib
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imap_utf7 import decode as decode_utf7
from imapclient.imapclient import SocketTimeout
from imapclient.response_parser import parse_response

from auditor.collect.mail.fetch_parser import FetchParseError, parse_fetch, parse_scan_fetch
from auditor.collect.mail.folders import special_use_from_name
from auditor.collect.mail.imap_account import ImapAccount
from auditor.errors import Problem, SourceError

if TYPE_CHECKING:
    from auditor.collect.mail.records import MessageFacts

HEADER_FIELDS = (
    "DATE FROM SUBJECT MESSAGE-ID LIST-ID LIST-UNSUBSCRIBE LIST-UNSUBSCRIBE-POST "
    "PRECEDENCE AUTO-SUBMITTED"
)
_HEADER_ITEM = f"BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})]"
_HEADER_KEY = f"BODY[HEADER.FIELDS ({HEADER_FIELDS})]".encode()
# RFC 6154 special-use attributes we report, without the backslash.
_SPECIAL_USE = {
    b"\\trash": "Trash",
    b"\\junk": "Junk",
    b"\\sent": "Sent",
    b"\\drafts": "Drafts",
    b"\\archive": "Archive",
    b"\\all": "All",
    b"\\flagged": "Flagged",
}
_MALFORMED = b"X-AUDITOR-MALFORMED"  # set on a message whose response could not be parsed
BATCH = 1500  # UIDs per FETCH: 1 000 to 2 000 was best with a 20 ms round trip
PARALLEL_MIN = 4000  # UIDs to fetch in one folder before helpers are worth their start
CONNECT_TIMEOUT = 15.0
# The scan fetches sizes, flags, header fields and BODYSTRUCTURE, never a body: no answer it
# asks for comes near this. imaplib reads a literal in one read() of the announced size (it
# would allocate 99 GB for {99999999999}) and refuses any line over 1 MB (a BODYSTRUCTURE
# naming a 1 MB file name): both are bounded by this instead.
ANSWER_LIMIT = 64 * 1024 * 1024
UID_MAX = 2**32 - 1  # RFC 3501 section 9: nz-number is a 32-bit number
SQL_INT_MAX = 2**63 - 1  # SQLite's INTEGER
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            b"Jan",
            b"Feb",
            b"Mar",
            b"Apr",
            b"May",
            b"Jun",
            b"Jul",
            b"Aug",
            b"Sep",
            b"Oct",
            b"Nov",
            b"Dec",
        ),
        start=1,
    )
}


@dataclass
class FolderState:
    uidvalidity: int | None
    highestmodseq: int | None
    uidnext: int | None
    messages: int | None


class FolderSink(Protocol):
    """What the collector reports to (the store implements it)."""

    def state(self, folder: str) -> FolderState | None: ...
    def known_uids(self, folder: str) -> set[int]: ...
    def begin_folder(self, folder: str, special_use: str | None) -> None: ...
    def rebuild(self, folder: str) -> None: ...
    def add(self, folder: str, messages: list[MessageFacts]) -> None: ...
    def set_flags(self, folder: str, changes: dict[int, tuple[bool, tuple[str, ...]]]) -> int: ...
    def remove(self, folder: str, uids: set[int]) -> None: ...
    def save_state(self, folder: str, state: FolderState) -> None: ...
    def save_quota(
        self,
        root: str,
        used_bytes: int | None,
        limit_bytes: int | None,
        used_messages: int | None,
        limit_messages: int | None,
    ) -> None: ...
    def reuse_quota(self) -> bool: ...
    def finish(self, folders: list[str]) -> None: ...


@dataclass
class ScanStats:
    folders: int = 0
    fetched: int = 0
    flag_changes: int = 0
    vanished: int = 0
    malformed: int = 0
    skipped: int = 0  # messages not read (refused, left out, unreadable): the scan is partial
    partial: bool = False  # something was not read; `errors` says what
    errors: list[str] = field(default_factory=list)  # Problems, each about the account


class AnswerTooLarge(Exception):
    """The server announced an answer larger than anything the scan asked for.

    The connection is out of step after this (the literal was not read): never retried."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"{size} bytes announced, limit {limit}")
        self.size = size
        self.limit = limit


class FetchRefused(IMAPClientError):
    """UID FETCH answered NO; `answers` holds the FETCH responses sent before the NO."""

    def __init__(self, text: str, answers: list[Any]):
        super().__init__(text)
        self.text = text
        self.answers = answers


class ImpossibleValue(ValueError):
    """A number no message can have (a size beyond SQLite's integer, a UID beyond 32 bits)."""


Progress = Callable[[int, int], None]  # (messages done, messages total)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts allowed without encryption."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _fail(account: ImapAccount, key: str, **values: object) -> SourceError:
    """The line `key` about the account ("asso: login refused: ...")."""
    return SourceError(key, at=(account.name,), **values)


def connect(account: ImapAccount) -> IMAPClient:
    """Connect, secure and log in. Every failure is one line naming the account."""
    if account.security == "none" and not is_loopback(account.host):
        raise _fail(account, "source.imap.unencrypted", host=account.host)
    context = None  # loading the system's certificates costs ~20 ms: only when TLS is used
    if account.security != "none":
        context = ssl.create_default_context(cafile=account.ca_file)
    timeout = SocketTimeout(connect=min(CONNECT_TIMEOUT, account.timeout), read=account.timeout)
    try:
        client = IMAPClient(
            account.host,
            port=account.effective_port,
            ssl=account.security == "tls",
            ssl_context=context,
            timeout=timeout,
        )
        client._imap.debug = 0  # imaplib's debug output would format (and leak) every line
        bound_answers(client._imap, ANSWER_LIMIT)
        if account.security == "starttls":
            client.starttls(context)
        caps = client.capabilities()
        if b"IMAP4REV1" not in caps and b"IMAP4REV2" not in caps:
            raise _fail(account, "source.imap.not_imap4")
        if account.auth == "oauth2":
            client.oauth2_login(account.username, account.secret())
        else:
            _login(client, account, caps)
    except SourceError:
        raise
    except AnswerTooLarge as exc:
        raise _fail(
            account, "source.imap.answer_too_large", size=exc.size, limit=exc.limit
        ) from None
    except LoginError:
        raise _fail(account, "source.imap.login_refused") from None
    except socket.gaierror:
        raise _fail(account, "source.imap.unknown_host", host=account.host) from None
    except ssl.SSLCertVerificationError as exc:
        raise _fail(
            account, "source.imap.untrusted_certificate", error=exc.verify_message
        ) from None
    except ssl.SSLError as exc:
        raise _fail(account, "source.imap.tls_failed", error=exc.reason) from None
    except ConnectionRefusedError:
        raise _fail(
            account,
            "source.imap.connection_refused",
            host=account.host,
            port=account.effective_port,
        ) from None
    except TimeoutError:
        raise _fail(
            account, "source.imap.timeout", host=account.host, port=account.effective_port
        ) from None
    except OSError as exc:
        raise _fail(account, "source.imap.cannot_connect", error=exc.strerror or exc) from None
    except (IMAPClientError, imaplib.IMAP4.error) as exc:
        raise _fail(account, "source.imap.server_refused", error=_short(exc)) from None
    return client


def _login(client: IMAPClient, account: ImapAccount, caps: Sequence[bytes]) -> None:
    """LOGIN, or AUTHENTICATE PLAIN when the name or password is not ASCII.

    LOGIN's arguments are IMAP strings of 7-bit characters (imaplib refuses others); SASL
    PLAIN carries UTF-8 (RFC 4616), so "mot-de-passe-été" can log in where it is offered."""
    secret = account.secret()
    if secret.isascii() and account.username.isascii():
        client.login(account.username, secret)
    elif b"AUTH=PLAIN" in caps:
        client.plain_login(account.username, secret)
    else:
        raise _fail(account, "source.imap.non_ascii_password")


def bound_answers(imap: imaplib.IMAP4, limit: int) -> None:
    """Make imaplib refuse a line or literal over `limit` bytes before reading it.

    imaplib calls `self.read(size)` for each literal the server announces ({size} at the end
    of a line) and `self.readline()` for lines, so instance attributes replace both."""
    read = imap.read

    def bounded_read(size: int) -> bytes:
        if size > limit:
            raise AnswerTooLarge(size, limit)
        return read(size)

    def bounded_readline() -> bytes:
        line = imap.file.readline(limit + 1)
        if len(line) > limit:
            raise AnswerTooLarge(len(line), limit)
        return line

    imap.read = bounded_read  # type: ignore[method-assign]
    imap.readline = bounded_readline  # type: ignore[method-assign]


def _short(exc: BaseException | list) -> str:
    """The server's words for a line: one line, at most 200 characters, without the
    `[b'...']` that imaplib's lists of bytes print as."""
    text = str(exc).replace("\r", " ").replace("\n", " ")
    return _BYTES_LIST.sub(r"\2", text)[:200]


_BYTES_LIST = re.compile(r"\[b(['\"])(.*?)\1\]")


def internal_date_iso(value: Any) -> str | None:
    """RFC 3501 date-time ("17-Jul-1996 02:44:25 -0700") to ISO 8601 UTC, without strptime."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            return dt.astimezone(UTC).replace(microsecond=0).isoformat()
        except OverflowError:
            return None
    if not isinstance(value, bytes):
        return None
    try:
        day, month, rest = value.strip().split(b"-", 2)
        year, clock, zone = rest.split(b" ")
        hh, mm, ss = clock.split(b":")
        offset = (int(zone[1:3]) * 60 + int(zone[3:5])) * (-1 if zone[:1] == b"-" else 1)
        dt = datetime(
            int(year),
            _MONTHS[month],
            int(day),
            int(hh),
            int(mm),
            int(ss),
            tzinfo=timezone(timedelta(minutes=offset)),
        )
        # year 0001 with an eastern offset, year 9999 with a western one: before year 1 or
        # after 9999 in UTC, which Python cannot represent (OverflowError)
        return dt.astimezone(UTC).isoformat()
    except (ValueError, KeyError, IndexError, OverflowError):
        return None


def flag_names(raw: Any) -> tuple[str, ...]:
    """Flags as text, without \\Recent: it belongs to a session, not to the message."""
    return tuple(
        name
        for name in (
            f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f) for f in raw or ()
        )
        if name.lower() != "\\recent"
    )


def message_from_fetch(uid: int, fields: dict[bytes, Any]) -> MessageFacts:
    """MessageFacts from one parsed FETCH response.

    Raises ImpossibleValue for numbers no message can have, which the store could not hold
    (SQLite's integer is 64-bit): such a message is counted as unreadable, not stored wrong."""
    # imported here: a rescan that fetches nothing does not pay for the MIME modules
    from auditor.collect.mail.mime import facts_from_headers, wanted_headers

    flags = flag_names(fields.get(b"FLAGS"))
    header_block = fields.get(_HEADER_KEY) or b""
    malformed = False
    attachments: tuple = ()
    reasons: tuple[str, ...] = ()
    if fields.get(b"BODYSTRUCTURE") is not None:
        try:
            structure = fields.get(_STRUCTURE) or _structure(fields)
            attachments = tuple(structure.attachments)
            malformed, reasons = structure.malformed, tuple(structure.defects.reasons)
        except Exception:  # a shape no one foresaw: keep the message, flag it
            attachments, malformed = (), True
    size = fields.get(b"RFC822.SIZE")
    if not 0 < uid <= UID_MAX or (isinstance(size, int) and not 0 <= size <= SQL_INT_MAX):
        raise ImpossibleValue(f"UID {uid}, RFC822.SIZE {size}")
    if any(not 0 <= a.encoded_bytes <= SQL_INT_MAX for a in attachments) or any(
        not 0 <= a.size_bytes <= SQL_INT_MAX for a in attachments
    ):
        raise ImpossibleValue("part size")
    return facts_from_headers(
        wanted_headers(header_block) if isinstance(header_block, bytes) else {},
        key=uid,
        size_bytes=size if isinstance(size, int) else 0,
        seen="\\Seen" in flags,
        internal_date=internal_date_iso(fields.get(b"INTERNALDATE")),
        flags=flags,
        attachments=attachments,
        malformed=malformed or not isinstance(size, int) or _MALFORMED in fields,
        reasons=reasons,
    )


# A suspect multipart's whole body is asked for only up to this size (the local path reads
# messages up to the same size whole, see localbox.WHOLE_MESSAGE_LIMIT).
SECTION_LIMIT = 16 * 1024 * 1024
_SECTIONS = b"X-AUDITOR-SECTIONS"  # the sections asked for after BODYSTRUCTURE, by name
_STRUCTURE = b"X-AUDITOR-STRUCTURE"  # the BODYSTRUCTURE once read with those sections


def _structure(fields: dict[bytes, Any]) -> Any:
    from auditor.collect.mail.bodystructure import read_bodystructure

    size = fields.get(b"RFC822.SIZE")
    return read_bodystructure(
        fields.get(b"BODYSTRUCTURE"),
        fields.get(_SECTIONS),
        whole_ok=isinstance(size, int) and size <= SECTION_LIMIT,
    )


def fetch_sections(client: IMAPClient, uid: int, fields: dict[bytes, Any]) -> None:
    """Ask for the sections a suspect BODYSTRUCTURE needs (bodystructure.Structure.wanted),
    into fields[_SECTIONS]. BODY.PEEK only: no flag changes (RFC 3501 section 6.4.5). A
    refusal or an unreadable answer keeps the server's view (flagged malformed); a lost
    connection is raised, to be retried like any other."""
    for _round in range(3):  # a re-read multipart may hold a suspect part of its own
        try:
            structure = _structure(fields)
        except Exception:
            return
        wanted = structure.wanted
        if not wanted:
            fields[_STRUCTURE] = structure  # read once: message_from_fetch takes it
            return
        items = "UID " + " ".join(f"BODY.PEEK[{name}]" for name in wanted)
        try:
            data = fetch_raw(client, [uid], items)
            got: dict[bytes, Any] = {}
            for _seq, answer in parse_fetch(data):
                if answer.get(b"UID") == uid:
                    got.update(answer)
        except imaplib.IMAP4.abort:
            raise
        except (FetchRefused, FetchParseError, imaplib.IMAP4.error):
            got = {}
        sections = dict(fields.get(_SECTIONS) or {})
        for name in wanted:
            value = got.get(f"BODY[{name}]".encode())
            sections[name] = value if isinstance(value, bytes) else b""
        fields[_SECTIONS] = sections


def fetch_raw(
    client: IMAPClient, uids: Sequence[int], items: str, modifiers: str | None = None
) -> list[Any]:
    """UID FETCH through imaplib, returning its untagged data for `parse_fetch`.

    imapclient's `fetch()` would parse the answer with its slow generic lexer; this sends
    the same command and leaves parsing to the fast parser.
    """
    imap = client._imap
    args = ["FETCH", ",".join(map(str, uids)), f"({items})"]
    if modifiers:
        args.append(f"({modifiers})")
    tag = imap._command("UID", *args)
    typ, data = imap._command_complete("FETCH", tag)
    # Taken in every case: FETCH responses left behind would be read as the next command's.
    answers = [d for d in imap.untagged_responses.pop("FETCH", []) if d is not None]
    if typ != "OK":
        # RFC 3501 6.4.5: NO when some messages could not be fetched, the others answered
        raise FetchRefused(_short(data), answers)
    return answers


def own_answers(
    parsed: Iterable[tuple[int, dict[bytes, Any]]], uids: Sequence[int], required: bytes
) -> list[tuple[int, dict[bytes, Any]]]:
    """The responses that answer our own UID FETCH of `uids`, one per message.

    RFC 3501 7.4.2 lets a server send a FETCH response at any time (a flag another client
    changed; with QRESYNC it carries the UID, RFC 7162 3.2.4), and lets it split one message's
    data over several responses. Only a message we asked for, answered with the `required`
    item we asked for (unsolicited responses carry FLAGS or MODSEQ, never RFC822.SIZE or
    BODYSTRUCTURE), is kept; responses about one UID are merged."""
    wanted = set(uids)
    merged: dict[int, dict[bytes, Any]] = {}
    for _seq, fields in parsed:
        uid = fields.get(b"UID")
        if type(uid) is int and uid in wanted:
            merged.setdefault(uid, {}).update(fields)
    return [(uid, f) for uid, f in merged.items() if required in f]


def uid_set(uids: Iterable[int]) -> str:
    """RFC 3501 sequence-set of UIDs, with ranges: "1:3,7,9:12"."""
    out: list[str] = []
    ordered = sorted(uids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(out)


def _batches(uids: list[int], size: int = BATCH) -> Iterator[list[int]]:
    for i in range(0, len(uids), size):
        yield uids[i : i + size]


def _folder_name(raw: bytes | str, delimiter: bytes | str | None) -> str:
    name = raw if isinstance(raw, str) else decode_utf7(raw)
    delim = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
    if delim and delim != "/":
        name = name.replace(delim, "/")
    return name


def _wanted(name: str, include: list[str], exclude: list[str]) -> bool:
    def matches(patterns: list[str]) -> bool:
        return any(
            fnmatch.fnmatchcase(name, p)
            or name.startswith(p.rstrip("/") + "/")
            or fnmatch.fnmatchcase(name.lower(), p.lower())
            for p in patterns
        )

    if include and not matches(include):
        return False
    return not matches(exclude)


@dataclass
class _Folder:
    server_name: Any  # as the server spells it, for EXAMINE
    name: str  # with "/" between levels, for people
    special_use: str | None


def list_status(client: IMAPClient, condstore: bool) -> tuple[list, dict[Any, FolderState]]:
    """RFC 5819 LIST-STATUS: every folder and its counters in one round trip.

    Returns imapclient-style (flags, delimiter, name) entries and {name: FolderState}.
    """
    imap = client._imap
    items = "MESSAGES UIDNEXT UIDVALIDITY" + (" HIGHESTMODSEQ" if condstore else "")
    typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN", f"(STATUS ({items}))")
    if typ != "OK":
        raise IMAPClientError(f"LIST-STATUS failed: {_short(data)}")
    _typ, listed = imap._untagged_response(typ, data, "LIST")
    entries = folder_entries(client, listed)
    _typ, status_lines = imap._untagged_response(typ, data, "STATUS")
    states: dict[Any, FolderState] = {}
    values = parse_response([d for d in status_lines if d is not None])
    for i in range(0, len(values) - 1, 2):
        name, fields = values[i], values[i + 1]
        if isinstance(name, bytes):
            name = decode_utf7(name) if client.folder_encode else name.decode()
        elif isinstance(name, int):
            name = str(name)
        pairs = dict(zip(fields[::2], fields[1::2], strict=False))
        states[name] = FolderState(
            uidvalidity=pairs.get(b"UIDVALIDITY"),
            highestmodseq=pairs.get(b"HIGHESTMODSEQ"),
            uidnext=pairs.get(b"UIDNEXT"),
            messages=pairs.get(b"MESSAGES"),
        )
    return entries, states


def folder_entries(client: IMAPClient, listed: list[Any]) -> list[tuple[Any, Any, Any]]:
    """imapclient's (flags, delimiter, name) for each LIST response.

    Like imapclient's own, except that a LIST response whose name is NIL (RFC 3501 requires
    a mailbox name; imapclient fails on the whole list) is kept with name None, for
    `list_folders` to count."""
    parsed = parse_response([d for d in listed if d not in (b"", None)])
    entries = []
    for i in range(0, len(parsed) - 2, 3):
        flags, delimiter, name = parsed[i : i + 3]
        if isinstance(name, int):
            name = str(name)  # a quoted number, parsed as one
        elif isinstance(name, bytes) and client.folder_encode:
            name = decode_utf7(name)
        elif not isinstance(name, bytes):
            name = None
        entries.append((flags if isinstance(flags, tuple) else (), delimiter, name))
    return entries


def _list(client: IMAPClient) -> list[tuple[Any, Any, Any]]:
    typ, data = client._imap._simple_command("LIST", '""', '"*"')
    if typ != "OK":
        raise IMAPClientError(f"LIST failed: {_short(data)}")
    _typ, listed = client._imap._untagged_response(typ, data, "LIST")
    return folder_entries(client, listed)


def list_folders(
    client: IMAPClient,
    account: ImapAccount,
    entries: list | None = None,
    problems: list[str] | None = None,
) -> list[_Folder]:
    """Every selectable folder the account wants, with its RFC 6154 role.

    A folder listed without a name cannot be opened: one line in `problems`."""
    folders = []
    unnamed = 0
    for flags, delimiter, raw_name in entries if entries is not None else _list(client):
        if raw_name is None:
            unnamed += 1
            continue
        lowered = {f.lower() for f in flags if isinstance(f, bytes)}
        if b"\\noselect" in lowered or b"\\nonexistent" in lowered:
            continue
        name = _folder_name(raw_name, delimiter)
        if not _wanted(name, account.include_folders, account.exclude_folders):
            continue
        use = next((_SPECIAL_USE[f] for f in lowered if f in _SPECIAL_USE), None)
        folders.append(_Folder(raw_name, name, use or special_use_from_name(name)))
    if unnamed and problems is not None:
        problems.append(
            Problem("source.imap.folder_without_name", at=(account.name,), count=unnamed)
        )
    # INBOX first, then the rest; on Gmail \All last so its copies are the ones skipped
    folders.sort(key=lambda f: (f.name.upper() != "INBOX", f.special_use == "All", f.name))
    return folders


class AccountScanner:
    """Scans one account into a sink, resuming from what the sink already holds."""

    def __init__(
        self,
        account: ImapAccount,
        sink: FolderSink,
        progress: Progress | None = None,
        retries: int = 3,
        body_structure_min_bytes: int = 0,
        helper_sink: Callable[[], FolderSink] | None = None,
        helpers: int = 0,
    ):
        self.account = account
        self.sink = sink
        # Parsing is CPU-bound Python: large folders are split between this process and
        # `helpers` forked processes, each with its own connection and its own sink.
        self.helper_sink = helper_sink
        self.helpers = helpers if helper_sink is not None and not self._cannot_fork() else 0
        self.progress = progress or (lambda done, total: None)
        self.count_total = progress is not None
        self.retries = retries
        self.bs_min = body_structure_min_bytes
        self.stats = ScanStats()
        self.client: IMAPClient | None = None
        self.condstore = False
        self.gmail = False
        self._gm_seen: set[int] = set()
        self._gm_copies: set[int] = set()  # UIDs of this folder skipped as Gmail copies
        self._lost: dict[str, set[int]] = {}  # per kind of loss, UIDs of this folder not read
        self._refusal = ""  # the server's last NO to a FETCH of this folder
        self._bare: set[int] = set()  # UIDs of this folder kept without their structure
        self._moved = False  # messages stored since the last lost connection
        self._gone: set[str] = set()  # folders deleted by another client during the scan
        self._status: dict[Any, FolderState] = {}
        self._done = 0
        self._total = 0

    # -- connection ---------------------------------------------------------------
    def _connect(self) -> IMAPClient:
        client = connect(self.account)
        caps = client.capabilities()
        self.condstore = b"CONDSTORE" in caps
        self.gmail = b"X-GM-EXT-1" in caps
        if self.condstore:
            try:  # RFC 7162: ENABLE before SELECT/EXAMINE, so HIGHESTMODSEQ comes back
                client.enable("CONDSTORE")
            except (IMAPClientError, imaplib.IMAP4.error):
                self.condstore = False
        self.client = client
        return client

    def close(self) -> None:
        """Send LOGOUT and hang up without waiting for its answer: the server ends the
        session when it reads the command (RFC 3501 6.1.3), and on a distant link waiting
        for BYE would cost the scan one more round trip."""
        if self.client is not None:
            try:
                imap = self.client._imap
                imap.send(imap._new_tag() + b" LOGOUT\r\n")
            except Exception:  # the connection may already be gone
                pass
            self._drop()

    # -- the scan -----------------------------------------------------------------
    def run(self) -> ScanStats:
        """Scan every wanted folder; retry a lost connection, and only that.

        A connection lost (closed, reset, timed out) is retried with backoff, at most
        `retries` times and for at most `account.timeout` seconds since the scan last moved
        on; a server's NO or BAD, an answer that cannot be read, or one too large is not
        cured by reconnecting: it ends the account at once with its own line."""
        attempt = 0
        lost_since: float | None = None
        folders: list[_Folder] | None = None
        done_folders: list[str] = []
        while True:
            try:
                client = self.client or self._connect()
                if folders is None:
                    folders = self._folders(client)
                for folder in folders:
                    if folder.name in done_folders:
                        continue
                    self._scan_folder(client, folder)
                    done_folders.append(folder.name)
                    attempt, lost_since = 0, None  # it moved on: a later loss starts afresh
                break
            except SourceError:
                self._drop()
                raise
            except AnswerTooLarge as exc:
                self._drop()
                raise _fail(
                    self.account, "source.imap.answer_too_large", size=exc.size, limit=exc.limit
                ) from None
            except FetchParseError as exc:
                self._drop()
                raise _fail(
                    self.account, "source.imap.unreadable_answer", error=_short(exc)
                ) from None
            except (OSError, imaplib.IMAP4.abort) as exc:
                if self._moved:  # it stored messages since the last loss: a new loss
                    attempt, lost_since, self._moved = 0, None, False
                now = time.monotonic()
                lost_since = now if lost_since is None else lost_since
                left = self.account.timeout - (now - lost_since)
                attempt += 1
                self._drop()
                if attempt > self.retries or left <= 0:
                    raise _fail(
                        self.account,
                        "source.imap.connection_lost",
                        retries=attempt - 1,
                        error=_short(exc),
                    ) from None
                time.sleep(min(30.0, 0.5 * 2**attempt, left))
            except imaplib.IMAP4.error as exc:  # NO or BAD: the same command would fail again
                self._drop()
                raise _fail(
                    self.account, "source.imap.command_refused", error=_short(exc)
                ) from None
        self.sink.finish([f.name for f in folders or [] if f.name not in self._gone])
        self.stats.folders = len(folders or []) - len(self._gone)
        self.close()
        return self.stats

    def _folders(self, client: IMAPClient) -> list[_Folder]:
        entries = None
        if b"LIST-STATUS" in client.capabilities():
            try:
                entries, self._status = list_status(client, self.condstore)
            except (IMAPClientError, imaplib.IMAP4.error) as exc:
                if isinstance(exc, imaplib.IMAP4.abort):
                    raise
                entries, self._status = None, {}
        problems: list[str] = []
        folders = list_folders(client, self.account, entries, problems)
        if problems:
            self.stats.errors += problems
            self.stats.partial = True
        if self.count_total:  # one STATUS per folder: only for a progress bar
            self._total = sum(self._exists(client, f) for f in folders)
        # usage cannot have moved if no folder did: keep the last answer
        if not (self._nothing_moved(entries, folders) and self.sink.reuse_quota()):
            self._quota(client)
        return folders

    def _drop(self) -> None:
        """Forget a connection that cannot be used any more (lost, or out of step)."""
        if self.client is not None:
            try:
                self.client.shutdown()
            except Exception:  # already gone: nothing to close
                pass
        self.client = None

    def _exists(self, client: IMAPClient, folder: _Folder) -> int:
        try:
            status = client.folder_status(folder.server_name, ["MESSAGES"])
        except imaplib.IMAP4.abort:
            raise  # a lost connection, not a count
        except imaplib.IMAP4.error:
            return 0
        return int(status.get(b"MESSAGES", 0))

    def _quota(self, client: IMAPClient) -> None:
        """RFC 2087 GETQUOTAROOT on INBOX, when the server has QUOTA."""
        if b"QUOTA" not in client.capabilities():
            return
        try:
            _roots, quotas = client.get_quota_root("INBOX")
        except IndexError:  # imapclient 4.1 on "OK No quota" without a QUOTAROOT line
            return
        except imaplib.IMAP4.abort:
            raise  # a lost connection, retried: not "quota not readable"
        except imaplib.IMAP4.error as exc:
            self.stats.errors.append(
                Problem("source.imap.quota_unreadable", at=(self.account.name,), error=_short(exc))
            )
            return
        by_root: dict[str, dict[str, tuple[int, int]]] = {}
        for q in quotas:
            by_root.setdefault(q.quota_root, {})[q.resource.upper()] = (q.usage, q.limit)
        for root, res in by_root.items():
            storage = res.get("STORAGE")
            count = res.get("MESSAGE")
            self.sink.save_quota(
                root,
                storage[0] * 1024 if storage else None,  # RFC 2087: STORAGE is in KiB
                storage[1] * 1024 if storage else None,
                count[0] if count else None,
                count[1] if count else None,
            )

    def _nothing_moved(self, entries: list | None, folders: list[_Folder]) -> bool:
        """True when LIST-STATUS shows every folder of the account exactly as last stored."""
        if entries is None or len(folders) != len(self._status):
            return False  # no LIST-STATUS, or folders we do not track (excluded, \Noselect)
        return all(
            self._unchanged(self.sink.state(f.name), self._status[f.server_name])
            for f in folders
            if f.server_name in self._status
        )

    def _unchanged(self, before: FolderState | None, now: FolderState) -> bool:
        return (
            before is not None
            and before == now
            and now.uidnext is not None
            and (now.highestmodseq is not None or not self.condstore)
        )

    def _scan_folder(self, client: IMAPClient, folder: _Folder) -> None:
        listed = self._status.get(folder.server_name)
        if listed is not None and self._unchanged(self.sink.state(folder.name), listed):
            self.sink.begin_folder(folder.name, folder.special_use)
            self._advance(listed.messages or 0)  # LIST-STATUS says nothing changed
            return
        info = self._examine(client, folder)
        if info is None:
            return
        now = FolderState(
            uidvalidity=info.get(b"UIDVALIDITY"),
            highestmodseq=info.get(b"HIGHESTMODSEQ") if self.condstore else None,
            uidnext=info.get(b"UIDNEXT"),
            messages=info.get(b"EXISTS"),
        )
        self.sink.begin_folder(folder.name, folder.special_use)
        before = self.sink.state(folder.name)
        if before is not None and before.uidvalidity != now.uidvalidity:
            self.sink.rebuild(folder.name)  # RFC 3501 2.3.1.1: every UID is new
            before = None
        if self._unchanged(before, now):
            self._advance(now.messages or 0)  # nothing changed since the last scan
            return
        self._lost, self._bare = {}, set()
        known = self.sink.known_uids(folder.name)
        found = set(client.search("ALL")) if now.messages else set()
        server = {uid for uid in found if type(uid) is int and 0 < uid <= UID_MAX}
        if len(server) < len(found):
            self._lost["unreadable"] = found - server  # a UID no message can have
        vanished = known - server
        if vanished:
            self.sink.remove(folder.name, vanished)
            self.stats.vanished += len(vanished)
        kept = known & server
        if kept:
            self._flag_changes(client, folder, kept, before)
        new = sorted(server - known)
        self._advance(len(kept))
        self._fetch_new(client, folder, new)
        if self._all_read(client, folder, new):
            self.sink.save_state(folder.name, now)
        # else the state stays as it was: the next scan reads this folder again

    def _examine(self, client: IMAPClient, folder: _Folder) -> dict | None:
        """EXAMINE (read-only SELECT). None when the server refuses: a folder another client
        deleted since LIST ([NONEXISTENT], RFC 5530) is gone, any other refusal is a line."""
        try:  # imaplib's select() starts a new dict of untagged responses and codes
            return client.select_folder(folder.server_name, readonly=True)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            at = (self.account.name, folder.name)
            if self._gone_from_list(client, folder):
                self._gone.add(folder.name)
                self.stats.errors.append(Problem("source.imap.folder_vanished", at=at))
            else:
                self.stats.partial = True
                self.stats.errors.append(
                    Problem("source.imap.folder_refused", at=at, error=_short(exc))
                )
            return None

    def _gone_from_list(self, client: IMAPClient, folder: _Folder) -> bool:
        """After a refused EXAMINE: has the folder left the server's LIST? (RFC 5530's
        [NONEXISTENT] would say so, but Dovecot 2.3 answers a bare NO.)"""
        if "NONEXISTENT" in client._imap.untagged_responses:
            return True
        try:
            listed = client.list_folders("", folder.server_name)
        except imaplib.IMAP4.abort:
            raise
        except (imaplib.IMAP4.error, ValueError, TypeError):
            return False  # cannot tell: not called gone
        return all(name != folder.server_name for _flags, _delim, name in listed)

    def _all_read(self, client: IMAPClient, folder: _Folder, new: list[int]) -> bool:
        """Check every new message was stored; fetch the missing ones once more; count and
        say what is still missing. False when the folder is incomplete."""
        missing = self._missing(folder, new)
        if missing:
            self._lost = {k: v for k, v in self._lost.items() if k == "unreadable"}
            self._fetch_batches(client, folder, sorted(missing))  # once more
            missing = self._missing(folder, missing)
        if missing:
            # a message another client deleted since SEARCH is not lost: ask what exists
            missing &= self._existing(client, missing)
        lost = {k: v & missing for k, v in self._lost.items()}
        refused, unreadable = lost.get("refused", set()), lost.get("unreadable", set())
        # a UID the server gave in SEARCH beyond 32 bits was never asked for
        unreadable |= self._lost.get("unreadable", set()) - set(new)
        left_out = missing - refused - unreadable
        at = (self.account.name, folder.name)
        if self._bare:  # stored and counted, so not partial; but said
            self.stats.errors.append(
                Problem("source.imap.structure_unreadable", at=at, count=len(self._bare))
            )
        for key, uids, values in (
            ("source.imap.messages_refused", refused, {"error": self._refusal}),
            ("source.imap.messages_unreadable", unreadable, {}),
            ("source.imap.messages_left_out", left_out, {}),
        ):
            if uids:
                self.stats.errors.append(Problem(key, at=at, count=len(uids), **values))
                self.stats.skipped += len(uids)
                self.stats.partial = True
        return not (missing or unreadable)

    def _existing(self, client: IMAPClient, uids: set[int]) -> set[int]:
        """Which of `uids` the server still has (all of them, if it cannot say)."""
        try:
            return set(client.search(["UID", uid_set(uids)]))
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            return uids

    def _missing(self, folder: _Folder, uids: Iterable[int]) -> set[int]:
        wanted = set(uids) - self._gm_copies
        if not wanted:
            return set()
        return wanted - self.sink.known_uids(folder.name)

    def _flag_changes(
        self, client: IMAPClient, folder: _Folder, kept: set[int], before: FolderState | None
    ) -> None:
        if self.condstore and before and before.highestmodseq:
            # RFC 7162 3.1.5: SEARCH MODSEQ is inclusive, hence + 1
            changed = set(client.search(["MODSEQ", str(before.highestmodseq + 1)])) & kept
        else:
            changed = kept  # no CONDSTORE (Microsoft 365): compare every message's flags
        if not changed:
            return
        updates: dict[int, tuple[bool, tuple[str, ...]]] = {}
        for batch in _batches(sorted(changed), 5000):
            try:
                data = fetch_raw(client, batch, "UID FLAGS")
            except FetchRefused as exc:
                data = exc.answers  # the flags of the others; the refused keep theirs
            for uid, fields in own_answers(parse_fetch(data), batch, b"FLAGS"):
                flags = flag_names(fields.get(b"FLAGS"))
                updates[uid] = ("\\Seen" in flags, flags)
        self.stats.flag_changes += self.sink.set_flags(folder.name, updates)

    def _parsed(
        self, client: IMAPClient, uids: list[int], items: str, required: bytes
    ) -> list[tuple[int, dict]]:
        """Our own answers for `uids`. A NO is remembered and the messages it concerns are
        isolated by halving what is left, so one unreadable message costs only itself."""
        try:
            data = fetch_raw(client, uids, items)
        except FetchRefused as exc:
            self._refusal = exc.text
            got = own_answers(parse_scan_fetch(exc.answers), uids, required)
            answered = {uid for uid, _f in got}
            rest = [uid for uid in uids if uid not in answered]
            if len(rest) == 1:
                self._lost.setdefault("refused", set()).add(rest[0])
            elif rest:
                half = len(rest) // 2
                got += self._parsed(client, rest[:half], items, required)
                got += self._parsed(client, rest[half:], items, required)
            return got
        return own_answers(parse_scan_fetch(data), uids, required)

    def _parsed_resilient(
        self, client: IMAPClient, uids: list[int], items: str, required: bytes = b"RFC822.SIZE"
    ) -> list[tuple[int, dict]]:
        """One response the parser cannot read must not lose the rest of its batch: retry
        one message at a time, and keep an unreadable one with its size and flags only."""
        try:
            return self._parsed(client, uids, items, required)
        except FetchParseError:
            if len(uids) == 1:
                try:
                    basic = self._parsed(
                        client, uids, "UID RFC822.SIZE INTERNALDATE FLAGS", b"RFC822.SIZE"
                    )
                except FetchParseError:  # not even its size: not stored, counted
                    self._lost.setdefault("unreadable", set()).update(uids)
                    return []
                for uid, fields in basic:
                    fields[_MALFORMED] = True
                    self._bare.add(uid)
                return basic
            out: list[tuple[int, dict]] = []
            for uid in uids:
                out += self._parsed_resilient(client, [uid], items, required)
            return out

    @staticmethod
    def _cannot_fork() -> bool:
        return not hasattr(os, "fork")

    def _fetch_new(self, client: IMAPClient, folder: _Folder, uids: list[int]) -> None:
        self._gm_copies = set()
        helpers = 0 if self.gmail else self.helpers  # Gmail dedup needs one process
        if helpers and len(uids) >= PARALLEL_MIN:
            share = len(uids) // (helpers + 1)
            chunks = [uids[i * share : (i + 1) * share] for i in range(helpers)]
            pids = [self._fork_helper(folder, chunk) for chunk in chunks]
            self._fetch_batches(client, folder, uids[helpers * share :])
            for pid in pids:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
            # whatever a helper could not fetch is fetched here: nothing is lost
            missing = sorted(set(uids) - self.sink.known_uids(folder.name))
            done = len(uids) - len(uids[helpers * share :]) - len(missing)
            self.stats.fetched += done
            self._advance(done)
            self._fetch_batches(client, folder, missing)
            return
        self._fetch_batches(client, folder, uids)

    def _fork_helper(self, folder: _Folder, uids: list[int]) -> int:
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:  # the child: its own connection, its own store connection, no progress output
            helper = AccountScanner(self.account, self.helper_sink())  # type: ignore[misc]
            client = helper._connect()
            client.select_folder(folder.server_name, readonly=True)
            helper._fetch_batches(client, folder, uids)
            helper.close()
            code = 0
        finally:
            os._exit(code)

    def _fetch_batches(self, client: IMAPClient, folder: _Folder, uids: list[int]) -> None:
        # BODYSTRUCTURE before the header literal: the shape parse_scan_fetch reads fastest
        items = "UID RFC822.SIZE INTERNALDATE FLAGS"
        if not self.bs_min:
            items += " BODYSTRUCTURE"
        items += f" {_HEADER_ITEM}"
        if self.gmail:
            items += " X-GM-MSGID"
        for batch in _batches(uids):
            messages: list[MessageFacts] = []
            parsed = self._parsed_resilient(client, batch, items)
            if self.bs_min:
                big = [uid for uid, f in parsed if (f.get(b"RFC822.SIZE") or 0) >= self.bs_min]
                if big:
                    extra = dict(
                        self._parsed_resilient(client, big, "UID BODYSTRUCTURE", b"BODYSTRUCTURE")
                    )
                    for uid, f in parsed:
                        if uid in extra:
                            f[b"BODYSTRUCTURE"] = extra[uid].get(b"BODYSTRUCTURE")
            for uid, f in parsed:
                if self.gmail:
                    gm = f.get(b"X-GM-MSGID")
                    if gm in self._gm_seen:
                        self._gm_copies.add(uid)
                        continue  # the same Gmail message under another label
                    self._gm_seen.add(gm)
                if f.get(b"BODYSTRUCTURE") is not None:
                    fetch_sections(client, uid, f)
                try:
                    msg = message_from_fetch(uid, f)
                except ImpossibleValue:
                    self._lost.setdefault("unreadable", set()).add(uid)
                    continue
                self.stats.malformed += msg.malformed
                messages.append(msg)
            self.sink.add(folder.name, messages)
            self._moved = True
            self.stats.fetched += len(messages)
            self._advance(len(batch))

    def _advance(self, n: int) -> None:
        self._done += n
        self.progress(self._done, max(self._total, self._done))

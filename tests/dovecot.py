"""A private, throw-away Dovecot 2.3 IMAP server for tests and benchmarks.

    with Dovecot() as server:
        server.add_user("alice", "secret")
        server.deliver("alice", "INBOX", raw, seen=True, internal_date=when)
        client = server.imap_client("alice", "secret", ssl=True)

Everything (config, sockets, state, log, certificates, mail) lives under one short temp dir
that `stop()` removes. Mail is stored as Maildir++ (`Maildir/.Sent`, `Maildir/.A.B` for
"A/B", names in IMAP modified UTF-7), the IMAP hierarchy separator is "/". Messages can be
written straight into the Maildir (`deliver`, `deliver_many`): Dovecot picks them up at the
next sync and takes INTERNALDATE from the file's mtime and RFC822.SIZE from the `,W=` part
of the file name.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import ssl as ssl_module
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Dovecot", "DovecotError", "ImapAccount", "dovecot_binary", "encode_mutf7"]

MAIL_USER = "auditortest"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

# System flags that Maildir stores as info letters (":2,<letters>" in the file name).
_FLAG_LETTERS = {
    "\\draft": "D",
    "\\flagged": "F",
    "\\answered": "R",
    "\\seen": "S",
    "\\deleted": "T",
}

CONFIG_TEMPLATE = """\
# Private Dovecot instance written by tests/dovecot.py: loopback only, removed on stop.
instance_name = {instance_name}
protocols = imap
listen = 127.0.0.1
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log_path}
info_log_path = {log_path}
debug_log_path = {log_path}
verbose_proctitle = no
shutdown_clients = yes
default_process_limit = 32
default_client_limit = 512
default_vsz_limit = 1G
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {internal_user}

mail_uid = {mail_uid}
mail_gid = {mail_gid}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_home = {mail_root}/%u
mail_location = maildir:{mail_root}/%u/Maildir
mail_plugins = $mail_plugins quota

ssl = yes
ssl_cert = <{cert_file}
ssl_key = <{key_file}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# Tests log in with wrong passwords on purpose: no 2 s reply delay, and no growing per-IP
# penalty (up to 15 s for every later login from 127.0.0.1). Auth disables the penalty when
# it finds no anvil-auth-penalty socket, so anvil listens elsewhere.
auth_failure_delay = 0

# One passwd-file per user: Dovecot re-reads a changed file at most once a second and only
# when its mtime or size changed, a new file per user is always seen at once.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {users_dir}/%u
  default_fields = uid={mail_uid} gid={mail_gid} home={mail_root}/%u
}}

namespace inbox {{
  inbox = yes
  prefix =
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}

protocol imap {{
  mail_plugins = $mail_plugins imap_quota
  mail_max_userip_connections = 100
}}

plugin {{
  quota = count:User quota
  quota_vsizes = yes
{quota_rule_line}}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
  chroot =
  service_count = 0
  process_min_avail = 1
  process_limit = 4
}}
service imap {{
  process_limit = 64
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service imap-urlauth-login {{
  chroot =
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    path = anvil-auth-penalty-disabled
  }}
}}
"""


class DovecotError(RuntimeError):
    """The test server could not be configured, started or driven."""


def dovecot_binary() -> str | None:
    """Path of the `dovecot` master binary, or None when Dovecot is not installed."""
    if os.access("/usr/sbin/dovecot", os.X_OK):
        return "/usr/sbin/dovecot"
    return shutil.which("dovecot")


def _doveadm_binary() -> str:
    for candidate in ("/usr/bin/doveadm", shutil.which("doveadm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise DovecotError("doveadm is not installed")


def encode_mutf7(name: str) -> str:
    """IMAP modified UTF-7 (RFC 3501 section 5.1.3), Dovecot's on-disk folder names."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raise_fd_limit() -> None:
    """In the child before exec: the auth process keeps one fd per passwd-file (user)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ImportError, ValueError, OSError):
        pass


def _mail_identity() -> tuple[str, int, int]:
    """(user name, uid, gid) the mail processes run as."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return entry.pw_name, entry.pw_uid, os.getegid()
    try:
        entry = pwd.getpwnam(MAIL_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home"]
            + ["--shell", "/usr/sbin/nologin", MAIL_USER],
            capture_output=True,
            check=False,
        )
        try:  # created now, or by a concurrent process whose useradd won the race
            entry = pwd.getpwnam(MAIL_USER)
        except KeyError:
            entry = pwd.getpwnam("nobody")
    return entry.pw_name, entry.pw_uid, entry.pw_gid


def _write_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost signed by it.

    Returns (ca_file, cert_file, key_file).
    """
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "cert.pem", "key.pem"))
    try:
        _certificates_with_cryptography(ca_file, cert_file, key_file)
    except ImportError:
        _certificates_with_openssl(directory, ca_file, cert_file, key_file)
    key_file.chmod(0o600)
    return ca_file, cert_file, key_file


def _certificates_with_cryptography(ca_file: Path, cert_file: Path, key_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auditor test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _certificates_with_openssl(directory: Path, ca_file: Path, cert_file: Path, key_file: Path):
    openssl = shutil.which("openssl")
    if openssl is None:
        raise DovecotError("neither the cryptography package nor the openssl CLI is available")
    ca_key, csr, ext = directory / "ca-key.pem", directory / "cert.csr", directory / "ext.cnf"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    commands = [
        ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key],
        ["req", "-x509", "-new", "-key", ca_key, "-sha256", "-days", "30"]
        + ["-subj", "/CN=auditor test CA", "-out", ca_file]
        + ["-addext", "basicConstraints=critical,CA:TRUE,pathlen:0"]
        + ["-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
        ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key_file],
        ["req", "-new", "-key", key_file, "-subj", "/CN=localhost", "-out", csr],
        ["x509", "-req", "-in", csr, "-CA", ca_file, "-CAkey", ca_key, "-CAcreateserial"]
        + ["-days", "30", "-sha256", "-extfile", ext, "-out", cert_file],
    ]
    for args in commands:
        result = subprocess.run([openssl, *map(str, args)], capture_output=True, text=True)
        if result.returncode != 0:
            raise DovecotError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _as_utc(when: dt.datetime | None) -> float:
    if when is None:
        return time.time()
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass(frozen=True)
class ImapAccount:
    """One mail account on a running `Dovecot` instance."""

    user: str
    password: str
    host: str
    port: int
    imaps_port: int
    ca_file: Path
    server: Dovecot

    def client(self, ssl: bool = False):
        return self.server.imap_client(self.user, self.password, ssl=ssl)


_RUNNING: set[Dovecot] = set()
_RUNNING_LOCK = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    with _RUNNING_LOCK:
        leftovers = list(_RUNNING)
    for server in leftovers:
        try:
            server.stop()
        except Exception:  # best effort at interpreter exit
            pass


class Dovecot:
    """A private Dovecot IMAP server on 127.0.0.1 with free ports; see the module docstring."""

    host = "127.0.0.1"

    def __init__(self, quota_mb: int | None = 1024) -> None:
        self.quota_mb = quota_mb
        self.imap_port = 0
        self.imaps_port = 0
        self.root: Path | None = None
        self.log_path = Path()
        self.ca_file = Path()
        self.config_path = Path()
        self.users_dir = Path()
        self.mail_root = Path()
        self.start_seconds = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._users: dict[str, tuple[str, int | None]] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._name_epoch = int(time.time())
        self._hostname = "dvt"
        self._mail_user, self.mail_uid, self.mail_gid = "", -1, -1
        self._chown = False

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Dovecot:
        """Write the configuration (first time only) and start the master; wait for a greeting."""
        if self.running:
            return self
        binary = dovecot_binary()
        if binary is None:
            raise DovecotError("Dovecot is not installed (no /usr/sbin/dovecot)")
        try:
            self._start(binary)
        except BaseException:
            self.stop()  # the error carries the log tail; nothing is left behind
            raise
        with _RUNNING_LOCK:
            _RUNNING.add(self)
        return self

    def _start(self, binary: str) -> None:
        if self.root is None:
            self._prepare()
        attempts = 3
        for attempt in range(attempts):
            began = time.monotonic()
            try:
                self._launch(binary)
                self.start_seconds = time.monotonic() - began
                break
            except DovecotError:
                self._kill_master()
                if attempt == attempts - 1 or "in use" not in self._log_tail():
                    raise
                self.imap_port, self.imaps_port = _free_port(), _free_port()
                self._write_config()

    def stop(self) -> None:
        """Stop the master (SIGTERM, SIGKILL after 5 s) and remove the temp dir."""
        self._kill_master()
        with _RUNNING_LOCK:
            _RUNNING.discard(self)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            self._users.clear()  # their files and mail are gone with the temp dir

    def restart(self) -> None:
        """Stop and start the master again on the same ports, keeping all mail and users."""
        self._kill_master()
        self.start()

    def _prepare(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dvt", dir="/tmp"))
        self.root.chmod(0o755)  # the unprivileged mail user must reach its Maildir
        self._mail_user, self.mail_uid, self.mail_gid = _mail_identity()
        self._chown = os.geteuid() == 0
        self.log_path = self.root / "dovecot.log"
        self.config_path = self.root / "dovecot.conf"
        self.users_dir = self.root / "users"
        self.users_dir.mkdir(mode=0o755)
        self.mail_root = self.root / "mail"
        self.mail_root.mkdir(mode=0o755)
        (self.root / "state").mkdir(mode=0o755)
        tls = self.root / "tls"
        tls.mkdir(mode=0o755)
        self.ca_file, self._cert_file, self._key_file = _write_certificates(tls)
        self.imap_port, self.imaps_port = _free_port(), _free_port()
        while self.imaps_port == self.imap_port:
            self.imaps_port = _free_port()
        self._write_config()

    def config_text(self) -> str:
        assert self.root is not None
        quota = "" if self.quota_mb is None else f"  quota_rule = *:storage={self.quota_mb}M\n"
        group = self.mail_gid
        try:
            import grp

            group = grp.getgrgid(self.mail_gid).gr_name
        except (ImportError, KeyError):
            pass
        return CONFIG_TEMPLATE.format(
            instance_name=self.root.name,
            base_dir=self.root / "run",
            state_dir=self.root / "state",
            log_path=self.log_path,
            internal_user=self._mail_user,
            internal_group=group,
            mail_uid=self.mail_uid,
            mail_gid=self.mail_gid,
            mail_root=self.mail_root,
            cert_file=self._cert_file,
            key_file=self._key_file,
            users_dir=self.users_dir,
            quota_rule_line=quota,
            imap_port=self.imap_port,
            imaps_port=self.imaps_port,
        )

    def _write_config(self) -> None:
        self.config_path.write_text(self.config_text())

    def _launch(self, binary: str) -> None:
        assert self.root is not None
        stderr = open(self.root / "master.stderr", "ab")  # noqa: SIM115 (handed to Popen)
        try:
            self._process = subprocess.Popen(
                [binary, "-c", str(self.config_path), "-F"],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_raise_fd_limit,
            )
        finally:
            stderr.close()
        deadline = time.monotonic() + START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DovecotError(
                    f"dovecot exited with status {self._process.returncode} while starting"
                    + self._diagnostics()
                )
            try:
                self._probe_greeting()
                return
            except OSError as exc:
                last_error = exc
                time.sleep(0.01)
        raise DovecotError(
            f"dovecot gave no IMAP greeting on {self.host}:{self.imap_port} within "
            f"{START_TIMEOUT:.0f} s ({last_error})" + self._diagnostics()
        )

    def _probe_greeting(self) -> None:
        with socket.create_connection((self.host, self.imap_port), timeout=2) as sock:
            greeting = sock.makefile("rb").readline()
            if not greeting.startswith(b"* OK"):
                raise ConnectionError(f"unexpected greeting {greeting!r}")
            sock.sendall(b"a LOGOUT\r\n")

    def _log_tail(self, lines: int = 30) -> str:
        chunks = []
        if self.root is not None:
            for path in (self.root / "master.stderr", self.log_path):
                try:
                    text = path.read_text(errors="replace")
                except OSError:
                    continue
                chunks.append("\n".join(text.splitlines()[-lines:]))
        return "\n".join(c for c in chunks if c)

    def _diagnostics(self) -> str:
        tail = self._log_tail()
        return f"\n--- dovecot log tail ({self.log_path}) ---\n{tail}" if tail else ""

    def _kill_master(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(STOP_TIMEOUT)

    # --- users ----------------------------------------------------------------------------

    def add_user(self, name: str, password: str, quota_mb: int | None = None) -> None:
        """Create (or replace) a user with an empty INBOX; `quota_mb` overrides the default."""
        if not name or name.startswith(".") or any(c in name for c in ":/\\ \t\r\n"):
            raise ValueError(f"unusable user name: {name!r}")
        if not password or any(c in password for c in ":\t\r\n"):
            raise ValueError(f"unusable password: {password!r}")
        with self._lock:
            self._users[name] = (password, quota_mb)
            self._write_passwd(name)
        self.create_folder(name, "INBOX")

    def remove_user(self, name: str) -> None:
        """Forget a user and delete its mail."""
        with self._lock:
            self._users.pop(name, None)
            (self.users_dir / name).unlink(missing_ok=True)
        shutil.rmtree(self.mail_root / name, ignore_errors=True)

    def set_quota(self, name: str, quota_mb: int | None) -> None:
        """Change a user's storage limit (None: instance default) for its next sessions.

        Dovecot re-reads a passwd-file at most once a second: this waits for the next second.
        """
        with self._lock:
            self._users[name] = (self._users[name][0], quota_mb)
            self._write_passwd(name)
        time.sleep(1.05 - time.time() % 1)

    def _write_passwd(self, user: str) -> None:
        password, quota_mb = self._users[user]
        extra = "" if quota_mb is None else f"userdb_quota_rule=*:storage={quota_mb}M"
        line = f"{user}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::"
        line += f"{self.mail_root / user}::{extra}\n"
        path = self.users_dir / user
        try:  # a new mtime as well, in case the size stays the same
            stamp = path.stat().st_mtime + 1
        except FileNotFoundError:
            stamp = None
        tmp = self.users_dir / f".{user}.tmp"
        tmp.write_text(line, encoding="utf-8")  # Dovecot compares a PLAIN password's bytes
        tmp.chmod(0o644)
        if stamp is not None:
            os.utime(tmp, (stamp, stamp))
        os.replace(tmp, path)

    # --- folders and delivery -------------------------------------------------------------

    def mailbox_path(self, user: str, folder: str) -> Path:
        """Directory of an IMAP folder ("INBOX", "Sent", "Archive/2021", "Reçus") on disk."""
        maildir = self.mail_root / user / "Maildir"
        if folder.upper() == "INBOX":
            return maildir
        parts = folder.split("/")
        if parts[0].upper() == "INBOX":
            parts[0] = "INBOX"
        if any(not p or "." in p or p in ("..",) for p in parts):
            raise ValueError(f"folder name not representable in Maildir++: {folder!r}")
        return maildir / ("." + ".".join(encode_mutf7(p) for p in parts))

    def create_folder(self, user: str, folder: str, *, subscribe: bool = False) -> Path:
        """Make `folder` exist on disk (cur/new/tmp, maildirfolder); returns its directory."""
        path = self.mailbox_path(user, folder)
        home = self.mail_root / user
        created = []
        for directory in (home, home / "Maildir", path, path / "cur", path / "new", path / "tmp"):
            try:
                directory.mkdir(mode=0o700)
                created.append(directory)
            except FileExistsError:
                pass
        if path != home / "Maildir" and not (path / "maildirfolder").exists():
            (path / "maildirfolder").touch(mode=0o600)
            created.append(path / "maildirfolder")
        if self._chown:
            for item in created:
                os.chown(item, self.mail_uid, self.mail_gid)
        if subscribe:
            self.doveadm("mailbox", "subscribe", "-u", user, folder)
        return path

    def _next_name(self, size: int, vsize: int, flags: str) -> str:
        with self._lock:
            n = self._counter
            self._counter += 1
        # Dovecot gives new files UIDs in (seconds, M<usecs>) order: keep the call order.
        secs, usecs = self._name_epoch + n // 1_000_000, n % 1_000_000
        return f"{secs}.M{usecs}P{os.getpid()}Q{n}.{self._hostname},S={size},W={vsize}:2,{flags}"

    @staticmethod
    def _flag_letters(seen: bool, flags: Iterable[str]) -> str:
        letters = {"S"} if seen else set()
        for flag in flags:
            try:
                letters.add(_FLAG_LETTERS[flag.lower()])
            except KeyError:
                raise ValueError(
                    f"only system flags can be delivered directly, not {flag!r}; "
                    "use doveadm('flags', 'add', ...) for keywords"
                ) from None
        return "".join(sorted(letters))

    def deliver(
        self,
        user: str,
        folder: str,
        raw: bytes,
        *,
        seen: bool = False,
        flags: Iterable[str] = (),
        internal_date: dt.datetime | None = None,
    ) -> Path:
        """Write one message into the folder's Maildir; returns the file's path."""
        path = self.create_folder(user, folder)
        letters = self._flag_letters(seen, flags)
        return Path(self._write_message(str(path), raw, letters, internal_date))

    def deliver_many(self, user: str, folder: str, messages: Iterable[Any]) -> int:
        """Write many messages fast: items are (raw, seen, internal_date) tuples or objects
        with `raw`, `seen` and `internal_date` attributes. Returns how many were written."""
        path = str(self.create_folder(user, folder))
        count = 0
        for item in messages:
            if isinstance(item, tuple):
                raw, seen, when = item
            else:
                raw, seen, when = item.raw, item.seen, item.internal_date
            self._write_message(path, raw, "S" if seen else "", when)
            count += 1
        return count

    def deliver_generated(self, user: str, messages: Iterable[Any]) -> dict[str, int]:
        """Deliver objects with a `folder` attribute (see tests.mailgen) to their folders."""
        counts: dict[str, int] = {}
        paths: dict[str, str] = {}
        for msg in messages:
            path = paths.get(msg.folder)
            if path is None:
                path = paths[msg.folder] = str(self.create_folder(user, msg.folder))
            self._write_message(path, msg.raw, "S" if msg.seen else "", msg.internal_date)
            counts[msg.folder] = counts.get(msg.folder, 0) + 1
        return counts

    def _write_message(
        self, folder_path: str, raw: bytes, letters: str, when: dt.datetime | None
    ) -> str:
        # RFC822.SIZE counts line ends as CRLF: add one byte per bare LF.
        vsize = len(raw) + raw.count(b"\n") - raw.count(b"\r\n")
        name = self._next_name(len(raw), vsize, letters)
        tmp = f"{folder_path}/tmp/{name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            if self._chown:
                os.fchown(fd, self.mail_uid, self.mail_gid)
            stamp = _as_utc(when)
            os.utime(fd, (stamp, stamp))
        finally:
            os.close(fd)
        final = f"{folder_path}/cur/{name}"
        os.rename(tmp, final)  # whole files only: Dovecot may be scanning cur/ right now
        return final

    def fix_ownership(self, user: str | None = None) -> None:
        """Give the mail tree (or one user's) to the mail user after writes made by hand."""
        if not self._chown:
            return
        top = self.mail_root / user if user else self.mail_root
        os.chown(top, self.mail_uid, self.mail_gid)
        for dirpath, dirnames, filenames in os.walk(top):
            for entry in dirnames + filenames:
                os.chown(os.path.join(dirpath, entry), self.mail_uid, self.mail_gid)

    # --- clients and admin ----------------------------------------------------------------

    def ssl_context(self) -> ssl_module.SSLContext:
        """A client context that trusts only this instance's CA."""
        return ssl_module.create_default_context(cafile=str(self.ca_file))

    def imap_client(self, user: str, password: str, ssl: bool = False, timeout: float = 30.0):
        """A logged-in `imapclient.IMAPClient` (plain on imap_port, or TLS on imaps_port)."""
        import imapclient

        if ssl:
            client = imapclient.IMAPClient(
                self.host,
                port=self.imaps_port,
                ssl=True,
                ssl_context=self.ssl_context(),
                timeout=timeout,
            )
        else:
            client = imapclient.IMAPClient(
                self.host, port=self.imap_port, ssl=False, timeout=timeout
            )
        try:
            client.login(user, password)
        except Exception:
            client.shutdown()
            raise
        return client

    def doveadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `doveadm -c <this config> ARGS...`; raises DovecotError on failure."""
        result = subprocess.run(
            [_doveadm_binary(), "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return result

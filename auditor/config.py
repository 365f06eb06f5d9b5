"""The TOML configuration: accounts, rule overrides, report settings; and password lookup.

Validation is strict: an unknown key or a wrong type is one line naming the file, the line
and the key. Passwords are never written in the file; they come from an environment
variable, a command (a password manager) or the system keyring.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from auditor.errors import ConfigError
from auditor.files import NotRegularFile, TooLarge, read_regular_bytes

SEVERITIES = ("info", "low", "medium", "high", "critical")
SECURITIES = ("tls", "starttls", "none")
CONFIG_LIMIT = 1_000_000  # bytes: a config has no business being larger (/dev/zero never ends)
PORTS = range(1, 65536)  # TCP ports (port 0 means "any port" to the system, not a server)


def valid_port(value: object) -> bool:
    """True for a TCP port a server can listen on (1-65535); the config and --imap use it."""
    return isinstance(value, int) and not isinstance(value, bool) and value in PORTS


def non_finite(value: object) -> float | None:
    """The first NaN or infinity in `value` (a number or a list of them), else None.

    TOML accepts `nan` and `inf`; a rule threshold of NaN makes every comparison false (the
    rule silently stops firing) and an impact figure of NaN prints "nan kg".
    """
    if isinstance(value, float) and not math.isfinite(value):
        return value
    if isinstance(value, list):
        for item in value:
            found = non_finite(item)
            if found is not None:
                return found
    return None


@dataclass
class Account:
    name: str
    host: str
    username: str
    port: int | None = None
    security: str = "tls"
    auth: str = "password"
    password_env: str | None = None
    password_command: str | None = None
    keyring: bool = False
    oauth2_token_command: str | None = None
    ca_file: str | None = None
    include_folders: list[str] = field(default_factory=list)
    exclude_folders: list[str] = field(default_factory=list)
    timeout: int | None = None  # seconds: the IMAP scan's wait and retry budget


@dataclass
class EmailSettings:
    to: list[str] = field(default_factory=list)
    sender: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    security: str = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_command: str | None = None
    keyring: bool = False


@dataclass
class Config:
    path: Path | None = None
    language: str | None = None
    association: str | None = None
    fail_on: str = "high"
    store: str | None = None
    rules_dirs: list[str] = field(default_factory=list)
    disabled_rules: set[str] = field(default_factory=set)
    rule_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    impact: dict[str, float] = field(default_factory=dict)  # figure id -> value (impact model)
    accounts: list[Account] = field(default_factory=list)
    mbox: list[str] = field(default_factory=list)
    maildir: list[str] = field(default_factory=list)
    email: EmailSettings = field(default_factory=EmailSettings)
    compress_attachments: bool = False  # [scan]: measure heavy photos/PDFs (issue 17)
    compress_budget: str | None = None  # [scan]: "200MB" or "60s"


def default_config_path() -> Path:
    """$AUDITOR_CONFIG, else auditor.toml in the user config dir (platformdirs)."""
    env = os.environ.get("AUDITOR_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("auditor", appauthor=False)) / "auditor.toml"


# Expected keys per table: key -> type (or tuple of types). Lists are checked item by item.
_TOP = {"store": str, "rules_dirs": list, "mbox": list, "maildir": list}
_REPORT = {"language": str, "association": str, "fail_on": str, "email": dict}
_SCAN = {"compress_attachments": bool, "compress_budget": str}
_EMAIL = {
    "to": list,
    "from": str,
    "smtp_host": str,
    "smtp_port": int,
    "security": str,
    "username": str,
    "password_env": str,
    "password_command": str,
    "keyring": bool,
}
_ACCOUNT = {
    "name": str,
    "host": str,
    "port": int,
    "security": str,
    "username": str,
    "auth": str,
    "password_env": str,
    "password_command": str,
    "keyring": bool,
    "oauth2_token_command": str,
    "ca_file": str,
    "include_folders": list,
    "exclude_folders": list,
    "timeout": int,
}
_PORT_KEYS = {"port", "smtp_port"}
_TYPE_KEYS = {  # errors.config.must_be.<kind>
    str: "string",
    int: "integer",
    bool: "boolean",
    list: "list",
    dict: "table",
    float: "number",
}


class _Checker:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, key: str, section: str | None = None) -> int | None:
        """The first line defining `key`, after the header of `section` when given."""
        start = 0
        if section:
            head = re.compile(r"^\s*\[\[?\s*" + re.escape(section) + r"\s*\]\]?\s*(#.*)?$")
            for i, line in enumerate(self.lines):
                if head.match(line):
                    start = i
                    break
        pat = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        for i in range(start, len(self.lines)):
            if pat.match(self.lines[i]):
                return i + 1
        return None

    def fail(
        self, setting: str, catalog_key: str, section: str | None = None, **values: object
    ) -> ConfigError:
        """The error for `setting`, located at its line; the catalog line names both."""
        line = self.line_of(setting.rsplit(".", 1)[-1], section)
        where = f"{self.path}:{line}" if line else f"{self.path}"
        return ConfigError(catalog_key, where=where, setting=setting, **values)

    def check_table(self, table: dict, spec: dict, prefix: str, section: str | None) -> None:
        for key, value in table.items():
            full = f"{prefix}{key}"
            if key == "password":
                raise self.fail(full, "errors.config.clear_password", section)
            if key not in spec:
                allowed = ", ".join(sorted(spec))
                raise self.fail(full, "errors.config.unknown_key", section, allowed=allowed)
            expected = spec[key]
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
            if not ok:
                raise self.fail(
                    full,
                    f"errors.config.must_be.{_TYPE_KEYS[expected]}",
                    section,
                    value=repr(value),
                )
            if (
                expected is list
                and key not in ("to", "accounts")
                and not all(isinstance(v, str) for v in value)
            ):
                raise self.fail(full, "errors.config.list_of_strings", section)
            if key in _PORT_KEYS and not valid_port(value):
                raise self.fail(full, "errors.config.port", section, value=repr(value))

    def check_finite(self, table: dict, prefix: str, section: str) -> None:
        """Refuse `nan` and `inf` (TOML numbers) in a table of rule parameters or figures."""
        for key, value in table.items():
            found = non_finite(value)
            if found is not None:
                raise self.fail(
                    f"{prefix}{key}", "errors.config.not_finite", section, value=repr(found)
                )


def load_config(path: Path | None = None, *, required: bool = False) -> Config:
    """Read and validate the config. A missing default file gives the defaults."""
    explicit = path is not None
    path = Path(path) if path else default_config_path()
    if not path.exists():
        if explicit or required:
            raise ConfigError(
                "errors.config.not_found",
                path=path,
            )
        return Config()
    text = _read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"{path}:{match.group(1)}" if match else str(path)
        raise ConfigError("errors.config.syntax", where=where, error=exc) from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ConfigError("errors.config.too_deep", path=path) from None
    return _parse(data, _Checker(path, text), path)


def _read_text(path: Path) -> str:
    """The config's text: a regular file of at most CONFIG_LIMIT bytes, in UTF-8.

    A FIFO would block the run forever and /dev/zero never ends: both are refused before any
    read. A byte order mark (Windows Notepad writes one) is dropped: "utf-8-sig".
    """
    try:
        raw = read_regular_bytes(path, CONFIG_LIMIT)
    except NotRegularFile:
        raise ConfigError("errors.config.not_regular", path=path) from None
    except TooLarge:
        raise ConfigError("errors.config.too_large", path=path, limit="1 MB") from None
    except OSError as exc:
        error = exc.strerror or exc
        raise ConfigError("errors.config.unreadable", path=path, error=error) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError("errors.config.unreadable", path=path, error=exc) from None


def _parse_scan(table: dict, chk: _Checker, cfg: Config) -> None:
    """[scan] compress_attachments = true, compress_budget = "200MB" | "60s"."""
    chk.check_table(table, _SCAN, "scan.", "scan")
    cfg.compress_attachments = table.get("compress_attachments", False)
    budget = table.get("compress_budget")
    if budget is not None:
        try:
            parse_budget(budget)
        except ConfigError:
            raise chk.fail(
                "scan.compress_budget", "errors.config.budget", "scan", value=repr(budget)
            ) from None
        cfg.compress_budget = budget


def _parse(data: dict, chk: _Checker, path: Path) -> Config:
    cfg = Config(path=path)
    top_spec = dict(_TOP, report=dict, rules=dict, accounts=list, impact=dict, scan=dict)
    chk.check_table(data, top_spec, "", None)
    _parse_scan(data.get("scan", {}), chk, cfg)
    cfg.store = data.get("store")
    cfg.rules_dirs = list(data.get("rules_dirs", []))
    cfg.mbox = list(data.get("mbox", []))
    cfg.maildir = list(data.get("maildir", []))

    report = data.get("report", {})
    chk.check_table(report, _REPORT, "report.", "report")
    cfg.language = report.get("language")
    if cfg.language not in (None, "en", "fr"):
        raise chk.fail("report.language", "errors.config.one_of", "report", choices='"fr", "en"')
    cfg.association = report.get("association")
    cfg.fail_on = report.get("fail_on", "high")
    if cfg.fail_on not in SEVERITIES:
        raise chk.fail(
            "report.fail_on", "errors.config.one_of", "report", choices=", ".join(SEVERITIES)
        )
    email = report.get("email", {})
    chk.check_table(email, _EMAIL, "report.email.", "report.email")
    if not all(isinstance(v, str) for v in email.get("to", [])):
        raise chk.fail("report.email.to", "errors.config.list_of_addresses", "report.email")
    cfg.email = EmailSettings(
        to=list(email.get("to", [])),
        sender=email.get("from"),
        smtp_host=email.get("smtp_host"),
        smtp_port=email.get("smtp_port"),
        security=email.get("security", "starttls"),
        username=email.get("username"),
        password_env=email.get("password_env"),
        password_command=email.get("password_command"),
        keyring=email.get("keyring", False),
    )
    if cfg.email.security not in SECURITIES:
        raise chk.fail(
            "report.email.security",
            "errors.config.one_of",
            "report.email",
            choices=", ".join(SECURITIES),
        )

    rules = data.get("rules", {})
    for key, value in rules.items():
        if key == "disable":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise chk.fail("rules.disable", "errors.config.list_of_rule_ids", "rules")
            cfg.disabled_rules = set(value)
        elif isinstance(value, dict):
            chk.check_finite(value, f"rules.{key}.", f"rules.{key}")
            cfg.rule_params[key] = dict(value)
        else:
            raise chk.fail(f"rules.{key}", "errors.config.rule_table", "rules")

    for key, value in data.get("impact", {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise chk.fail(f"impact.{key}", "errors.config.impact_number", "impact")
        chk.check_finite({key: value}, "impact.", "impact")
        cfg.impact[key] = float(value)

    accounts = data.get("accounts", [])
    for index, table in enumerate(accounts):
        if not isinstance(table, dict):
            raise chk.fail("accounts", "errors.config.account_tables", None)
        chk.check_table(table, _ACCOUNT, "accounts.", "accounts")
        for required in ("host", "username"):
            if required not in table:
                raise chk.fail(
                    "accounts",
                    "errors.config.account_needs",
                    "accounts",
                    number=index + 1,
                    required=required,
                )
        security = table.get("security", "tls")
        if security not in SECURITIES:
            raise chk.fail(
                "accounts.security",
                "errors.config.one_of",
                "accounts",
                choices=", ".join(SECURITIES),
            )
        auth = table.get("auth", "password")
        if auth not in ("password", "oauth2"):
            raise chk.fail(
                "accounts.auth", "errors.config.one_of", "accounts", choices='"password", "oauth2"'
            )
        if not 1 <= table.get("timeout", 60) <= 3600:
            raise chk.fail("accounts.timeout", "errors.config.timeout_range", "accounts")
        cfg.accounts.append(
            Account(
                name=table.get("name", f"{table['username']}@{table['host']}"),
                host=table["host"],
                username=table["username"],
                port=table.get("port"),
                security=security,
                auth=auth,
                password_env=table.get("password_env"),
                password_command=table.get("password_command"),
                keyring=table.get("keyring", False),
                oauth2_token_command=table.get("oauth2_token_command"),
                ca_file=table.get("ca_file"),
                include_folders=list(table.get("include_folders", [])),
                exclude_folders=list(table.get("exclude_folders", [])),
                timeout=table.get("timeout"),
            )
        )
    return cfg


def resolve_secret(
    what: str,
    *,
    env: str | None = None,
    command: str | None = None,
    keyring_user: str | None = None,
    command_key: str = "password_command",
) -> str:
    """A password from an environment variable, a command or the keyring, in that order.

    Errors name `what` (an account) and the way that failed (`command_key` is the setting
    that holds `command`: password_command, or oauth2_token_command for a token), never the
    secret itself.
    """
    if env:
        value = os.environ.get(env)
        if value:
            return value
        raise ConfigError(
            "errors.config.env_unset",
            what=what,
            env=env,
        )
    if command:
        try:
            proc = subprocess.run(
                shlex.split(command), capture_output=True, timeout=30, check=False, text=True
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                "errors.config.command_failed",
                what=what,
                setting=command_key,
                error=type(exc).__name__,
            ) from None
        if proc.returncode != 0 or not proc.stdout.strip():
            raise ConfigError(
                "errors.config.command_empty", what=what, setting=command_key, code=proc.returncode
            )
        return proc.stdout.splitlines()[0]
    if keyring_user:
        return _from_keyring(what, keyring_user)
    raise ConfigError("errors.config.no_password_source", what=what)


def keyring_unavailable() -> str | None:
    """Why `keyring = true` cannot work on this machine, else None (without reading a secret).

    A headless server has no keyring service: keyring then picks its "fail" backend, whose
    every call raises NoKeyringError. Saying so before the run starts costs nothing.
    """
    try:
        import keyring  # optional dependency: pip install 'auditor[keyring]'
        from keyring.backends import fail
    except ImportError:
        return "errors.config.keyring_missing"
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a backend plugin may fail to load in any way
        return "errors.config.keyring_unavailable"
    if isinstance(backend, fail.Keyring):
        return "errors.config.keyring_unavailable"
    return None


def _from_keyring(what: str, user: str) -> str:
    """The password stored for `user` under the service "auditor" in the system keyring."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        raise ConfigError("errors.config.keyring_missing", what=what) from None
    try:
        value = keyring.get_password("auditor", user)
    except KeyringError:  # NoKeyringError (no backend), a locked or broken keyring
        raise ConfigError("errors.config.keyring_unavailable", what=what) from None
    if value:
        return value
    raise ConfigError("errors.config.keyring_empty", what=what, user=user)


# How much `scan --compress-attachments` may spend measuring ([scan] compress_budget).
DEFAULT_BUDGET = "200MB"


@dataclass(frozen=True)
class Budget:
    """How much a scan may spend measuring: encoded bytes fetched, or seconds."""

    max_bytes: int | None = None
    max_seconds: float | None = None

    def spent(self, fetched: int, started: float) -> bool:
        if self.max_bytes is not None and fetched >= self.max_bytes:
            return True
        return self.max_seconds is not None and time.monotonic() - started >= self.max_seconds


_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kb|mb|gb|s|min)?\s*$", re.IGNORECASE)
_UNITS = {"kb": 1000, "mb": 1000**2, "gb": 1000**3}


def parse_budget(text: str) -> Budget:
    """A budget from "200MB", "1GB" (bytes fetched) or "60s", "5min" (time); a bare number
    is MB."""
    match = _BUDGET.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise ConfigError("cli.scan.bad_budget", value=text)
    number, unit = float(match.group(1)), (match.group(2) or "mb").lower()
    if unit == "s":
        return Budget(max_seconds=number)
    if unit == "min":
        return Budget(max_seconds=number * 60)
    return Budget(max_bytes=int(number * _UNITS[unit]))

"""An IMAP account: where and how to log in. Kept apart from the collector (imap.py), so
reading the config or scanning local mail does not import imaplib and imapclient."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# The longest the scan waits for a silent server, and the longest it keeps trying to get a
# lost connection back: a stalled server costs at most about twice this (monthly cron job).
DEFAULT_TIMEOUT = 60.0


@dataclass
class ImapAccount:
    """Where and how to log in. `secret` is called only when logging in, never stored."""

    name: str
    host: str
    username: str
    secret: Callable[[], str]
    port: int | None = None
    security: str = "tls"  # "tls", "starttls", "none"
    auth: str = "password"  # "password" or "oauth2" (XOAUTH2)
    ca_file: str | None = None
    include_folders: list[str] = field(default_factory=list)
    exclude_folders: list[str] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT  # seconds; see DEFAULT_TIMEOUT

    @property
    def locator(self) -> str:
        """A secret-free identity for the store: imap://user@host:port."""
        return f"imap://{self.username}@{self.host}:{self.effective_port}"

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

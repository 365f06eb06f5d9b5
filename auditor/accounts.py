"""IMAP accounts from the config file or an `imaps://USER@HOST[:PORT]` URL.

Passwords are looked up only when the account logs in, through a callable, so they never
sit in a structure that could be logged or stored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from auditor.collect.mail.imap_account import DEFAULT_TIMEOUT, ImapAccount
from auditor.config import Config, keyring_unavailable, resolve_secret, valid_port
from auditor.errors import ConfigError

PASSWORD_ENV = "AUDITOR_IMAP_PASSWORD"


def accounts_from_config(config: Config) -> list[ImapAccount]:
    """The config's [[accounts]]; a keyring that cannot work is said before any scan."""
    accounts = []
    for a in config.accounts:
        if a.keyring and a.auth != "oauth2" and not (a.password_env or a.password_command):
            problem = keyring_unavailable()
            if problem:
                raise ConfigError(problem, what=a.name)
        if a.auth == "oauth2":
            if not a.oauth2_token_command:
                raise ConfigError(
                    "errors.accounts.oauth2_command",
                    path=config.path,
                    account=a.name,
                )

            def secret(a=a) -> str:
                return resolve_secret(
                    a.name,
                    command=a.oauth2_token_command,
                    command_key="oauth2_token_command",
                )
        else:

            def secret(a=a) -> str:
                return resolve_secret(
                    a.name,
                    env=a.password_env,
                    command=a.password_command,
                    keyring_user=f"{a.username}@{a.host}" if a.keyring else None,
                )

        accounts.append(
            ImapAccount(
                name=a.name,
                host=a.host,
                username=a.username,
                secret=secret,
                port=a.port,
                security=a.security,
                auth=a.auth,
                ca_file=a.ca_file,
                include_folders=a.include_folders,
                exclude_folders=a.exclude_folders,
                timeout=float(a.timeout or DEFAULT_TIMEOUT),
            )
        )
    return accounts


def account_from_url(
    url: str, ca_file: str | None, prompt: Callable[[str], str] | None
) -> ImapAccount:
    """`imaps://USER@HOST[:PORT]` (TLS) or `imap://USER@HOST[:PORT]` (STARTTLS).

    The password comes from $AUDITOR_IMAP_PASSWORD, else from `prompt` (a TTY), never
    from the URL: one written there is refused.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # "Invalid IPv6 URL": an unclosed [
        raise ConfigError("errors.accounts.bad_url", url=_safe(url)) from None
    if parts.scheme not in ("imaps", "imap") or not parts.hostname or not parts.username:
        raise ConfigError(
            "errors.accounts.bad_url",
            url=_safe(url),
        )
    if parts.password is not None:
        raise ConfigError(
            "errors.accounts.password_in_url",
            url=_safe(url),
            env=PASSWORD_ENV,
        )
    try:
        port = parts.port
    except ValueError:  # not a number, or beyond 65535
        port = -1
    if port is not None and not valid_port(port):  # urlsplit accepts port 0
        raise ConfigError(
            "errors.accounts.bad_port",
            url=_safe(url),
        )
    username = unquote(parts.username)
    host = parts.hostname

    def secret() -> str:
        value = os.environ.get(PASSWORD_ENV)
        if value:
            return value
        if prompt is None:
            raise ConfigError(
                "errors.accounts.no_password",
                account=f"{username}@{host}",
                env=PASSWORD_ENV,
            )
        return prompt(f"{username}@{host}")  # the caller words the question in its language

    return ImapAccount(
        name=f"{username}@{host}",
        host=host,
        username=username,
        secret=secret,
        port=port,
        security="tls" if parts.scheme == "imaps" else "starttls",
        ca_file=ca_file,
    )


def _safe(url: str) -> str:
    """The URL without any password, for error messages (even one urlsplit refuses)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"^([^:/]*://[^:@/]*):[^@/]*@", r"\1:***@", url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()

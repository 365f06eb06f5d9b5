"""Shared fixtures: one private Dovecot IMAP server per session, a fresh account per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tests.dovecot import Dovecot, ImapAccount, dovecot_binary

_ACCOUNTS = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A running `tests.dovecot.Dovecot` on 127.0.0.1, shared by the whole session."""
    if dovecot_binary() is None:
        reason = "Dovecot is not installed (no /usr/sbin/dovecot: apt-get install dovecot-imapd)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the IMAP tests", pytrace=False)
        pytest.skip(reason)
    with Dovecot() as server:
        yield server


@pytest.fixture
def imap_account(dovecot: Dovecot) -> Iterator[ImapAccount]:
    """A new user with an empty mailbox on the session server, deleted after the test."""
    n = next(_ACCOUNTS)
    user, password = f"user{n:04d}-{os.getpid()}", f"test-password-{n}"
    dovecot.add_user(user, password)
    yield ImapAccount(
        user=user,
        password=password,
        host=dovecot.host,
        port=dovecot.imap_port,
        imaps_port=dovecot.imaps_port,
        ca_file=dovecot.ca_file,
        server=dovecot,
    )
    dovecot.remove_user(user)

"""Errors a user can act on. Each one prints as a single line naming the input at fault."""

from __future__ import annotations


class AuditorError(Exception):
    """A problem with an input, shown to the user as one line (no traceback unless --debug)."""

    exit_code = 2


class ConfigError(AuditorError):
    """The configuration file or a command-line option is wrong."""


class StoreError(AuditorError):
    """The fact store cannot be opened, created or migrated."""


class SourceError(AuditorError):
    """A source (mailbox file, IMAP account, machine probe) could not be read.

    The run goes on without it and is marked partial (exit code 3).
    """

    exit_code = 3


class RuleError(AuditorError):
    """A rule pack or one rule in it is invalid; the other rules still run."""

"""Errors a user can act on. Each one prints as a single line naming the input at fault."""

from __future__ import annotations


class AuditorError(Exception):
    """A problem with an input, shown to the user as one line (no traceback unless --debug).

    `str(error)` is the English line. An error raised with `key=` (a catalog key under
    `errors.`) and its values also exists in the other languages: `localized(lang)`.
    """

    exit_code = 2

    def __init__(self, text: str, key: str | None = None, **values: object) -> None:
        super().__init__(text)
        self.key = key
        self.values = values

    def localized(self, lang: str) -> str:
        if self.key is None:
            return str(self)
        from auditor.i18n import t

        return t(lang, self.key, **self.values)


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

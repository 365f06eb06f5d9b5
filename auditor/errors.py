"""Errors a user can act on. Each one prints as a single line naming the input at fault.

Every line exists in French and English: it is a catalog key (`domain.name`, found in
`auditor/i18n/<lang>/<domain>.toml`) and the values that fill it, a `Problem`. Its `str` is the
English line (what logs and exceptions show); `localized(lang)` is the line in any
language. Problems met during a scan are stored as key + values, so a report re-rendered
later in another language shows them in that language too.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from auditor.i18n import RENAMED, t


def _plain(value: object) -> str | int | float | bool:
    """A value as stored in JSON: numbers stay numbers, everything else is its text."""
    if isinstance(value, bool | int | float):
        return value
    return str(value)


class Problem(str):
    """One line about an input: `str` is English, `localized(lang)` any language.

    `at` is what the line is about when it is not part of the sentence (a host name, an
    account, a file): it is shown first, `at: line`, and never translated.
    """

    key: str
    values: dict[str, Any]
    at: tuple[str, ...]

    def __new__(cls, key: str, /, *, at: tuple[str, ...] = (), **values: object) -> Problem:
        plain = {name: _plain(value) for name, value in values.items()}
        line = super().__new__(cls, _compose(at, t("en", key, **plain), "en"))
        line.key, line.values, line.at = key, plain, tuple(at)
        return line

    def localized(self, lang: str) -> str:
        try:
            return _compose(self.at, t(lang, self.key, **self.values), lang)
        except (KeyError, IndexError, ValueError):  # a catalog line changed since it was stored
            return str(self)

    def under(self, *where: str) -> Problem:
        """The same line about something inside `where` ("host: disk /: not readable")."""
        return Problem(self.key, at=(*where, *self.at), **self.values)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"key": self.key, "values": self.values}
        if self.at:
            doc["at"] = list(self.at)
        return doc

    @staticmethod
    def from_json(item: object) -> str:
        """A stored line back: a Problem, or the plain text stored by an older version."""
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            values = item.get("values") or {}
            key = item["key"]
            if key in RENAMED:  # a key of an older catalogue: the line that says the same
                key, added = RENAMED[key]
                values = {**values, **added} if isinstance(values, dict) else values
            try:
                return Problem(key, at=tuple(item.get("at") or ()), **values)
            except (KeyError, IndexError, ValueError, TypeError):  # stored by another version
                return ": ".join((*(item.get("at") or ()), item["key"], json.dumps(values)))
        return str(item)


def _compose(at: tuple[str, ...], line: str, lang: str) -> str:
    for where in reversed(at):
        line = t(lang, "errors.at", where=where, line=line)
    return line


def under(line: str, *where: str) -> str:
    """`line` about something inside `where`, a Problem when `line` is one."""
    if isinstance(line, Problem):
        return line.under(*where)
    return ": ".join((*where, line))


def to_stored(line: str) -> str | dict[str, Any]:
    """What the store keeps for a line: key and values for a Problem, else the text."""
    return line.to_json() if isinstance(line, Problem) else str(line)


def localized(line: str, lang: str) -> str:
    """Any stored or collected line in `lang` (plain text from an older store stays as is)."""
    return line.localized(lang) if isinstance(line, Problem) else str(line)


class AuditorError(Exception):
    """A problem with an input, shown to the user as one line (no traceback unless --debug).

    Raised with a catalog key and the values that fill it:
    `ConfigError("errors.config.not_found", path=path)`. `str(error)` is the English line;
    `localized(lang)` the line in `lang`; `problem` the line to store.
    """

    exit_code = 2

    def __init__(self, key: str, /, *, at: tuple[str, ...] = (), **values: object) -> None:
        self.problem = Problem(key, at=at, **values)
        super().__init__(str(self.problem))

    @property
    def key(self) -> str:
        return self.problem.key

    @property
    def values(self) -> dict[str, Any]:
        return self.problem.values

    def localized(self, lang: str) -> str:
        return self.problem.localized(lang)


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


def internal_error(exc: BaseException) -> Problem:
    """The line for a bug in auditor itself: the exception's type and where it was raised.

    The exception's own text is left out on purpose: it may quote a server reply or a value
    read from the user's files, and this line goes to cron mail and the store.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "auditor" in f.filename.replace("\\", "/").split("/")]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    place = f"{_short_path(where.filename)}:{where.lineno}" if where else "?"
    return Problem("errors.internal", kind=type(exc).__name__, place=place)


def _short_path(filename: str) -> str:
    parts = filename.replace("\\", "/").split("/")
    return "/".join(parts[parts.index("auditor") :]) if "auditor" in parts else parts[-1]

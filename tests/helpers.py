"""Small builders shared by tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.collect.mail.records import AttachmentFacts, FolderFacts, MessageFacts
from auditor.errors import AuditorError, Problem


def message(key: int, **fields) -> MessageFacts:
    base = dict(
        key=key,
        size_bytes=1000,
        internal_date="2020-01-01T00:00:00+00:00",
        seen=True,
        message_id=f"<{key}@example.org>",
        from_addr="alice@example.org",
        subject=f"message {key}",
        list_id=None,
        list_unsubscribe=None,
        one_click_unsubscribe=False,
        precedence=None,
        auto_submitted=None,
    )
    base.update(fields)
    return MessageFacts(**base)


def attachment(part: str, size: int, name: str = "photo.jpg", ctype: str = "image/jpeg"):
    return AttachmentFacts(part, name, ctype, size * 4 // 3, size)


def folder(name: str, messages, special_use=None) -> FolderFacts:
    return FolderFacts(name=name, special_use=special_use, messages=list(messages))


# One rule of a rule pack, to .format(id=..., sql=...): tests of the loader and the engine.
RULE = """
[[rule]]
id = "{id}"
category = "mail"
severity = "low"
effort = "minutes"
gesture = "sort-delete-mail"
title.en = "t"
title.fr = "t"
why.en = "w"
why.fr = "w"
how.en = "h"
how.fr = "h"
sql = "{sql}"
"""


# Error lines: each is a Problem (catalogue key + values) whose English is the line auditor
# always printed and whose French is whole, with what it is about first in both.


def assert_bilingual(
    line: str, english: str, about: str | None = None, domain: str = "source"
) -> Problem:
    """`line` is a Problem of `domain` whose English is `english` and whose French is whole."""
    assert isinstance(line, Problem), f"a plain string, not a Problem: {line!r}"
    assert line.key.startswith(f"{domain}."), line.key
    assert str(line) == english and line.localized("en") == english
    french = line.localized("fr")
    assert french != english, f"{line.key}: the French line is the English one"
    assert "{" not in french and "}" not in french and "\n" not in french, french
    if about is not None:
        assert line.at and line.at[0] == about
        assert english.startswith(f"{about}: ") and french.startswith(f"{about} : ")
    return line


def raised(call) -> Problem:
    """The Problem of the AuditorError `call()` raises (its text is the Problem's)."""
    with pytest.raises(AuditorError) as caught:
        call()
    assert str(caught.value) == str(caught.value.problem)
    return caught.value.problem


def assert_config_error_line(error: AuditorError) -> None:
    """A ConfigError whose English line is the exception's own text, and whose French line is
    whole, different, and never shows a secret."""
    from auditor.errors import ConfigError

    assert isinstance(error, ConfigError) and error.key is not None
    assert error.localized("en") == str(error)
    french = error.localized("fr")
    assert french != str(error) and "{" not in french and "\n" not in french
    assert "secret" not in french and "secret" not in str(error)


def raised_error(call, kind: type[AuditorError] = AuditorError) -> AuditorError:
    """The error of `kind` that `call()` raises: its text is its Problem's English line."""
    with pytest.raises(kind) as caught:
        call()
    error = caught.value
    assert error.problem.key == error.key and error.localized("en") == str(error)
    return error


def assert_catalog_line(line: str, key_prefix: str) -> str:
    """`line` is a Problem of the catalog under `key_prefix`; its French text is whole (no
    key, no placeholder left). Returns the French."""
    from auditor.errors import localized

    assert isinstance(line, Problem), type(line)
    assert line.key.startswith(key_prefix), line.key
    assert line.localized("en") == str(line)
    french = line.localized("fr")
    assert french != str(line), line.key
    assert "{" not in french and "}" not in french and "\n" not in french
    assert not french.startswith(line.key) and line.key not in french
    assert localized(line, "fr") == french
    return french


# The machine probes: stand-in programs, fake /sys trees, and their lines.

Outcome = tuple[int, str, str] | BaseException


def runner(answers: dict[str, Outcome] | None = None) -> Callable[[list[str], float], tuple]:
    """A stand-in for the OS's programs: the answer of the first key found in the command line,
    FileNotFoundError (not installed) for any other command."""

    def run(argv: list[str], _timeout: float) -> tuple[int, str, str]:
        line = " ".join(argv)
        for key, outcome in (answers or {}).items():
            if key in line:
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    return run


def assert_probe_lines(lines: list[str], english: list[str]) -> None:
    """Each line is a probe's Problem, its English is `english`, its French whole and
    different."""
    assert lines == english
    for line in lines:
        assert isinstance(line, Problem), repr(line)
        assert line.localized("en") == str(line)
        french = line.localized("fr")
        assert french != str(line)
        assert "{" not in french and "}" not in french and "\n" not in french
        assert line.key.startswith("probe.")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")

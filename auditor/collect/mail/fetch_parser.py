"""A fast parser for IMAP FETCH responses (RFC 3501 section 7.4.2).

imapclient's own parser is a general, character-by-character lexer: profiling a full
mailbox scan showed about 92 % of the time spent there, while the server answered about 15
times faster. This parser tokenises each response line with one compiled regular expression
(the scanning happens in C) and builds the same values imapclient does: bytes for strings
and atoms, int for numbers, None for NIL, tuples for lists, and `BodyData` for
BODYSTRUCTURE. The test suite checks it against imapclient's results on every message of
the test corpora.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from imapclient.response_types import BodyData

# One token: a paren, a quoted string, a literal announcement {n} at the end of a line, or an
# atom, which may carry a section in brackets such as BODY[HEADER.FIELDS (FROM SUBJECT)]<0>.
_TOKEN = re.compile(
    rb'[()]|"(?:[^"\\]|\\.)*"|\{\d+\}$|[^ ()"\[\]{]+(?:\[[^\]]*\](?:<[0-9.]+>)?)?|[\[\]{]'
)
_ESCAPE = re.compile(rb"\\(.)")


class FetchParseError(ValueError):
    """The response did not have the shape RFC 3501 describes."""


def _tokens(data: Iterable[Any]) -> Iterator[Any]:
    """Flatten imaplib's untagged FETCH data into tokens; literals come as ("lit", bytes)."""
    for item in data:
        if isinstance(item, tuple):
            line, literal = item[0], item[1]
            found = _TOKEN.findall(line)
            if not found or not found[-1].startswith(b"{"):
                raise FetchParseError("literal without announcement")
            yield from found[:-1]
            yield ("lit", literal)
        elif item:
            yield from _TOKEN.findall(item)


def _value(tok: Any) -> Any:
    if type(tok) is tuple:
        return tok[1]
    first = tok[0]
    if first == 34:  # '"'
        inner = tok[1:-1]
        return _ESCAPE.sub(rb"\1", inner) if b"\\" in inner else inner
    if tok.isdigit():
        return int(tok)
    if tok == b"NIL":
        return None
    return tok


def parse_fetch(data: Iterable[Any]) -> Iterator[tuple[int, dict[bytes, Any]]]:
    """Yield (sequence number, {ITEM: value}) for each message of a FETCH response.

    Item names are upper-case bytes as sent (b"UID", b"RFC822.SIZE", b"BODYSTRUCTURE",
    b"BODY[HEADER.FIELDS (FROM SUBJECT)]"...). INTERNALDATE stays the server's bytes.
    """
    tokens = _tokens(data)
    for seq_tok in tokens:
        if type(seq_tok) is tuple or not seq_tok.isdigit():
            raise FetchParseError(f"expected a message number, got {seq_tok!r:.40}")
        opener = next(tokens, None)
        if opener == b"FETCH":  # some callers keep the keyword
            opener = next(tokens, None)
        if opener != b"(":
            raise FetchParseError("expected '(' after the message number")
        stack: list[list[Any]] = [[]]
        for tok in tokens:
            if tok == b"(":
                stack.append([])
            elif tok == b")":
                done = stack.pop()
                if not stack:
                    stack = [done]
                    break
                stack[-1].append(tuple(done))
            else:
                stack[-1].append(_value(tok))
        else:
            raise FetchParseError("response ended inside a list")
        items = stack[0]
        if len(items) % 2:
            raise FetchParseError("odd number of items in a FETCH response")
        fields: dict[bytes, Any] = {}
        for i in range(0, len(items), 2):
            name = items[i]
            if type(name) is not bytes:
                raise FetchParseError("item name is not an atom")
            name = name.upper()
            value = items[i + 1]
            if name == b"BODYSTRUCTURE" or name == b"BODY":
                value = BodyData.create(value) if type(value) is tuple and value else value
            fields[name] = value
        yield int(seq_tok), fields

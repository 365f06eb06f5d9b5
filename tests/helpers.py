"""Small builders shared by tests."""

from __future__ import annotations

from auditor.collect.mail.records import AttachmentFacts, FolderFacts, MessageFacts


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

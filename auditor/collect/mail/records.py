"""Typed rows that mail collectors produce. Collectors fill these; they never judge."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AttachmentFacts:
    """One attachment part of a message (metadata only, never the content)."""

    part: str  # MIME part number, IMAP style: "2", "2.1"
    filename: str | None  # RFC 2231 / RFC 2047 decoded
    content_type: str  # lower case, "image/jpeg"
    encoded_bytes: int  # size of the part as transferred (base64 etc.)
    size_bytes: int  # decoded size (exact when known, estimated from the encoding otherwise)


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """Metadata of one message. `key` is stable within its folder (IMAP UID, mbox index...)."""

    key: int
    size_bytes: int
    internal_date: str | None  # ISO 8601 UTC, "2023-04-01T10:00:00+00:00"
    seen: bool
    message_id: str | None
    from_addr: str | None  # lower-cased address only, "alice@example.org"
    subject: str | None  # RFC 2047 decoded
    list_id: str | None
    list_unsubscribe: str | None
    one_click_unsubscribe: bool  # RFC 8058 List-Unsubscribe-Post: List-Unsubscribe=One-Click
    precedence: str | None  # "bulk", "list", "junk" or None
    auto_submitted: str | None  # RFC 3834 value or None
    flags: tuple[str, ...] = ()
    attachments: tuple[AttachmentFacts, ...] = ()
    malformed: bool = False  # parsed with defects; stored with what could be read
    # why: mimeheader.R_* identifiers ("invalid-content-type"...), docs/attachments.md
    malformed_reasons: tuple[str, ...] = ()

    @property
    def from_domain(self) -> str | None:
        if self.from_addr and "@" in self.from_addr:
            return self.from_addr.rsplit("@", 1)[1]
        return None


@dataclass(frozen=True, slots=True)
class FolderFacts:
    """One folder of a mail source and every message read from it."""

    name: str  # display name, "INBOX", "Sent", "Archives/2021"
    special_use: str | None  # RFC 6154 name without backslash: "Trash", "Junk", "Sent"...
    messages: list[MessageFacts] = field(default_factory=list)
    skipped: int = 0  # messages that could not be read at all
    errors: list[str] = field(default_factory=list)  # one Problem each, for the report

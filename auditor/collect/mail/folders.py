"""Folder roles from folder names, for sources that do not say (mbox, Maildir, old IMAP)."""

from __future__ import annotations

import re
import unicodedata

# RFC 6154 special-use attributes (without the backslash) guessed from folder names used by
# Thunderbird, Outlook, Gmail, Apple Mail, Dovecot and French webmails. Keys are compared
# case-insensitively and without accents, so "Elements envoyes" matches too.
_SPECIAL_NAMES: dict[str, tuple[str, ...]] = {
    "Trash": (
        "trash",
        "deleted",
        "deleted items",
        "deleted messages",
        "bin",
        "corbeille",
        "elements supprimes",
        "messages supprimes",
        "poubelle",
    ),
    "Junk": (
        "junk",
        "spam",
        "junk e-mail",
        "junk email",
        "junk mail",
        "bulk mail",
        "courrier indesirable",
        "courriers indesirables",
        "indesirables",
        "pourriels",
        "pourriel",
    ),
    "Sent": (
        "sent",
        "sent items",
        "sent messages",
        "sent mail",
        "envoyes",
        "elements envoyes",
        "messages envoyes",
        "courrier envoye",
    ),
    "Drafts": ("drafts", "draft", "brouillons", "brouillon"),
    "Archive": ("archive", "archives"),
    "All": ("all mail", "tous les messages"),  # Gmail's virtual "[Gmail]/All Mail"
}
_SPECIAL_LOOKUP = {name: use for use, names in _SPECIAL_NAMES.items() for name in names}


def _fold_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("_", " ").split())


def special_use_from_name(name: str) -> str | None:
    """Guess the RFC 6154 special use ("Trash", "Junk", "Sent", "Drafts", "Archive", "All").

    Matched on the last path component, so "[Gmail]/Trash" and "INBOX/Corbeille" work.
    """
    last = re.split(r"[/\\]", name.strip().rstrip("/"))[-1]
    return _SPECIAL_LOOKUP.get(_fold_name(last))

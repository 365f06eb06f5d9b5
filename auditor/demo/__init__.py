"""The demo mailbox: a small French association's mail, shipped gzip-compressed.

`scripts/make_demo_mailbox.py` writes the `*.mbox.gz` files beside this module. They are
unpacked once into the user cache, in a folder named after their content hash, so a new
release never reads a stale copy and two processes never see a half-written folder.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import platformdirs

__all__ = ["DEMO_DATE", "DEMO_FOLDERS", "demo_archives", "demo_mailbox_dir"]

DEMO_FOLDERS = ("Inbox", "Sent", "Trash", "Archives")
# The day the demo depicts (the generator's reference date): rules judge the demo as of then.
DEMO_DATE = "2026-11-01T09:00:00+00:00"


def demo_archives() -> dict[str, bytes]:
    """The shipped gzip files, by folder name."""
    package = resources.files(__name__)
    return {name: package.joinpath(f"{name}.mbox.gz").read_bytes() for name in DEMO_FOLDERS}


def demo_mailbox_dir(cache_dir: Path | None = None) -> Path:
    """A folder of Thunderbird-style mbox files (`Inbox`, `Sent`...) holding the demo mail.

    Unpacked into `cache_dir` (default: the user cache of "auditor") on first use only.
    """
    archives = demo_archives()
    digest = hashlib.sha256()
    for name, data in archives.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    base = Path(cache_dir) if cache_dir else Path(platformdirs.user_cache_dir("auditor"))
    target = base / f"demo-{digest.hexdigest()[:16]}"
    if all((target / name).is_file() for name in archives):
        return target
    base.mkdir(parents=True, exist_ok=True)
    # Unpack next to the target, then rename: a reader sees all files or none.
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=base))
    try:
        for name, data in archives.items():
            (staging / name).write_bytes(gzip.decompress(data))
        try:
            os.replace(staging, target)
        except OSError:
            # Another process won the race (the target exists and is not empty): use its copy,
            # unless it is an incomplete leftover, which is replaced.
            if not all((target / name).is_file() for name in archives):
                shutil.rmtree(target, ignore_errors=True)
                os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target

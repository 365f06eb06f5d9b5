"""What compressing one file gave: the new bytes, or why the original stays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from auditor.errors import Problem

Status = Literal["smaller", "kept", "skipped"]
# smaller: `data` holds a smaller output that passed the quality guard
# kept:    the file is fine as it is (not smaller, not good enough, already light...)
# skipped: the file could not be read (encrypted, broken, bomb, not what it says)


@dataclass
class Outcome:
    status: Status
    size_before: int
    data: bytes | None = None  # the output file's bytes, only when status == "smaller"
    suffix: str = ""  # the output's extension (".jpg", ".webp", ".pdf", ".png"...)
    ssim: float | None = None  # lowest similarity measured for the kept output
    reason: Problem | None = None  # why the original stays (None when smaller)
    notes: list[str] = field(default_factory=list)  # full i18n keys (e.g. location removed)
    engine: str = ""  # "pillow", "pypdf", "ghostscript"

    @property
    def size_after(self) -> int:
        return len(self.data) if self.data is not None else self.size_before

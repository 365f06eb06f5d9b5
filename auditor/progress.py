"""Progress on a terminal while a scan runs: one bar per IMAP account (messages, rate)."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from auditor.i18n import t
from auditor.scan import HOST


class ScanProgress:
    """Shown on stderr only; the caller decides (a TTY and not --quiet)."""

    def __init__(self, console: Console, lang: str):
        self.lang = lang
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self) -> ScanProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def source(self, name: str) -> None:
        """A local source (mbox, Maildir, this machine) starts."""
        with self._lock:
            label = t(self.lang, "cli.scan.this_machine") if name == HOST else name
            task = self._progress.add_task(
                t(self.lang, "cli.scan.scanning_source", source=label), total=None, rate=""
            )
            self._tasks[f"source:{name}"] = task

    def account(self, name: str, done: int, total: int) -> None:
        """An IMAP account moved on: `done` of `total` messages."""
        with self._lock:
            task = self._tasks.get(name)
            if task is None:
                task = self._progress.add_task(name, total=total, rate="")
                self._tasks[name] = task
            speed = self._progress.tasks[task].speed
            rate = t(self.lang, "cli.scan.rate", rate=int(speed)) if speed else ""
            self._progress.update(task, completed=done, total=total, rate=rate)

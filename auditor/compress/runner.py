"""Find the files to compress, compress them in parallel, write the results without loss.

Compressing is pure (images.py and pdf/ return bytes); everything that touches the user's
files is here, in the parent process, one file at a time:
- a light copy is written to a temporary file in the target folder, fsynced, then linked to
  its final name, which fails rather than replace an existing file;
- `--in-place` first keeps the original as a backup (a hard link, or a copy where links are
  not possible; never over an existing file), then renames the checked temporary file over
  the original, so at every instant the original bytes exist under one name or another.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.compress.outcome import Outcome
from auditor.compress.presets import Preset
from auditor.errors import Problem
from auditor.files import fsync_directory, open_regular, publish_new

LIGHT = ".light"  # photo.jpg -> photo.light.jpg
BACKUP = ".orig"  # --in-place keeps photo.jpg as photo.orig.jpg
# A copy less than 5 % smaller than its original is not worth a second file (nor a lost
# original, in place): the file is "already light". The one place this figure lives.
MIN_SAVING = 0.05
_SNIFF_BYTES = 1024


class _Mismatch(OSError):
    """The temporary file read back is not what was compressed (a failing disk or drive)."""


@dataclass
class FileResult:
    source: Path
    kind: str  # "photo", "pdf" or "other"
    outcome: Outcome
    target: Path | None = None  # where the light copy was (or, in a dry run, would be) written
    written: bool = False
    error: Problem | None = None  # a write that failed (compress.write.*); the original untouched
    size_after: int = 0  # the light copy's size; the original's when nothing was kept

    @property
    def saved(self) -> int:
        return self.outcome.size_before - self.size_after


def sniff(path: Path) -> str:
    """ "photo", "pdf" or "other", from the file's first bytes, not its extension."""
    from auditor.compress.images import sniff_image

    try:
        with open_regular(path) as fh:  # a FIFO in a photo folder must not hang the run
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return "other"
    if b"%PDF-" in head:
        return "pdf"
    return "photo" if sniff_image(head) else "other"


def _is_ours(path: Path) -> bool:
    """Light copies and backups this command wrote before: never compressed again."""
    stem_suffixes = path.suffixes[-2:-1]
    return bool(stem_suffixes) and stem_suffixes[0] in (LIGHT, BACKUP)


def find_files(paths: Iterable[Path]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(file, the root it was found under) for every file to try, and every path not found.

    Folders are walked recursively (hidden folders skipped, links not followed); files
    named on the command line are always tried, found files only when they are photos or
    PDFs, so a folder of mixed documents does not fill the table with "not a photo".
    """
    found: list[tuple[Path, Path]] = []
    errors: list[str] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                found.append((path, path.parent))
        elif path.is_dir():
            for file in _walk(path):
                key = file.resolve()
                if key not in seen and not _is_ours(file) and sniff(file) != "other":
                    seen.add(key)
                    found.append((file, path))
        else:
            errors.append(str(path))
    return found, errors


def _walk(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def compress_one(path: Path, preset: Preset, engine: str = "auto") -> tuple[str, Outcome]:
    """The kind of `path` and what compressing it gave (runs in a worker process); a copy
    saving less than MIN_SAVING is "already light" and not kept."""
    kind, outcome = _compress_one(path, preset, engine)
    if outcome.status == "smaller" and outcome.size_after > outcome.size_before * (1 - MIN_SAVING):
        outcome = Outcome(
            "kept",
            outcome.size_before,
            reason=Problem("compress.reason.already_light", percent=f"{MIN_SAVING * 100:g}"),
            engine=outcome.engine,
        )
    return kind, outcome


def _compress_one(path: Path, preset: Preset, engine: str) -> tuple[str, Outcome]:
    kind = sniff(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return kind, Outcome(
            "skipped",
            0,
            reason=Problem("compress.reason.unreadable", error=exc.strerror or str(exc)),
        )
    if kind == "pdf":
        from auditor.compress.pdf import compress_pdf

        return kind, compress_pdf(path, preset, engine)
    if kind == "photo":
        from auditor.compress.images import compress_image

        return kind, compress_image(path, preset)
    return kind, Outcome("skipped", size, reason=Problem("compress.reason.unsupported"))


def target_path(
    source: Path, root: Path, suffix: str, out_dir: Path | None, in_place: bool
) -> Path:
    """Where the light copy of `source` goes.

    Next to it as NAME.light.EXT by default; under `out_dir` with the same relative path
    and name; in place, the original's name (with EXT changed when the format changed).
    """
    suffix = suffix or source.suffix
    if in_place:
        return source.with_suffix(suffix)
    if out_dir is not None:
        try:
            relative = source.relative_to(root)
        except ValueError:
            relative = Path(source.name)
        return (out_dir / relative).with_suffix(suffix)
    return source.with_name(source.stem + LIGHT + suffix)


def backup_path(source: Path) -> Path:
    return source.with_name(source.stem + BACKUP + source.suffix)


def _output_suffixes(source: Path) -> list[str]:
    """Every extension a light copy of `source` may have: its own, or another format's when
    compressing converted it (PNG -> JPEG, --format webp)."""
    from auditor.compress.images import IMAGE_KINDS

    kind = sniff(source)
    others = [".pdf"] if kind == "pdf" else [names[0] for names in IMAGE_KINDS.values()]
    return list(dict.fromkeys([source.suffix, *others]))


def _no_larger(path: Path, than: int) -> bool:
    try:
        return path.is_file() and path.stat().st_size <= than
    except OSError:
        return False


def already_done(
    source: Path, root: Path, out_dir: Path | None, in_place: bool
) -> tuple[str, Path] | None:
    """(reason key, the file that shows it) when an earlier run already compressed `source`.

    A re-run must be a no-op: a light copy compressed again loses a little more quality each
    time. Done means: `source` is itself a light copy or a backup of an earlier run; in place,
    a backup NAME.orig.EXT stands beside it (and is not smaller: it holds the original); as a
    copy, the light copy exists and is not larger than `source` (a larger file of that name
    is someone's own, and the write then says it exists)."""
    if _is_ours(source):
        return "compress.reason.ours", source
    try:
        size = source.stat().st_size
    except OSError:
        return None
    for suffix in _output_suffixes(source):
        if in_place:
            backup = source.with_name(source.stem + BACKUP + suffix)
            if backup.is_file() and backup.stat().st_size >= size:
                return "compress.reason.already_done_in_place", backup
        else:
            target = target_path(source, root, suffix, out_dir, in_place=False)
            if _no_larger(target, size):
                return "compress.reason.already_done", target
    return None


def _write_temp(folder: Path, data: bytes, like: Path) -> Path:
    """`data` in a new temporary file of `folder`, fsynced, with `like`'s permissions."""
    fd, name = tempfile.mkstemp(prefix=".auditor-", suffix=".tmp", dir=folder)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        shutil.copymode(like, temp)
        if temp.read_bytes() != data:  # checked before it takes any name
            raise _Mismatch(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def write_result(result: FileResult, in_place: bool = False, keep_backup: bool = True) -> None:
    """Write one light copy (or replace the original, when in place) without losing a byte."""
    outcome, source, target = result.outcome, result.source, result.target
    if outcome.data is None or target is None:
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not in_place:
            if target.exists():
                raise FileExistsError
            temp = _write_temp(target.parent, outcome.data, source)
            # never over an existing file; where hard links are refused (FAT, exFAT, SMB) an
            # exclusive copy, removed again if it fails (a full USB stick)
            publish_new(temp, target)
        else:
            _replace_in_place(source, target, outcome.data, keep_backup)
        fsync_directory(target.parent)
        result.written = True
    except FileExistsError as exc:  # the file that exists: the copy, or in place the backup
        result.error = Problem("compress.write.exists", path=str(exc.filename or target))
    except _Mismatch:
        result.error = Problem("compress.write.mismatch", path=str(target))
    except OSError as exc:
        error = str(exc.strerror or exc)
        result.error = Problem("compress.write.failed", path=str(target), error=error)


def _replace_in_place(source: Path, target: Path, data: bytes, keep_backup: bool) -> None:
    if target != source and target.exists():
        raise FileExistsError
    temp = _write_temp(source.parent, data, source)
    try:
        if keep_backup:
            _link_new_copy(source, backup_path(source))
        shutil.copystat(source, temp)  # the photo keeps its dates for the user's sorting
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if target != source:  # the format changed (e.g. PNG -> WebP): the old name goes
        source.unlink()


def _link_new_copy(source: Path, backup: Path) -> None:
    """`backup` as a second name of `source` (or an exclusive copy), never over a file."""
    if backup.exists():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(backup))
    try:
        os.link(source, backup)
    except FileExistsError:
        raise
    except OSError:  # no hard links (FAT, exFAT, SMB): an exclusive copy, never left partial
        created = False
        try:
            with source.open("rb") as src, backup.open("xb") as dst:
                created = True
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
            shutil.copystat(source, backup)
        except BaseException:
            if created:  # a truncated backup would later pass for the original
                with contextlib.suppress(OSError):
                    backup.unlink()
            raise


def compress_paths(
    files: list[tuple[Path, Path]],
    preset: Preset,
    *,
    engine: str = "auto",
    out_dir: Path | None = None,
    in_place: bool = False,
    keep_backup: bool = True,
    dry_run: bool = False,
    jobs: int | None = None,
    on_done: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Compress `files` (from find_files) in parallel; results in the files' order."""
    workers = max(1, min(jobs or os.cpu_count() or 1, len(files)))
    results: list[FileResult] = []

    def finish(source: Path, root: Path, kind: str, outcome: Outcome) -> None:
        result = FileResult(source, kind, outcome)
        if outcome.status == "smaller":
            result.target = target_path(source, root, outcome.suffix, out_dir, in_place)
            if dry_run:
                if not in_place and result.target.exists():
                    result.error = Problem("compress.write.would_exist", path=str(result.target))
            else:
                write_result(result, in_place, keep_backup)
            if not result.error:
                result.size_after = outcome.size_after
        outcome.data = None  # written: free the memory
        result.size_after = result.size_after or outcome.size_before
        results.append(result)
        if on_done:
            on_done(result)

    # an earlier run's work is recognised before any compressing: a re-run is a no-op
    finished: dict[int, tuple[str, Outcome]] = {}
    for index, (source, root) in enumerate(files):
        earlier = already_done(source, root, out_dir, in_place)
        if earlier is not None:
            reason, marker = earlier
            outcome = Outcome("kept", _size(source), reason=Problem(reason, path=str(marker)))
            finished[index] = (sniff(source), outcome)
    if workers == 1:
        for index, (source, root) in enumerate(files):
            outcome = finished.get(index) or compress_one(source, preset, engine)
            finish(source, root, *outcome)
        return results
    done: dict[int, tuple[str, Outcome]] = {}
    next_index = 0

    def settle(index: int, kind: str, outcome: Outcome) -> None:
        """Record one file's outcome; finish every file up to the first one still running,
        so results keep the files' order and progress moves as files complete."""
        nonlocal next_index
        done[index] = (kind, outcome)
        while next_index in done:
            source, root = files[next_index]
            finish(source, root, *done.pop(next_index))
            next_index += 1

    for index, outcome in finished.items():
        settle(index, *outcome)
    todo = [i for i in range(len(files)) if i not in finished]
    while todo:  # each pass is one pool; a pool broken by a dying worker is replaced
        todo = _pool_pass(files, todo, preset, engine, workers, settle)
    return results


# --- worker pool that survives a dying worker ----------------------------------------------
#
# When a worker process dies (the kernel's OOM killer, a crash in a C library),
# ProcessPoolExecutor fails every file not yet finished with BrokenProcessPool. Each worker
# says which file it starts on a queue, so the parent knows which files were in progress when
# it died: each of those is tried again alone, in a pool of its own, and only one that kills
# that pool too is reported; files not started yet go to a fresh pool.

_started: Any = None  # in a worker: the queue where it says which file it starts


def _remember_queue(queue: Any) -> None:
    global _started
    _started = queue


def _compress_tracked(index: int, path: Path, preset: Preset, engine: str) -> tuple[str, Outcome]:
    _started.put(index)
    return compress_one(path, preset, engine)


def _failed(source: Path, reason: str, **args: str) -> tuple[str, Outcome]:
    return "other", Outcome("skipped", _size(source), reason=Problem(reason, **args))


def _pool_pass(
    files: list[tuple[Path, Path]],
    todo: list[int],
    preset: Preset,
    engine: str,
    workers: int,
    settle: Callable[[int, str, Outcome], None],
) -> list[int]:
    """Compress the files `todo` (indexes into `files`) in one pool; return those never
    started because a worker died, after settling the ones it may have been working on."""
    context = multiprocessing.get_context()
    started = context.SimpleQueue()
    lost: list[int] = []
    with ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(todo))),
        mp_context=context,
        initializer=_remember_queue,
        initargs=(started,),
    ) as pool:
        futures: list[tuple[int, Future]] = [
            (i, pool.submit(_compress_tracked, i, files[i][0], preset, engine)) for i in todo
        ]
        for index, future in futures:
            try:
                settle(index, *future.result())
            except BrokenProcessPool:
                lost.append(index)
            except Exception as exc:  # a crash in one file must not lose the others
                source = files[index][0]
                settle(index, *_failed(source, "compress.reason.crashed", error=type(exc).__name__))
    if not lost:
        return []
    begun = set()
    while not started.empty():
        begun.add(started.get())
    running = [i for i in lost if i in begun]
    if not running:  # the pool died before any of them began: another pool would too
        for index in lost:
            settle(index, *_failed(files[index][0], "compress.reason.worker_died"))
        return []
    if len(running) == 1:  # it was alone in its pool, or the only one in progress: the culprit
        settle(running[0], *_failed(files[running[0]][0], "compress.reason.worker_died"))
    else:
        for index in running:  # alone in a pool of its own, each
            for left in _pool_pass(files, [index], preset, engine, 1, settle):
                settle(left, *_failed(files[left][0], "compress.reason.worker_died"))
    return [i for i in lost if i not in begun]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

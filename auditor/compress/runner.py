"""Find the files to compress, compress them in parallel, write the results without loss.

Compressing is pure (images.py and pdf.py return bytes); everything that touches the user's
files is here, in the parent process, one file at a time:
- a light copy is written to a temporary file in the target folder, fsynced, then linked to
  its final name, which fails rather than replace an existing file;
- `--in-place` first keeps the original as a backup (a hard link, or a copy where links are
  not possible; never over an existing file), then renames the checked temporary file over
  the original, so at every instant the original bytes exist under one name or another.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from auditor.compress.outcome import Outcome
from auditor.compress.presets import Preset

LIGHT = ".light"  # photo.jpg -> photo.light.jpg
BACKUP = ".orig"  # --in-place keeps photo.jpg as photo.orig.jpg
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
    error: str = ""  # i18n key (compress.write.*) of a write that failed; the original untouched
    error_args: dict[str, str] = field(default_factory=dict)
    size_after: int = 0  # the light copy's size; the original's when nothing was kept

    @property
    def saved(self) -> int:
        return self.outcome.size_before - self.size_after


def sniff(path: Path) -> str:
    """ "photo", "pdf" or "other", from the file's first bytes, not its extension."""
    from auditor.compress.images import sniff_image

    try:
        with path.open("rb") as fh:
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
    """The kind of `path` and what compressing it gave (runs in a worker process)."""
    kind = sniff(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return kind, Outcome(
            "skipped",
            0,
            reason="compress.reason.unreadable",
            reason_args={"error": exc.strerror or str(exc)},
        )
    if kind == "pdf":
        from auditor.compress.pdf import compress_pdf

        return kind, compress_pdf(path, preset, engine)
    if kind == "photo":
        from auditor.compress.images import compress_image

        return kind, compress_image(path, preset)
    return kind, Outcome("skipped", size, reason="compress.reason.unsupported")


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


def _fsync_dir(folder: Path) -> None:
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _link_new(temp: Path, target: Path) -> None:
    """Give `temp` the name `target`, failing (FileExistsError) rather than replacing."""
    try:
        os.link(temp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network or FAT drives): exclusive copy
        with temp.open("rb") as src, target.open("xb") as dst:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
    finally:
        temp.unlink(missing_ok=True)


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
            _link_new(temp, target)
        else:
            _replace_in_place(source, target, outcome.data, keep_backup)
        _fsync_dir(target.parent)
        result.written = True
    except FileExistsError:
        result.error, result.error_args = "compress.write.exists", {"path": str(target)}
    except _Mismatch:
        result.error, result.error_args = "compress.write.mismatch", {"path": str(target)}
    except OSError as exc:
        result.error = "compress.write.failed"
        result.error_args = {"path": str(target), "error": str(exc.strerror or exc)}


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
        raise FileExistsError
    try:
        os.link(source, backup)
    except FileExistsError:
        raise
    except OSError:
        with source.open("rb") as src, backup.open("xb") as dst:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(source, backup)


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
                    result.error = "compress.write.would_exist"
                    result.error_args = {"path": str(result.target)}
            else:
                write_result(result, in_place, keep_backup)
            if not result.error:
                result.size_after = outcome.size_after
        outcome.data = None  # written: free the memory
        result.size_after = result.size_after or outcome.size_before
        results.append(result)
        if on_done:
            on_done(result)

    if workers == 1:
        for source, root in files:
            finish(source, root, *compress_one(source, preset, engine))
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(compress_one, source, preset, engine) for source, _ in files]
        for (source, root), future in zip(files, futures, strict=True):
            try:
                kind, outcome = future.result()
            except Exception as exc:  # a crash in one file must not lose the others
                kind, outcome = (
                    "other",
                    Outcome(
                        "skipped",
                        _size(source),
                        reason="compress.reason.crashed",
                        reason_args={"error": type(exc).__name__},
                    ),
                )
            finish(source, root, kind, outcome)
    return results


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

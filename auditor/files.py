"""Reading and writing the user's files safely: one place for what every command needs.

Reading: only regular files are read (a FIFO would hang the run, `/dev/zero` would never
end), and never more than a size that a file of that kind has any business reaching.
Writing: a temporary file created exclusively in the target's own folder (`mkstemp`: no
predictable name that another user's symlink could redirect), fsynced, given its final
mode, then renamed over the target, so a reader sees the old file or the whole new one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

PRIVATE = 0o600  # files holding mail data: readable by their owner only


class NotRegularFile(OSError):
    """The path exists but is a FIFO, a device, a socket or a folder."""


class TooLarge(OSError):
    """The file is larger than its kind allows."""

    def __init__(self, path: Path, limit: int):
        super().__init__(f"{path}: larger than {limit} bytes")
        self.path, self.limit = path, limit


def open_regular(path: Path, mode: str = "rb"):
    """Open `path` for reading only if it is a regular file (never blocks on a FIFO).

    O_NONBLOCK makes opening a FIFO return at once; the fstat then refuses it. The flag is
    cleared again so reads of a real file behave normally.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{path}: not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, mode)


def is_regular(path: Path) -> bool:
    """True for a regular file (following symlinks), False for anything else or nothing."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def read_regular_bytes(path: Path, limit: int) -> bytes:
    """The whole content of a regular file of at most `limit` bytes.

    Raises NotRegularFile, TooLarge, or the OSError of opening or reading it.
    """
    with open_regular(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(Path(path), limit)
    return data


def fsync_directory(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX); some shares refuse, which is harmless."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(
    path: Path, data: bytes, *, mode: int = PRIVATE, overwrite: bool = True
) -> None:
    """Write `data` to `path` atomically, with permissions `mode`.

    The parent folder must exist (a missing one is an error, never created: a missing USB
    stick must not become a folder on the local disk). With `overwrite=False`, an existing
    `path` raises FileExistsError and is left as it was; where hard links are refused (FAT,
    exFAT, SMB) the final step is an exclusive create, and a failed copy is removed.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):  # FAT has no modes
            os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            publish_new(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    fsync_directory(path.parent)


def atomic_write_text(
    path: Path, text: str, *, mode: int = PRIVATE, overwrite: bool = True
) -> None:
    """`atomic_write_bytes` of UTF-8 text with LF line ends."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode, overwrite=overwrite)


def publish_new(tmp: Path, path: Path) -> None:
    """Give the finished file `tmp` the name `path` only if nothing has it yet.

    A hard link fails atomically when the name is taken. Where hard links are refused, the
    content is copied into a file created exclusively (O_EXCL); if that copy fails (a full
    disk), the partial copy is removed so no truncated file ever carries the name. `tmp` is
    removed in every case.
    """
    try:
        try:
            os.link(tmp, path)
            return
        except FileExistsError:
            raise
        except OSError:
            pass  # no hard links on this filesystem
        created = False
        try:
            with tmp.open("rb") as src, open(path, "xb") as dst:
                created = True
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
        except BaseException:
            if created:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def require_folder(folder: Path, *, at: str) -> None:
    """Refuse to write into a folder that does not exist, instead of creating it.

    `--output /media/usb/x.json` with no USB stick plugged in must not create /media/usb on
    the local disk and leave the file there, where nobody looks for it. One line about `at`
    (the output, or the option naming it), exit 2. A path where a file stands in the way of
    a folder is left to the write itself, which says so."""
    from auditor.errors import ConfigError

    folder = Path(folder)
    if folder.is_dir():
        return
    if any(p.exists() and not p.is_dir() for p in (folder, *folder.parents)):
        return
    raise ConfigError("cli.output.no_folder", at=(at,), folder=folder)

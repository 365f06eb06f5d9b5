"""`compress` under real faults: a full USB stick, a worker killed like the OOM killer does,
a FIFO among the photos. Originals are never touched and no half-written file keeps a name.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest
from PIL import Image

from auditor.compress import runner
from auditor.compress.outcome import Outcome
from auditor.compress.presets import make_preset
from auditor.compress.runner import compress_paths, find_files
from auditor.errors import ConfigError
from tests.e2e.test_compress_cli import photo
from tests.helpers import assert_catalog_line, raised_error

WORKER_DIED = "compress.reason.worker_died"

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting needs root"
)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_hard_links(monkeypatch):
    """What FAT, exFAT and SMB answer to link(2)."""

    def refuse(*_args, **_kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)


@pytest.fixture(params=["vfat", "tmpfs"])
def small_disk(request, tmp_path, monkeypatch):
    """A small filesystem mounted for the test, without hard links: a USB stick that fills up.

    vfat is the real thing (needs mkfs.vfat from dosfstools and the kernel's vfat); a tmpfs
    refuses link(2) the way FAT does only because the test makes os.link answer EPERM.
    """
    mount = tmp_path / "stick"
    mount.mkdir()
    if request.param == "vfat":
        image = tmp_path / "stick.img"
        if shutil.which("mkfs.vfat") is None:
            pytest.skip("mkfs.vfat (dosfstools) is not installed")
        made = subprocess.run(["mkfs.vfat", "-C", str(image), "1536"], capture_output=True)
        command = ["mount", "-o", "loop", str(image), str(mount)]
    else:
        made = subprocess.CompletedProcess([], 0)
        command = ["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mount)]
    if made.returncode or subprocess.run(command, capture_output=True).returncode:
        pytest.skip(f"cannot mount a {request.param} filesystem here")
    if request.param == "tmpfs":
        no_hard_links(monkeypatch)
    try:
        yield mount
    finally:
        monkeypatch.undo()
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Fill the filesystem of `folder` until only about `leave` bytes are free."""
    ballast = folder / ".ballast"
    free = shutil.disk_usage(folder).free
    with ballast.open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return ballast


def original_photo(folder: Path) -> Path:
    """A photo of ~400 kB whose light copy is ~100-200 kB."""
    path = photo(folder / "party.jpg", size=(1200, 900))
    assert 200_000 < path.stat().st_size < 700_000
    return path


@needs_root
def test_a_full_stick_without_hard_links_keeps_no_truncated_light_copy(small_disk):
    source = original_photo(small_disk)
    before = digest(source)
    preset = make_preset("email")
    light = small_disk / "party.light.jpg"
    # room for the temporary file, not for the copy that replaces the missing hard link
    files, _ = find_files([source])
    (result,) = compress_paths(files, preset, dry_run=True, jobs=1)
    ballast = fill(small_disk, leave=result.size_after * 3 // 2)
    (result,) = compress_paths(files, preset, jobs=1)
    assert result.error.key == "compress.write.failed" and not result.written
    assert not light.exists()  # no truncated copy carries the name
    assert digest(source) == before
    assert sorted(p.name for p in small_disk.iterdir()) == [".ballast", "party.jpg"]
    # space freed: the next run writes the right file under the right name
    ballast.unlink()
    (result,) = compress_paths(files, preset, jobs=1)
    assert result.written and result.error is None
    with Image.open(light) as image:
        image.load()  # a whole JPEG
    assert light.stat().st_size == result.size_after
    assert digest(source) == before


@needs_root
def test_a_full_stick_without_hard_links_keeps_no_truncated_backup_in_place(small_disk):
    source = original_photo(small_disk)
    before = digest(source)
    preset = make_preset("email")
    files, _ = find_files([source])
    (result,) = compress_paths(files, preset, dry_run=True, jobs=1)
    # room for the light temporary file, not for a whole copy of the original as backup
    ballast = fill(small_disk, leave=result.size_after + source.stat().st_size // 2)
    (result,) = compress_paths(files, preset, in_place=True, jobs=1)
    assert result.error.key == "compress.write.failed"
    assert not (small_disk / "party.orig.jpg").exists()  # no truncated "backup"
    assert digest(source) == before
    assert sorted(p.name for p in small_disk.iterdir()) == [".ballast", "party.jpg"]
    ballast.unlink()
    (result,) = compress_paths(files, preset, in_place=True, jobs=1)
    assert result.written
    assert digest(small_disk / "party.orig.jpg") == before  # the backup is the whole original


def kill_workers_that_grow(stop: threading.Event, killed: list[int]) -> None:
    """Like the kernel's OOM killer: SIGKILL any worker whose own memory passes 100 MB.
    Only this process's own forks are watched (not the Dovecot the suite may have started)."""
    me = psutil.Process()
    while not stop.is_set():
        for child in me.children():
            try:
                if child.exe() == me.exe() and child.memory_full_info().uss > 100 * 1024 * 1024:
                    child.kill()
                    killed.append(child.pid)
            except psutil.Error:
                continue
        time.sleep(0.005)


def test_a_worker_killed_mid_file_fails_that_file_only(tmp_path):
    # one picture needs far more memory than the others; while one worker decodes it, the
    # other goes through the small ones, and some still wait when the big one's worker dies
    big = tmp_path / "big.jpg"
    Image.effect_noise((7000, 5000), 60).convert("RGB").save(big, quality=90)
    small = [photo(tmp_path / f"small{i:02}.jpg", size=(900, 600), seed=i) for i in range(12)]
    before = {p: digest(p) for p in [big, *small]}
    files, _ = find_files([big, *small])
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=kill_workers_that_grow, args=(stop, killed))
    watcher.start()
    try:
        results = compress_paths(files, make_preset("email"), jobs=2)
    finally:
        stop.set()
        watcher.join()
    assert killed, "no worker grew enough to be killed: the test proved nothing"
    died = [r for r in results if getattr(r.outcome.reason, "key", "") == WORKER_DIED]
    assert [r.source for r in died] == [big]
    assert not died[0].written
    others = [r for r in results if r is not died[0]]
    assert all(r.outcome.status == "smaller" and r.written for r in others), [
        (r.source.name, r.outcome.status, r.outcome.reason) for r in others
    ]
    assert [r.source for r in results] == [source for source, _ in files]  # order kept
    assert all(digest(p) == sha for p, sha in before.items())


def test_a_fifo_among_the_photos_is_skipped_without_hanging(tmp_path):
    photo(tmp_path / "album" / "a.jpg", size=(800, 600))
    os.mkfifo(tmp_path / "album" / "pipe.jpg")
    done: list = []
    worker = threading.Thread(target=lambda: done.append(find_files([tmp_path / "album"])))
    worker.daemon = True  # a regression must fail the test, not hang the suite
    worker.start()
    worker.join(timeout=10)
    assert done, "find_files hung on a FIFO"
    files, missing = done[0]
    assert [f.name for f, _ in files] == ["a.jpg"] and missing == []


# --------------------------------------------------------------------------------------------
# Presets and copies: their errors are lines of the catalogue, in both languages
# --------------------------------------------------------------------------------------------


PRESET_CASES = [
    (lambda: make_preset("mail"), "--for mail: expected one of email, screen, print"),
    (lambda: make_preset("email", quality=0), "--quality 0: expected 1 to 100"),
    (lambda: make_preset("email", max_px=8), "--max-px 8: expected at least 16"),
    (lambda: make_preset("email", dpi=20), "--dpi 20: expected at least 36"),
    (lambda: make_preset("email", image_format="avif"), "--format avif: expected webp"),
]


@pytest.mark.parametrize("case", range(len(PRESET_CASES)))
def test_preset_errors_are_catalog_lines(case) -> None:
    call, english = PRESET_CASES[case]
    error = raised_error(call, ConfigError)
    assert str(error) == english
    assert_catalog_line(error.problem, "compress.error.")


def test_unknown_preset_field_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown preset field"):
        make_preset("email", colour=True)


def test_a_copy_that_reads_back_wrong_is_a_catalog_line(tmp_path, monkeypatch) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"original")
    result = runner.FileResult(
        source, "photo", Outcome("smaller", 8, data=b"light", suffix=".jpg"), tmp_path / "out.jpg"
    )
    monkeypatch.setattr(runner.Path, "read_bytes", lambda self: b"garbled")
    runner.write_result(result)
    assert not result.written and result.error.key == "compress.write.mismatch"
    assert not (tmp_path / "out.jpg").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["photo.jpg"]  # no temporary file left
    english = result.error.localized("en")
    french = result.error.localized("fr")
    assert english.startswith(f"{tmp_path / 'out.jpg'}: the written copy differs")
    assert french != english and "{" not in french

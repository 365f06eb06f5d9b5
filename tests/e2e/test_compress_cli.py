"""`auditor compress` as a member runs it: light copies, nothing overwritten, nothing lost."""

from __future__ import annotations

import hashlib
import io
import os
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from auditor.cli import main
from auditor.compress.quality import ssim


def photo(path: Path, size: tuple[int, int] = (3000, 2000), seed: int = 1) -> Path:
    """A photo-like JPEG: gradients, shapes and sensor-like noise, saved at quality 95."""
    rng = random.Random(seed)
    width, height = size
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(base)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, 300)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    noise = Image.effect_noise(size, 12).convert("RGB")
    picture = Image.blend(base, noise, 0.15)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, "JPEG", quality=95)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def run(*args: str):
    runner = CliRunner(env={"COLUMNS": "200"})
    return runner.invoke(main, ["compress", "--lang", "en", *args], catch_exceptions=False)


def test_a_folder_gets_light_copies_next_to_untouched_originals(tmp_path):
    photo(tmp_path / "album" / "a.jpg")
    photo(tmp_path / "album" / "sub" / "b.jpg", seed=2)
    (tmp_path / "album" / "notes.txt").write_text("not a photo")
    before = tree(tmp_path / "album")
    result = run(str(tmp_path / "album"))
    assert result.exit_code == 0, result.output
    after = tree(tmp_path / "album")
    for name, sha in before.items():
        assert after[name] == sha  # every original byte-identical
    for light in ("a.light.jpg", "sub/b.light.jpg"):
        out = tmp_path / "album" / light
        original = out.with_name(out.name.replace(".light", ""))
        assert out.stat().st_size < original.stat().st_size
        with Image.open(out) as small, Image.open(original) as big:
            assert max(small.size) == 1920
            assert ssim(big, small) >= 0.95
    assert "notes.txt" not in result.output  # found files are photos and PDFs only
    assert "2 files, 2 made lighter" in result.output


def test_a_second_run_overwrites_nothing_and_says_so(tmp_path):
    photo(tmp_path / "a.jpg")
    assert run(str(tmp_path / "a.jpg")).exit_code == 0
    light = tmp_path / "a.light.jpg"
    light.write_bytes(b"the user's own edit")
    again = run(str(tmp_path / "a.jpg"))
    assert light.read_bytes() == b"the user's own edit"
    # not larger than the original: taken for the light copy of a first run (test_compress_twice)
    assert "already done" in again.output
    assert again.exit_code == 0


def test_out_dir_keeps_the_tree_and_names(tmp_path):
    photo(tmp_path / "in" / "x" / "p.jpg")
    (tmp_path / "light").mkdir()  # --out must exist; the tree below it is made
    result = run(str(tmp_path / "in"), "--out", str(tmp_path / "light"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "light" / "x" / "p.jpg").is_file()
    assert not (tmp_path / "in" / "x" / "p.light.jpg").exists()


def test_dry_run_writes_nothing_but_reports_the_saving(tmp_path):
    photo(tmp_path / "a.jpg")
    before = tree(tmp_path)
    result = run(str(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert tree(tmp_path) == before
    assert "would write: a.light.jpg" in result.output and "Dry run" in result.output


def test_in_place_keeps_a_backup_byte_for_byte(tmp_path):
    original = photo(tmp_path / "a.jpg")
    sha, mtime = digest(original), original.stat().st_mtime
    result = run(str(original), "--in-place")
    assert result.exit_code == 0, result.output
    backup = tmp_path / "a.orig.jpg"
    assert digest(backup) == sha
    assert original.stat().st_size < backup.stat().st_size
    assert original.stat().st_mtime == pytest.approx(mtime)  # dates kept for sorting
    assert not list(tmp_path.glob(".auditor-*"))  # no temporary file left
    # a second in-place run never replaces the backup
    again = run(str(original), "--in-place")
    assert digest(backup) == sha
    assert again.exit_code in (0, 3)


def test_in_place_without_backup_replaces_only_after_the_copy_is_checked(tmp_path):
    original = photo(tmp_path / "a.jpg")
    size = original.stat().st_size
    assert run(str(original), "--in-place", "--no-backup").exit_code == 0
    assert original.stat().st_size < size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]
    with Image.open(original) as im:
        im.load()  # a whole, readable JPEG


def _freeze(folder: Path) -> list[str] | None:
    """Make `folder` unwritable even for root (chattr +i), or for a user (chmod); the undo."""
    import shutil
    import subprocess

    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        return ["chmod", "755", str(folder)]
    if (
        shutil.which("chattr")
        and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    ):
        return ["chattr", "-i", str(folder)]
    return None


def test_a_failed_write_loses_nothing(tmp_path):
    import subprocess

    original = photo(tmp_path / "ro" / "a.jpg")
    sha = digest(original)
    undo = _freeze(tmp_path / "ro")
    if undo is None:
        pytest.skip("no way to make a folder unwritable here")
    try:
        result = run(str(original))
        in_place = run(str(original), "--in-place")
    finally:
        subprocess.run(undo, check=True)
    assert result.exit_code == 3 and in_place.exit_code == 3
    assert "cannot write" in result.output and "the original is unchanged" in in_place.output
    assert digest(original) == sha
    assert sorted(p.name for p in (tmp_path / "ro").iterdir()) == ["a.jpg"]


def test_bad_inputs_are_one_line_each_and_the_others_are_done(tmp_path):
    good = photo(tmp_path / "good.jpg")
    (tmp_path / "fake.jpg").write_text("this is a text file named like a photo")
    result = run(str(good), str(tmp_path / "fake.jpg"), str(tmp_path / "missing.pdf"))
    assert result.exit_code == 3
    assert "missing.pdf: no such file or folder" in result.output
    assert (tmp_path / "good.light.jpg").is_file()
    assert not (tmp_path / "fake.light.jpg").exists()
    lines = [line for line in result.output.splitlines() if line.startswith("auditor:")]
    assert len(lines) == 2


def test_a_tiny_already_light_photo_is_kept_and_never_grows(tmp_path):
    small = tmp_path / "icon.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, "JPEG", quality=30, optimize=True)
    small.write_bytes(buf.getvalue())
    result = run(str(small))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "icon.light.jpg").exists()
    assert "0 made lighter" in result.output


def test_options_that_contradict_are_usage_errors(tmp_path):
    photo(tmp_path / "a.jpg")
    assert run(str(tmp_path), "--in-place", "--out", str(tmp_path / "o")).exit_code == 2
    assert run(str(tmp_path), "--no-backup").exit_code == 2
    assert run(str(tmp_path / "nowhere")).exit_code == 2


def test_french_table_and_parallel_jobs(tmp_path):
    for i in range(3):
        photo(tmp_path / f"p{i}.jpg", size=(2400, 1600), seed=i)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        main, ["compress", str(tmp_path), "--jobs", "2", "--lang", "fr"]
    )
    assert result.exit_code == 0, result.output
    assert "3 fichiers, 3 allégés" in result.output and "kg CO2e par an" in result.output
    assert len(list(tmp_path.glob("*.light.jpg"))) == 3


def test_error_lines_are_in_french_too(tmp_path):
    photo(tmp_path / "a.jpg")
    assert run(str(tmp_path / "a.jpg")).exit_code == 0
    # larger than the original, so not a light copy of it: someone's own file, left alone
    (tmp_path / "a.light.jpg").write_bytes(b"k" * ((tmp_path / "a.jpg").stat().st_size + 1))
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        main, ["compress", "--lang", "fr", str(tmp_path / "a.jpg"), str(tmp_path / "absent.jpg")]
    )
    assert result.exit_code == 3
    assert "absent.jpg : aucun fichier ni dossier de ce nom" in result.output
    assert "existe déjà, laissé tel quel" in result.output

"""`auditor compress` run twice, as a volunteer does when unsure the first run worked: the
second run is a no-op that says "already done" and exits 0. It never compresses a light copy
again (each pass would lose a little more quality) and never names the wrong file.
A copy that would save under 5 % is not written at all ("already light")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from auditor.compress.presets import make_preset
from auditor.compress.runner import MIN_SAVING, compress_one
from tests.e2e.test_compress_cli import photo, run, tree


def album(folder: Path) -> Path:
    photo(folder / "a.jpg", size=(2000, 1334))
    photo(folder / "sub" / "b.jpg", size=(2000, 1334), seed=2)
    return folder


def test_a_folder_compressed_twice_is_already_done_the_second_time(tmp_path):
    folder = album(tmp_path / "album")
    assert run(str(folder)).exit_code == 0
    first = tree(folder)
    again = run(str(folder))
    assert again.exit_code == 0, again.output
    assert tree(folder) == first  # nothing written, nothing compressed again
    assert again.output.count("already done") == 2
    assert "already exists" not in again.output


def test_a_file_named_twice_and_a_shell_glob_with_its_light_copy_are_already_done(tmp_path):
    photo(tmp_path / "a.jpg", size=(2000, 1334))
    assert run(str(tmp_path / "a.jpg")).exit_code == 0
    first = tree(tmp_path)
    assert run(str(tmp_path / "a.jpg")).exit_code == 0
    # `auditor compress photos/*` after a first run: the shell names the light copy too
    again = run(str(tmp_path / "a.jpg"), str(tmp_path / "a.light.jpg"))
    assert again.exit_code == 0, again.output
    assert tree(tmp_path) == first  # no a.light.light.jpg
    assert "already done" in again.output


def test_a_copy_into_out_twice_is_already_done(tmp_path):
    folder = album(tmp_path / "album")
    (tmp_path / "light").mkdir()
    assert run(str(folder), "--out", str(tmp_path / "light")).exit_code == 0
    first = tree(tmp_path)
    again = run(str(folder), "--out", str(tmp_path / "light"))
    assert again.exit_code == 0, again.output
    assert tree(tmp_path) == first


@pytest.mark.parametrize("options", [(), ("--format", "webp")])
def test_in_place_twice_keeps_the_light_file_and_its_backup(tmp_path, options):
    folder = album(tmp_path / "album")
    originals = tree(folder)
    assert run(str(folder), "--in-place", *options).exit_code == 0
    first = tree(folder)
    backups = {n: sha for n, sha in first.items() if ".orig." in n}
    assert sorted(backups.values()) == sorted(originals.values())
    again = run(str(folder), "--in-place", *options)
    assert again.exit_code == 0, again.output
    assert tree(folder) == first  # the light photo is not compressed a second time
    assert "already done" in again.output
    assert "already exists" not in again.output


def test_an_existing_file_larger_than_the_original_is_not_a_light_copy(tmp_path):
    """A user's own file under the light copy's name is left alone and said to exist."""
    photo(tmp_path / "a.jpg", size=(2000, 1334))
    mine = tmp_path / "a.light.jpg"
    mine.write_bytes(b"x" * ((tmp_path / "a.jpg").stat().st_size + 1))
    again = run(str(tmp_path / "a.jpg"))
    assert again.exit_code == 3
    assert f"{mine}: already exists" in again.output.replace("\n", "")


def light_jpeg(path: Path) -> Path:
    """A JPEG saved already small (quality 50, optimised, progressive): the compressor still
    finds a copy a little smaller, but not 5 % smaller."""
    source = photo(path.with_name("source.jpg"), size=(1200, 800))
    with Image.open(source) as image:
        image.save(path, "JPEG", quality=50, optimize=True, progressive=True)
    source.unlink()
    return path


def test_a_copy_saving_under_five_percent_is_not_written(tmp_path):
    small = light_jpeg(tmp_path / "small.jpg")
    # what the compressor itself finds, before the 5 % rule: a smaller copy, but barely
    from auditor.compress.images import compress_image

    found = compress_image(small, make_preset("email"))
    assert found.status == "smaller"
    assert found.size_after > found.size_before * (1 - MIN_SAVING)
    _kind, outcome = compress_one(small, make_preset("email"))
    assert outcome.status == "kept" and outcome.reason.key == "compress.reason.already_light"
    for lang, words in (("en", "already light"), ("fr", "déjà léger")):
        result = run(str(small), "--lang", lang)
        assert result.exit_code == 0, result.output
        assert words in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.jpg"]
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy2(small, folder / "small.jpg")
    result = run(str(folder), "--in-place")
    assert result.exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["small.jpg"]  # no backup, no change


def test_in_place_names_the_backup_that_is_in_the_way(tmp_path):
    """A file of the backup's name that cannot be the original (it is smaller) is someone's
    own: the photo is left alone and the line names that file, not the photo."""
    photo(tmp_path / "a.jpg", size=(2000, 1334))
    theirs = tmp_path / "a.orig.jpg"
    theirs.write_bytes(b"not the original")
    result = run(str(tmp_path / "a.jpg"), "--in-place")
    assert result.exit_code == 3
    assert f"{theirs}: already exists" in result.output.replace("\n", "")
    assert theirs.read_bytes() == b"not the original"

"""The HTML report's compiled template is kept between runs (render_html._BytecodeCache):
compiling it cost more than building the report. The cache must never change a report,
and a cache that cannot be used must only cost time."""

from __future__ import annotations

import os
import stat
import sys
import tempfile

import pytest

from auditor.report.render_html import render_html as html_of
from tests.unit.report_samples import full_report

render_html = sys.modules["auditor.report.render_html"]  # the package exports the function


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temp folder of our own, and templates compiled afresh in it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    render_html._environment.cache_clear()
    yield tmp_path
    render_html._environment.cache_clear()


def _cached(tmp_path) -> list:
    return [p for p in tmp_path.glob("_jinja2-cache-*/*") if p.suffix == ".cache"]


def test_a_report_rendered_from_the_kept_template_is_the_same(private_tmp):
    report = full_report()
    first = html_of(report)  # compiled, then kept
    assert _cached(private_tmp)
    render_html._environment.cache_clear()  # a new process: the kept code is loaded
    assert html_of(report) == first


def test_a_damaged_kept_template_is_compiled_again(private_tmp):
    report = full_report()
    first = html_of(report)
    for path in _cached(private_tmp):
        path.write_bytes(b"j2\x00not marshal data")
    render_html._environment.cache_clear()
    assert html_of(report) == first


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_a_cache_folder_that_cannot_be_written_only_costs_time(private_tmp):
    folder = private_tmp / f"_jinja2-cache-{os.getuid()}"
    folder.mkdir(mode=0o700)
    report = full_report()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert "<html" in html_of(report)
    finally:
        folder.chmod(stat.S_IRWXU)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder away needs root")
def test_a_cache_folder_another_user_owns_is_not_used(private_tmp):
    """Another user who made the folder first could plant code in it: Jinja refuses it."""
    folder = private_tmp / f"_jinja2-cache-{os.getuid()}"
    folder.mkdir(mode=0o700)
    os.chown(folder, 4242, 4242)
    assert "<html" in html_of(full_report())
    assert not list(folder.iterdir())

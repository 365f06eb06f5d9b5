"""The scan's estimate of what `auditor compress` would save on attachments it cannot read."""

from __future__ import annotations

import sqlite3

import pytest

from auditor.impact.compression import (
    attachment_kind,
    estimated_saving,
    measured_ratios,
    ratio_for,
)
from auditor.store.functions import register_functions


def test_the_ratios_come_from_the_benchmark_and_say_so():
    table = measured_ratios()
    assert "benchmarks/compress.py" in table["method"]
    for kind in ("jpeg", "pdf"):
        buckets = table["kind"][kind]
        assert buckets[0]["min_bytes"] == 0
        assert all(0 < b["ratio"] < 1 and b["files"] >= 1 for b in buckets)


@pytest.mark.parametrize(
    ("content_type", "filename", "kind"),
    [
        ("image/jpeg", "x.bin", "jpeg"),
        ("IMAGE/JPEG; name=x.jpg", None, "jpeg"),
        ("application/octet-stream", "Scan 2026.PDF", "pdf"),
        ("application/pdf", None, "pdf"),
        ("image/png", None, "png"),
        ("application/zip", "photos.zip", None),
        (None, "no-extension", None),
    ],
)
def test_kind_from_type_then_name(content_type, filename, kind):
    assert attachment_kind(content_type, filename) == kind


def test_the_largest_bucket_at_or_below_the_size_applies():
    buckets = sorted(measured_ratios()["kind"]["pdf"], key=lambda b: b["min_bytes"])
    assert ratio_for("pdf", 10) == buckets[0]["ratio"]
    assert ratio_for("pdf", 50_000_000) == buckets[-1]["ratio"]
    assert ratio_for("zip", 5_000_000) is None


def test_saving_is_size_times_one_minus_ratio_and_never_negative():
    size = 4_000_000
    expected = int(size * (1 - ratio_for("jpeg", size)))
    assert estimated_saving("image/jpeg", "a.jpg", size) == expected > 0
    assert estimated_saving("application/zip", "a.zip", size) == 0
    assert estimated_saving("image/jpeg", "a.jpg", None) == 0
    assert estimated_saving("image/jpeg", "a.jpg", 0) == 0


def test_rules_can_call_it_from_sql():
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    value = conn.execute("SELECT compress_saving('application/pdf', 'x.pdf', 2000000)").fetchone()
    assert value[0] == estimated_saving("application/pdf", "x.pdf", 2_000_000) > 0

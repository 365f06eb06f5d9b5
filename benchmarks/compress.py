"""Benchmark `auditor compress` on a corpus of real photos and PDFs, beside qpdf and Ghostscript.

    python benchmarks/compress.py                 # benchmarks/corpus (see its SOURCES.md)
    python benchmarks/compress.py --corpus DIR    # DIR/photos and DIR/pdfs
    python benchmarks/compress.py --write-ratios  # also refresh the scan's measured ratios

Prints, in one run: bytes before and after, total ratio (after / before), the worst SSIM kept
and seconds, for photos (--for email) and for PDFs with pypdf alone and with --engine auto;
then qpdf's lossless rewrite (--recompress-flate --object-streams=generate) and Ghostscript
/ebook, raw and restricted to the files whose pages pass the same guard (a file whose
Ghostscript copy fails the guard counts at its original size, as the user would keep it).
Files are compressed one after the other, so the seconds are per-core figures.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.compress import ghostscript  # noqa: E402
from auditor.compress.images import compress_image  # noqa: E402
from auditor.compress.outcome import Outcome  # noqa: E402
from auditor.compress.pdf import RENDER_DPI, compress_pdf  # noqa: E402
from auditor.compress.presets import make_preset  # noqa: E402
from auditor.compress.quality import ssim  # noqa: E402

SIZE_BUCKETS = (0, 1_000_000, 3_000_000, 10_000_000)  # estimate buckets, by original size


@dataclass
class Line:
    name: str
    files: int = 0
    before: int = 0
    after: int = 0
    worst_ssim: float | None = None
    seconds: float = 0.0
    kept: int = 0  # files left as they were (not smaller, guard failed, skipped)

    def add(self, size_before: int, size_after: int, ssim_kept: float | None) -> None:
        self.files += 1
        self.before += size_before
        self.after += size_after
        if size_after >= size_before:
            self.kept += 1
        if ssim_kept is not None:
            self.worst_ssim = (
                ssim_kept if self.worst_ssim is None else min(self.worst_ssim, ssim_kept)
            )

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else 1.0

    def row(self) -> str:
        worst = f"{self.worst_ssim:.3f}" if self.worst_ssim is not None else "  —  "
        return (
            f"{self.name:<34} {self.files:>5} {self.before / 1e6:>10.2f} {self.after / 1e6:>10.2f}"
            f" {self.ratio:>7.3f} {worst:>7} {self.kept:>5} {self.seconds:>8.1f}"
        )


HEADER = (
    f"{'':<34} {'files':>5} {'MB before':>10} {'MB after':>10} {'ratio':>7} {'SSIM≥':>7}"
    f" {'kept':>5} {'seconds':>8}"
)


def _timed(line: Line, run, path: Path) -> Outcome:
    started = time.perf_counter()
    outcome = run(path)
    line.seconds += time.perf_counter() - started
    kept = outcome.ssim if outcome.status == "smaller" else None
    line.add(outcome.size_before or path.stat().st_size, outcome.size_after, kept)
    return outcome


def _page_ssim(original: Path, candidate: Path, work: Path) -> float:
    """Lowest page SSIM, rendered as pdf.py's guard renders them (0.0: pages differ in number)."""
    before = list(ghostscript.iter_pages(original, RENDER_DPI))
    after = list(ghostscript.iter_pages(candidate, RENDER_DPI))
    if not before or not after or len(before) != len(after):
        return 0.0
    return min(ssim(x, y) for x, y in zip(before, after, strict=True))


def _external(name: str, command, pdfs: list[Path], threshold: float) -> tuple[Line, Line]:
    """(raw, guarded) lines for an external tool run on every PDF."""
    raw, guarded = Line(name), Line(name + ", guarded")
    for pdf in pdfs:
        size = pdf.stat().st_size
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.pdf"
            started = time.perf_counter()
            ok = subprocess.run(command(pdf, out), capture_output=True).returncode == 0
            raw.seconds += time.perf_counter() - started
            out_size = out.stat().st_size if ok and out.is_file() else size
            if not ok or out_size == 0:
                raw.add(size, size, None)
                guarded.add(size, size, None)
                continue
            raw.add(size, out_size, None)
            page_ssim = _page_ssim(pdf, out, Path(tmp))
            raw.worst_ssim = page_ssim if raw.worst_ssim is None else min(raw.worst_ssim, page_ssim)
            if page_ssim >= threshold and out_size < size:
                guarded.add(size, out_size, page_ssim)
            else:
                guarded.add(size, size, None)
    return raw, guarded


def _bucket_ratios(results: list[tuple[str, int, int]]) -> dict[str, list[dict]]:
    """{kind: [{min_bytes, ratio, files}]}: total after / total before in each size bucket."""
    table: dict[str, list[dict]] = {}
    for kind in sorted({k for k, _, _ in results}):
        rows = []
        for i, low in enumerate(SIZE_BUCKETS):
            high = SIZE_BUCKETS[i + 1] if i + 1 < len(SIZE_BUCKETS) else None
            inside = [
                (b, a)
                for k, b, a in results
                if k == kind and b >= low and (high is None or b < high)
            ]
            if inside:
                before = sum(b for b, _ in inside)
                after = sum(a for _, a in inside)
                rows.append(
                    {"min_bytes": low, "ratio": round(after / before, 3), "files": len(inside)}
                )
        table[kind] = rows
    return table


def _write_ratios(table: dict[str, list[dict]], corpus: Path) -> Path:
    path = ROOT / "auditor" / "impact" / "measured_ratios.toml"
    lines = [
        "# Output/input size ratios of `auditor compress --for email`, measured by",
        "# benchmarks/compress.py --write-ratios on the corpus described in",
        f"# {corpus.relative_to(ROOT) if corpus.is_relative_to(ROOT) else corpus}/SOURCES.md",
        "# (real photos and PDFs from other projects). A bucket applies from min_bytes up to the",
        "# next bucket. The scan uses them to estimate what compressing attachments would save.",
        "",
        'method = "measured ratios by type and size (benchmarks/compress.py on its corpus)"',
        "",
    ]
    for kind, rows in table.items():
        for row in rows:
            lines += [
                f"[[kind.{kind}]]",
                f"min_bytes = {row['min_bytes']}",
                f"ratio = {row['ratio']}",
                f"files = {row['files']}",
                "",
            ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "benchmarks" / "corpus")
    parser.add_argument("--write-ratios", action="store_true")
    args = parser.parse_args()
    photos = sorted(p for p in (args.corpus / "photos").iterdir() if p.is_file())
    pdfs = sorted(p for p in (args.corpus / "pdfs").iterdir() if p.suffix.lower() == ".pdf")
    email = make_preset("email")
    print(f"corpus: {args.corpus} ({len(photos)} photos, {len(pdfs)} PDFs)")
    print(
        f"Ghostscript: {ghostscript.gs_binary() or 'not installed'}; qpdf: "
        f"{shutil.which('qpdf') or 'not installed'}; guard: SSIM ≥ {email.ssim_min} "
        f"(pages rendered at {RENDER_DPI} dpi)"
    )
    print(HEADER)
    ratios: list[tuple[str, int, int]] = []

    photo_line = Line("photos, auditor --for email")
    for photo in photos:
        outcome = _timed(photo_line, lambda p: compress_image(p, email), photo)
        kind = "jpeg" if photo.suffix.lower() in (".jpg", ".jpeg") else photo.suffix.lower()[1:]
        ratios.append((kind, outcome.size_before, outcome.size_after))
    print(photo_line.row())

    lines = {}
    for engine in ("pypdf", "auto"):
        line = Line(f"PDFs, auditor --engine {engine}")
        for pdf in pdfs:
            outcome = _timed(line, lambda p, e=engine: compress_pdf(p, email, e), pdf)
            if engine == "auto":
                ratios.append(("pdf", outcome.size_before, outcome.size_after))
        lines[engine] = line
        print(line.row())

    if shutil.which("qpdf"):
        qpdf, _ = _external(
            "PDFs, qpdf lossless",
            lambda src, out: [
                "qpdf",
                "--recompress-flate",
                "--compression-level=9",
                "--object-streams=generate",
                str(src),
                str(out),
            ],
            pdfs,
            email.ssim_min,
        )
        print(qpdf.row())
    gs = ghostscript.gs_binary()
    if gs:
        raw, guarded = _external(
            "PDFs, Ghostscript /ebook",
            lambda src, out: [
                gs,
                "-dSAFER",
                "-dBATCH",
                "-dNOPAUSE",
                "-dQUIET",
                "-sDEVICE=pdfwrite",
                "-dPDFSETTINGS=/ebook",
                f"-sOutputFile={out}",
                str(src),
            ],
            pdfs,
            email.ssim_min,
        )
        print(raw.row())
        print(guarded.row())
        print(
            f"\nratio auditor (auto) / Ghostscript /ebook guarded: "
            f"{lines['auto'].ratio / guarded.ratio:.3f} (below 1: auditor is smaller)"
        )
        print(
            f"ratio auditor (auto) / Ghostscript /ebook raw:     "
            f"{lines['auto'].ratio / raw.ratio:.3f}"
        )
    if args.write_ratios:
        print(f"\nwrote {_write_ratios(_bucket_ratios(ratios), args.corpus)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write the sample reports in examples/ from the bundled demo mailbox.

    python scripts/make_sample_reports.py          # rewrite examples/report-demo.{html,md}
    python scripts/make_sample_reports.py --check  # exit 1 if they differ from the code's

The demo is scanned without this machine (machine facts differ everywhere) into a temporary
store, and the report's generation time is set to the demo's date, so the output depends on
the code only. tests/e2e/test_examples.py runs the check, so CI fails when they drift.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
LANGUAGE = "fr"  # the association's language; `auditor report --lang en` gives English


def sample_reports() -> dict[str, str]:
    """{file name: content} of every sample report."""
    from auditor.config import Config
    from auditor.demo import DEMO_DATE, demo_mailbox_dir
    from auditor.report import render
    from auditor.report.model import build_report
    from auditor.rules.loader import load_rules
    from auditor.scan import MailSource, ScanRequest, run_scan
    from auditor.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite3"
        conn = open_store(db)
        try:
            rules = load_rules(None, conn)
            request = ScanRequest(scan_host=False, inventory_dirs=[])
            request.mail_sources.append(MailSource("demo", "demo", demo_mailbox_dir()))
            request.now = DEMO_DATE
            result = run_scan(conn, db, request, Config(), rules)
            report = build_report(conn, result.run_id, LANGUAGE, rules.by_id())
        finally:
            conn.close()
    stamp = f"{DEMO_DATE[:10]}T09:00:00+00:00"
    report["generated_at"] = stamp
    report["run"]["started_at"] = report["run"]["finished_at"] = stamp
    return {
        "report-demo.html": render(report, "html"),
        "report-demo.md": render(report, "markdown"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("AUDITOR_CONFIG", os.devnull)
    drifted = []
    for name, text in sample_reports().items():
        path = EXAMPLES / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                drifted.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    for name in drifted:
        print(f"examples/{name} differs from the code: run python scripts/make_sample_reports.py")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

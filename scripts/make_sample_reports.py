"""Write the sample reports in examples/ and the README's sample output from the demo mailbox.

    python scripts/make_sample_reports.py          # rewrite examples/report-demo.{html,md}
                                                   # and README.md's generated regions
    python scripts/make_sample_reports.py --check  # exit 1 if any differs from the code's

The demo is scanned without this machine (machine facts differ everywhere) into a temporary
store, and the report's generation time is set to the demo's date, so the output depends on
the code only. tests/e2e/test_examples.py runs the check, so CI fails when they drift.

README.md marks each generated region with HTML comments; only what lies between them is
rewritten:

    <!-- sample:demo-text -->
    ...
    <!-- /sample -->
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
LANGUAGE = "fr"  # the association's language; `auditor report --lang en` gives English
README = ROOT / "README.md"
ASSOCIATION = "Les Amis du Quartier"  # the demo mailbox's association, named in the title
TEXT_WIDTH = 100
REGION = re.compile(r"(<!-- sample:([a-z0-9-]+) -->\n)(.*?)(<!-- /sample -->)", re.DOTALL)


def demo_report(lang: str) -> dict:
    """The report of the demo mailbox scanned as of the day it depicts, in `lang`."""
    from auditor.config import Config
    from auditor.demo import DEMO_DATE, demo_mailbox_dir
    from auditor.report.model import build_report
    from auditor.rules.loader import load_rules
    from auditor.scan import MailSource, ScanRequest, run_scan
    from auditor.store import Store, open_store

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite3"
        conn = open_store(db)
        try:
            rules = load_rules(None, conn)
            request = ScanRequest(scan_host=False, inventory_dirs=[])
            request.mail_sources.append(MailSource("demo", "demo", demo_mailbox_dir()))
            request.now = DEMO_DATE
            result = run_scan(Store(db, conn), request, Config(), rules)
            report = build_report(conn, result.run_id, lang, rules.by_id(), association=ASSOCIATION)
        finally:
            conn.close()
    stamp = f"{DEMO_DATE[:10]}T09:00:00+00:00"
    report["generated_at"] = stamp
    report["run"]["started_at"] = report["run"]["finished_at"] = stamp
    for point in report["trend"]["series"]:
        point["started_at"] = stamp
    return report


def sample_reports() -> dict[str, str]:
    """{file name: content} of every sample report."""
    from auditor.report import render

    report = demo_report(LANGUAGE)
    return {
        "report-demo.html": render(report, "html"),
        "report-demo.md": render(report, "markdown"),
    }


def abridged(report: dict) -> dict:
    """The report without the rules' long texts, examples, help and sources: what a README
    can show of it."""
    short = copy.deepcopy(report)
    for finding in short["findings"]:
        finding["why"] = finding["how"] = ""
        finding["evidence"] = []
    short["help"] = []
    short["figures"] = []
    return short


def readme_samples() -> dict[str, str]:
    """{region name: content} of README.md's generated regions."""
    from auditor.report import render_text_string

    parts = {}
    for lang in ("en", "fr"):
        text = render_text_string(abridged(demo_report(lang)), TEXT_WIDTH)
        lines = [line.rstrip() for line in text.splitlines()]
        parts[lang] = "\n".join(lines).strip("\n")
    command = "auditor scan --demo --no-host --lang {lang}"
    return {
        "demo-text": (
            f"`{command.format(lang='en')}` (the demo mailbox, without this machine's facts), "
            "without the rules' explanations and examples:\n\n"
            f"```text\n{parts['en']}\n```\n\n"
            f"The same in French (`--lang fr`, or a French locale):\n\n"
            f"```text\n{parts['fr']}\n```\n"
        )
    }


def readme_text(current: str) -> str:
    """README.md with every generated region rewritten (other text unchanged)."""
    samples = readme_samples()

    def fill(match: re.Match) -> str:
        name = match.group(2)
        if name not in samples:
            return match.group(0)
        return f"{match.group(1)}{samples[name]}{match.group(4)}"

    return REGION.sub(fill, current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("AUDITOR_CONFIG", os.devnull)
    drifted = []
    outputs = {EXAMPLES / name: text for name, text in sample_reports().items()}
    outputs[README] = readme_text(README.read_text(encoding="utf-8"))
    for path, text in outputs.items():
        name = path.relative_to(ROOT)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                drifted.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    for name in drifted:
        print(f"{name} differs from the code: run python scripts/make_sample_reports.py")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

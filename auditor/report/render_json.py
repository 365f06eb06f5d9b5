"""The report as JSON, the machine-readable form described in docs/report-json.md."""

from __future__ import annotations

import json
import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def render_json(report: dict) -> str:
    """`report` as UTF-8-ready JSON: indent 2, non-ASCII kept, keys in the order given.

    Lone surrogates (left by undecodable bytes in a header) become U+FFFD so that the text
    can always be written as UTF-8. Ends with a newline.
    """
    text = json.dumps(report, indent=2, ensure_ascii=False)
    return _LONE_SURROGATE.sub("\ufffd", text) + "\n"

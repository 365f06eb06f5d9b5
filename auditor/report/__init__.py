"""Report renderers: the same report dict as terminal text, Markdown, JSON or HTML.

`render(report, "markdown")` returns a string; `render_text(report, console)` prints on a
rich console (colours when it is a terminal). The JSON shape is described in
`report.schema.json` (next to this file) and docs/report-json.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from io import StringIO
from pathlib import Path

from rich.console import Console

from auditor.i18n.format import format_bytes, format_number
from auditor.report.render_html import render_html
from auditor.report.render_json import render_json
from auditor.report.render_markdown import render_markdown
from auditor.report.render_text import render_text

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def render_text_string(report: dict, width: int = 100) -> str:
    """The text view without colours or terminal codes, as a string."""
    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system=None,
        no_color=True,
        force_terminal=False,
        force_jupyter=False,
        force_interactive=False,
        legacy_windows=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )
    render_text(report, console)
    return buffer.getvalue()


RENDERERS: dict[str, Callable[[dict], str]] = {
    "text": render_text_string,
    "markdown": render_markdown,
    "json": render_json,
    "html": render_html,
}


def render(report: dict, fmt: str) -> str:
    """`report` in format `fmt` ("text", "markdown" or "json")."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown report format {fmt!r}, expected one of {', '.join(RENDERERS)}"
        ) from None
    return renderer(report)


@cache
def load_schema() -> dict:
    """The JSON Schema (draft 2020-12) of the report."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


__all__ = [
    "RENDERERS",
    "SCHEMA_PATH",
    "format_bytes",
    "format_number",
    "load_schema",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
    "render_text_string",
]

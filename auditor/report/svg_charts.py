"""Inline SVG charts for the HTML report: pure functions returning SVG markup.

Every text (labels, values, titles) goes through `html.escape` before it is placed in the
markup, and the result is wrapped in `Markup` only then, so a mailbox or machine name can
neither add an element nor an attribute. Colours come from CSS classes (`chart-*`) styled
by the page, so the charts follow the light, dark and print styles.

Each chart is a `<svg role="img">` with an `aria-label` and a `<title>` (its alt text) and
a `<desc>` summing up the data for screen readers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from auditor.i18n.format import clean_text

WIDTH = 640
VALUE_WIDTH = 100
ROW_HEIGHT = 42  # a label line, then its bar
BAR_HEIGHT = 16
LABEL_CHARS = 90  # a label has the chart's whole width above its bar: it is not cut short
DESC_MAX = 600


def _esc(value: object, max_len: int | None = None) -> str:
    """One line of untrusted text, safe inside an SVG element or a quoted attribute."""
    return html.escape(clean_text(value, max_len), quote=True)


def _num(x: float) -> str:
    """A coordinate: short, no exponent, never NaN."""
    if not math.isfinite(x):
        x = 0.0
    return f"{x:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart.

    `text` is the value as printed (already formatted for the language); `part` an optional
    share of `value` drawn over it in a second colour (attachments within a mailbox).
    """

    label: str
    value: float
    text: str
    part: float | None = None


def _open(title: str, description: str, height: float, css_class: str) -> list[str]:
    label = _esc(title)
    return [
        f'<svg class="chart {css_class}" role="img" aria-label="{label}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" width="{WIDTH}" height="{_num(height)}" '
        'preserveAspectRatio="xMinYMin meet" focusable="false">',
        f"<title>{label}</title>",
        f"<desc>{_esc(description, DESC_MAX)}</desc>",
    ]


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    description: str = "",
    legend: Sequence[str] = (),
) -> Markup:
    """A horizontal bar chart, one row per `Bar`, the longest bar filling the plot width.

    Each label is written above its bar, over the chart's whole width, so that a rule's
    title is read whole. `legend` names the main bar and, when given, the `part` drawn
    over it.
    """
    top = 24 if legend else 4
    height = top + max(len(bars), 1) * ROW_HEIGHT + 4
    plot = WIDTH - VALUE_WIDTH
    largest = max((b.value for b in bars if b.value and b.value > 0), default=0) or 1
    out = _open(title, description, height, "chart-bars")
    x = 0
    for index, name in enumerate(legend[:2]):
        out.append(
            f'<rect class="chart-{"a" if index == 0 else "b"}" x="{x}" y="4" '
            'width="12" height="12" rx="2"/>'
        )
        out.append(f'<text class="chart-text" x="{x + 18}" y="14">{_esc(name, 40)}</text>')
        x += 26 + 8 * min(len(clean_text(name)), 40)
    for row, bar in enumerate(bars):
        y = top + row * ROW_HEIGHT
        value = bar.value if bar.value and bar.value > 0 else 0
        width = plot * value / largest
        if value and width < 1:
            width = 1
        out.append('<g class="chart-row">')
        out.append(f"<title>{_esc(bar.label)}: {_esc(bar.text)}</title>")
        out.append(
            f'<text class="chart-text" x="0" y="{_num(y + 14)}">'
            f"{_esc(bar.label, LABEL_CHARS)}</text>"
        )
        out.append(
            f'<rect class="chart-a" x="0" y="{_num(y + 20)}" '
            f'width="{_num(width)}" height="{BAR_HEIGHT}" rx="2"/>'
        )
        if bar.part and bar.part > 0 and value:
            part = min(plot * bar.part / largest, width)
            out.append(
                f'<rect class="chart-b" x="0" y="{_num(y + 24)}" '
                f'width="{_num(max(part, 1))}" height="{BAR_HEIGHT - 8}" rx="1"/>'
            )
        out.append(
            f'<text class="chart-text chart-value" x="{_num(width + 6)}" '
            f'y="{_num(y + 32)}">{_esc(bar.text, 30)}</text>'
        )
        out.append("</g>")
    out.append("</svg>")
    return Markup("\n".join(out))


def line_chart(
    title: str,
    points: Sequence[tuple[str, float | None, str]],
    *,
    description: str = "",
    y_max: float = 100,
    y_ticks: Sequence[float] = (0, 25, 50, 75, 100),
) -> Markup:
    """A line over `points` (x label, value or None, value as printed), oldest first.

    The y axis runs from 0 to `y_max`; unknown values leave a gap in the line.
    """
    height = 240
    left, right, top, bottom = 44, 24, 16, 44
    plot_w = WIDTH - left - right
    plot_h = height - top - bottom
    n = len(points)
    out = _open(title, description, height, "chart-line")

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        v = min(max(v, 0), y_max)
        return top + plot_h - plot_h * v / (y_max or 1)

    for tick in y_ticks:
        y = py(tick)
        out.append(
            f'<line class="chart-grid" x1="{left}" x2="{WIDTH - right}" '
            f'y1="{_num(y)}" y2="{_num(y)}"/>'
        )
        out.append(
            f'<text class="chart-text" x="{left - 6}" y="{_num(y + 4)}" '
            f'text-anchor="end">{_esc(_num(tick))}</text>'
        )
    step = max(1, math.ceil(n / 6))
    for i, (label, _, _) in enumerate(points):
        if i % step and i != n - 1:
            continue
        anchor = "end" if i == n - 1 and n > 1 else "start" if i == 0 and n > 1 else "middle"
        out.append(
            f'<text class="chart-text" x="{_num(px(i))}" y="{height - bottom + 20}" '
            f'text-anchor="{anchor}">{_esc(label, 16)}</text>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, value, _) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_num(px(i))},{_num(py(value))}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) < 2:
            continue  # a lone point between gaps: its dot is enough
        out.append(f'<polyline class="chart-stroke" fill="none" points="{" ".join(seg)}"/>')
    for i, (label, value, text) in enumerate(points):
        if value is None:
            continue
        out.append(
            f'<circle class="chart-dot" cx="{_num(px(i))}" cy="{_num(py(value))}" r="4">'
            f"<title>{_esc(label)}: {_esc(text)}</title></circle>"
        )
    out.append("</svg>")
    return Markup("\n".join(out))

"""A small latency chart as standalone SVG: baseline and candidate medians side by side.

SVG needs no plotting library on the CI box and stays a few kilobytes. Labels come from traces
(untrusted), so every text node is XML-escaped and stripped of control characters.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from rootspan.text import printable, shorten

from rootspan.attribution.report.compare import REGRESSION, Report
from rootspan.attribution.report.fmt import chart_checks, quantity

WIDTH = 720
LABEL_WIDTH = 260
VALUE_WIDTH = 80
BAR_HEIGHT = 12
ROW_GAP = 10
BASE_COLOUR = "#8c959f"
CAND_COLOUR = "#0969da"
REGRESSION_COLOUR = "#cf222e"


def _text(value: str, width: int = 42) -> str:
    return escape(shorten(printable(value), width))


def render_svg(report: Report) -> str:
    """The chart, or an SVG that says there is nothing to draw."""
    rows = chart_checks(report)
    top = 34
    height = top + max(1, len(rows)) * (2 * BAR_HEIGHT + ROW_GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        '<text x="8" y="16" font-size="13" font-weight="bold">Median latency</text>',
        f'<rect x="{LABEL_WIDTH}" y="7" width="10" height="10" fill="{BASE_COLOUR}"/>'
        f'<text x="{LABEL_WIDTH + 14}" y="16">baseline</text>',
        f'<rect x="{LABEL_WIDTH + 80}" y="7" width="10" height="10" fill="{CAND_COLOUR}"/>'
        f'<text x="{LABEL_WIDTH + 94}" y="16">candidate</text>',
        f'<rect x="{LABEL_WIDTH + 170}" y="7" width="10" height="10" fill="{REGRESSION_COLOUR}"/>'
        f'<text x="{LABEL_WIDTH + 184}" y="16">candidate, regressed</text>',
    ]
    if not rows:
        parts.append(f'<text x="8" y="{top + 12}">no latency checks to draw</text>')
    largest = max((max(c.baseline["median"], c.candidate["median"]) for c in rows), default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 8
    y = top
    for check in rows:
        parts.append(f'<text x="8" y="{y + BAR_HEIGHT + 4}">{_text(check.title)}</text>')
        for offset, value, colour in (
            (0, check.baseline["median"], BASE_COLOUR),
            (BAR_HEIGHT, check.candidate["median"], REGRESSION_COLOUR if check.status == REGRESSION else CAND_COLOUR),
        ):
            width = max(1.0, span * value / largest)
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + offset}" width="{width:.1f}" height="{BAR_HEIGHT - 1}" fill="{colour}"/>'
                f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + offset + BAR_HEIGHT - 2}">'
                f"{escape(quantity(value, check.unit))}</text>"
            )
        y += 2 * BAR_HEIGHT + ROW_GAP
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

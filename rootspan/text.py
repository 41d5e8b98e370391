"""Make untrusted trace text safe to print: control characters and ANSI escapes shown literally.

Span names, messages and tool results come from the traced app (and through it from LLMs and web
pages). Printed raw, an escape sequence could rewrite the user's terminal; so every plain-text
output of rootspan passes through ``printable``. (Rich/Textual output must also avoid markup
parsing: use ``rich.text.Text`` objects, never markup strings, for such content.)
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return "\\x%02x" % ord(char)


def printable(value: object, keep_newlines: bool = False) -> str:
    """The text with control characters (ESC included) replaced by visible ``\\xNN`` escapes."""
    text = str(value)
    if not keep_newlines:
        text = text.replace("\n", "\\n").replace("\t", " ")
    return _CONTROL.sub(_escape, text)


def shorten(text: str, width: int) -> str:
    """Cut to ``width`` characters with an ellipsis, for table cells."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _three_figures(value: float) -> str:
    """3 significant figures without switching to exponent notation (999.9 -> '1000')."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_duration(ns: int) -> str:
    """Human duration with about 3 significant figures: 812µs, 12.3ms, 4.51s, 2m05s."""
    if ns < 1_000:
        return f"{ns}ns"
    for scale, unit in ((1e3, "µs"), (1e6, "ms")):
        value = ns / scale
        if round(value) < 1000:
            return f"{_three_figures(value)}{unit}"
    seconds = ns / 1e9
    if round(seconds, 1) < 60:
        return f"{_three_figures(seconds)}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s"

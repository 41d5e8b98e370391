"""Make untrusted trace text safe to print: control, invisible and bidi characters shown escaped.

Span names, messages and tool results come from the traced app (and through it from LLMs and web
pages). Printed raw, an escape sequence could rewrite the user's terminal; a bidi override
(U+202E) or isolate (U+2066-U+2069) makes a line read differently from what it holds (the
"Trojan Source" trick: ``evil\u202egnp.exe`` shows as ``evilexe.png``); zero-width characters
(U+200B-U+200F, U+FEFF) and Unicode tag characters (U+E0000 block, invisible text smuggled to
LLMs) hide content in plain sight. So every plain-text output of rootspan passes through
``printable``, which shows all of them as visible escapes. (Rich/Textual output must also avoid
markup parsing: use ``rich.text.Text`` objects, never markup strings, for such content.)

Escaped: the general categories Cc (controls, but tab and newline where asked for), Cf (format
characters: bidi, zero-width, tags, soft hyphen...), Cs (lone surrogates, which also cannot be
encoded to UTF-8 on the way out), Zl and Zp (line and paragraph separators, which break lines).
"""

from __future__ import annotations

import re
import unicodedata

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

# The code points of those categories as ranges, for the Unicode version below: scanning all
# 1.1M code points takes ~0.25 s, too slow for every CLI start. A Python with another Unicode
# version builds the class from ``unicodedata`` itself (once, on first non-ASCII text), so the
# set is always exactly the categories above; a test checks this table against the scan.
_TABLE_VERSION = "14.0.0"
_TABLE = (
    (0x0, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F),
    (0x890, 0x891), (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x2064),
    (0x2066, 0x206F), (0xD800, 0xDFFF), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)

_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ASCII_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f]")
_unicode: dict[bool, re.Pattern[str]] = {}


def escaped_ranges() -> tuple[tuple[int, int], ...]:
    """The code point ranges ``printable`` escapes, for the running Python's Unicode version."""
    if unicodedata.unidata_version == _TABLE_VERSION:
        return _TABLE
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if unicodedata.category(chr(code)) in _ESCAPED_CATEGORIES:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return tuple(ranges)


def _unicode_pattern(keep_newlines: bool) -> re.Pattern[str]:
    pattern = _unicode.get(keep_newlines)
    if pattern is None:
        parts = []
        for low, high in escaped_ranges():
            if low <= 0x0A <= high and keep_newlines:  # tab and newline stay; \r and the rest go
                parts.extend(f"\\U{a:08x}-\\U{b:08x}" for a, b in ((low, 0x08), (0x0B, high)) if a <= b)
            else:
                parts.append(f"\\U{low:08x}-\\U{high:08x}")
        pattern = _unicode[keep_newlines] = re.compile("[" + "".join(parts) + "]")
    return pattern


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code <= 0xFF:
        return "\\x%02x" % code
    if code <= 0xFFFF:
        return "\\u%04x" % code
    return "\\U%08x" % code


def printable(value: object, keep_newlines: bool = False) -> str:
    """The text with control, invisible and bidi characters replaced by visible escapes.

    ESC becomes ``\\x1b``, U+202E ``\\u202e``, a tag character ``\\U000e0041``. Without
    ``keep_newlines`` a newline is shown as ``\\n`` and a tab as a space (one line per value);
    with it both are kept, for multi-line panes.
    """
    text = str(value)
    if not keep_newlines:
        text = text.replace("\n", "\\n").replace("\t", " ")
    if text.isascii():  # the common case, without the large character class
        return (_ASCII_CONTROL if keep_newlines else _ASCII_CONTROL_ALL).sub(_escape, text)
    return _unicode_pattern(keep_newlines).sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code <= 0xFFFF:
        return "\\u%04x" % code
    code -= 0x10000  # JSON spells a code point past the BMP as a UTF-16 surrogate pair
    return "\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def escape_json_invisible(json_text: str) -> str:
    """JSON written with ``ensure_ascii=False``, with the characters ``printable`` escapes as ``\\uXXXX``.

    The value is the same JSON (json.dumps already escapes the controls, and outside strings
    JSON holds only ASCII), but a ``cat`` of the file no longer shows bidi tricks or hidden text.
    """
    if json_text.isascii():  # DEL is the one ASCII character json.dumps leaves raw
        return _ASCII_CONTROL.sub(_json_escape, json_text)
    return _unicode_pattern(True).sub(_json_escape, json_text)


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

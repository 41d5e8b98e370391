"""Parsing one line of a JSON Lines file fast, without becoming stricter than the standard parser."""

from __future__ import annotations

import json
from typing import Any

import orjson


def parse_json_line(raw_line: bytes) -> Any:
    """One JSON line -> Python value: orjson for speed, the standard parser where orjson refuses.

    The standard parser is the fallback, not the rule, because it accepts what real files hold and
    orjson rejects (``NaN``/``Infinity`` literals, UTF-16 text); what neither accepts raises
    ValueError (or RecursionError for absurd nesting). orjson does not reject an integer beyond
    64 bits: it returns a rounded float, silently. The OTLP decoder therefore refuses
    integer-valued floats at 2**63 and beyond where an integer belongs (``otlp._decode_int``),
    so such a value is a warning naming the field, never a wrong number.
    """
    try:
        return orjson.loads(raw_line)
    except orjson.JSONDecodeError:
        return json.loads(raw_line)

"""Parsing one line of a JSON Lines file fast, without becoming stricter than the standard parser."""

from __future__ import annotations

import json
from typing import Any

import orjson


def parse_json_line(raw_line: bytes) -> Any:
    """One JSON line -> Python value: orjson for speed, the standard parser where orjson refuses.

    The standard parser is the fallback, not the rule, because it accepts what real files hold and
    orjson rejects (``NaN``/``Infinity`` literals, integers beyond 64 bits, UTF-16 text); what
    neither accepts raises ValueError (or RecursionError for absurd nesting).
    """
    try:
        return orjson.loads(raw_line)
    except orjson.JSONDecodeError:
        return json.loads(raw_line)

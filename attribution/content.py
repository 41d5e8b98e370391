"""Text a span said and saw, and the distinctive tokens (values) that let us follow data between spans.

Every evidence rule and the data-flow inference read span content the same way, whatever the
convention that recorded it (GenAI semconv messages, rootspan.output, tool arguments/results,
OpenInference ``input.value``/``output.value``, Traceloop ``traceloop.entity.*``). Tokens are the
values that identify a piece of data when it is reused later: numbers, quoted strings, file
names, URLs. Matching on tokens through a dictionary keeps data-flow inference linear in the
size of the trace instead of comparing every pair of spans.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from rootspan import semconv as sc
from rootspan.model import Span

OUTPUT_KEYS = (
    sc.GEN_AI_OUTPUT_MESSAGES,
    sc.ROOTSPAN_OUTPUT,
    sc.GEN_AI_TOOL_CALL_RESULT,
    "output.value",
    "traceloop.entity.output",
    "gen_ai.completion",
)
INPUT_KEYS = (
    sc.GEN_AI_INPUT_MESSAGES,
    sc.GEN_AI_TOOL_CALL_ARGUMENTS,
    "input.value",
    "traceloop.entity.input",
    "gen_ai.prompt",
)
# OpenInference flattens messages into indexed attributes: llm.output_messages.0.message.content.
_OI_OUTPUT_PREFIX = "llm.output_messages."
_OI_INPUT_PREFIX = "llm.input_messages."

MAX_TEXT = 20_000  # longer content is cut: evidence needs the gist, not megabytes of page dumps

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w])")
_QUOTED = re.compile(r"[\"“']([^\"”'\n]{3,60})[\"”']")
_FILE = re.compile(r"\b[\w\-]+\.(?:csv|json|jsonl|py|txt|xlsx|xls|pdf|docx|md|png|jpg|jpeg|mp3|mp4|zip|html|xml|yaml|yml|pptx|db|sql|log)\b", re.I)
_URL = re.compile(r"https?://[^\s)\]\"'<>]+")


def _strings(value: Any, out: list[str]) -> None:
    """Collect the text of a decoded message structure (lists/dicts of parts), in order.

    Iterative, not recursive: message JSON is untrusted and may be nested deeper than Python's
    recursion limit.
    """
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            # role names and part types are structure, not content
            stack.extend(
                reversed([child for key, child in item.items() if key not in ("role", "type", "finish_reason", "id", "name")])
            )
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif item is not None and not isinstance(item, bool):
            out.append(str(item))


_MESSAGE_KEYS = {sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES}


def _attribute_text(value: Any, messages: bool) -> str:
    """An attribute value as plain text; JSON message lists are unwrapped to their text parts.

    Only the GenAI message attributes are JSON by convention; a tool result or recorded output
    that happens to be JSON is kept whole, keys included (they carry meaning there).
    """
    if isinstance(value, str) and not messages:
        return value
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("[", "{"):
            try:
                decoded = json.loads(value)
            except (ValueError, RecursionError):
                return value
            parts: list[str] = []
            _strings(decoded, parts)
            return "\n".join(parts)
        return value
    parts = []
    _strings(value, parts)
    return "\n".join(parts)


def _collect(span: Span, keys: Iterable[str], prefix: str) -> str:
    attributes = span.attributes
    parts = [_attribute_text(attributes[key], key in _MESSAGE_KEYS) for key in keys if attributes.get(key) not in (None, "")]
    if "llm.input_messages.0.message.content" in attributes or "llm.output_messages.0.message.content" in attributes:
        parts.extend(str(value) for key, value in sorted(attributes.items()) if key.startswith(prefix) and key.endswith("content"))
    text = "\n".join(part for part in parts if part)
    return text[:MAX_TEXT]


def output_text(span: Span) -> str:
    """What the span produced: its output messages, recorded output or tool result."""
    return _collect(span, OUTPUT_KEYS, _OI_OUTPUT_PREFIX)


def input_text(span: Span) -> str:
    """What the span was given: input messages or tool arguments."""
    return _collect(span, INPUT_KEYS, _OI_INPUT_PREFIX)


def has_output(span: Span) -> bool:
    """Whether the span recorded any output attribute at all (even an empty one)."""
    attributes = span.attributes
    return any(key in attributes for key in OUTPUT_KEYS) or any(key.startswith(_OI_OUTPUT_PREFIX) for key in attributes)


def normalise_number(raw: str) -> str:
    """'1,234.50' -> '1234.5' so the same value matches however it was written."""
    if raw.isdigit():
        return raw
    text = raw.replace(",", "").lstrip("+")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def numbers(text: str) -> list[str]:
    """Normalised numbers in the text, in order."""
    found = []
    for match in _NUMBER.finditer(text):
        value = match.group(0)
        found.append(value if value.isdigit() else normalise_number(value))
    return found


def tokens(text: str, limit: int = 200, found_numbers: list[str] | None = None) -> set[str]:
    """Distinctive values in the text: numbers of 2+ digits, quoted strings, file names, URLs.

    Single digits are left out: list markers and small counts match everywhere and would
    link every span to every other. ``found_numbers`` (``numbers(text)``) saves a second scan.
    """
    found: set[str] = set()
    for value in numbers(text) if found_numbers is None else found_numbers:
        if len(value) >= 2 and len(value.lstrip("-").replace(".", "")) >= 2:
            found.add("n:" + value)
    if "'" in text or '"' in text or "“" in text:
        for match in _QUOTED.finditer(text):
            found.add("q:" + match.group(1).strip().lower())
    if "." in text:
        for match in _FILE.finditer(text):
            found.add("f:" + match.group(0).lower())
    if "://" in text:
        for match in _URL.finditer(text):
            found.add("u:" + match.group(0).rstrip(".,;").lower())
    if len(found) > limit:
        found = set(sorted(found)[:limit])
    return found


def quote(text: str, width: int = 80) -> str:
    """A one-line excerpt of untrusted text for an evidence sentence (made printable later)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def json_object(text: str) -> dict[str, Any] | None:
    """A text that is one JSON object (a call's arguments, a record a tool returned), else None.

    Checked by its first character before parsing: most span texts are prose, and the rules that
    read arguments and results ask for every tool call of a long trace.
    """
    if not text or text.lstrip()[:1] != "{":
        return None
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None

"""Token counts of a model call, whichever convention its producer used.

The GenAI conventions name them ``gen_ai.usage.input_tokens``/``output_tokens``; OpenLLMetry wrote
``gen_ai.usage.prompt_tokens``/``completion_tokens`` before the rename, and OpenInference writes
``llm.token_count.prompt``/``completion``. One reader so every command gives the same number for
the same span; the current name wins when a span carries several.
"""

from __future__ import annotations

from typing import Any

from rootspan import semconv as sc
from rootspan.model import Span

INPUT_TOKEN_KEYS = (
    sc.GEN_AI_USAGE_INPUT_TOKENS,
    sc.GEN_AI_USAGE_PROMPT_TOKENS_DEPRECATED,
    sc.OPENINFERENCE_TOKEN_COUNT_PROMPT,
)
OUTPUT_TOKEN_KEYS = (
    sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    sc.GEN_AI_USAGE_COMPLETION_TOKENS_DEPRECATED,
    sc.OPENINFERENCE_TOKEN_COUNT_COMPLETION,
)


def _count(attributes: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    """The first of ``keys`` holding a non-negative int (not a bool, a float or a string)."""
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def input_tokens(span: Span) -> int | None:
    """Tokens the call read, or None when the span records no usable count."""
    return _count(span.attributes, INPUT_TOKEN_KEYS)


def output_tokens(span: Span) -> int | None:
    """Tokens the call wrote, or None when the span records no usable count."""
    return _count(span.attributes, OUTPUT_TOKEN_KEYS)

"""A tool call that returned all zeros where its sibling calls returned real figures: a default.

``except Exception: return {"on_hand": 0, "inbound": 0}`` is how a flaky client keeps one bad
record from breaking a batch; the zeros look like data and every step after them computes from
them faithfully. A single call proves nothing (stock can be zero), but a call whose every numeric
field is zero, among calls of the same tool whose same fields mostly are not, is the default of a
swallowed failure far more often than a coincidence; in a failed run it is a symptom at that call.
"""

from __future__ import annotations

from typing import Iterable

from rootspan import semconv as sc
from rootspan.attribution.content import json_object, quote
from rootspan.attribution.evidence import Evidence, Weights, is_tool
from rootspan.attribution.graph import AttributionGraph

MIN_CALLS = 3  # the zeroed call and at least two siblings to compare it with
MIN_FIELDS = 2  # one zero field is a value; every field zero is a shape
SIBLINGS_WITH_FIGURES = 2 / 3  # share of the other calls with a non-zero value in those fields


def _numbers(text: str) -> dict[str, float] | None:
    """Top-level numeric fields of a JSON object result, or None for anything else."""
    decoded = json_object(text)
    if decoded is None:
        return None
    return {key: float(value) for key, value in decoded.items() if isinstance(value, (int, float)) and not isinstance(value, bool)}


def rule_zeroed_result(graph: AttributionGraph, weights: Weights) -> Iterable[Evidence]:
    """In a failed run, the first tool call whose numeric fields are all zero while its siblings' are not."""
    if graph.trace.outcome != "failure":
        return
    calls: dict[str, list[tuple[str, dict[str, float]]]] = {}
    for span in graph.order:
        if not is_tool(span) or span.is_error:
            continue
        fields = _numbers(graph.outputs.get(span.span_id, ""))
        if fields is not None:
            name = span.attributes.get(sc.GEN_AI_TOOL_NAME)
            calls.setdefault(name if isinstance(name, str) else span.name, []).append((span.span_id, fields))
    for tool, results in calls.items():
        if len(results) < MIN_CALLS:
            continue
        for span_id, fields in results:
            if len(fields) < MIN_FIELDS or any(fields.values()):
                continue
            others = [other for other_id, other in results if other_id != span_id]
            with_figures = sum(1 for other in others if any(other.get(key) for key in fields))
            if with_figures >= SIBLINGS_WITH_FIGURES * len(others):
                span = graph.span(span_id)
                yield Evidence(
                    span_id,
                    "zeroed_result",
                    "tool_wrong_result",
                    weights.symptom,
                    f"step {span.step} tool {quote(tool, 40)} returned zero for every figure "
                    f"({', '.join(sorted(fields))}) where {with_figures} of its {len(others)} other calls returned figures: "
                    f"a default in place of a failure?",
                )
                return

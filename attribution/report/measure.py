"""One row of numbers per trace: outcome, latency per agent and step, tokens, cost, GPU, errors.

The comparison treats each trace as one repeat of the task, so everything it tests is first
reduced here to a per-trace value. Nested spans carry overlapping aggregates (an agent span's GPU
time includes its LLM calls'), so sums take only the topmost span that carries a value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from rootspan import semconv as sc
from rootspan.model import Span, SpanKind, Trace

from rootspan.attribution.report.config import Price

GPU_KERNEL_TIME = "rootspan.gpu.kernel_time_ns"
GPU_ENERGY = "rootspan.gpu.energy_j"
_CALL_KINDS = (SpanKind.LLM, SpanKind.TOOL, SpanKind.AGENT)

StepKey = tuple[str, str, int]  # (agent or "-", span name, occurrence of that pair in the trace)


@dataclass
class TraceMeasures:
    """The per-trace values the checks compare."""

    trace_id: str
    run: str
    success: bool
    outcome: str | None
    latency_ms: float
    agents_ms: dict[str, float] = field(default_factory=dict)
    steps_ms: dict[StepKey, float] = field(default_factory=dict)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    unpriced_models: set[str] = field(default_factory=set)
    gpu_time_ms: float | None = None
    energy_j: float | None = None
    calls: int = 0
    errors: int = 0
    retries: int = 0
    loops: int = 0


def is_success(trace: Trace) -> bool:
    """The shared definition of a failed trace (``Trace.failed``), negated."""
    return not trace.failed


def _number(value: Any) -> float | None:
    """A finite number, or None: an Infinity token count or cost is as unusable as a missing one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _topmost_sum(trace: Trace, key: str) -> float | None:
    """Sum of ``key`` over spans that carry it and have no ancestor carrying it."""
    total: float | None = None
    for span in trace.spans:
        value = _number(span.attributes.get(key))
        if value is None:
            continue
        if any(_number(ancestor.attributes.get(key)) is not None for ancestor in trace.ancestors(span)):
            continue
        total = (total or 0.0) + value
    return total


def _agent_latencies(trace: Trace) -> dict[str, float]:
    """Milliseconds per agent: its agent spans' durations, not counting an agent nested in itself."""
    totals: dict[str, float] = {}
    for span in trace.spans:
        if span.kind != SpanKind.AGENT or span.agent_name is None:
            continue
        name = span.agent_name
        if any(a.kind == SpanKind.AGENT and a.agent_name == name for a in trace.ancestors(span)):
            continue
        totals[name] = totals.get(name, 0.0) + span.duration_ns / 1e6
    return totals


def _call_arguments(span: Span) -> str | None:
    """The call's arguments (tool arguments, or the LLM input messages) when content was captured."""
    for key in (sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_INPUT_MESSAGES):
        if key in span.attributes:
            value = span.attributes[key]
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return None


def _repeats(trace: Trace) -> tuple[int, int, int]:
    """(calls, retries, loop repeats) among agent, LLM and tool spans, within each parent.

    A retry is a call of the same name as an earlier call of that parent which failed. A loop
    repeat is a call identical to an earlier one of the same parent: same name and same arguments
    when content was captured (however many other calls came between, as when an agent alternates
    LLM and tool calls); without content, only a call repeating the one right before it counts.
    """
    calls = retries = loops = 0
    last_by_name: dict[tuple[str | None, str], Span] = {}
    previous: dict[str | None, Span] = {}
    seen: set[tuple[str | None, str, str]] = set()
    for span in trace.steps():
        if span.kind not in _CALL_KINDS:
            continue
        calls += 1
        parent = span.parent_span_id
        arguments = _call_arguments(span)
        same_name = last_by_name.get((parent, span.name))
        before = previous.get(parent)
        if same_name is not None and same_name.is_error:
            retries += 1
        elif arguments is not None and (parent, span.name, arguments) in seen:
            loops += 1
        elif (
            arguments is None and before is not None and before.name == span.name
            and _call_arguments(before) is None and not before.is_error
        ):
            loops += 1
        last_by_name[(parent, span.name)] = span
        previous[parent] = span
        if arguments is not None:
            seen.add((parent, span.name, arguments))
    return calls, retries, loops


def _tokens_and_cost(trace: Trace, prices: Mapping[str, Price], measures: TraceMeasures) -> None:
    input_tokens = output_tokens = 0
    seen_usage = False
    cost = 0.0
    priced = False
    for span in trace.spans:
        if span.kind != SpanKind.LLM:
            continue
        tokens_in = _number(span.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS))
        tokens_out = _number(span.attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS))
        if tokens_in is None and tokens_out is None:
            continue
        seen_usage = True
        input_tokens += int(tokens_in or 0)
        output_tokens += int(tokens_out or 0)
        model = span.attributes.get(sc.GEN_AI_REQUEST_MODEL) or span.attributes.get(sc.GEN_AI_RESPONSE_MODEL)
        price = prices.get(str(model)) if model is not None else None
        if price is None and model is not None:
            price = prices.get(str(span.attributes.get(sc.GEN_AI_RESPONSE_MODEL)))
        if price is None:
            if prices:
                measures.unpriced_models.add(str(model))
            continue
        priced = True
        cost += (tokens_in or 0) / 1000.0 * price.input + (tokens_out or 0) / 1000.0 * price.output
    if seen_usage:
        measures.input_tokens = input_tokens
        measures.output_tokens = output_tokens
    if priced:
        measures.cost = cost


def measure_trace(trace: Trace, run: str, prices: Mapping[str, Price], step_keys: Mapping[str, StepKey]) -> TraceMeasures:
    """Reduce one trace to its measures; ``step_keys`` maps span ids to their aligned step."""
    measures = TraceMeasures(
        trace_id=trace.trace_id,
        run=run,
        success=is_success(trace),
        outcome=trace.outcome,
        latency_ms=trace.duration_ns / 1e6,
        agents_ms=_agent_latencies(trace),
    )
    for span in trace.spans:
        key = step_keys.get(span.span_id)
        if key is not None and span.kind in (SpanKind.LLM, SpanKind.TOOL):
            measures.steps_ms[key] = measures.steps_ms.get(key, 0.0) + span.duration_ns / 1e6
    _tokens_and_cost(trace, prices, measures)
    kernel_ns = _topmost_sum(trace, GPU_KERNEL_TIME)
    measures.gpu_time_ms = None if kernel_ns is None else kernel_ns / 1e6
    measures.energy_j = _topmost_sum(trace, GPU_ENERGY)
    measures.errors = sum(1 for span in trace.spans if span.is_error and not trace.is_outcome_status(span))
    measures.calls, measures.retries, measures.loops = _repeats(trace)
    return measures

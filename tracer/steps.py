"""``rootspan.step`` on every span: its start order within its trace, stamped by the sampler.

The sampler is the one SDK hook that sees the trace id *before* the span exists and may add
attributes to it, so the step costs one dict merge and an atomic counter increment instead of a
locked ``set_attribute`` after start. Every span from the provider gets a step, including spans
of other instrumentations. A child process continues its parent's numbering from the value
carried in the W3C ``tracestate`` (see propagation.py).
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from rootspan.semconv import ROOTSPAN_STEP

TRACESTATE_KEY = "rootspan"
# Counters of finished traces are forgotten oldest first beyond this many live traces.
MAX_TRACKED_TRACES = 65536


class StepCounters:
    """One thread-safe start counter per trace id (``next`` on itertools.count is atomic)."""

    def __init__(self) -> None:
        self._counters: dict[int, itertools.count[int]] = {}

    def next_step(self, trace_id: int, trace_state: TraceState | None) -> int:
        counter = self._counters.get(trace_id)
        if counter is None:
            counter = self._counters.setdefault(trace_id, itertools.count(_step_base(trace_state)))
            if len(self._counters) > MAX_TRACKED_TRACES:
                self._forget_oldest()
        return next(counter)

    def reserve(self, trace_id: int) -> int:
        """Take one step number for a child process to continue from."""
        return self.next_step(trace_id, None)

    def _forget_oldest(self) -> None:
        try:
            del self._counters[next(iter(self._counters))]
        except (StopIteration, KeyError, RuntimeError):
            pass  # another thread forgot it first


def _step_base(trace_state: TraceState | None) -> int:
    if trace_state is None:
        return 0
    value = trace_state.get(TRACESTATE_KEY)
    if value and value.startswith("s") and value[1:].isdigit():
        return int(value[1:])
    return 0


class StepSampler(Sampler):
    """Records and samples every span, stamping ``rootspan.step`` into its attributes.

    rootspan exists to explain whole runs, so it samples everything (also under an unsampled
    remote parent); the parent's tracestate is passed through as the spec requires.
    """

    def __init__(self, counters: StepCounters) -> None:
        self.counters = counters

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        state = parent.trace_state if parent.is_valid else None
        merged: dict[str, Any] = dict(attributes) if attributes else {}
        merged[ROOTSPAN_STEP] = self.counters.next_step(trace_id, state if parent.is_remote else None)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, merged, state)

    def get_description(self) -> str:
        return "rootspan.StepSampler"

"""Give each span a step key shared across repeats, so step latencies can be compared run to run.

Span ids differ in every run; a step is recognised by who did it and what it was. The local key
is (agent, span name, n-th such call in the trace). When the attribution package's
``align_traces`` is installed, every trace is aligned to one reference trace per task and takes
the reference's keys, which survives inserted or dropped steps (a retry no longer shifts every
later call of that tool); spans it leaves unmatched keep a local key of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rootspan.model import Span, Trace

from rootspan.attribution.report.measure import StepKey, is_success

AlignFn = Callable[[Trace, Trace], list[tuple[Span | None, Span | None]]]


@dataclass(frozen=True)
class StepInfo:
    """How to show a step key: its step number and kind in the reference trace."""

    step: int | None
    kind: str


def load_align_traces() -> AlignFn | None:
    """The attribution package's ``align_traces``, or None while it is not installed."""
    try:
        from rootspan.attribution.align import align_traces
    except ImportError:
        return None
    return align_traces


def local_keys(trace: Trace) -> dict[str, StepKey]:
    """(agent, name, occurrence) for every span, counting occurrences in step order."""
    seen: dict[tuple[str, str], int] = {}
    keys: dict[str, StepKey] = {}
    for span in trace.steps():
        pair = (trace.agent_of(span) or "-", span.name)
        seen[pair] = seen.get(pair, 0) + 1
        keys[span.span_id] = (pair[0], pair[1], seen[pair])
    return keys


def _aligned_keys(reference: Trace, reference_keys: dict[str, StepKey], trace: Trace, align: AlignFn) -> dict[str, StepKey]:
    pairs = align(reference, trace)
    keys: dict[str, StepKey] = {}
    taken: set[StepKey] = set()
    for ref_span, span in pairs:
        if ref_span is not None and span is not None and ref_span.span_id in reference_keys:
            key = reference_keys[ref_span.span_id]
            if key not in taken:
                keys[span.span_id] = key
                taken.add(key)
    own = local_keys(trace)
    for span in trace.spans:
        if span.span_id in keys:
            continue
        agent, name, occurrence = own[span.span_id]
        # An unmatched span must not reuse a key a matched span already holds in this trace.
        while (agent, name, occurrence) in taken:
            occurrence += 1
        keys[span.span_id] = (agent, name, occurrence)
        taken.add(keys[span.span_id])
    return keys


def task_of(trace: Trace) -> str:
    """Traces of the same task share a root span name (the workflow); alignment stays within one."""
    root = trace.root
    return root.name if root is not None else ""


def assign_step_keys(
    baseline: list[Trace], candidate: list[Trace], align: AlignFn | None
) -> tuple[dict[int, dict[str, StepKey]], dict[StepKey, StepInfo], list[str]]:
    """Step keys for every trace (by ``id(trace)``: the same trace may sit on both sides), display info per key, and notes on what was done."""
    notes: list[str] = []
    references: dict[str, Trace] = {}
    baseline_ids = {id(trace) for trace in baseline}
    for trace in baseline + candidate:
        task = task_of(trace)
        current = references.get(task)
        # Prefer a successful baseline trace as the reference: its steps are the expected ones.
        if current is None or (not is_success(current) and is_success(trace) and id(trace) in baseline_ids):
            references[task] = trace
    reference_keys = {task: local_keys(trace) for task, trace in references.items()}
    info: dict[StepKey, StepInfo] = {}
    for task, reference in references.items():
        for span in reference.spans:
            key = reference_keys[task][span.span_id]
            info[key] = StepInfo(step=span.step, kind=_kind(span))
    keys_by_trace: dict[int, dict[str, StepKey]] = {}
    failures = 0
    for trace in baseline + candidate:
        task = task_of(trace)
        reference = references[task]
        keys: dict[str, StepKey] | None = None
        if align is not None and trace is not reference:
            try:
                keys = _aligned_keys(reference, reference_keys[task], trace, align)
            except Exception:  # noqa: BLE001 - a bug in the aligner must not sink the report
                failures += 1
        if keys is None:
            keys = reference_keys[task] if trace is reference else local_keys(trace)
        keys_by_trace[id(trace)] = keys
        for span in trace.spans:
            info.setdefault(keys[span.span_id], StepInfo(step=span.step, kind=_kind(span)))
    if align is None:
        notes.append("steps matched by (agent, name, occurrence): the attribution aligner is not installed")
    elif failures:
        notes.append(f"the step aligner failed on {failures} traces; their steps were matched by (agent, name, occurrence)")
    return keys_by_trace, info, notes


def _kind(span: Span) -> str:
    kind: Any = span.kind
    return kind.value if kind is not None else "other"

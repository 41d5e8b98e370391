"""A large random trace (10k spans, nested, parallel, orphans): the invariants hold at scale.

Speed is measured by `rootspan bench attribution`, not here; this checks that nothing breaks or
goes quadratic-looking on a big input (about half a second of CPU).
"""

from __future__ import annotations

import random

from rootspan.attribution.align import align_traces
from rootspan.attribution.critical_path import critical_path, critical_segments
from rootspan.attribution.slowdown import analyze_slowdown
from rootspan.model import Span, Trace

TRACE_ID = "ab" * 16


def _random_trace(seed: int, n: int) -> Trace:
    rng = random.Random(seed)
    spans = [Span(trace_id=TRACE_ID, span_id="root", name="invoke_workflow w", start_ns=0, end_ns=0,
                  attributes={"gen_ai.operation.name": "invoke_workflow"})]
    open_spans = [spans[0]]
    clock = 0
    for index in range(1, n):
        parent = rng.choice(open_spans[-4:])
        start = max(parent.start_ns, clock - rng.randrange(0, 5_000_000))
        duration = rng.randrange(0, 20_000_000)
        kind = rng.choice(["invoke_agent solver", "chat m", "execute_tool calc", "step"])
        parent_id = parent.span_id if rng.random() > 0.001 else "missing-parent"
        span = Span(trace_id=TRACE_ID, span_id=f"s{index}", parent_span_id=parent_id, name=kind,
                    start_ns=start, end_ns=start + duration,
                    attributes={"gen_ai.agent.name": "solver"} if kind.startswith("invoke_agent") else {})
        spans.append(span)
        clock = max(clock, start + duration // 2)
        if kind.startswith("invoke_agent"):
            open_spans.append(span)
    spans[0].end_ns = clock
    return Trace(trace_id=TRACE_ID, spans=spans)


def test_large_random_trace_keeps_every_invariant() -> None:
    trace = _random_trace(3, 10_000)
    segments = critical_segments(trace)
    assert segments[0].start_ns == trace.start_ns and segments[-1].end_ns == trace.end_ns
    assert all(a.end_ns == b.start_ns for a, b in zip(segments, segments[1:]))
    path = critical_path(trace)
    assert [s.start_ns for s in path] == sorted(s.start_ns for s in path)
    bottlenecks = analyze_slowdown(trace)
    assert 0 < sum(b.share for b in bottlenecks) <= 1.0 + 1e-9
    assert [b.share for b in bottlenecks] == sorted((b.share for b in bottlenecks), reverse=True)
    pairs = align_traces(trace, trace)
    assert len(pairs) == len(trace.spans) and all(b is c for b, c in pairs)

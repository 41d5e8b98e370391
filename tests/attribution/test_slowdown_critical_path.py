"""Critical path on sequential, parallel, nested and degenerate span structures with known answers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from slowdown_fixtures import MS, ids, span, trace

from rootspan.attribution.critical_path import critical_path, critical_segments
from rootspan.model import Trace


def _owners(segments) -> list[tuple[str | None, str, float, float]]:
    return [(s.span.span_id if s.span else None, s.kind, s.start_ns / MS, s.end_ns / MS) for s in segments]


def test_sequential_children_all_on_path_with_parent_self_time_between() -> None:
    t = trace(span("p", 0, 100), span("a", 0, 30, "p"), span("b", 40, 70, "p"), span("c", 70, 100, "p"))
    assert ids(critical_path(t)) == ["p", "a", "b", "c"]
    assert _owners(critical_segments(t)) == [
        ("a", "span", 0, 30),
        ("p", "self", 30, 40),
        ("b", "span", 40, 70),
        ("c", "span", 70, 100),
    ]


def test_parallel_siblings_only_the_longest_chain_is_critical() -> None:
    # a runs alone for 100ms; b then c run beside it for 60ms: a is the critical chain.
    t = trace(span("p", 0, 100), span("a", 0, 100, "p"), span("b", 0, 30, "p"), span("c", 30, 60, "p"))
    assert ids(critical_path(t)) == ["p", "a"]
    # the other way round: a chain of two that outlasts the single sibling
    t = trace(span("p", 0, 100), span("a", 0, 50, "p"), span("b", 0, 60, "p"), span("c", 60, 100, "p"))
    assert ids(critical_path(t)) == ["p", "b", "c"]


def test_nested_path_descends_into_the_busy_grandchild() -> None:
    t = trace(
        span("root", 0, 200),
        span("agent1", 0, 120, "root"),
        span("llm1", 10, 110, "agent1"),
        span("agent2", 0, 80, "root"),  # parallel and shorter: off the path
        span("tool", 120, 200, "root"),
    )
    assert ids(critical_path(t)) == ["root", "agent1", "llm1", "tool"]
    assert _owners(critical_segments(t)) == [
        ("agent1", "self", 0, 10),
        ("llm1", "span", 10, 110),
        ("agent1", "self", 110, 120),
        ("tool", "span", 120, 200),
    ]


def test_segments_tile_the_wall_time() -> None:
    t = trace(
        span("r", 0, 1000),
        span("x", 50, 400, "r"),
        span("y", 100, 900, "r"),
        span("y1", 100, 500, "y"),
        span("y2", 450, 880, "y"),
        span("z", 905, 990, "r"),
    )
    segments = critical_segments(t)
    assert segments[0].start_ns == 0 and segments[-1].end_ns == 1000 * MS
    assert all(a.end_ns == b.start_ns for a, b in zip(segments, segments[1:]))
    assert sum(s.duration_ns for s in segments) == t.duration_ns
    # y1 and y2 overlap (450-500): whichever chain is taken, y's children own the time, not y itself
    assert {s.span.span_id for s in segments if s.kind != "self"} <= {"y1", "y2", "z", "x"}


def test_single_span_and_zero_length_trace() -> None:
    t = trace(span("only", 5, 25))
    assert ids(critical_path(t)) == ["only"]
    assert _owners(critical_segments(t)) == [("only", "span", 5, 25)]
    zero = trace(span("z", 5, 5))
    assert critical_segments(zero) == []
    assert ids(critical_path(zero)) == ["z"]
    assert critical_path(trace()) == []


def test_several_roots_leave_gaps_owned_by_no_span() -> None:
    t = trace(span("a", 0, 10), span("b", 30, 50))
    assert _owners(critical_segments(t)) == [("a", "span", 0, 10), (None, "gap", 10, 30), ("b", "span", 30, 50)]
    assert ids(critical_path(t)) == ["a", "b"]


def test_child_outliving_its_parent_and_zero_length_children() -> None:
    t = trace(span("p", 0, 50), span("async", 20, 90, "p"), span("blip", 10, 10, "p"))
    segments = critical_segments(t)
    assert _owners(segments) == [("p", "self", 0, 20), ("async", "span", 20, 90)]
    assert ids(critical_path(t)) == ["p", "async"]


def test_orphan_parent_ids_are_roots() -> None:
    t = trace(span("a", 0, 10, parent="missing"), span("b", 10, 40, parent="missing"))
    assert ids(critical_path(t)) == ["a", "b"]


def test_a_span_that_names_itself_as_parent_is_a_root() -> None:
    t = trace(span("loop", 0, 10, parent="loop"), span("child", 2, 8, parent="loop"))
    assert ids(critical_path(t)) == ["loop", "child"]


@st.composite
def _random_trees(draw) -> Trace:
    """Up to 12 spans, each under a random earlier span (or a root), intervals anywhere: children
    may overlap each other, touch, have zero length or outlive their parents."""
    count = draw(st.integers(1, 12))
    spans = []
    for index in range(count):
        parent = draw(st.one_of(st.none(), st.integers(0, index - 1))) if index else None
        start = draw(st.integers(0, 50))
        length = draw(st.integers(0, 30))
        spans.append(span(f"s{index}", start, start + length, f"s{parent}" if parent is not None else None))
    return trace(*spans)


def _extent(t: Trace, s) -> tuple[int, int]:
    lows, highs = [s.start_ns], [s.end_ns]
    for child in t.children(s.span_id):
        if child.end_ns > child.start_ns or t.children(child.span_id):
            low, high = _extent(t, child)
            if high > low:
                lows.append(low)
                highs.append(high)
    return min(lows), max(highs)


@settings(max_examples=150, deadline=None)
@given(_random_trees())
def test_segments_always_tile_the_trace_and_respect_the_tree(t: Trace) -> None:
    segments = critical_segments(t)
    if t.duration_ns == 0:
        assert segments == []
        return
    assert segments[0].start_ns == t.start_ns and segments[-1].end_ns == t.end_ns
    assert all(a.end_ns == b.start_ns for a, b in zip(segments, segments[1:]))
    assert all(s.duration_ns > 0 for s in segments)
    for segment in segments:
        if segment.span is None:
            assert segment.kind == "gap"
            continue
        low, high = _extent(t, segment.span)
        assert low <= segment.start_ns and segment.end_ns <= high
        if segment.kind == "span":  # a whole leaf
            assert (segment.start_ns, segment.end_ns) == (segment.span.start_ns, segment.span.end_ns)
        if segment.kind == "self":  # none of the span's children runs then
            for child in t.children(segment.span.span_id):
                c_low, c_high = _extent(t, child)
                assert c_high <= segment.start_ns or c_low >= segment.end_ns or c_high == c_low
    path = critical_path(t)
    assert {s.span.span_id for s in segments if s.span is not None} <= {s.span_id for s in path}


def test_synthetic_timing_gets_no_bottlenecks_real_timing_does() -> None:
    """``rootspan.timing = synthetic`` on the root (the Who&When importer's mark) turns slowdown analysis off."""
    from rootspan import semconv as sc
    from rootspan.attribution.slowdown import analyze_slowdown, has_real_timing, slowdown_summary
    from rootspan.attribution.whowhen import Log, log_to_trace

    from pathlib import Path

    log = Log(subset="Algorithm-Generated", log_id="1", path=Path("1.json"), question="q?", ground_truth="4",
              history=[{"role": "user", "name": "Planner", "content": "plan"},
                       {"role": "user", "name": "Coder", "content": "x = 4"}],
              mistake_agent="Coder", mistake_step=1)
    trace = log_to_trace(log)
    assert all(span.attributes[sc.ROOTSPAN_TIMING] == sc.TIMING_SYNTHETIC for span in trace.spans)
    assert not has_real_timing(trace)
    assert analyze_slowdown(trace) == []
    summary = slowdown_summary(trace)
    assert summary["timing"] == "synthetic" and summary["bottlenecks"] == [] and summary["critical_path"] == []
    del trace.root.attributes[sc.ROOTSPAN_TIMING]  # the same spans claiming real times
    assert has_real_timing(trace) and analyze_slowdown(trace)

"""Why a trace took as long as it did: critical-path segments classified by bound_by, as bottlenecks.

``analyze_slowdown`` is what ``attribute_trace`` calls. Without a baseline it walks the critical
path, classifies every segment (``bound_by.classify``), and sums the time per (span, bound_by)
into ``Bottleneck`` objects whose shares are fractions of the trace's wall time. Against a
baseline that ran faster, the bottlenecks are instead the spans whose time grew (``diff.py``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from rootspan import semconv as sc
from rootspan.attribution.bound_by import (
    ANOMALIES,
    CPU_BUSY_CORES,
    Classification,
    classify,
    cpu_contention,
    own_profile,
    span_profile,
    trace_norms,
)
from rootspan.attribution.critical_path import Segment, critical_segments, gc_paused
from rootspan.model import Bottleneck, Span, Trace
from rootspan.text import format_duration, printable, shorten

# Bottlenecks below 1% of the wall time are noise in a report; more than 10 nobody reads.
MIN_SHARE = 0.01
MAX_BOTTLENECKS = 10
# A parent's own time before a step counts as queueing when the step's inputs were all ready
# this long before it started (shorter gaps are the agent building the next request).
QUEUE_MIN_NS = 10_000_000
# A span this many times slower than the median of its peers (same agent, same name) is called
# out as an outlier, and 2 peers is the fewest that make a median mean something.
OUTLIER_RATIO = 2.0
MIN_PEERS = 2
# When naming the one primary bottleneck, a pathology (ANOMALIES, CPU contention) or an outlier
# outranks normal work up to this factor: 10% of the run lost to host syncs is the finding, not
# the 50% of decode the model needs anyway. (On the CPU demo a routing-skewed call is a short one,
# 6-18% of its trace, next to ordinary decodes of up to 39%: 3x missed it in 2 of 4 seeds.)
ANOMALY_PRIORITY = 10.0


@dataclass(frozen=True, slots=True)
class ClassifiedSegment:
    segment: Segment
    bound_by: str
    evidence: list[str]


def _own_wall(trace: Trace, span: Span) -> int:
    """A span's time not covered by any of its children (the union, so parallel children count once)."""
    start, end = span.start_ns, max(span.start_ns, span.end_ns)
    covered = 0
    cursor = start
    for child in sorted(trace.children(span.span_id), key=lambda c: c.start_ns):
        child_start, child_end = max(child.start_ns, cursor), min(child.end_ns, end)
        if child_end > child_start:
            covered += child_end - child_start
            cursor = child_end
    return max(0, (end - start) - covered)


def own_time_ns(trace: Trace, span: Span) -> int:
    """Self time: the whole duration of a leaf, the uncovered part of a parent."""
    return _own_wall(trace, span) if trace.children(span.span_id) else span.duration_ns


def _step_after(trace: Trace, parent: Span, next_span: Span | None) -> Span | None:
    """The child of ``parent`` that contains ``next_span`` (the step the parent moved on to)."""
    current = next_span
    seen: set[str] = set()
    while current is not None and current.parent_span_id != parent.span_id:
        if current.span_id in seen:
            return None  # a parent cycle in a hand-built trace
        seen.add(current.span_id)
        current = trace.parent(current)
    return current


def _dependency_wait(trace: Trace, parent: Span, segment: Segment, step: Span | None) -> Classification | None:
    """queueing when the parent's gap before ``step`` was spent waiting on the step's inputs, or
    after they were all ready (the step was held back)."""
    if step is None or segment.duration_ns < QUEUE_MIN_NS:
        return None
    inputs = [trace.get(span_id) for span_id in step.inputs] + [
        trace.get(link.span_id) for link in step.links if link.trace_id == trace.trace_id
    ]
    ready = [span for span in inputs if span is not None]
    if not ready or len(ready) < len(inputs):
        return None
    last = max(ready, key=lambda s: s.end_ns)
    if last.end_ns >= segment.end_ns:
        return None
    label = printable(shorten(step.name, 60))
    source = printable(shorten(last.name, 40))
    if last.end_ns > segment.start_ns:
        owner = trace.agent_of(last)
        by = f" from {printable(owner)}" if owner and owner != trace.agent_of(step) else ""
        return Classification(
            "queueing",
            [f"{label}: waited {format_duration(last.end_ns - segment.start_ns)} for its input ({source}{by}) to finish"],
        )
    return Classification(
        "queueing",
        [
            f"{label}: started {format_duration(step.start_ns - last.end_ns)} after its last input "
            f"({source}) finished; {printable(shorten(parent.name, 40))} held it back"
        ],
    )


class CriticalPath:
    """A trace's critical path, with each span's segments classified on demand.

    Classifying is the costly part (evidence sentences for every segment), and a report needs
    only the biggest spans, so nothing is classified until asked; ``top_groups`` classifies spans
    in order of their critical-path time and stops as soon as no smaller span can make the cut.
    """

    def __init__(self, trace: Trace, segments: list[Segment] | None = None) -> None:
        self.trace = trace
        self.segments = critical_segments(trace) if segments is None else segments
        self.indexes: dict[str, list[int]] = {}
        self.time: dict[str, int] = {}
        for index, segment in enumerate(self.segments):
            if segment.span is not None:
                span_id = segment.span.span_id
                self.indexes.setdefault(span_id, []).append(index)
                self.time[span_id] = self.time.get(span_id, 0) + segment.duration_ns
        self._done: dict[str, list[ClassifiedSegment]] = {}
        self.norms = trace_norms(trace.spans)

    def classify_span(self, span_id: str) -> list[ClassifiedSegment]:
        """The span's segments on the path with their bound_by ([] when it is not on the path)."""
        done = self._done.get(span_id)
        if done is not None:
            return done
        trace, segments = self.trace, self.segments
        out: list[ClassifiedSegment] = []
        whole: Classification | None = None
        own: tuple[Classification, bool] | None = None
        for index in self.indexes.get(span_id, []):
            segment = segments[index]
            span = segment.span
            assert span is not None
            if segment.kind != "self":
                if whole is None:
                    whole = classify(span, span_profile(span), norms=self.norms)
                out.append(ClassifiedSegment(segment, whole.bound_by, whole.evidence))
                continue
            if own is None:
                profile = own_profile(span, trace.children(span_id), _own_wall(trace, span))
                cores = profile.cores_used()
                own = (classify(span, profile, own=True, norms=self.norms), cores is not None and cores >= CPU_BUSY_CORES)
            result = own[0]
            if not own[1]:  # a parent busy on the CPU was working, not holding the next step back
                after = index + 1
                while after < len(segments) and segments[after].span is None:
                    after += 1
                following = segments[after].span if after < len(segments) else None
                result = _dependency_wait(trace, span, segment, _step_after(trace, span, following)) or result
            out.append(ClassifiedSegment(segment, result.bound_by, result.evidence))
        self._done[span_id] = out
        return out

    def classified(self) -> list[ClassifiedSegment]:
        """Every segment that belongs to a span, classified, in time order."""
        items = [item for span_id in self.indexes for item in self.classify_span(span_id)]
        return sorted(items, key=lambda item: item.segment.start_ns)

    def top_groups(self, limit: int) -> list[tuple[int, Span, str, list[str]]]:
        """The ``limit`` biggest (time, span, bound_by, evidence) groups, biggest first."""
        groups: list[tuple[int, Span, str, list[str]]] = []
        for span_id in sorted(self.time, key=lambda sid: -self.time[sid]):
            if len(groups) >= limit and self.time[span_id] <= groups[limit - 1][0]:
                break  # a span's groups are at most its whole time: none of the rest can make the cut
            per_cause: dict[str, list[Any]] = {}
            for item in self.classify_span(span_id):
                entry = per_cause.setdefault(item.bound_by, [0, item.segment.span, item.evidence])
                entry[0] += item.segment.duration_ns
            groups.extend((ns, span, bound_by, evidence) for bound_by, (ns, span, evidence) in per_cause.items())
            groups.sort(key=lambda group: -group[0])
        return groups[:limit]

    def dominant_cause(self, span_id: str) -> ClassifiedSegment | None:
        """The span's classified segment whose bound_by holds most of its critical-path time."""
        totals: dict[str, int] = {}
        first: dict[str, ClassifiedSegment] = {}
        for item in self.classify_span(span_id):
            totals[item.bound_by] = totals.get(item.bound_by, 0) + item.segment.duration_ns
            first.setdefault(item.bound_by, item)
        if not totals:
            return None
        return first[max(totals, key=lambda bound_by: totals[bound_by])]


def _peer_evidence(trace: Trace, span: Span, by_name: dict[str, list[Span]]) -> str | None:
    """An outlier sentence when the span is much slower than its peers (same agent, same name)."""
    agent = trace.agent_of(span)
    peers = [s.duration_ns for s in by_name.get(span.name, []) if s is not span and trace.agent_of(s) == agent]
    if len(peers) < MIN_PEERS:
        return None
    median = statistics.median(peers)
    if median <= 0 or span.duration_ns < OUTLIER_RATIO * median:
        return None
    return (
        f"{printable(shorten(span.name, 60))}: {format_duration(span.duration_ns)} vs a median of "
        f"{format_duration(int(median))} over {len(peers)} other calls ({span.duration_ns / median:.1f}x)"
    )


def segment_bottlenecks(trace: Trace, path: CriticalPath) -> list[Bottleneck]:
    """Critical-path time summed per (span, bound_by), as bottlenecks sorted by share.

    Groups under MIN_SHARE are dropped, except that the biggest is always kept: a trace made of
    thousands of small steps still has a largest one worth showing.
    """
    wall = trace.duration_ns
    if wall <= 0:
        return []
    groups = path.top_groups(MAX_BOTTLENECKS)
    by_name: dict[str, list[Span]] = {}
    names = {span.name for _, span, _, _ in groups}
    for span in trace.spans:
        if span.name in names:
            by_name.setdefault(span.name, []).append(span)
    bottlenecks: list[Bottleneck] = []
    for ns, span, bound_by, evidence in groups:
        share = ns / wall
        if share < MIN_SHARE and bottlenecks:
            break
        sentences = list(evidence)
        outlier = _peer_evidence(trace, span, by_name)
        if outlier is not None:
            sentences.append(outlier)
        sentences.append(f"on the critical path for {format_duration(ns)}, {share * 100:.0f}% of the {format_duration(wall)} run")
        bottlenecks.append(
            Bottleneck(
                span_id=span.span_id,
                bound_by=bound_by,
                share=share,
                evidence=sentences,
                name=span.name,
                agent=trace.agent_of(span),
                duration_ns=span.duration_ns,
            )
        )
    return bottlenecks


def has_real_timing(trace: Trace) -> bool:
    """False when the trace's timestamps were made up (``rootspan.timing`` = "synthetic" on its root).

    Imported logs without times (Who&When) get evenly spaced timestamps so that time order is
    history order; a critical path over them would report "bottlenecks" that measure nothing.
    """
    root = trace.root
    return root is None or root.attributes.get(sc.ROOTSPAN_TIMING) != sc.TIMING_SYNTHETIC


def analyze_slowdown(trace: Trace, graph: Any = None, baseline_trace: Trace | None = None) -> list[Bottleneck]:
    """Bottlenecks of a trace, sorted by share of its wall time (shares sum to at most 1).

    With a baseline that ran faster, the bottlenecks are the spans whose time on the critical
    path grew, each with its share of the candidate's wall time; otherwise the critical path's
    biggest segments. ``graph`` (the failure engine's span graph) is accepted so callers can pass
    what they built, but is not needed: the critical path reads only the span tree.
    """
    del graph
    if not has_real_timing(trace):
        return []
    with gc_paused():
        return _bottlenecks(trace, CriticalPath(trace), baseline_trace)


def _bottlenecks(trace: Trace, path: CriticalPath, baseline_trace: Trace | None) -> list[Bottleneck]:
    if baseline_trace is not None:
        from rootspan.attribution.diff import diff_bottlenecks

        regressions = diff_bottlenecks(baseline_trace, trace, path)
        if regressions:
            return regressions
    return segment_bottlenecks(trace, path)


def primary_bottleneck(trace: Trace, bottlenecks: list[Bottleneck]) -> Bottleneck | None:
    """The one bottleneck to blame: the biggest, with pathologies and outliers weighted up.

    Pathologies are the ANOMALIES causes plus CPU contention (``cpu`` when other processes took
    the cores the span needed); outliers are steps at least OUTLIER_RATIO slower than their peers.
    """
    if not bottlenecks:
        return None
    norms = trace_norms(trace.spans)
    by_name: dict[str, list[Span]] = {}
    names = {b.name for b in bottlenecks}
    for span in trace.spans:
        if span.name in names:
            by_name.setdefault(span.name, []).append(span)

    def score(bottleneck: Bottleneck) -> float:
        span = trace.get(bottleneck.span_id)
        if span is None:
            return bottleneck.share
        pathology = bottleneck.bound_by in ANOMALIES or (
            bottleneck.bound_by == "cpu" and cpu_contention(span, span_profile(span), "", norms) is not None
        )
        outlier = _peer_evidence(trace, span, by_name) is not None
        return bottleneck.share * (ANOMALY_PRIORITY if pathology or outlier else 1.0)

    return max(bottlenecks, key=score)


def slowdown_summary(trace: Trace, baseline_trace: Trace | None = None) -> dict[str, Any]:
    """Critical path, time per bound_by and bottlenecks of a trace, as plain JSON-ready data.

    Each critical-path segment carries its bound_by and, for a span with a kernel profile, the
    part of it the GPU was busy (``gpu_busy_ns``: the segment times the span's busy fraction).
    It classifies every segment, so on a 100k-span trace it takes a few times longer than
    ``analyze_slowdown``, which classifies only the biggest spans. A trace with synthetic timing
    gets no critical path or bottlenecks (``"timing": "synthetic"``).
    """
    if not has_real_timing(trace):
        return {"trace_id": trace.trace_id, "wall_ns": trace.duration_ns, "timing": sc.TIMING_SYNTHETIC,
                "critical_path": [], "by_bound_by": {}, "bottlenecks": [], "primary": None}
    with gc_paused():
        path = CriticalPath(trace)
        classified = path.classified()
        bottlenecks = _bottlenecks(trace, path, baseline_trace)
    wall = trace.duration_ns
    by_bound_by: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for item in classified:
        segment = item.segment
        by_bound_by[item.bound_by] = by_bound_by.get(item.bound_by, 0) + segment.duration_ns
        row: dict[str, Any] = {
            "span_id": segment.span.span_id if segment.span else None,
            "kind": segment.kind,
            "start_ns": segment.start_ns,
            "end_ns": segment.end_ns,
            "bound_by": item.bound_by,
        }
        busy = span_profile(segment.span).busy_fraction() if segment.span is not None and segment.kind != "self" else None
        if busy is not None:
            row["gpu_busy_ns"] = int(segment.duration_ns * busy)
        rows.append(row)
    primary = primary_bottleneck(trace, bottlenecks)
    summary: dict[str, Any] = {
        "trace_id": trace.trace_id,
        "wall_ns": wall,
        "critical_path": rows,
        "by_bound_by": {k: v / wall for k, v in sorted(by_bound_by.items(), key=lambda kv: -kv[1])} if wall else {},
        "bottlenecks": [b.model_dump() for b in bottlenecks],
        "primary": primary.span_id if primary is not None else None,
    }
    if baseline_trace is not None:
        from rootspan.attribution.diff import growth_by_cause

        summary["baseline_wall_ns"] = baseline_trace.duration_ns
        summary["delta_ns"] = wall - baseline_trace.duration_ns
        with gc_paused():
            summary["growth_by_bound_by_ns"] = growth_by_cause(baseline_trace, trace, path)
    return summary

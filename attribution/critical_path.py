"""The critical path of a trace: the chain of spans and self-time segments that set its wall time.

Like HTA's critical path, this is one ``networkx`` longest-path call over a DAG of time points with
typed edges. Each span that has children gets a *timeline*: one node per distinct start/end time of
its children, chained by edges that stand for the span's own time. A leaf child is one edge across
its parent's timeline; a child with children of its own is entered from the parent's timeline at
its start and left at its end. Siblings that run one after the other are therefore joined through
the parent's timeline (happens-before), and siblings that overlap are alternatives.

Every path from the trace's start to its end covers the same wall time, so plain durations would
make every path equally long. What picks the critical one is the weight of the parent's timeline
while one of its children is running: it counts at ``OVERLAP_WEIGHT`` < 1, so the longest path is
the one that spends the most time inside the children doing the work rather than in a parent that
only waits for them. A parent's time with no child running (its *self time*) keeps full weight.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Literal

import networkx as nx

from rootspan.model import Span, Trace
from rootspan.perf import gc_paused  # noqa: F401 - re-exported: the analyses import it from here

# Weight of a parent's timeline while a child it waits on is running. Any value in (0, 1) picks
# the same path (all complete paths cover the same wall time, so the longest one is the one with
# the least overlapped waiting); 0.5 keeps the weights far from float rounding.
OVERLAP_WEIGHT = 0.5

SegmentKind = Literal["span", "self", "overlap", "gap"]


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of the critical path and the span that owns it.

    kind: ``span`` = a whole leaf span; ``self`` = a parent's time with none of its children
    running; ``overlap`` = a parent's time while a child off the chosen chain ran (the segment is
    owned by that child, the one the parent waited on); ``gap`` = time between root spans, owned
    by no span.
    """

    span: Span | None
    start_ns: int
    end_ns: int
    kind: SegmentKind

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


class _Builder:
    """Builds the time-point DAG; node ids are ints, ``times[node]`` is the node's timestamp.

    Edges are collected in plain lists of dicts first (one edge per node pair) and handed to
    networkx once, folded (``_contracted_graph``): building 100k spans edge by edge into a
    DiGraph is several times slower.
    """

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.extent: dict[str, tuple[int, int]] = {}
        self.live: dict[str, list[Span]] = {}  # children that cover some time, by parent id
        self.roots: list[Span] = []
        self.times: list[int] = []  # node id -> timestamp
        self.succ: list[dict[int, tuple[float, str, Span | None]]] = []  # node id -> {next node: edge}
        self.in_degree: list[int] = []
        self.chains: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._measure()

    def _measure(self) -> None:
        """Each span's interval widened to cover its descendants (async children may outlive parents)."""
        by_id = self.trace.by_id
        children: dict[str, list[Span]] = {}
        for span in self.trace.spans:
            parent = span.parent_span_id
            if parent is not None and parent != span.span_id and parent in by_id:
                children.setdefault(parent, []).append(span)
        # parents before children (a depth-first walk from the roots; the loader broke any cycles)
        order: list[Span] = []
        pending = list(self.trace.roots)
        while pending:
            span = pending.pop()
            order.append(span)
            pending.extend(children.get(span.span_id, ()))
        extent = self.extent
        for span in reversed(order):  # children before parents
            start, end = span.start_ns, max(span.start_ns, span.end_ns)
            live = []
            for child in children.get(span.span_id, ()):
                child_start, child_end = extent[child.span_id]
                if child_end > child_start:
                    live.append(child)
                    start = min(start, child_start)
                    end = max(end, child_end)
            extent[span.span_id] = (start, end)
            if live:
                self.live[span.span_id] = live
        self.roots = [root for root in self.trace.roots if extent[root.span_id][1] > extent[root.span_id][0]]

    def _add(self, u: int, v: int, edge: tuple[float, str, Span | None]) -> None:
        out = self.succ[u]
        if v not in out:
            self.in_degree[v] += 1
        out[v] = edge

    def _timeline(self, owner: Span | None, start: int, end: int, children: list[Span]) -> list[int]:
        """Add the owner's timeline and its leaf children; returns the timeline's node ids."""
        extent = self.extent
        spans = [extent[child.span_id] for child in children]
        points = {start, end}
        for child_start, child_end in spans:
            points.add(child_start)
            points.add(child_end)
        times = sorted(points)
        first = len(self.times)
        self.times.extend(times)
        self.succ.extend({} for _ in times)
        self.in_degree.extend(0 for _ in times)
        node_at = {t: first + i for i, t in enumerate(times)}
        succ, in_degree = self.succ, self.in_degree

        # Sweep the timeline: each interval is either the owner's own time or time it spends
        # waiting on the running child that ends last.
        by_start = sorted(range(len(children)), key=lambda k: spans[k][0])
        running: list[tuple[int, int]] = []  # (-end, child index)
        next_child = 0
        own_kind = "self" if owner is not None else "gap"
        for i in range(len(times) - 1):
            t0, t1 = times[i], times[i + 1]
            while next_child < len(by_start) and spans[by_start[next_child]][0] <= t0:
                k = by_start[next_child]
                heapq.heappush(running, (-spans[k][1], k))
                next_child += 1
            while running and -running[0][0] <= t0:
                heapq.heappop(running)
            node = first + i
            if running:
                succ[node][node + 1] = ((t1 - t0) * OVERLAP_WEIGHT, "overlap", children[running[0][1]])
            else:
                succ[node][node + 1] = (t1 - t0, own_kind, owner)
            in_degree[node + 1] = 1

        # A leaf child is one edge across the timeline; it replaces the lighter overlap edge when it
        # spans exactly one interval.
        live = self.live
        for child, (child_start, child_end) in zip(children, spans):
            if child.span_id not in live:
                self._add(node_at[child_start], node_at[child_end], (child_end - child_start, "span", child))
        return [node_at[start], node_at[end]] + [node_at[s] for s, _ in spans] + [node_at[e] for _, e in spans]

    def build(self) -> nx.DiGraph | None:
        """The graph, or None when the trace covers no time at all."""
        # the whole trace, zero-length spans included, so the segments tile trace.duration_ns
        start, end = self.trace.start_ns, self.trace.end_ns
        if end <= start:
            return None
        roots = self.roots
        # (owner, its children, parent timeline nodes to enter it from and leave it to)
        pending: list[tuple[Span | None, list[Span], int, int]] = [(None, roots, -1, -1)]
        while pending:
            owner, children, enter_from, leave_to = pending.pop()
            t0, t1 = (start, end) if owner is None else self.extent[owner.span_id]
            nodes = self._timeline(owner, t0, t1, children)
            if owner is not None:
                self._add(enter_from, nodes[0], (0, "enter", owner))
                self._add(nodes[1], leave_to, (0, "exit", owner))
            count = len(children)
            for index, child in enumerate(children):
                grandchildren = self.live.get(child.span_id)
                if grandchildren:
                    pending.append((child, grandchildren, nodes[2 + index], nodes[2 + count + index]))
        return self._contracted_graph()

    def _contracted_graph(self) -> nx.DiGraph:
        """The DAG with every chain of single-in, single-out nodes folded into one edge.

        A run of sequential steps is such a chain, so most of a large trace folds away before
        networkx sees it; each folded edge remembers the original edges it stands for
        (``self.chains``), which is how the path is unfolded into segments.
        """
        succ, in_degree = self.succ, self.in_degree
        folded: dict[tuple[int, int], tuple[float, list[tuple[int, int]]]] = {}
        for u, outs in enumerate(succ):
            if in_degree[u] == 1 and len(outs) == 1:
                continue  # inside a chain: walked from the chain's head
            for v, edge in outs.items():
                weight = edge[0]
                chain = [(u, v)]
                while in_degree[v] == 1 and len(succ[v]) == 1:
                    (nxt, edge), = succ[v].items()
                    weight += edge[0]
                    chain.append((v, nxt))
                    v = nxt
                if (u, v) not in folded or folded[u, v][0] < weight:
                    folded[u, v] = (weight, chain)
        self.chains = {key: chain for key, (_, chain) in folded.items()}
        graph = nx.DiGraph()
        graph.add_weighted_edges_from((u, v, weight) for (u, v), (weight, _) in folded.items())
        return graph


def critical_segments(trace: Trace) -> list[Segment]:
    """The critical path as time-ordered segments that tile the trace's wall time without overlap."""
    with gc_paused():
        return _critical_segments(trace)


def _critical_segments(trace: Trace) -> list[Segment]:
    builder = _Builder(trace)
    graph = builder.build()
    if graph is None:
        return []
    path = nx.dag_longest_path(graph, weight="weight")
    times = builder.times
    succ = builder.succ
    chains = builder.chains
    segments: list[Segment] = []
    for u, v in (edge for hop in zip(path, path[1:]) for edge in chains[hop]):
        _, kind, span = succ[u][v]
        if kind in ("enter", "exit") or times[v] <= times[u]:
            continue
        last = segments[-1] if segments else None
        if last is not None and last.span is span and last.kind == kind and last.end_ns == times[u]:
            segments[-1] = Segment(span, last.start_ns, times[v], kind)
        else:
            segments.append(Segment(span, times[u], times[v], kind))
    return segments


def critical_path(trace: Trace) -> list[Span]:
    """Spans on the critical path in time order: the chain of leaves plus every span it runs inside."""
    segments = critical_segments(trace)
    if not segments:
        return [trace.root] if trace.root is not None else []
    by_id = trace.by_id
    on_path: dict[str, Span] = {}
    for segment in segments:
        if segment.span is None or segment.span.span_id in on_path:
            continue
        chain = [segment.span]
        seen = {segment.span.span_id}  # parent cycles end the walk instead of looping
        ancestor = by_id.get(segment.span.parent_span_id or "")
        while ancestor is not None and ancestor.span_id not in on_path and ancestor.span_id not in seen:
            chain.append(ancestor)
            seen.add(ancestor.span_id)
            ancestor = by_id.get(ancestor.parent_span_id or "")
        for member in reversed(chain):  # ancestors first, so the stable sort below keeps them first on ties
            on_path[member.span_id] = member
    return sorted(on_path.values(), key=lambda s: (s.start_ns, -s.end_ns))

"""The one graph every attribution analysis reads: spans as nodes, tree, time order and data flow as edges.

Built once per trace (STYLE.md, the HTA way): the failure analysis walks its data-flow edges back
from the failing output, the slowdown analysis follows happens-before, the TUI can draw it.
Edges carry a ``type``: ``child`` (parent -> child), ``next`` (happens-before between consecutive
sibling steps), ``data`` (producer -> consumer: ``rootspan.inputs``, span links, or inferred from
a value produced by one span and reused by a later one). Node attributes hold the span, its
position, agent, kind and the per-span profile aggregates (``rootspan.gpu.*``/``rootspan.cpu.*``).

Data-flow inference is linear in the trace: spans are replayed as start/end events in time
order; at a span's start its input values are looked up in a dictionary of who produced each
value last, at its end its output values are registered. Values a span outputs that nobody
produced or saw before are kept as its *novel* values (what the unsupported-claim rule reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from rootspan import semconv as sc
from rootspan.attribution.content import input_text, numbers, output_text, tokens
from rootspan.model import Span, SpanKind, Trace

if TYPE_CHECKING:  # networkx is imported lazily so the CLI starts fast
    import networkx as nx

MAX_DATA_PARENTS = 16  # inferred producers kept per consumer: enough to follow, bounded for huge traces

CHILD = "child"
NEXT = "next"
DATA = "data"


def profile_of(span: Span) -> dict[str, Any]:
    """The span's per-span profile aggregates (device and host)."""
    return {
        key: value
        for key, value in span.attributes.items()
        if key.startswith(sc.ROOTSPAN_GPU_PREFIX) or key.startswith(sc.ROOTSPAN_CPU_PREFIX)
    }


@dataclass
class AttributionGraph:
    """A trace with its graph and the per-span facts the analyses share (texts, values, order)."""

    trace: Trace
    order: list[Span]
    position: dict[str, int]
    outputs: dict[str, str]
    inputs: dict[str, str]
    output_tokens: dict[str, set[str]]
    novel_tokens: dict[str, set[str]]
    novel_numbers: dict[str, set[str]]  # every number (single digits too) a span output first
    data_parents: dict[str, dict[str, str]]  # consumer -> {producer: how ("inputs", "link", or a value)}
    data_children: dict[str, list[str]]
    next_step: dict[str, str]  # span -> its following sibling when they run one after the other
    root: Span | None
    by_id: dict[str, Span]
    parents: dict[str, Span]  # child id -> parent span (only parents inside the trace)
    kids: dict[str, list[Span]]
    agents: dict[str, str | None]
    _nx: "nx.DiGraph | None" = field(default=None, repr=False)

    # plain-dict lookups: the analyses call these per span, and pydantic private attributes are slow
    def span(self, span_id: str) -> Span:
        return self.by_id[span_id]

    def agent(self, span: Span) -> str | None:
        return self.agents.get(span.span_id)

    def parent(self, span: Span) -> Span | None:
        return self.parents.get(span.span_id)

    def children(self, span_id: str) -> list[Span]:
        return self.kids.get(span_id, [])

    def before(self, span: Span) -> Iterator[Span]:
        """Spans that started earlier, latest first."""
        for index in range(self.position[span.span_id] - 1, -1, -1):
            yield self.order[index]

    def upstream(self, span_id: str, limit: int = 100_000) -> list[str]:
        """Every span the given one depends on through data flow, nearest first (breadth-first)."""
        seen = {span_id}
        frontier = [span_id]
        found: list[str] = []
        while frontier and len(found) < limit:
            following: list[str] = []
            for current in frontier:
                for producer in self.data_parents.get(current, {}):
                    if producer not in seen:
                        seen.add(producer)
                        found.append(producer)
                        following.append(producer)
            frontier = following
        return found

    def data_path(self, source: str, target: str) -> list[str] | None:
        """A shortest data-flow path from ``source`` to ``target`` (both included), if one exists."""
        if source == target:
            return [source]
        parent_of: dict[str, str] = {}
        frontier = [target]
        seen = {target}
        while frontier:
            following: list[str] = []
            for current in frontier:
                for producer in self.data_parents.get(current, {}):
                    if producer in seen:
                        continue
                    seen.add(producer)
                    parent_of[producer] = current
                    if producer == source:
                        path = [source]
                        while path[-1] != target:
                            path.append(parent_of[path[-1]])
                        return path
                    following.append(producer)
            frontier = following
        return None

    @property
    def nx(self) -> "nx.DiGraph":
        """The networkx view (built on first use; nodes carry span facts and profiles, edges a type)."""
        if self._nx is None:
            self._nx = _to_networkx(self)
        return self._nx


def _tree(order: list[Span], by_id: dict[str, Span]) -> tuple[dict[str, Span], dict[str, list[Span]]]:
    parents: dict[str, Span] = {}
    kids: dict[str, list[Span]] = {}
    for span in order:
        parent_id = span.parent_span_id
        if parent_id and parent_id != span.span_id and parent_id in by_id:
            parents[span.span_id] = by_id[parent_id]
            kids.setdefault(parent_id, []).append(span)
    return parents, kids


def _agents(order: list[Span], parents: dict[str, Span]) -> dict[str, str | None]:
    """Each span's responsible agent: its own agent name or its nearest agent ancestor's."""
    agents: dict[str, str | None] = {}
    late: list[Span] = []
    for span in order:  # parents start before their children, so one pass settles almost all
        own = span.agent_name
        if own is not None:
            agents[span.span_id] = own
            continue
        parent = parents.get(span.span_id)
        if parent is None:
            agents[span.span_id] = None
        elif parent.span_id in agents:
            agents[span.span_id] = agents[parent.span_id]
        else:
            late.append(span)
    for span in late:  # clock skew: a child recorded as starting before its parent
        current = parents.get(span.span_id)
        seen: set[str] = set()
        name = None
        while current is not None and current.span_id not in seen:
            seen.add(current.span_id)
            name = current.agent_name
            if name is not None:
                break
            current = parents.get(current.span_id)
        agents[span.span_id] = name
    return agents


def _sequential_siblings(order: list[Span], parents: dict[str, Span]) -> dict[str, str]:
    """Each span -> the next sibling that starts after it ends (happens-before)."""
    groups: dict[str | None, list[Span]] = {}
    for span in order:
        parent = parents.get(span.span_id)
        groups.setdefault(parent.span_id if parent else None, []).append(span)
    following: dict[str, str] = {}
    for siblings in groups.values():
        for earlier, later in zip(siblings, siblings[1:]):
            if earlier.end_ns <= later.start_ns:
                following[earlier.span_id] = later.span_id
    return following


def build_graph(trace: Trace) -> AttributionGraph:
    """Build the attribution graph of one trace (linear in spans and content size)."""
    order = list(trace.spans)  # already sorted by start time (then end time)
    by_id = {span.span_id: span for span in order}
    parents, kids = _tree(order, by_id)
    position = {span.span_id: index for index, span in enumerate(order)}
    outputs = {span.span_id: output_text(span) for span in order}
    inputs = {span.span_id: input_text(span) for span in order}
    data_parents: dict[str, dict[str, str]] = {}

    # Explicit data flow first: it is what the tracer recorded, inference only fills gaps.
    for span in order:
        explicit: dict[str, str] = {}
        for producer in span.inputs:
            if producer in by_id and producer != span.span_id:
                explicit[producer] = "inputs"
        for link in span.links:
            if link.trace_id == trace.trace_id and link.span_id in by_id and link.span_id != span.span_id:
                explicit.setdefault(link.span_id, "link")
        if explicit:
            data_parents[span.span_id] = explicit

    output_tokens: dict[str, set[str]] = {}
    novel_tokens: dict[str, set[str]] = {}
    novel_numbers: dict[str, set[str]] = {}
    _infer_data_flow(order, by_id, parents, outputs, inputs, data_parents, output_tokens, novel_tokens, novel_numbers)

    data_children: dict[str, list[str]] = {}
    for consumer, producers in data_parents.items():
        for producer in producers:
            data_children.setdefault(producer, []).append(consumer)
    return AttributionGraph(
        trace=trace,
        order=order,
        position=position,
        outputs=outputs,
        inputs=inputs,
        output_tokens=output_tokens,
        novel_tokens=novel_tokens,
        novel_numbers=novel_numbers,
        data_parents=data_parents,
        data_children=data_children,
        next_step=_sequential_siblings(order, parents),
        root=trace.root,
        by_id=by_id,
        parents=parents,
        kids=kids,
        agents=_agents(order, parents),
    )


def _infer_data_flow(
    order: list[Span],
    by_id: dict[str, Span],
    parents: dict[str, Span],
    outputs: dict[str, str],
    inputs: dict[str, str],
    data_parents: dict[str, dict[str, str]],
    output_tokens: dict[str, set[str]],
    novel_tokens: dict[str, set[str]],
    novel_numbers: dict[str, set[str]],
) -> None:
    """Replay spans as start/end events; link each reused value to the span that produced it last."""
    events: list[tuple[int, int, int]] = []
    for index, span in enumerate(order):
        # at equal times an end comes before a start (an output is ready for the next step),
        # starts in start order, ends innermost first (children end before their parent)
        events.append((span.start_ns, 1, index))
        events.append((span.end_ns, 0, -index))
    events.sort()

    last_producer: dict[str, str] = {}
    seen: set[str] = set()
    seen_numbers: set[str] = set()
    ancestors_cache: dict[str, set[str]] = {}

    def ancestors(span: Span) -> set[str]:
        cached = ancestors_cache.get(span.span_id)
        if cached is None:
            cached = set()
            current = parents.get(span.span_id)
            while current is not None and current.span_id not in cached:
                cached.add(current.span_id)
                current = parents.get(current.span_id)
            ancestors_cache[span.span_id] = cached
        return cached

    def link(consumer: Span, values: set[str]) -> None:
        parents = data_parents.get(consumer.span_id)
        own = ancestors(consumer)
        for value in sorted(values):
            producer_id = last_producer.get(value)
            if producer_id is None or producer_id == consumer.span_id or producer_id in own:
                continue
            producer = by_id[producer_id]
            if consumer.span_id in ancestors(producer):
                continue  # a child's output flowing up to its parent is the tree edge already
            if parents is None:
                parents = data_parents.setdefault(consumer.span_id, {})
            if producer_id not in parents:
                if len(parents) >= MAX_DATA_PARENTS:
                    break
                parents[producer_id] = value

    for _, is_start, signed_index in events:
        span = order[signed_index if is_start else -signed_index]
        span_id = span.span_id
        if is_start:
            text = inputs[span_id]
            if text:
                found = numbers(text)
                seen_numbers.update(found)
                values = tokens(text, found_numbers=found)
                if values:
                    link(span, values)
                    seen.update(values)
            continue
        text = outputs[span_id]
        found = numbers(text) if text else []
        novel_numbers[span_id] = set(found) - seen_numbers
        seen_numbers.update(found)
        values = tokens(text, found_numbers=found) if text else set()
        output_tokens[span_id] = values
        if not values:
            novel_tokens[span_id] = set()
            continue
        link(span, values)
        novel_tokens[span_id] = values - seen
        seen.update(values)
        for value in values:
            last_producer[value] = span_id


def _to_networkx(graph: AttributionGraph) -> "nx.DiGraph":
    import networkx as nx

    trace = graph.trace
    digraph = nx.DiGraph(trace_id=trace.trace_id)
    digraph.add_nodes_from(
        (
            span.span_id,
            {
                "span": span,
                "position": graph.position[span.span_id],
                "step": span.step,
                "agent": graph.agent(span),
                "kind": (span.kind or SpanKind.OTHER).value,
                "name": span.name,
                "duration_ns": span.duration_ns,
                "error": span.is_error,
                "profile": profile_of(span),
            },
        )
        for span in graph.order
    )
    digraph.add_edges_from((parent.span_id, child_id, {"type": CHILD}) for child_id, parent in graph.parents.items())
    digraph.add_edges_from((earlier, later, {"type": NEXT}) for earlier, later in graph.next_step.items())
    for consumer, producers in graph.data_parents.items():
        for producer, how in producers.items():
            if digraph.has_edge(producer, consumer):
                digraph.edges[producer, consumer]["data"] = how
            else:
                digraph.add_edge(producer, consumer, type=DATA, data=how)
    return digraph

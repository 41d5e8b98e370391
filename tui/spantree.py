"""The waterfall's rows: which spans are visible given collapsed nodes and filters, and their marks.

Kept free of Textual so it can be tested directly and so its cost is plain to see: building the
model is one pass over the trace, and ``rows()`` walks only the expanded part of the tree, which
is what keeps a 100k-span trace responsive.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Iterator, NamedTuple

from rootspan import semconv as sc
from rootspan.model import Span, SpanKind, Trace

# Loops are repeats of a block of up to this many sibling steps (A, A / A, B, A, B / ...).
MAX_LOOP_PERIOD = 3
# Expanded on first view: the root and its children, enough to show agent turns; for big traces
# only the root, so the first screen lists the agent turns instead of every span.
DEFAULT_OPEN_DEPTH = 2
BIG_TRACE_SPANS = 5_000
_CONTENT_KEYS = (sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_INPUT_MESSAGES)


class Row(NamedTuple):
    """One visible line of the waterfall (a tuple: 100k of them are built in a blink)."""

    span: Span
    depth: int
    has_children: bool
    expanded: bool


@dataclass
class SpanFilter:
    """What the user narrowed the waterfall to; an empty filter shows everything."""

    text: str = ""
    agent: str | None = None
    kind: SpanKind | None = None
    errors_only: bool = False

    @property
    def active(self) -> bool:
        return bool(self.text or self.agent or self.kind or self.errors_only)

    def describe(self) -> str:
        parts = []
        if self.text:
            parts.append(f"text~{self.text}")
        if self.agent:
            parts.append(f"agent={self.agent}")
        if self.kind:
            parts.append(f"kind={self.kind.value}")
        if self.errors_only:
            parts.append("status=error")
        return ", ".join(parts)


def _signature(span: Span) -> tuple[object, ...]:
    """What makes two sibling calls "the same call": name, own agent and, when captured, the input.

    Siblings share their parent, so an inherited agent is the same for all of them: only a
    span's own agent name can tell two siblings apart.
    """
    attributes = span.attributes
    return (span.name, attributes.get(sc.GEN_AI_AGENT_NAME), *(attributes.get(key) for key in _CONTENT_KEYS))


def loop_positions(signatures: list[tuple[object, ...]]) -> dict[int, int]:
    """Positions that repeat the block of siblings just before them, with their iteration number.

    For a period p, a stretch where sig[j] == sig[j-p] holds for at least p steps in a row means a
    whole block came round again; each position in the stretch gets its iteration (2 = the first
    repeat). Smaller periods win, so A, A, A reads as one call repeated, not as a block of two.
    """
    marks: dict[int, int] = {}
    count = len(signatures)
    for period in range(1, MAX_LOOP_PERIOD + 1):
        run = 0
        for j in range(period, count):
            run = run + 1 if signatures[j] == signatures[j - period] else 0
            if run < period:
                continue
            start = j - run + 1
            for k in range(start, j + 1) if run == period else (j,):
                marks.setdefault(k, (k - start) // period + 2)
    return marks


class TreeIndex:
    """A trace's tree as the waterfall reads it: the trace's own children map and roots, plus a
    parent map and agent/order maps built in one pass each, for the 100k-span case.
    Same tree as Trace: a parent missing from the trace makes its child a root.
    """

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.children: dict[str, list[Span]] = trace.children_by_id
        self.roots = trace.roots
        by_id = trace.by_id
        self.parent: dict[str, Span] = {
            child.span_id: by_id[parent_id] for parent_id, kids in self.children.items() for child in kids
        }

    @cached_property
    def agent(self) -> dict[str, str | None]:
        """Span id -> responsible agent (own or nearest ancestor's); built on first use."""
        agents: dict[str, str | None] = {}
        for span, _ in self.walk():
            own = span.agent_name
            parent = self.parent.get(span.span_id)
            agents[span.span_id] = own if own is not None else (agents.get(parent.span_id) if parent else None)
        return agents

    @cached_property
    def order(self) -> dict[str, int]:
        """Span id -> position in depth-first order; built on first use."""
        return {span.span_id: position for position, (span, _) in enumerate(self.walk())}

    def walk(self) -> Iterator[tuple[Span, int]]:
        """Depth-first (span, depth), children in start order; visits each span once."""
        return self.trace.walk()

    def ancestors(self, span: Span) -> Iterator[Span]:
        return self.trace.ancestors(span)


class WaterfallModel:
    """A trace's tree with collapse state, filters, repeat/loop marks and highlighted paths."""

    def __init__(self, trace: Trace, open_depth: int | None = None) -> None:
        self.trace = trace
        # Trace.start_ns/end_ns scan every span; the bars need them on every drawn line.
        self.start_ns = trace.start_ns
        self.duration_ns = max(1, trace.end_ns - self.start_ns)
        self.filter = SpanFilter()
        self.expanded: set[str] = set()
        self.repeats: dict[str, int] = {}
        self.error_below: set[str] = set()
        self.failure_path: set[str] = set()
        self.critical_path: set[str] = set()
        self.culprit: str | None = None
        # Nodes the user closed while a filter is on (a filter opens every path to a match).
        self.collapsed_in_filter: set[str] = set()
        self._rows: list[Row] | None = None
        self.index = TreeIndex(trace)
        self._mark()
        if open_depth is None:
            open_depth = DEFAULT_OPEN_DEPTH if len(trace.spans) <= BIG_TRACE_SPANS else 1
        level = self.index.roots
        for _ in range(open_depth):
            level = [span for span in level if span.span_id in self.index.children]
            self.expanded.update(span.span_id for span in level)
            level = [child for span in level for child in self.index.children[span.span_id]]

    def _mark(self) -> None:
        """Repeat/loop marks per sibling group and which subtrees hide an error."""
        index = self.index
        for siblings in [index.roots, *index.children.values()]:
            if len(siblings) < 2:
                continue
            sigs = [_signature(span) for span in siblings]
            for position, iteration in loop_positions(sigs).items():
                self.repeats[siblings[position].span_id] = iteration
        for span in self.trace.spans:
            if span.is_error:
                for ancestor in index.ancestors(span):
                    if ancestor.span_id in self.error_below:
                        break
                    self.error_below.add(ancestor.span_id)

    # -- state changes -------------------------------------------------------------------------

    def invalidate(self) -> None:
        self._rows = None

    def set_filter(self, span_filter: SpanFilter) -> None:
        self.filter = span_filter
        self.collapsed_in_filter = set()
        self.invalidate()

    def set_paths(self, failure_path: Iterable[str], critical_path: Iterable[str], culprit: str | None) -> None:
        self.failure_path = set(failure_path)
        self.critical_path = set(critical_path)
        self.culprit = culprit
        self.invalidate()

    def toggle(self, span_id: str) -> None:
        if self.filter.active:
            self.collapsed_in_filter ^= {span_id}
        elif span_id in self.expanded:
            self.expanded.discard(span_id)
        elif span_id in self.index.children:
            self.expanded.add(span_id)
        self.invalidate()

    def expand_all(self) -> None:
        self.expanded = set(self.index.children)
        self.invalidate()

    def collapse_all(self) -> None:
        self.expanded = set()
        self.invalidate()

    def reveal(self, span_id: str) -> None:
        """Expand every ancestor so the span gets a row (used to jump to the culprit)."""
        span = self.trace.get(span_id)
        if span is None:
            return
        for ancestor in self.index.ancestors(span):
            self.expanded.add(ancestor.span_id)
            self.collapsed_in_filter.discard(ancestor.span_id)
        self.invalidate()

    # -- queries -------------------------------------------------------------------------------

    def matches(self, span: Span) -> bool:
        span_filter = self.filter
        if span_filter.errors_only and not span.is_error:
            return False
        if span_filter.kind is not None and span.kind != span_filter.kind:
            return False
        if span_filter.agent is not None and self.index.agent.get(span.span_id) != span_filter.agent:
            return False
        if span_filter.text:
            needle = span_filter.text.lower()
            if needle not in span.name.lower() and needle not in span.span_id:
                return False
        return True

    def _visible_ids(self) -> set[str] | None:
        """With a filter on: the matching spans and their ancestors (the tree stays readable)."""
        if not self.filter.active:
            return None
        visible: set[str] = set()
        for span in self.trace.spans:
            if self.matches(span):
                visible.add(span.span_id)
                for ancestor in self.index.ancestors(span):
                    if ancestor.span_id in visible:
                        break
                    visible.add(ancestor.span_id)
        return visible

    def rows(self) -> list[Row]:
        """The visible rows, depth first; only expanded subtrees are walked."""
        if self._rows is not None:
            return self._rows
        index = self.index
        visible = self._visible_ids()
        rows: list[Row] = []
        seen: set[str] = set()
        stack: list[tuple[Span, int]] = [(root, 0) for root in reversed(index.roots)]
        while stack:
            span, depth = stack.pop()
            if span.span_id in seen or (visible is not None and span.span_id not in visible):
                continue
            seen.add(span.span_id)
            children = index.children.get(span.span_id, [])
            if visible is not None:
                children = [child for child in children if child.span_id in visible]
            if visible is None:
                expanded = bool(children) and span.span_id in self.expanded
            else:
                expanded = bool(children) and span.span_id not in self.collapsed_in_filter
            rows.append(Row(span, depth, bool(children), expanded))
            if expanded:
                stack.extend((child, depth + 1) for child in reversed(children))
        self._rows = rows
        return rows

    def row_of(self, span_id: str) -> int | None:
        for index, row in enumerate(self.rows()):
            if row.span.span_id == span_id:
                return index
        return None

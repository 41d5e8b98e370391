"""Pair the spans of a baseline trace with those of a candidate, so a diff can say what changed.

Spans match on (agent, operation, name) and order. The alignment follows the span tree: the
roots are aligned, then the children of each matched pair, so a step inserted in one agent's
turn shifts nothing in another's. Each list of siblings is aligned with Myers' diff over the
keys (an LCS that tolerates inserted and removed steps); siblings left over with equal keys are
then paired in order, which catches steps that only swapped places (parallel work finishing in
another order). Common prefixes and suffixes are matched first and the diff's work is capped,
so long, similar sibling lists align in near-linear time and very different ones fall back to
pairing in order.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Hashable, Iterator, Sequence

from rootspan import semconv as sc
from rootspan.attribution.critical_path import gc_paused
from rootspan.model import Span, Trace

# Snake steps Myers' diff may take on one sibling list before giving up on order and pairing
# equal keys in order instead: ~1 s of Python, far above what similar runs need (a few edits
# cost a few times the list length).
MAX_DIFF_WORK = 2_000_000

Pair = tuple[Span | None, Span | None]


def span_key(span: Span, agent: str | None) -> tuple[str, str, str]:
    """What makes two spans "the same step": agent, operation (or kind), name."""
    operation = span.attributes.get(sc.GEN_AI_OPERATION_NAME)
    if not isinstance(operation, str) or not operation:
        operation = span.kind.value if span.kind is not None else ""
    return (agent or "", operation, span.name)


def _myers(a: Sequence[Hashable], b: Sequence[Hashable], max_work: int) -> list[tuple[int, int]] | None:
    """Index pairs of a longest common subsequence (Myers' O((N+M)D) greedy diff), or None past max_work."""
    n, m = len(a), len(b)
    v: dict[int, int] = {1: 0}
    history: list[dict[int, int]] = []
    work = 0
    for d in range(n + m + 1):
        history.append(dict(v))
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[k - 1] < v[k + 1]):
                x = v[k + 1]
            else:
                x = v[k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            work += 1 + x - start
            v[k] = x
            if x >= n and y >= m:
                return _backtrack(history, n, m)
        if work > max_work:
            return None
    return _backtrack(history, n, m)


def _backtrack(history: list[dict[int, int]], n: int, m: int) -> list[tuple[int, int]]:
    matches: list[tuple[int, int]] = []
    x, y = n, m
    for d in range(len(history) - 1, -1, -1):
        v = history[d]
        k = x - y
        if d == 0:
            prev_x = prev_y = 0
        else:
            prev_k = k + 1 if (k == -d or (k != d and v[k - 1] < v[k + 1])) else k - 1
            prev_x = v[prev_k]
            prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x -= 1
            y -= 1
            matches.append((x, y))
        x, y = prev_x, prev_y
    matches.reverse()
    return matches


def align_lists(base_keys: Sequence[Hashable], cand_keys: Sequence[Hashable]) -> list[tuple[int | None, int | None]]:
    """Align two key sequences: index pairs in candidate order, removed base items where they were."""
    n, m = len(base_keys), len(cand_keys)
    prefix = 0
    while prefix < n and prefix < m and base_keys[prefix] == cand_keys[prefix]:
        prefix += 1
    suffix = 0
    while suffix < n - prefix and suffix < m - prefix and base_keys[n - 1 - suffix] == cand_keys[m - 1 - suffix]:
        suffix += 1
    middle = _myers(base_keys[prefix : n - suffix], cand_keys[prefix : m - suffix], MAX_DIFF_WORK) or []
    match_of_cand: dict[int, int] = {j: j - (m - n) for j in range(m - suffix, m)}
    match_of_cand.update({j: j for j in range(prefix)})
    match_of_cand.update({prefix + j: prefix + i for i, j in middle})

    # steps that moved: leftovers with the same key, paired in order
    matched_base = set(match_of_cand.values())
    leftovers: dict[Hashable, deque[int]] = defaultdict(deque)
    for i in range(n):
        if i not in matched_base:
            leftovers[base_keys[i]].append(i)
    for j in range(m):
        if j not in match_of_cand:
            queue = leftovers.get(cand_keys[j])
            if queue:
                match_of_cand[j] = queue.popleft()
    matched_base = set(match_of_cand.values())

    result: list[tuple[int | None, int | None]] = []
    next_base = 0  # removed base items are emitted before the first candidate matched past them
    for j in range(m):
        i = match_of_cand.get(j)
        if i is not None:
            while next_base < i:
                if next_base not in matched_base:
                    result.append((next_base, None))
                next_base += 1
            if next_base == i:
                next_base += 1
        result.append((i, j))
    for i in range(next_base, n):
        if i not in matched_base:
            result.append((i, None))
    return result


class _Tree:
    """Children in step order and each span's agent (its own or its nearest agent ancestor's)."""

    def __init__(self, trace: Trace) -> None:
        children: dict[str | None, list[Span]] = defaultdict(list)
        by_id = trace.by_id
        for span in trace.spans:
            parent = span.parent_span_id
            children[parent if parent in by_id and parent != span.span_id else None].append(span)
        for siblings in children.values():
            siblings.sort(key=lambda s: (s.step if s.step is not None else float("inf"), s.start_ns))
        self.children = children
        self.agent: dict[str, str | None] = {}
        pending: list[tuple[Span, str | None]] = [(root, None) for root in children.get(None, [])]
        while pending:
            span, inherited = pending.pop()
            if span.span_id in self.agent:
                continue  # parent cycles were broken by the loader; never loop on one anyway
            own = span.agent_name or inherited
            self.agent[span.span_id] = own
            pending.extend((child, own) for child in children.get(span.span_id, ()))

    def keys(self, spans: list[Span]) -> list[tuple[str, str, str]]:
        return [span_key(span, self.agent.get(span.span_id)) for span in spans]


def align_traces(baseline: Trace, candidate: Trace) -> list[Pair]:
    """Every span of both traces once: (baseline, candidate) pairs, None where a step was added or removed.

    Pairs come in tree order (a span, then its subtree), candidate order among siblings.
    """
    with gc_paused():
        return _align_traces(baseline, candidate)


def _align_traces(baseline: Trace, candidate: Trace) -> list[Pair]:
    base_tree, cand_tree = _Tree(baseline), _Tree(candidate)
    out: list[Pair] = []

    def lone(tree: _Tree, span: Span, is_base: bool) -> Iterator[Pair]:
        """A span with no partner and its whole subtree, none of which can have partners either."""
        pending = [span]
        while pending:
            current = pending.pop()
            yield (current, None) if is_base else (None, current)
            pending.extend(reversed(tree.children.get(current.span_id, [])))

    def siblings(base_parent: str | None, cand_parent: str | None) -> Iterator[Pair]:
        base = base_tree.children.get(base_parent, [])
        cand = cand_tree.children.get(cand_parent, [])
        if not base or not cand:
            return iter([(s, None) for s in base] + [(None, s) for s in cand])
        pairs = align_lists(base_tree.keys(base), cand_tree.keys(cand))
        return iter([(base[i] if i is not None else None, cand[j] if j is not None else None) for i, j in pairs])

    # one iterator of aligned siblings per level: a stack keeps tree order without recursion
    stack: list[Iterator[Pair]] = [siblings(None, None)]
    while stack:
        pair = next(stack[-1], None)
        if pair is None:
            stack.pop()
            continue
        base, cand = pair
        if base is not None and cand is not None:
            out.append(pair)
            stack.append(siblings(base.span_id, cand.span_id))
        elif base is not None:
            out.extend(lone(base_tree, base, True))
        elif cand is not None:
            out.extend(lone(cand_tree, cand, False))
    return out

"""Baseline/candidate alignment: inserted, removed, reordered and renamed steps, and the tree."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from slowdown_fixtures import agent, llm, tool, trace, workflow

from rootspan.attribution import align
from rootspan.attribution.align import align_lists, align_traces


def _pairs(pairs) -> list[tuple[str | None, str | None]]:
    return [(b.span_id if b else None, c.span_id if c else None) for b, c in pairs]


def _turn(prefix: str, start: float, steps: list[str]) -> list:
    """An agent turn: one child per step name, 10ms each, in order."""
    spans = [agent(f"{prefix}", start, start + 10 * len(steps), "w", "planner")]
    for index, step in enumerate(steps):
        t0 = start + 10 * index
        make = tool if step != "chat" else None
        child_id = f"{prefix}.{index}"
        spans.append(llm(child_id, t0, t0 + 10, prefix) if make is None else make(child_id, t0, t0 + 10, prefix, step))
    return spans


def test_identical_traces_pair_every_span_in_tree_order() -> None:
    base = trace(workflow("w", 0, 40), *_turn("a", 0, ["chat", "search", "chat"]))
    cand = trace(workflow("w", 0, 40), *_turn("a", 0, ["chat", "search", "chat"]))
    assert _pairs(align_traces(base, cand)) == [("w", "w"), ("a", "a"), ("a.0", "a.0"), ("a.1", "a.1"), ("a.2", "a.2")]


def test_inserted_step_is_unpaired_and_later_steps_still_pair() -> None:
    base = trace(workflow("w", 0, 40), *_turn("a", 0, ["chat", "search", "chat", "calc"]))
    cand = trace(workflow("w", 0, 60), *_turn("a", 0, ["chat", "search", "chat", "search", "chat", "calc"]))
    pairs = _pairs(align_traces(base, cand))
    assert ("a.3", "a.5") in pairs  # calc still pairs with calc
    added = [c for b, c in pairs if b is None]
    assert sorted(added) in (["a.1", "a.2"], ["a.2", "a.3"], ["a.3", "a.4"])
    assert all(b is not None for b, c in pairs if c is None) and len(pairs) == 1 + 1 + 6


def test_removed_step_appears_once_with_no_partner_where_it_was() -> None:
    base = trace(workflow("w", 0, 40), *_turn("a", 0, ["chat", "search", "calc", "chat"]))
    cand = trace(workflow("w", 0, 30), *_turn("a", 0, ["chat", "search", "chat"]))
    assert _pairs(align_traces(base, cand)) == [
        ("w", "w"), ("a", "a"), ("a.0", "a.0"), ("a.1", "a.1"), ("a.2", None), ("a.3", "a.2"),
    ]


def test_reordered_parallel_steps_still_pair() -> None:
    base = trace(workflow("w", 0, 40), *_turn("a", 0, ["search", "calc", "fetch"]))
    cand = trace(workflow("w", 0, 40), *_turn("a", 0, ["fetch", "calc", "search"]))
    pairs = _pairs(align_traces(base, cand))
    assert ("a.0", "a.2") in pairs and ("a.2", "a.0") in pairs and ("a.1", "a.1") in pairs
    assert all(b is not None and c is not None for b, c in pairs)


def test_removed_agent_turn_takes_its_subtree_along() -> None:
    base = trace(workflow("w", 0, 60), *_turn("a", 0, ["chat"]), *_turn("b", 20, ["search", "chat"]))
    cand = trace(workflow("w", 0, 20), *_turn("a", 0, ["chat"]))
    pairs = _pairs(align_traces(base, cand))
    assert ("b", None) in pairs and ("b.0", None) in pairs and ("b.1", None) in pairs
    assert ("a.0", "a.0") in pairs


def test_different_agents_do_not_pair() -> None:
    base = trace(agent("x", 0, 10, None, "planner"))
    cand = trace(agent("y", 0, 10, None, "coder"))
    assert _pairs(align_traces(base, cand)) == [(None, "y"), ("x", None)] or _pairs(align_traces(base, cand)) == [
        ("x", None), (None, "y"),
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("abc"), max_size=30), st.lists(st.sampled_from("abc"), max_size=30))
def test_align_lists_is_a_consistent_matching(base: list[str], cand: list[str]) -> None:
    pairs = align_lists(base, cand)
    assert sorted(i for i, _ in pairs if i is not None) == list(range(len(base)))
    assert [j for _, j in pairs if j is not None] == list(range(len(cand)))
    assert all(base[i] == cand[j] for i, j in pairs if i is not None and j is not None)
    # as many pairs as the multiset of keys allows: every common key occurrence is paired
    common = sum(min(base.count(k), cand.count(k)) for k in "abc")
    assert sum(1 for i, j in pairs if i is not None and j is not None) == common


def test_align_lists_keeps_order_around_one_insertion_in_a_long_periodic_list() -> None:
    base = ["chat", "tool"] * 5000
    cand = base[:4000] + ["tool", "chat"] + base[4000:]
    pairs = align_lists(base, cand)
    matched = [(i, j) for i, j in pairs if i is not None and j is not None]
    assert len(matched) == len(base)
    assert all(i == j for i, j in matched if j < 4000) and all(j == i + 2 for i, j in matched if j >= 4002)


def test_align_lists_falls_back_to_pairing_in_order_past_the_work_cap(monkeypatch) -> None:
    monkeypatch.setattr(align, "MAX_DIFF_WORK", 100)
    rng = random.Random(7)
    base = [rng.randrange(5) for _ in range(500)]
    cand = [rng.randrange(5) for _ in range(500)]
    pairs = align_lists(base, cand)
    assert all(base[i] == cand[j] for i, j in pairs if i is not None and j is not None)
    assert sorted(i for i, _ in pairs if i is not None) == list(range(500))
    # equal keys pair in order: the k-th "0" of the candidate gets the k-th "0" of the baseline
    zeros = [(i, j) for i, j in pairs if i is not None and j is not None and cand[j] == 0]
    assert [i for i, _ in sorted(zeros, key=lambda p: p[1])] == sorted(i for i, _ in zeros)


def _lcs_length(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    return table[0][0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from("abcd"), max_size=25), st.lists(st.sampled_from("abcd"), max_size=25))
def test_myers_finds_a_longest_common_subsequence(base: list[str], cand: list[str]) -> None:
    matches = align._myers(base, cand, align.MAX_DIFF_WORK)
    assert matches is not None and len(matches) == _lcs_length(base, cand)
    assert all(base[i] == cand[j] for i, j in matches)
    assert all(i1 < i2 and j1 < j2 for (i1, j1), (i2, j2) in zip(matches, matches[1:]))

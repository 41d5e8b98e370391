"""Bottlenecks with and without a baseline: shares, ordering, and the delta landing on what changed."""

from __future__ import annotations

import pytest
from slowdown_fixtures import MS, agent, llm, tool, trace, workflow

from rootspan.attribution.diff import diff_bottlenecks, growth_by_cause
from rootspan.attribution.slowdown import analyze_slowdown, primary_bottleneck, slowdown_summary


def _run(search_ms: float, extra_step: bool = False, imbalance: float = 1.3, first_chat_ms: float = 400):
    """planner: chat -> search -> chat; the search, the first chat and the second chat's profile vary."""
    t0 = 0.0
    spans = [llm("c1", t0, t0 + first_chat_ms, "a", gen_ai__usage__input_tokens=100, gen_ai__usage__output_tokens=50)]
    t0 += first_chat_ms
    spans.append(tool("s", t0, t0 + search_ms, "a", "search", rootspan__cpu__utilization=0.02))
    t0 += search_ms
    if extra_step:
        spans.append(tool("s2", t0, t0 + 300, "a", "search", rootspan__cpu__utilization=0.02))
        t0 += 300
    spans.append(
        llm("c2", t0, t0 + 500, "a", gen_ai__usage__input_tokens=300, gen_ai__usage__output_tokens=60,
            rootspan__gpu__kernel_time_ns=400 * MS, rootspan__gpu__kernel_count=900, rootspan__gpu__moe__imbalance_max=imbalance)
    )
    t0 += 500
    return trace(workflow("w", 0, t0 + 10), agent("a", 0, t0, "w", "planner"), *spans)


def test_bottlenecks_are_sorted_and_shares_sum_to_at_most_one() -> None:
    bottlenecks = analyze_slowdown(_run(2310))
    shares = [b.share for b in bottlenecks]
    assert shares == sorted(shares, reverse=True)
    assert 0.99 <= sum(shares) <= 1.0
    top = bottlenecks[0]
    assert (top.span_id, top.bound_by, top.agent, top.name) == ("s", "tool_io", "planner", "execute_tool search")
    assert top.duration_ns == 2310 * MS
    assert top.share == pytest.approx(2310 / 3220)


def test_baseline_diff_puts_the_slowdown_on_the_one_span_that_changed() -> None:
    baseline, candidate = _run(120), _run(2310)
    bottlenecks = analyze_slowdown(candidate, baseline_trace=baseline)
    assert [b.span_id for b in bottlenecks] == ["s"]
    only = bottlenecks[0]
    assert only.bound_by == "tool_io"
    assert only.share == pytest.approx(2190 / 3220)
    assert only.evidence[0] == "execute_tool search: 2.31s vs 120ms in the baseline (+2.19s, 100% of the +2.19s slowdown)"


def test_baseline_diff_names_an_inserted_step_and_a_changed_cause() -> None:
    baseline, candidate = _run(120), _run(120, extra_step=True, imbalance=7.5)
    # c2 is not slower, so only the inserted search shows; now make c2 slower too
    candidate.by_id["c2"].end_ns += 400 * MS
    candidate.by_id["a"].end_ns += 400 * MS
    candidate.by_id["w"].end_ns += 400 * MS
    bottlenecks = diff_bottlenecks(baseline, candidate)
    by_id = {b.span_id: b for b in bottlenecks}
    assert set(by_id) == {"s2", "c2"}
    assert by_id["c2"].bound_by == "moe_imbalance"
    assert "not in the baseline" in by_id["s2"].evidence[0]
    assert any("bound by moe_imbalance now, llm_decode in the baseline" == e for e in by_id["c2"].evidence)
    assert any("expert imbalance 1.3x -> 7.5x" in e for e in by_id["c2"].evidence)
    assert by_id["c2"].evidence[0].startswith("chat tiny-moe: 900ms vs 500ms in the baseline (+400ms, 57% of the +700ms")


def test_a_candidate_that_is_not_slower_gets_the_plain_critical_path() -> None:
    baseline, candidate = _run(2310), _run(120)
    assert diff_bottlenecks(baseline, candidate) == []
    assert analyze_slowdown(candidate, baseline_trace=baseline) == analyze_slowdown(candidate)


def test_growth_off_the_critical_path_is_not_blamed() -> None:
    def parallel(side_ms: float):
        return trace(
            workflow("w", 0, 1000),
            agent("a", 0, 1000, "w", "planner"),
            tool("main", 0, 1000, "a", "search"),
            tool("side", 0, side_ms, "a", "fetch"),
        )

    slower = trace(*[s.model_copy() for s in parallel(900).spans])
    slower.by_id["main"].end_ns = 1300 * MS
    slower.by_id["a"].end_ns = 1300 * MS
    slower.by_id["w"].end_ns = 1300 * MS
    bottlenecks = diff_bottlenecks(parallel(100), slower)
    assert [b.span_id for b in bottlenecks] == ["main"]


def test_primary_bottleneck_prefers_a_pathology_over_bigger_normal_work() -> None:
    t = trace(
        workflow("w", 0, 1000),
        agent("a", 0, 1000, "w", "planner"),
        llm("decode", 0, 600, "a", gen_ai__usage__input_tokens=20, gen_ai__usage__output_tokens=300),
        llm("skewed", 600, 1000, "a", rootspan__gpu__kernel_time_ns=300 * MS, rootspan__gpu__kernel_count=500,
            rootspan__gpu__moe__imbalance_max=8.0),
    )
    bottlenecks = analyze_slowdown(t)
    assert bottlenecks[0].span_id == "decode"
    assert primary_bottleneck(t, bottlenecks).span_id == "skewed"
    summary = slowdown_summary(t)
    assert summary["primary"] == "skewed"
    assert summary["by_bound_by"] == {"llm_decode": 0.6, "moe_imbalance": 0.4}
    assert [(row["span_id"], row["bound_by"], row.get("gpu_busy_ns")) for row in summary["critical_path"]] == [
        ("decode", "llm_decode", None), ("skewed", "moe_imbalance", 300 * MS),
    ]


def test_primary_bottleneck_prefers_a_slow_outlier_among_peers() -> None:
    spans = [workflow("w", 0, 2000), agent("a", 0, 2000, "w", "planner")]
    for index in range(4):
        spans.append(tool(f"s{index}", index * 100, index * 100 + 100, "a", "search"))
    spans.append(tool("slow", 400, 900, "a", "search"))
    spans.append(llm("think", 900, 2000, "a", gen_ai__usage__input_tokens=10, gen_ai__usage__output_tokens=500))
    t = trace(*spans)
    bottlenecks = analyze_slowdown(t)
    assert bottlenecks[0].span_id == "think"
    assert primary_bottleneck(t, bottlenecks).span_id == "slow"
    slow = next(b for b in bottlenecks if b.span_id == "slow")
    assert "vs a median of 100ms over 4 other calls (5.0x)" in " ".join(slow.evidence)


def test_primary_bottleneck_counts_cpu_contention_as_a_pathology() -> None:
    t = trace(
        workflow("w", 0, 1000),
        agent("a", 0, 1000, "w", "planner"),
        tool("build", 0, 600, "a", "compile", rootspan__cpu__time_ns=590 * MS, rootspan__cpu__utilization=0.9),
        llm("starved", 600, 1000, "a", rootspan__cpu__time_ns=120 * MS, rootspan__cpu__utilization=0.15,
            rootspan__cpu__system_utilization=0.99),
    )
    bottlenecks = analyze_slowdown(t)
    assert [(b.span_id, b.bound_by) for b in bottlenecks] == [("build", "cpu"), ("starved", "cpu")]
    assert primary_bottleneck(t, bottlenecks).span_id == "starved"


def test_a_step_that_grew_more_than_the_whole_run_says_so() -> None:
    # the search grew by 1s while the first chat got 600ms faster: the run is only +400ms slower
    baseline, candidate = _run(500, first_chat_ms=1000), _run(1500, first_chat_ms=400)
    only = analyze_slowdown(candidate, baseline_trace=baseline)[0]
    assert only.span_id == "s"
    assert only.evidence[0] == (
        "execute_tool search: 1.5s vs 500ms in the baseline (+1s, more than the whole run's +400ms: other steps got faster)"
    )


def test_growth_by_cause_sums_every_step_that_grew() -> None:
    baseline, candidate = _run(120), _run(2310, extra_step=True, imbalance=7.5)
    growth = growth_by_cause(baseline, candidate)
    assert growth == {"tool_io": (2190 + 300) * MS}
    summary = slowdown_summary(candidate, baseline_trace=baseline)
    assert summary["delta_ns"] == (2190 + 300) * MS and summary["growth_by_bound_by_ns"] == growth


def _searches(parallel: bool, count: int = 3, extra_turns: int = 0):
    """researcher: `count` searches of 400 ms (all at once or one after another), then chats."""
    spans, t0 = [], 0.0
    for index in range(count):
        start = 0.0 if parallel else t0
        spans.append(tool(f"q{index}", start, start + 400, "a", "web_search", rootspan__cpu__utilization=0.02))
        t0 = max(t0, start + 400)
    for index in range(1 + extra_turns):
        spans.append(llm(f"c{index}", t0, t0 + 200, "a", gen_ai__usage__input_tokens=100, gen_ai__usage__output_tokens=20))
        t0 += 200
    return trace(workflow("w", 0, t0 + 10), agent("a", 0, t0, "w", "researcher"), *spans)


def test_calls_that_stopped_overlapping_blame_the_step_that_made_them() -> None:
    # each search takes as long as before; the researcher now waits for them one by one
    bottlenecks = diff_bottlenecks(_searches(parallel=True), _searches(parallel=False))
    top = bottlenecks[0]
    assert top.span_id == "a" and top.bound_by == "tool_io"
    assert any("one after another" in line for line in top.evidence)
    assert top.share == pytest.approx(800 / 1410, rel=0.05)


def test_extra_model_turns_blame_the_agent_that_took_them() -> None:
    bottlenecks = diff_bottlenecks(_searches(parallel=True), _searches(parallel=True, extra_turns=3))
    top = bottlenecks[0]
    assert top.span_id == "a"
    assert any("3 more calls than the baseline" in line for line in top.evidence)
    # one extra turn is that turn's own slowdown, not a change of the agent's shape
    single = diff_bottlenecks(_searches(parallel=True), _searches(parallel=True, extra_turns=1))
    assert single[0].span_id == "c1"

"""bound_by on synthetic profiles with a known answer: one test per class, plus the rules' edges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slowdown_fixtures import MS, agent, llm, span, tool, trace, workflow

from rootspan.attribution.bound_by import BOUND_BY_VALUES, classify, own_profile, span_profile
from rootspan.attribution.slowdown import analyze_slowdown
from rootspan.model import Span, SpanEvent, Trace

GiB = 2**30
H100 = {"rootspan__gpu__peak_flops": 989e12, "rootspan__gpu__peak_bandwidth_bytes_per_s": 3.35e12}


def _kernels(duration_ms: float, busy: float, count: int, **extra) -> dict:
    """GPU profile attributes for a span of the given length, busy fraction and kernel count."""
    return {
        "rootspan__gpu__kernel_time_ns": int(duration_ms * MS * busy),
        "rootspan__gpu__kernel_count": count,
        "rootspan__gpu__busy_fraction": busy,
        **extra,
    }


def _top(*spans) -> tuple[str, str, list[str]]:
    """(span id, bound_by, evidence) of the biggest bottleneck of a workflow holding the spans."""
    t = trace(workflow("w", 0, 1000), agent("a", 0, 1000, "w", "solver"), *spans)
    top = analyze_slowdown(t)[0]
    return top.span_id, top.bound_by, top.evidence


CASES = {
    "llm_remote_latency": lambda: llm("x", 0, 1000, "a", provider="openai"),
    "llm_prefill": lambda: llm(
        "x", 0, 1000, "a", gen_ai__usage__input_tokens=4000, gen_ai__usage__output_tokens=8,
        rootspan__cpu__time_ns=1900 * MS, rootspan__cpu__utilization=0.95,
    ),
    "llm_decode": lambda: llm(
        "x", 0, 1000, "a", gen_ai__usage__input_tokens=120, gen_ai__usage__output_tokens=200,
        rootspan__cpu__time_ns=1900 * MS, rootspan__cpu__utilization=0.95,
    ),
    "gpu_compute": lambda: llm("x", 0, 1000, "a", **_kernels(1000, 0.95, 800, rootspan__gpu__achieved_flops=520e12, **H100)),
    "gpu_memory_bandwidth": lambda: llm(
        "x", 0, 1000, "a", **_kernels(1000, 0.9, 800, rootspan__gpu__achieved_bytes_per_s=2.6e12, **H100)
    ),
    "gpu_launch_overhead": lambda: llm("x", 0, 1000, "a", **_kernels(1000, 0.1, 20_000)),
    "host_sync": lambda: llm("x", 0, 1000, "a", **_kernels(1000, 0.4, 900, rootspan__cpu__sync_wait_ns=450 * MS, rootspan__gpu__sync_count=300)),
    "gpu_throttled": lambda: llm(
        "x", 0, 1000, "a", **_kernels(1000, 0.9, 800, rootspan__gpu__throttle_reasons=["sw_power_cap", "hw_slowdown"], rootspan__gpu__sm_clock__mean_mhz=810)
    ),
    "moe_imbalance": lambda: llm("x", 0, 1000, "a", **_kernels(1000, 0.7, 800, rootspan__gpu__moe__imbalance_max=9.5)),
    "gpu_memory_pressure": lambda: llm(
        "x", 0, 1000, "a",
        **_kernels(1000, 0.6, 800, rootspan__gpu__mem__peak_reserved_bytes=78 * GiB, rootspan__gpu__mem__total_bytes=80 * GiB),
    ),
    "tool_io": lambda: tool("x", 0, 1000, "a", "search", rootspan__cpu__time_ns=30 * MS, rootspan__cpu__utilization=0.002),
    # one core of a 64-core machine: a small share of the machine, but the tool is computing
    "cpu": lambda: tool("x", 0, 1000, "a", "compile", rootspan__cpu__time_ns=990 * MS, rootspan__cpu__utilization=0.015),
    "queueing": lambda: llm("x", 0, 1000, "a", **_kernels(1000, 0.08, 30, rootspan__gpu__util__mean=0.96)),
}


def test_every_documented_bound_by_value_has_a_known_answer_case() -> None:
    assert set(CASES) == set(BOUND_BY_VALUES)


@pytest.mark.parametrize("expected", sorted(CASES))
def test_each_bound_by_class_on_a_known_profile(expected: str) -> None:
    span_id, bound_by, evidence = _top(CASES[expected]())
    assert (span_id, bound_by) == ("x", expected)
    assert evidence and any(ch.isdigit() for ch in evidence[0])


def test_sync_count_alone_flags_host_sync() -> None:
    assert _top(llm("x", 0, 1000, "a", **_kernels(1000, 0.35, 400, rootspan__gpu__sync_count=200)))[1] == "host_sync"


def test_oom_flag_and_oom_exception_mean_memory_pressure() -> None:
    assert _top(llm("x", 0, 1000, "a", **_kernels(1000, 0.6, 100, rootspan__gpu__oom=True)))[1] == "gpu_memory_pressure"
    failed = llm("x", 0, 1000, "a", **_kernels(1000, 0.6, 100))
    failed.events.append(SpanEvent(name="exception", attributes={"exception.type": "torch.OutOfMemoryError"}))
    assert _top(failed)[1] == "gpu_memory_pressure"


def test_software_power_cap_under_load_is_not_throttling() -> None:
    busy = llm("x", 0, 1000, "a", **_kernels(1000, 0.95, 800, rootspan__gpu__achieved_flops=520e12, rootspan__gpu__throttle_reasons=["sw_power_cap"], **H100))
    assert _top(busy)[1] == "gpu_compute"


def test_cpu_contention_stays_cpu_and_says_contention() -> None:
    victim = llm(
        "x", 0, 1000, "a", gen_ai__usage__input_tokens=50, gen_ai__usage__output_tokens=64,
        rootspan__cpu__time_ns=620 * MS, rootspan__cpu__utilization=0.31, rootspan__cpu__system_utilization=0.98,
    )
    _, bound_by, evidence = _top(victim)
    assert bound_by == "cpu" and "contention" in evidence[0] and "98%" in evidence[0]
    # a busy machine does not make an idle wait on I/O a CPU problem
    waiting = tool("x", 0, 1000, "a", "search", rootspan__cpu__time_ns=5 * MS, rootspan__cpu__utilization=0.002,
                   rootspan__cpu__system_utilization=0.98)
    assert _top(waiting)[1] == "tool_io"
    # nor is our own process saturating the machine contention
    hungry = llm("x", 0, 1000, "a", rootspan__cpu__time_ns=1900 * MS, rootspan__cpu__utilization=0.95,
                 rootspan__cpu__system_utilization=0.99)
    assert _top(hungry)[1] == "llm_decode"


def test_percent_scaled_utilisations_are_read_as_fractions() -> None:
    victim = tool("x", 0, 1000, "a", "search", rootspan__cpu__time_ns=400 * MS, rootspan__cpu__utilization=20.0,
                  rootspan__cpu__system_utilization=97.0)
    assert _top(victim)[1] == "cpu"


def test_time_to_first_token_splits_prefill_and_decode() -> None:
    slow_prefill = llm("x", 0, 1000, "a", gen_ai__response__time_to_first_token=0.8, gen_ai__usage__output_tokens=40)
    slow_decode = llm("x", 0, 1000, "a", gen_ai__response__time_to_first_token=0.1, gen_ai__usage__output_tokens=40)
    assert _top(slow_prefill)[1] == "llm_prefill"
    assert _top(slow_decode)[1] == "llm_decode"


def test_no_profile_at_all_falls_back_to_span_kind() -> None:
    t = trace(
        workflow("w", 0, 300),
        agent("a", 0, 300, "w", "solver"),
        llm("remote", 0, 100, "a", provider="anthropic"),
        tool("search", 100, 250, "a", "search"),
    )
    causes = {b.span_id: b.bound_by for b in analyze_slowdown(t)}
    assert causes == {"remote": "llm_remote_latency", "search": "tool_io", "a": "cpu"}


def test_parent_own_time_uses_its_own_profile_not_its_childrens() -> None:
    # The agent's inclusive profile is all from its LLM child; its own 400ms used no GPU.
    child = llm("x", 400, 1000, "a", **_kernels(600, 0.95, 800, rootspan__gpu__achieved_flops=520e12, **H100))
    child.attributes["rootspan.cpu.time_ns"] = 60 * MS
    parent = agent("a", 0, 1000, "w", "solver", rootspan__gpu__kernel_time_ns=570 * MS, rootspan__gpu__kernel_count=800,
                   rootspan__gpu__busy_fraction=0.57, rootspan__cpu__time_ns=440 * MS, rootspan__cpu__utilization=0.4)
    profile = own_profile(parent, [child], 400 * MS)
    assert profile.number("rootspan.gpu.kernel_time_ns") == 0
    assert profile.busy_fraction() == 0
    assert profile.cores_used() == pytest.approx(0.95)
    assert classify(parent, profile, own=True).bound_by == "cpu"
    assert classify(child, span_profile(child)).bound_by == "gpu_compute"


def test_dependency_wait_in_the_parent_is_queueing() -> None:
    first = tool("t", 0, 100, "a", "search")
    second = llm("l", 700, 1000, "a", provider="openai", rootspan__inputs=["t"])
    t = trace(workflow("w", 0, 1000), agent("a", 0, 1000, "w", "solver"), first, second)
    bottlenecks = analyze_slowdown(t)
    waiting = [b for b in bottlenecks if b.span_id == "a"]
    assert waiting and waiting[0].bound_by == "queueing" and "after its last input" in waiting[0].evidence[0]
    assert waiting[0].share == pytest.approx(0.6)


def test_unrelated_attributes_never_crash_the_rules() -> None:
    odd = span(
        "x", 0, 1000, "a", rootspan__gpu__busy_fraction="high", rootspan__gpu__throttle_reasons="hw_slowdown,gpu_idle",
        rootspan__gpu__kernel_count=True, rootspan__cpu__utilization=None,
    )
    assert _top(odd)[1] == "cpu"  # nothing usable: no GPU activity, so the clock reasons do not apply
    odd.attributes["rootspan.gpu.kernel_time_ns"] = 500 * MS
    assert _top(odd)[1] == "gpu_throttled"


def test_moe_imbalance_is_judged_against_the_traces_typical_call() -> None:
    calls = [
        llm(f"c{i}", i * 100, i * 100 + 100, "a", **_kernels(100, 0.7, 300, rootspan__gpu__moe__imbalance_max=3.4))
        for i in range(4)
    ]
    skewed = llm("skew", 400, 1000, "a", **_kernels(600, 0.7, 300, rootspan__gpu__moe__imbalance_max=7.9))
    t = trace(workflow("w", 0, 1000), agent("a", 0, 1000, "w", "solver"), *calls, skewed)
    causes = {b.span_id: b.bound_by for b in analyze_slowdown(t)}
    assert causes["skew"] == "moe_imbalance"
    assert all(causes[f"c{i}"] == "llm_decode" for i in range(4))
    evidence = analyze_slowdown(t)[0].evidence[0]
    assert "7.9x" in evidence and "typical call in this trace 3.4x" in evidence


def _team(victim: Span, peers: int = 4, **peer_attrs) -> Trace:
    """A solver making ``peers`` ordinary 100ms LLM calls, then the victim call."""
    calls = [llm(f"c{i}", i * 100, i * 100 + 100, "a", **peer_attrs) for i in range(peers)]
    return trace(workflow("w", 0, 1000), agent("a", 0, 1000, "w", "solver"), *calls, victim)


def test_host_sync_against_peers_when_every_call_syncs_a_lot() -> None:
    ordinary = dict(rootspan__gpu__kernel_count=400, rootspan__gpu__sync_count=100, rootspan__gpu__kernel_time_ns=50 * MS,
                    rootspan__gpu__busy_fraction=0.5, rootspan__cpu__sync_wait_ns=5 * MS)
    victim = llm("v", 400, 1000, "a", rootspan__gpu__kernel_count=2400, rootspan__gpu__sync_count=2000,
                 rootspan__gpu__kernel_time_ns=240 * MS, rootspan__gpu__busy_fraction=0.4, rootspan__cpu__sync_wait_ns=60 * MS)
    causes = {b.span_id: b.bound_by for b in analyze_slowdown(_team(victim, **ordinary))}
    assert causes["v"] == "host_sync"
    assert all(causes[f"c{i}"] != "host_sync" for i in range(4))  # 0.25 syncs/kernel is this model's normal


def test_nvml_only_contention_and_launch_overhead_against_peers() -> None:
    ordinary = dict(rootspan__gpu__util__mean=0.45, rootspan__cpu__time_ns=95 * MS)
    hammered = llm("v", 400, 1000, "a", rootspan__gpu__util__mean=0.99, rootspan__cpu__time_ns=500 * MS)
    t = _team(hammered, **ordinary)
    causes = {b.span_id: b.bound_by for b in analyze_slowdown(t)}
    assert causes["v"] == "queueing" and all(causes[f"c{i}"] == "llm_decode" for i in range(4))
    launch_bound = llm("v", 400, 1000, "a", rootspan__gpu__util__mean=0.12, rootspan__cpu__time_ns=590 * MS)
    top = analyze_slowdown(_team(launch_bound, **ordinary))[0]
    assert (top.span_id, top.bound_by) == ("v", "gpu_launch_overhead")
    assert "12%" in top.evidence[0] and "45%" in top.evidence[0]


def test_on_an_always_busy_machine_only_the_starved_call_is_contention() -> None:
    # measured on the demo: every call ran with the machine at 100%; the victim got 0.07 cores
    ordinary = dict(rootspan__cpu__time_ns=70 * MS, rootspan__cpu__utilization=0.35, rootspan__cpu__system_utilization=1.0)
    victim = llm("v", 400, 1000, "a", rootspan__cpu__time_ns=42 * MS, rootspan__cpu__utilization=0.035,
                 rootspan__cpu__system_utilization=1.0)
    bottlenecks = analyze_slowdown(_team(victim, **ordinary))
    causes = {b.span_id: b.bound_by for b in bottlenecks}
    assert causes["v"] == "cpu" and all(causes[f"c{i}"] == "llm_decode" for i in range(4))
    assert "0.07 cores against 0.70 in this trace's typical LLM call" in bottlenecks[0].evidence[0]


def test_a_parent_busy_on_its_own_is_not_a_victim_of_contention() -> None:
    # measured with profile=full on the demo: the agent spends 2s outside its LLM call processing
    # profiler output, at 1.2 cores of a 2-core machine that is 100% busy
    child = llm("x", 0, 500, "a", rootspan__cpu__time_ns=80 * MS, rootspan__cpu__utilization=0.08,
                rootspan__cpu__system_utilization=1.0)
    parent = agent("a", 0, 2500, "w", "solver", rootspan__cpu__time_ns=2480 * MS, rootspan__cpu__utilization=0.496,
                   rootspan__cpu__system_utilization=1.0)
    profile = own_profile(parent, [child], 2000 * MS)
    assert profile.fraction("rootspan.cpu.utilization") == pytest.approx(0.6)
    result = classify(parent, profile, own=True)
    assert result.bound_by == "cpu" and "contention" not in result.evidence[0] and "1.20 CPU cores" in result.evidence[0]


def test_an_agent_idle_until_another_agents_output_is_ready_is_queueing() -> None:
    t = trace(
        workflow("w", 0, 100),
        agent("A", 0, 60, "w", "researcher"),
        tool("a", 0, 50, "A", "search"),
        agent("B", 0, 100, "w", "writer", rootspan__cpu__time_ns=1 * MS),
        llm("x", 55, 100, "B", provider="openai", rootspan__inputs=["a"]),
    )
    waiting = next(b for b in analyze_slowdown(t) if b.span_id == "B")
    assert waiting.bound_by == "queueing"
    assert waiting.evidence[0] == "chat tiny-moe: waited 50ms for its input (execute_tool search from researcher) to finish"


_PROFILE_KEYS = [
    "rootspan.gpu.kernel_time_ns", "rootspan.gpu.kernel_count", "rootspan.gpu.busy_fraction", "rootspan.gpu.sync_count",
    "rootspan.gpu.launch_overhead_ns", "rootspan.gpu.achieved_flops", "rootspan.gpu.peak_flops",
    "rootspan.gpu.achieved_bytes_per_s", "rootspan.gpu.peak_bandwidth_bytes_per_s", "rootspan.gpu.util.mean",
    "rootspan.gpu.moe.imbalance_max", "rootspan.gpu.moe.imbalance_mean", "rootspan.gpu.mem.peak_reserved_bytes",
    "rootspan.gpu.mem.total_bytes", "rootspan.gpu.throttle_reasons", "rootspan.gpu.oom", "rootspan.gpu.dram_bw_util.mean",
    "rootspan.gpu.tensor_util.mean", "rootspan.cpu.time_ns", "rootspan.cpu.utilization", "rootspan.cpu.system_utilization",
    "rootspan.cpu.sync_wait_ns", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.response.time_to_first_token", "rootspan.inputs",
]
_VALUES = st.one_of(
    st.integers(-5, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(), st.text(max_size=5),
    st.lists(st.sampled_from(["hw_slowdown", "sw_power_cap", "x"]), max_size=3),
)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["llm", "tool", "agent"]), st.dictionaries(st.sampled_from(_PROFILE_KEYS), _VALUES, max_size=8)),
             min_size=1, max_size=6),
)
def test_any_profile_values_give_a_known_cause_and_valid_shares(steps) -> None:
    spans = [workflow("w", 0, 100 * len(steps)), agent("a", 0, 100 * len(steps), "w", "solver")]
    for index, (kind, attributes) in enumerate(steps):
        make = {"llm": lambda i, s, e: llm(i, s, e, "a"), "tool": lambda i, s, e: tool(i, s, e, "a", "t"),
                "agent": lambda i, s, e: agent(i, s, e, "a", "helper")}[kind]
        step = make(f"x{index}", index * 100, index * 100 + 90)
        step.attributes.update(attributes)
        spans.append(step)
    bottlenecks = analyze_slowdown(trace(*spans))
    assert bottlenecks and all(b.bound_by in BOUND_BY_VALUES for b in bottlenecks)
    assert sum(b.share for b in bottlenecks) <= 1.0 + 1e-9
    assert [b.share for b in bottlenecks] == sorted((b.share for b in bottlenecks), reverse=True)


def test_non_finite_numbers_are_ignored() -> None:
    odd = llm("x", 0, 1000, "a", rootspan__cpu__sync_wait_ns=float("inf"), rootspan__gpu__sync_count=float("nan"),
              rootspan__gpu__kernel_count=500, rootspan__gpu__kernel_time_ns=float("inf"),
              gen_ai__usage__output_tokens=float("inf"), gen_ai__response__time_to_first_token=float("nan"))
    assert _top(odd)[1] == "llm_decode"

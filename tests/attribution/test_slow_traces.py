"""Slow traces: the robust peer test, the baseline test, and the `attribute` summary that names them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rootspan.attribution import attribute_run
from rootspan.attribution.slow_traces import find_slow_traces, slow_summary
from rootspan.cli import run as cli
from rootspan.attribution.render import render_verdict
from rootspan.model import Bottleneck, Culprit, Span, Verdict
from rootspan.rundir import load_run, write_traces

MS = 1_000_000
T0 = 1_700_000_000_000_000_000


def _trace(index: int, llm_ms: float, tool_ms: float, name: str = "invoke_workflow report") -> list[Span]:
    """A workflow: one agent turn with an LLM call, then a tool call of ``tool_ms``."""
    t = f"{index + 1:08x}" + "cd" * 12
    start = T0 + index * 10_000 * MS

    def span(n: int, parent: int | None, span_name: str, begin: float, end: float, **attributes: object) -> Span:
        return Span(trace_id=t, span_id=f"{index + 1:08x}{n:08x}", parent_span_id=None if parent is None else f"{index + 1:08x}{parent:08x}",
                    name=span_name, start_ns=start + int(begin * MS), end_ns=start + int(end * MS), attributes=attributes)

    end = 1 + llm_ms + tool_ms + 1
    return [
        span(1, None, name, 0, end + 1, **{"gen_ai.operation.name": "invoke_workflow", "rootspan.step": 0}),
        span(2, 1, "invoke_agent researcher", 0.5, end, **{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher", "rootspan.step": 1}),
        span(3, 2, "chat tiny-moe", 1, 1 + llm_ms, **{"gen_ai.operation.name": "chat", "rootspan.step": 2}),
        span(4, 2, "execute_tool web_search", 1 + llm_ms, 1 + llm_ms + tool_ms,
             **{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "web_search", "rootspan.step": 3}),
    ]


def _run(tmp_path: Path, tools_ms: list[float], name: str = "run", seed: int = 0) -> Path:
    rng = random.Random(seed)
    spans: list[Span] = []
    for index, tool in enumerate(tools_ms):
        spans += _trace(index, 100 * rng.lognormvariate(0, 0.15), tool)
    write_traces(tmp_path / name, spans)
    return tmp_path / name


def test_a_trace_ten_times_its_peers_is_slow_with_its_primary_bottleneck(tmp_path: Path) -> None:
    path = _run(tmp_path, [50.0] * 9 + [3000.0])
    run = load_run(path)
    verdicts = attribute_run(run)
    (slow,) = find_slow_traces(run, verdicts)
    last = run.trace_list()[-1]
    assert slow.trace_id == last.trace_id and slow.against == "peers"
    assert slow.ratio > 10
    # the reason is the verdict's first bottleneck: the tool call, with its step and agent
    verdict = next(v for v in verdicts if v.trace_id == last.trace_id)
    assert slow.span_id == verdict.bottlenecks[0].span_id
    assert (slow.step, slow.agent, slow.name, slow.bound_by) == (3, "researcher", "execute_tool web_search", verdict.bottlenecks[0].bound_by)


def test_ordinary_spread_is_not_slow(tmp_path: Path) -> None:
    # durations vary (log-normal, sigma 0.15 on the LLM call; tools from 40 to 90 ms): no trace is flagged
    path = _run(tmp_path, [40.0 + 5 * (i % 11) for i in range(40)], seed=3)
    run = load_run(path)
    assert find_slow_traces(run, attribute_run(run)) == []


def test_a_noisy_group_needs_more_than_twice_its_median(tmp_path: Path) -> None:
    # peers spread widely (a factor of 2-3 is normal here): a trace at 2.5x their median is inside that spread
    tools = [20.0, 400.0, 60.0, 250.0, 30.0, 500.0, 80.0, 350.0, 40.0, 900.0]
    run = load_run(_run(tmp_path, tools))
    assert find_slow_traces(run, []) == []


def test_microsecond_traces_are_never_slow(tmp_path: Path) -> None:
    spans: list[Span] = []
    for index in range(10):
        spans += [s.model_copy(update={"end_ns": s.start_ns + (s.end_ns - s.start_ns) // 10_000}) for s in
                  _trace(index, 1.0, 40.0 if index == 9 else 1.0)]
    write_traces(tmp_path / "tiny", spans)
    run = load_run(tmp_path / "tiny")
    assert find_slow_traces(run, []) == []  # 20x, but a few microseconds longer


def test_peers_are_traces_of_the_same_task(tmp_path: Path) -> None:
    # four long reports and six short lookups: a long report is not slow next to the lookups
    spans: list[Span] = []
    for index in range(10):
        report = index < 4
        spans += _trace(index, 100, 2000.0 if report else 40.0, "invoke_workflow report" if report else "invoke_workflow lookup")
    write_traces(tmp_path / "mixed", spans)
    run = load_run(tmp_path / "mixed")
    assert find_slow_traces(run, []) == []


def test_against_a_baseline_each_trace_is_compared_with_its_match(tmp_path: Path) -> None:
    baseline = load_run(_run(tmp_path, [50.0] * 3, "base"))
    candidate = load_run(_run(tmp_path, [50.0, 50.0, 800.0], "cand"))
    result = slow_summary(candidate, attribute_run(candidate, baseline=baseline), baseline)
    assert result["slow"] == 1
    (item,) = result["slow_traces"]
    assert item["against"] == "baseline" and item["trace_id"] == candidate.trace_list()[2].trace_id
    assert item["ratio"] > 3 and item["bound_by"]
    # with only three traces there are too few peers to call any of them slow without a baseline
    assert find_slow_traces(candidate, []) == []


def test_attribute_summary_names_the_slow_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _run(tmp_path, [50.0] * 9 + [3000.0])
    assert cli(["attribute", str(path)]) == 0
    out = capsys.readouterr().out
    last = load_run(path).trace_list()[-1].trace_id
    summary_line = next(line for line in out.splitlines() if line.startswith("summary:"))
    assert summary_line.startswith(f"summary: 10 traces, 0 failed, 1 slow: trace {last[:12]} ")
    assert "x its peers, step 3 (researcher) execute_tool web_search, bound_by " in summary_line
    # the one-liner's primary bottleneck is verdicts.json's first bottleneck
    saved = json.loads((path / "verdicts.json").read_text())
    verdict = next(v for v in saved["verdicts"] if v["trace_id"] == last)
    first = verdict["bottlenecks"][0]
    line = next(line for line in out.splitlines() if line.startswith(f"trace {last}"))
    assert f"primary bottleneck: {first['bound_by']} {100 * first['share']:.1f}%" in line
    assert saved["summary"]["slow"] == 1 and saved["summary"]["slow_traces"][0]["trace_id"] == last


def test_attribute_json_summary_says_zero_slow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _run(tmp_path, [50.0] * 6)
    assert cli(["attribute", str(path), "--json", "--no-write"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["slow"] == 0 and summary["slow_traces"] == []


def test_report_lists_bottlenecks_by_share_with_the_primary_marked(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path, [50.0] * 2))
    trace = run.trace_list()[0]
    llm, tool = trace.spans[2], trace.spans[3]
    verdict = Verdict(
        trace_id=trace.trace_id, outcome="failure", category="tool_error", confidence=0.8,
        culprit=Culprit(span_id=tool.span_id, agent="researcher", step=3, name=tool.name),
        # the engine's order: the primary (a pathology, small) first, then the rest by share
        bottlenecks=[Bottleneck(span_id=tool.span_id, bound_by="tool_io", share=0.2, name=tool.name),
                     Bottleneck(span_id=llm.span_id, bound_by="llm_decode", share=0.7, name=llm.name)],
    )
    lines = render_verdict(run, verdict)
    start = lines.index("  bottlenecks by share")
    first, second = lines[start + 1], lines[start + 2]
    assert "70.0%" in first and "llm_decode" in first and "step 2 researcher" in first and "primary" not in first
    assert "20.0%" in second and "tool_io" in second and second.endswith("<- primary")


def test_traces_with_synthetic_timing_are_never_slow(tmp_path: Path) -> None:
    # an importer's made-up timestamps (Who&When: one second per step) measure nothing
    spans: list[Span] = []
    for index, tool in enumerate([50.0] * 9 + [3000.0]):
        trace = _trace(index, 100, tool)
        trace[0].attributes["rootspan.timing"] = "synthetic"
        spans += trace
    write_traces(tmp_path / "imported", spans)
    run = load_run(tmp_path / "imported")
    assert find_slow_traces(run, []) == []
    assert find_slow_traces(run, [], baseline=load_run(_run(tmp_path, [50.0] * 10, "base"))) == []


def test_a_kernel_profiled_trace_is_not_slow_next_to_unprofiled_peers(tmp_path: Path) -> None:
    """The default demo profiles each agent's first call: that trace pays the profiler's cost and
    must not headline the summary as the run's slowdown; an unprofiled slow trace still does."""
    rng = random.Random(0)
    spans: list[Span] = []
    for index, tool in enumerate([50.0] * 8 + [3000.0, 3000.0]):
        trace_spans = _trace(index, 100 * rng.lognormvariate(0, 0.15), tool)
        if index == 8:  # this one's tool call ran under a kernel profiling window
            trace_spans[3].attributes["rootspan.profile.coverage"] = 1.0
        spans += trace_spans
    write_traces(tmp_path / "run", spans)
    run = load_run(tmp_path / "run")
    (slow,) = find_slow_traces(run, attribute_run(run))
    assert slow.trace_id == run.trace_list()[9].trace_id

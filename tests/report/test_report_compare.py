"""The comparison: no regression on identical setups, the right check on a slowed step or a fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from rootspan import semconv as sc
from rootspan.errors import UserError
from rootspan.model import Culprit, Run, Span, StatusCode, Trace, Verdict
from rootspan.attribution.report.align import local_keys
from rootspan.attribution.report.compare import IMPROVEMENT, INCONCLUSIVE, REGRESSION, compare_runs
from rootspan.attribution.report.config import Price, ReportConfig
from rootspan.attribution.report.measure import measure_trace
from rootspan.attribution.report.synthetic import Shape, synthetic_run

FAST = ReportConfig(bootstrap=0)
SEARCH_STEP = "step:researcher/execute_tool search/1"


def _compare(base: Run, cand: Run, config: ReportConfig = FAST, **kwargs: object):
    kwargs.setdefault("attribute", None)
    kwargs.setdefault("align", None)
    return compare_runs([base], [cand], config, **kwargs)  # type: ignore[arg-type]


def test_identical_setups_give_no_regression() -> None:
    report = _compare(synthetic_run(1, 10), synthetic_run(1, 10))
    assert report.verdict == "pass" and report.exit_code == 0
    assert all(check.status == "ok" for check in report.checks)
    assert report.notes and "appear in both" in report.notes[-1]


def test_noise_only_repeats_give_no_regression() -> None:
    report = _compare(synthetic_run(10, 10), synthetic_run(11, 10))
    assert report.verdict == "pass", [c.id for c in report.regressions]


def test_slowed_tool_regresses_on_that_tools_step_only() -> None:
    report = _compare(synthetic_run(1, 10), synthetic_run(2, 10, Shape(slow={"execute_tool search": 3.0})))
    assert report.verdict == REGRESSION and report.exit_code == 1
    regressed = {check.id for check in report.regressions}
    assert SEARCH_STEP in regressed
    assert not any(i.startswith("step:") and i != SEARCH_STEP for i in regressed)
    assert "agent:planner" not in regressed and "agent:writer" not in regressed
    step = next(c for c in report.checks if c.id == SEARCH_STEP)
    assert step.effect["ratio"] > 2.0 and step.p_adjusted is not None and step.p_adjusted <= 0.05
    assert step.title == "step 5 execute_tool search (researcher)"


def test_slowed_tool_found_with_the_installed_step_aligner() -> None:
    from rootspan.attribution.report.align import load_align_traces

    align = load_align_traces()
    if align is None:
        pytest.skip("attribution aligner not installed")
    report = _compare(synthetic_run(1, 10), synthetic_run(2, 10, Shape(slow={"execute_tool search": 3.0})), align=align)
    assert not any("aligner" in note for note in report.notes)
    assert SEARCH_STEP in {check.id for check in report.regressions}


def _blame_researcher(run: Run) -> list[Verdict]:
    verdicts = []
    for trace in run.trace_list():
        span = next(s for s in trace.spans if s.name == "invoke_agent researcher")
        verdicts.append(
            Verdict(
                trace_id=trace.trace_id, outcome=trace.outcome or "success",
                culprit=Culprit(span_id=span.span_id, agent="researcher", step=span.step, name=span.name),
                category="hallucination", confidence=0.8, evidence=["states Sydney; expected Canberra"],
            )
        )
    return verdicts


def test_agent_fault_regresses_success_rate_and_names_the_culprit() -> None:
    report = _compare(synthetic_run(1, 10), synthetic_run(2, 10, Shape(fail_agent="researcher")), attribute=_blame_researcher)
    assert [c.id for c in report.regressions] == ["success_rate"]
    failures = [f for f in report.failures if f.side == "candidate"]
    assert len(failures) == 10 and all(f.new and f.agent == "researcher" for f in failures)
    assert failures[0].category == "hallucination" and failures[0].source == "engine"
    assert report.categories == {"baseline": {}, "candidate": {"hallucination": 10}}


def test_agent_fault_culprit_from_the_installed_engine() -> None:
    from rootspan.attribution.report.failures import load_attribute_run

    attribute = load_attribute_run()
    if attribute is None:
        pytest.skip("attribution engine not installed")
    report = _compare(synthetic_run(1, 8), synthetic_run(2, 8, Shape(fail_agent="researcher")), attribute=attribute)
    assert "success_rate" in {c.id for c in report.regressions}
    failures = [f for f in report.failures if f.side == "candidate"]
    assert failures and all(f.source == "engine" and f.span_id for f in failures)
    assert {f.agent for f in failures} == {"researcher"}


def test_tool_error_without_engine_blames_the_first_failing_span() -> None:
    report = _compare(synthetic_run(1, 10), synthetic_run(2, 10, Shape(tool_error=True)))
    regressed = {c.id for c in report.regressions}
    assert {"success_rate", "errors"} <= regressed
    failure = next(f for f in report.failures if f.side == "candidate")
    assert (failure.source, failure.name, failure.agent, failure.category) == (
        "first-error", "execute_tool search", "researcher", "tool_error"
    )
    assert "search backend refused" in failure.evidence[0]


def test_known_baseline_failures_are_not_new() -> None:
    base = synthetic_run(1, 10, Shape(tool_error=True))
    report = _compare(base, synthetic_run(2, 10, Shape(tool_error=True)))
    assert report.verdict == "pass"
    assert not any(f.new for f in report.failures)


def test_faster_candidate_is_an_improvement_not_a_regression() -> None:
    report = _compare(synthetic_run(1, 10, Shape(slow={"execute_tool search": 3.0})), synthetic_run(2, 10))
    assert report.verdict == "pass"
    assert next(c for c in report.checks if c.id == SEARCH_STEP).status == IMPROVEMENT


def test_two_repeats_per_side_catch_a_tripled_step() -> None:
    """Noise pooled over the steps gives the test degrees of freedom a rank test at n=2 lacks."""
    report = _compare(synthetic_run(1, 2), synthetic_run(2, 2, Shape(slow={"execute_tool search": 3.0})))
    assert [c.id for c in report.regressions] == [SEARCH_STEP]
    assert not report.indicative


def test_one_run_per_side_is_inconclusive_and_flagged_indicative() -> None:
    report = _compare(synthetic_run(1, 1), synthetic_run(2, 1, Shape(slow={"execute_tool search": 3.0})))
    assert report.verdict == "pass" and report.indicative
    assert next(c for c in report.checks if c.id == SEARCH_STEP).status == INCONCLUSIVE
    assert any("indicative only" in note for note in report.notes)


def test_one_run_per_side_with_a_confident_noise_prior_can_decide() -> None:
    """A team that measured its noise (2%, worth 50 runs) gets a verdict from a single run."""
    config = ReportConfig(bootstrap=0, noise_prior_sd=0.02, noise_prior_df=50)
    quiet = Shape(sigma=0.02)
    slower = Shape(sigma=0.02, slow={"execute_tool search": 2.0})
    report = _compare(synthetic_run(1, 1, quiet), synthetic_run(2, 1, slower), config)
    # the step, and the agent and whole run it made 220 ms slower; no other step
    assert {c.id for c in report.regressions} == {SEARCH_STEP, "agent:researcher", "latency"}


def test_rate_and_rank_checks_that_cannot_reach_significance_do_not_dilute_latency() -> None:
    """Tarone: at 3 vs 3 Fisher and rank tests cannot reach alpha/2, so the Holm family is the log-t checks."""
    report = _compare(synthetic_run(1, 3), synthetic_run(2, 3, Shape(slow={"execute_tool search": 2.0})))
    log_t = [c for c in report.tested if c.test == "log-t"]
    others = [c for c in report.tested if c.test in ("fisher", "mann-whitney") and c.id != "success_rate"]
    assert log_t and others
    step = next(c for c in log_t if c.id == SEARCH_STEP)
    assert step.p_value == min(c.p_value for c in log_t)
    # the smallest p of a Holm family of the log-t checks only, at alpha/2
    assert step.p_adjusted == pytest.approx(min(1.0, step.p_value * len(log_t) / 0.5))
    assert all(c.p_adjusted > 0.05 for c in others)


def test_minimum_effect_gates_a_significant_but_small_change() -> None:
    slower = Shape(sigma=0.02, slow={"execute_tool search": 1.05})  # +5%, ~11 ms: real but small
    report = _compare(synthetic_run(1, 12, Shape(sigma=0.02)), synthetic_run(2, 12, slower))
    step = next(c for c in report.checks if c.id == SEARCH_STEP)
    assert step.p_adjusted is not None and step.p_adjusted <= 0.05
    assert step.status == "ok" and report.verdict == "pass"


def test_cost_only_where_priced() -> None:
    priced = ReportConfig(bootstrap=0, prices={"rootspan-moe-tiny": Price(input=1.0, output=2.0)})
    report = _compare(synthetic_run(1, 4), synthetic_run(2, 4), priced)
    cost = next(c for c in report.checks if c.id == "cost")
    # 2,110 input and 290 output tokens per trace at $1 and $2 per 1k.
    assert cost.baseline["median"] == pytest.approx(2.110 + 0.580)
    assert not any(c.id == "cost" for c in _compare(synthetic_run(1, 4), synthetic_run(2, 4)).checks)
    other = ReportConfig(bootstrap=0, prices={"other-model": Price(input=1.0, output=1.0)})
    assert any("no price configured for: rootspan-moe-tiny" in n for n in _compare(synthetic_run(1, 2), synthetic_run(2, 2), other).notes)


def _span(name: str, step: int, parent: str | None, start: int, end: int, **attrs: object) -> Span:
    return Span(
        trace_id="t" * 32, span_id=f"{step:016x}", parent_span_id=parent, name=name, start_ns=start, end_ns=end,
        attributes={sc.ROOTSPAN_STEP: step, **attrs},
        status_code=StatusCode.ERROR if attrs.pop("_error", False) else StatusCode.OK,
    )


def test_retries_loops_gpu_and_tokens_are_measured_per_trace() -> None:
    agent = {sc.GEN_AI_OPERATION_NAME: "invoke_agent", sc.GEN_AI_AGENT_NAME: "worker"}
    tool = {sc.GEN_AI_OPERATION_NAME: "execute_tool"}
    spans = [
        _span("invoke_workflow w", 0, None, 0, 100),
        _span("invoke_agent worker", 1, f"{0:016x}", 1, 99, **agent, **{"rootspan.gpu.kernel_time_ns": 50}),
        _span("execute_tool f", 2, f"{1:016x}", 2, 10, **tool, **{sc.GEN_AI_TOOL_CALL_ARGUMENTS: "{}"}),
        _span("execute_tool f", 3, f"{1:016x}", 11, 20, **tool, **{sc.GEN_AI_TOOL_CALL_ARGUMENTS: "{}"}),
        _span("chat m", 4, f"{1:016x}", 21, 30, **{sc.GEN_AI_REQUEST_MODEL: "m", sc.GEN_AI_USAGE_INPUT_TOKENS: 7,
                                                   "rootspan.gpu.kernel_time_ns": 20, "rootspan.gpu.energy_j": 1.5}),
    ]
    spans[2].status_code = StatusCode.ERROR  # step 3 retries the failed step 2
    spans.append(_span("execute_tool g", 5, f"{1:016x}", 31, 40, **tool, **{sc.GEN_AI_TOOL_CALL_ARGUMENTS: "{\"q\": 1}"}))
    spans.append(_span("execute_tool g", 6, f"{1:016x}", 41, 50, **tool, **{sc.GEN_AI_TOOL_CALL_ARGUMENTS: "{\"q\": 1}"}))
    spans.append(_span("chat m", 7, f"{1:016x}", 51, 60, **{sc.GEN_AI_REQUEST_MODEL: "m"}))
    # The same call again after an LLM call in between: an agent alternating think / act in a loop.
    spans.append(_span("execute_tool g", 8, f"{1:016x}", 61, 70, **tool, **{sc.GEN_AI_TOOL_CALL_ARGUMENTS: "{\"q\": 1}"}))
    spans.append(_span("execute_tool g", 9, f"{1:016x}", 71, 80, **tool, **{sc.GEN_AI_TOOL_CALL_ARGUMENTS: "{\"q\": 2}"}))
    trace = Trace(trace_id="t" * 32, spans=spans)
    measures = measure_trace(trace, "r", {"m": Price(1.0, 0.0)}, local_keys(trace))
    assert (measures.retries, measures.loops, measures.errors) == (1, 2, 1)
    assert measures.gpu_time_ms == pytest.approx(50 / 1e6)  # the chat's 20 ns is inside the agent's 50
    assert measures.energy_j == 1.5
    assert (measures.input_tokens, measures.output_tokens, measures.cost) == (7, 0, pytest.approx(0.007))
    assert measures.agents_ms == {"worker": pytest.approx(98 / 1e6)}
    assert set(measures.steps_ms) == {("worker", "execute_tool f", 1), ("worker", "execute_tool f", 2),
                                      ("worker", "chat m", 1), ("worker", "chat m", 2)} | {
                                      ("worker", "execute_tool g", n) for n in (1, 2, 3, 4)}


def test_aligner_keys_follow_the_reference_and_a_broken_aligner_degrades() -> None:
    base, cand = synthetic_run(1, 3), synthetic_run(2, 3)
    calls: list[tuple[str, str]] = []

    def reversed_aligner(ref: Trace, other: Trace):
        calls.append((ref.trace_id, other.trace_id))
        # Pair spans by name and position, as any aligner would on identical structures.
        return list(zip(ref.steps(), other.steps()))

    report = _compare(base, cand, align=reversed_aligner)
    assert calls and report.verdict == "pass"
    assert SEARCH_STEP in {c.id for c in report.checks}

    def broken(ref: Trace, other: Trace):
        raise RuntimeError("bug")

    report = _compare(base, cand, align=broken)
    assert any("aligner failed" in note for note in report.notes)
    assert SEARCH_STEP in {c.id for c in report.checks}


def test_steps_seen_on_one_side_are_shown_not_tested() -> None:
    base = synthetic_run(1, 4)
    cand = synthetic_run(2, 4)
    for trace in cand.traces.values():
        trace.spans = [s for s in trace.spans if s.name != "execute_tool search"]
        trace.reindex()
    report = _compare(base, cand)
    step = next(c for c in report.checks if c.id == SEARCH_STEP)
    assert step.status == "removed" and step.p_value is None


def test_no_or_empty_runs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no baseline runs"):
        compare_runs([], [synthetic_run(1, 2)], FAST)
    empty = Run(path=tmp_path / "empty")
    with pytest.raises(UserError, match="candidate run .* no traces"):
        compare_runs([synthetic_run(1, 2)], [empty], FAST)


def test_one_hung_call_is_an_outlier_not_a_regression() -> None:
    base, cand = synthetic_run(1, 10), synthetic_run(2, 10)
    trace = cand.trace_list()[3]
    span = next(s for s in trace.spans if s.name == "execute_tool search")
    span.end_ns += 1_200_000_000  # one call waits 1.2 s more (the demo's tool-slow fault)
    report = _compare(base, cand)
    assert report.verdict == "pass"
    assert [(o["step"], o["trace_id"]) for o in report.outliers] == [("step 5 execute_tool search (researcher)", trace.trace_id)]
    assert _compare(base, synthetic_run(3, 10)).outliers == []
    from rootspan.attribution.report.render_md import render_markdown

    text = render_markdown(report)
    assert text.startswith("## ✅") and "### Outliers (not gated)" in text and trace.trace_id in text


def test_regressed_step_says_what_bounds_it() -> None:
    from rootspan.model import Bottleneck

    def tool_bound(run: Run) -> list[Verdict]:
        verdicts = []
        for trace in run.trace_list():
            span = next(s for s in trace.spans if s.name == "execute_tool search")
            bottlenecks = [Bottleneck(span_id=span.span_id, bound_by="tool_io", share=0.6)] * 2  # counted once
            verdicts.append(Verdict(trace_id=trace.trace_id, outcome="success", bottlenecks=bottlenecks))
        return verdicts

    slow = synthetic_run(2, 10, Shape(slow={"execute_tool search": 3.0}))
    report = _compare(synthetic_run(1, 10), slow, attribute=tool_bound)
    step = next(c for c in report.checks if c.id == SEARCH_STEP)
    assert step.bound_by == {"tool_io": 10}
    assert all(not c.bound_by for c in report.checks if c.id != SEARCH_STEP)
    from rootspan.attribution.report.render_md import render_markdown

    assert "bound by tool\\_io (10 traces)" in render_markdown(report).split("\n\n")[1]


def test_markdown_shrinks_to_fit_a_pr_comment() -> None:
    from rootspan.attribution.report.render_md import render_markdown

    report = _compare(synthetic_run(1, 6), synthetic_run(2, 6))
    full = render_markdown(report)
    assert "unchanged steps</summary>" in full
    small = render_markdown(report, max_chars=len(full) - 1)
    assert len(small) < len(full) and "unchanged steps left out to fit a PR comment" in small
    assert small.startswith("## ✅ rootspan: No regression")

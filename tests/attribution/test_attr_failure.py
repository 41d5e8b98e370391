"""Failure attribution end to end on hand-built traces: first divergence, confidence, alternatives, quoting."""

from __future__ import annotations

import pytest
from attr_builders import sid, span, team_trace, trace

from rootspan.attribution import attribute_run, attribute_trace, summarize
from rootspan.attribution.failure import Scoring, analyze_failure
from rootspan.attribution.graph import build_graph
from rootspan.model import Run, StatusCode


def test_tool_exception_is_blamed_on_the_tool_with_its_path_to_the_answer() -> None:
    verdict = attribute_trace(team_trace(tool_error="ConnectionError: calc backend down", tool_result="", solver_output="calc is unavailable", verifier_output="no answer"))
    assert verdict.outcome == "failure"
    assert verdict.culprit is not None and verdict.culprit.span_id == sid("calc")
    assert verdict.culprit.agent == "solver" and verdict.culprit.step == 5
    assert verdict.category == "tool_error"
    assert 0 < verdict.confidence < 1
    assert any("calc backend down" in line for line in verdict.evidence)
    assert verdict.path[0] == sid("calc") and verdict.path[-1] == sid("verifier")


def test_first_divergence_prefers_the_early_mistake_over_its_louder_consequence() -> None:
    # step 2 invents a number; step 4's tool then fails on it: the invention is the decisive step
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("a", 1, 10, "run", op="invoke_agent", agent="analyst", step=1, output="the file has 3 sheets"),
        span("b", 11, 20, "run", op="invoke_agent", agent="coder", step=2, output="the total revenue is 48213"),
        span("c", 21, 30, "run", op="invoke_agent", agent="checker", step=3, output="so the answer is 48213. TERMINATE"),
    )
    verdict = attribute_trace(t)
    assert verdict.culprit is not None and verdict.culprit.step == 2 and verdict.culprit.agent == "coder"
    assert verdict.category == "hallucination"


def test_expected_answer_sharpens_but_is_not_required() -> None:
    kwargs = dict(solver_output="the total is 43", tool_result="42", verifier_output="final answer: 43")
    with_truth = attribute_trace(team_trace(expected="42", **kwargs))
    without = attribute_trace(team_trace(**kwargs))
    assert with_truth.culprit is not None and without.culprit is not None
    # the model call inside the solver turn said it: the turn is the culprit step
    assert with_truth.culprit.span_id == sid("solver") == without.culprit.span_id
    assert with_truth.confidence >= without.confidence
    assert any("expected '42'" in line for line in with_truth.evidence)


def test_alternatives_are_ranked_and_exclude_the_culprit() -> None:
    verdict = attribute_trace(team_trace(tool_error="boom", tool_result="", solver_output="the total is 9731"))
    confidences = [alt.confidence for alt in verdict.alternatives]
    assert confidences == sorted(confidences, reverse=True)
    assert verdict.culprit is not None
    assert all(alt.span_id != verdict.culprit.span_id for alt in verdict.alternatives)


def test_success_has_no_culprit_and_no_evidence_trace_gets_the_busiest_agent() -> None:
    ok = attribute_trace(team_trace(outcome="success"))
    assert ok.outcome == "success" and ok.culprit is None
    quiet = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("a1", 1, 10, "run", op="invoke_agent", agent="a", step=1, output="hello"),
        span("b1", 11, 20, "run", op="invoke_agent", agent="b", step=2, output="hi"),
        span("b2", 21, 30, "run", op="invoke_agent", agent="b", step=3, output="bye"),
    )
    verdict = attribute_trace(quiet)
    # no evidence at all: undetermined, the busiest agent's first step the only candidate
    assert verdict.outcome == "failure" and verdict.determined is False
    assert verdict.culprit is None and verdict.category is None
    assert verdict.confidence <= 0.1
    (candidate,) = verdict.alternatives
    assert candidate.span_id == sid("b1") and candidate.agent == "b" and candidate.step == 2
    assert candidate.category is None and candidate.confidence <= 0.1
    assert any("no evidence" in line for line in candidate.evidence)


def test_untrusted_text_in_evidence_is_made_printable() -> None:
    verdict = attribute_trace(team_trace(tool_error="\x1b[31mred alert\x1b[0m\nsecond line", tool_result="", solver_output="calc is unavailable", verifier_output="no answer"))
    joined = " ".join(verdict.evidence)
    assert "\x1b" not in joined and "\\x1b" in joined and "\n" not in joined


def test_outcome_unset_the_root_status_decides_and_attribute_run_summarises() -> None:
    """The shared definition (Trace.failed): with no outcome, an inner error the root did not
    inherit was recovered from; an error on the root is a failure, attributed as usual."""
    recovered = team_trace(tool_error="boom", tool_result="", solver_output="calc is unavailable", verifier_output="no answer")
    recovered.spans[0].attributes.pop("rootspan.outcome")
    recovered.spans[0].status_code = StatusCode.UNSET
    assert [v.outcome for v in attribute_run(Run(path=".", traces={recovered.trace_id: recovered}))] == ["success"]
    failing = team_trace(tool_error="boom", tool_result="", solver_output="calc is unavailable", verifier_output="no answer")
    failing.spans[0].attributes.pop("rootspan.outcome")
    failing.spans[0].status_code = StatusCode.ERROR
    verdicts = attribute_run(Run(path=".", traces={failing.trace_id: failing}))
    assert [v.outcome for v in verdicts] == ["failure"]
    summary = summarize(verdicts)
    assert summary["failures"] == 1 and summary["culprit_agents"] == {"solver": 1}


def test_scoring_knobs_change_the_choice_deterministically() -> None:
    graph = build_graph(team_trace(tool_error="boom", tool_result="", solver_output="the total is 9731"))
    first = analyze_failure(graph)
    again = analyze_failure(graph)
    assert first == again
    latest = analyze_failure(graph, Scoring(first_divergence_ratio=1.0, early_bonus=0.0))
    assert latest.culprit is not None


@pytest.mark.parametrize(
    "expected",
    [
        None,
        "99",
        "42",
    ],
)
def test_what_follows_a_hard_failure_is_its_consequence(expected: str | None) -> None:
    # the calculator returns nothing; the verifier then accepts a number nobody computed
    t = team_trace(tool_result="", solver_output="?", verifier_output="ok 4", expected=expected)
    verdict = attribute_trace(t)
    assert verdict.determined and verdict.culprit is not None and verdict.culprit.span_id == sid("calc")
    assert verdict.category == "tool_empty_result"
    (verifier,) = [alt for alt in verdict.alternatives if alt.agent == "verifier"]
    assert verifier.span_id == sid("verifier") and verifier.category == "hallucination"
    assert any("'4'" in line for line in verifier.evidence)
    # its own finding counts half: it is the consequence, not the origin
    undiscounted = analyze_failure(build_graph(t), Scoring(consequence_factor=1.0))
    assert next(alt for alt in undiscounted.alternatives if alt.agent == "verifier").confidence > verifier.confidence


def test_a_number_stated_in_place_of_a_dropped_input_is_an_ignored_input() -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, input="Cy has 18 books. Cy gets 9 more. How many?",
             **{"rootspan.outcome": "failure"}),
        span("planner", 1, 20, "run", op="invoke_agent", agent="planner", step=1, inputs=["run"], output="18+1"),
        span("plan-llm", 2, 19, "planner", op="chat", step=2, input="Cy has 18 books. How many?", output="18+1"),
    )
    verdict = attribute_trace(t)
    assert verdict.culprit is not None and verdict.culprit.span_id == sid("planner")
    assert verdict.category == "ignored_input"

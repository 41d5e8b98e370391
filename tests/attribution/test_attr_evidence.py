"""Each deterministic evidence rule on a small hand-built trace: it fires where it should, and only there."""

from __future__ import annotations

from pathlib import Path

import pytest
from attr_builders import sid, span, team_trace, trace

from rootspan import semconv as sc
from rootspan.attribution.evidence import Weights, collect, error_category
from rootspan.attribution.failure import gather_evidence
from rootspan.attribution.graph import build_graph
from rootspan.attribution.whowhen import Log, log_to_trace, source_signals


def _evidence(t, rule: str):
    return [item for item in collect(build_graph(t)) if item.rule == rule]


def _traced(t, rule: str):
    """Findings of every rule the failure analysis runs, the provenance passes (value origin, unsupported claims) too."""
    findings, _origins, _sink = gather_evidence(build_graph(t), Weights(), None)
    return [item for item in findings if item.rule == rule]


def test_error_status_blames_the_innermost_failing_span_with_its_category() -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, error="run failed", **{"rootspan.outcome": "failure"}),
        span("agent", 1, 90, "run", op="invoke_agent", agent="solver", step=1, error="calc failed"),
        span("calc", 2, 50, "agent", op="execute_tool", tool="calc", step=2, exception=("TimeoutError", "calc timed out after 5s")),
    )
    found = {item.span_id: item for item in _evidence(t, "error_status")}
    assert set(found) == {sid("agent"), sid("calc")}  # the root's own failure is the symptom
    assert found[sid("calc")].category == "timeout"
    assert found[sid("calc")].weight > found[sid("agent")].weight
    assert "calc timed out" in found[sid("calc")].sentence


def test_error_evidence_quotes_the_exception_once() -> None:
    """An SDK sets the status message to "Type: message" and records the same exception as an event."""
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("calc", 2, 50, "run", op="execute_tool", tool="calc", step=2,
             error="ConnectionError: backend unavailable: reset", exception=("ConnectionError", "backend unavailable: reset")),
        span("other", 60, 70, "run", op="execute_tool", tool="search", step=3,
             error="search failed", exception=("TimeoutError", "no answer in 5s")),
    )
    found = {item.span_id: item.sentence for item in _evidence(t, "error_status")}
    assert found[sid("calc")].count("backend unavailable") == 1, found[sid("calc")]
    assert found[sid("calc")].endswith("ConnectionError: backend unavailable: reset")
    # a status message that says something else keeps the exception beside it
    assert "search failed" in found[sid("other")] and "TimeoutError: no answer in 5s" in found[sid("other")]


def test_error_categories_cover_system_failures() -> None:
    assert error_category("HTTP 429 Too Many Requests", False) == "rate_limited"
    assert error_category("CUDA out of memory", False) == "resource_exhausted"
    assert error_category("ConnectionError: backend down", True) == "tool_error"
    assert error_category("ValueError: bad", False) == "exception"


def test_handled_exception_counts_less_than_an_error() -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("a", 1, 50, "run", op="invoke_agent", agent="a", step=1, exception=("KeyError", "'x'")),
    )
    (error,) = _evidence(t, "error_status")  # the exception ended the step with status ERROR
    assert error.span_id == sid("a") and error.weight == Weights().direct
    t.spans[1].status_code = 0  # recorded but handled: no error status
    assert _evidence(t, "error_status") == []
    (item,) = _evidence(t, "exception")
    assert item.span_id == sid("a") and item.weight == Weights().weak
    assert item.weight < error.weight


def test_empty_tool_result_is_tool_empty_result() -> None:
    (item,) = _evidence(team_trace(tool_result=""), "tool_empty")
    assert item.span_id == sid("calc") and item.category == "tool_empty_result"


def test_failed_code_blames_its_author_and_a_failing_service_the_tool() -> None:
    printed = "Traceback (most recent call last):\nNameError: name 'x' is not defined"
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("coder", 1, 10, "run", op="invoke_agent", agent="coder", step=1, output="```python\nprint(x)\n```"),
        span("term", 11, 20, "run", op="execute_tool", tool="terminal", step=2, result=printed,
             rootspan__code__exit_code=1, rootspan__code__output=printed),
    )
    (item,) = _evidence(t, "caller_bad_code")
    assert item.span_id == sid("term") and item.blames == sid("coder") and item.category == "tool_misuse"
    assert "NameError" in item.sentence
    # any failed run of code (a non-zero exit code, whatever it printed) is the code's doing
    t.spans[2].attributes[sc.GEN_AI_TOOL_CALL_RESULT] = "segmentation fault"
    t.spans[2].attributes[sc.ROOTSPAN_CODE_OUTPUT] = "segmentation fault"
    (item,) = _evidence(t, "caller_bad_code")
    assert item.blames == sid("coder") and item.category == "tool_misuse"
    assert _evidence(t, "tool_failed") == []
    # a service failing on its own (no code was run) stays with the tool
    del t.spans[2].attributes[sc.ROOTSPAN_CODE_EXIT], t.spans[2].attributes[sc.ROOTSPAN_CODE_OUTPUT]
    t.spans[2].attributes[sc.GEN_AI_TOOL_CALL_RESULT] = "ConnectionError: host down"
    assert _evidence(t, "caller_bad_code") == []
    (item,) = _evidence(t, "tool_failed")
    assert item.blames is None and item.category == "tool_error"


def test_contradiction_traces_the_wrong_final_value_to_its_first_statement() -> None:
    t = team_trace(solver_output="the total is 43", tool_result="42", verifier_output="final answer: 43", expected="42")
    (item,) = _traced(t, "value_origin")
    # the first span whose output holds 43 is the solver's model call (step 6); a model call's words
    # are its agent turn's, so the solver turn is the origin, not the verifier that repeats 43
    assert item.span_id == sid("solver") and item.blames is None
    assert item.category == "hallucination"
    assert "'43'" in item.sentence and "expected '42'" in item.sentence
    _, (origin,), sink = gather_evidence(build_graph(t), Weights(), None)
    assert sink is not None and sink.span_id == sid("verifier")
    assert origin.chain == [sid("verifier"), sid("solver")] and origin.value.shown == "43"


def test_contradiction_is_silent_when_the_answer_matches_the_expected_one() -> None:
    t = team_trace(expected="42")
    assert _traced(t, "value_origin") == []


def test_without_the_expected_answer_the_failed_answer_is_still_traced_with_less_weight() -> None:
    # the value-origin weight is Weights.value_origin x the value's share, with or without the
    # expected answer (docs/attribution.md); what the expected answer adds is the comparison
    with_truth = _traced(team_trace(solver_output="total 43", verifier_output="final answer: 43", expected="42"), "value_origin")
    without = _traced(team_trace(solver_output="total 43", verifier_output="final answer: 43"), "value_origin")
    assert with_truth and without
    assert with_truth[0].span_id == without[0].span_id == sid("solver")
    assert with_truth[0].category == without[0].category == "hallucination"
    assert 0 < without[0].weight <= with_truth[0].weight <= Weights().value_origin
    assert "expected '42'" in with_truth[0].sentence
    assert "expected" not in without[0].sentence and "the run failed" in without[0].sentence


def test_repetition_flags_the_first_repeat_of_an_identical_tool_call_only() -> None:
    calls = [
        span(f"calc{i}", 10 + 10 * i, 15 + 10 * i, "solver", op="execute_tool", tool="calc", step=2 + i,
             arguments='{"expression": "17 + 25"}', result="42")
        for i in range(4)
    ]
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("solver", 1, 99, "run", op="invoke_agent", agent="solver", step=1),
        *calls,
    )
    (item,) = _evidence(t, "repetition")
    assert item.span_id == sid("calc1") and item.category == "step_repetition"


def test_unsupported_claim_names_numbers_no_input_holds() -> None:
    t = team_trace(solver_output="the total is 9731", tool_result="42", verifier_output="final answer: 42")
    found = _traced(t, "unsupported_claim")
    assert [item.span_id for item in found] == [sid("solve-llm2")]
    assert "9731" in found[0].sentence and found[0].category == "hallucination"
    assert found[0].weight <= Weights().weak  # weak evidence: it only raises suspicion
    # 42 is what the tool returned: stating it is no claim
    assert _traced(team_trace(solver_output="the total is 42", tool_result="42"), "unsupported_claim") == []


def test_ignored_input_fires_when_declared_inputs_are_dropped() -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("reader", 1, 10, "run", op="invoke_agent", agent="reader", step=1, output="the budget is 1200 and the cap is 300"),
        span("writer", 11, 20, "run", op="invoke_agent", agent="writer", step=2, inputs=["reader"], output="we can spend anything"),
    )
    (item,) = _evidence(t, "ignored_input")
    assert item.span_id == sid("writer") and item.category == "ignored_input"
    assert "1200" in item.sentence and "300" in item.sentence
    t.spans[2].attributes["rootspan.output"] = "within the budget of 1200"
    (partial,) = _evidence(t, "ignored_input")  # the cap was dropped
    assert "300" in partial.sentence and "1200" not in partial.sentence.split("never uses")[1]
    t.spans[2].attributes["rootspan.output"] = "within the budget of 1200 and under the cap of 300"
    assert _evidence(t, "ignored_input") == []


@pytest.mark.parametrize(
    "printed",
    [
        "Traceback (most recent call last):\nNameError: name 'x' is not defined",
        "segmentation fault",
    ],
)
def test_premature_stop_after_a_failed_step(printed: str) -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("coder", 1, 10, "run", op="invoke_agent", agent="coder", step=1, output="run this"),
        span("term", 11, 20, "run", op="execute_tool", tool="terminal", step=2, result=printed,
             rootspan__code__exit_code=1, rootspan__code__output=printed),
        span("lead", 21, 30, "run", op="invoke_agent", agent="lead", step=3, output="We are done here.", rootspan__stop=True),
    )
    (item,) = _evidence(t, "premature_stop")
    assert item.span_id == sid("lead") and item.category == "premature_termination"
    # the stop signal is what makes it a stop: the words alone do not end the run
    del t.spans[3].attributes[sc.ROOTSPAN_STOP]
    assert _evidence(t, "premature_stop") == []


def test_truncated_llm_output_is_premature_termination() -> None:
    t = team_trace()
    t.spans[4].attributes["gen_ai.response.finish_reasons"] = ["length"]
    (item,) = _evidence(t, "truncated")
    assert item.span_id == t.spans[4].span_id


def test_unverified_claim_with_no_tool_run_in_between() -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("a", 1, 10, "run", op="invoke_agent", agent="a", step=1, output="the answer is 12"),
        span("b", 11, 20, "run", op="invoke_agent", agent="b", step=2, output="I have verified the answer is correct."),
    )
    (item,) = _evidence(t, "unverified")
    assert item.span_id == sid("b") and item.category == "incorrect_verification"


def test_inability_and_stall_reports() -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("lead", 1, 10, "run", op="invoke_agent", agent="Orchestrator", step=1, output="Please search the web for X."),
        span("surfer", 11, 20, "run", op="invoke_agent", agent="WebSurfer", step=2, output="I am unable to access the page."),
        span("lead2", 21, 30, "run", op="invoke_agent", agent="Orchestrator", step=3,
             output="We are not getting anywhere.", rootspan__progress=False),
    )
    (inability,) = _evidence(t, "inability")
    assert inability.span_id == sid("surfer")
    (stall,) = _evidence(t, "stall_reported")
    assert stall.span_id == sid("lead2") and stall.blames == sid("surfer") and stall.category == "task_derailment"
    # progress reported as made is no stall; a reported loop is repetition
    t.spans[3].attributes[sc.ROOTSPAN_PROGRESS] = True
    assert _evidence(t, "stall_reported") == []
    t.spans[3].attributes[sc.ROOTSPAN_LOOP] = True
    (loop,) = _evidence(t, "stall_reported")
    assert loop.blames == sid("surfer") and loop.category == "step_repetition"


def test_whowhen_source_signals_become_the_generic_attributes() -> None:
    ledger = (
        '{"is_request_satisfied": {"reason": "not yet", "answer": false},'
        ' "is_in_loop": {"reason": "same search again", "answer": true},'
        ' "is_progress_being_made": {"reason": "no new facts", "answer": false}}'
    )
    assert source_signals(ledger) == {sc.ROOTSPAN_PROGRESS: False, sc.ROOTSPAN_LOOP: True}
    assert source_signals('{"is_request_satisfied": {"reason": "done", "answer": true},'
                          ' "is_in_loop": {"reason": "", "answer": false},'
                          ' "is_progress_being_made": {"reason": "", "answer": true}}') == {sc.ROOTSPAN_DONE_CLAIMED: True}
    failed = "exitcode: 1 (execution failed)\nCode output: Traceback (most recent call last):\nNameError: name 'x' is not defined"
    assert source_signals(failed) == {
        sc.ROOTSPAN_CODE_EXIT: 1,
        sc.ROOTSPAN_CODE_OUTPUT: "Traceback (most recent call last):\nNameError: name 'x' is not defined",
    }
    assert source_signals("exitcode: 0 (execution succeeded)\nCode output: \n") == {
        sc.ROOTSPAN_CODE_EXIT: 0, sc.ROOTSPAN_CODE_OUTPUT: ""}
    assert source_signals("The answer is 42. TERMINATE") == {sc.ROOTSPAN_STOP: True}
    assert source_signals("Let me run this: print(exitcode) and TERMINATED later") == {}
    # through the importer: the terminal's entry carries them, and the engine's rules read them
    log = Log(
        subset="Algorithm-Generated", log_id="0", path=Path("0.json"), question="What is x?", ground_truth="4",
        history=[
            {"content": "```python\nprint(x)\n```", "role": "assistant", "name": "Coder"},
            {"content": "exitcode: 1 (execution failed)\nCode output: segmentation fault", "role": "user",
             "name": "Computer_terminal"},
            {"content": "TERMINATE", "role": "assistant", "name": "Coder"},
        ],
        mistake_agent="Coder", mistake_step=0,
    )
    imported = log_to_trace(log)
    terminal, stop = imported.spans[2], imported.spans[3]
    assert terminal.attributes[sc.ROOTSPAN_CODE_EXIT] == 1
    assert terminal.attributes[sc.ROOTSPAN_CODE_OUTPUT] == "segmentation fault"
    assert stop.attributes[sc.ROOTSPAN_STOP] is True
    (item,) = _evidence(imported, "caller_bad_code")
    assert item.span_id == terminal.span_id and item.blames == imported.spans[1].span_id


def test_wrong_handoff_to_an_agent_that_never_runs_or_was_not_asked_for() -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("planner", 1, 10, "run", op="invoke_agent", agent="planner", step=1, **{"rootspan.handoff.to": "verifier",
                                                                                     "rootspan.handoff.expected": "solver"}),
        span("verifier", 11, 20, "run", op="invoke_agent", agent="verifier", step=2, output="nothing to verify"),
    )
    (item,) = _evidence(t, "wrong_handoff")
    assert item.span_id == sid("planner") and item.category == "wrong_handoff"


def test_tool_result_that_contradicts_its_own_arithmetic() -> None:
    (item,) = _evidence(team_trace(tool_result="45"), "tool_arithmetic")
    assert item.span_id == sid("calc") and item.category == "tool_wrong_result"
    assert _evidence(team_trace(tool_result="42"), "tool_arithmetic") == []


def test_tool_rejecting_its_arguments_blames_the_call_writer() -> None:
    t = team_trace(tool_error="ValueError: cannot evaluate '17 plus 25'", tool_result="")
    (item,) = _evidence(t, "error_status")
    assert item.span_id == sid("calc") and item.category == "tool_misuse"
    assert item.blames == sid("solve-llm")  # the model call that wrote the arguments; its turn is the culprit


def test_recorded_error_category_and_loop_messages() -> None:
    t = team_trace(tool_error="backend refused", tool_result="")
    t.spans[5].attributes["rootspan.error.category"] = "rate_limited"
    (item,) = _evidence(t, "error_status")
    assert item.category == "rate_limited"
    loop = trace(
        span("run", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": "failure"}),
        span("a", 1, 50, "run", op="invoke_agent", agent="solver", step=1,
             error="AgentError: agent solver made tool calls in more than 3 rounds without answering"),
    )
    (item,) = _evidence(loop, "error_status")
    assert item.category == "step_repetition"


def _process_run(failing_names: list[str]):
    from rootspan.attribution.process import ProcessModel
    from rootspan.model import Trace

    def one(index: int, names: list[str], outcome: str) -> Trace:
        spans = [span(f"root{index}", 0, 100, op="invoke_workflow", step=0, **{"rootspan.outcome": outcome})]
        for position, name in enumerate(names):
            spans.append(span(f"{name}{index}-{position}", 1 + 10 * position, 9 + 10 * position, f"root{index}",
                              op="invoke_agent", agent=name, step=1 + position, output=f"turn of {name}"))
        return Trace(trace_id=f"{index:032x}", spans=spans)

    successes = [one(i, ["planner", "solver", "verifier"], "success") for i in range(3)]
    failing = one(9, failing_names, "failure")
    return ProcessModel.from_traces(successes + [failing]), failing


def test_process_model_flags_unseen_handoffs_and_early_endings() -> None:
    model, failing = _process_run(["planner", "verifier"])
    found = list(model.deviations(build_graph(failing), Weights()))
    assert [(item.rule, item.category) for item in found] == [("process_handoff", "wrong_handoff")]
    assert found[0].span_id == sid("planner9-0") and "solver" in found[0].sentence
    model, failing = _process_run(["planner", "solver"])
    (item,) = model.deviations(build_graph(failing), Weights())
    assert item.category == "premature_termination" and item.span_id == sid("solver9-1")
    model, failing = _process_run(["planner", "solver", "verifier"])
    assert list(model.deviations(build_graph(failing), Weights())) == []


def test_process_model_needs_two_successes() -> None:
    from rootspan.attribution.process import ProcessModel

    assert not ProcessModel.from_traces([team_trace(outcome="success")]).usable


def _verification_trace(verifier_says: str, solver_says: str = "2") -> object:
    return trace(
        span("run", 0, 100, op="invoke_workflow", step=0,
             **{"rootspan.outcome": "failure", "rootspan.expected": "2"}),
        span("plan", 1, 20, "run", op="invoke_agent", agent="planner", step=1, output="66-34-30"),
        span("solve", 21, 50, "run", op="invoke_agent", agent="solver", step=2, output=solver_says),
        span("verify", 51, 90, "run", op="invoke_agent", agent="verifier", step=3, output=verifier_says),
    )


def test_a_rejected_correct_answer_blames_the_rejecting_step() -> None:
    found = _evidence(_verification_trace("no"), "answer_dropped")
    assert [(item.span_id, item.category) for item in found] == [(sid("verify"), "incorrect_verification")]
    assert "states the expected answer '2'" in found[0].sentence and "rejects it" in found[0].sentence


def test_a_dropped_correct_answer_is_ignored_input() -> None:
    found = _evidence(_verification_trace("the answer is 7"), "answer_dropped")
    assert [(item.span_id, item.category) for item in found] == [(sid("verify"), "ignored_input")]


def test_answer_dropped_needs_the_exact_answer_and_does_not_fire_when_it_was_carried_on() -> None:
    assert _evidence(_verification_trace("yes 2"), "answer_dropped") == []
    assert _evidence(_verification_trace("no", solver_says="12 and then 2"), "answer_dropped") == []


def _routed(queue: str, also_ran: str | None = None, prompt: str | None = None):
    """A clinic's intake router that picks one queue from the ones its prompt lists."""
    request = "Patient P-4410 asks to refill her lisinopril prescription before Friday; the pharmacy has no refill on file."
    prompt = prompt or ("Pick one team for the message: scheduling (appointments, rebooking, cancellations), "
                        "pharmacy (prescription refills, medication questions), records (lab results, forms).")
    spans = [
        span("run", 0, 100, op="invoke_workflow", step=0, input=request, **{"rootspan.outcome": "failure"}),
        span("intake", 1, 10, "run", op="invoke_agent", agent="intake", step=1, **{"rootspan.handoff.to": queue}),
        span("intake-llm", 2, 9, "intake", op="chat", step=2, input=f"{prompt}\n{request}", output=queue),
        span(queue, 11, 40, "run", op="invoke_agent", agent=queue, step=3, output="Booked a visit for Friday 10:00."),
    ]
    if also_ran:
        spans.append(span(also_ran, 41, 60, "run", op="invoke_agent", agent=also_ran, step=4, output="Refill sent."))
    return trace(*spans)


def test_handoff_to_a_listed_option_whose_role_fits_the_request_less() -> None:
    from rootspan.attribution.constraints import rule_handoff_fit

    (item,) = rule_handoff_fit(build_graph(_routed("scheduling")), Weights())
    assert item.span_id == sid("intake") and item.category == "wrong_handoff" and "pharmacy" in item.sentence
    assert rule_handoff_fit(build_graph(_routed("pharmacy")), Weights()) == []  # the fitting queue
    # the better-fitting team took part afterwards: the work reached it anyway
    assert rule_handoff_fit(build_graph(_routed("scheduling", also_ran="pharmacy")), Weights()) == []
    # a prompt that names the queues without roles gives nothing to compare
    bare = _routed("scheduling", prompt="Answer with one word: scheduling, pharmacy or records.")
    assert rule_handoff_fit(build_graph(bare), Weights()) == []

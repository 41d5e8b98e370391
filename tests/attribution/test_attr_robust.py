"""The engine on arbitrary traces: never raises, always returns a verdict that names spans of the trace."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rootspan.attribution import attribute_run, attribute_trace
from rootspan.model import Run, Span, SpanEvent, StatusCode, Trace

TRACE_ID = "cd" * 16
OPS = ["invoke_agent", "chat", "execute_tool", "invoke_workflow", None]
TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["TERMINATE", "final answer: 42", "exitcode: 1 (execution failed)\nNameError: x", "", "[]",
                     '{"is_request_satisfied": {"answer": true}}', "calc 3+4", "7", "I cannot browse the web"]),
)
VALUE = st.one_of(TEXT, st.integers(-5, 10**12), st.lists(st.integers(0, 99), max_size=3), st.none())


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    n = draw(st.integers(1, 14))
    ids = [f"{index + 1:016x}" for index in range(n)]
    spans = []
    for index, span_id in enumerate(ids):
        op = draw(st.sampled_from(OPS))
        attributes: dict = {"rootspan.step": draw(st.one_of(st.none(), st.integers(0, 20)))}
        if op:
            attributes["gen_ai.operation.name"] = op
        if draw(st.booleans()):
            attributes["gen_ai.agent.name"] = draw(st.sampled_from(["a", "b", "c"]))
        for key in ("rootspan.output", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.input.messages"):
            if draw(st.booleans()):
                attributes[key] = draw(VALUE)
        if draw(st.booleans()):
            attributes["rootspan.inputs"] = draw(st.lists(st.sampled_from(ids + ["ffffffffffffffff"]), max_size=3))
        if index == 0 and draw(st.booleans()):
            attributes["rootspan.outcome"] = draw(st.sampled_from(["failure", "success", "weird"]))
            attributes["rootspan.expected"] = draw(st.sampled_from(["42", "Paris", ""]))
        start = draw(st.integers(0, 1000))
        # parents among earlier spans: the loader breaks parent cycles before any analysis runs
        parent = draw(st.one_of(st.none(), st.sampled_from(ids[:index]))) if index else None
        spans.append(
            Span(
                trace_id=TRACE_ID,
                span_id=span_id,
                parent_span_id=parent,
                name=draw(st.sampled_from(["invoke_agent a", "chat m", "execute_tool calc", "x", ""])),
                start_ns=start,
                end_ns=start + draw(st.integers(0, 500)),
                attributes={key: value for key, value in attributes.items() if value is not None},
                events=[SpanEvent(name="exception", attributes={"exception.message": "boom"})] if draw(st.booleans()) else [],
                status_code=draw(st.sampled_from([StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR])),
            )
        )
    return Trace(trace_id=TRACE_ID, spans=spans)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_any_trace_gets_a_consistent_verdict(trace: Trace) -> None:
    verdict = attribute_trace(trace)
    json.dumps(verdict.model_dump(mode="json"))
    assert verdict.trace_id == TRACE_ID
    if verdict.culprit is not None:
        assert verdict.culprit.span_id in trace.by_id
        assert verdict.path and verdict.path[0] == verdict.culprit.span_id
        assert all(span_id in trace.by_id for span_id in verdict.path)
        assert 0.0 <= verdict.confidence <= 1.0
        assert all("\x1b" not in line and "\n" not in line for line in verdict.evidence)
    assert all(alt.span_id in trace.by_id for alt in verdict.alternatives)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(traces(), min_size=1, max_size=4))
def test_runs_of_several_traces(traces_: list[Trace]) -> None:
    run = Run(path=".", traces={f"{index:032x}": Trace(trace_id=f"{index:032x}", spans=[
        span.model_copy(update={"trace_id": f"{index:032x}"}) for span in trace.spans]) for index, trace in enumerate(traces_)})
    verdicts = attribute_run(run)
    assert len(verdicts) == len(traces_)


def test_hand_built_parent_cycles_do_not_hang() -> None:
    # the loader breaks parent cycles; a trace built by hand may still hold one
    cycle = [
        Span(trace_id=TRACE_ID, span_id="1" * 16, parent_span_id="2" * 16, name="chat m", start_ns=0, end_ns=10,
             attributes={"gen_ai.operation.name": "chat", "rootspan.inputs": ["3" * 16], "rootspan.output": "it is 77"}),
        Span(trace_id=TRACE_ID, span_id="2" * 16, parent_span_id="1" * 16, name="chat n", start_ns=1, end_ns=5,
             attributes={"gen_ai.operation.name": "chat", "rootspan.output": "x 12"}),
        Span(trace_id=TRACE_ID, span_id="3" * 16, name="invoke_agent a", start_ns=0, end_ns=20, status_code=StatusCode.ERROR,
             attributes={"gen_ai.agent.name": "a", "rootspan.output": "y"}),
    ]
    verdict = attribute_trace(Trace(trace_id=TRACE_ID, spans=cycle))
    assert verdict.outcome == "failure" and (verdict.culprit is not None or verdict.alternatives)

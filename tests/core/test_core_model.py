"""The trace model: span kinds from every convention, tree and step order, agents, outcome."""

from __future__ import annotations

import pytest

from rootspan.model import Span, SpanKind, Trace, classify_span
from core_fixtures import TRACE, sample_spans, sid


@pytest.mark.parametrize(
    ("name", "attributes", "kind"),
    [
        ("invoke_agent planner", {"gen_ai.operation.name": "invoke_agent"}, SpanKind.AGENT),
        ("chat gpt-4o", {"gen_ai.operation.name": "chat"}, SpanKind.LLM),
        ("execute_tool search", {"gen_ai.operation.name": "execute_tool"}, SpanKind.TOOL),
        ("invoke_workflow w", {"gen_ai.operation.name": "invoke_workflow"}, SpanKind.WORKFLOW),
        ("Researcher", {"openinference.span.kind": "AGENT"}, SpanKind.AGENT),
        ("ChatCompletion", {"openinference.span.kind": "LLM"}, SpanKind.LLM),
        ("lookup", {"openinference.span.kind": "RETRIEVER"}, SpanKind.TOOL),
        ("pipeline", {"openinference.span.kind": "CHAIN"}, SpanKind.WORKFLOW),
        ("joke_agent.agent", {"traceloop.span.kind": "agent"}, SpanKind.AGENT),
        ("weather.tool", {"traceloop.span.kind": "tool"}, SpanKind.TOOL),
        ("joke.workflow", {"traceloop.span.kind": "workflow"}, SpanKind.WORKFLOW),
        ("openai.chat", {"llm.request.type": "chat", "gen_ai.system": "openai"}, SpanKind.LLM),
        ("execute_tool grep", {}, SpanKind.TOOL),
        ("GET /health", {"http.method": "GET"}, SpanKind.OTHER),
    ],
)
def test_kind_is_derived_from_each_convention(name: str, attributes: dict, kind: SpanKind) -> None:
    assert classify_span(name, attributes) == kind
    assert Span(trace_id=TRACE, span_id=sid(9), name=name, attributes=attributes).kind == kind


def test_genai_operation_wins_over_traceloop_kind() -> None:
    attributes = {"traceloop.span.kind": "task", "gen_ai.operation.name": "execute_tool"}
    assert classify_span("x", attributes) == SpanKind.TOOL


def test_trace_tree_steps_agents_and_outcome() -> None:
    trace = Trace(trace_id=TRACE, spans=list(reversed(sample_spans())))
    assert [span.span_id for span in trace.spans] == [sid(i) for i in range(1, 6)]
    assert trace.root is not None and trace.root.span_id == sid(1)
    assert [child.span_id for child in trace.children(sid(1))] == [sid(2), sid(4)]
    assert [span.step for span in trace.steps()] == [0, 1, 2, 3, 4]
    assert trace.agents() == ["planner", "solver"]
    assert trace.agent_of(trace.by_id[sid(3)]) == "planner"
    assert trace.agent_of(trace.by_id[sid(5)]) == "solver"
    assert trace.agent_of(trace.by_id[sid(1)]) is None
    assert trace.outcome == "failure"
    assert trace.expected == "42"
    assert trace.by_id[sid(4)].inputs == [sid(2)]
    assert trace.by_id[sid(5)].is_error
    assert [depth for _, depth in trace.walk()] == [0, 1, 2, 1, 2]


def test_agent_name_from_openinference_and_name_prefix() -> None:
    oi = Span(trace_id=TRACE, span_id=sid(1), name="Researcher", attributes={"openinference.span.kind": "AGENT"})
    assert oi.agent_name == "Researcher"
    by_name = Span(trace_id=TRACE, span_id=sid(2), name="invoke_agent critic",
                   attributes={"gen_ai.operation.name": "invoke_agent"})
    assert by_name.agent_name == "critic"


def test_outcome_falls_back_to_root_error_status() -> None:
    root = Span(trace_id=TRACE, span_id=sid(1), name="run", status_code=2)
    assert Trace(trace_id=TRACE, spans=[root]).outcome == "failure"
    ok = Span(trace_id=TRACE, span_id=sid(1), name="run")
    assert Trace(trace_id=TRACE, spans=[ok]).outcome is None

"""Fixtures for the core tests: small valid runs built from the model, written with the real writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from rootspan.model import Span, SpanEvent, SpanLink, StatusCode
from rootspan.rundir import write_traces

TRACE = "0af7651916cd43dd8448eb211c80319c"


def sid(n: int) -> str:
    return f"{n:016x}"


def sample_spans() -> list[Span]:
    """A workflow with two agents, an LLM call and a failing tool: every AnyValue type appears."""
    resource = {"service.name": "test-agents", "process.pid": 42}
    return [
        Span(
            trace_id=TRACE, span_id=sid(1), name="invoke_workflow solve", start_ns=1_000, end_ns=90_000,
            attributes={"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "solve",
                        "rootspan.step": 0, "rootspan.outcome": "failure", "rootspan.expected": "42"},
            resource=resource, scope_name="rootspan",
        ),
        Span(
            trace_id=TRACE, span_id=sid(2), parent_span_id=sid(1), name="invoke_agent planner",
            start_ns=2_000, end_ns=30_000,
            attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner", "rootspan.step": 1,
                        "floats": [1.5, -2.0], "flag": True, "big": 2**62, "nested": {"a": [1, "x"]}, "raw": b"\x00\xff"},
            resource=resource, scope_name="rootspan",
        ),
        Span(
            trace_id=TRACE, span_id=sid(3), parent_span_id=sid(2), name="chat tiny-moe", start_ns=3_000, end_ns=20_000,
            attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "tiny-moe", "rootspan.step": 2,
                        "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 3},
            resource=resource, scope_name="rootspan",
        ),
        Span(
            trace_id=TRACE, span_id=sid(4), parent_span_id=sid(1), name="invoke_agent solver", start_ns=31_000,
            end_ns=80_000, attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "solver",
                                       "rootspan.step": 3, "rootspan.inputs": [sid(2)]},
            links=[SpanLink(trace_id=TRACE, span_id=sid(2), attributes={"why": "plan"})],
            resource=resource, scope_name="rootspan",
        ),
        Span(
            trace_id=TRACE, span_id=sid(5), parent_span_id=sid(4), name="execute_tool calculator", start_ns=32_000,
            end_ns=40_000, attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "calculator",
                                       "rootspan.step": 4},
            status_code=StatusCode.ERROR, status_message="ZeroDivisionError: division by zero",
            events=[SpanEvent(name="exception", time_ns=39_000,
                              attributes={"exception.type": "ZeroDivisionError", "exception.message": "division by zero"})],
            resource=resource, scope_name="rootspan",
        ),
    ]


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    write_traces(tmp_path, sample_spans())
    return tmp_path

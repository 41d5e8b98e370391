"""Small builders for hand-made traces in the attribution tests, spans shaped as our tracer writes them."""

from __future__ import annotations

import hashlib
from typing import Any

from rootspan import semconv as sc
from rootspan.model import Span, SpanEvent, SpanLink, StatusCode, Trace

TRACE_ID = "ab" * 16
MS = 1_000_000
T0 = 1_700_000_000_000_000_000


def sid(name: str) -> str:
    """A 16-hex span id derived from a readable name."""
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def span(
    name: str,
    start_ms: float,
    end_ms: float,
    parent: str | None = None,
    *,
    op: str | None = None,
    agent: str | None = None,
    tool: str | None = None,
    step: int | None = None,
    output: str | None = None,
    input: str | None = None,
    arguments: str | None = None,
    result: str | None = None,
    inputs: list[str] | None = None,
    links: list[str] | None = None,
    error: str | None = None,
    exception: tuple[str, str] | None = None,
    span_name: str | None = None,
    **attributes: Any,
) -> Span:
    """One span; ``op`` is the GenAI operation (invoke_agent, chat, execute_tool, invoke_workflow)."""
    attrs: dict[str, Any] = {}
    if op:
        attrs[sc.GEN_AI_OPERATION_NAME] = op
    if agent:
        attrs[sc.GEN_AI_AGENT_NAME] = agent
    if tool:
        attrs[sc.GEN_AI_TOOL_NAME] = tool
    if step is not None:
        attrs[sc.ROOTSPAN_STEP] = step
    if output is not None:
        attrs[sc.ROOTSPAN_OUTPUT] = output
    if input is not None:
        attrs[sc.GEN_AI_INPUT_MESSAGES] = input
    if arguments is not None:
        attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = arguments
    if result is not None:
        attrs[sc.GEN_AI_TOOL_CALL_RESULT] = result
    if inputs:
        attrs[sc.ROOTSPAN_INPUTS] = [sid(item) for item in inputs]
    attrs.update({key.replace("__", "."): value for key, value in attributes.items()})
    events = []
    if exception:
        events.append(SpanEvent(name="exception", time_ns=T0 + int(end_ms * MS),
                                attributes={"exception.type": exception[0], "exception.message": exception[1]}))
    if span_name is None:
        label = {"invoke_agent": f"invoke_agent {agent}", "chat": "chat demo-moe", "execute_tool": f"execute_tool {tool}",
                 "invoke_workflow": f"invoke_workflow {name}"}.get(op or "", name)
        span_name = label
    return Span(
        trace_id=TRACE_ID,
        span_id=sid(name),
        parent_span_id=sid(parent) if parent else None,
        name=span_name,
        start_ns=T0 + int(start_ms * MS),
        end_ns=T0 + int(end_ms * MS),
        attributes=attrs,
        events=events,
        links=[SpanLink(trace_id=TRACE_ID, span_id=sid(item)) for item in (links or [])],
        status_code=StatusCode.ERROR if (error is not None or exception) else StatusCode.UNSET,
        status_message=error or "",
    )


def trace(*spans: Span) -> Trace:
    return Trace(trace_id=TRACE_ID, spans=list(spans))


def team_trace(*, solver_output: str = "the total is 42", tool_result: str = "42", outcome: str = "failure",
               expected: str | None = None, tool_error: str | None = None, verifier_output: str = "final answer: 42") -> Trace:
    """planner -> solver (llm + calc tool) -> verifier, the shape of the demo team's traces."""
    root_attrs: dict[str, Any] = {sc.ROOTSPAN_OUTCOME: outcome}
    if expected is not None:
        root_attrs[sc.ROOTSPAN_EXPECTED] = expected
    return trace(
        span("run", 0, 100, op="invoke_workflow", step=0, input="what is 17 + 25?", **root_attrs),
        span("planner", 1, 20, "run", op="invoke_agent", agent="planner", step=1, output="compute 17 + 25"),
        span("plan-llm", 2, 19, "planner", op="chat", step=2, input="what is 17 + 25?", output="compute 17 + 25"),
        span("solver", 21, 60, "run", op="invoke_agent", agent="solver", step=3, inputs=["planner"], output=solver_output),
        span("solve-llm", 22, 30, "solver", op="chat", step=4, input="compute 17 + 25", output='calc("17 + 25")'),
        span("calc", 31, 40, "solver", op="execute_tool", tool="calc", step=5, arguments='{"expression": "17 + 25"}',
             result=tool_result, error=tool_error),
        span("solve-llm2", 41, 59, "solver", op="chat", step=6, input=f"calc returned {tool_result}", output=solver_output),
        span("verifier", 61, 99, "run", op="invoke_agent", agent="verifier", step=7, inputs=["solver"], output=verifier_output),
    )

"""Hand-built traces for the slowdown tests: spans in milliseconds with GenAI names and profiles."""

from __future__ import annotations

from typing import Any

from rootspan.model import Span, Trace

MS = 1_000_000
TRACE_ID = "0" * 31 + "1"


def span(
    span_id: str,
    start_ms: float,
    end_ms: float,
    parent: str | None = None,
    name: str | None = None,
    **attributes: Any,
) -> Span:
    """A span named after its id unless told; attribute keys use '__' for '.' (gen_ai__agent__name)."""
    attrs = {key.replace("__", "."): value for key, value in attributes.items()}
    return Span(
        trace_id=TRACE_ID,
        span_id=span_id,
        parent_span_id=parent,
        name=name or span_id,
        start_ns=int(start_ms * MS),
        end_ns=int(end_ms * MS),
        attributes=attrs,
    )


def agent(span_id: str, start_ms: float, end_ms: float, parent: str | None, agent_name: str, **attrs: Any) -> Span:
    return span(
        span_id, start_ms, end_ms, parent, f"invoke_agent {agent_name}",
        gen_ai__operation__name="invoke_agent", gen_ai__agent__name=agent_name, **attrs,
    )


def tool(span_id: str, start_ms: float, end_ms: float, parent: str | None, tool_name: str, **attrs: Any) -> Span:
    return span(
        span_id, start_ms, end_ms, parent, f"execute_tool {tool_name}",
        gen_ai__operation__name="execute_tool", gen_ai__tool__name=tool_name, **attrs,
    )


def llm(
    span_id: str, start_ms: float, end_ms: float, parent: str | None, provider: str = "rootspan-moe", **attrs: Any
) -> Span:
    return span(
        span_id, start_ms, end_ms, parent, "chat tiny-moe",
        gen_ai__operation__name="chat", gen_ai__request__model="tiny-moe", gen_ai__provider__name=provider, **attrs,
    )


def workflow(span_id: str, start_ms: float, end_ms: float, **attrs: Any) -> Span:
    return span(span_id, start_ms, end_ms, None, "invoke_workflow solve", gen_ai__operation__name="invoke_workflow", **attrs)


def trace(*spans: Span) -> Trace:
    return Trace(trace_id=TRACE_ID, spans=list(spans))


def ids(spans: list[Span]) -> list[str]:
    return [s.span_id for s in spans]

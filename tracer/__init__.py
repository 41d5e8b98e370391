"""rootspan's OpenTelemetry tracer: spans for agents, tools, LLM calls and workflows.

    import rootspan.tracer as rs
    rs.setup(service="my-agents", run_dir="runs/today")

    @rs.agent("planner")
    def plan(task): ...

See docs/tracing.md. Everything here runs on the OpenTelemetry SDK: spans go through a
TracerProvider and batch processors to the run directory (and any OTLP endpoint).
"""

from rootspan.tracer.pipeline import Tracing, current, setup, shutdown
from rootspan.tracer.propagation import (
    PropagatingExecutor,
    Thread,
    extract_traceparent,
    inject_traceparent,
    propagating_executor,
    run_in_context,
    subprocess_env,
)
from rootspan.tracer.redact import Redactor
from rootspan.tracer.spans import (
    LLMCall,
    SpanHandle,
    ToolCall,
    agent,
    agent_span,
    consumed,
    current_span_id,
    llm_call,
    outcome,
    record_output,
    tool,
    tool_span,
    workflow,
)


def _reset_for_tests() -> None:
    """Shut down the active pipeline and clear global OTel state (tests only)."""
    from rootspan.tracer.pipeline import reset_for_tests

    reset_for_tests()


__all__ = [
    "LLMCall",
    "PropagatingExecutor",
    "Redactor",
    "SpanHandle",
    "Thread",
    "ToolCall",
    "Tracing",
    "agent",
    "agent_span",
    "consumed",
    "current",
    "current_span_id",
    "extract_traceparent",
    "inject_traceparent",
    "llm_call",
    "outcome",
    "propagating_executor",
    "record_output",
    "run_in_context",
    "setup",
    "shutdown",
    "subprocess_env",
    "tool",
    "tool_span",
    "workflow",
]

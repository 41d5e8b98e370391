"""rootspan's OpenTelemetry tracer: spans for agents, tools, LLM calls and workflows.

    import rootspan.tracer as rs
    rs.setup(service="my-agents", run_dir="runs/today")

    @rs.agent("planner")
    def plan(task): ...

See docs/tracing.md. Everything here runs on the OpenTelemetry SDK: spans go through a
TracerProvider and batch processors to the run directory (and any OTLP endpoint).

Names load on first use, so that ``rootspan``'s CLI, which imports this package's ``commands``
module on every start, does not pay for the OpenTelemetry SDK unless a tracer command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rootspan.lazy import lazy_exports

_EXPORTS = {
    "Tracing": "pipeline",
    "current": "pipeline",
    "setup": "pipeline",
    "shutdown": "pipeline",
    "PropagatingExecutor": "propagation",
    "Thread": "propagation",
    "extract_traceparent": "propagation",
    "inject_traceparent": "propagation",
    "propagating_executor": "propagation",
    "run_in_context": "propagation",
    "subprocess_env": "propagation",
    "Redactor": "redact",
    "LLMCall": "spans",
    "SpanHandle": "spans",
    "ToolCall": "spans",
    "agent": "spans",
    "agent_span": "spans",
    "consumed": "spans",
    "current_span_id": "spans",
    "handoff": "spans",
    "llm_call": "spans",
    "outcome": "spans",
    "record_output": "spans",
    "tool": "spans",
    "tool_span": "spans",
    "workflow": "spans",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
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
        handoff,
        llm_call,
        outcome,
        record_output,
        tool,
        tool_span,
        workflow,
    )


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


def _reset_for_tests() -> None:
    """Shut down the active pipeline and clear global OTel state (tests only)."""
    from rootspan.tracer.pipeline import reset_for_tests

    reset_for_tests()

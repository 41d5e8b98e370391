"""A failed outcome is an OTel ERROR status on the root span, as every OTLP backend receives it.

The spans are the real SDK's: an InMemorySpanExporter on the tracer's own provider sees what any
exporter sees, and the OTLP protobuf encoder (the one the OTLP exporters use) shows the wire form.
"""

from __future__ import annotations

import rootspan.tracer as rs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tracer_helpers import by_name, finish, only_trace, start

from rootspan import semconv as sc


def _record(tmp_path, body) -> tuple[InMemorySpanExporter, object]:
    tracing = start(tmp_path)
    memory = InMemorySpanExporter()
    tracing.provider.add_span_processor(SimpleSpanProcessor(memory))
    with rs.workflow("solve"):
        with rs.agent_span("solver"):
            body()
    return memory, finish(tmp_path)


def _root(memory: InMemorySpanExporter):
    return next(span for span in memory.get_finished_spans() if span.parent is None)


def test_failure_sets_error_status_with_the_reason(tmp_path) -> None:
    memory, run = _record(tmp_path, lambda: rs.outcome(success=False, reason="answered 41, expected 42"))
    root = _root(memory)
    assert root.status.status_code is StatusCode.ERROR
    assert root.status.description == "answered 41, expected 42"
    wire = encode_spans([root]).resource_spans[0].scope_spans[0].spans[0]
    assert wire.status.code == 2 and wire.status.message == "answered 41, expected 42"  # STATUS_CODE_ERROR
    # the run directory holds the same, and only the root carries it
    trace = only_trace(run)
    stored = by_name(trace, "invoke_workflow solve")
    assert stored.is_error and stored.status_message == "answered 41, expected 42"
    assert not by_name(trace, "invoke_agent solver").is_error
    assert trace.failed and trace.failure_reason == "answered 41, expected 42"


def test_the_description_is_redacted_like_the_reason(tmp_path) -> None:
    memory, run = _record(tmp_path, lambda: rs.outcome(success=False, reason="cannot reach postgres://admin:hunter2@db.internal:5432/app"))
    root = _root(memory)
    assert root.status.description == root.attributes[sc.ROOTSPAN_OUTCOME_REASON]
    assert "hunter2" not in root.status.description


def test_failure_without_a_reason_is_still_error(tmp_path) -> None:
    memory, _ = _record(tmp_path, lambda: rs.outcome(success=False))
    root = _root(memory)
    assert root.status.status_code is StatusCode.ERROR and not root.status.description


def test_success_leaves_the_status_unset(tmp_path) -> None:
    memory, run = _record(tmp_path, lambda: rs.outcome(success=True))
    assert _root(memory).status.status_code is StatusCode.UNSET
    assert not only_trace(run).failed

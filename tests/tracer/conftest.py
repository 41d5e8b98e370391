"""Tracer test fixtures: every test starts and ends with no tracing pipeline and a clean environment."""

from __future__ import annotations

import pytest

import rootspan.tracer as rs

TRACER_ENV = (
    "ROOTSPAN_RUN_DIR",
    "ROOTSPAN_PROFILE",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "TRACEPARENT",
    "TRACESTATE",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
)


@pytest.fixture(autouse=True)
def clean_tracer(monkeypatch: pytest.MonkeyPatch):
    for name in TRACER_ENV:
        monkeypatch.delenv(name, raising=False)
    rs._reset_for_tests()
    yield
    rs._reset_for_tests()

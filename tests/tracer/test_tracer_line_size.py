"""traces.jsonl lines stay under 1 MiB (the OpenTelemetry Collector's file readers reject longer ones).

A batch of large spans, written by the real tracer with content capture on, must come out as
several lines, each a complete TracesData object that the loader reads, with no span lost.
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tracer_helpers import finish, start

import rootspan.tracer as rs
from rootspan.tracer.exporter import MAX_LINE_BYTES, RunDirSpanExporter, batch_lines


def test_a_batch_of_large_spans_is_split_into_lines_under_1_mib(tmp_path, monkeypatch: pytest.MonkeyPatch):
    # One export batch: the schedule delay is long and the batch size holds every span.
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512")
    start(tmp_path)
    blob = "x" * 150_000  # 150 kB of attribute per span, 40 spans: ~6 MB in one batch
    with rs.workflow("w"):
        for i in range(40):
            with rs.tool_span(f"t{i}") as span:
                span.set_attribute("payload", blob + str(i))
    run = finish(tmp_path)
    raw = (tmp_path / "traces.jsonl").read_bytes()
    lines = raw.splitlines(keepends=True)
    assert len(lines) > 5
    assert all(len(line) < MAX_LINE_BYTES for line in lines)
    span_ids = []
    for line in lines:
        data = json.loads(line)  # every line is a whole TracesData object on its own
        for resource_spans in data["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                span_ids += [span["spanId"] for span in scope_spans["spans"]]
    assert len(span_ids) == len(set(span_ids)) == 41
    (trace,) = run.traces.values()
    assert len(trace.spans) == 41
    payloads = sorted(span.attributes["payload"] for span in trace.spans if "payload" in span.attributes)
    assert payloads == sorted(blob + str(i) for i in range(40))


def test_a_small_batch_stays_one_line(tmp_path):
    start(tmp_path)
    with rs.workflow("w"):
        for i in range(20):
            with rs.tool_span(f"t{i}"):
                pass
    finish(tmp_path)
    assert len((tmp_path / "traces.jsonl").read_bytes().splitlines()) == 1


def test_a_single_oversized_span_is_kept_and_named(tmp_path, capsys: pytest.CaptureFixture[str]):
    """A span larger than the limit cannot be split: it is written whole, with one warning."""
    start(tmp_path)
    with rs.workflow("w"):
        with rs.tool_span("huge") as span:
            span.set_attribute("payload", "y" * (MAX_LINE_BYTES + 10))
    run = finish(tmp_path)
    (trace,) = run.traces.values()
    assert {span.name for span in trace.spans} >= {"execute_tool huge"}
    assert len(trace.spans) == 2
    assert "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT" in capsys.readouterr().err


def test_batch_lines_keeps_span_order_across_lines(tmp_path):
    """Splitting keeps the batch's order (a live reader sees spans in the order they ended)."""
    memory = InMemorySpanExporter()
    start(tmp_path).provider.add_span_processor(SimpleSpanProcessor(memory))
    for i in range(12):
        with rs.tool_span(f"t{i}") as span:
            span.set_attribute("payload", "z" * 1000)
    spans = memory.get_finished_spans()
    lines, oversized = batch_lines(spans, max_line_bytes=4000)
    assert oversized == 0 and len(lines) > 3
    assert all(len(line) < 4000 for line in lines)
    names = [s["name"] for line in lines for s in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    assert names == [span.name for span in spans]
    exporter = RunDirSpanExporter(tmp_path / "other", max_line_bytes=4000)
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    assert len((tmp_path / "other" / "traces.jsonl").read_bytes().splitlines()) == len(lines)

"""Run-directory I/O: OTLP JSON round trips and every malformed case the loader must survive."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from core_fixtures import TRACE, sample_spans, sid
from rootspan.errors import UserError
from rootspan.model import Label, LabelCulprit, Span, StatusCode, Verdict
from rootspan.rundir import (
    load_run,
    read_labels,
    read_verdicts,
    write_labels,
    write_traces,
    write_verdicts,
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_keeps_every_field(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert run.warnings == []
    trace = run.traces[TRACE]
    original = {span.span_id: span for span in sample_spans()}
    for span in trace.spans:
        expected = original[span.span_id]
        assert span.model_dump() == expected.model_dump()


def test_file_follows_otlp_json_rules(run_dir: Path) -> None:
    line = json.loads((run_dir / "traces.jsonl").read_text().splitlines()[0])
    span = line["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    assert span["traceId"] == TRACE and span["parentSpanId"] == sid(1)
    assert span["startTimeUnixNano"] == "2000" and isinstance(span["kind"], int)
    values = {kv["key"]: kv["value"] for kv in span["attributes"]}
    assert values["big"] == {"intValue": str(2**62)}
    assert values["floats"] == {"arrayValue": {"values": [{"doubleValue": 1.5}, {"doubleValue": -2.0}]}}
    assert values["raw"] == {"bytesValue": "AP8="}
    assert "kvlistValue" in values["nested"]


def test_ints_accepted_as_numbers_and_snake_case_and_base64_ids(tmp_path: Path) -> None:
    line = {
        "resource_spans": [{"scope_spans": [{"spans": [{
            "trace_id": "CvdlGRbNQ92ESOshHIAxnA==", "span_id": "AAAAAAAAAAE=", "name": "x",
            "start_time_unix_nano": 5, "end_time_unix_nano": 9.0,
            "attributes": [{"key": "n", "value": {"intValue": 7}}, {"key": "d", "value": {"doubleValue": "NaN"}}],
            "status": {"code": "STATUS_CODE_ERROR"},
        }]}]}]
    }
    (tmp_path / "traces.jsonl").write_text(json.dumps(line) + "\n")
    run = load_run(tmp_path)
    span = run.traces[TRACE].spans[0]
    assert span.span_id == sid(1) and span.duration_ns == 4 and span.attributes["n"] == 7
    assert span.status_code == StatusCode.ERROR


def test_lines_merge_and_group_by_trace(tmp_path: Path) -> None:
    spans = sample_spans()
    other = Span(trace_id="1" * 32, span_id=sid(77), name="invoke_agent lone", start_ns=5, end_ns=6)
    write_traces(tmp_path, spans[:2])
    write_traces(tmp_path, spans[2:] + [other])
    run = load_run(tmp_path)
    assert run.warnings == []
    assert sorted(run.traces) == sorted([TRACE, "1" * 32])
    assert len(run.traces[TRACE].spans) == 5


def test_truncated_last_line_is_reported_and_the_rest_loads(run_dir: Path) -> None:
    traces = run_dir / "traces.jsonl"
    with traces.open("a") as handle:
        handle.write('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "0af7')
    before = _digest(traces)
    run = load_run(run_dir)
    assert len(run.traces[TRACE].spans) == 5
    assert run.warnings == ["traces.jsonl line 2: truncated last line skipped"]
    assert _digest(traces) == before


def test_invalid_middle_line_and_non_otlp_line(run_dir: Path) -> None:
    traces = run_dir / "traces.jsonl"
    good = traces.read_text()
    traces.write_text("not json at all\n" + '{"hello": 1}\n' + good)
    run = load_run(run_dir)
    assert len(run.traces[TRACE].spans) == 5
    assert any("line 1: invalid JSON" in w for w in run.warnings)
    assert any("line 2: not an OTLP TracesData object" in w for w in run.warnings)


def test_absurdly_deep_json_line_is_skipped_not_a_crash(run_dir: Path) -> None:
    traces = run_dir / "traces.jsonl"
    good = traces.read_text()
    traces.write_text("[" * 100_000 + "\n" + good)
    run = load_run(run_dir)
    assert len(run.traces[TRACE].spans) == 5
    assert any("line 1: invalid JSON" in w for w in run.warnings)
    traces.write_text("[" * 100_000 + "\n")
    with pytest.raises(UserError, match="not an OTLP JSON Lines traces file"):
        load_run(run_dir)


def test_deep_json_in_metrics_and_verdicts_is_reported_not_a_crash(tmp_path: Path) -> None:
    from rootspan.metrics import load_metrics
    from rootspan.rundir import read_verdicts

    (tmp_path / "metrics.jsonl").write_text("[" * 100_000 + "\n")
    warnings: list[str] = []
    assert load_metrics(tmp_path / "metrics.jsonl", warnings) == [] and "line 1: skipped" in warnings[0]
    (tmp_path / "verdicts.json").write_text("[" * 100_000)
    with pytest.raises(UserError, match="not a valid verdicts file"):
        read_verdicts(tmp_path)


def test_bad_span_is_skipped_with_its_line_and_name(tmp_path: Path) -> None:
    spans = [{"traceId": TRACE, "spanId": "xyz", "name": "broken"}, {"traceId": TRACE, "spanId": sid(1), "name": "fine"}]
    (tmp_path / "traces.jsonl").write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}) + "\n")
    run = load_run(tmp_path)
    assert [s.name for s in run.traces[TRACE].spans] == ["fine"]
    assert run.warnings and "line 1: span 0 'broken' skipped" in run.warnings[0]


def test_orphan_duplicate_cycle_and_backwards_time(tmp_path: Path) -> None:
    spans = [
        Span(trace_id=TRACE, span_id=sid(1), name="root", start_ns=0, end_ns=100),
        Span(trace_id=TRACE, span_id=sid(2), parent_span_id=sid(99), name="orphan", start_ns=1, end_ns=2),
        Span(trace_id=TRACE, span_id=sid(1), name="root again", start_ns=0, end_ns=100),
        Span(trace_id=TRACE, span_id=sid(3), parent_span_id=sid(4), name="a", start_ns=3, end_ns=4),
        Span(trace_id=TRACE, span_id=sid(4), parent_span_id=sid(3), name="b", start_ns=5, end_ns=6),
        Span(trace_id=TRACE, span_id=sid(5), parent_span_id=sid(5), name="self", start_ns=7, end_ns=8),
        Span(trace_id=TRACE, span_id=sid(6), parent_span_id=sid(1), name="backwards", start_ns=50, end_ns=10),
    ]
    write_traces(tmp_path, spans)
    run = load_run(tmp_path)
    trace = run.traces[TRACE]
    text = "\n".join(run.warnings)
    assert "orphan" in text and "parent 0000000000000063 not in trace" in text
    assert "duplicate span id" in text
    assert "parent cycle through 2 spans" in text
    assert "is its own parent" in text
    assert "ends before it starts" in text
    assert len(trace.spans) == 6
    assert trace.by_id[sid(6)].duration_ns == 0
    walked = [span.span_id for span, _ in trace.walk()]
    assert sorted(walked) == sorted(trace.by_id)


def test_missing_path_and_non_otlp_file_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file or directory"):
        load_run(tmp_path / "missing")
    with pytest.raises(UserError, match="not a run directory"):
        load_run(tmp_path)
    junk = tmp_path / "junk.jsonl"
    junk.write_text("hello\nworld\n")
    with pytest.raises(UserError, match="not an OTLP JSON Lines traces file"):
        load_run(junk)


def test_single_traces_file_loads(run_dir: Path) -> None:
    run = load_run(run_dir / "traces.jsonl")
    assert run.span_count == 5 and run.metrics_path is None


def test_labels_and_verdicts_round_trip(run_dir: Path) -> None:
    label = Label(fault="tool-exception", kind="failure", culprit=LabelCulprit(span_id=sid(5), agent="solver", step=4),
                  category="tool_error", trace_id=TRACE)
    write_labels(run_dir, label)
    assert read_labels(run_dir / "labels.json") == label
    assert load_run(run_dir).labels == label
    verdict = Verdict(trace_id=TRACE, outcome="failure", category="tool_error", confidence=0.8)
    write_verdicts(run_dir, [verdict], {"failures": 1})
    assert read_verdicts(run_dir) == [verdict]


def test_bad_labels_file_is_a_warning_not_a_crash(run_dir: Path) -> None:
    (run_dir / "labels.json").write_text("{broken")
    run = load_run(run_dir)
    assert run.labels is None and any("not a valid labels file" in w for w in run.warnings)

"""The span exporter that writes a run directory's traces.jsonl in the OTel file-exporter format.

Each export batch becomes one OTLP ``TracesData`` line (hex ids, enums as integers, int64 as
strings), encoded with the core's ``rootspan.otlp`` encoders so the tracer and every loader agree
on one encoding, and appended in one write (so a live reader or a killed run never sees half a
batch interleaved with another).

A line stays under ``MAX_LINE_BYTES`` (1 MiB): the Collector's otlpjsonfile/filelog readers
reject longer lines, so a batch of large spans (captured content) is split into several lines,
each a complete TracesData object. Only a single span that is itself larger cannot be split;
it is written alone, with a warning naming OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from rootspan.otlp import encode_attributes
from rootspan.errors import UserError
from rootspan.rundir import TRACES_FILE
from rootspan.safe_write import append_bytes
from rootspan.text import printable


# Agent apps repeat the same few attribute pairs on every span (operation, agent and tool names,
# small step numbers), so each short scalar pair is encoded once and its JSON object reused.
_CACHEABLE = (str, int, float, bool)
_MAX_CACHED_STRING = 256
_MAX_CACHE_ENTRIES = 8192
_encoded_pairs: dict[tuple[str, type, Any], dict[str, Any]] = {}


def _encode_span_attributes(attributes: Any) -> list[dict[str, Any]]:
    if not attributes:
        return []
    out = []
    for key, value in attributes.items():
        kind = type(value)
        if kind in _CACHEABLE and (kind is not str or len(value) <= _MAX_CACHED_STRING):
            cache_key = (key, kind, value)
            item = _encoded_pairs.get(cache_key)
            if item is None:
                if len(_encoded_pairs) >= _MAX_CACHE_ENTRIES:
                    _encoded_pairs.clear()
                item = _encoded_pairs[cache_key] = encode_attributes({key: value})[0]
            out.append(item)
        else:
            out.extend(encode_attributes({key: value}))
    return out


def _span_json(span: ReadableSpan) -> dict[str, Any]:
    context = span.context
    out: dict[str, Any] = {
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
        "name": span.name,
        # OTLP numbers span kinds from 1 (0 is UNSPECIFIED); the Python API numbers them from 0.
        "kind": span.kind.value + 1,
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or 0),
        "attributes": _encode_span_attributes(span.attributes),
        "status": {"code": int(span.status.status_code.value)},
    }
    parent = span.parent
    if parent is not None and parent.span_id:
        out["parentSpanId"] = format(parent.span_id, "016x")
    trace_state = context.trace_state
    if trace_state:
        out["traceState"] = trace_state.to_header()
    if span.status.description:
        out["status"]["message"] = span.status.description
    if span.events:
        out["events"] = [
            {
                "timeUnixNano": str(event.timestamp),
                "name": event.name,
                "attributes": encode_attributes(dict(event.attributes or {})),
            }
            for event in span.events
        ]
    if span.links:
        out["links"] = [
            {
                "traceId": format(link.context.trace_id, "032x"),
                "spanId": format(link.context.span_id, "016x"),
                "attributes": encode_attributes(dict(link.attributes or {})),
            }
            for link in span.links
        ]
    if span.dropped_attributes:
        out["droppedAttributesCount"] = span.dropped_attributes
    if span.dropped_events:
        out["droppedEventsCount"] = span.dropped_events
    return out


def spans_to_traces_data(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """SDK spans -> one TracesData object, grouped by resource and instrumentation scope."""
    # Spans of one provider share one Resource object, so identity is a cheap grouping key;
    # two equal resources in different objects just become two (valid) resourceSpans entries.
    groups: dict[int, tuple[Any, dict[tuple[str, str], list[dict[str, Any]]]]] = {}
    for span in spans:
        resource = span.resource
        _, scopes = groups.setdefault(id(resource), (resource, {}))
        scope = span.instrumentation_scope
        key = (scope.name, scope.version or "") if scope is not None else ("", "")
        scopes.setdefault(key, []).append(_span_json(span))
    resource_spans = []
    for resource, scopes in groups.values():
        scope_spans = []
        for (name, version), scope_span_list in scopes.items():
            scope: dict[str, Any] = {"name": name}
            if version:
                scope["version"] = version
            scope_spans.append({"scope": scope, "spans": scope_span_list})
        attributes = dict(resource.attributes) if resource is not None else {}
        resource_spans.append({"resource": {"attributes": encode_attributes(attributes)}, "scopeSpans": scope_spans})
    return {"resourceSpans": resource_spans}


# The OpenTelemetry Collector's file readers stop at 1 MiB a line (filelog's max_log_size default).
MAX_LINE_BYTES = 1 << 20


def _line(spans: Sequence[ReadableSpan]) -> bytes:
    return (json.dumps(spans_to_traces_data(spans), separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def batch_lines(spans: Sequence[ReadableSpan], max_line_bytes: int = MAX_LINE_BYTES) -> tuple[list[bytes], int]:
    """The batch as TracesData lines each shorter than ``max_line_bytes``, and how many single spans
    could not be brought under it.

    The whole batch is encoded first (almost every batch fits); a line that is too long is split in
    halves until each part fits, so the cost of splitting is paid only by batches that need it.
    """
    lines: list[bytes] = []
    oversized = 0
    pending = [list(spans)]
    while pending:
        part = pending.pop()
        line = _line(part)
        if len(line) < max_line_bytes:
            lines.append(line)
        elif len(part) == 1:
            lines.append(line)
            oversized += 1
        else:
            middle = len(part) // 2
            pending.append(part[middle:])  # popped second: lines keep the batch's span order
            pending.append(part[:middle])
    return lines, oversized


class RunDirSpanExporter(SpanExporter):
    """Appends each export batch to ``<run_dir>/traces.jsonl`` as TracesData lines under 1 MiB."""

    def __init__(self, run_dir: str | Path, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / TRACES_FILE
        self.max_line_bytes = max_line_bytes
        self._shutdown = False
        self._warned = False
        self._warned_oversized = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            lines, oversized = batch_lines(spans, self.max_line_bytes)
            append_bytes(self.path, b"".join(lines), root=self.run_dir)
        except (OSError, ValueError, TypeError) as exc:
            # A full disk or an unwritable directory must not crash the app being traced; say
            # why once, and the counting wrapper reports how many spans it cost at shutdown.
            if not self._warned:
                self._warned = True
                # a refused symlink already names the path; other errors get it here
                reason = str(exc) if isinstance(exc, UserError) else f"cannot write {self.path}: {exc}"
                print(f"rootspan: warning: {printable(reason)}", file=sys.stderr)
            return SpanExportResult.FAILURE
        if oversized and not self._warned_oversized:
            self._warned_oversized = True
            print(f"rootspan: warning: {oversized} span(s) alone are over {self.max_line_bytes} bytes of JSON; "
                  "their lines in traces.jsonl are too long for the OpenTelemetry Collector's file reader "
                  "(set OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT to cap attribute values)", file=sys.stderr)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

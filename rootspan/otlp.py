"""OTLP JSON encoding and decoding of spans, shared by the tracer's exporter and every loader.

The run directory stores the OTel file-exporter format: one ``TracesData`` object per line, ids
as lowercase hex, enums as integers, 64-bit integers as strings. Decoding is lenient where the
protobuf JSON mapping is (numbers or strings for int64, camelCase or snake_case field names,
base64 ids from protobuf's own JSON printer) and strict about what would corrupt the model.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Iterable

from rootspan.model import Span, SpanEvent, SpanLink, StatusCode, classify_span


class OTLPDecodeError(ValueError):
    """A span or value that cannot be decoded; the loader turns it into a warning."""


def encode_any_value(value: Any) -> dict[str, Any]:
    """Python value -> OTLP AnyValue JSON (ints as strings, as the JSON mapping requires)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"doubleValue": "NaN"}
        if math.isinf(value):
            return {"doubleValue": "Infinity" if value > 0 else "-Infinity"}
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [encode_any_value(item) for item in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": encode_attributes(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def encode_attributes(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(key), "value": encode_any_value(value)} for key, value in attributes.items()]


def _decode_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise OTLPDecodeError(f"boolean where an integer was expected: {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            pass
    raise OTLPDecodeError(f"not an integer: {raw!r}")


def _decode_double(raw: Any) -> float:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            pass
    raise OTLPDecodeError(f"not a number: {raw!r}")


def decode_any_value(raw: Any) -> Any:
    """OTLP AnyValue JSON -> Python value; an empty AnyValue is None."""
    if not isinstance(raw, dict):
        raise OTLPDecodeError(f"AnyValue is not an object: {raw!r}"[:200])
    if not raw:
        return None
    if "stringValue" in raw or "string_value" in raw:
        value = raw.get("stringValue", raw.get("string_value"))
        if not isinstance(value, str):
            raise OTLPDecodeError("stringValue is not a string")
        return value
    if "intValue" in raw or "int_value" in raw:
        return _decode_int(raw.get("intValue", raw.get("int_value")))
    if "doubleValue" in raw or "double_value" in raw:
        return _decode_double(raw.get("doubleValue", raw.get("double_value")))
    if "boolValue" in raw or "bool_value" in raw:
        value = raw.get("boolValue", raw.get("bool_value"))
        if not isinstance(value, bool):
            raise OTLPDecodeError("boolValue is not a boolean")
        return value
    if "arrayValue" in raw or "array_value" in raw:
        container = raw.get("arrayValue", raw.get("array_value")) or {}
        if not isinstance(container, dict):
            raise OTLPDecodeError("arrayValue is not an object")
        values = container.get("values") or []
        if not isinstance(values, list):
            raise OTLPDecodeError("arrayValue.values is not a list")
        return [decode_any_value(item) for item in values]
    if "kvlistValue" in raw or "kvlist_value" in raw:
        container = raw.get("kvlistValue", raw.get("kvlist_value")) or {}
        if not isinstance(container, dict):
            raise OTLPDecodeError("kvlistValue is not an object")
        return decode_attributes(container.get("values") or [])
    if "bytesValue" in raw or "bytes_value" in raw:
        value = raw.get("bytesValue", raw.get("bytes_value"))
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise OTLPDecodeError("bytesValue is not base64") from exc
    raise OTLPDecodeError(f"unknown AnyValue {sorted(raw)!r}"[:200])


def decode_attributes(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise OTLPDecodeError("attributes is not a list")
    attributes: dict[str, Any] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise OTLPDecodeError("attribute without a string key")
        attributes[item["key"]] = decode_any_value(item.get("value") or {})
    return attributes


_HEX = set("0123456789abcdef")


def decode_id(raw: Any, n_bytes: int, what: str) -> str:
    """Hex id (the OTLP JSON rule) or base64 (protobuf's JSON printer) -> lowercase hex."""
    if not isinstance(raw, str) or not raw:
        raise OTLPDecodeError(f"{what} is missing")
    lowered = raw.lower()
    if len(lowered) == 2 * n_bytes and set(lowered) <= _HEX:
        if set(lowered) == {"0"}:
            raise OTLPDecodeError(f"{what} is all zeros")
        return lowered
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == n_bytes:
        return decoded.hex()
    raise OTLPDecodeError(f"{what} {raw[:40]!r} is not {n_bytes}-byte hex")


def _field(obj: dict[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    value = obj.get(camel)
    if value is None:
        value = obj.get(snake, default)
    return default if value is None else value


def decode_span(raw: Any, resource: dict[str, Any], scope_name: str) -> Span:
    """One OTLP JSON span -> Span, or OTLPDecodeError naming what is wrong."""
    if not isinstance(raw, dict):
        raise OTLPDecodeError("span is not an object")
    trace_id = decode_id(_field(raw, "traceId", "trace_id"), 16, "traceId")
    span_id = decode_id(_field(raw, "spanId", "span_id"), 8, "spanId")
    parent_raw = _field(raw, "parentSpanId", "parent_span_id", "")
    parent = decode_id(parent_raw, 8, "parentSpanId") if parent_raw else None
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise OTLPDecodeError("span name is not a string")
    attributes = decode_attributes(raw.get("attributes"))
    status = raw.get("status") or {}
    if not isinstance(status, dict):
        raise OTLPDecodeError("status is not an object")
    code = status.get("code", 0)
    if isinstance(code, str):
        code = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, code)
    code = _decode_int(code)
    if code not in (0, 1, 2):
        raise OTLPDecodeError(f"status code {code} is not 0, 1 or 2")
    events = []
    for event in raw.get("events") or []:
        if not isinstance(event, dict):
            raise OTLPDecodeError("event is not an object")
        events.append(
            SpanEvent.model_construct(
                name=str(event.get("name", "")),
                time_ns=_decode_int(_field(event, "timeUnixNano", "time_unix_nano", 0)),
                attributes=decode_attributes(event.get("attributes")),
            )
        )
    links = []
    for link in raw.get("links") or []:
        if not isinstance(link, dict):
            raise OTLPDecodeError("link is not an object")
        links.append(
            SpanLink.model_construct(
                trace_id=decode_id(_field(link, "traceId", "trace_id"), 16, "link traceId"),
                span_id=decode_id(_field(link, "spanId", "span_id"), 8, "link spanId"),
                attributes=decode_attributes(link.get("attributes")),
            )
        )
    kind = raw.get("kind", 1)
    otel_kind = _decode_int(kind) if not isinstance(kind, str) or kind.isdigit() else 1
    return Span.model_construct(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        otel_kind=otel_kind,
        start_ns=_decode_int(_field(raw, "startTimeUnixNano", "start_time_unix_nano", 0)),
        end_ns=_decode_int(_field(raw, "endTimeUnixNano", "end_time_unix_nano", 0)),
        attributes=attributes,
        events=events,
        links=links,
        status_code=StatusCode(code),
        status_message=str(status.get("message", "") or ""),
        resource=resource,
        scope_name=scope_name,
        kind=classify_span(name, attributes),
    )


def iter_traces_data(obj: dict[str, Any]) -> Iterable[tuple[dict[str, Any], str, list[Any]]]:
    """(resource attributes, scope name, raw spans) for each scope of one TracesData object."""
    resource_spans = _field(obj, "resourceSpans", "resource_spans", [])
    if not isinstance(resource_spans, list):
        raise OTLPDecodeError("resourceSpans is not a list")
    for resource_span in resource_spans:
        if not isinstance(resource_span, dict):
            raise OTLPDecodeError("resourceSpans entry is not an object")
        resource = decode_attributes((resource_span.get("resource") or {}).get("attributes"))
        scope_spans = _field(resource_span, "scopeSpans", "scope_spans", [])
        if not isinstance(scope_spans, list):
            raise OTLPDecodeError("scopeSpans is not a list")
        for scope_span in scope_spans:
            if not isinstance(scope_span, dict):
                raise OTLPDecodeError("scopeSpans entry is not an object")
            scope = scope_span.get("scope") or {}
            scope_name = scope.get("name", "") if isinstance(scope, dict) else ""
            spans = scope_span.get("spans") or []
            if not isinstance(spans, list):
                raise OTLPDecodeError("spans is not a list")
            yield resource, str(scope_name or ""), spans


def is_traces_data(obj: Any) -> bool:
    return isinstance(obj, dict) and ("resourceSpans" in obj or "resource_spans" in obj)


def span_to_otlp(span: Span) -> dict[str, Any]:
    """Span -> OTLP JSON span object (without its resource and scope)."""
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": int(span.otel_kind),
        "startTimeUnixNano": str(span.start_ns),
        "endTimeUnixNano": str(span.end_ns),
        "attributes": encode_attributes(span.attributes),
        "status": {"code": int(span.status_code)},
    }
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id
    if span.status_message:
        out["status"]["message"] = span.status_message
    if span.events:
        out["events"] = [
            {
                "timeUnixNano": str(event.time_ns),
                "name": event.name,
                "attributes": encode_attributes(event.attributes),
            }
            for event in span.events
        ]
    if span.links:
        out["links"] = [
            {"traceId": link.trace_id, "spanId": link.span_id, "attributes": encode_attributes(link.attributes)}
            for link in span.links
        ]
    return out


def spans_to_traces_data(spans: Iterable[Span]) -> dict[str, Any]:
    """Spans -> one TracesData object, grouped by resource and scope as OTLP expects."""
    groups: dict[str, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = {}
    for span in spans:
        key = repr(sorted(span.resource.items()))
        resource, scopes = groups.setdefault(key, (span.resource, {}))
        scopes.setdefault(span.scope_name, []).append(span_to_otlp(span))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": encode_attributes(resource)},
                "scopeSpans": [
                    {"scope": {"name": scope_name}, "spans": scope_spans}
                    for scope_name, scope_spans in scopes.items()
                ],
            }
            for resource, scopes in groups.values()
        ]
    }

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

from rootspan.model import Span, SpanEvent, SpanLink, StatusCode, classify_span, trusted_span


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


INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1  # timestamps are fixed64 in the protobuf


def _shown(raw: Any) -> str:
    """A value for an error message, cut short: a 400-digit number must not make a 400-character warning."""
    text = repr(raw) if not isinstance(raw, int) or abs(raw) < 10**30 else f"an integer of {len(str(abs(raw)))} digits"
    return text if len(text) <= 60 else text[:57] + "..."


def _decode_int(raw: Any, what: str = "value", low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """An int64 (or, with ``high=UINT64_MAX``, a fixed64) as JSON number or string; out of range is an error.

    The range check is what keeps a 400-digit number from reaching code that turns it into a float.
    """
    kind = type(raw)
    if kind is int:
        value = raw
    elif kind is str:
        try:
            value = int(raw)
        except ValueError:  # also Python's own limit on digits in a string
            raise OTLPDecodeError(f"{what} is not an integer: {_shown(raw)}") from None
    elif kind is float and raw.is_integer():
        # orjson (the fast line parser) turns an integer literal beyond 64 bits into a float
        # without a word: -9223372036854775809 arrives as -2.0**63, which is in range. No real
        # producer writes a 64-bit-sized integer as a float, so at that magnitude it is refused.
        if abs(raw) >= 2.0**63:
            raise OTLPDecodeError(f"{what} {_shown(raw)} is beyond 64-bit integers (or a float where an integer belongs)")
        value = int(raw)
    else:
        raise OTLPDecodeError(f"{what} is not an integer: {_shown(raw)}")
    if not low <= value <= high:
        raise OTLPDecodeError(f"{what} {_shown(value)} is out of range")
    return value


def _decode_time(raw: Any, what: str) -> int:
    return _decode_int(raw, what, 0, UINT64_MAX)


def _decode_double(raw: Any, what: str = "value") -> float:
    """A double as JSON number or string ("NaN", "Infinity" are valid in the JSON mapping)."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:
            return float(raw)
        except OverflowError:  # an integer literal beyond the double range
            raise OTLPDecodeError(f"{what} {_shown(raw)} is out of range") from None
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            pass
    raise OTLPDecodeError(f"{what} is not a number: {_shown(raw)}")


def _any_string(value: Any) -> str:
    if type(value) is not str:
        raise OTLPDecodeError("stringValue is not a string")
    return value


def _any_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise OTLPDecodeError("boolValue is not a boolean")
    return value


def _any_array(container: Any) -> list[Any]:
    container = container or {}
    if not isinstance(container, dict):
        raise OTLPDecodeError("arrayValue is not an object")
    values = container.get("values") or []
    if not isinstance(values, list):
        raise OTLPDecodeError("arrayValue.values is not a list")
    return [decode_any_value(item) for item in values]


def _any_kvlist(container: Any) -> dict[str, Any]:
    container = container or {}
    if not isinstance(container, dict):
        raise OTLPDecodeError("kvlistValue is not an object")
    return decode_attributes(container.get("values") or [])


def _any_bytes(value: Any) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise OTLPDecodeError("bytesValue is not base64") from exc


_ANY_VALUE_DECODERS = {
    "stringValue": _any_string,
    "intValue": _decode_int,
    "doubleValue": _decode_double,
    "boolValue": _any_bool,
    "arrayValue": _any_array,
    "kvlistValue": _any_kvlist,
    "bytesValue": _any_bytes,
}
_ANY_VALUE_DECODERS.update({
    "".join("_" + c.lower() if c.isupper() else c for c in key): decoder
    for key, decoder in list(_ANY_VALUE_DECODERS.items())
})


def decode_any_value(raw: Any) -> Any:
    """OTLP AnyValue JSON -> Python value; an empty AnyValue is None."""
    if type(raw) is not dict:
        raise OTLPDecodeError(f"AnyValue is not an object: {_shown(raw)}")
    if len(raw) == 1:  # the common case: one key, looked up once
        for key, value in raw.items():
            decoder = _ANY_VALUE_DECODERS.get(key)
            if decoder is not None:
                return decoder(value)
    elif not raw:
        return None
    for key, decoder in _ANY_VALUE_DECODERS.items():  # extra keys beside the value: the first known one wins
        if key in raw:
            return decoder(raw[key])
    raise OTLPDecodeError(f"unknown AnyValue {_shown(sorted(map(str, raw)))}")


def decode_attributes(raw: Any, problems: list[str] | None = None, strings: dict[str, str] | None = None) -> dict[str, Any]:
    """OTLP KeyValue list -> dict.

    With ``problems``, a malformed entry is left out and described there (the rest of the list is
    kept); without it, the first malformed entry raises. ``strings`` interns keys and short string
    values: a run repeats the same few keys and names on every span.
    """
    if raw is None:
        return {}
    if type(raw) is not list:
        if problems is None:
            raise OTLPDecodeError("attributes is not a list")
        problems.append(f"attributes is not a list ({_shown(raw)}), ignored")
        return {}
    attributes: dict[str, Any] = {}
    for item in raw:
        key = item.get("key") if type(item) is dict else None
        if type(key) is not str:
            if problems is None:
                raise OTLPDecodeError("attribute without a string key")
            problems.append(f"attribute without a string key ({_shown(item)}), skipped")
            continue
        raw_value = item.get("value")
        value = raw_value.get("stringValue") if type(raw_value) is dict and len(raw_value) == 1 else None
        if type(value) is not str:  # the common case above costs one lookup; the rest is decoded in full
            try:
                value = decode_any_value(raw_value or {})
            except (OTLPDecodeError, RecursionError) as exc:
                if problems is None:
                    raise
                problems.append(f"attribute {_shown(key)}: {exc}, skipped")
                continue
        if strings is not None:
            key = strings.setdefault(key, key)
            if type(value) is str and len(value) <= 64:
                value = strings.setdefault(value, value)
        attributes[key] = value
    return attributes


_HEX = frozenset("0123456789abcdef")


def decode_id(raw: Any, n_bytes: int, what: str) -> str:
    """Hex id (the OTLP JSON rule) or base64 (protobuf's JSON printer) -> lowercase hex."""
    if not isinstance(raw, str) or not raw:
        raise OTLPDecodeError(f"{what} is missing" if raw is None or raw == "" else f"{what} is not a string: {_shown(raw)}")
    if len(raw) == 2 * n_bytes:
        lowered = raw.lower()
        if _HEX.issuperset(lowered):
            if lowered.count("0") == len(lowered):
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


_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_STATUS = (StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR)


def _decode_status(raw: Any, problems: list[str]) -> tuple[StatusCode, str]:
    if raw is None:
        return StatusCode.UNSET, ""
    if type(raw) is not dict:
        problems.append(f"status is not an object ({_shown(raw)}), taken as unset")
        return StatusCode.UNSET, ""
    code = raw.get("code")
    if code is None:
        code = 0
    elif type(code) is str and code in _STATUS_NAMES:
        code = _STATUS_NAMES[code]
    code = _decode_int(code, "status code")
    if code not in (0, 1, 2):
        raise OTLPDecodeError(f"status code {code} is not 0, 1 or 2")
    message = raw.get("message") or ""
    if type(message) is not str:
        problems.append(f"status message is not a string ({_shown(message)}), dropped")
        message = ""
    return _STATUS[code], message


def _decode_events(raw: Any, problems: list[str], strings: dict[str, str] | None) -> list[SpanEvent]:
    if not raw:
        return []
    if type(raw) is not list:
        problems.append(f"events is not a list ({_shown(raw)}), ignored")
        return []
    events = []
    for position, event in enumerate(raw):
        try:
            if type(event) is not dict:
                raise OTLPDecodeError(f"not an object ({_shown(event)})")
            name = event.get("name") or ""
            if type(name) is not str:
                raise OTLPDecodeError(f"name is not a string ({_shown(name)})")
            time_ns = _decode_time(_field(event, "timeUnixNano", "time_unix_nano", 0), "timeUnixNano")
        except OTLPDecodeError as exc:
            problems.append(f"event {position}: {exc}, skipped")
            continue
        attributes = decode_attributes(event.get("attributes"), problems, strings)
        events.append(SpanEvent.model_construct(name=name, time_ns=time_ns, attributes=attributes))
    return events


def _decode_links(raw: Any, problems: list[str], strings: dict[str, str] | None) -> list[SpanLink]:
    if not raw:
        return []
    if type(raw) is not list:
        problems.append(f"links is not a list ({_shown(raw)}), ignored")
        return []
    links = []
    for position, link in enumerate(raw):
        try:
            if type(link) is not dict:
                raise OTLPDecodeError(f"not an object ({_shown(link)})")
            trace_id = decode_id(_field(link, "traceId", "trace_id"), 16, "traceId")
            span_id = decode_id(_field(link, "spanId", "span_id"), 8, "spanId")
        except OTLPDecodeError as exc:
            problems.append(f"link {position}: {exc}, skipped")
            continue
        attributes = decode_attributes(link.get("attributes"), problems, strings)
        links.append(SpanLink.model_construct(trace_id=trace_id, span_id=span_id, attributes=attributes))
    return links


def _decode_otel_kind(raw: Any, problems: list[str]) -> int:
    if raw is None or (type(raw) is str and not raw.isdigit()):  # enum names like SPAN_KIND_INTERNAL
        return 1
    try:
        kind = _decode_int(raw, "kind")
    except OTLPDecodeError as exc:
        problems.append(f"{exc}, taken as internal")
        return 1
    if not 0 <= kind <= 5:
        problems.append(f"kind {kind} is not 0-5, taken as internal")
        return 1
    return kind


def decode_span(
    raw: Any,
    resource: dict[str, Any],
    scope_name: str,
    problems: list[str] | None = None,
    strings: dict[str, str] | None = None,
    trace_ids: dict[str, str] | None = None,
) -> Span:
    """One OTLP JSON span -> Span, or OTLPDecodeError naming the field that makes it unusable.

    Fields a span cannot be placed without (ids, times, status code) raise; anything else that is
    malformed (one attribute, an event, a link, the kind) is left out and described in
    ``problems``, so one odd value does not cost the span. ``strings`` interns repeated text;
    ``trace_ids`` remembers each raw trace id already decoded (one per trace, seen on every span).
    """
    if problems is None:
        problems = []
    if type(raw) is not dict:
        raise OTLPDecodeError(f"span is not an object ({_shown(raw)})")
    raw_trace_id = _field(raw, "traceId", "trace_id")
    trace_id = trace_ids.get(raw_trace_id) if trace_ids is not None and type(raw_trace_id) is str else None
    if trace_id is None:
        trace_id = decode_id(raw_trace_id, 16, "traceId")
        if trace_ids is not None:
            trace_id = trace_ids[raw_trace_id] = strings.setdefault(trace_id, trace_id) if strings is not None else trace_id
    span_id = decode_id(_field(raw, "spanId", "span_id"), 8, "spanId")
    parent_raw = _field(raw, "parentSpanId", "parent_span_id", "")
    parent = decode_id(parent_raw, 8, "parentSpanId") if parent_raw else None
    name = raw.get("name", "")
    if type(name) is not str:
        raise OTLPDecodeError(f"name is not a string ({_shown(name)})")
    start_ns = _decode_time(_field(raw, "startTimeUnixNano", "start_time_unix_nano", 0), "startTimeUnixNano")
    end_ns = _decode_time(_field(raw, "endTimeUnixNano", "end_time_unix_nano", 0), "endTimeUnixNano")
    status_code, status_message = _decode_status(raw.get("status"), problems)
    attributes = decode_attributes(raw.get("attributes"), problems, strings)
    if strings is not None:
        span_id = strings.setdefault(span_id, span_id)
        if parent is not None:
            parent = strings.setdefault(parent, parent)
        name = strings.setdefault(name, name)
    return trusted_span({
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "otel_kind": _decode_otel_kind(raw.get("kind"), problems),
        "start_ns": start_ns,
        "end_ns": end_ns,
        "attributes": attributes,
        "events": _decode_events(raw.get("events"), problems, strings),
        "links": _decode_links(raw.get("links"), problems, strings),
        "status_code": status_code,
        "status_message": status_message,
        "resource": resource,
        "scope_name": scope_name,
        "kind": classify_span(name, attributes),
    })


def iter_traces_data(
    obj: dict[str, Any], problems: list[str] | None = None
) -> Iterable[tuple[dict[str, Any], str, list[Any]]]:
    """(resource attributes, scope name, raw spans) for each scope of one TracesData object.

    A malformed resource or scope name costs only itself (described in ``problems``); a container
    that is not a list where spans should be raises, as nothing under it can be found.
    """
    if problems is None:
        problems = []
    resource_spans = _field(obj, "resourceSpans", "resource_spans", [])
    if type(resource_spans) is not list:
        raise OTLPDecodeError("resourceSpans is not a list")
    for resource_span in resource_spans:
        if type(resource_span) is not dict:
            raise OTLPDecodeError("resourceSpans entry is not an object")
        raw_resource = resource_span.get("resource")
        if raw_resource is None:
            raw_resource = {}
        elif type(raw_resource) is not dict:
            problems.append(f"resource is not an object ({_shown(raw_resource)}), ignored")
            raw_resource = {}
        resource = decode_attributes(raw_resource.get("attributes"), problems)
        scope_spans = _field(resource_span, "scopeSpans", "scope_spans", [])
        if type(scope_spans) is not list:
            raise OTLPDecodeError("scopeSpans is not a list")
        for scope_span in scope_spans:
            if type(scope_span) is not dict:
                raise OTLPDecodeError("scopeSpans entry is not an object")
            scope = scope_span.get("scope") or {}
            scope_name = scope.get("name") if type(scope) is dict else None
            if scope_name is not None and type(scope_name) is not str:
                problems.append(f"scope name is not a string ({_shown(scope_name)}), ignored")
                scope_name = None
            spans = scope_span.get("spans") or []
            if type(spans) is not list:
                raise OTLPDecodeError("spans is not a list")
            yield resource, scope_name or "", spans


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

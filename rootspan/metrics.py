"""metrics.jsonl: device and host samples as OTLP JSON Lines ``MetricsData``, read and written.

The profilers write samples under the OTel hardware names (``hw.gpu.*``, ``hw.power``...); the
UI and the analyses read them back as flat ``MetricPoint`` rows, which is all they need. Counters
(energy) are written as monotonic sums, everything else as gauges.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from rootspan.model import MetricPoint
from rootspan.otlp import (
    UINT64_MAX,
    OTLPDecodeError,
    _decode_double,
    _decode_int,
    _shown,
    decode_attributes,
    encode_attributes,
)
from rootspan.jsonl import parse_json_line

CUMULATIVE = 2
MAX_METRIC_WARNINGS = 20


def metrics_to_otlp(
    points: Iterable[MetricPoint], resource: dict[str, Any] | None = None, counters: Iterable[str] = ("hw.energy",)
) -> dict[str, Any]:
    """MetricPoints -> one MetricsData object, one metric per name, points in the given order."""
    counter_names = set(counters)
    by_name: dict[str, list[MetricPoint]] = {}
    for point in points:
        by_name.setdefault(point.name, []).append(point)
    metrics = []
    for name, series in by_name.items():
        data_points = [
            {
                "timeUnixNano": str(point.time_ns),
                "asDouble": float(point.value),
                "attributes": encode_attributes(point.attributes),
            }
            for point in series
        ]
        metric: dict[str, Any] = {"name": name, "unit": series[0].unit}
        if name in counter_names:
            metric["sum"] = {"dataPoints": data_points, "aggregationTemporality": CUMULATIVE, "isMonotonic": True}
        else:
            metric["gauge"] = {"dataPoints": data_points}
        metrics.append(metric)
    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": encode_attributes(resource or {})},
                "scopeMetrics": [{"scope": {"name": "rootspan.profilers"}, "metrics": metrics}],
            }
        ]
    }


def _list(container: dict[str, Any], key: str, what: str) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if type(value) is not list:
        raise OTLPDecodeError(f"{what} is not a list")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise OTLPDecodeError(f"{what} is not an object")
    return value


def _data_point(raw: Any, name: str, unit: str, problems: list[str]) -> MetricPoint:
    data_point = _object(raw, "data point")
    if "asDouble" in data_point:
        value = _decode_double(data_point["asDouble"], "asDouble")
    else:
        value = float(_decode_int(data_point.get("asInt", 0), "asInt"))
    return MetricPoint.model_construct(
        name=name,
        unit=unit,
        time_ns=_decode_int(data_point.get("timeUnixNano", 0), "timeUnixNano", 0, UINT64_MAX),
        value=value,
        attributes=decode_attributes(data_point.get("attributes"), problems),
    )


def _points_of(obj: Any, problems: list[str]) -> list[MetricPoint]:
    """The points of one MetricsData object; what is malformed is left out and described in ``problems``."""
    points: list[MetricPoint] = []
    for resource_metric in _list(_object(obj, "line"), "resourceMetrics", "resourceMetrics"):
        for scope_metric in _list(_object(resource_metric, "resourceMetrics entry"), "scopeMetrics", "scopeMetrics"):
            for position, metric in enumerate(_list(_object(scope_metric, "scopeMetrics entry"), "metrics", "metrics")):
                try:
                    metric = _object(metric, "metric")
                    name = metric.get("name") or ""
                    unit = metric.get("unit") or ""
                    if type(name) is not str or type(unit) is not str:
                        raise OTLPDecodeError(f"name or unit is not a string ({_shown(name)}, {_shown(unit)})")
                    container = _object(metric.get("gauge") or metric.get("sum") or {}, "gauge/sum")
                    raw_points = _list(container, "dataPoints", "dataPoints")
                except OTLPDecodeError as exc:
                    problems.append(f"metric {position}: {exc}, skipped")
                    continue
                for index, raw_point in enumerate(raw_points):
                    try:
                        points.append(_data_point(raw_point, name, unit, problems))
                    except OTLPDecodeError as exc:
                        problems.append(f"metric {name!r} point {index}: {exc}, skipped")
    return points


def load_metrics(path: str | os.PathLike[str], warnings: list[str] | None = None) -> list[MetricPoint]:
    """All points of a metrics.jsonl, sorted by time; broken lines and values are skipped with a warning."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    if not path.is_file():
        return []
    points: list[MetricPoint] = []
    problems: list[str] = []
    reported = 0
    with path.open("rb") as handle:
        for line_no, raw_line in enumerate(handle, start=1):
            if not raw_line.strip():
                continue
            try:
                points.extend(_points_of(parse_json_line(raw_line), problems))
            except (ValueError, OTLPDecodeError, UnicodeDecodeError, RecursionError) as exc:
                problems.append(f"skipped ({exc})")
            if warnings is not None:
                for problem in problems:
                    reported += 1
                    if reported <= MAX_METRIC_WARNINGS:
                        warnings.append(f"{path.name} line {line_no}: {problem}"[:300])
            problems.clear()
    if warnings is not None and reported > MAX_METRIC_WARNINGS:
        warnings.append(f"{path.name}: ... and {reported - MAX_METRIC_WARNINGS} more warnings")
    points.sort(key=lambda point: point.time_ns)
    return points


def write_metrics(path: str | os.PathLike[str], points: Iterable[MetricPoint], resource: dict[str, Any] | None = None) -> None:
    """Append one MetricsData line (a single write, so a live reader never sees half a line)."""
    from rootspan.rundir import METRICS_FILE, append_jsonl

    path = Path(path)
    target = path if path.suffix == ".jsonl" else path / METRICS_FILE
    append_jsonl(target, metrics_to_otlp(points, resource))

"""metrics.jsonl: device and host samples as OTLP JSON Lines ``MetricsData``, read and written.

The profilers write samples under the OTel hardware names (``hw.gpu.*``, ``hw.power``...); the
UI and the analyses read them back as flat ``MetricPoint`` rows, which is all they need. Counters
(energy) are written as monotonic sums, everything else as gauges.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from rootspan.model import MetricPoint
from rootspan.otlp import OTLPDecodeError, _decode_double, _decode_int, decode_attributes, encode_attributes

CUMULATIVE = 2


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


def _points_of(obj: dict[str, Any]) -> list[MetricPoint]:
    points: list[MetricPoint] = []
    for resource_metric in obj.get("resourceMetrics") or []:
        for scope_metric in resource_metric.get("scopeMetrics") or []:
            for metric in scope_metric.get("metrics") or []:
                name = metric.get("name", "")
                unit = metric.get("unit", "") or ""
                container = metric.get("gauge") or metric.get("sum") or {}
                for data_point in container.get("dataPoints") or []:
                    if "asDouble" in data_point:
                        value = _decode_double(data_point["asDouble"])
                    else:
                        value = float(_decode_int(data_point.get("asInt", 0)))
                    points.append(
                        MetricPoint.model_construct(
                            name=name,
                            unit=unit,
                            time_ns=_decode_int(data_point.get("timeUnixNano", 0)),
                            value=value,
                            attributes=decode_attributes(data_point.get("attributes")),
                        )
                    )
    return points


def load_metrics(path: str | os.PathLike[str], warnings: list[str] | None = None) -> list[MetricPoint]:
    """All points of a metrics.jsonl, sorted by time; broken lines are skipped with a warning."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    if not path.is_file():
        return []
    points: list[MetricPoint] = []
    with path.open("rb") as handle:
        for line_no, raw_line in enumerate(handle, start=1):
            if not raw_line.strip():
                continue
            try:
                points.extend(_points_of(json.loads(raw_line)))
            except (ValueError, OTLPDecodeError, AttributeError, TypeError, RecursionError) as exc:
                if warnings is not None:
                    warnings.append(f"{path.name} line {line_no}: skipped ({exc})"[:300])
    points.sort(key=lambda point: point.time_ns)
    return points


def write_metrics(path: str | os.PathLike[str], points: Iterable[MetricPoint], resource: dict[str, Any] | None = None) -> None:
    """Append one MetricsData line (a single write, so a live reader never sees half a line)."""
    from rootspan.rundir import METRICS_FILE, append_jsonl

    path = Path(path)
    target = path if path.suffix == ".jsonl" else path / METRICS_FILE
    append_jsonl(target, metrics_to_otlp(points, resource))

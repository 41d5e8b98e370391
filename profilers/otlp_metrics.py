"""Device and host samples to an OTLP endpoint, next to metrics.jsonl, with the OTel SDK's exporter.

When OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set (the variables the
SDK's OTLPMetricExporter reads), each batch the sampler writes to metrics.jsonl is also posted to
``<endpoint>/v1/metrics``. The samples are already taken, each with its own timestamp, so they are
handed to the exporter as SDK ``MetricsData`` directly: a MeterProvider with a periodic reader
would read them again at its own interval and keep only the last value per series.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Iterable

from rootspan.model import MetricPoint

if TYPE_CHECKING:  # the SDK's metrics package is imported only when an endpoint is set (~17 ms)
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricsData

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SCOPE = "rootspan.profilers"
COUNTERS = frozenset({"hw.energy"})  # the same split as metrics.jsonl: counters are monotonic sums


def metrics_endpoint(environ: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """The endpoint metrics go to, or None: a traces-only endpoint variable does not count."""
    environ = os.environ if environ is None else environ
    for name in ENDPOINT_VARS:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def points_to_metrics_data(
    points: Iterable[MetricPoint], resource: dict[str, Any] | None, start_ns: int = 0
) -> "MetricsData":
    """MetricPoints -> one SDK MetricsData (one metric per name), as metrics.jsonl groups them."""
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Gauge,
        Metric,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    by_name: dict[str, list[MetricPoint]] = {}
    for point in points:
        by_name.setdefault(point.name, []).append(point)
    metrics = []
    for name, series in by_name.items():
        counter = name in COUNTERS
        data_points = [
            NumberDataPoint(
                attributes=dict(point.attributes), start_time_unix_nano=start_ns if counter else 0,
                time_unix_nano=point.time_ns, value=float(point.value),
            )
            for point in series
        ]
        data: Any
        if counter:
            data = Sum(data_points=data_points, aggregation_temporality=AggregationTemporality.CUMULATIVE, is_monotonic=True)
        else:
            data = Gauge(data_points=data_points)
        metrics.append(Metric(name=name, description="", unit=series[0].unit, data=data))
    scope = ScopeMetrics(scope=InstrumentationScope(SCOPE), metrics=metrics, schema_url="")
    return MetricsData(resource_metrics=[
        ResourceMetrics(resource=Resource(dict(resource or {})), scope_metrics=[scope], schema_url="")
    ])


class OtlpMetricSink:
    """Posts sample batches with an SDK MetricExporter; failures are counted and noted once."""

    def __init__(
        self, resource: dict[str, Any] | None, start_ns: int, note: Callable[[str], None],
        exporter: "MetricExporter | None" = None,
    ) -> None:
        if exporter is None:
            # Imported only when an endpoint is set: the protobuf/requests stack costs start-up time.
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            exporter = OTLPMetricExporter()
        self.exporter = exporter
        self.resource = dict(resource or {})
        self.start_ns = start_ns
        self.failed_batches = 0
        self._note = note

    def export(self, points: list[MetricPoint]) -> bool:
        from opentelemetry.sdk.metrics.export import MetricExportResult

        if not points:
            return True
        try:
            result = self.exporter.export(points_to_metrics_data(points, self.resource, self.start_ns))
        except Exception:  # noqa: BLE001 - an unreachable collector must not stop sampling
            result = MetricExportResult.FAILURE
        if result is not MetricExportResult.SUCCESS:
            self.failed_batches += 1
            self._note("metrics not sent to the OTLP endpoint (export failed); metrics.jsonl keeps them")
            return False
        return True

    def shutdown(self) -> None:
        try:
            self.exporter.shutdown()
        except Exception:  # noqa: BLE001 - closing an HTTP session is best effort
            pass

"""Test doubles for exercising the profilers without a GPU or the tracer.

``FakeNvml`` is a scriptable stand-in for the ``pynvml`` module that raises the real
``pynvml.NVMLError`` types: tests put ``FakeNvml().module`` in ``sys.modules['pynvml']`` (or pass
it to the sampler); values follow simple functions of the call count, and any function can be
told to fail from its k-th call on. ``RunDirExporter`` writes ended OTel spans to a run
directory's traces.jsonl, enough for tests and benchmarks to build real runs.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Callable, Sequence

import pynvml as real
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from rootspan.model import Span, SpanEvent, StatusCode
from rootspan.rundir import write_traces

_COPIED = [
    "NVMLError", "NVML_SUCCESS", "NVML_CLOCK_SM", "NVML_CLOCK_MEM", "NVML_TEMPERATURE_GPU",
    "NVML_GPM_METRIC_SM_OCCUPANCY", "NVML_GPM_METRIC_ANY_TENSOR_UTIL", "NVML_GPM_METRIC_DRAM_BW_UTIL",
    "NVML_GPM_METRICS_GET_VERSION", "c_nvmlGpmMetricsGet_t",
]


class FakeNvml:
    """State behind the fake module: per-function call counts and scheduled failures."""

    def __init__(self, gpu_count: int = 1, name: str = "NVIDIA H100 80GB HBM3", gpm: bool = True,
                 init_error: type[Exception] | None = None, watts: float = 400.0) -> None:
        self.gpu_count = gpu_count
        self.name = name
        self.gpm = gpm
        self.init_error = init_error
        self.watts = watts
        self.calls: dict[str, int] = {}
        self.failures: dict[str, tuple[int, type[Exception]]] = {}
        self.clock_event_mask = 0x4  # SwPowerCap: what an H100 under load reports
        self.module = self._build()

    def fail(self, function: str, error: type[Exception], from_call: int = 1) -> None:
        """Make ``function`` raise ``error`` from its ``from_call``-th call on."""
        self.failures[function] = (from_call, error)

    def _count(self, function: str) -> int:
        count = self.calls.get(function, 0) + 1
        self.calls[function] = count
        if function in self.failures:
            first, error = self.failures[function]
            if count >= first:
                raise error()
        return count

    def _build(self) -> types.ModuleType:
        module = types.ModuleType("pynvml")
        for attr in _COPIED:
            setattr(module, attr, getattr(real, attr))
        for attr in dir(real):
            if attr.startswith("NVMLError_"):
                setattr(module, attr, getattr(real, attr))

        def fn(name: str, body: Callable[..., Any]) -> None:
            def call(*args: Any) -> Any:
                count = self._count(name)
                return body(count, *args)

            setattr(module, name, call)

        fn("nvmlInit", lambda k: self._init())
        fn("nvmlShutdown", lambda k: None)
        fn("nvmlDeviceGetCount", lambda k: self.gpu_count)
        fn("nvmlDeviceGetHandleByIndex", lambda k, i: ("handle", i))
        fn("nvmlDeviceGetName", lambda k, h: self.name)
        fn("nvmlDeviceGetMemoryInfo", lambda k, h: types.SimpleNamespace(used=(1 + k % 4) * 2**30, total=80 * 2**30, free=0))
        fn("nvmlDeviceGetMemoryBusWidth", lambda k, h: 5120)
        fn("nvmlDeviceGetMaxClockInfo", lambda k, h, clock: 2619 if clock == real.NVML_CLOCK_MEM else 1980)
        # utilisation cycles 10..90 % so means and maxima are checkable
        fn("nvmlDeviceGetUtilizationRates", lambda k, h: types.SimpleNamespace(gpu=10 * (1 + (k - 1) % 9), memory=50))
        fn("nvmlDeviceGetPowerUsage", lambda k, h: int(self.watts * 1000))
        fn("nvmlDeviceGetTotalEnergyConsumption", lambda k, h: 1_000_000 + 1000 * k)  # mJ
        fn("nvmlDeviceGetClockInfo", lambda k, h, clock: 1980 if clock == real.NVML_CLOCK_SM else 2619)
        fn("nvmlDeviceGetTemperature", lambda k, h, sensor: 60 + k % 5)
        fn("nvmlDeviceGetCurrentClocksEventReasons", lambda k, h: self.clock_event_mask)
        fn("nvmlGpmQueryDeviceSupport", lambda k, h: types.SimpleNamespace(isSupportedDevice=int(self.gpm)))
        fn("nvmlGpmSampleAlloc", lambda k: real.c_nvmlGpmSample_t())
        fn("nvmlGpmSampleFree", lambda k, sample: None)
        fn("nvmlGpmSampleGet", lambda k, h, sample: sample)
        fn("nvmlGpmMetricsGet", lambda k, request: self._gpm_fill(request))
        return module

    def _init(self) -> None:
        if self.init_error is not None:
            raise self.init_error()

    @staticmethod
    def _gpm_fill(request: Any) -> Any:
        percent = {
            real.NVML_GPM_METRIC_SM_OCCUPANCY: 40.0,
            real.NVML_GPM_METRIC_ANY_TENSOR_UTIL: 25.0,
            real.NVML_GPM_METRIC_DRAM_BW_UTIL: 70.0,
        }
        for slot in range(request.numMetrics):
            metric = request.metrics[slot]
            metric.value = percent.get(metric.metricId, 0.0)
            metric.nvmlReturn = real.NVML_SUCCESS
        return request


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def to_model_span(span: ReadableSpan) -> Span:
    """An ended OTel SDK span as rootspan's model span (what the run-dir exporter writes)."""
    context = span.context
    return Span(
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_span_id=format(span.parent.span_id, "016x") if span.parent is not None else None,
        name=span.name,
        otel_kind=span.kind.value + 1,  # OTLP numbers kinds from 1 (INTERNAL)
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        attributes={key: _plain(value) for key, value in (span.attributes or {}).items()},
        events=[
            SpanEvent(name=event.name, time_ns=event.timestamp,
                      attributes={key: _plain(value) for key, value in (event.attributes or {}).items()})
            for event in span.events
        ],
        status_code=StatusCode(span.status.status_code.value),
        status_message=span.status.description or "",
        resource=dict(span.resource.attributes) if span.resource is not None else {},
        scope_name=span.instrumentation_scope.name if span.instrumentation_scope is not None else "",
    )


class RunDirExporter(SpanExporter):
    """Appends each exported batch to <run_dir>/traces.jsonl as one OTLP TracesData line."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if spans:
            write_traces(self.run_dir, [to_model_span(span) for span in spans])
        return SpanExportResult.SUCCESS

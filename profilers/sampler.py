"""The sampler thread: host and GPU readings every interval, batched into metrics.jsonl, and the
per-span aggregates (means, maxima, energy, throttle reasons) read back from them at span end.

Without NVML or a GPU the sampler says so once on stderr and keeps sampling the host.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from rootspan.metrics import write_metrics
from rootspan.model import MetricPoint
from rootspan.profilers import names as n
from rootspan.profilers.host import HostSource
from rootspan.profilers.otlp_metrics import OtlpMetricSink, metrics_endpoint
from rootspan.profilers.nvml import NvmlSource, NvmlUnavailable, decode_clock_event_reasons
from rootspan.profilers.samples import SampleBuffer, SeriesKey, energy_between, mean

_noted: set[str] = set()
_noted_lock = threading.Lock()


def note_once(message: str) -> None:
    """One stderr line per distinct message per process: a missing GPU is news once, not per run."""
    with _noted_lock:
        if message in _noted:
            return
        _noted.add(message)
    print(f"rootspan: note: {message}", file=sys.stderr)


class Sampler:
    """Owns the sources and the buffer; ``start()`` runs ``sample_once`` on a daemon thread."""

    def __init__(
        self,
        metrics_path: Path | None,
        resource: dict[str, Any] | None = None,
        interval_s: float = 0.1,
        flush_interval_s: float = 5.0,
        host: bool = True,
        device: str = "auto",
        nvml: Any = None,
        note: Callable[[str], None] = note_once,
        otlp: OtlpMetricSink | None | bool = None,
    ) -> None:
        """``otlp``: a sink, False for none, None (default) for one when an OTLP metrics endpoint is set."""
        self.metrics_path = metrics_path
        self.resource = dict(resource or {})
        self.interval_s = interval_s
        self.flush_interval_s = flush_interval_s
        self.buffer = SampleBuffer(stale_ns=int(2 * interval_s * 1e9))
        self.host = HostSource() if host else None
        self.gpu: NvmlSource | None = None
        self.gpu_static: dict[str, Any] = {}
        self._note = note
        if device != "off":
            try:
                self.gpu = NvmlSource(note=note, nvml=nvml)
            except NvmlUnavailable as exc:
                if device == "required":  # "auto" turns on what the machine has: no GPU is not news
                    note(f"no GPU metrics ({exc}); host sampling continues")
        if self.gpu is not None and self.gpu.primary is not None:
            primary = self.gpu.primary
            self.primary_id = primary.device_id
            self.gpu_static = {
                n.GPU_DEVICE_NAME: primary.name,
                n.GPU_MEM_TOTAL: primary.memory_total,
                n.GPU_PEAK_BANDWIDTH: primary.peak_bandwidth,
                n.GPU_PEAK_FLOPS: primary.peak_flops,
            }
            self.gpu_static = {key: value for key, value in self.gpu_static.items() if value}
        else:
            self.primary_id = ""
        self.otlp: OtlpMetricSink | None
        if otlp is None:
            otlp = OtlpMetricSink(self.resource, time.time_ns(), note) if metrics_endpoint() else None
        self.otlp = otlp or None
        self._pending: list[MetricPoint] = []
        self._pending_lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.host is not None or self.gpu is not None

    def sample_once(self, time_ns: int | None = None) -> dict[SeriesKey, float]:
        """Read every source once, store the values, and queue them for metrics.jsonl."""
        now = time.time_ns() if time_ns is None else time_ns
        values: dict[SeriesKey, float] = {}
        if self.host is not None:
            try:
                values.update(self.host.read(now))
            except Exception as exc:  # noqa: BLE001 - psutil can fail on exotic systems; GPU sampling goes on
                self._note(f"host sampling stopped ({type(exc).__name__}: {exc})")
                host, self.host = self.host, None
                host.close()  # its /proc files stay open otherwise
        if self.gpu is not None:
            values.update(self.gpu.read())
        if values:
            self.buffer.add(now, values)
            points = [
                MetricPoint.model_construct(
                    name=metric, unit=n.METRIC_UNITS.get(metric, ""), time_ns=now, value=value,
                    attributes={"hw.id": device} if device else {},
                )
                for (metric, device), value in values.items()
            ]
            with self._pending_lock:
                self._pending.extend(points)
        return values

    def flush(self) -> None:
        """Write queued samples as one MetricsData line (batches, not a line per sample)."""
        with self._pending_lock:
            points, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        if points and self.metrics_path is not None:
            try:
                write_metrics(self.metrics_path, points, self.resource)
            except OSError as exc:
                self._note(f"cannot write {self.metrics_path} ({exc}); samples dropped")
        if points and self.otlp is not None:
            self.otlp.export(points)

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            try:
                self.sample_once()
            except Exception as exc:  # noqa: BLE001 - never let sampling kill the app's process
                self._note(f"sampling error ({type(exc).__name__}: {exc}); continuing")
            if time.monotonic() - self._last_flush >= self.flush_interval_s:
                self.flush()
            next_tick += self.interval_s
            delay = next_tick - time.monotonic()
            if delay < 0:  # fell behind (a slow NVML call, a busy machine): do not burst to catch up
                next_tick = time.monotonic()
                delay = 0.0
            self._stop.wait(delay)

    def start(self) -> None:
        if self._thread is None and self.active:
            self._thread = threading.Thread(target=self._run, name="rootspan-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread, take one last sample (so the last spans have an end reading) and flush."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=max(2.0, 5 * self.interval_s))
            self._thread = None
            try:
                self.sample_once()
            except Exception:  # noqa: BLE001 - a final sample is a nicety
                pass
        self.flush()
        if self.otlp is not None:
            self.otlp.shutdown()
            self.otlp = None
        if self.gpu is not None:
            self.gpu.close()
            self.gpu = None
        if self.host is not None:
            self.host.close()
            self.host = None

    def span_attributes(self, start_ns: int, end_ns: int) -> dict[str, Any]:
        """rootspan.cpu.* / rootspan.gpu.* aggregates of the samples taken during a span."""
        attrs: dict[str, Any] = {}
        buffer = self.buffer
        rss = buffer.window((n.PROCESS_MEMORY_USAGE, ""), start_ns, end_ns)
        if rss:
            attrs[n.CPU_RSS_PEAK] = int(max(rss))
        system = buffer.window((n.SYSTEM_CPU_UTILIZATION, ""), start_ns, end_ns)
        if system:
            attrs[n.CPU_SYSTEM_UTILIZATION] = mean(system)
        if not self.primary_id:
            return attrs
        gpu = self.primary_id
        attrs.update(self.gpu_static)
        for metric, key, how in (
            (n.HW_GPU_UTILIZATION, n.GPU_UTIL_MEAN, "mean"),
            (n.HW_GPU_UTILIZATION, n.GPU_UTIL_MAX, "max"),
            (n.GPU_MEMCTL_UTILIZATION, n.GPU_MEM_UTIL_MEAN, "mean"),
            (n.HW_POWER, n.GPU_POWER_MEAN_W, "mean"),
            (n.HW_POWER, n.GPU_POWER_MAX_W, "max"),
            (n.GPU_CLOCK_SM, n.GPU_SM_CLOCK_MEAN_MHZ, "mean"),
            (n.HW_TEMPERATURE, n.GPU_TEMPERATURE_MAX_C, "max"),
            (n.GPU_DRAM_BW_UTILIZATION, n.GPU_DRAM_BW_UTIL_MEAN, "mean"),
            (n.GPU_SM_OCCUPANCY, n.GPU_SM_OCCUPANCY_MEAN, "mean"),
            (n.GPU_TENSOR_UTILIZATION, n.GPU_TENSOR_UTIL_MEAN, "mean"),
        ):
            values = buffer.window((metric, gpu), start_ns, end_ns)
            if values:
                attrs[key] = mean(values) if how == "mean" else max(values)
        energy = energy_between(buffer, (n.HW_ENERGY, gpu), (n.HW_POWER, gpu), start_ns, end_ns)
        if energy is not None:
            attrs[n.GPU_ENERGY_J] = energy
        masks = buffer.window((n.GPU_CLOCK_EVENT_REASONS, gpu), start_ns, end_ns)
        if masks:
            seen = 0
            for mask in masks:
                seen |= int(mask)
            # An idle GPU's low clock is not a slowdown of the span's work.
            attrs[n.GPU_THROTTLE_REASONS] = [name for name in decode_clock_event_reasons(seen) if name != "gpu_idle"]
        return attrs

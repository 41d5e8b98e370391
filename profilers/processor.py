"""The span processor that joins profiles to spans: it sits between the tracer and its exporters.

on_start records what a span's aggregates need (start CPU time, CUDA peak reset, a kernel-window
annotation); on_end computes the span's ``rootspan.cpu.*`` / ``rootspan.gpu.*`` attributes and
forwards an enriched copy downstream (OTel spans are read-only once ended). A span that ends while
a kernel window is recording waits for that window to be attributed, then goes out with it.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span as SdkSpan, SpanProcessor

from rootspan.model import SpanKind, classify_span
from rootspan.semconv import GEN_AI_AGENT_NAME
from rootspan.rundir import METRICS_FILE
from rootspan.profilers import names as n
from rootspan.profilers.chrome import ProfileStats, Window, attribute, owners_with_ancestors, top_level_ops
from rootspan.profilers.config import ProfileConfig
from rootspan.profilers.host import available_cpus
from rootspan.profilers.kernel_files import KernelStore
from rootspan.profilers.kernels import RecordedWindow
from rootspan.profilers.memory import MemoryTracker
from rootspan.profilers.sampler import Sampler, note_once


@dataclass(slots=True)
class SpanState:
    span_id: str
    trace_id: str
    parent_id: str | None
    start_ns: int
    cpu_start_ns: int
    selected: bool = False
    annotation: Any = None
    end_ns: int | None = None
    stats: ProfileStats | None = None  # created when a kernel window first touches the span
    attrs: dict[str, Any] = field(default_factory=dict)
    agent: str | None = None  # gen_ai.agent.name of the span or of its nearest ancestor that has one


TRIM_EVERY = 32


def _hex_span(value: int) -> str:
    return format(value, "016x")


def enriched_copy(span: ReadableSpan, extra: dict[str, Any]) -> ReadableSpan:
    """The ended span with extra attributes merged in (existing keys win: the app said so)."""
    attributes = dict(extra)
    attributes.update(span.attributes or {})
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ProfilingProcessor(SpanProcessor):
    def __init__(
        self,
        downstream: SpanProcessor | Sequence[SpanProcessor],
        run_dir: Path | None,
        config: ProfileConfig,
        resource: dict[str, Any] | None = None,
        nvml: Any = None,
    ) -> None:
        self._downstream = list(downstream) if isinstance(downstream, (list, tuple)) else [downstream]
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.config = config
        self._cpus = available_cpus()
        self._lock = threading.RLock()
        self._spans: dict[str, SpanState] = {}
        self._deferred: list[tuple[ReadableSpan, SpanState]] = []
        self._shut = False
        self._ends = 0
        # windows stopped on the app's thread, exported and attributed on the worker's
        self._windows: queue.Queue[tuple[RecordedWindow, str] | None] = queue.Queue()
        self._pending_windows = 0
        self._worker: threading.Thread | None = None
        self.sampler: Sampler | None = None
        if config.host_sampling or config.device_sampling != "off":
            metrics_path = self.run_dir / METRICS_FILE if self.run_dir is not None else None
            self.sampler = Sampler(
                metrics_path, resource, interval_s=config.interval_s, flush_interval_s=config.flush_interval_s,
                host=config.host_sampling, device=config.device_sampling, nvml=nvml,
            )
            self.sampler.start()
        self.memory = MemoryTracker(self.run_dir, snapshot=config.oom_snapshot) if config.memory else None
        self.kernels = None
        self.store = None
        if config.kernels:
            self._start_kernels(config)

    def _start_kernels(self, config: ProfileConfig) -> None:
        if self.run_dir is None:
            note_once("kernel profile needs a run directory; kernels off")
            return
        try:
            from rootspan.profilers.kernels import KernelProfiler

            self.kernels = KernelProfiler(
                config.profile_every, config.profile_spans, flops=config.flops, profile_first=config.profile_first
            )
            self.store = KernelStore(self.run_dir)
            self._worker = threading.Thread(target=self._attribute_windows, name="rootspan-kernels", daemon=True)
            self._worker.start()
        except ImportError as exc:
            note_once(f"kernel profile needs torch ({exc}); kernels off")
        except Exception as exc:  # noqa: BLE001 - a profiler that cannot start must not stop the app
            note_once(f"kernel profiler could not start ({type(exc).__name__}: {exc}); kernels off")

    # -- SpanProcessor -------------------------------------------------------------------------

    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        try:
            self._record_start(span)
        except Exception as exc:  # noqa: BLE001 - profiling must never break the traced app
            note_once(f"profiling error at span start ({type(exc).__name__}: {exc}); that span's profile may be incomplete")
        for processor in self._downstream:
            processor.on_start(span, parent_context=parent_context)

    def _record_start(self, span: SdkSpan) -> None:
        context = span.get_span_context()
        span_id = _hex_span(context.span_id)
        parent = span.parent
        state = SpanState(
            span_id=span_id,
            trace_id=format(context.trace_id, "032x"),
            parent_id=_hex_span(parent.span_id) if parent is not None else None,
            start_ns=span.start_time or time.time_ns(),
            cpu_start_ns=time.process_time_ns(),
        )
        # Registered before any profiler call, so the span's end undoes whatever started here
        # even if a later step fails (a kernel window opened for it must close with it).
        attributes = dict(span.attributes or {})
        agent = attributes.get(GEN_AI_AGENT_NAME)
        with self._lock:
            if not isinstance(agent, str) and state.parent_id is not None:
                parent_state = self._spans.get(state.parent_id)
                agent = parent_state.agent if parent_state is not None else None
            state.agent = agent if isinstance(agent, str) else None
            self._spans[span_id] = state
        if self.memory is not None:
            self.memory.on_start(span_id)
        if self.kernels is not None:
            is_llm = classify_span(span.name, attributes) == SpanKind.LLM
            if self.kernels.selects(span.name, is_llm, state.agent):
                state.selected = True
                self.kernels.open_selected(state.start_ns)
            state.annotation = self.kernels.annotate(span_id, span.name)

    def on_end(self, span: ReadableSpan) -> None:
        span_id = _hex_span(span.context.span_id)
        with self._lock:
            state = self._spans.get(span_id)
        if state is None:  # started before this processor existed, or its start failed
            self._forward(span, {})
            return
        try:
            self._record_end(span, span_id, state)
        except Exception as exc:  # noqa: BLE001 - profiling must never break the traced app
            note_once(f"profiling error at span end ({type(exc).__name__}: {exc}); span exported without profile")
            with self._lock:
                if self._spans.pop(span_id, None) is not None:
                    self._forward(span, {})

    def _record_end(self, span: ReadableSpan, span_id: str, state: SpanState) -> None:
        end_ns = span.end_time or time.time_ns()
        state.end_ns = end_ns
        if state.annotation is not None:
            self.kernels.close_annotation(state.annotation)
            state.annotation = None
        state.attrs.update(self._host_attributes(state, end_ns))
        if self.memory is not None:
            state.attrs.update(self.memory.on_end(span_id))
            state.attrs.update(self.memory.oom_attributes(span.events, state.trace_id, span_id))
        with self._lock:
            if state.selected:
                recorded = self.kernels.close_selected(end_ns)
                self._deferred.append((span, state))
                if recorded is not None:
                    self._pending_windows += 1
                    self._windows.put((recorded, state.trace_id))
                elif not self._windows_busy():
                    self._drain()
            elif self.kernels is not None and self._windows_busy():
                # its figures (or its children's) are in a window not attributed yet
                self._deferred.append((span, state))
            else:
                self._finish(span, state)
            self._trim_samples()

    def _windows_busy(self) -> bool:
        return self.kernels is not None and (self.kernels.window_open or self._pending_windows > 0)

    def _attribute_windows(self) -> None:
        """Worker: export, read and attribute each stopped window, then release the spans waiting on it."""
        while True:
            item = self._windows.get()
            if item is None:
                return
            recorded, opener = item
            try:
                window = self.kernels.load_window(recorded)
            except Exception as exc:  # noqa: BLE001 - a broken window must not stop the others
                note_once(f"kernel window dropped ({type(exc).__name__}: {exc})")
                window = None
            with self._lock:
                try:
                    if window is not None:
                        self._process_window(window, opener_trace=opener)
                except Exception as exc:  # noqa: BLE001
                    note_once(f"kernel window not attributed ({type(exc).__name__}: {exc})")
                self._pending_windows -= 1
                if not self._windows_busy():
                    self._drain()

    def _host_attributes(self, state: SpanState, end_ns: int) -> dict[str, Any]:
        wall = max(0, end_ns - state.start_ns)
        cpu = max(0, time.process_time_ns() - state.cpu_start_ns)
        attrs: dict[str, Any] = {n.CPU_TIME_NS: cpu}
        if wall > 0:
            attrs[n.CPU_UTILIZATION] = cpu / wall / self._cpus
        if self.sampler is not None:
            attrs.update(self.sampler.span_attributes(state.start_ns, end_ns))
        return attrs

    def _process_window(self, window: Window, opener_trace: str) -> None:
        """Attribute a finished window's events to spans (inclusive of descendants) and store them."""
        span_times = {
            span_id: (state.start_ns, state.end_ns if state.end_ns is not None else window.end_ns)
            for span_id, state in self._spans.items()
        }
        owner = attribute(window, span_times)
        top = top_level_ops(window.events)
        inclusive = owners_with_ancestors(owner, lambda span_id: self._parent_of(span_id))
        for span_id, state in self._spans.items():
            end = state.end_ns if state.end_ns is not None else window.end_ns
            overlap = min(end, window.end_ns) - max(state.start_ns, window.start_ns)
            if overlap > 0:
                if state.stats is None:
                    state.stats = ProfileStats()
                state.stats.covered_ns += overlap
                state.stats.cuda = state.stats.cuda or window.cuda
            indices = inclusive.get(span_id)
            if indices:
                if state.stats is None:
                    state.stats = ProfileStats()
                state.stats.add(window.events, window, top, indices)
        if self.store is not None:
            trace_of = {span_id: state.trace_id for span_id, state in self._spans.items()}
            self.store.add_window(window, owner, trace_of, opener_trace)

    def _parent_of(self, span_id: str) -> str | None:
        state = self._spans.get(span_id)
        return state.parent_id if state is not None else None

    def _drain(self) -> None:
        deferred, self._deferred = self._deferred, []
        for span, state in deferred:
            self._finish(span, state)

    def _finish(self, span: ReadableSpan, state: SpanState) -> None:
        """Forward the enriched span and, when it closes its trace locally, write the trace's kernels file."""
        if self._spans.pop(state.span_id, None) is None:
            return  # already forwarded (after a profiling error)
        attrs = state.attrs
        if state.stats is not None:
            attrs.update(state.stats.attributes(max(0, (state.end_ns or state.start_ns) - state.start_ns)))
        self._forward(span, attrs)
        if self.store is not None and (state.parent_id is None or state.parent_id not in self._spans):
            if not any(other.trace_id == state.trace_id for other in self._spans.values()):
                self._write_kernels(state.trace_id)

    def _write_kernels(self, trace_id: str) -> None:
        try:
            self.store.flush(trace_id)
        except OSError as exc:
            note_once(f"cannot write kernels file for trace {trace_id} ({exc})")

    def _forward(self, span: ReadableSpan, extra: dict[str, Any]) -> None:
        copy = enriched_copy(span, extra) if extra else span
        for processor in self._downstream:
            processor.on_end(copy)

    def _trim_samples(self) -> None:
        """Drop samples no open span can still need (every TRIM_EVERY span ends: it walks the open spans)."""
        self._ends += 1
        if self.sampler is None or self._ends % TRIM_EVERY:
            return
        oldest = min((state.start_ns for state in self._spans.values()), default=time.time_ns())
        self.sampler.buffer.trim(oldest - self.sampler.buffer.stale_ns)

    def shutdown(self) -> None:
        with self._lock:
            if self._shut:
                return
            self._shut = True
            if self.sampler is not None:
                self.sampler.stop()
            if self.kernels is not None:
                recorded = self.kernels.close(time.time_ns())
                if recorded is not None:
                    opener = next(iter(self._spans.values())).trace_id if self._spans else ""
                    self._pending_windows += 1
                    self._windows.put((recorded, opener))
                self._windows.put(None)
        if self._worker is not None:
            self._worker.join()
        with self._lock:
            self._drain()
            if self.store is not None:
                for trace_id in self.store.pending_traces():
                    if trace_id:
                        self._write_kernels(trace_id)
        for processor in self._downstream:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000.0
        while self._pending_windows > 0 and time.monotonic() < deadline:  # let the worker release waiting spans
            time.sleep(0.01)
        if self.sampler is not None:
            self.sampler.flush()
        # Every destination gets its flush, even after one has failed (all() would stop there).
        flushed = [processor.force_flush(timeout_millis) for processor in self._downstream]
        return all(flushed)

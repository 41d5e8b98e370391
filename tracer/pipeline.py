"""``setup()``/``shutdown()``: builds the OTel SDK pipeline that feeds a run directory.

TracerProvider(StepSampler) -> [profilers' processor ->] CountingBatchSpanProcessor(run-dir
exporter) [+ CountingBatchSpanProcessor(OTLP/HTTP)]. One pipeline is active per process; a
second ``setup()`` while one is active returns the active handle unchanged and warns (changing
exporters under live spans would split a run across two destinations). After ``shutdown()``,
``setup()`` builds a fresh pipeline. Shutdown runs at normal exit (atexit) and on SIGTERM.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Iterable, Pattern

from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from rootspan.tracer import endpoint as endpoint_credentials
from rootspan.tracer import threads
from rootspan.tracer.delivery import CountingBatchSpanProcessor, loss_report
from rootspan.tracer.exporter import RunDirSpanExporter
from rootspan.tracer.redact import Redactor
from rootspan.tracer.steps import StepCounters, StepSampler

SCOPE_NAME = "rootspan.tracer"
PROFILE_MODES = ("auto", "off", "device", "kernels", "full", "sample")
ENV_RUN_DIR = "ROOTSPAN_RUN_DIR"
ENV_PROFILE = "ROOTSPAN_PROFILE"
ENV_CAPTURE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ENV_TRACEPARENT = "TRACEPARENT"
ENV_TRACESTATE = "TRACESTATE"
OTLP_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
ENV_METRICS_ENDPOINT = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"


@dataclass
class Tracing:
    """The handle ``setup()`` returns: where spans go and how to stop them."""

    service: str
    run_dir: Path | None
    capture_content: bool
    profile: str
    provider: TracerProvider
    tracer: Tracer
    redact: Redactor
    counters: StepCounters
    otlp_endpoint: str | None = None
    parent_context: otel_context.Context | None = None
    deliveries: list[CountingBatchSpanProcessor] = field(default_factory=list)
    # True when this setup() patched threading (and so shutdown() unpatches it); False when threads
    # were left alone or something else (the app, opentelemetry-instrument) had patched them first.
    instrumented_threads: bool = False
    # Spans opened through rootspan's API and not yet ended, so SIGTERM can close them.
    open_spans: dict[int, Any] = field(default_factory=dict)
    _closed: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def active(self) -> bool:
        return not self._closed

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.provider.force_flush(timeout_millis)

    @property
    def dropped_spans(self) -> int:
        """Spans lost on the way to any destination (final after shutdown)."""
        return sum(delivery.lost + delivery.failed for delivery in self.deliveries)

    def shutdown(self) -> None:
        """Flush every span and close the exporters; reports losses as one stderr line."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.instrumented_threads:
            threads.uninstrument()
            self.instrumented_threads = False
        self.provider.shutdown()
        report = loss_report(self.deliveries)
        if report:
            print(report, file=sys.stderr, flush=True)
        _forget(self)


class _QueueFullFilter(logging.Filter):
    """Mutes the SDK's per-drop "Queue full" log line: rootspan counts drops and reports them once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Queue full")


_active: Tracing | None = None
_state_lock = threading.Lock()
_hooks_installed = False
_previous_sigterm: Any = None
_global_provider_set = False


def current() -> Tracing | None:
    """The active pipeline, or None before setup() / after shutdown()."""
    return _active


def _forget(tracing: Tracing) -> None:
    global _active
    with _state_lock:
        if _active is tracing:
            _active = None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _otlp_endpoint() -> str | None:
    for name in OTLP_ENDPOINT_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _default_run_dir() -> Path:
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{os.getpid()}"


DEFAULT_SERVICE = "rootspan-app"


RUN_DIR_SCHEDULE_DELAY_MS = 1000


def run_dir_schedule_delay_ms() -> float | None:
    """How often the run directory's batch is written: every second, unless OTEL_BSP_SCHEDULE_DELAY says.

    The SDK's 5 s default means a SIGKILL loses up to 5 s of ended spans; a local append every
    second costs next to nothing (docs/benchmarks.md, "Export interval"). None lets the SDK read
    the environment variable, which wins as for every other OTEL_BSP_* setting.
    """
    return None if os.environ.get("OTEL_BSP_SCHEDULE_DELAY") else RUN_DIR_SCHEDULE_DELAY_MS


def setup(
    service: str | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    capture_content: bool = False,
    profile: str = "auto",
    redact_patterns: Iterable[str | Pattern[str]] | None = None,
    instrument_threads: bool = True,
) -> Tracing:
    """Start tracing this process; see docs/tracing.md.

    ROOTSPAN_RUN_DIR overrides ``run_dir`` (that is how ``rootspan record`` points an app at a
    directory); without either, spans go to runs/<utc time>-<pid> unless an OTLP endpoint is the
    only destination asked for. ROOTSPAN_PROFILE overrides ``profile``. Without ``service``,
    OTEL_SERVICE_NAME names the service, else "rootspan-app". Content capture is on
    when ``capture_content`` is true or OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true.
    With ``instrument_threads`` (the default) opentelemetry-instrumentation-threading patches
    threading.Thread, threading.Timer and ThreadPoolExecutor.submit so spans opened in them keep
    the caller's trace; ``shutdown()`` takes the patch off again.
    """
    global _active
    with _state_lock:
        if _active is not None:
            warnings.warn(
                "rootspan.tracer.setup() called again while tracing is active; keeping the first "
                "configuration (call rs.shutdown() first to reconfigure)",
                RuntimeWarning,
                stacklevel=2,
            )
            return _active
        tracing = _build(service, run_dir, capture_content, profile, redact_patterns)
        if instrument_threads:
            tracing.instrumented_threads = threads.instrument()
        _active = tracing
    _install_hooks()
    return tracing


def _build(
    service: str | None,
    run_dir: str | os.PathLike[str] | None,
    capture_content: bool,
    profile: str,
    redact_patterns: Iterable[str | Pattern[str]] | None,
) -> Tracing:
    profile = os.environ.get(ENV_PROFILE, "").strip() or profile
    if profile not in PROFILE_MODES:
        raise ValueError(f"profile must be one of {', '.join(PROFILE_MODES)}, not {profile!r}")
    env_dir = os.environ.get(ENV_RUN_DIR, "").strip()
    endpoint = _otlp_endpoint()
    resolved_dir: Path | None
    if env_dir:
        resolved_dir = Path(env_dir)
    elif run_dir is not None:
        resolved_dir = Path(run_dir)
    else:
        resolved_dir = None if endpoint else _default_run_dir()
    if resolved_dir is not None:
        # Absolute, so a later chdir in the app or a child process still finds the same run.
        resolved_dir = resolved_dir.absolute()
        resolved_dir.mkdir(parents=True, exist_ok=True)

    resource = Resource.create({SERVICE_NAME: service} if service else {})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE}))
    counters = StepCounters()
    redactor = Redactor(redact_patterns)
    provider = TracerProvider(sampler=StepSampler(counters), resource=resource, shutdown_on_exit=False)
    deliveries: list[CountingBatchSpanProcessor] = []
    if resolved_dir is not None:
        deliveries.append(CountingBatchSpanProcessor(
            RunDirSpanExporter(resolved_dir), label=str(resolved_dir / "traces.jsonl"),
            schedule_delay_millis=run_dir_schedule_delay_ms()))
    if endpoint or os.environ.get(ENV_METRICS_ENDPOINT, "").strip():
        # The profilers' metric exporter logs refused exports too (profilers/otlp_metrics.py).
        endpoint_credentials.install_filter(redactor)
    if endpoint:
        # Imported only when asked for: the protobuf/requests stack costs ~100 ms of start-up.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The label is printed (shutdown line, late-span warning): never with userinfo or query.
        deliveries.append(CountingBatchSpanProcessor(
            OTLPSpanExporter(), label=f"OTLP endpoint {endpoint_credentials.display_endpoint(endpoint)}"))
    downstream: SpanProcessor
    if len(deliveries) == 1:
        downstream = deliveries[0]
    else:
        downstream = SynchronousMultiSpanProcessor()
        for delivery in deliveries:
            downstream.add_span_processor(delivery)
    try:
        provider.add_span_processor(_profiled(downstream, resolved_dir, profile, dict(resource.attributes)))
    except BaseException:
        # The batch processors already run export threads; a failed setup must not leave them behind.
        for delivery in deliveries:
            delivery.shutdown()
        raise

    tracing = Tracing(
        service=str(resource.attributes[SERVICE_NAME]),
        run_dir=resolved_dir,
        capture_content=bool(capture_content) or _env_flag(ENV_CAPTURE),
        profile=profile,
        provider=provider,
        tracer=provider.get_tracer(SCOPE_NAME),
        redact=redactor,
        counters=counters,
        otlp_endpoint=endpoint_credentials.display_endpoint(endpoint) if endpoint else None,
        parent_context=_parent_from_env(),
        deliveries=deliveries,
    )
    _set_global_provider(provider)
    if tracing.parent_context is not None:
        # Root spans of the main thread hang under the parent process's span; spans.py applies
        # the same parent to root spans of threads that were started without context.
        otel_context.attach(tracing.parent_context)
    return tracing


_warned_profilers = False


def _profiled(downstream: SpanProcessor, run_dir: Path | None, mode: str, resource: dict[str, Any]) -> SpanProcessor:
    """Let the profilers wrap the pipeline (CONTRACTS.md "Tracer <-> profilers") when installed."""
    global _warned_profilers
    if mode == "off":
        return downstream
    if run_dir is None:
        # Profiles are files in a run directory (metrics.jsonl, kernels/); OTLP-only has none.
        if mode != "auto" and not _warned_profilers:
            _warned_profilers = True
            print(f"rootspan: warning: profile={mode!r} needs a run directory; exporting to OTLP without profiles",
                  file=sys.stderr)
        return downstream
    try:
        from rootspan.profilers import wrap_processor
    except ImportError:
        if mode != "auto" and not _warned_profilers:
            _warned_profilers = True
            print(f"rootspan: warning: profile={mode!r} asked for but rootspan.profilers is not available; tracing without profiles",
                  file=sys.stderr)
        return downstream
    return wrap_processor(downstream, run_dir=run_dir, mode=mode, resource=resource)


def _parent_from_env() -> otel_context.Context | None:
    traceparent = os.environ.get(ENV_TRACEPARENT, "").strip()
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    tracestate = os.environ.get(ENV_TRACESTATE, "").strip()
    if tracestate:
        carrier["tracestate"] = tracestate
    ctx = TraceContextTextMapPropagator().extract(carrier)
    if not trace_api.get_current_span(ctx).get_span_context().is_valid:
        return None
    return ctx


def _set_global_provider(provider: TracerProvider) -> None:
    """Make the provider global once, so other OTel instrumentations land in the same run."""
    global _global_provider_set
    if _global_provider_set:
        return
    _global_provider_set = True
    if isinstance(trace_api.get_tracer_provider(), trace_api.ProxyTracerProvider):
        trace_api.set_tracer_provider(provider)


def shutdown() -> None:
    """Flush and close the active pipeline (no-op when none is active)."""
    tracing = _active
    if tracing is not None:
        tracing.shutdown()


def _install_hooks() -> None:
    global _hooks_installed, _previous_sigterm
    if _hooks_installed:
        return
    _hooks_installed = True
    logging.getLogger("opentelemetry.sdk._shared_internal").addFilter(_QueueFullFilter())
    atexit.register(shutdown)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be installed from the main thread
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN or previous is None:
        return  # an app that ignores SIGTERM keeps doing so; None = installed outside Python
    _previous_sigterm = previous
    signal.signal(signal.SIGTERM, _on_sigterm)


def _after_fork_in_child() -> None:
    """A forked child keeps tracing into the same run and flushes when it exits.

    multiprocessing ends its workers with os._exit, which skips atexit; its own exit hook runs
    ``multiprocessing.util`` finalizers. The worker clears inherited finalizers first and then
    runs its after-fork callbacks, so shutdown is registered from one of those.
    """
    tracing = _active
    if tracing is None:
        return
    tracing.open_spans.clear()  # the parent's open spans are the parent's to end
    for delivery in tracing.deliveries:
        delivery.restart_counts()
    if "multiprocessing" in sys.modules:
        from multiprocessing import util

        util.register_after_fork(_FORK_MARKER, _shutdown_at_worker_exit)


class _ForkMarker:
    """multiprocessing keys after-fork callbacks by a weakly referenced object; this is ours."""


_FORK_MARKER = _ForkMarker()


def _shutdown_at_worker_exit(_marker: _ForkMarker) -> None:
    from multiprocessing import util

    util.Finalize(None, shutdown, exitpriority=100)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    previous = _previous_sigterm
    tracing = _active
    if callable(previous):
        # The app has its own handler and may stop gracefully (atexit then shuts down) or go on
        # running: flush what has ended so far and let it decide.
        if tracing is not None:
            tracing.force_flush()
        previous(signum, frame)
        return
    if tracing is not None:
        _end_open_spans(tracing, "terminated by SIGTERM")
        tracing.shutdown()
    # Default action: die by the signal itself, so the parent sees 128+15 / -15 as usual.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _end_open_spans(tracing: Tracing, reason: str) -> None:
    """End spans still open at a kill, so the run keeps its tree instead of orphans."""
    from opentelemetry.trace import Status, StatusCode

    for span in list(tracing.open_spans.values()):
        try:
            span.set_status(Status(StatusCode.ERROR, reason))
            span.end()
        except Exception:  # noqa: BLE001 - best effort while the process is being killed
            pass
    tracing.open_spans.clear()


def reset_for_tests() -> None:
    """Shut down and forget all tracer state, including OTel's set-once global provider."""
    global _global_provider_set, _warned_profilers
    tracing = _active
    if tracing is not None:
        tracing.shutdown()
    _global_provider_set = False
    _warned_profilers = False
    # The OTel API allows one global provider per process; tests need a fresh one each time.
    trace_api._TRACER_PROVIDER_SET_ONCE = trace_api.Once()  # type: ignore[attr-defined]
    trace_api._TRACER_PROVIDER = None  # type: ignore[attr-defined]
    otel_context.attach(otel_context.Context())



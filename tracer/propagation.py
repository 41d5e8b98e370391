"""Context across threads, thread pools and processes, where the OTel SDK leaves it behind.

asyncio tasks copy contextvars by themselves. Threads start with an empty context, so Thread,
run_in_context and PropagatingExecutor carry the caller's context (all contextvars, OTel's
included) into them. Across processes the W3C ``traceparent`` travels in a dict or in the
TRACEPARENT/TRACESTATE environment variables that ``setup()`` reads in the child.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator, Mapping, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from rootspan.tracer import pipeline
from rootspan.tracer.steps import TRACESTATE_KEY

T = TypeVar("T")
_propagator = TraceContextTextMapPropagator()


def run_in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """Bind ``fn`` to the caller's current context; each call runs in a fresh copy of it."""
    captured = contextvars.copy_context()

    def bound(*args: Any, **kwargs: Any) -> T:
        # A Context cannot be entered twice at once, so concurrent calls each get a copy.
        return captured.copy().run(fn, *args, **kwargs)

    return bound


class Thread(threading.Thread):
    """threading.Thread that runs its target in the context of the thread that created it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rootspan_context = contextvars.copy_context()

    def run(self) -> None:
        self._rootspan_context.run(super().run)


class PropagatingExecutor(ThreadPoolExecutor):
    """ThreadPoolExecutor whose tasks run in the context of the code that submitted them."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def propagating_executor(max_workers: int | None = None, **kwargs: Any) -> PropagatingExecutor:
    """A thread pool (same arguments as ThreadPoolExecutor) that keeps the caller's trace context."""
    return PropagatingExecutor(max_workers=max_workers, **kwargs)


def inject_traceparent(carrier: dict[str, str] | None = None) -> dict[str, str]:
    """Write the current span as W3C ``traceparent`` (+ ``tracestate``) into ``carrier``.

    The tracestate entry ``rootspan=s<N>`` reserves a step number, so the child process numbers
    its spans after the parent's spans so far instead of restarting at 0.
    """
    carrier = {} if carrier is None else carrier
    _propagator.inject(carrier)
    span_context = trace_api.get_current_span().get_span_context()
    tracing = pipeline.current()
    if span_context.is_valid and tracing is not None:
        base = tracing.counters.reserve(span_context.trace_id)
        state = span_context.trace_state.delete(TRACESTATE_KEY) if TRACESTATE_KEY in span_context.trace_state else span_context.trace_state
        state = state.add(TRACESTATE_KEY, f"s{base}")
        carrier["tracestate"] = state.to_header()
    return carrier


@contextlib.contextmanager
def extract_traceparent(carrier: Mapping[str, str]) -> Iterator[otel_context.Context]:
    """Make the span named by ``carrier``'s traceparent the parent of spans in this block."""
    ctx = _propagator.extract(dict(carrier))
    token = otel_context.attach(ctx)
    try:
        yield ctx
    finally:
        otel_context.detach(token)


def subprocess_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: os.environ) plus what a child process needs to join this run.

    TRACEPARENT/TRACESTATE make the current span the parent of the child's root spans, and
    ROOTSPAN_RUN_DIR sends the child's spans to this process's run directory.
    """
    out = dict(os.environ if env is None else env)
    tracing = pipeline.current()
    if tracing is not None and tracing.run_dir is not None:
        out[pipeline.ENV_RUN_DIR] = str(tracing.run_dir.resolve())
    carrier = inject_traceparent()
    if "traceparent" in carrier:
        out[pipeline.ENV_TRACEPARENT] = carrier["traceparent"]
        # A tracestate goes with its own traceparent: an inherited one would hand the child
        # another span's vendor state and step base.
        out.pop(pipeline.ENV_TRACESTATE, None)
        if carrier.get("tracestate"):
            out[pipeline.ENV_TRACESTATE] = carrier["tracestate"]
    return out

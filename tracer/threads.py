"""Automatic trace context in threads: opentelemetry-instrumentation-threading, on and off.

A new thread starts with an empty context, so without help a span opened in a plain
``threading.Thread`` or ``ThreadPoolExecutor`` task starts a trace of its own. OpenTelemetry's
threading instrumentation patches ``Thread.start``/``run``, ``Timer`` and
``ThreadPoolExecutor.submit`` to carry the OTel context across; ``setup()`` turns it on and
``shutdown()`` off. Only a patch this module put on is taken off: if the app or
``opentelemetry-instrument`` instrumented threading first, that stays as they left it.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()


def _instrumentor() -> Any:
    # Imported on first use: wrapt and the instrumentation base cost ~45 ms, which
    # ``import rootspan.tracer`` and ``setup(instrument_threads=False)`` need not pay.
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    return ThreadingInstrumentor()  # a singleton: every caller sees the same state


def instrument() -> bool:
    """Patch threading unless it already is; True when this call put the patch on."""
    instrumentor = _instrumentor()
    with _lock:
        if instrumentor.is_instrumented_by_opentelemetry:
            return False
        instrumentor.instrument()
        return True


def uninstrument() -> None:
    """Take off the patch that ``instrument()`` put on."""
    instrumentor = _instrumentor()
    with _lock:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def instrumented() -> bool:
    """Whether threading carries the OTel context right now (by rootspan or anyone else)."""
    return bool(_instrumentor().is_instrumented_by_opentelemetry)

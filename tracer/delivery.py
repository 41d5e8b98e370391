"""Batch delivery that counts what it loses, so a full queue is reported instead of silent.

The SDK's BatchSpanProcessor drops the oldest span when its queue is full and only logs it. We
count spans handed to the processor and spans that reached the exporter; after shutdown the
difference is exactly what was lost (queue overflow or spans ended after shutdown), and export
failures are counted separately. Counting uses ``itertools.count`` (atomic under the GIL) so
the hot path takes no lock.
"""

from __future__ import annotations

import itertools
import sys
from typing import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class CountingExporter(SpanExporter):
    """Wraps an exporter, counting spans it received and spans whose export failed."""

    def __init__(self, inner: SpanExporter, label: str) -> None:
        self.inner = inner
        self.label = label
        # The batch processor serialises export calls under its export lock, so plain ints do.
        self.received = 0
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.received += len(spans)
        try:
            result = self.inner.export(spans)
        except Exception:
            self.failed += len(spans)
            raise
        if result is not SpanExportResult.SUCCESS:
            self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """A BatchSpanProcessor whose losses can be read after shutdown (``lost``, ``failed``)."""

    def __init__(self, exporter: SpanExporter, label: str, **kwargs: float | None) -> None:
        self.counting_exporter = CountingExporter(exporter, label)
        super().__init__(self.counting_exporter, **kwargs)
        self._submitted = itertools.count()
        self.label = label
        self._closed = False
        self.late = 0

    def on_end(self, span: ReadableSpan) -> None:
        if self._closed:
            self._late_span(span)
            return
        if span.context is not None and span.context.trace_flags.sampled:
            next(self._submitted)
        super().on_end(span)

    def _late_span(self, span: ReadableSpan) -> None:
        # The shutdown report is already out; a span ending now (a daemon thread still working
        # at exit) gets its own line, once per destination.
        self.late += 1
        if self.late == 1:
            print(
                f"rootspan: warning: span {span.name!r} ended after tracing shut down and was not exported to "
                f"{self.label} (end spans before rs.shutdown(); later ones are dropped without further notice)",
                file=sys.stderr,
                flush=True,
            )

    def shutdown(self) -> None:
        self._closed = True
        super().shutdown()

    def restart_counts(self) -> None:
        """Zero the counters in a forked child: the SDK empties the child's copy of the queue."""
        self._submitted = itertools.count()
        self.counting_exporter.received = 0
        self.counting_exporter.failed = 0

    @property
    def submitted(self) -> int:
        # itertools.count has no peek; its repr is ``count(N)`` where N is the next value.
        return int(repr(self._submitted)[6:-1])

    @property
    def lost(self) -> int:
        """Spans handed to this processor that never reached its exporter."""
        return max(0, self.submitted - self.counting_exporter.received)

    @property
    def failed(self) -> int:
        """Spans the exporter received but could not deliver."""
        return self.counting_exporter.failed


def loss_report(processors: Sequence[CountingBatchSpanProcessor]) -> str | None:
    """One line naming every destination that lost spans, or None when nothing was lost."""
    parts = []
    for processor in processors:
        lost, failed = processor.lost, processor.failed
        if lost:
            parts.append(
                f"{lost} of {processor.submitted} spans dropped before export to {processor.label} "
                "(queue full; raise OTEL_BSP_MAX_QUEUE_SIZE)"
            )
        if failed:
            parts.append(f"{failed} spans failed to export to {processor.label}")
    if not parts:
        return None
    return "rootspan: warning: " + "; ".join(parts)

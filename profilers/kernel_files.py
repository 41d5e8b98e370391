"""kernels/<trace_id>.json: each trace's share of the profiling windows, as a Chrome trace.

A window can hold spans of several traces (concurrent requests); each event goes to the trace of
the span that owns it, unowned events to the trace that opened the window, metadata to all. The
files keep torch's layout (``baseTimeNanoseconds`` + ``ts`` in µs), so Perfetto opens them as
they are and the HTA join rule holds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rootspan.profilers.chrome import GPU_CATS, RUNTIME_CATS, Window, read_chrome_trace
from rootspan.rundir import KERNELS_DIR


class KernelStore:
    def __init__(self, run_dir: Path) -> None:
        self.directory = run_dir / KERNELS_DIR
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._base: dict[str, int] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def add_window(self, window: Window, owner: dict[int, str], trace_of: dict[str, str], opener_trace: str) -> None:
        events = window.events
        event_trace: dict[int, str] = {}
        correlation_trace: dict[Any, str] = {}
        for index, span_id in owner.items():
            trace_id = trace_of.get(span_id)
            if trace_id is None:
                continue
            event_trace[index] = trace_id
            event = events[index]
            if event.get("cat") in RUNTIME_CATS or event.get("cat") in GPU_CATS:
                correlation = (event.get("args") or {}).get("correlation")
                if correlation is not None:
                    correlation_trace[correlation] = trace_id
        traces = set(event_trace.values()) | {opener_trace}
        for index, event in enumerate(events):
            if event.get("ph") == "M":
                targets = traces
            elif index in event_trace:
                targets = {event_trace[index]}
            elif event.get("ph") in ("s", "f", "t") and event.get("id") in correlation_trace:
                targets = {correlation_trace[event["id"]]}
            else:
                targets = {opener_trace}
            for trace_id in targets:
                self._append(trace_id, event, window)

    def _append(self, trace_id: str, event: dict[str, Any], window: Window) -> None:
        base = self._base.setdefault(trace_id, window.base_ns)
        self._meta.setdefault(trace_id, window.meta)
        # events are copied only when changed or shared: metadata goes to several traces' files
        if event.get("ph") == "M" or ("ts" in event and window.base_ns != base):
            event = dict(event)
            if "ts" in event and window.base_ns != base:
                event["ts"] = float(event["ts"]) + (window.base_ns - base) / 1000.0
        self._events.setdefault(trace_id, []).append(event)

    def pending_traces(self) -> list[str]:
        return list(self._events)

    def flush(self, trace_id: str) -> Path | None:
        """Write (or extend) the trace's file; a later window of the same trace is merged in."""
        events = self._events.pop(trace_id, None)
        if not events:
            return None
        base = self._base.pop(trace_id)
        meta = self._meta.pop(trace_id, {})
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{trace_id}.json"
        if path.is_file():
            try:
                old_events, old_base, _ = read_chrome_trace(path)
                shift = (base - old_base) / 1000.0
                for event in events:
                    if "ts" in event:
                        event["ts"] = float(event["ts"]) + shift
                events = old_events + events
                base = old_base
            except (OSError, ValueError):
                pass  # an unreadable old file is replaced by what this process knows
        document = {
            "schemaVersion": 1,
            "deviceProperties": meta.get("deviceProperties", []),
            "displayTimeUnit": "ms",
            "baseTimeNanoseconds": base,
            "traceName": f"rootspan trace {trace_id}",
            "traceEvents": events,
        }
        tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk must not leave half a file in kernels/
            raise
        return path

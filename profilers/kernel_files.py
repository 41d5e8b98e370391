"""kernels/<trace_id>.json: each trace's share of the profiling windows, as a Chrome trace.

A window can hold spans of several traces (concurrent requests); each event goes to the trace of
the span that owns it, unowned events to the trace that opened the window, metadata to all. The
files keep torch's layout (``baseTimeNanoseconds`` + ``ts`` in µs), so Perfetto opens them as
they are and the HTA join rule holds.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from rootspan.profilers.chrome import GPU_CATS, RUNTIME_CATS, Window, read_chrome_trace
from rootspan.rundir import KERNELS_DIR
from rootspan.profilers.sampler import note_once
from rootspan.safe_write import ensure_dir, write_atomic


def _read_own_file(path: Path) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """The existing kernels file, opened without following a symlink (ELOOP if it is one)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError("not a regular file")
        return read_chrome_trace(handle)


def _set_aside(path: Path, exc: BaseException) -> None:
    """Rename an existing file this process cannot merge into, so the new one does not replace it.

    The name keeps the trace id but not the ``.json`` ending, so loaders do not take it for a
    trace's kernels file; the warning says where it went.
    """
    for _ in range(100):
        aside = path.with_name(f"{path.name}.unreadable-{os.urandom(4).hex()}")
        if not os.path.lexists(aside):
            break
    reason = getattr(exc, "strerror", None) or exc
    try:
        os.rename(path, aside)
    except OSError as rename_exc:
        raise OSError(f"{path}: unreadable ({reason}) and cannot be set aside ({rename_exc.strerror or rename_exc})") from None
    note_once(f"{path} was unreadable ({reason}); kept as {aside.name}, new kernel events written to {path.name}")


class KernelStore:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
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
        ensure_dir(self.directory, root=self.run_dir)  # refuses a kernels/ that is a symlink
        path = self.directory / f"{trace_id}.json"
        if os.path.lexists(path):
            try:
                old_events, old_base, _ = _read_own_file(path)
            except (OSError, ValueError, RecursionError) as exc:
                _set_aside(path, exc)  # never lose what is there: kept under another name
            else:
                shift = (base - old_base) / 1000.0
                for event in events:
                    if "ts" in event:
                        event["ts"] = float(event["ts"]) + shift
                events = old_events + events
                base = old_base
        document = {
            "schemaVersion": 1,
            "deviceProperties": meta.get("deviceProperties", []),
            "displayTimeUnit": "ms",
            "baseTimeNanoseconds": base,
            "traceName": f"rootspan trace {trace_id}",
            "traceEvents": events,
        }
        # a random O_EXCL temp name, then rename: a symlink planted at the file (or a symlinked
        # kernels/ folder) is never written through, and a full disk leaves no half file
        write_atomic(path, json.dumps(document, separators=(",", ":")), root=self.run_dir)
        return path

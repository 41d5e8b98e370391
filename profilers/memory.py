"""Per-span CUDA memory (peak allocated/reserved, delta) and out-of-memory records.

torch's peak counters are global per device, so nesting is handled by folding the current peak
into every open span before any span resets it. Nothing here imports torch: it is used only if
the app already imported it and initialised CUDA (the analysis side never pays for torch).
"""

from __future__ import annotations

import pickle
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from rootspan.profilers import names as n
from rootspan.profilers.sampler import note_once
from rootspan.safe_write import write_atomic

_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_TRIED = re.compile(r"Tried to allocate (\d+(?:\.\d+)?) (B|KiB|MiB|GiB|TiB)")


def cuda_torch() -> Any | None:
    """The torch module if the app imported it and CUDA is initialised; never imports or initialises."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        return torch if torch.cuda.is_initialized() else None
    except Exception:  # noqa: BLE001 - a half-imported torch must not break tracing
        return None


@dataclass
class _Open:
    start_allocated: int
    peak_allocated: int
    peak_reserved: int


class MemoryTracker:
    def __init__(self, run_dir: Path | None = None, snapshot: bool = False,
                 torch_provider: Callable[[], Any | None] = cuda_torch) -> None:
        self._torch = torch_provider  # tests pass a fake allocator here
        self.run_dir = run_dir
        self.snapshot = snapshot
        self._open: dict[str, _Open] = {}
        self._lock = threading.Lock()
        self._history_on = False
        self._snapshotted: set[str] = set()
        self._total: int | None = None

    def _fold_peaks(self, torch: Any) -> None:
        peak_allocated = torch.cuda.max_memory_allocated()
        peak_reserved = torch.cuda.max_memory_reserved()
        for state in self._open.values():
            state.peak_allocated = max(state.peak_allocated, peak_allocated)
            state.peak_reserved = max(state.peak_reserved, peak_reserved)

    def on_start(self, span_id: str) -> None:
        torch = self._torch()
        if torch is None:
            return
        if self.snapshot and not self._history_on:
            self._history_on = True
            try:  # stack traces in the OOM snapshot; private API, so best effort
                torch.cuda.memory._record_memory_history(max_entries=100_000)
            except Exception as exc:  # noqa: BLE001
                note_once(f"OOM snapshots will lack allocation stacks ({type(exc).__name__}: {exc})")
        with self._lock:
            self._fold_peaks(torch)
            torch.cuda.reset_peak_memory_stats()
            allocated = torch.cuda.memory_allocated()
            self._open[span_id] = _Open(allocated, allocated, torch.cuda.memory_reserved())

    def on_end(self, span_id: str) -> dict[str, Any]:
        torch = self._torch()
        if torch is None:
            with self._lock:
                self._open.pop(span_id, None)
            return {}
        with self._lock:
            self._fold_peaks(torch)
            state = self._open.pop(span_id, None)
            allocated = torch.cuda.memory_allocated()
        if state is None:
            return {}
        if self._total is None:
            self._total = int(torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory)
        return {
            n.GPU_MEM_PEAK_ALLOCATED: int(state.peak_allocated),
            n.GPU_MEM_PEAK_RESERVED: int(state.peak_reserved),
            n.GPU_MEM_DELTA: int(allocated - state.start_allocated),
            n.GPU_MEM_TOTAL: self._total,
        }

    def oom_attributes(self, events: Iterable[Any], trace_id: str, span_id: str) -> dict[str, Any]:
        """If an out-of-memory error passed through the span: the flag, the memory state, a snapshot."""
        message = None
        for event in events:
            if event.name != "exception":
                continue
            attributes = event.attributes or {}
            kind = str(attributes.get("exception.type", ""))
            text = str(attributes.get("exception.message", ""))
            if kind.endswith("OutOfMemoryError") or "out of memory" in text.lower():
                message = text
                break
        if message is None:
            return {}
        attrs: dict[str, Any] = {n.GPU_OOM: True}
        match = _TRIED.search(message)
        if match:
            attrs[n.GPU_MEM_REQUESTED] = int(float(match.group(1)) * _UNITS[match.group(2)])
        torch = self._torch()
        if torch is not None:
            attrs[n.GPU_MEM_ALLOCATED_AT_END] = int(torch.cuda.memory_allocated())
            attrs[n.GPU_MEM_RESERVED_AT_END] = int(torch.cuda.memory_reserved())
            if self.snapshot and self.run_dir is not None and trace_id not in self._snapshotted:
                # One snapshot per trace: the error is recorded again on every enclosing span.
                self._snapshotted.add(trace_id)
                path = self.run_dir / f"oom-{trace_id}-{span_id}.pickle"
                try:
                    # whole and atomic, never through a symlink planted at the name
                    write_atomic(path, pickle.dumps(torch.cuda.memory._snapshot()), root=self.run_dir)
                    attrs[n.GPU_MEM_SNAPSHOT] = path.name
                except Exception as exc:  # noqa: BLE001 - the OOM is the news; a failed snapshot must not hide it
                    note_once(f"OOM allocator snapshot not written ({type(exc).__name__}: {exc})")
        return attrs

"""torch.profiler windows around selected spans, with every span inside annotated by its id.

One profiler object lives for the whole run; a window opens when a selected span starts (every
Nth LLM call, or a span whose name matches a pattern) and closes when the last selected span
open ends. Spans that start while a window is open get a ``record_function`` annotation
``rootspan:<span id> <name>``; the window's Chrome trace is handed back for attribution.
CPU activities always, CUDA too when available. torch is imported only when this mode is on.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from rootspan.profilers import names as n
from rootspan.profilers.quiet import quiet_native_stderr
from rootspan.profilers.chrome import Window, read_chrome_trace


@dataclass
class RecordedWindow:
    """A finished profiling window whose results have not been exported yet."""

    results: Any  # torch.autograd.profiler.profile of that cycle
    cuda: bool
    start_ns: int = 0
    end_ns: int = 0


@contextmanager
def _quiet() -> Iterator[None]:
    """Around the profiler's start/stop calls: no Python warnings, no Kineto lines on stderr."""
    with warnings.catch_warnings(), quiet_native_stderr():
        warnings.simplefilter("ignore")
        yield


class KernelProfiler:
    def __init__(self, profile_every: int = 1, profile_spans: tuple[str, ...] = (), flops: bool = True) -> None:
        import torch
        from torch.profiler import ProfilerAction, ProfilerActivity, profile

        self._torch = torch
        self._action_on = ProfilerAction.RECORD_AND_SAVE
        self._action_off = ProfilerAction.NONE
        self.profile_every = profile_every
        self.profile_spans = profile_spans
        self.cuda = bool(torch.cuda.is_available())
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
        self._recording = False
        self._lock = threading.RLock()
        self._open_selected = 0
        self._llm_calls = 0
        self._window_start_ns = 0
        self._ready: RecordedWindow | None = None
        self._profiler = profile(
            activities=activities,
            schedule=lambda step: self._action_on if self._recording else self._action_off,
            on_trace_ready=self._on_trace_ready,
            with_flops=flops,
            experimental_config=_experimental_config(self.cuda),
        )
        with _quiet():
            self._profiler.__enter__()
            # The first trace start initialises Kineto (about a second on a small CPU); pay it at
            # setup rather than inside the first profiled span.
            self._recording = True
            self._profiler.step()
            self._recording = False
            self._profiler.step()
        self._ready = None

    @property
    def window_open(self) -> bool:
        return self._recording

    def selects(self, name: str, is_llm: bool) -> bool:
        """Does this span open (or extend) a profiling window? The schedule that keeps runs cheap."""
        if self.profile_spans and any(fnmatch.fnmatchcase(name, pattern) for pattern in self.profile_spans):
            return True
        if is_llm and self.profile_every > 0:
            with self._lock:
                self._llm_calls += 1
                return (self._llm_calls - 1) % self.profile_every == 0
        return False

    def open_selected(self, start_ns: int) -> None:
        with self._lock:
            if self._open_selected == 0:
                self._window_start_ns = start_ns
                self._recording = True
                with _quiet():
                    self._profiler.step()
            self._open_selected += 1

    def annotate(self, span_id: str, name: str) -> Any | None:
        """Enter a record_function range for the span on the calling thread (the span's thread)."""
        if not self._recording:
            return None
        annotation = self._torch.autograd.profiler.record_function(f"{n.ANNOTATION_PREFIX}{span_id} {name}")
        annotation.__enter__()
        return annotation

    @staticmethod
    def close_annotation(annotation: Any) -> None:
        try:
            annotation.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - the window may have closed under it; times come from the span
            pass

    def close_selected(self, end_ns: int) -> RecordedWindow | None:
        """One selected span ended; when it was the last one open, stop recording and return the window."""
        with self._lock:
            self._open_selected -= 1
            if self._open_selected > 0:
                return None
            self._open_selected = 0
            return self._finish_window(end_ns)

    def _finish_window(self, end_ns: int) -> RecordedWindow | None:
        if not self._recording:
            return None
        self._recording = False
        with _quiet():
            self._profiler.step()
        recorded, self._ready = self._ready, None
        if recorded is not None:
            recorded.start_ns, recorded.end_ns = self._window_start_ns, end_ns
        return recorded

    def _on_trace_ready(self, profiler: Any) -> None:
        # Only keep the cycle's results: exporting and reading them is slow, so it happens in
        # load_window, off the app's thread. The next cycle gets a fresh results object.
        self._ready = RecordedWindow(results=profiler.profiler, cuda=self.cuda)

    @staticmethod
    def load_window(recorded: RecordedWindow) -> Window:
        """A recorded window's Chrome trace and the FLOPs the profiler computed per op.

        An export that cannot be written or read raises: the caller notes why the window is lost.
        """
        # outside the run directory: a crash must not leave a stray .json among kernels/<trace_id>.json
        fd, tmp = tempfile.mkstemp(prefix="rootspan-window-", suffix=".json")
        os.close(fd)
        try:
            recorded.results.export_chrome_trace(tmp)
            events, base, meta = read_chrome_trace(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)
        flops: dict[int, int] = {}
        try:
            # The raw Kineto events: profiler.events() would build Python event trees (tens of ms
            # per window) just to read one number. Their correlation id is the trace's "External id".
            for event in recorded.results.kineto_results.events():
                count = event.flops()
                if count:
                    flops[int(event.correlation_id())] = int(count)
        except Exception:  # noqa: BLE001 - FLOPs are a bonus; the trace itself is what matters
            pass
        events = [e for e in events if not str(e.get("name", "")).startswith("ProfilerStep#")]
        return Window(events=events, base_ns=base, flops_by_op=flops, cuda=recorded.cuda, meta=meta,
                      start_ns=recorded.start_ns, end_ns=recorded.end_ns)

    def close(self, end_ns: int) -> RecordedWindow | None:
        """Stop the profiler; a window still open is finished and returned."""
        with self._lock:
            window = self._finish_window(end_ns) if self._recording else None
            self._open_selected = 0
            with _quiet():
                try:
                    self._profiler.__exit__(None, None, None)
                except Exception:  # noqa: BLE001 - stopping an idle profiler can complain; nothing is lost
                    pass
            return window


def _experimental_config(cuda: bool) -> Any:
    """Profile every thread (spans run on thread pools) and expose CUDA syncs, where torch supports it."""
    from torch._C._profiler import _ExperimentalConfig

    for kwargs in (
        {"profile_all_threads": True, "enable_cuda_sync_events": cuda},
        {"profile_all_threads": True},
        {},
    ):
        try:
            return _ExperimentalConfig(**kwargs)
        except TypeError:
            continue
    return None

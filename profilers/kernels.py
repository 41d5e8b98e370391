"""torch.profiler windows around selected spans, with every span inside annotated by its id.

A window (one Kineto profiling session) opens when a selected span starts (every Nth LLM call,
the first N of each agent only with ``profile_first``, or a span whose name matches a pattern) and closes when
the last selected span open ends. Spans that start while a window is open get a ``record_function`` annotation
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

    results: Any  # the torch.autograd.profiler.profile session of that window
    cuda: bool
    start_ns: int = 0
    end_ns: int = 0
    flops: bool = True  # recorded with_flops: worth reading the per-op counts


@contextmanager
def _quiet() -> Iterator[None]:
    """Around the profiler's start/stop calls: no Python warnings, no Kineto lines on stderr."""
    with warnings.catch_warnings(), quiet_native_stderr():
        warnings.simplefilter("ignore")
        yield


class KernelProfiler:
    """One torch profiler session per window, opened and closed around the selected spans.

    Built on ``torch.autograd.profiler.profile`` (the Kineto session that ``torch.profiler.profile``
    wraps) rather than on ``torch.profiler.profile`` with a schedule: the latter's first start
    imports ``torch._inductor`` only to read a CUDA-graphs setting, about 2 s of Python imports on
    a small CPU for an app that never compiles, while a Kineto session starts in milliseconds.
    Each window's session is its own results object, processed lazily in ``load_window``.
    """

    def __init__(
        self, profile_every: int = 1, profile_spans: tuple[str, ...] = (), flops: bool = True, profile_first: int = 0
    ) -> None:
        import torch

        self._torch = torch
        self.profile_every = profile_every
        self.profile_spans = profile_spans
        self.profile_first = profile_first  # only the first N LLM calls of each agent; 0: all
        self.flops = flops
        self.cuda = bool(torch.cuda.is_available())
        self._experimental = _experimental_config(self.cuda)
        self._recording = False
        self._session: Any | None = None
        self._lock = threading.RLock()
        self._open_selected = 0
        self._llm_calls = 0
        self._calls_by_agent: dict[str | None, int] = {}
        self._window_start_ns = 0
        # The first session initialises Kineto: paid at setup rather than inside the first
        # profiled span. A profiler that cannot start raises here (the processor notes it).
        self._begin()
        self._end()

    def _begin(self) -> None:
        session = self._torch.autograd.profiler.profile(
            use_device="cuda" if self.cuda else None,
            with_flops=self.flops,
            use_kineto=True,
            experimental_config=self._experimental,
        )
        with _quiet():
            session.__enter__()
        self._session = session
        self._recording = True

    def _end(self) -> Any | None:
        session, self._session = self._session, None
        self._recording = False
        if session is None:
            return None
        with _quiet():
            session.__exit__(None, None, None)
        return session

    @property
    def window_open(self) -> bool:
        return self._recording

    def selects(self, name: str, is_llm: bool, agent: str | None = None) -> bool:
        """Does this span open (or extend) a profiling window? The schedule that keeps runs cheap.

        Every ``profile_every``-th LLM call, and with ``profile_first`` only among the first N
        LLM calls of each agent (calls outside any agent count as one agent), so a sample covers
        every agent once before it covers any agent twice.
        """
        if self.profile_spans and any(fnmatch.fnmatchcase(name, pattern) for pattern in self.profile_spans):
            return True
        if is_llm and self.profile_every > 0:
            with self._lock:
                self._llm_calls += 1
                if self.profile_first:
                    seen = self._calls_by_agent.get(agent, 0) + 1
                    self._calls_by_agent[agent] = seen
                    if seen > self.profile_first:
                        return False
                return (self._llm_calls - 1) % self.profile_every == 0
        return False

    def open_selected(self, start_ns: int) -> None:
        with self._lock:
            if self._open_selected == 0:
                self._window_start_ns = start_ns
                self._begin()
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
        session = self._end()
        if session is None:
            return None
        return RecordedWindow(
            results=session, cuda=self.cuda, start_ns=self._window_start_ns, end_ns=end_ns, flops=self.flops
        )

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
        if recorded.flops:
            try:
                # The raw Kineto events: profiler.events() would build Python event trees (tens of
                # ms per window) just to read one number. Their correlation id is the trace's
                # "External id".
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
        """Stop profiling; a window still open is finished and returned."""
        with self._lock:
            window = self._finish_window(end_ns) if self._recording else None
            self._open_selected = 0
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

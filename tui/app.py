"""The ``rootspan view`` application: loads runs in a worker thread and owns the background work.

Screens ask the app for analyses and metrics; the app runs them in thread workers, caches the
results and posts them back as messages, so no screen ever blocks the event loop on a big run.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Sequence

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message_pump import MessagePump
from textual.screen import Screen

from rootspan.errors import UserError
from rootspan.model import MetricPoint, Trace
from rootspan.rundir import TRACES_FILE
from rootspan.tui.analysis import IN_PROCESS_SPANS, Engine, RunAnalysis, TraceAnalysis
from rootspan.tui.data import RunView, ViewData, load_view_data
from rootspan.tui.messages import AnalysisReady, MetricsReady
from rootspan.tui.screens_basic import ErrorScreen, HelpScreen, LoadingScreen


def _size(path: Path) -> str:
    """The traces file's size, so a long load is expected rather than mysterious."""
    target = path / TRACES_FILE if path.is_dir() else path
    try:
        size = target.stat().st_size
    except OSError:
        return "?"
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


# From this many spans the loaded objects are frozen out of the garbage collector's scans.
FREEZE_SPANS = 20_000
# Runs up to this size are analysed as soon as a waterfall opens; bigger ones when asked (b).
AUTO_ANALYSIS_SPANS = IN_PROCESS_SPANS


class RootspanApp(App[None]):
    """Traces list first; waterfall, detail, blame and diff screens are pushed on top of it."""

    CSS_PATH = "rootspan.tcss"
    TITLE = "rootspan"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("escape", "back", "Back", show=False),
    ]

    def _print_error_renderables(self) -> None:
        """Textual prints a crash as a full traceback (with locals, which hold untrusted trace text);
        `rootspan view` reports it as one line instead (see tui/commands.py) unless ROOTSPAN_DEBUG is set."""
        if os.environ.get("ROOTSPAN_DEBUG"):
            super()._print_error_renderables()
        else:
            self._exit_renderables.clear()

    @property
    def crash(self) -> BaseException | None:
        """The unhandled exception that ended the app, if one did."""
        return self._exception if self.return_code else None

    def __init__(self, path: Path, candidate: Path | None = None, engine: Engine | None = None,
                 merge: Sequence[Path] = ()) -> None:
        super().__init__()
        self.run_path = Path(path)
        self.merge_paths = [Path(p) for p in merge]
        self.candidate_path = Path(candidate) if candidate is not None else None
        self.engine = engine or Engine()
        self.data: ViewData | None = None
        self.load_error: str | None = None
        self._analyses: dict[int, RunAnalysis] = {}
        self._waiting: dict[int, list[tuple[str, MessagePump]]] = {}
        self._metrics: dict[int, tuple[list[MetricPoint], list[str]]] = {}

    def get_default_screen(self) -> Screen:
        paths = [self.run_path, *self.merge_paths] + ([self.candidate_path] if self.candidate_path else [])
        return LoadingScreen(" and ".join(f"{path} ({_size(path)})" for path in paths))

    def on_mount(self) -> None:
        self.load_data()

    # -- loading -------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_data(self) -> None:
        # No garbage collection while the spans are built: a collection runs in this thread but
        # holds the interpreter lock for up to a second over 100k spans, freezing the UI, and it
        # would find nothing to free. show_data then freezes the loaded objects out of its way.
        collecting = gc.isenabled()
        gc.disable()
        try:
            data = load_view_data(self.run_path, self.candidate_path, self.merge_paths)
        except UserError as exc:
            self.call_from_thread(self.show_error, str(exc))
        except Exception as exc:  # noqa: BLE001 - a corrupt run is an error screen, never a traceback
            self.call_from_thread(self.show_error, f"cannot load {self.run_path}: {type(exc).__name__}: {exc}")
        else:
            self.call_from_thread(self.show_data, data)
        finally:
            if collecting:
                gc.enable()

    def show_error(self, message: str) -> None:
        self.load_error = message
        self.push_screen(ErrorScreen(message))

    def show_data(self, data: ViewData) -> None:
        from rootspan.tui.screens_diff import DiffScreen
        from rootspan.tui.screens_traces import TracesScreen

        self.data = data
        # A big run is millions of long-lived objects; a full garbage collection over them takes
        # a second or more and freezes the UI whenever it triggers. They live as long as the app,
        # so move them out of the collector's sight (small runs are not worth pinning in memory).
        if data.primary.run.span_count + (data.candidate.run.span_count if data.candidate else 0) >= FREEZE_SPANS:
            gc.freeze()
        # Pushed over the loading screen rather than switched: Textual cannot switch away from
        # the default screen, and nothing ever pops back to it (escape stops at the traces list).
        self.push_screen(TracesScreen(data))
        if data.diff_mode:
            # Open on the pair that changed most (p in the diff lists every pair by its change).
            self.push_screen(DiffScreen(data, None))

    # -- background work for screens -----------------------------------------------------------

    def cached_analysis(self, run_view: RunView, trace: Trace) -> TraceAnalysis | None:
        analysis = self._analyses.get(id(run_view))
        return analysis.for_trace(trace.trace_id, run_view.verdicts) if analysis is not None else None

    def offer_analysis(self, run_view: RunView, trace: Trace, target: MessagePump) -> None:
        """What a waterfall gets unasked: the engine's answers for small runs, saved verdicts for big ones.

        On a big run the engine needs tens of seconds of CPU; started unasked it would slow the
        UI on a small machine, so there it waits for the blame view (b) to ask for it.
        """
        if id(run_view) in self._analyses or run_view.run.span_count <= AUTO_ANALYSIS_SPANS:
            self.request_analysis(run_view, trace, target)
            return
        saved = run_view.verdicts.get(trace.trace_id)
        note = f"large run ({run_view.run.span_count} spans): press b to run the engine (verdict, critical path)"
        target.post_message(AnalysisReady(trace.trace_id, TraceAnalysis(verdict=saved, notes=[note])))

    def request_analysis(self, run_view: RunView, trace: Trace, target: MessagePump) -> None:
        """Post AnalysisReady to ``target`` once the trace's verdict and critical path are known.

        The engine runs once per run (all traces at once) and its answers are cached.
        """
        key = id(run_view)
        if key in self._analyses:
            target.post_message(AnalysisReady(trace.trace_id, self._analyses[key].for_trace(trace.trace_id, run_view.verdicts)))
            return
        waiting = self._waiting.setdefault(key, [])
        waiting.append((trace.trace_id, target))
        if len(waiting) == 1:
            self._analyse(run_view)

    # An explicit description: Textual would otherwise repr() the arguments, i.e. every span.
    @work(thread=True, group="analysis", exit_on_error=False, description="attribution engine")
    def _analyse(self, run_view: RunView) -> None:
        need_verdicts = any(trace_id not in run_view.verdicts for trace_id in run_view.run.traces)
        try:
            analysis = self.engine.analyse_run(run_view.run, need_verdicts)
        except Exception as exc:  # noqa: BLE001 - the blame view says what went wrong instead
            analysis = RunAnalysis(notes=[f"analysis failed: {type(exc).__name__}: {exc}"])
        self.call_from_thread(self._analysis_done, run_view, analysis)

    def _analysis_done(self, run_view: RunView, analysis: RunAnalysis) -> None:
        from rootspan.tui.screens_traces import TracesScreen

        self._analyses[id(run_view)] = analysis
        for screen in self.screen_stack:
            if isinstance(screen, TracesScreen):
                screen.show_computed_verdicts(run_view, analysis.verdicts)
        for trace_id, target in self._waiting.pop(id(run_view), []):
            target.post_message(AnalysisReady(trace_id, analysis.for_trace(trace_id, run_view.verdicts)))

    def request_metrics(self, run_view: RunView, target: MessagePump) -> None:
        """Post MetricsReady to ``target`` with the run's metrics.jsonl points (read once)."""
        key = id(run_view)
        if key in self._metrics:
            points, warnings = self._metrics[key]
            target.post_message(MetricsReady(points, warnings))
            return
        self._load_metrics(run_view, target)

    @work(thread=True, group="metrics", exit_on_error=False, description="load metrics.jsonl")
    def _load_metrics(self, run_view: RunView, target: MessagePump) -> None:
        from rootspan.metrics import load_metrics

        warnings: list[str] = []
        points: list[MetricPoint] = []
        if run_view.run.metrics_path is not None:
            try:
                points = load_metrics(run_view.run.metrics_path, warnings)
            except OSError as exc:
                warnings.append(f"metrics unreadable: {exc}")
        self.call_from_thread(self._metrics_done, id(run_view), points, warnings, target)

    def _metrics_done(self, key: int, points: list[MetricPoint], warnings: list[str], target: MessagePump) -> None:
        self._metrics[key] = (points, warnings)
        target.post_message(MetricsReady(points, warnings))

    # -- navigation ----------------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_back(self) -> None:
        from rootspan.tui.screens_traces import TracesScreen

        if len(self.screen_stack) > 1 and not isinstance(self.screen, TracesScreen):
            self.pop_screen()

    def open_waterfall(self, run_view: RunView, trace: Trace, focus: str | None = None) -> None:
        """Show a trace's waterfall, reusing the one below when it is the same trace."""
        from rootspan.tui.screens_waterfall import WaterfallScreen

        for screen in reversed(self.screen_stack[:-1]):
            if isinstance(screen, WaterfallScreen) and screen.trace is trace:
                while self.screen is not screen:
                    self.pop_screen()
                if focus:
                    screen.focus_span(focus)
                return
        self.push_screen(WaterfallScreen(run_view, trace, focus=focus))

    def open_detail(self, run_view: RunView, trace: Trace, span_id: str) -> None:
        from rootspan.tui.screens_detail import DetailScreen

        span = trace.get(span_id)
        if span is not None:
            self.push_screen(DetailScreen(run_view, trace, span))

    def open_blame(self, run_view: RunView, trace: Trace) -> None:
        from rootspan.tui.screens_blame import BlameScreen

        self.push_screen(BlameScreen(run_view, trace))

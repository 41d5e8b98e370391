"""The engine's verdict for a trace: culprit, category, evidence, failure path, bottlenecks."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from rootspan.model import Trace, Verdict
from rootspan.text import format_duration, printable
from rootspan.tui.analysis import NO_VERDICT_HINT, TraceAnalysis
from rootspan.tui.busy import Busy
from rootspan.tui.data import RunView
from rootspan.tui.messages import AnalysisReady


def verdict_text(trace: Trace, analysis: TraceAnalysis) -> Text:
    """The verdict as text; span names are looked up in the trace and shown escaped."""
    verdict = analysis.verdict
    text = Text()
    if verdict is None:
        text.append(NO_VERDICT_HINT, "bold")
        text.append("\n")
        for note in analysis.notes:
            text.append(printable(note) + "\n", "dim")
        return text
    text.append("outcome ", "dim")
    text.append(printable(verdict.outcome), "bold red" if verdict.outcome == "failure" else "bold green")
    if verdict.category:
        text.append("   category ", "dim")
        text.append(printable(verdict.category), "bold")
    text.append(f"   confidence {verdict.confidence:.2f}\n", "dim")
    if verdict.culprit is not None:
        culprit = verdict.culprit
        text.append("\nculprit ", "bold")
        text.append(f"step {culprit.step if culprit.step is not None else '?'}  ")
        text.append(printable(culprit.agent or "-"), "bold")
        text.append("  ")
        span = trace.get(culprit.span_id)
        text.append(printable(culprit.name or (span.name if span else culprit.span_id)), "red")
        text.append("   (c jumps to it)\n", "dim")
    if verdict.evidence:
        text.append("\nevidence\n", "bold underline")
        for item in verdict.evidence:
            text.append("  • ")
            text.append(printable(item))
            text.append("\n")
    if verdict.path:
        text.append("\nfailure path (culprit → failing output)\n", "bold underline")
        text.append(_span_list(trace, verdict.path))
    if verdict.alternatives:
        text.append("\nalternatives\n", "bold underline")
        for alternative in verdict.alternatives:
            text.append(f"  {alternative.confidence:.2f}  step {alternative.step if alternative.step is not None else '?'}  ")
            text.append(printable(alternative.agent or "-"))
            span = trace.get(alternative.span_id)
            if span is not None:
                text.append("  " + printable(span.name), "dim")
            text.append("\n")
    if verdict.bottlenecks:
        text.append("\nbottlenecks\n", "bold underline")
        text.append(_bottlenecks(trace, verdict))
    if analysis.critical_path:
        text.append(f"\ncritical path: {len(analysis.critical_path)} spans (» in the waterfall)\n", "dim")
    for note in analysis.notes:
        text.append(printable(note) + "\n", "dim")
    return text


def _span_list(trace: Trace, span_ids: list[str]) -> Text:
    text = Text()
    for span_id in span_ids:
        span = trace.get(span_id)
        if span is None:
            text.append(f"  {span_id} (not in trace)\n", "dim")
            continue
        step = "-" if span.step is None else str(span.step)
        text.append(f"  {step:>4}  ")
        text.append(printable(trace.agent_of(span) or "-"), "bold")
        text.append("  ")
        text.append(printable(span.name), "red" if span.is_error else "")
        text.append("\n")
    return text


def _bottlenecks(trace: Trace, verdict: Verdict) -> Text:
    text = Text()
    for item in sorted(verdict.bottlenecks, key=lambda b: -b.share):
        span = trace.get(item.span_id)
        name = item.name or (span.name if span else item.span_id)
        duration = item.duration_ns or (span.duration_ns if span else 0)
        text.append(f"  {item.share:>5.0%}  ", "bold")
        text.append(printable(item.bound_by), "yellow")
        text.append("  " + printable(name))
        if duration:
            text.append(f"  {format_duration(duration)}", "dim")
        text.append("\n")
        for line in item.evidence:
            text.append("         " + printable(line) + "\n", "dim")
    return text


class BlameScreen(Screen):
    """Waits for the app's analysis worker, then shows the verdict."""

    BINDINGS = [
        Binding("c", "culprit", "Go to culprit", tooltip="Open the waterfall on the culprit, failure path and critical path marked"),
        Binding("w", "waterfall", "Waterfall"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, run_view: RunView, trace: Trace) -> None:
        super().__init__()
        self.run_view = run_view
        self.trace = trace
        self.analysis: TraceAnalysis | None = None

    def compose(self) -> ComposeResult:
        root = self.trace.root
        title = Text("blame: ", "bold")
        title.append(printable(root.name if root else self.trace.trace_id))
        title.append(f"  trace {self.trace.trace_id[:12]}", "dim")
        yield Static(title, classes="title")
        with VerticalScroll(id="blame"):
            yield Busy("analysing (the attribution engine)", id="blame-loading")
            yield Static(Text(""), classes="section", id="blame-body")
        yield Footer()

    def on_mount(self) -> None:
        self.app.request_analysis(self.run_view, self.trace, self)

    def on_analysis_ready(self, message: AnalysisReady) -> None:
        if message.trace_id != self.trace.trace_id:
            return
        self.analysis = message.analysis
        for indicator in self.query("#blame-loading"):
            indicator.remove()
        self.query_one("#blame-body", Static).update(verdict_text(self.trace, message.analysis))
        self.query_one("#blame").focus()

    def action_culprit(self) -> None:
        if self.analysis is None:
            self.notify("the analysis is still running")
        elif self.analysis.culprit is None:
            self.notify("no culprit for this trace", severity="warning")
        else:
            self.app.open_waterfall(self.run_view, self.trace, focus=self.analysis.culprit)

    def action_waterfall(self) -> None:
        self.app.open_waterfall(self.run_view, self.trace)

    def action_back(self) -> None:
        self.app.pop_screen()

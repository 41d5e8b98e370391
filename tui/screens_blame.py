"""The engine's verdict for a trace: culprit (or undetermined), lineage, evidence, failure path, bottlenecks."""

from __future__ import annotations

from rich.text import Text
from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from rootspan.model import Culprit, LineageLink, Trace, Verdict
from rootspan.text import format_duration, printable
from rootspan.tui.analysis import NO_VERDICT_HINT, TraceAnalysis
from rootspan.tui.busy import Busy
from rootspan.tui.data import RunView
from rootspan.tui.keytable import KeyOptionList
from rootspan.tui.lineage import lineage_texts
from rootspan.tui.messages import AnalysisReady
from rootspan.tui.screens_waterfall import primary_notice

if TYPE_CHECKING:
    from rootspan.attribution.slow_traces import SlowTrace


def slow_text(slow: SlowTrace) -> Text:
    """'slow  4.2x its peers (median 425ms): 1.78s; primary bottleneck ...'."""
    text = Text()
    against = "the baseline" if slow.against == "baseline" else "its peers"
    reference = "the baseline's" if slow.against == "baseline" else "a median of"
    text.append("\nslow ", "bold")
    text.append(f"{slow.ratio:.1f}x {against}", "bold yellow")
    text.append(f"  {format_duration(slow.duration_ns)} against {reference} {format_duration(slow.reference_ns)}")
    if slow.bound_by:
        text.append("\nprimary bottleneck ", "bold")
        text.append(f"step {'?' if slow.step is None else slow.step}  ")
        text.append(printable(slow.agent or "-"), "bold")
        if slow.name:
            text.append("  " + printable(slow.name))
        text.append("  bound by ", "dim")
        text.append(printable(slow.bound_by), "yellow")
        text.append("   (c jumps to it)", "dim")
    text.append("\n")
    return text


def verdict_head(trace: Trace, analysis: TraceAnalysis, slow: SlowTrace | None = None) -> Text:
    """Outcome, category and the culprit (or "undetermined"), or how slow the trace was and why:
    what goes above the lineage list."""
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
    if not verdict.determined:
        text.append(_undetermined(verdict))
    elif verdict.culprit is not None:
        text.append(_culprit(trace, verdict.culprit))
    if slow is not None:
        text.append(slow_text(slow))
    if verdict.lineage:
        text.append("\nlineage (failing output back to its source)", "bold underline")
        text.append("   l then ⏎ opens a hop", "dim")
    text.rstrip()  # a Static draws a last newline as a blank line, here above the lineage list
    return text


def verdict_body(trace: Trace, analysis: TraceAnalysis) -> Text:
    """Evidence, failure path, candidates, bottlenecks and notes: what goes below the lineage list."""
    verdict = analysis.verdict
    text = Text()
    if verdict is None:
        return text
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
        heading = "alternatives" if verdict.determined else "candidates (best first)"
        text.append(f"\n{heading}\n", "bold underline")
        text.append(_alternatives(trace, verdict))
    if verdict.bottlenecks:
        text.append("\nbottlenecks\n", "bold underline")
        text.append(_bottlenecks(trace, verdict))
    if analysis.critical_path:
        text.append(f"\ncritical path: {len(analysis.critical_path)} spans (» in the waterfall)\n", "dim")
    for note in analysis.notes:
        text.append(printable(note) + "\n", "dim")
    return text


def _culprit(trace: Trace, culprit: Culprit) -> Text:
    text = Text()
    text.append("\nculprit ", "bold")
    text.append(f"step {culprit.step if culprit.step is not None else '?'}  ")
    text.append(printable(culprit.agent or "-"), "bold")
    text.append("  ")
    span = trace.get(culprit.span_id)
    text.append(printable(culprit.name or (span.name if span else culprit.span_id)), "red")
    text.append("   (c jumps to it)\n", "dim")
    return text


def _undetermined(verdict: Verdict) -> Text:
    """Said where the culprit would be, so a weak verdict is never read as naming one."""
    text = Text()
    text.append("\nculprit ", "bold")
    text.append("undetermined", "bold yellow")
    why = "evidence too weak"
    if verdict.alternatives:
        count = len(verdict.alternatives)
        why += f"; {count} candidate{'s' if count != 1 else ''} below"
    text.append(f"   ({why})\n", "dim")
    return text


def _alternatives(trace: Trace, verdict: Verdict) -> Text:
    """Ranked candidates with their confidence, category and evidence (the engine's order, best first)."""
    text = Text()
    for alternative in verdict.alternatives:
        text.append(f"  {alternative.confidence:.2f}  step {alternative.step if alternative.step is not None else '?'}  ")
        text.append(printable(alternative.agent or "-"))
        span = trace.get(alternative.span_id)
        name = alternative.name or (span.name if span is not None else "")
        if name:
            text.append("  " + printable(name), "dim")
        if alternative.category:
            text.append("  " + printable(alternative.category), "yellow")
        text.append("\n")
        for line in alternative.evidence:
            text.append("         " + printable(line) + "\n", "dim")
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
    """By share, biggest first, each with its step and agent (three "chat" calls read alike
    otherwise); the engine's primary bottleneck (the verdict's first) is marked when it is not
    also the biggest."""
    text = Text()
    primary = verdict.bottlenecks[0] if verdict.bottlenecks else None
    ranked = sorted(verdict.bottlenecks, key=lambda b: -b.share)
    for item in ranked:
        span = trace.get(item.span_id)
        name = item.name or (span.name if span else item.span_id)
        duration = item.duration_ns or (span.duration_ns if span else 0)
        agent = item.agent or (trace.agent_of(span) if span is not None else None)
        step = span.step if span is not None else None
        text.append(f"  {item.share:>5.0%}  ", "bold")
        text.append(printable(item.bound_by), "yellow")
        text.append(f"  step {'?' if step is None else step}  ")
        text.append(printable(agent or "-"), "bold")
        text.append("  " + printable(name))
        if duration:
            text.append(f"  {format_duration(duration)}", "dim")
        if item is primary and item is not ranked[0]:
            text.append("  ◆ primary", "bold yellow")
        text.append("\n")
        for line in item.evidence:
            text.append("         " + printable(line) + "\n", "dim")
    return text


class BlameScreen(Screen):
    """Waits for the app's analysis worker, then shows the verdict; lineage hops open in the waterfall."""

    BINDINGS = [
        Binding("c", "culprit", "Go to culprit",
                tooltip="Open the waterfall on the culprit (no culprit: the primary bottleneck), paths marked"),
        Binding("l", "lineage", "Lineage", show=False, tooltip="The lineage list: ↑/↓ pick a hop, ⏎ opens it in the waterfall"),
        Binding("w", "waterfall", "Waterfall"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, run_view: RunView, trace: Trace) -> None:
        super().__init__()
        self.run_view = run_view
        self.trace = trace
        self.analysis: TraceAnalysis | None = None
        self.hops: list[LineageLink] = []

    def compose(self) -> ComposeResult:
        root = self.trace.root
        title = Text("blame: ", "bold")
        title.append(printable(root.name if root else self.trace.trace_id))
        title.append(f"  trace {self.trace.trace_id[:12]}", "dim")
        yield Static(title, classes="title")
        with VerticalScroll(id="blame"):
            yield Busy("analysing (the attribution engine)", id="blame-loading")
            yield Static(Text(""), classes="section", id="blame-body")
            # A list rather than text so that a hop can be picked; hidden while there is no lineage.
            # markup=False and Text prompts: values and quotes are model output, never markup.
            lineage = KeyOptionList(id="blame-lineage", markup=False, compact=True)
            lineage.display = False
            yield lineage
            yield Static(Text(""), classes="section", id="blame-rest")
        yield Footer()

    def on_mount(self) -> None:
        self.app.request_analysis(self.run_view, self.trace, self)

    def on_analysis_ready(self, message: AnalysisReady) -> None:
        if message.trace_id != self.trace.trace_id:
            return
        self.analysis = message.analysis
        for indicator in self.query("#blame-loading"):
            indicator.remove()
        self.query_one("#blame-body", Static).update(verdict_head(self.trace, message.analysis, self._slow()))
        self._show_lineage(message.analysis.verdict)
        self.query_one("#blame-rest", Static).update(verdict_body(self.trace, message.analysis))
        self.query_one("#blame").focus()

    def _slow(self) -> SlowTrace | None:
        """The trace's slow finding, with its bottleneck from the verdict the blame view now has."""
        return self.run_view.slow_of(self.trace.trace_id, self.analysis.verdict if self.analysis else None)

    def _show_lineage(self, verdict: Verdict | None) -> None:
        self.hops = list(verdict.lineage) if verdict is not None else []
        lineage = self.query_one("#blame-lineage", OptionList)
        lineage.clear_options()
        # No option ids: a (malformed) lineage may name a span twice, and ids must be unique.
        lineage.add_options([Option(line) for line in lineage_texts(self.hops)])
        lineage.display = bool(self.hops)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Entering the lineage (l, tab or a click) highlights a hop, so ⏎ works at once."""
        if isinstance(event.widget, OptionList) and event.widget.highlighted is None and event.widget.option_count:
            event.widget.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.hops):
            self.open_hop(self.hops[event.option_index])

    def open_hop(self, link: LineageLink) -> None:
        """Jump to the hop's span in the waterfall, as c does for the culprit."""
        if self.trace.get(link.span_id) is None:
            self.notify("this hop's span is not in the trace", severity="warning")
        else:
            self.app.open_waterfall(self.run_view, self.trace, focus=link.span_id)

    def action_lineage(self) -> None:
        if not self.hops:
            self.notify("this verdict has no lineage")
        else:
            self.query_one("#blame-lineage", OptionList).focus()

    def action_culprit(self) -> None:
        if self.analysis is None:
            self.notify("the analysis is still running")
        elif self.analysis.culprit is not None:
            self.app.open_waterfall(self.run_view, self.trace, focus=self.analysis.culprit)
        elif self.analysis.primary_bottleneck is not None and self.trace.get(self.analysis.primary_bottleneck):
            self.app.open_waterfall(self.run_view, self.trace, focus=self.analysis.primary_bottleneck)
            self.notify(primary_notice(self.trace, self.analysis), markup=False)  # agent names are trace text
        else:
            self.notify(self.analysis.no_culprit_notice(), severity="warning")

    def action_waterfall(self) -> None:
        self.app.open_waterfall(self.run_view, self.trace)

    def action_back(self) -> None:
        self.app.pop_screen()

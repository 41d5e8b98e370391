"""A trace's waterfall (or its agent swimlanes), with filters and the blame highlights."""

from __future__ import annotations

import math

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from rootspan import semconv as sc
from rootspan.model import Span, SpanKind, Trace
from rootspan.text import format_duration, printable
from rootspan.tui.analysis import TraceAnalysis
from rootspan.tui.busy import Busy
from rootspan.tui.cells import cell, compact, verdict_line, verdict_style
from rootspan.tui.data import GPU_KERNEL_TIME, RunView
from rootspan.tui.keytable import KeyTable
from rootspan.tui.lanes import LaneLayout, build_lanes
from rootspan.tui.messages import AnalysisReady
from rootspan.tui.spantree import SpanFilter, WaterfallModel
from rootspan.tui.swimlanes import Swimlanes
from rootspan.tui.waterfall import Waterfall

KIND_CYCLE: list[SpanKind | None] = [None, SpanKind.AGENT, SpanKind.LLM, SpanKind.TOOL, SpanKind.WORKFLOW, SpanKind.OTHER]


def primary_notice(trace: Trace, analysis: TraceAnalysis) -> str:
    """What `c` says when it jumps to the primary bottleneck rather than a culprit."""
    assert analysis.verdict is not None
    top = analysis.verdict.bottlenecks[0]
    span = trace.get(top.span_id)
    step = f" step {span.step}" if span is not None and span.step is not None else ""
    agent = trace.agent_of(span) if span is not None else None
    who = f" ({printable(agent)})" if agent else ""
    return f"no culprit: the primary bottleneck,{step}{who} bound by {printable(top.bound_by)}, {top.share:.0%} of the time"


class WaterfallScreen(Screen):
    """Builds the trace's row model off the UI thread, then shows the virtualised waterfall."""

    # The footer shows only the main keys, so that q Quit and ? Help (the app's, drawn last) still
    # fit at 80 columns; the rest have show=False and are listed on the help screen.
    BINDINGS = [
        Binding("slash", "filter_text", "Filter", tooltip="Filter by text in span names or ids"),
        Binding("a", "filter_agent", "Agent", show=False, tooltip="Filter by agent: cycles through the trace's agents, then all"),
        Binding("n", "filter_kind", "Kind", show=False, tooltip="Filter by kind: agent, llm, tool, workflow, other, then all"),
        Binding("e", "filter_errors", "Errors", tooltip="Only spans with status ERROR, with their ancestors (toggle)"),
        Binding("x", "clear_filter", "Clear filter", show=False, tooltip="Clear every filter"),
        Binding("s", "swimlanes", "Lanes", tooltip="Agent swimlanes with handoffs, and the handoff list (toggle)"),
        Binding("b", "blame", "Blame", tooltip="The verdict for this trace: culprit, evidence, bottlenecks"),
        Binding("c", "culprit", "Culprit", show=False,
                tooltip="Jump to the culprit span the verdict names (no culprit: the primary bottleneck)"),
        Binding("right_square_bracket", "next_error(1)", "Next error", show=False),
        Binding("left_square_bracket", "next_error(-1)", "Previous error", show=False),
        Binding("plus", "expand_all", "Expand all", show=False),
        Binding("minus", "collapse_all", "Collapse all", show=False),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self, run_view: RunView, trace: Trace, focus: str | None = None) -> None:
        super().__init__()
        self.run_view = run_view
        self.trace = trace
        self.pending_focus = focus
        self.model: WaterfallModel | None = None
        self.lanes: LaneLayout | None = None
        self.analysis: TraceAnalysis | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="title", id="wf-title")
        yield Busy(f"building the tree of {len(self.trace.spans)} spans", id="wf-loading")
        yield Static(Text(""), id="span-line")
        yield Input(placeholder="filter: text in span names or ids (enter applies, escape cancels)", id="filter-input")
        yield Footer()

    def on_mount(self) -> None:
        self.build_model()
        self.app.offer_analysis(self.run_view, self.trace, self)

    def on_screen_resume(self) -> None:
        # The blame view may have run the engine meanwhile: pick up its answers.
        cached = self.app.cached_analysis(self.run_view, self.trace)
        if cached is not None and cached != self.analysis:
            self.post_message(AnalysisReady(self.trace.trace_id, cached))

    @work(thread=True, exclusive=True, group="waterfall-model", exit_on_error=False)
    def build_model(self) -> None:
        try:
            model = WaterfallModel(self.trace)
            lanes = build_lanes(self.trace, set(model.repeats))
        except Exception as exc:  # noqa: BLE001 - a malformed trace is a message, not a crash
            self.app.call_from_thread(self._model_failed, f"cannot draw this trace: {type(exc).__name__}: {exc}")
        else:
            self.app.call_from_thread(self._model_ready, model, lanes)

    def _model_failed(self, message: str) -> None:
        if self.is_attached:
            self.query_one("#wf-loading", Busy).remove()
            self.mount(Static(Text(printable(message)), classes="section"), after=self.query_one("#wf-title"))

    def _model_ready(self, model: WaterfallModel, lanes: LaneLayout) -> None:
        if not self.is_attached:  # the user left before the tree was built
            return
        self.model, self.lanes = model, lanes
        if self.analysis is not None:
            self._apply_analysis()
        self.query_one("#wf-loading").remove()
        waterfall = Waterfall(model, id="waterfall")
        handoffs = KeyTable(id="handoffs", cursor_type="row")
        lanes_box = Vertical(Swimlanes(lanes, id="swimlanes"), handoffs, id="lanes")
        self.mount(waterfall, lanes_box, after=self.query_one("#wf-title"))
        self._fill_handoffs(handoffs, lanes)
        waterfall.focus()
        if self.pending_focus:
            self.focus_span(self.pending_focus)
            self.pending_focus = None

    # -- title and status lines ----------------------------------------------------------------

    def _title(self) -> Text:
        trace = self.trace
        text = Text()
        root = trace.root
        text.append(printable(root.name if root else trace.trace_id), "bold")
        text.append(f"  {len(trace.spans)} spans  {format_duration(trace.duration_ns)}  trace {trace.trace_id[:12]}")
        if self.model is not None and self.model.filter.active:
            text.append("  filter: ", "yellow")
            text.append(printable(self.model.filter.describe()), "yellow")
        if self.analysis is not None:
            verdict = self.analysis.verdict
            text.append("\n")
            if verdict is not None:
                text.append("verdict: ", "bold")
                slow = self.run_view.slow_of(self.trace.trace_id, verdict)
                text.append(printable(verdict_line(verdict, slow)), verdict_style(verdict) or ("yellow" if slow else ""))
                if not verdict.determined and verdict.alternatives:
                    count = len(verdict.alternatives)
                    text.append(f"  b lists {count} candidate{'s' if count != 1 else ''}", "dim")
                if verdict.path:
                    text.append("  ● failure path", "yellow")
            else:
                text.append("no verdict", "dim")
            if self.analysis.critical_path:
                count = len(self.analysis.critical_path)
                text.append(f"  » critical path ({count} span{'s' if count != 1 else ''})", "yellow")
            if self.analysis.notes:
                text.append("\n" + printable("; ".join(self.analysis.notes)), "dim")
        return text

    def _refresh_title(self) -> None:
        self.query_one("#wf-title", Static).update(self._title())

    def on_waterfall_highlighted(self, event: Waterfall.Highlighted) -> None:
        self.query_one("#span-line", Static).update(self._span_line(event.span))

    def _span_line(self, span: Span) -> Text:
        text = Text()
        text.append((span.kind.value if span.kind else "other") + " ", "bold")
        agent = self.trace.agent_of(span)
        if agent:
            text.append(printable(agent) + " ")
        if span.step is not None:
            text.append(f"step {span.step} ", "dim")
        text.append(format_duration(span.duration_ns))
        tokens = sum(
            int(value)
            for key in (sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS)
            if isinstance(value := span.attributes.get(key), (int, float)) and not isinstance(value, bool)
            and math.isfinite(value)
        )
        if tokens:
            text.append(f"  {compact(tokens)} tok")
        gpu = span.attributes.get(GPU_KERNEL_TIME)
        if isinstance(gpu, (int, float)) and not isinstance(gpu, bool) and math.isfinite(gpu):
            text.append(f"  GPU {format_duration(int(gpu))}")
        if self.model is not None and span.span_id in self.model.repeats:
            text.append(f"  repeat #{self.model.repeats[span.span_id]}", "yellow")
        if span.is_error:
            text.append("  ERROR ", "bold red")
            text.append(printable(span.status_message)[:80], "red")
        return text

    # -- analysis ------------------------------------------------------------------------------

    def on_analysis_ready(self, message: AnalysisReady) -> None:
        if message.trace_id != self.trace.trace_id:
            return
        self.analysis = message.analysis
        if self.model is not None:
            self._apply_analysis()
            self.query_one(Waterfall).reload()
        self._refresh_title()

    def _apply_analysis(self) -> None:
        assert self.model is not None and self.analysis is not None
        analysis = self.analysis
        self.model.set_paths(analysis.failure_path, analysis.critical_path, analysis.culprit)

    # -- actions -------------------------------------------------------------------------------

    def _waterfall(self) -> Waterfall | None:
        found = self.query(Waterfall)
        return found.first() if found else None

    def focus_span(self, span_id: str) -> None:
        waterfall = self._waterfall()
        if waterfall is None:
            self.pending_focus = span_id
            return
        self._show_lanes(False)
        if not waterfall.go_to(span_id):
            # The filter hides it: drop the filter rather than fail to show the span.
            self._set_filter(SpanFilter())
            waterfall.go_to(span_id)
        waterfall.focus()

    def on_waterfall_selected(self, event: Waterfall.Selected) -> None:
        self.app.open_detail(self.run_view, self.trace, event.span.span_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.app.open_detail(self.run_view, self.trace, event.row_key.value)

    def _set_filter(self, span_filter: SpanFilter) -> None:
        if self.model is None:
            return
        self.model.set_filter(span_filter)
        waterfall = self._waterfall()
        if waterfall is not None:
            waterfall.reload()
            if not waterfall.rows:
                self.notify("no span matches the filter (x clears it)", severity="warning")
        self._refresh_title()

    def _current_filter(self) -> SpanFilter:
        current = self.model.filter if self.model else SpanFilter()
        return SpanFilter(current.text, current.agent, current.kind, current.errors_only)

    def action_filter_text(self) -> None:
        field = self.query_one("#filter-input", Input)
        field.value = self._current_filter().text
        field.add_class("visible")
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        span_filter = self._current_filter()
        span_filter.text = event.value.strip()
        self._hide_input()
        self._set_filter(span_filter)

    def _hide_input(self) -> None:
        self.query_one("#filter-input", Input).remove_class("visible")
        waterfall = self._waterfall()
        if waterfall is not None:
            waterfall.focus()

    def action_filter_agent(self) -> None:
        agents: list[str | None] = [None, *self.trace.agents()]
        span_filter = self._current_filter()
        position = agents.index(span_filter.agent) if span_filter.agent in agents else 0
        span_filter.agent = agents[(position + 1) % len(agents)]
        self._set_filter(span_filter)

    def action_filter_kind(self) -> None:
        span_filter = self._current_filter()
        span_filter.kind = KIND_CYCLE[(KIND_CYCLE.index(span_filter.kind) + 1) % len(KIND_CYCLE)]
        self._set_filter(span_filter)

    def action_filter_errors(self) -> None:
        span_filter = self._current_filter()
        span_filter.errors_only = not span_filter.errors_only
        self._set_filter(span_filter)

    def action_clear_filter(self) -> None:
        self._set_filter(SpanFilter())

    def action_swimlanes(self) -> None:
        lanes = self.query("#lanes")
        if lanes:
            self._show_lanes(not lanes.first().has_class("visible"))

    def _show_lanes(self, show: bool) -> None:
        lanes, waterfall = self.query("#lanes"), self._waterfall()
        if not lanes or waterfall is None:
            return
        lanes.first().set_class(show, "visible")
        waterfall.display = not show
        (self.query_one("#handoffs", DataTable) if show else waterfall).focus()

    def _fill_handoffs(self, table: DataTable, lanes: LaneLayout) -> None:
        for column in ("at", "from", "to", "how", "step", "turn"):
            table.add_column(column, key=column)
        for handoff in lanes.handoffs:
            span = handoff.span
            table.add_row(
                Text("+" + format_duration(max(0, handoff.time_ns - lanes.start_ns)), justify="right"),
                cell(handoff.source, width=20),
                cell(handoff.target, width=20),
                Text(handoff.how),
                Text("-" if span.step is None else str(span.step), justify="right"),
                cell(span.name, "red" if span.is_error else "", width=40),
                key=span.span_id,
            )

    def action_blame(self) -> None:
        self.app.open_blame(self.run_view, self.trace)

    def action_culprit(self) -> None:
        if self.analysis is None:
            self.notify("the analysis is still running", severity="information")
        elif self.analysis.culprit is not None:
            self.focus_span(self.analysis.culprit)
        elif self.analysis.primary_bottleneck is not None and self.trace.get(self.analysis.primary_bottleneck):
            self.focus_span(self.analysis.primary_bottleneck)
            self.notify(primary_notice(self.trace, self.analysis), markup=False)  # agent names are trace text
        else:
            self.notify(self.analysis.no_culprit_notice(), severity="warning")

    def action_next_error(self, direction: int) -> None:
        waterfall = self._waterfall()
        if waterfall is None or self.model is None:
            return
        errors = [span for span in self.trace.spans if span.is_error]
        if not errors:
            self.notify("no errors in this trace")
            return
        current = waterfall.current
        order = self.model.index.order
        here = order.get(current.span_id, -1) if current else -1
        errors.sort(key=lambda span: order.get(span.span_id, 0))
        candidates = [span for span in errors if (order[span.span_id] - here) * direction > 0]
        target = (candidates[0] if direction > 0 else candidates[-1]) if candidates else errors[0 if direction > 0 else -1]
        self.focus_span(target.span_id)

    def action_expand_all(self) -> None:
        if self.model is not None and self._waterfall() is not None:
            self.model.expand_all()
            self.query_one(Waterfall).reload()

    def action_collapse_all(self) -> None:
        if self.model is not None and self._waterfall() is not None:
            self.model.collapse_all()
            self.query_one(Waterfall).reload()

    def action_back(self) -> None:
        field = self.query_one("#filter-input", Input)
        if field.has_class("visible"):
            self._hide_input()
            return
        self.app.pop_screen()

"""The first screen: every trace of the run (or both runs) with status, size, cost and verdict."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from rootspan.model import Verdict
from rootspan.text import format_duration, printable
from rootspan.tui.cells import STATUS_STYLES, cell, compact, verdict_line
from rootspan.tui.data import RunView, TraceSummary, ViewData


class TracesScreen(Screen):
    """A row per trace; enter opens its waterfall."""

    BINDINGS = [
        Binding("enter", "open", "Waterfall", tooltip="Open the selected trace's waterfall"),
        Binding("b", "blame", "Blame", tooltip="The verdict for the selected trace (analyses it if no verdicts.json)"),
        Binding("d", "diff", "Diff", tooltip="Two runs: diff the selected trace with its pair in the other run"),
        Binding("w", "warnings", "Warnings", tooltip="What the loader skipped or repaired (truncated lines, orphans)"),
    ]

    def __init__(self, data: ViewData) -> None:
        super().__init__()
        self.data = data
        self.runs: list[RunView] = [data.primary] + ([data.candidate] if data.candidate else [])

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="title", id="traces-title")
        yield DataTable(id="traces", cursor_type="row", zebra_stripes=True)
        yield Static(self._note(), classes="note", id="traces-note")
        yield Footer()

    def _title(self) -> Text:
        text = Text()
        for index, run_view in enumerate(self.runs):
            if index:
                text.append("\n")
            if self.data.diff_mode:
                text.append("AB"[index] + ": ", "bold")
            text.append(printable(run_view.label), "bold")
            run = run_view.run
            text.append(f"  {len(run.traces)} traces, {run.span_count} spans")
            if run.warnings:
                text.append(f", {len(run.warnings)} loader warnings (w)", "yellow")
        return text

    def _note(self) -> Text:
        notes = [run_view.verdict_note for run_view in self.runs if run_view.verdict_note]
        if not any(run_view.verdicts for run_view in self.runs):
            notes.append("no verdicts.json: b analyses a trace, or run `rootspan attribute RUN`")
        return Text("  ".join(notes))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        columns = ["status", "name", "duration", "steps", "tokens", "GPU", "verdict", "agents", "trace"]
        if self.data.diff_mode:
            columns.insert(0, "run")
        for column in columns:
            table.add_column(column, key=column)
        for index, run_view in enumerate(self.runs):
            for summary in run_view.summaries:
                table.add_row(*self._cells(index, summary), key=f"{index}:{summary.trace_id}")
        if not table.row_count:
            self.query_one("#traces-note", Static).update(Text("this run has no spans"))
        table.focus()

    def _cells(self, run_index: int, summary: TraceSummary) -> list[Text]:
        agents = f"{len(summary.agents)}: {', '.join(summary.agents)}" if summary.agents else "-"
        errors = f" ({summary.errors}✗)" if summary.errors else ""
        cells = [
            cell(summary.status + errors, STATUS_STYLES.get(summary.status, "")),
            cell(summary.name, width=28),
            Text(format_duration(summary.duration_ns), justify="right"),
            Text(str(summary.steps), justify="right"),
            Text(compact(summary.tokens) if summary.tokens else "-", justify="right"),
            Text(format_duration(summary.gpu_time_ns) if summary.gpu_time_ns is not None else "-", justify="right"),
            self._verdict_cell(summary.verdict),
            cell(agents, width=32),
            Text(summary.trace_id[:12], style="dim"),
        ]
        if self.data.diff_mode:
            cells.insert(0, Text("AB"[run_index], style="bold"))
        return cells

    def show_computed_verdicts(self, run_view: RunView, verdicts: dict[str, Verdict]) -> None:
        """Fill the verdict column of traces that had no saved verdict once the engine has run."""
        if run_view not in self.runs:
            return
        table = self.query_one(DataTable)
        index = self.runs.index(run_view)
        for summary in run_view.summaries:
            verdict = verdicts.get(summary.trace_id)
            if summary.verdict is None and verdict is not None:
                summary.verdict = verdict
                table.update_cell(f"{index}:{summary.trace_id}", "verdict", self._verdict_cell(verdict))

    def _verdict_cell(self, verdict: Verdict | None) -> Text:
        return cell(verdict_line(verdict), "bold red" if verdict is not None and verdict.culprit else "", 36)

    def _selected(self) -> tuple[RunView, str] | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        run_index, _, trace_id = key.partition(":")
        return self.runs[int(run_index)], trace_id

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        selected = self._selected()
        if selected is not None:
            run_view, trace_id = selected
            self.app.open_waterfall(run_view, run_view.trace(trace_id))

    def action_blame(self) -> None:
        selected = self._selected()
        if selected is not None:
            run_view, trace_id = selected
            self.app.open_blame(run_view, run_view.trace(trace_id))

    def action_diff(self) -> None:
        from rootspan.tui.screens_diff import DiffScreen

        if not self.data.diff_mode:
            self.notify("diff needs two runs: rootspan view RUN RUN2", severity="warning")
            return
        selected = self._selected()
        pair = 0
        if selected is not None:
            run_view, trace_id = selected
            ids = [summary.trace_id for summary in run_view.summaries]
            pair = ids.index(trace_id) if trace_id in ids else 0
        self.app.push_screen(DiffScreen(self.data, pair))

    def action_warnings(self) -> None:
        from rootspan.tui.screens_basic import TextScreen

        body = Text()
        for run_view in self.runs:
            for warning in run_view.run.warnings:
                body.append(printable(warning))
                body.append("\n")
        self.app.push_screen(TextScreen("loader warnings", body if body.plain else Text("no warnings")))

"""The first screen: every trace of the run (or both runs) with status, size, cost and verdict.

Columns are laid out by difftable (as the diff table is) so that at 80 columns status, name,
duration, steps, tokens, GPU and verdict all show with whole headers; agents and trace id appear
where the terminal is wide enough.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from rootspan.model import Verdict
from rootspan.text import format_duration, printable
from rootspan.tui.cells import STATUS_STYLES, compact, verdict_line, verdict_style
from rootspan.tui.data import RunView, TraceSummary, ViewData
from rootspan.tui.difftable import Column, DiffCell, column_width, draw_row, header, plan_widths

COLUMNS: tuple[Column, ...] = (
    Column("status", "status", "left"),
    Column("name", "name", "left", "name", cap=40),
    Column("duration", "duration", "right"),
    Column("steps", "steps", "right"),
    Column("tokens", "tokens", "right"),
    Column("GPU", "GPU", "right"),
    Column("verdict", "verdict", "left", "name", cap=36),
    Column("agents", "agents", "left", "agent", cap=32, optional=True),
    Column("trace", "trace", "left", optional=True),
)
RUN_COLUMN = Column("run", "run", "left")


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
        self._cell_rows: list[list[DiffCell]] = []
        self._widths: list[int | None] = []

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="title", id="traces-title")
        # No cell padding: difftable puts one blank cell between columns.
        yield DataTable(id="traces", cursor_type="row", zebra_stripes=True, cell_padding=0)
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
        self._fill_table()
        if not self._cell_rows:
            self.query_one("#traces-note", Static).update(Text("this run has no spans"))
        self.query_one(DataTable).focus()

    @property
    def columns(self) -> tuple[Column, ...]:
        return ((RUN_COLUMN,) if self.data.diff_mode else ()) + COLUMNS

    def on_resize(self) -> None:
        # The flexible columns share the width, and optional ones come and go with it.
        if self._widths and self._widths != plan_widths(self._cell_rows, self._available(), self.columns):
            self._fill_table()

    def _available(self) -> int:
        table = self.query_one(DataTable)
        # Leave room for the vertical scrollbar, which shows as soon as the traces overflow.
        return (table.size.width or self.size.width) - table.styles.scrollbar_size_vertical

    def _fill_table(self) -> None:
        """(Re)build columns and rows with widths that fit the table (see difftable)."""
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        keys: list[str] = []
        self._cell_rows = []
        for index, run_view in enumerate(self.runs):
            for summary in run_view.summaries:
                keys.append(f"{index}:{summary.trace_id}")
                self._cell_rows.append(self._cells(index, summary))
        columns = self.columns
        self._widths = plan_widths(self._cell_rows, self._available(), columns)
        table.clear(columns=True)
        shown = [(column, width) for column, width in zip(columns, self._widths) if width is not None]
        for index, (column, width) in enumerate(shown):
            first = index == 0
            table.add_column(header(column, width, first), width=column_width(width, first), key=column.key)
        for key, cells in zip(keys, self._cell_rows):
            table.add_row(*draw_row(cells, self._widths, columns), key=key)
        if self._cell_rows:
            table.move_cursor(row=min(cursor, len(self._cell_rows) - 1))

    def _cells(self, run_index: int, summary: TraceSummary) -> list[DiffCell]:
        agents = f"{len(summary.agents)}: {', '.join(summary.agents)}" if summary.agents else "-"
        errors = f" ({summary.errors}✗)" if summary.errors else ""
        cells = [
            DiffCell(printable(summary.status + errors), STATUS_STYLES.get(summary.status, "")),
            DiffCell(printable(summary.name)),
            DiffCell(format_duration(summary.duration_ns)),
            DiffCell(str(summary.steps)),
            DiffCell(compact(summary.tokens) if summary.tokens else "-"),
            DiffCell(format_duration(summary.gpu_time_ns) if summary.gpu_time_ns is not None else "-"),
            self._verdict_cell(summary.verdict),
            DiffCell(printable(agents)),
            DiffCell(summary.trace_id[:12], "dim"),
        ]
        if self.data.diff_mode:
            cells.insert(0, DiffCell("AB"[run_index], "bold"))
        return cells

    def show_computed_verdicts(self, run_view: RunView, verdicts: dict[str, Verdict]) -> None:
        """Fill the verdict column of traces that had no saved verdict once the engine has run."""
        if run_view not in self.runs:
            return
        changed = False
        for summary in run_view.summaries:
            verdict = verdicts.get(summary.trace_id)
            if summary.verdict is None and verdict is not None:
                summary.verdict = verdict
                changed = True
        if changed:  # a longer verdict may change the column widths, so lay the table out again
            self._fill_table()

    def _verdict_cell(self, verdict: Verdict | None) -> DiffCell:
        return DiffCell(printable(verdict_line(verdict)), verdict_style(verdict, "bold red"))

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

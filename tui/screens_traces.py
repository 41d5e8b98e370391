"""The first screen: every trace of the run (or both runs) with status, size, cost and verdict.

Columns are laid out by difftable (as the diff table is) so that at 80 columns status, name,
start, duration, steps, tokens, GPU and verdict all show with whole headers; agents and trace id
appear where the terminal is wide enough. For runs of hundreds of traces the list sorts (s),
filters (/ over name, agents, verdict, status and id; f for failed only) and shows the whole
verdict of the row under the cursor on a detail line, wrapped, whatever the width.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from rootspan.model import Verdict
from rootspan.text import format_duration, printable
from rootspan.tui.cells import STATUS_STYLES, compact, verdict_line, verdict_style
from rootspan.tui.data import RunView, TraceSummary, ViewData, mark_slow
from rootspan.tui.difftable import Column, DiffCell, column_width, draw_row, header, plan_widths
from rootspan.tui.keytable import KeyTable
from rootspan.tui.tracelist import FAILED_STATUSES, SORTS, TraceFilter, arrange, full_start, next_sort, start_label

COLUMNS: tuple[Column, ...] = (
    Column("status", "status", "left"),
    Column("name", "name", "left", "name", cap=40),
    Column("start", "start", "right"),
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

    # The footer shows the main keys only (q Quit and ? Help must fit at 80 columns); the help
    # screen lists every one.
    BINDINGS = [
        Binding("enter", "open", "Waterfall", tooltip="Open the selected trace's waterfall"),
        Binding("b", "blame", "Blame", tooltip="The verdict for the selected trace (analyses it if no verdicts.json)"),
        Binding("slash", "filter_text", "Filter", tooltip="Filter by text in name, agents, verdict, status or trace id"),
        Binding("f", "failed_only", "Failed", tooltip="Only failed traces (failure or error), toggle"),
        Binding("s", "sort", "Sort", tooltip="Sort: start time, duration (longest first), status, failures first (cycles)"),
        Binding("x", "clear_filter", "Clear filter", show=False, tooltip="Clear the filter and the failed-only toggle"),
        Binding("y", "copy_id", "Copy id", show=False, tooltip="Copy the selected trace's id to the clipboard"),
        Binding("d", "diff", "Diff", show=False, tooltip="Two runs: diff the selected trace with its pair in the other run"),
        Binding("w", "warnings", "Warnings", show=False, tooltip="What the loader skipped or repaired (truncated lines, orphans)"),
        Binding("escape", "cancel_filter", "Cancel", show=False, tooltip="In the filter field: cancel the edit"),
    ]

    def __init__(self, data: ViewData) -> None:
        super().__init__()
        self.data = data
        self.runs: list[RunView] = [data.primary] + ([data.candidate] if data.candidate else [])
        self._cell_rows: list[list[DiffCell]] = []
        self._widths: list[int | None] = []
        self.sort = "start"
        self.filter = TraceFilter()
        self._filter_before = self.filter
        self.shown: list[tuple[int, TraceSummary]] = []  # (run index, summary) per table row
        self._row_ids: dict[int, str] = {}  # id() of each row's first drawn cell -> its row key

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="title", id="traces-title")
        # No cell padding: difftable puts one blank cell between columns.
        yield KeyTable(id="traces", cursor_type="row", zebra_stripes=True, cell_padding=0)
        yield Static(Text(""), classes="detail-line", id="traces-detail")
        yield Static(self._note(), classes="note", id="traces-note")
        # The placeholder is ours; what is typed is only ever matched as text, never drawn as markup.
        yield Input(placeholder="filter: name, agent, verdict, status or id (enter applies, escape cancels)",
                    id="traces-filter", classes="filter-input")
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
            failed = sum(1 for summary in run_view.summaries if summary.status in FAILED_STATUSES)
            slow = sum(1 for summary in run_view.summaries if summary.slow is not None)
            if failed:
                text.append(f", {failed} failed", "red")
            if slow:
                text.append(f", {slow} slow", "yellow")
            if run.warnings:
                text.append(f", {len(run.warnings)} loader warnings (w)", "yellow")
        total = sum(len(run_view.summaries) for run_view in self.runs)
        text.append(f"\nsort: {SORTS[self.sort][0]}", "dim")
        if self.filter.active:
            text.append("  filter: ", "yellow")
            text.append(printable(self.filter.describe()), "yellow")  # typed by the user, still only text
            text.append(f"  showing {len(self.shown)} of {total}", "yellow")
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

    def _arranged(self) -> list[tuple[int, TraceSummary]]:
        rows = [(index, summary) for index, run_view in enumerate(self.runs) for summary in run_view.summaries]
        order = {id(summary): position for position, summary in
                 enumerate(arrange([summary for _, summary in rows], self.sort, self.filter))}
        arranged = sorted((row for row in rows if id(row[1]) in order), key=lambda row: order[id(row[1])])
        if self.sort == "start":  # two runs: A's traces, then B's (another sort compares them mixed)
            arranged.sort(key=lambda row: row[0])
        return arranged

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

    def _fill_table(self, rebuild: bool = False) -> None:
        """(Re)build columns and rows with widths that fit the table (see difftable).

        Only the order changed (a new sort) and the rows stay as they are, reordered; ``rebuild``
        when their content changed (verdicts arrived)."""
        table = self.query_one(DataTable)
        selected = self._selected_key()
        self.shown = self._arranged()
        keys = [f"{index}:{summary.trace_id}" for index, summary in self.shown]
        self._cell_rows = [self._cells(index, summary) for index, summary in self.shown]
        span_days = len({summary.start_ns // 86_400_000_000_000 for _, summary in self.shown}) > 1
        for cells, (_, summary) in zip(self._cell_rows, self.shown):
            cells[self._start_column()] = DiffCell(start_label(summary.start_ns, span_days))
        columns = self.columns
        widths = plan_widths(self._cell_rows, self._available(), columns)
        if not rebuild and widths == self._widths and set(keys) == set(self._row_ids.values()) and len(keys) == table.row_count:
            self._reorder(table, keys, selected)  # a new sort of the same rows: no rebuild
            return
        self._widths = widths
        table.clear(columns=True)
        shown = [(column, width) for column, width in zip(columns, self._widths) if width is not None]
        for index, (column, width) in enumerate(shown):
            first = index == 0
            table.add_column(header(column, width, first), width=column_width(width, first), key=column.key)
        self._row_ids = {}
        for key, cells in zip(keys, self._cell_rows):
            drawn = draw_row(cells, self._widths, columns)
            self._row_ids[id(drawn[0])] = key
            table.add_row(*drawn, key=key)
        self._settle_cursor(table, keys, selected)

    def _reorder(self, table: DataTable, keys: list[str], selected: str | None) -> None:
        """Put the table's rows in ``keys`` order with DataTable.sort, which moves rows without
        adding them again: adding measures every cell, half a second per 1,000 traces here."""
        position = {key: index for index, key in enumerate(keys)}
        first_column = next(iter(table.columns))
        # The sort key sees the cells' values: the first cell's Text object names its row.
        table.sort(first_column, key=lambda first: position[self._row_ids[id(first)]])
        self._settle_cursor(table, keys, selected)

    def _settle_cursor(self, table: DataTable, keys: list[str], selected: str | None) -> None:
        # The cursor stays on the trace it was on when that trace is still shown.
        row = keys.index(selected) if selected in keys else 0
        if keys:
            table.move_cursor(row=row)
        self.query_one("#traces-title", Static).update(self._title())
        self._show_detail()

    def _start_column(self) -> int:
        return [column.key for column in self.columns].index("start")

    def _selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        """The row under the cursor in full: id, start, status and the whole verdict, wrapped."""
        line = self.query_one("#traces-detail", Static)
        selected = self._selected()
        if selected is None:
            line.update(Text("no trace matches the filter (x clears it)" if self.filter.active else ""))
            return
        run_view, trace_id = selected
        summary = next(item for item in run_view.summaries if item.trace_id == trace_id)
        text = Text()
        text.append(printable(summary.status), STATUS_STYLES.get(summary.status, ""))
        text.append("  trace ", "dim")
        text.append(trace_id)
        text.append("  at ", "dim")
        text.append(full_start(summary.start_ns))
        text.append("\nverdict ", "dim")
        text.append(printable(verdict_line(summary.verdict, summary.slow)), self._verdict_style(summary))
        if summary.agents:
            text.append("  agents ", "dim")
            text.append(printable(", ".join(summary.agents)))
        line.update(text)

    def _cells(self, run_index: int, summary: TraceSummary) -> list[DiffCell]:
        agents = f"{len(summary.agents)}: {', '.join(summary.agents)}" if summary.agents else "-"
        errors = f" ({summary.errors}✗)" if summary.errors else ""
        cells = [
            DiffCell(printable(summary.status + errors), STATUS_STYLES.get(summary.status, "")),
            DiffCell(printable(summary.name)),
            DiffCell(""),  # start: filled in by _fill_table, which knows whether the run spans days
            DiffCell(format_duration(summary.duration_ns)),
            DiffCell(str(summary.steps)),
            DiffCell(compact(summary.tokens) if summary.tokens else "-"),
            DiffCell(format_duration(summary.gpu_time_ns) if summary.gpu_time_ns is not None else "-"),
            DiffCell(printable(verdict_line(summary.verdict, summary.slow)), self._verdict_style(summary)),
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
        if changed:
            mark_slow(run_view, verdicts)  # slow traces get their bottleneck from the new verdicts
            self._fill_table(rebuild=True)  # new verdict cells, maybe new column widths

    @staticmethod
    def _verdict_style(summary: TraceSummary) -> str:
        style = verdict_style(summary.verdict, "bold red")
        return style or ("yellow" if summary.slow is not None else "")

    def _selected(self) -> tuple[RunView, str] | None:
        key = self._selected_key()
        if not key:
            return None
        run_index, _, trace_id = key.partition(":")
        return self.runs[int(run_index)], trace_id

    # -- sort, filter, copy --------------------------------------------------------------------

    def action_sort(self) -> None:
        self.sort = next_sort(self.sort)
        self._fill_table()

    def action_failed_only(self) -> None:
        self.filter = TraceFilter(self.filter.text, not self.filter.failed_only)
        self._apply_filter()

    def action_clear_filter(self) -> None:
        self.filter = TraceFilter()
        self._apply_filter()

    def action_filter_text(self) -> None:
        field = self.query_one("#traces-filter", Input)
        self._filter_before = self.filter
        field.value = self.filter.text
        field.add_class("visible")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """The list follows each keystroke (matching is a pass over the summaries)."""
        event.stop()
        self.filter = TraceFilter(event.value.strip(), self.filter.failed_only)
        self._apply_filter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.filter = TraceFilter(event.value.strip(), self.filter.failed_only)
        self._hide_input()
        self._apply_filter()

    def _hide_input(self) -> None:
        self.query_one("#traces-filter", Input).remove_class("visible")
        self.query_one(DataTable).focus()

    def _apply_filter(self) -> None:
        self._fill_table()

    def action_copy_id(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        _, trace_id = selected
        # OSC 52: works in most terminals (and over ssh); the detail line shows the id in full too.
        self.app.copy_to_clipboard(trace_id)
        self.notify(f"copied trace id {printable(trace_id)}", markup=False)  # ids come from the trace file

    def action_cancel_filter(self) -> None:
        """Escape in the filter field: back to the filter as it was when the field opened."""
        field = self.query_one("#traces-filter", Input)
        if field.has_class("visible"):
            self.filter = self._filter_before
            self._hide_input()
            self._apply_filter()

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

"""Two runs side by side: aligned steps with duration, token and GPU-time deltas."""

from __future__ import annotations

import math

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from rootspan import semconv as sc
from rootspan.model import Span, Trace
from rootspan.text import format_duration, printable
from rootspan.tui.analysis import pair_change, pair_traces, pairs_by_change
from rootspan.tui.cells import compact, delta_style, signed_duration, signed_number
from rootspan.tui.data import GPU_KERNEL_TIME, ViewData, summarize_trace, trace_status
from rootspan.tui.difftable import COLUMNS, DiffCell, column_width, draw_row, fit_widths, header
from rootspan.tui.keytable import KeyTable
from rootspan.tui.messages import AlignmentReady

# A step counts as changed when its duration moved by this fraction (and by at least 1 ms).
CHANGE_FRACTION = 0.2


def _tokens(span: Span | None) -> int:
    if span is None:
        return 0
    total = 0
    for key in (sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS):
        value = span.attributes.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            total += int(value)
    return total


def _gpu(span: Span | None) -> int:
    value = span.attributes.get(GPU_KERNEL_TIME) if span is not None else None
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return int(value) if finite else 0


@dataclass(frozen=True)
class DiffRow:
    """One aligned step: ``=`` same, ``~`` changed, ``+`` added in the candidate, ``-`` removed."""

    baseline: Span | None
    candidate: Span | None

    @property
    def mark(self) -> str:
        if self.baseline is None:
            return "+"
        if self.candidate is None:
            return "-"
        a, b = self.baseline, self.candidate
        delta = abs(b.duration_ns - a.duration_ns)
        changed = delta > 1_000_000 and delta > CHANGE_FRACTION * max(1, a.duration_ns)
        return "~" if changed or a.is_error != b.is_error else "="

    @property
    def duration_delta(self) -> int:
        return (self.candidate.duration_ns if self.candidate else 0) - (self.baseline.duration_ns if self.baseline else 0)

    @property
    def token_delta(self) -> int:
        return _tokens(self.candidate) - _tokens(self.baseline)

    @property
    def gpu_delta(self) -> int:
        return _gpu(self.candidate) - _gpu(self.baseline)


class DiffScreen(Screen):
    """One pair of traces at a time (traces pair up by position); [ and ] move between pairs."""

    BINDINGS = [
        Binding("right_square_bracket", "pair(1)", "Next pair", tooltip="Next pair of traces (traces pair up in start order)"),
        Binding("left_square_bracket", "pair(-1)", "Previous pair", show=False),
        Binding("p", "pairs", "Pairs", tooltip="Every pair of traces sorted by how much it changed; ⏎ opens one"),
        Binding("enter", "open", "Detail", tooltip="Detail of the step (the candidate's, or the baseline's if removed)"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, data: ViewData, pair_index: int | None = 0) -> None:
        """``pair_index`` None: open on the pair that changed most."""
        super().__init__()
        assert data.candidate is not None
        self.data = data
        self.pairs = pair_traces(data.primary.run.trace_list(), data.candidate.run.trace_list())
        self.ranking = pairs_by_change(self.pairs)
        if pair_index is None:
            pair_index = self.ranking[0] if self.ranking else 0
        self.pair_index = max(0, min(pair_index, len(self.pairs) - 1)) if self.pairs else 0
        self.rows: list[DiffRow] = []
        self._cell_rows: list[list[DiffCell]] = []
        self._widths: list[int] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("aligning…"), classes="title", id="diff-title")
        # No cell padding: difftable puts one blank cell between columns, so all ten fit 80 columns.
        yield KeyTable(id="diff", cursor_type="row", zebra_stripes=True, cell_padding=0)
        yield Static(Text(""), classes="note", id="diff-note")
        yield Footer()

    def on_mount(self) -> None:
        self._fill_table()
        self.show_pair()

    def show_pair(self) -> None:
        if not self.pairs:
            self.query_one("#diff-title", Static).update(Text("nothing to compare: both runs are empty"))
            return
        self.rows, self._cell_rows = [], []
        self.query_one(DataTable).clear()
        self.align(self.pair_index)

    @work(thread=True, exclusive=True, group="align", exit_on_error=False)
    def align(self, pair_index: int) -> None:
        baseline, candidate = self.pairs[pair_index]
        note = ""
        if baseline is not None and candidate is not None:
            pairs, note = self.app.engine.align(baseline, candidate)
        elif baseline is not None:
            pairs = [(span, None) for span in baseline.steps()]
        else:
            assert candidate is not None
            pairs = [(None, span) for span in candidate.steps()]
        rows = [DiffRow(a, b) for a, b in pairs]
        self.app.call_from_thread(self.post_message, AlignmentReady(pair_index, rows, note))

    def on_alignment_ready(self, message: AlignmentReady) -> None:
        if message.pair_index != self.pair_index:
            return
        self.rows = message.rows
        baseline, candidate = self.pairs[self.pair_index]
        self.query_one("#diff-title", Static).update(self._title(baseline, candidate))
        note = Text(printable(message.note)) if message.note else Text("")
        self.query_one("#diff-note", Static).update(note)
        self._fill_table()
        self.query_one(DataTable).focus()

    def on_resize(self) -> None:
        # The name column takes the width the others leave, so a new width may change it.
        if self._widths and self._widths != fit_widths(self._cell_rows, self._available()):
            self._fill_table()

    def _available(self) -> int:
        table = self.query_one(DataTable)
        # Leave room for the vertical scrollbar, which shows as soon as the steps overflow.
        return (table.size.width or self.size.width) - table.styles.scrollbar_size_vertical

    def _fill_table(self) -> None:
        """(Re)build columns and rows with widths that fit the table (see difftable)."""
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        self._cell_rows = [self._cells(row) for row in self.rows]
        self._widths = fit_widths(self._cell_rows, self._available())
        table.clear(columns=True)
        for index, (column, width) in enumerate(zip(COLUMNS, self._widths)):
            first = index == 0
            table.add_column(header(column, width, first), width=column_width(width, first), key=column.key)
        table.add_rows(draw_row(cells, self._widths) for cells in self._cell_rows)  # found by cursor position
        if self._cell_rows:
            table.move_cursor(row=min(cursor, len(self._cell_rows) - 1))

    def _title(self, baseline: Trace | None, candidate: Trace | None) -> Text:
        text = Text()
        text.append(f"pair {self.pair_index + 1}/{len(self.pairs)}", "bold")
        rank = self.ranking.index(self.pair_index) + 1 if self.pair_index in self.ranking else 0
        text.append(f" (change rank {rank}/{len(self.pairs)}, p lists pairs)  ", "dim")
        for label, trace, run_view in (("A", baseline, self.data.primary), ("B", candidate, self.data.candidate)):
            text.append(f"{label}: ", "bold")
            text.append(printable(run_view.label if run_view else "-"))
            if trace is not None:
                root = trace.root
                text.append(f" {printable(root.name) if root else ''} ({trace.trace_id[:8]})", "dim")
            else:
                text.append(" (no trace)", "dim")
            text.append("  ")
        if baseline is not None and candidate is not None:
            a, b = summarize_trace(baseline), summarize_trace(candidate)
            text.append("\n")
            text.append(f"time {format_duration(a.duration_ns)} → {format_duration(b.duration_ns)} ")
            delta = b.duration_ns - a.duration_ns
            text.append(f"({signed_duration(delta)})", delta_style(delta))
            text.append(f"   tokens {compact(a.tokens)} → {compact(b.tokens)} ")
            text.append(f"({signed_number(b.tokens - a.tokens)})", delta_style(b.tokens - a.tokens))
            gpu_a, gpu_b = a.gpu_time_ns or 0, b.gpu_time_ns or 0
            if a.gpu_time_ns is not None or b.gpu_time_ns is not None:
                text.append(f"   GPU {format_duration(gpu_a)} → {format_duration(gpu_b)} ")
                text.append(f"({signed_duration(gpu_b - gpu_a)})", delta_style(gpu_b - gpu_a))
            text.append(f"   status {a.status} → {b.status}")
        marks = [row.mark for row in self.rows]
        text.append(
            f"\n{marks.count('=') + marks.count('~')} aligned ({marks.count('~')} changed), "
            f"{marks.count('+')} added, {marks.count('-')} removed"
        )
        return text

    def _cells(self, row: DiffRow) -> list[DiffCell]:
        a, b = row.baseline, row.candidate
        span = b or a
        assert span is not None
        baseline_trace, candidate_trace = self.pairs[self.pair_index]
        trace = candidate_trace if b is not None else baseline_trace
        mark_style = {"+": "bold green", "-": "bold red", "~": "bold yellow", "=": "dim"}[row.mark]
        return [
            DiffCell(row.mark, mark_style),
            DiffCell("" if a is None or a.step is None else str(a.step)),
            DiffCell("" if b is None or b.step is None else str(b.step)),
            DiffCell(printable((trace.agent_of(span) if trace else None) or "-")),
            DiffCell(printable(span.name), "red" if span.is_error else ""),
            DiffCell(format_duration(a.duration_ns) if a else ""),
            DiffCell(format_duration(b.duration_ns) if b else ""),
            DiffCell(signed_duration(row.duration_delta), delta_style(row.duration_delta)),
            DiffCell(signed_number(row.token_delta), delta_style(row.token_delta)),
            DiffCell(signed_duration(row.gpu_delta), delta_style(row.gpu_delta)),
        ]

    def action_pair(self, step: int) -> None:
        if len(self.pairs) > 1:
            self.pair_index = (self.pair_index + step) % len(self.pairs)
            self.show_pair()

    def action_pairs(self) -> None:
        if not self.pairs:
            return

        def chosen(index: int | None) -> None:
            if index is not None and index != self.pair_index:
                self.pair_index = index
                self.show_pair()

        self.app.push_screen(PairsScreen(self.pairs, self.ranking, self.pair_index), chosen)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows or not table.row_count:
            return
        row = self.rows[table.cursor_row]
        baseline, candidate = self.pairs[self.pair_index]
        if row.candidate is not None and candidate is not None and self.data.candidate is not None:
            self.app.open_detail(self.data.candidate, candidate, row.candidate.span_id)
        elif row.baseline is not None and baseline is not None:
            self.app.open_detail(self.data.primary, baseline, row.baseline.span_id)

    def action_back(self) -> None:
        self.app.pop_screen()


class PairsScreen(Screen[int]):
    """Every pair of traces, biggest change first: status changes, then by |Δ time|; ⏎ opens one."""

    BINDINGS = [
        Binding("enter", "choose", "Open pair", tooltip="Open the pair under the cursor in the diff"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, pairs: list[tuple[Trace | None, Trace | None]], ranking: list[int], current: int) -> None:
        super().__init__()
        self.pairs, self.ranking, self.current = pairs, ranking, current

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{len(self.pairs)} pairs of traces, biggest change first (⏎ opens one)", "bold"), classes="title")
        yield KeyTable(id="pairs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(KeyTable)
        for column in ("pair", "name", "status A → B", "time A", "time B", "Δ time"):
            table.add_column(column, key=column)
        for index in self.ranking:
            a, b = self.pairs[index]
            root = (b or a).root if (b or a) is not None else None
            status = " → ".join(_status(trace) for trace in (a, b))
            changed, _ = pair_change(a, b)
            delta = (b.duration_ns if b else 0) - (a.duration_ns if a else 0)
            table.add_row(
                Text(str(index + 1), justify="right"),
                Text(printable(root.name) if root is not None else "-"),
                Text(status, "bold yellow" if changed else ""),
                Text(format_duration(a.duration_ns) if a else "-", justify="right"),
                Text(format_duration(b.duration_ns) if b else "-", justify="right"),
                Text(signed_duration(delta), delta_style(delta), justify="right"),
                key=str(index),
            )
        table.move_cursor(row=self.ranking.index(self.current) if self.current in self.ranking else 0)
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(int(event.row_key.value or 0))

    def action_choose(self) -> None:
        table = self.query_one(KeyTable)
        if table.row_count:
            self.dismiss(self.ranking[table.cursor_row])

    def action_back(self) -> None:
        self.dismiss(None)


def _status(trace: Trace | None) -> str:
    if trace is None:
        return "(none)"
    return trace_status(trace)

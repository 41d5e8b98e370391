"""Column layout of the TUI's tables: every column fits 80 terminal columns and no number loses its unit.

DataTable sizes a column to its content and crops what does not fit, so at 80 columns the deltas
on the right were cut ("-246ms" read "-246m", minutes) or scrolled out of sight. Here the numeric
columns are exactly as wide as their longest formatted value (right-aligned, never cut), capped
columns (the agent) are cut at their cap, and the flexible columns (the name, the traces list's
verdict) share what is left (and are the ones that get an ellipsis). Optional columns (the traces
list's agents and trace id) are shown only where the others already have the width they want.
The diff table's columns are ``COLUMNS``; other tables pass their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.text import Text

Justify = Literal["left", "right"]

# Columns are separated by one blank cell (the table's own padding, one cell on each side,
# would cost 18 cells over 10 columns).
GAP = 1
AGENT_MAX = 12
NAME_MIN = 12
NAME_MAX = 40


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    justify: Justify
    # "fit": as wide as the longest value; "agent": capped at ``cap``; "name": flexible, between
    # ``minimum`` and ``cap``, sharing the rest of the width with the other flexible columns.
    sizing: Literal["fit", "agent", "name"] = "fit"
    cap: int | None = None
    minimum: int = NAME_MIN
    # Hidden (width None) unless every shown column already has the width it wants.
    optional: bool = False

    def limit(self) -> int | None:
        """The most cells this column may take (None: no limit)."""
        if self.cap is not None:
            return self.cap
        return {"fit": None, "agent": AGENT_MAX, "name": NAME_MAX}[self.sizing]


COLUMNS: tuple[Column, ...] = (
    Column("mark", "", "left"),
    Column("step_a", "#A", "right"),
    Column("step_b", "#B", "right"),
    Column("agent", "agent", "left", "agent"),
    Column("name", "name", "left", "name"),
    Column("time_a", "time A", "right"),
    Column("time_b", "time B", "right"),
    Column("d_time", "Δ time", "right"),
    Column("d_tokens", "Δ tok", "right"),
    Column("d_gpu", "Δ GPU", "right"),
)


@dataclass(frozen=True)
class DiffCell:
    """One cell before layout: its full text (untrusted text already made printable) and style."""

    text: str
    style: str = ""


def fit_widths(rows: list[list[DiffCell]], available: int) -> list[int]:
    """Content width of each diff-table column (gaps not included) for a table ``available`` cells wide."""
    return [width or 0 for width in plan_widths(rows, available, COLUMNS)]


def plan_widths(rows: list[list[DiffCell]], available: int, columns: tuple[Column, ...]) -> list[int | None]:
    """Content width of each column (None: hidden) for a table ``available`` cells wide.

    Too narrow for even the flexible columns' minimum, the table scrolls sideways rather than
    hide a column that is not optional.
    """
    longest = [cell_len(column.header) for column in columns]
    for row in rows:
        for index, item in enumerate(row):
            longest[index] = max(longest[index], cell_len(item.text))
    # What each column would like: its longest value, within its cap.
    wanted = [_capped(longest[index], column.limit()) for index, column in enumerate(columns)]
    # The least a column takes: flexible ones give way down to their minimum (never wider
    # than their longest value, but wide enough for the header).
    least = [min(wanted[i], max(column.minimum, cell_len(column.header))) if column.sizing == "name" else wanted[i]
             for i, column in enumerate(columns)]
    shown = [not column.optional for column in columns]

    def total(widths: list[int]) -> int:
        visible = [width for width, show in zip(widths, shown) if show]
        return sum(visible) + GAP * (len(visible) - 1)

    for index, column in enumerate(columns):
        if column.optional:
            shown[index] = True
            if total(wanted) > available:
                shown[index] = False
    widths = list(least)
    flexible = [i for i, column in enumerate(columns) if column.sizing == "name" and shown[i]]
    room = available - total(widths)
    # Hand out the room a cell at a time to the narrowest flexible column still below its want,
    # so two flexible columns are cut about evenly.
    while room > 0:
        growing = [i for i in flexible if widths[i] < wanted[i]]
        if not growing:
            break
        widths[min(growing, key=lambda i: widths[i])] += 1
        room -= 1
    return [width if show else None for width, show in zip(widths, shown)]


def _capped(width: int, cap: int | None) -> int:
    return width if cap is None else min(width, cap)


def draw_row(cells: list[DiffCell], widths: list[int] | list[int | None],
             columns: tuple[Column, ...] = COLUMNS) -> list[Text]:
    """A row of the shown cells as drawn, for columns of the given content widths (None: hidden)."""
    drawn: list[Text] = []
    for column, item, width in zip(columns, cells, widths):
        if width is not None:
            drawn.append(layout_cell(column, item, width, not drawn))
    return drawn


def header(column: Column, width: int, first: bool) -> Text:
    return layout_cell(column, DiffCell(column.header), width, first)


def layout_cell(column: Column, item: DiffCell, width: int, first: bool) -> Text:
    """The cell as drawn: cut to ``width`` with an ellipsis (only agent and name ever are), and the gap."""
    text = item.text
    if cell_len(text) > width:
        text = _cut(text, width)
    pad = " " * (width - cell_len(text))
    gap = "" if first else " " * GAP
    if column.justify == "right":
        return Text.assemble(gap + pad, (text, item.style))
    return Text.assemble(gap, (text, item.style), pad)


def _cut(text: str, width: int) -> str:
    """Cut to ``width`` terminal cells, ending with an ellipsis (wide characters count twice)."""
    out: list[str] = []
    used = 0
    for char in text:
        size = cell_len(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…" if width > 0 else ""


def column_width(width: int, first: bool) -> int:
    """The DataTable column width for a content width (with the table's padding set to 0)."""
    return width if first else width + GAP

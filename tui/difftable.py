"""Column layout of the diff table: every column fits 80 terminal columns and no number loses its unit.

DataTable sizes a column to its content and crops what does not fit, so at 80 columns the deltas
on the right were cut ("-246ms" read "-246m", minutes) or scrolled out of sight. Here the numeric
columns are exactly as wide as their longest formatted value (right-aligned, never cut), the
agent column is capped, and the name column takes what is left (and is the one that gets an
ellipsis).
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
    # "fit": as wide as the longest value; "agent": capped; "name": the rest of the width.
    sizing: Literal["fit", "agent", "name"] = "fit"


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
    """Content width of each column (gaps not included) for a table ``available`` cells wide."""
    longest = [cell_len(column.header) for column in COLUMNS]
    for row in rows:
        for index, item in enumerate(row):
            longest[index] = max(longest[index], cell_len(item.text))
    widths = list(longest)
    agent = next(i for i, column in enumerate(COLUMNS) if column.sizing == "agent")
    name = next(i for i, column in enumerate(COLUMNS) if column.sizing == "name")
    widths[agent] = min(longest[agent], AGENT_MAX)
    others = sum(width for index, width in enumerate(widths) if index != name) + GAP * (len(COLUMNS) - 1)
    room = max(NAME_MIN, min(NAME_MAX, available - others))
    # Never wider than the longest name (but wide enough for the header).
    widths[name] = min(room, longest[name])
    return widths


def draw_row(cells: list[DiffCell], widths: list[int]) -> list[Text]:
    """A row of cells as drawn, for columns of the given content widths."""
    drawn = zip(COLUMNS, cells, widths)
    return [layout_cell(column, item, width, index == 0) for index, (column, item, width) in enumerate(drawn)]


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

"""The diff table's column layout: numbers keep their units, the name column gives way, 80 columns fit."""

from __future__ import annotations

from rich.cells import cell_len

from rootspan.tui.difftable import COLUMNS, NAME_MIN, DiffCell, column_width, draw_row, fit_widths, header, layout_cell


def _row(name: str, agent: str, delta: str, tokens: str = "+12.3k", gpu: str = "-1.25ms") -> list[DiffCell]:
    texts = ["~", "123", "124", agent, name, "12.3ms", "2m05s", delta, tokens, gpu]
    return [DiffCell(text) for text in texts]


def _drawn(rows: list[list[DiffCell]], widths: list[int]) -> list[str]:
    lines = ["".join(header(column, width, i == 0).plain for i, (column, width) in enumerate(zip(COLUMNS, widths)))]
    lines += ["".join(cell.plain for cell in draw_row(row, widths)) for row in rows]
    return lines


def test_every_column_fits_78_cells_and_numbers_are_whole() -> None:
    rows = [_row("invoke_workflow a-very-long-workflow-name-indeed", "a-very-long-agent-name", "-246ms"),
            _row("chat", "coder", "+1m02s")]
    widths = fit_widths(rows, 78)
    total = sum(column_width(width, i == 0) for i, width in enumerate(widths))
    assert total <= 78
    lines = _drawn(rows, widths)
    assert all(cell_len(line) == total for line in lines)
    for line in lines[1:]:
        assert "12.3ms" in line and "2m05s" in line and "+12.3k" in line and line.endswith(" -1.25ms")
    assert " -246ms " in lines[1] and " +1m02s " in lines[2]
    # The long texts are the ones cut, with an ellipsis.
    assert " a-very-long… " in lines[1] and " invoke_workflow a-… " in lines[1]


def test_name_column_takes_the_room_left_but_no_more_than_it_needs() -> None:
    rows = [_row("chat", "coder", "+3ms")]
    assert fit_widths(rows, 200)[4] == len("name")
    long = [_row("x" * 100, "coder", "+3ms")]
    assert fit_widths(long, 200)[4] == 40
    assert fit_widths(long, 30)[4] == NAME_MIN  # too narrow: the table scrolls rather than hide the name


def test_right_aligned_numbers_and_wide_characters() -> None:
    column = COLUMNS[7]
    assert layout_cell(column, DiffCell("-3ms"), 7, first=False).plain == "    -3ms"
    name = COLUMNS[4]
    drawn = layout_cell(name, DiffCell("計算計算計算"), 7, first=False).plain
    assert drawn == " 計算計…" and cell_len(drawn) == 8


def test_two_flexible_columns_share_the_room_and_optional_columns_wait_for_it() -> None:
    from rootspan.tui.difftable import Column, plan_widths

    columns = (
        Column("n", "n", "right"),
        Column("name", "name", "left", "name", cap=40),
        Column("verdict", "verdict", "left", "name", cap=36),
        Column("trace", "trace", "left", optional=True),
    )
    row = [DiffCell("123"), DiffCell("x" * 30), DiffCell("y" * 30), DiffCell("t" * 12)]
    # 3 + 1 + name + 1 + verdict = 40: the two flexible columns split 35 cells, the trace is hidden.
    assert plan_widths([row], 40, columns) == [3, 18, 17, None]
    # Never below their minimum: the table scrolls instead.
    assert plan_widths([row], 20, columns)[1:3] == [NAME_MIN, NAME_MIN]
    # The optional column shows once the others have all they want.
    assert plan_widths([row], 3 + 30 + 30 + 3, columns)[3] is None
    assert plan_widths([row], 3 + 30 + 30 + 12 + 3, columns) == [3, 30, 30, 12]
    drawn = draw_row(row, plan_widths([row], 40, columns), columns)
    assert "".join(cell.plain for cell in drawn) == "123 " + "x" * 17 + "… " + "y" * 16 + "…"

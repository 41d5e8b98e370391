"""The traces list at the scale of hundreds of traces: sort, filter, failed-only, vi keys, copy id, detail line.

Driven with Textual's Pilot on a real run directory of 300 traces (tui_fixtures.many_traces, written
as OTLP JSON by the run writer); the attribution engine is the test engine (no verdicts but
durations), so slow traces come from the durations alone, as when a run is opened without
verdicts.json.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from rootspan.tui.app import RootspanApp
from rootspan.tui.data import TraceSummary
from rootspan.tui.screens_traces import TracesScreen
from rootspan.tui.tracelist import TraceFilter, arrange, next_sort

from tui_fixtures import FixedEngine, make_many, run_pilot, screen_segments, screen_text, settle, widget_text

COUNT = 300
FAILED = len([index for index in range(COUNT) if index % 9 == 4])


@pytest.fixture()
def many(tmp_path: Path) -> Path:
    return make_many(tmp_path / "many", COUNT)


def _rows(screen: TracesScreen) -> list[TraceSummary]:
    return [summary for _, summary in screen.shown]


def _cursor(screen: TracesScreen) -> TraceSummary:
    table = screen.query_one(DataTable)
    return screen.shown[table.cursor_row][1]


def test_sort_cycles_through_start_duration_status_and_failures_first(many: Path) -> None:
    async def script(pilot) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, TracesScreen)
        rows = _rows(screen)
        assert len(rows) == COUNT and [row.start_ns for row in rows] == sorted(row.start_ns for row in rows)
        assert "sort: start time" in screen_text(pilot.app)
        await pilot.press("s")
        rows = _rows(screen)
        assert [row.duration_ns for row in rows] == sorted((row.duration_ns for row in rows), reverse=True)
        assert rows[0].slow is not None  # the one slow trace is the longest
        assert "sort: duration, longest first" in screen_text(pilot.app)
        await pilot.press("s")
        statuses = [row.status for row in _rows(screen)]
        assert statuses == ["failure"] * FAILED + ["success"] * (COUNT - FAILED)
        await pilot.press("s")
        rows = _rows(screen)
        assert all(row.status == "failure" for row in rows[:FAILED])
        assert rows[FAILED].slow is not None  # then the slow one
        assert "failures first" in screen_text(pilot.app)
        await pilot.press("s")
        assert "sort: start time" in screen_text(pilot.app)

    run_pilot(RootspanApp(many, engine=FixedEngine()), script, size=(120, 30))


def test_failed_only_and_text_filter_narrow_the_list(many: Path) -> None:
    async def script(pilot) -> None:
        screen = pilot.app.screen
        await pilot.press("f")
        rows = _rows(screen)
        assert len(rows) == FAILED and all(row.status == "failure" for row in rows)
        assert f"failed only  showing {FAILED} of {COUNT}" in screen_text(pilot.app)
        await pilot.press("f")
        assert len(_rows(screen)) == COUNT
        # / filters as you type, over the verdict line too: "slow" finds the slow trace
        await pilot.press("slash")
        assert screen.query_one("#traces-filter", Input).has_focus
        await pilot.press(*"slow")
        (only,) = _rows(screen)
        assert only.slow is not None
        await pilot.press("enter")
        assert screen.query_one(DataTable).has_focus and len(_rows(screen)) == 1
        # an agent name matches every trace; escape in the field restores the filter before the edit
        await pilot.press("slash", *["backspace"] * 4, *"WRITER")
        assert len(_rows(screen)) == COUNT
        await pilot.press("escape")
        assert len(_rows(screen)) == 1 and screen.filter.text == "slow"
        # failed-only and text combine; x clears both
        await pilot.press("f")
        assert _rows(screen) == [] and "no trace matches the filter" in widget_text(screen.query_one("#traces-detail"))
        await pilot.press("x")
        assert len(_rows(screen)) == COUNT and not screen.filter.active

    run_pilot(RootspanApp(many, engine=FixedEngine()), script, size=(120, 30))


def test_vi_keys_move_on_the_traces_list_and_the_cursor_follows_its_trace(many: Path) -> None:
    async def script(pilot) -> None:
        screen = pilot.app.screen
        table = screen.query_one(DataTable)
        await pilot.press("j", "j", "j")
        assert table.cursor_row == 3
        await pilot.press("k")
        assert table.cursor_row == 2
        await pilot.press("G")
        assert table.cursor_row == COUNT - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("end")
        assert table.cursor_row == COUNT - 1
        await pilot.press("home", "j", "j")
        picked = _cursor(screen)
        await pilot.press("s")  # re-sorted: the cursor stays on the same trace, wherever it went
        assert _cursor(screen) is picked and table.cursor_row != 2

    run_pilot(RootspanApp(many, engine=FixedEngine()), script, size=(100, 30))


def test_detail_line_shows_the_whole_verdict_and_id_at_80_columns(many: Path) -> None:
    async def script(pilot) -> None:
        screen = pilot.app.screen
        await pilot.press("s", "g")  # duration: the slow trace first
        slow = _cursor(screen)
        detail = widget_text(screen.query_one("#traces-detail"))
        assert slow.trace_id in detail and "slow " in detail and "x peers" in detail
        text = screen_text(pilot.app)
        assert all(len(line) <= 80 for line in text.splitlines())
        assert " start " in next(line for line in text.splitlines() if line.startswith("status"))

    run_pilot(RootspanApp(many, engine=FixedEngine()), script, size=(80, 24))


def test_y_copies_the_trace_id(many: Path) -> None:
    async def script(pilot) -> None:
        screen = pilot.app.screen
        await pilot.press("j", "y")
        assert pilot.app.clipboard == _cursor(screen).trace_id

    run_pilot(RootspanApp(many, engine=FixedEngine()), script)


def test_typed_markup_in_the_filter_is_matched_as_text(many: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("slash", *"[link=https://x]a[/link]", "enter")
        text = screen_text(pilot.app)
        assert "[link=https://x]a[/link]" in text  # shown in the title as typed
        assert not [s for s in screen_segments(pilot.app) if s.style is not None and s.style.link]
        assert pilot.app.screen.shown == []

    run_pilot(RootspanApp(many, engine=FixedEngine()), script, size=(120, 30))


def test_arrange_is_stable_and_filters_over_category_and_id() -> None:
    from rootspan.model import Culprit, Verdict

    def summary(index: int, status: str, duration: int, category: str | None = None) -> TraceSummary:
        verdict = Verdict(trace_id=f"t{index}", outcome="failure", category=category,
                          culprit=Culprit(span_id="s", agent="coder", step=2)) if category else None
        return TraceSummary(f"t{index}", "wf", status, index, duration, ["coder"], 3, 0, 0, 0, None, verdict)

    rows = [summary(0, "success", 5), summary(1, "failure", 5, "tool_error"), summary(2, "success", 9)]
    assert [r.trace_id for r in arrange(rows, "duration", TraceFilter())] == ["t2", "t0", "t1"]
    assert [r.trace_id for r in arrange(rows, "failures", TraceFilter())] == ["t1", "t0", "t2"]
    assert [r.trace_id for r in arrange(rows, "start", TraceFilter("TOOL_ERR"))] == ["t1"]
    assert [r.trace_id for r in arrange(rows, "start", TraceFilter("t2"))] == ["t2"]
    assert next_sort("failures") == "start"


def test_verdicts_computed_after_a_sort_show_in_the_reordered_list(many: Path) -> None:
    """A sort reorders rows in place; verdicts arriving later still redraw their cells."""
    from rootspan.model import Verdict

    async def script(pilot) -> None:
        screen = pilot.app.screen
        await pilot.press("s")
        table = screen.query_one(DataTable)
        second = screen.shown[1][1]  # not the slow one: its verdict cell is "-"
        widths = list(screen._widths)
        # "undetermined" is shorter than the slow trace's "slow 2.4x peers": the column widths stay
        screen.show_computed_verdicts(screen.runs[0], {second.trace_id: Verdict(
            trace_id=second.trace_id, outcome="failure", determined=False)})
        await settle(pilot)
        assert screen._widths == widths
        assert table.get_row_at(1)[7].plain.strip() == "undetermined"
        assert screen.shown[1][1] is second

    run_pilot(RootspanApp(many, engine=FixedEngine()), script, size=(120, 30))


def test_vi_keys_on_the_diff_handoff_and_lineage_lists(tmp_path: Path) -> None:
    from textual.widgets import OptionList

    from rootspan.rundir import write_verdicts

    from tui_fixtures import lineage_verdict, make_candidate, make_run

    run = make_run(tmp_path / "run")
    write_verdicts(run, [lineage_verdict()])
    candidate = make_candidate(tmp_path / "candidate")

    async def script(pilot) -> None:
        table = pilot.app.screen.query_one(DataTable)  # the diff opens first
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("k", "g")
        assert table.cursor_row == 0
        await pilot.press("escape", "enter")  # the traces list, then the first trace's waterfall
        await settle(pilot)
        await pilot.press("s")  # swimlanes: the handoff list has the focus
        handoffs = pilot.app.screen.query_one("#handoffs", DataTable)
        assert handoffs.has_focus
        await pilot.press("j")
        assert handoffs.cursor_row == 1
        await pilot.press("g")
        assert handoffs.cursor_row == 0
        await pilot.press("escape", "b")
        await settle(pilot)
        await pilot.press("l")
        lineage = pilot.app.screen.query_one("#blame-lineage", OptionList)
        await pilot.press("j", "j")
        assert lineage.highlighted == 2
        await pilot.press("g")
        assert lineage.highlighted == 0
        await pilot.press("G")
        assert lineage.highlighted == lineage.option_count - 1

    run_pilot(RootspanApp(run, candidate, engine=FixedEngine()), script, size=(100, 30))


def test_two_runs_start_sort_keeps_runs_apart_and_duration_mixes_them(tmp_path: Path) -> None:
    baseline = make_many(tmp_path / "a", 12, slow_index=None)
    candidate = make_many(tmp_path / "b", 12)

    async def script(pilot) -> None:
        await pilot.press("escape")  # from the diff to the traces list
        screen = pilot.app.screen
        assert isinstance(screen, TracesScreen)
        assert [run for run, _ in screen.shown] == [0] * 12 + [1] * 12
        await pilot.press("s")
        runs = [run for run, _ in screen.shown]
        assert runs[0] == 1 and sorted(runs) != runs  # B's slow trace first, then both runs mixed

    run_pilot(RootspanApp(baseline, candidate, engine=FixedEngine()), script, size=(120, 40))

"""The blame view's lineage (hops in order, the introducing one marked, hops open in the waterfall)
and undetermined verdicts (no culprit named anywhere, ranked candidates listed)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, OptionList

from rootspan.model import Culprit, Verdict
from rootspan.rundir import write_verdicts
from rootspan.tui.analysis import TraceAnalysis
from rootspan.tui.app import RootspanApp
from rootspan.tui.cells import verdict_line
from rootspan.tui.screens_blame import BlameScreen
from rootspan.tui.screens_waterfall import WaterfallScreen
from rootspan.tui.waterfall import Waterfall

from tui_fixtures import (TRACE_FAIL, FixedEngine, lineage_verdict, run_pilot, screen_segments, screen_text, settle, sid,
                          undetermined_verdict, verdict)


def _app(run_dir: Path, saved: Verdict) -> RootspanApp:
    write_verdicts(run_dir, [saved])
    return RootspanApp(run_dir, engine=FixedEngine())


def _line_with(lines: list[str], needle: str) -> int:
    found = [index for index, line in enumerate(lines) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


def test_lineage_shows_every_hop_in_order_with_the_introducing_step_marked(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("b")
        await settle(pilot)
        lines = screen_text(pilot.app).splitlines()
        heading = _line_with(lines, "lineage (failing output back to its source)")
        failing = _line_with(lines, "1839.08 in coder step 11: 'total: 1839.08'")
        carried = _line_with(lines, "← coder step 8: 'converted the total'")
        introduced = _line_with(lines, "← planner step 1: 'the price is already in dollars'")
        assert heading + 1 == failing and failing + 1 == carried and carried + 1 == introduced  # one hop a line
        # The value is read once, at the failing output; only the introducing hop is marked.
        assert "1839.08" not in lines[carried] and "1839.08" not in lines[introduced]
        assert [index for index, line in enumerate(lines) if "◆" in line or "introduced here" in line] == [introduced]
        assert lines[introduced].split()[:2] == ["◆", "←"]
        styles = {segment.style for segment in screen_segments(pilot.app) if "planner step 1" in segment.text}
        assert styles and all(style.bold and style.color is not None for style in styles)
        carried_styles = {segment.style for segment in screen_segments(pilot.app) if "coder step 8" in segment.text}
        assert all(style.color != next(iter(styles)).color for style in carried_styles)
        assert pilot.app.screen.query_one("#blame-lineage", OptionList).option_count == 3

    run_pilot(_app(run_dir, lineage_verdict()), script, size=(100, 30))


def test_selecting_a_hop_opens_the_waterfall_on_its_span(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("b")
        await settle(pilot)
        blame = pilot.app.screen
        await pilot.press("l")
        lineage = blame.query_one("#blame-lineage", OptionList)
        assert lineage.has_focus and lineage.highlighted == 0  # the failing output, ready for enter
        await pilot.press("down", "enter")  # the coder step that carried the value
        assert lineage.highlighted == 1
        await settle(pilot)
        assert isinstance(pilot.app.screen, WaterfallScreen)
        assert pilot.app.screen.query_one(Waterfall).current.span_id == sid(1, 10)
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is blame
        await pilot.press("l", "end", "enter")  # the introducing planner step
        await settle(pilot)
        assert pilot.app.screen.query_one(Waterfall).current.span_id == sid(1, 2)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.click("#blame-lineage", offset=(10, 0))  # a click opens the hop under it: the failing output
        await settle(pilot)
        assert pilot.app.screen.query_one(Waterfall).current.span_id == sid(1, 13)

    run_pilot(_app(run_dir, lineage_verdict()), script)


def test_hop_outside_the_trace_is_a_notice_not_a_crash(run_dir: Path) -> None:
    saved = lineage_verdict()
    saved.lineage[0].span_id = "ff" * 8

    async def script(pilot) -> None:
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("l", "home", "enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, BlameScreen)

    run_pilot(_app(run_dir, saved), script)


def test_verdict_without_lineage_shows_nothing_extra(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("b")
        await settle(pilot)
        screen = pilot.app.screen
        text = screen_text(pilot.app)
        assert "lineage" not in text and "◆" not in text
        assert not screen.query_one("#blame-lineage", OptionList).display
        assert "culprit step 11  coder  execute_tool calculator" in text  # a determined verdict, as before
        await pilot.press("l")  # nothing to move to: a notice
        assert isinstance(pilot.app.screen, BlameScreen) and screen.query_one("#blame").has_focus

    run_pilot(_app(run_dir, verdict()), script)


def test_undetermined_verdict_names_no_culprit_and_lists_the_candidates(run_dir: Path) -> None:
    async def script(pilot) -> None:
        table = pilot.app.screen.query_one(DataTable)
        assert table.get_row_at(0)[7].plain.strip() == "undetermined (hallucination)"
        await pilot.press("enter")
        await settle(pilot)
        waterfall = pilot.app.screen.query_one(Waterfall)
        assert "verdict: undetermined (hallucination)  b lists 2 candidates" in screen_text(pilot.app)
        assert waterfall.model.culprit is None and "◆" not in screen_text(pilot.app)
        await pilot.press("b")
        await settle(pilot)
        lines = screen_text(pilot.app).splitlines()
        assert "(evidence too weak; 2 candidates below)" in lines[_line_with(lines, "culprit undetermined")]
        assert "c jumps to it" not in "\n".join(lines)
        heading = _line_with(lines, "candidates (best first)")
        first = _line_with(lines, "0.41  step 1  planner  invoke_agent planner  hallucination")
        second = _line_with(lines, "0.33  step 11  coder  execute_tool calculator  tool_error")
        assert heading + 1 == first and first + 3 == second
        assert "states 1839.08 with no source" in lines[first + 1] and "no tool call before it" in lines[first + 2]
        assert "raised ZeroDivisionError" in lines[second + 1]
        await pilot.press("c")  # nothing to jump to: a notice, not the waterfall
        await settle(pilot)
        assert isinstance(pilot.app.screen, BlameScreen)

    run_pilot(_app(run_dir, undetermined_verdict()), script, size=(160, 30))


def test_undetermined_wins_over_a_stray_culprit() -> None:
    stray = undetermined_verdict()
    stray.culprit = Culprit(span_id=sid(1, 13), agent="coder", step=11)
    assert verdict_line(stray) == "undetermined (hallucination)"
    assert TraceAnalysis(verdict=stray).culprit is None and TraceAnalysis(verdict=stray).undetermined
    stray.category = None
    assert verdict_line(stray) == "undetermined"
    assert verdict_line(verdict()) == "tool_error @ step 11 coder"
    assert verdict_line(Verdict(trace_id=TRACE_FAIL, outcome="failure")) == "failure"

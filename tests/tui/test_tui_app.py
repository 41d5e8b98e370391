"""Pilot tests: every screen reached by keys, navigation, filters, blame, diff, help, bad input."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import DataTable, Sparkline

from rootspan.tui.app import RootspanApp
from rootspan.tui.cells import signed_duration, signed_number
from rootspan.tui.keys import key_table
from rootspan.tui.screens_basic import ErrorScreen, HelpScreen
from rootspan.tui.screens_blame import BlameScreen
from rootspan.tui.screens_detail import DetailScreen
from rootspan.tui.screens_diff import DiffScreen
from rootspan.tui.screens_traces import TracesScreen
from rootspan.tui.screens_waterfall import WaterfallScreen
from rootspan.tui.waterfall import Waterfall

from tui_fixtures import TRACE_FAIL, FixedEngine, run_pilot, screen_text, settle, sid, widget_text


def _app(run_dir: Path, candidate: Path | None = None) -> RootspanApp:
    return RootspanApp(run_dir, candidate, engine=FixedEngine())


def test_traces_list_shows_every_column(run_dir: Path) -> None:
    async def script(pilot) -> None:
        assert isinstance(pilot.app.screen, TracesScreen)
        table = pilot.app.screen.query_one(DataTable)
        assert table.row_count == 2
        row = [cell.plain.strip() for cell in table.get_row_at(0)]
        # T0 is 2023-11-14 22:13:20 UTC
        assert row[:8] == ["failure (1✗)", "invoke_workflow solve-ticket", "22:13:20", "200ms", "11", "530", "32ms",
                           "tool_error @ step 11 coder"]
        assert row[8] == "3: planner, researcher, coder"
        assert row[9] == TRACE_FAIL[:12]

    # Wide enough for the optional agents and trace id columns.
    run_pilot(_app(run_dir), script, size=(160, 30))


def test_traces_list_fits_80_columns_with_whole_headers(run_dir: Path) -> None:
    async def script(pilot) -> None:
        table = pilot.app.screen.query_one(DataTable)
        lines = screen_text(pilot.app).splitlines()
        header = next(line for line in lines if line.lstrip().startswith("status"))
        assert header.split() == ["status", "name", "start", "duration", "steps", "tokens", "GPU", "verdict"]
        assert [column.key.value for column in table.columns.values()] == \
            ["status", "name", "start", "duration", "steps", "tokens", "GPU", "verdict"]
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no sideways scrolling
        row = next(line for line in lines if "failure (1✗)" in line)
        # The numbers are whole; the name and the verdict are shortened with an ellipsis.
        assert " 200ms " in row and " 11 " in row and " 530 " in row and " 32ms " in row
        verdict = row[header.index("verdict"):].strip()
        assert verdict.startswith("tool_error @") and verdict.endswith("…")
        assert "invoke_work" in row and "solve-ticket" not in row
        # ... and the detail line under the table has the whole verdict and trace id.
        detail = widget_text(pilot.app.screen.query_one("#traces-detail"))
        assert "tool_error @ step 11 coder" in detail and TRACE_FAIL in detail

    run_pilot(_app(run_dir), script, size=(80, 24))


def test_traces_list_relays_out_on_resize(run_dir: Path) -> None:
    async def script(pilot) -> None:
        table = pilot.app.screen.query_one(DataTable)
        assert "trace" not in [column.key.value for column in table.columns.values()]
        await pilot.resize_terminal(160, 30)
        await settle(pilot)
        assert [column.key.value for column in table.columns.values()][-2:] == ["agents", "trace"]
        assert table.get_row_at(0)[7].plain.strip() == "tool_error @ step 11 coder"

    run_pilot(_app(run_dir), script, size=(80, 24))


def test_waterfall_navigation_fold_and_detail(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen)
        waterfall = screen.query_one(Waterfall)
        assert waterfall.has_focus and waterfall.current.span_id == sid(1, 1)
        await pilot.press("down", "down", "down")
        assert waterfall.current.name == "invoke_agent researcher"
        await pilot.press("space")
        assert len(waterfall.rows) == 8
        await pilot.press("right", "right")
        assert len(waterfall.rows) == 11 and waterfall.current.name == "execute_tool search"
        await pilot.press("left")  # on a leaf: go to the parent
        assert waterfall.current.name == "invoke_agent researcher"
        await pilot.press("end")
        assert waterfall.current.name == "execute_tool calculator"
        await pilot.press("home", "minus")
        assert len(waterfall.rows) == 1
        await pilot.press("plus", "right_square_bracket")
        assert waterfall.current.span_id == sid(1, 13)
        assert "ERROR ZeroDivisionError" in screen_text(pilot.app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DetailScreen)
        text = screen_text(pilot.app)
        assert "ZeroDivisionError: division by zero" in text and "gen_ai.tool.call.arguments" in text
        await pilot.press("escape")
        assert pilot.app.screen is screen

    run_pilot(_app(run_dir), script)


def test_filters_from_keys(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        waterfall = pilot.app.screen.query_one(Waterfall)
        await pilot.press("e")
        assert [row.span.name for row in waterfall.rows][-1] == "execute_tool calculator" and len(waterfall.rows) == 3
        await pilot.press("e", "a")  # errors off, agent = planner
        assert {waterfall.model.trace.agent_of(row.span) for row in waterfall.rows[1:]} == {"planner"}
        await pilot.press("x", "n", "n")  # kind: agent, then llm
        assert [row.span.name for row in waterfall.rows if row.depth == 2] == ["chat tiny-moe"] * 2
        await pilot.press("x", "slash")
        await pilot.press(*"search", "enter")
        names = [row.span.name for row in waterfall.rows]
        assert names.count("execute_tool search") == 3 and "chat tiny-moe" not in names
        assert "text~search" in screen_text(pilot.app)
        await pilot.press("slash", "escape")  # escape closes the filter box, not the screen
        assert isinstance(pilot.app.screen, WaterfallScreen)

    run_pilot(_app(run_dir), script)


def test_detail_shows_messages_and_gpu_sparklines(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, DetailScreen) and screen.span.span_id == sid(1, 3)
        assert len(screen.query(Sparkline)) == 3
        assert "input messages" in widget_text(screen.query_one("#detail-messages"))
        assert "12ms in 340 kernels" in widget_text(screen.query_one("#detail-gpu"))
        assert "utilisation (hw.gpu.utilization, 6 samples)" in widget_text(screen.query_one("#gpu-series"))
        await pilot.press("u")
        assert pilot.app.screen.span.name == "invoke_agent planner"
        await pilot.press("w")  # back to the waterfall below, cursor on that span
        await settle(pilot)
        assert isinstance(pilot.app.screen, WaterfallScreen) and len(pilot.app.screen_stack) == 3
        assert pilot.app.screen.query_one(Waterfall).current.name == "invoke_agent planner"

    run_pilot(_app(run_dir), script)


def test_swimlanes_and_handoff_to_detail(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s")
        handoffs = pilot.app.screen.query_one("#handoffs", DataTable)
        assert handoffs.has_focus and handoffs.row_count == 2
        assert "▼" in screen_text(pilot.app)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert pilot.app.screen.span.name == "invoke_agent coder"
        await pilot.press("escape", "s")
        assert pilot.app.screen.query_one(Waterfall).has_focus

    run_pilot(_app(run_dir), script)


def test_blame_jumps_to_culprit_and_highlights_paths(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(pilot.app.screen, BlameScreen)
        text = screen_text(pilot.app)
        assert "tool_error" in text and "step 11 raised ZeroDivisionError" in text and "llm_decode" in text
        await pilot.press("c")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen)
        waterfall = screen.query_one(Waterfall)
        assert waterfall.current.span_id == sid(1, 13)
        assert waterfall.model.culprit == sid(1, 13)
        assert waterfall.model.failure_path == {sid(1, 13), sid(1, 10), sid(1, 1)}
        assert waterfall.model.critical_path == {sid(1, 1), sid(1, 10), sid(1, 11)}
        assert "◆" in screen_text(pilot.app) and "»" in screen_text(pilot.app)

    run_pilot(_app(run_dir), script)


def test_blame_without_verdict_says_how_to_get_one(run_dir: Path) -> None:
    (run_dir / "verdicts.json").unlink()

    async def script(pilot) -> None:
        await pilot.press("b")
        await settle(pilot)
        assert "no verdict: run `rootspan attribute RUN`" in screen_text(pilot.app)
        await pilot.press("c")  # nothing to jump to: a notice, not a crash
        assert isinstance(pilot.app.screen, BlameScreen)

    run_pilot(_app(run_dir), script)


def test_diff_mode_opens_on_aligned_steps(run_dir: Path, candidate_dir: Path) -> None:
    async def script(pilot) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, DiffScreen)
        marks = [row.mark for row in screen.rows]
        assert marks.count("+") == 1 and marks.count("-") == 1 and marks.count("~") == 1
        changed = next(row for row in screen.rows if row.mark == "~")
        assert changed.baseline.name == "invoke_agent coder" and changed.duration_delta == 30_000_000
        text = screen_text(pilot.app)
        assert "1 added, 1 removed" in text and "+30ms" in text
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.pair_index == 1 and all(row.mark == "=" for row in screen.rows)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DetailScreen)
        await pilot.press("escape", "escape")
        assert isinstance(pilot.app.screen, TracesScreen)
        assert pilot.app.screen.query_one(DataTable).row_count == 4
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DiffScreen)

    run_pilot(_app(run_dir, candidate_dir), script)


def test_help_lists_every_key_and_q_quits(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = widget_text(pilot.app.screen.query_one("#help-body"))
        for section, keys, description in key_table():
            assert description in shown, (section, keys)
        await pilot.press("escape", "q")
        await pilot.pause()
        assert not pilot.app.is_running

    run_pilot(_app(run_dir), script)


def test_small_terminal_still_shows_the_waterfall(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        lines = screen_text(pilot.app).splitlines()
        assert len(lines) == 24 and all(len(line) == 80 for line in lines)
        assert any("execute_tool calculator" in line for line in lines)

    run_pilot(_app(run_dir), script, size=(80, 24))


def test_footer_keeps_quit_and_help_at_80_columns(run_dir: Path, candidate_dir: Path) -> None:
    """The footer drops what does not fit on the right, where the app's q and ? are drawn."""

    async def script(pilot) -> None:
        seen = []
        for keys, screen_type in (
            ((), DiffScreen),
            (("escape",), TracesScreen),
            (("enter",), WaterfallScreen),
            (("s",), WaterfallScreen),  # swimlanes: the handoff list has the focus
            (("s", "enter"), DetailScreen),
            (("escape", "b"), BlameScreen),
        ):
            await pilot.press(*keys)
            await settle(pilot)
            assert isinstance(pilot.app.screen, screen_type)
            line = screen_text(pilot.app).splitlines()[-1]
            assert "q Quit" in line and "? Help" in line, (screen_type.__name__, line)
            seen.append(line)
        assert "⏎ Detail" in seen[2] and "/ Filter" in seen[2] and "b Blame" in seen[2]

    run_pilot(_app(run_dir, candidate_dir), script, size=(80, 24))


def test_diff_columns_fit_80_columns_without_cutting_units(run_dir: Path, candidate_dir: Path) -> None:
    # A number as drawn: an integer (steps, token counts), a compact count, or a duration with its
    # whole unit. "-3.25m" (a cut "-3.25ms") would read as minutes and fails this.
    number = re.compile(r"[+-]?(\d+(\.\d+)?(ns|µs|ms|s|k|M|G)?|\d+m\d\ds)")

    async def script(pilot) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, DiffScreen)
        lines = screen_text(pilot.app).splitlines()
        head = next(index for index, line in enumerate(lines) if "Δ time" in line)
        assert all(label in lines[head] for label in ("#A", "#B", "agent", "name", "time A", "time B", "Δ tok", "Δ GPU"))
        body = lines[head + 1 : head + 1 + len(screen.rows)]
        assert len(body) == len(screen.rows) > 0
        for row, line in zip(screen.rows, body):
            # Every delta is on screen in full, right-aligned against the next column or the edge.
            for value in (signed_duration(row.duration_delta), signed_number(row.token_delta), signed_duration(row.gpu_delta)):
                assert f" {value}" in line, (value, line)
            numbers = line.split()[-3:] + [token for token in line.split() if token[:1].isdigit()]
            for token in numbers:
                assert number.fullmatch(token), (token, line)
        changed = next(line for row, line in zip(screen.rows, body) if row.mark == "~")
        assert changed.split()[-3:] == ["+30ms", "0", "0"]

    run_pilot(_app(run_dir, candidate_dir), script, size=(80, 24))


def test_corrupt_run_shows_error_screen(tmp_path: Path) -> None:
    bad = tmp_path / "traces.jsonl"
    # Passes the cheap pre-flight sniff (the word is there) but no line is a TracesData object.
    bad.write_text('{"resourceSpans": [ truncated\nnot json "resourceSpans"\n')

    async def script(pilot) -> None:
        assert isinstance(pilot.app.screen, ErrorScreen)
        assert "rootspan: error:" in screen_text(pilot.app)
        assert pilot.app.load_error

    run_pilot(RootspanApp(tmp_path), script)


def test_default_engine_degrades_without_crashing(run_dir: Path) -> None:
    """The real engine (or its absence) must never take the UI down; whatever it answers is shown."""
    (run_dir / "verdicts.json").unlink()

    async def script(pilot) -> None:
        await pilot.press("down", "b")
        await settle(pilot, rounds=10)
        assert isinstance(pilot.app.screen, BlameScreen)
        assert pilot.app.screen.analysis is not None

    run_pilot(RootspanApp(run_dir), script)


def test_big_runs_wait_for_blame_before_running_the_engine(run_dir: Path, monkeypatch) -> None:
    import rootspan.tui.app as app_module

    monkeypatch.setattr(app_module, "AUTO_ANALYSIS_SPANS", 5)  # the 14-span fixture counts as big
    engine = FixedEngine()
    calls: list[int] = []
    original = engine.analyse_run
    engine.analyse_run = lambda run, need: calls.append(1) or original(run, need)

    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        waterfall = pilot.app.screen.query_one(Waterfall)
        assert calls == [] and "press b to run the engine" in screen_text(pilot.app)
        assert waterfall.model.culprit == sid(1, 13)  # the saved verdict is used right away
        assert waterfall.model.critical_path == set()
        await pilot.press("b")
        await settle(pilot)
        assert calls == [1] and isinstance(pilot.app.screen, BlameScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert waterfall.model.critical_path == {sid(1, 1), sid(1, 10), sid(1, 11)}

    run_pilot(RootspanApp(run_dir, engine=engine), script)


def test_engine_verdicts_fill_the_traces_list(run_dir: Path) -> None:
    from rootspan.model import Culprit, Verdict
    from rootspan.tui.analysis import RunAnalysis

    from tui_fixtures import TRACE_OK

    class OkEngine(FixedEngine):
        def analyse_run(self, run, need_verdicts):
            found = Verdict(trace_id=TRACE_OK, outcome="failure", category="hallucination",
                            culprit=Culprit(span_id=sid(2, 3), agent="planner", step=2))
            return RunAnalysis(verdicts={TRACE_OK: found})

    async def script(pilot) -> None:
        table = pilot.app.screen.query_one(DataTable)
        assert table.get_row_at(1)[7].plain.strip() == "-"
        await pilot.press("down", "b")
        await settle(pilot)
        await pilot.press("escape")
        assert table.get_row_at(1)[7].plain.strip() == "hallucination @ step 2 planner"
        assert table.get_row_at(0)[7].plain.strip() == "tool_error @ step 11 coder"  # saved verdict kept
        assert table.cursor_row == 1  # laying the table out again keeps the selected trace

    run_pilot(RootspanApp(run_dir, engine=OkEngine()), script, size=(160, 30))  # verdicts whole


def test_waterfall_draws_only_visible_rows(tmp_path: Path, monkeypatch) -> None:
    """Virtualised: with 6,000 rows expanded, a redraw renders about one screenful of lines."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_tui import write_run  # the benchmark's synthetic run, at a test-sized 6k spans

    write_run(tmp_path, 6_000)
    drawn: list[str] = []
    original = Waterfall._line
    monkeypatch.setattr(Waterfall, "_line", lambda self, row, width: drawn.append(row.span.span_id) or original(self, row, width))

    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        waterfall = pilot.app.screen.query_one(Waterfall)
        assert len(waterfall.rows) == 1 + 60  # big trace: only the root open
        await pilot.press("plus")
        await settle(pilot)
        assert len(waterfall.rows) == 6_000
        drawn.clear()
        await pilot.press("pagedown")
        await settle(pilot)
        assert 0 < len(drawn) <= 2 * 30
        assert waterfall.current is waterfall.rows[waterfall.cursor].span and waterfall.cursor > 20

    run_pilot(RootspanApp(tmp_path, engine=FixedEngine()), script)


def test_loader_warnings_are_counted_and_listed(run_dir: Path) -> None:
    with (run_dir / "traces.jsonl").open("a") as handle:
        handle.write('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId"')  # a run killed mid-write

    async def script(pilot) -> None:
        assert "1 loader warnings (w)" in widget_text(pilot.app.screen.query_one("#traces-title"))
        await pilot.press("w")
        assert "truncated last line skipped" in widget_text(pilot.app.screen.query_one("#text-body"))
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, TracesScreen)

    run_pilot(_app(run_dir), script)

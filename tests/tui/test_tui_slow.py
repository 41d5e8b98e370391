"""Slowdowns in the UI, with the real attribution engine: c on a slow trace, the critical-path
marks, the blame view's bottlenecks, and diff mode opening on the pair that changed most."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from rootspan.tui.app import RootspanApp
from rootspan.tui.detail import attributes_text, gpu_text
from rootspan.tui.screens_blame import BlameScreen
from rootspan.tui.screens_diff import DiffScreen, PairsScreen
from rootspan.tui.screens_waterfall import WaterfallScreen
from rootspan.tui.units import with_unit
from rootspan.model import Span

from tui_fixtures import make_many, run_pilot, screen_text, settle, widget_text

SLOW = 5  # the slow trace of make_many


async def _open_slow(pilot) -> None:
    await pilot.press("slash", *"slow", "enter", "enter")
    await settle(pilot)


def test_c_on_a_slow_trace_goes_to_its_primary_bottleneck(tmp_path: Path) -> None:
    run = make_many(tmp_path / "run", 20)

    async def script(pilot) -> None:
        await _open_slow(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen) and screen.analysis is not None
        verdict = screen.analysis.verdict
        assert verdict is not None and verdict.culprit is None
        await pilot.press("c")
        await settle(pilot)
        current = screen._waterfall().current
        assert current is not None and current.span_id == verdict.bottlenecks[0].span_id
        assert current.name == "execute_tool web_search"
        assert any("primary bottleneck" in str(n.message) for n in pilot.app._notifications)

    run_pilot(RootspanApp(run), script, size=(120, 30))


def test_critical_path_marks_only_spans_that_hold_its_time(tmp_path: Path) -> None:
    run = make_many(tmp_path / "run", 12)

    async def script(pilot) -> None:
        await _open_slow(pilot)
        screen = pilot.app.screen
        marked = {screen.trace.get(span_id).name for span_id in screen.analysis.critical_path}
        # the steps (sequential here) are on it; the workflow and agent turns around them are not
        assert marked == {"chat tiny-moe", "execute_tool web_search"}
        rows = [line for line in screen_text(pilot.app).splitlines() if "invoke_agent" in line or "invoke_workflow" in line]
        assert rows and not any("»" in line.split("invoke_")[0] for line in rows)
        assert any("»" in line for line in screen_text(pilot.app).splitlines() if "web_search" in line)

    run_pilot(RootspanApp(run), script, size=(120, 30))


def test_blame_names_step_agent_and_how_slow(tmp_path: Path) -> None:
    run = make_many(tmp_path / "run", 12)

    async def script(pilot) -> None:
        await pilot.press("slash", *"slow", "enter", "b")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, BlameScreen)
        text = widget_text(screen.query_one("#blame"))
        assert "x its peers" in text and "primary bottleneck step 5  researcher  execute_tool web_search" in text
        lines = [line for line in text.splitlines() if "chat tiny-moe" in line and "%" in line]
        # each of the three chat calls says whose and which step it is
        assert len(lines) == 3 and {line.split("step ")[1].split()[1] for line in lines} == {"planner", "researcher", "writer"}

    run_pilot(RootspanApp(run), script, size=(120, 40))


def test_diff_opens_on_the_pair_that_changed_most_and_lists_pairs_by_change(tmp_path: Path) -> None:
    baseline = make_many(tmp_path / "base", 10, slow_index=None)
    candidate = make_many(tmp_path / "cand", 10, slow_index=SLOW)

    async def script(pilot) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, DiffScreen) and screen.pair_index == SLOW
        assert f"pair {SLOW + 1}/10 (change rank 1/10" in screen_text(pilot.app)
        await pilot.press("p")
        pairs = pilot.app.screen
        assert isinstance(pairs, PairsScreen)
        table = pairs.query_one(DataTable)
        order = [int(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(table.row_count)]
        assert order[0] == SLOW and sorted(order) == list(range(10))
        await pilot.press("j", "enter")
        await settle(pilot)
        assert pilot.app.screen is screen and screen.pair_index == order[1]

    run_pilot(RootspanApp(baseline, candidate), script, size=(100, 30))


def test_units_on_durations_bytes_and_fractions() -> None:
    assert with_unit("rootspan.cpu.time_ns", 1_234_567_890) == "1.23s"
    assert with_unit("rootspan.gpu.mem.peak_reserved_bytes", 3 * 2**30) == "3.0 GiB"
    assert with_unit("rootspan.cpu.rss_peak_bytes", 1536) == "1.5 KiB"
    assert with_unit("rootspan.gpu.achieved_bytes_per_s", 2 * 2**40) == "2.0 TiB/s"
    assert with_unit("rootspan.cpu.utilization", 0.4321) == "43.2%"
    assert with_unit("rootspan.profile.coverage", 1.0) == "100.0%"
    assert with_unit("rootspan.gpu.power.mean_w", 301.25) == "301.2 W"
    assert with_unit("rootspan.gpu.achieved_flops", 1.5e12) == "1.5 TFLOP/s"
    assert with_unit("rootspan.cpu.time_ns", "soon") is None and with_unit("rootspan.cpu.time_ns", float("nan")) is None
    assert with_unit("gen_ai.usage.input_tokens", 12) is None


def test_span_detail_shows_units_with_the_raw_figure() -> None:
    span = Span(trace_id="a" * 32, span_id="b" * 16, name="chat", start_ns=0, end_ns=10, attributes={
        "rootspan.cpu.time_ns": 2_500_000, "rootspan.cpu.rss_peak_bytes": 5 * 2**20, "rootspan.cpu.utilization": 0.5,
        "rootspan.gpu.kv_cache_bytes": "[b]x[/b]", "app.elapsed_ns": 1500, "app.note": "0.25"})
    panel = gpu_text(span).plain
    assert "rootspan.cpu.time_ns = 2.5ms  (2500000)" in panel
    assert "rootspan.cpu.rss_peak_bytes = 5.0 MiB  (5242880)" in panel
    assert "rootspan.cpu.utilization = 50.0%  (0.5)" in panel
    assert "rootspan.gpu.kv_cache_bytes = [b]x[/b]" in panel  # not a number: shown as it came
    other = attributes_text(span).plain
    assert "app.elapsed_ns = 1.5µs  (1500)" in other and "app.note = 0.25" in other


def test_the_primary_bottleneck_notice_shows_an_agent_name_as_text(tmp_path: Path) -> None:
    from rootspan.rundir import write_traces

    from tui_fixtures import many_traces, screen_segments

    evil = "[link=https://evil.example]researcher[/link]"
    spans = many_traces(12)
    for span in spans:
        if span.attributes.get("gen_ai.agent.name") == "researcher":
            span.attributes["gen_ai.agent.name"] = evil
    write_traces(tmp_path / "run", spans)

    async def script(pilot) -> None:
        await _open_slow(pilot)
        await pilot.press("c")
        await settle(pilot)
        notices = [n for n in pilot.app._notifications if evil in str(n.message)]
        # the toast is drawn without markup parsing (Textual's Notification.markup), so the
        # brackets show as typed; the title line does the same with a Text
        assert notices and not any(n.markup for n in notices)
        assert evil in screen_text(pilot.app)
        assert not [s for s in screen_segments(pilot.app) if s.style is not None and s.style.link]

    run_pilot(RootspanApp(tmp_path / "run"), script, size=(140, 30))

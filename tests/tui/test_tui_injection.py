"""Untrusted span text (Rich markup, ANSI/OSC escapes, control characters) is shown, never run."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from rootspan.model import Alternative, Span
from rootspan.rundir import write_traces, write_verdicts
from rootspan.tui.app import RootspanApp
from rootspan.tui.cells import cell

from tui_fixtures import (EVIL_NAME, FixedEngine, lineage_verdict, run_pilot, screen_segments, screen_text, settle, sid,
                          widget_text)

LINK_NAME = "[link=https://evil.example]click me[/link]"


def _assert_inert(app) -> None:
    """Nothing on screen carries a hyperlink, and no raw escape or control byte reaches the terminal."""
    segments = screen_segments(app)
    assert not [segment.text for segment in segments if segment.style is not None and segment.style.link]
    text = "".join(segment.text for segment in segments if not segment.control)
    assert not any(char in text for char in "\x1b\x07\x9b")


def _styles_of(app, needle: str) -> set:
    return {segment.style for segment in screen_segments(app) if needle in segment.text}


def test_cell_never_parses_markup() -> None:
    rendered = cell("[bold]x[/bold] \x1b[31m")
    assert isinstance(rendered, Text)
    assert rendered.plain == "[bold]x[/bold] \\x1b[31m"
    assert not rendered.spans


def test_injected_names_in_traces_list_and_waterfall(tmp_path: Path) -> None:
    root = Span(trace_id="cc" * 16, span_id=sid(3, 1), name=LINK_NAME + " \x1b[2J\x1b[31mred \x9b", start_ns=1, end_ns=10)
    child = Span(trace_id="cc" * 16, span_id=sid(3, 2), parent_span_id=sid(3, 1), name="[bold]bold?[/bold]",
                 start_ns=2, end_ns=5, attributes={"gen_ai.agent.name": "[i]agent[/i]", "gen_ai.operation.name": "invoke_agent"})
    write_traces(tmp_path, [root, child])

    async def script(pilot) -> None:
        text = screen_text(pilot.app)
        # The traces list cuts long names at the name column's cap, literally.
        from rootspan.tui.screens_traces import COLUMNS

        cap = next(column.cap for column in COLUMNS if column.key == "name")
        assert cap is not None and LINK_NAME[:cap - 1] + "…" in text
        _assert_inert(pilot.app)
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "[link=https://evil.example]click me[/link] \\x1b[2J\\x1b[31mred \\x9b" in text
        assert "[bold]bold?[/bold]" in text
        await pilot.press("down")  # the status line now names the child's agent, "[i]agent[/i]"
        # Both are drawn in the row's own styles: the markup tags around them did nothing.
        bold_styles, italic_styles = _styles_of(pilot.app, "bold?"), _styles_of(pilot.app, "[i]agent[/i]")
        assert bold_styles and italic_styles
        assert not any(style is not None and style.bold for style in bold_styles)
        assert not any(style is not None and style.italic for style in italic_styles)
        _assert_inert(pilot.app)
        await pilot.press("s")
        assert "[i]agent[/i]" in screen_text(pilot.app)
        _assert_inert(pilot.app)

    run_pilot(RootspanApp(tmp_path, engine=FixedEngine()), script, size=(120, 30))


def test_injected_messages_and_results_in_detail(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("end", "up", "enter")  # the span with the hostile name and result
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.span.span_id == sid(1, 12) and screen.span.name == EVIL_NAME
        header = widget_text(screen.query_one("#detail-header"))
        assert "[bold]evil[/bold] [link=https://evil.example]click[/link] \\x1b[31mred\\x1b[0m\\x07" in header
        messages = widget_text(screen.query_one("#detail-messages"))
        assert "[red]not red[/red] \\x1b]8;;https://evil.example\\x1b\\link" in messages
        _assert_inert(pilot.app)
        styles = _styles_of(pilot.app, "not red")
        assert styles and all(style is None or style.color is None or style.color.name != "red" for style in styles)

    run_pilot(RootspanApp(run_dir, engine=FixedEngine()), script, size=(120, 40))


def test_injected_verdict_evidence_in_blame(run_dir: Path) -> None:
    async def script(pilot) -> None:
        await pilot.press("b")
        await settle(pilot)
        assert "depends on step 11 [link=x]y[/link]" in screen_text(pilot.app)
        _assert_inert(pilot.app)

    run_pilot(RootspanApp(run_dir, engine=FixedEngine()), script)


def test_injected_lineage_and_candidates_in_blame(run_dir: Path) -> None:
    """Lineage values, quotes and agents and candidate names and evidence are model output: shown, never run."""
    hostile = lineage_verdict(quote="[bold]x[/] \x1b[31mred\x07")
    hostile.lineage[0].value = LINK_NAME
    hostile.lineage[1].agent = "[i]agent[/i]"
    hostile.determined, hostile.culprit = False, None
    hostile.alternatives = [Alternative(span_id=sid(1, 2), confidence=0.5, name="[u]name[/u]", category="[b]cat[/b]",
                                        evidence=["[red]evidence[/red] \x1b]8;;https://evil.example\x1b\\"])]
    write_verdicts(run_dir, [hostile])

    async def script(pilot) -> None:
        await pilot.press("b")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert "'[bold]x[/] \\x1b[31mred\\x07'" in text and LINK_NAME + " in coder step 11" in text
        assert "← 1839.08 in [i]agent[/i] step 8" in text  # the value changed from the hop before, so it is shown
        assert "[u]name[/u]  [b]cat[/b]" in text and "[red]evidence[/red] \\x1b]8;;https://evil.example\\x1b\\" in text
        _assert_inert(pilot.app)
        # The quote is drawn in the hop's own style: "[bold]" made nothing bold.
        quote_styles = _styles_of(pilot.app, "[bold]x[/]")
        assert quote_styles and not any(style is not None and style.bold for style in quote_styles)
        assert not any(style is not None and style.italic for style in _styles_of(pilot.app, "[i]agent[/i]"))

    run_pilot(RootspanApp(run_dir, engine=FixedEngine()), script, size=(120, 30))


def test_malformed_profile_and_deep_json_in_detail_do_not_crash(tmp_path: Path) -> None:
    """Untrusted values of the wrong type (strings for numbers, inf, JSON nested 100k deep) are shown as text."""
    trace_id = "ab" * 16
    root = Span(trace_id=trace_id, span_id=sid(9, 1), name="invoke_workflow w", start_ns=1_000, end_ns=9_000_000,
                attributes={"gen_ai.operation.name": "invoke_workflow"})
    nasty = Span(
        trace_id=trace_id, span_id=sid(9, 2), parent_span_id=sid(9, 1), name="chat m", start_ns=2_000, end_ns=5_000_000,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": "[" * 100_000 + "]" * 100_000,
            "gen_ai.usage.input_tokens": float("inf"),
            "rootspan.gpu.kernel_time_ns": "lots",
            "rootspan.gpu.busy_fraction": "[b]x[/b]",
            "rootspan.gpu.launch_overhead_ns": float("inf"),
            "rootspan.gpu.mem.peak_allocated_bytes": "many",
            "rootspan.gpu.top_kernels": '[5, {"name": "k", "time_ns": 1e400, "count": "[i]3[/i]"}]',
            "rootspan.gpu.moe.tokens_per_expert": '[[1, 2], 5, [null, 1e400, -3]]',
            "rootspan.gpu.moe.imbalance_max": "high",
        },
    )
    write_traces(tmp_path, [root, nasty])

    async def script(pilot) -> None:
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("end", "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.span.span_id == sid(9, 2)
        gpu = widget_text(screen.query_one("#detail-gpu"))
        assert "lots in" in gpu and "busy [b]x[/b]" in gpu and "imbalance max high" in gpu and "x[i]3[/i]" in gpu
        assert "[[[[" in widget_text(screen.query_one("#detail-messages"))
        _assert_inert(pilot.app)

    run_pilot(RootspanApp(tmp_path, engine=FixedEngine()), script, size=(120, 40))

"""Bidi overrides, isolates, zero-width and tag characters in span text are drawn as escapes in the TUI."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from rootspan.model import Span, StatusCode
from rootspan.rundir import write_traces
from rootspan.tui.app import RootspanApp

from tui_fixtures import FixedEngine, run_pilot, screen_text, settle, sid, widget_text

HIDDEN = "\u202e\u2066\u200b\ufeff\U000e0041\u2069"
TRACE = "cd" * 16


def _hidden_in(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} and c not in "\n\t"]


def _run(tmp_path: Path) -> Path:
    root = Span(trace_id=TRACE, span_id=sid(4, 1), name=f"invoke_workflow evil{HIDDEN}gnp.exe", start_ns=1, end_ns=10_000,
                attributes={"gen_ai.operation.name": "invoke_workflow", "rootspan.outcome": "failure"})
    agent = Span(trace_id=TRACE, span_id=sid(4, 2), parent_span_id=sid(4, 1), name=f"invoke_agent ag{HIDDEN}ent",
                 start_ns=2, end_ns=8_000, attributes={"gen_ai.operation.name": "invoke_agent",
                                                        "gen_ai.agent.name": f"ag\u202eent"})
    llm = Span(trace_id=TRACE, span_id=sid(4, 3), parent_span_id=sid(4, 2), name="chat m", start_ns=3, end_ns=7_000,
               status_code=StatusCode.ERROR, status_message=f"failed{HIDDEN}",
               attributes={"gen_ai.operation.name": "chat",
                           "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
                               {"type": "text", "content": f"the answer is {HIDDEN} 42"}]}], ensure_ascii=False)})
    write_traces(tmp_path, [root, agent, llm])
    return tmp_path


def test_traces_list_waterfall_and_detail_show_them_escaped(tmp_path: Path) -> None:
    async def script(pilot) -> None:
        text = screen_text(pilot.app)
        assert _hidden_in(text) == [] and "evil\\u202e" in text  # the traces list
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert _hidden_in(text) == [] and "ag\\u202e" in text  # the waterfall
        await pilot.press("end", "enter")  # the LLM span's detail
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.span.span_id == sid(4, 3)
        assert _hidden_in(screen_text(pilot.app)) == []
        messages = widget_text(screen.query_one("#detail-messages"))
        assert "the answer is \\u202e\\u2066\\u200b\\ufeff\\U000e0041\\u2069 42" in messages
        assert _hidden_in(widget_text(screen.query_one("#detail-errors"))) == []

    run_pilot(RootspanApp(_run(tmp_path), engine=FixedEngine()), script, size=(120, 30))

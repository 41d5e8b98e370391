"""The UI's data layer without Textual: summaries, row model, loops, lanes, detail text, alignment."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.style import Style

from rootspan.errors import UserError
from rootspan.model import SpanKind
from rootspan.rundir import load_run
from rootspan.tui.analysis import align_by_names, pair_traces
from rootspan.tui.data import build_run_view, check_traces_path, load_view_data
from rootspan.tui.detail import errors_text, gpu_series, gpu_text, messages_text
from rootspan.tui.lanes import build_lanes, render_lanes
from rootspan.tui.spantree import SpanFilter, WaterfallModel, loop_positions

from tui_fixtures import TRACE_FAIL, TRACE_OK, failing_trace, metric_points, sid


def _names(model: WaterfallModel) -> list[str]:
    return [row.span.name for row in model.rows()]


def test_summaries_count_tokens_gpu_time_and_verdict(run_dir: Path) -> None:
    view = build_run_view(load_run(run_dir))
    failing, ok = view.summaries
    assert (failing.trace_id, ok.trace_id) == (TRACE_FAIL, TRACE_OK)
    assert failing.status == "failure" and ok.status == "success"
    assert failing.agents == ["planner", "researcher", "coder"]
    assert (failing.steps, failing.errors) == (11, 1)
    assert (failing.input_tokens, failing.output_tokens) == (420, 110)
    assert failing.gpu_time_ns == 32_000_000
    assert ok.gpu_time_ns is None
    assert failing.verdict is not None and failing.verdict.category == "tool_error"
    assert ok.verdict is None


def test_gpu_time_counts_only_outermost_spans(tmp_path: Path) -> None:
    from rootspan.rundir import write_traces

    spans = failing_trace()
    spans[1].attributes["rootspan.gpu.kernel_time_ns"] = 50_000_000  # planner wraps the 12 ms chat
    write_traces(tmp_path, spans)
    summary = build_run_view(load_run(tmp_path)).summaries[0]
    assert summary.gpu_time_ns == 50_000_000 + 20_000_000


def test_preflight_rejects_missing_and_non_otlp(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        check_traces_path(tmp_path / "missing")
    bad = tmp_path / "notes.jsonl"
    bad.write_text('{"hello": "world"}\n')
    with pytest.raises(UserError, match="not an OTLP"):
        check_traces_path(bad)


def test_default_view_opens_two_levels_and_folds(run_dir: Path) -> None:
    trace = load_run(run_dir).traces[TRACE_FAIL]
    model = WaterfallModel(trace)
    assert len(model.rows()) == 11  # root, agents and their children all visible
    model.toggle(sid(1, 4))  # fold the researcher
    names = _names(model)
    assert len(names) == 8 and names.count("execute_tool search") == 0
    model.collapse_all()
    assert _names(model) == ["invoke_workflow solve-ticket"]
    model.reveal(sid(1, 13))
    assert "execute_tool calculator" in _names(model)


def test_filters_keep_ancestors_and_combine(run_dir: Path) -> None:
    model = WaterfallModel(load_run(run_dir).traces[TRACE_FAIL])
    model.set_filter(SpanFilter(errors_only=True))
    assert _names(model) == ["invoke_workflow solve-ticket", "invoke_agent coder", "execute_tool calculator"]
    model.set_filter(SpanFilter(agent="researcher", kind=SpanKind.TOOL))
    assert _names(model)[1:] == ["invoke_agent researcher"] + ["execute_tool search"] * 3
    model.set_filter(SpanFilter(text="CALC"))
    assert _names(model)[-1] == "execute_tool calculator"
    model.set_filter(SpanFilter(text="no such span"))
    assert model.rows() == []


def test_fold_works_inside_a_filter(run_dir: Path) -> None:
    model = WaterfallModel(load_run(run_dir).traces[TRACE_FAIL])
    model.collapse_all()
    model.set_filter(SpanFilter(kind=SpanKind.TOOL))
    assert len(model.rows()) == 1 + 2 + 5  # a filter opens every path to a match
    model.toggle(sid(1, 4))
    assert len(model.rows()) == 1 + 2 + 2


def test_loops_and_repeated_calls_are_marked(run_dir: Path) -> None:
    model = WaterfallModel(load_run(run_dir).traces[TRACE_FAIL])
    assert model.repeats == {sid(1, 6): 2, sid(1, 7): 3}
    assert model.error_below == {sid(1, 1), sid(1, 10)}


@pytest.mark.parametrize(
    "sequence, expected",
    [
        ("AAA", {1: 2, 2: 3}),
        ("ABAB", {2: 2, 3: 2}),
        ("ABCABC", {3: 2, 4: 2, 5: 2}),
        ("ABAC", {}),
        ("ABCD", {}),
    ],
)
def test_loop_positions(sequence: str, expected: dict[int, int]) -> None:
    assert loop_positions([(char,) for char in sequence]) == expected


def test_lanes_show_agents_and_handoffs(run_dir: Path) -> None:
    trace = load_run(run_dir).traces[TRACE_FAIL]
    layout = build_lanes(trace)
    assert layout.agents == ["planner", "researcher", "coder"]
    assert [(h.source, h.target, h.how) for h in layout.handoffs] == [
        ("planner", "researcher", "handoff"),
        ("researcher", "coder", "handoff"),
    ]
    text = render_lanes(layout, 60, {"bar": Style(), "handoff": Style()}).plain.splitlines()
    assert text[0].startswith("planner") and "█" in text[0]
    assert "▼" in text[1] and "▼" in text[3]
    assert text[-1].strip().startswith("0") and text[-1].endswith("200ms")


def test_nested_agent_turn_is_a_delegation(tmp_path: Path) -> None:
    from rootspan.rundir import write_traces

    spans = failing_trace()
    spans[3].parent_span_id = sid(1, 2)  # researcher now runs inside the planner's turn
    spans[3].start_ns, spans[3].end_ns = spans[1].start_ns + 1, spans[1].end_ns - 1
    write_traces(tmp_path, spans)
    layout = build_lanes(load_run(tmp_path).traces[TRACE_FAIL])
    assert ("planner", "researcher", "delegate") in [(h.source, h.target, h.how) for h in layout.handoffs]


def test_detail_sections(run_dir: Path) -> None:
    trace = load_run(run_dir).traces[TRACE_FAIL]
    chat, calculator = trace.get(sid(1, 3)), trace.get(sid(1, 13))
    messages = messages_text(chat).plain
    assert "what is 6*7?" in messages and "[red]not red[/red]" in messages and "\x1b" not in messages
    assert messages_text(trace.get(sid(1, 2))) is None
    errors = errors_text(calculator).plain
    assert "ZeroDivisionError: division by zero" in errors and 'File "tools.py", line 12' in errors
    assert errors_text(chat) is None
    gpu = gpu_text(chat).plain
    for expected in ("12ms in 340 kernels", "busy 43%", "peak 3.0 GiB", "sw_power_cap", "imbalance max 2.50", "gemm_bf16"):
        assert expected in gpu
    series = {item.title: item for item in gpu_series(chat, metric_points())}
    assert set(series) == {"utilisation", "memory", "power"}
    assert len(series["power"].values) == 6  # samples every 5 ms inside 2..30 ms


def test_alignment_by_names_marks_added_and_removed(run_dir: Path, candidate_dir: Path) -> None:
    data = load_view_data(run_dir, candidate_dir)
    assert data.diff_mode
    pairs = pair_traces(data.primary.run.trace_list(), data.candidate.run.trace_list())
    assert len(pairs) == 2
    aligned = align_by_names(*pairs[0])
    removed = [a.name for a, b in aligned if b is None]
    added = [b.name for a, b in aligned if a is None]
    assert removed == ["execute_tool search"] and added == ["invoke_agent reviewer"]


def test_docs_list_every_key() -> None:
    from rootspan.tui.keys import key_table

    docs = (Path(__file__).resolve().parents[2] / "docs" / "tui.md").read_text(encoding="utf-8")
    missing = [(keys, description) for _, keys, description in key_table() if f"| `{keys}` | {description} |" not in docs]
    assert not missing, f"docs/tui.md lacks these keys: {missing}"

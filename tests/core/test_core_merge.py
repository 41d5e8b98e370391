"""Several run directories of the same traces load as one run: a client's and a model server's
spans, written by the real writer, joined by trace id; the server's request span finds its
parent in the client's run instead of being shown as an orphan root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rootspan.cli import run as cli
from rootspan.errors import UserError
from rootspan.merge import load_runs
from rootspan.model import Span
from rootspan.rundir import load_run, write_traces

TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER = "1bf7651916cd43dd8448eb211c80319d"


def sid(n: int) -> str:
    return f"{n:016x}"


def client_spans() -> list[Span]:
    return [
        Span(trace_id=TRACE, span_id=sid(1), name="invoke_workflow solve", start_ns=0, end_ns=100,
             attributes={"gen_ai.operation.name": "invoke_workflow", "rootspan.step": 0}),
        Span(trace_id=TRACE, span_id=sid(2), parent_span_id=sid(1), name="invoke_agent planner", start_ns=1, end_ns=90,
             attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner", "rootspan.step": 1}),
        Span(trace_id=TRACE, span_id=sid(3), parent_span_id=sid(2), name="chat demo-moe", start_ns=2, end_ns=80,
             attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "demo-moe", "rootspan.step": 2}),
    ]


def server_spans() -> list[Span]:
    return [
        Span(trace_id=TRACE, span_id=sid(10), parent_span_id=sid(3), name="serve demo-moe", start_ns=3, end_ns=70, otel_kind=2),
        Span(trace_id=TRACE, span_id=sid(11), parent_span_id=sid(10), name="prefill", start_ns=4, end_ns=10),
        Span(trace_id=TRACE, span_id=sid(12), parent_span_id=sid(10), name="decode", start_ns=10, end_ns=69),
        # A request of another client: its own trace, merged as it is.
        Span(trace_id=OTHER, span_id=sid(20), parent_span_id=sid(99), name="serve demo-moe", start_ns=5, end_ns=6),
    ]


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    client, server = tmp_path / "client", tmp_path / "server"
    client.mkdir()
    server.mkdir()
    write_traces(client / "traces.jsonl", client_spans())
    write_traces(server / "traces.jsonl", server_spans())
    return client, server


def test_alone_the_server_request_is_an_orphan(runs) -> None:
    server = load_run(runs[1])
    assert sid(10) in [s.span_id for s in server.traces[TRACE].roots]
    assert any("not in trace" in w for w in server.warnings)


def test_merged_runs_are_one_tree(runs) -> None:
    merged = load_runs(list(runs))
    trace = merged.traces[TRACE]
    assert len(trace.spans) == 6 and [s.span_id for s in trace.roots] == [sid(1)]
    assert trace.parent(trace.get(sid(10))).name == "chat demo-moe"
    assert trace.agent_of(trace.get(sid(12))) == "planner"  # the decode runs for the planner's call
    assert merged.path == runs[0]
    assert set(merged.traces) == {TRACE, OTHER}
    # The other client's parent really is elsewhere: that one orphan is still reported.
    assert [w for w in merged.warnings if "not in trace" in w] == [
        f"span {sid(20)} 'serve demo-moe': parent {sid(99)} not in trace {OTHER}; shown as a root"
    ]


def test_order_does_not_change_the_tree(runs) -> None:
    a, b = load_runs(list(runs)), load_runs(list(reversed(runs)))
    key = lambda r: sorted((s.span_id, s.parent_span_id) for s in r.all_spans())  # noqa: E731
    assert key(a) == key(b)


def test_the_same_run_twice_warns_of_duplicates(runs) -> None:
    merged = load_runs([runs[0], runs[0]])
    assert len(merged.traces[TRACE].spans) == 3
    assert any("duplicate span id" in w for w in merged.warnings)


def test_unrelated_run_is_named(runs, tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    write_traces(lone / "traces.jsonl", [Span(trace_id="2" * 32, span_id=sid(5), name="x", start_ns=0, end_ns=1)])
    merged = load_runs([runs[0], lone])
    assert any(str(lone) in w and "shares no trace" in w for w in merged.warnings)


def test_a_bad_path_fails_before_anything_loads(runs, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_runs([runs[0], tmp_path / "missing"])


def test_cli_spans_takes_several_runs(runs, capsys) -> None:
    assert cli(["spans", str(runs[0]), str(runs[1]), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_id = {r["span_id"]: r for r in rows}
    assert by_id[sid(10)]["parent_span_id"] == sid(3) and by_id[sid(12)]["agent"] == "planner"


def test_cli_attribute_takes_several_runs(runs, capsys) -> None:
    code = cli(["attribute", str(runs[0]), str(runs[1]), "--json", "--no-write"])
    assert code in (0, 1)
    assert {v["trace_id"] for v in json.loads(capsys.readouterr().out)["verdicts"]} >= {TRACE}


def test_cli_export_perfetto_takes_several_runs(runs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "timeline.json"
    assert cli(["export", "perfetto", str(runs[0]), str(runs[1]), "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["spans"] == 7
    names = {e.get("name") for e in json.loads(out.read_text())["traceEvents"]}
    assert {"chat demo-moe", "serve demo-moe", "prefill", "decode"} <= names


def test_cli_export_refuses_to_overwrite_any_input(runs, capsys) -> None:
    target = runs[1] / "traces.jsonl"
    before = target.read_bytes()
    assert cli(["export", "perfetto", str(runs[0]), str(runs[1]), "-o", str(target)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert target.read_bytes() == before


def test_view_data_merges_the_server_run(runs) -> None:
    from rootspan.tui.data import load_view_data

    data = load_view_data(runs[0], merge=[runs[1]])
    trace = data.primary.run.traces[TRACE]
    assert trace.parent(trace.get(sid(11))).name == "serve demo-moe" and data.candidate is None


def test_view_merge_checks_its_paths_first(runs, tmp_path: Path, capsys) -> None:
    assert cli(["view", str(runs[0]), "--merge", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and err.count("\n") == 1

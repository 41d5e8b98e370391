"""``rootspan demo`` end to end on CPU (the shipped model, traces, profiles, one trace per task),
its argument errors, the fault catalogue, counterfactual replay of a demo run, and the GPU path
where a GPU exists."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from rootspan.agents.faults import FAULTS
from rootspan.cli import run as cli
from rootspan.model import SpanKind
from rootspan.rundir import load_run


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def test_demo_end_to_end_on_cpu(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.run(
        [sys.executable, "-m", "rootspan", "demo", "-o", str(out), "--tasks", "4", "--seed", "3"],
        capture_output=True, text=True, timeout=300,
    )
    assert process.returncode == 0, process.stderr
    assert f"rootspan view {out}" in process.stdout and f"rootspan attribute {out}" in process.stdout
    run = load_run(out)
    assert not run.warnings and run.labels is None
    assert len(run.traces) == 4
    solved = 0
    for trace in run.traces.values():
        root = trace.root
        assert root.kind == SpanKind.WORKFLOW and root.name == "invoke_workflow word-problem"
        assert trace.expected is not None and trace.outcome in ("success", "failure")
        solved += trace.outcome == "success"
        assert trace.agents()[0] == "planner"
        chats = [s for s in trace.spans if s.kind == SpanKind.LLM]
        assert chats and all(s.attributes["gen_ai.provider.name"] == "rootspan-moe" for s in chats)
        assert all(s.attributes["gen_ai.usage.output_tokens"] > 0 for s in chats)
        # Profiles from rootspan.profilers (host side on CPU) and the MoE expert load.
        assert all("rootspan.cpu.time_ns" in s.attributes for s in chats)
        assert all("rootspan.gpu.moe.tokens_per_expert" in s.attributes for s in chats)
    assert solved >= 2, "the trained model solves most problems"
    assert (out / "metrics.jsonl").is_file()
    # The default profile ("sample"): each agent's first LLM call has its ops, quietly.
    assert "USDT" not in process.stderr and "USDT" not in process.stdout
    assert list((out / "kernels").glob("*.json"))
    profiled = {trace.agent_of(s) for trace in run.traces.values() for s in trace.spans
                if s.kind == SpanKind.LLM and "rootspan.cpu.op_time_ns" in s.attributes}
    assert profiled == {"planner", "solver", "verifier"}
    timeline = tmp_path / "timeline.json"
    assert cli(["export", "perfetto", str(out), "-o", str(timeline)]) == 0
    events = json.loads(timeline.read_text())["traceEvents"]
    threads = {e["args"]["name"] for e in events if e.get("ph") == "M" and e["name"] == "thread_name"}
    assert {"planner", "solver", "verifier"} <= threads  # agent tracks above ...
    assert any(e.get("cat") == "cpu_op" and str(e.get("name", "")).startswith("aten::") for e in events)  # ... the ops


def test_demo_json_summary_and_determinism(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = []
    for name in ("a", "b"):
        assert cli(["demo", "-o", str(tmp_path / name), "--tasks", "2", "--seed", "5", "--profile", "off", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["tasks"] == 2 and summary["fault"] is None
        answers.append([o["answer"] for o in summary["outcomes"]])
    assert answers[0] == answers[1], "greedy decoding on a seeded batch is reproducible"


def test_fault_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["demo", "--fault", "list"]) == 0
    text = capsys.readouterr().out
    for name in FAULTS:
        assert name in text
    assert cli(["demo", "--fault", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in rows} == set(FAULTS) and len(FAULTS) == 17


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "disk-on-fire"], "unknown fault 'disk-on-fire'"),
        (["--fault", "host-sync"], "fault host-sync needs a GPU"),
        (["--fault", "no-cuda-graphs"], "fault no-cuda-graphs needs a GPU"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--tasks", "0"], "--tasks must be at least 1"),
        (["--profile", "loud"], "unknown profile mode 'loud'"),
        (["--seed", str(2**70)], "--seed must fit in 64 bits"),
    ],
)
def test_bad_arguments_are_one_line_errors(args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["demo", "-o", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x" / "traces.jsonl").exists()


def test_existing_run_dir_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "traces.jsonl").write_text("")
    assert cli(["demo", "-o", str(tmp_path), "--tasks", "1"]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_output_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "notadir"
    target.write_text("keep me")
    assert cli(["demo", "-o", str(target), "--tasks", "1"]) == 2
    captured = capsys.readouterr()
    assert "is a file, not a directory" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert captured.out == "" and target.read_text() == "keep me"


def test_checkpoint_that_is_a_file_or_missing_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "weights.bin"
    a_file.write_text("x")
    for path, message in [(a_file, "is a file; a checkpoint is a directory"), (tmp_path / "nope", "does not exist")]:
        assert cli(["demo", "-o", str(tmp_path / "x"), "--tasks", "1", "--checkpoint", str(path)]) == 2
        captured = capsys.readouterr()
        assert message in captured.err and captured.err.count("\n") == 1 and captured.out == ""


def test_bad_tasks_prints_nothing_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["demo", "-o", str(tmp_path / "x"), "--tasks", "-3"]) == 2
    assert capsys.readouterr().out == ""


@pytest.mark.skipif(_has_cuda(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli(["demo", "-o", str(tmp_path / "x"), "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_replay_reproduces_a_demo_run(tmp_path: Path) -> None:
    """Counterfactual re-runs start from a faithful replay: same prompts, same answers."""
    import rootspan.tracer as rs
    from rootspan.agents import tasks as T
    from rootspan.agents.demo import run_demo
    from rootspan.agents.demo_team import build_team
    from rootspan.agents.replay import ReplayBackend

    first = run_demo(tmp_path / "live", tasks=2, seed=7, profile="off")
    team = build_team(ReplayBackend.from_run(tmp_path / "live"))
    rs.setup(service="replay", run_dir=tmp_path / "replayed", capture_content=True, profile="off")
    try:
        again = [team.run(t.question, expected=str(t.answer)).answer for t in T.make_tasks(2, 7)]
    finally:
        rs.shutdown()
    assert again == [o.answer for o in first.outcomes]


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="needs CUDA")
@pytest.mark.parametrize("fault", [None] + [name for name, f in FAULTS.items() if f.gpu_only])
def test_demo_on_gpu(fault: str | None, tmp_path: Path) -> None:
    from rootspan.agents.demo import run_demo

    result = run_demo(tmp_path / "gpu", fault=fault, device="cuda", tasks=3, seed=2)
    run = load_run(tmp_path / "gpu")
    assert len(run.traces) == 3
    if fault is not None:
        label = result.label
        span = run.traces[label.trace_id].get(label.culprit.span_id)
        assert span is not None and span.kind == SpanKind.LLM and span.step == label.culprit.step


def test_a_generation_error_is_a_backend_error_with_its_category_on_the_span(monkeypatch: pytest.MonkeyPatch) -> None:
    import rootspan.agents.moe as moe
    from rootspan.agents.backends import BackendError
    from rootspan.agents.moe_backend import MoEBackend

    backend = MoEBackend()

    def fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError()

    monkeypatch.setattr(moe, "generate", fails)
    attributes: dict[str, object] = {}
    call = types.SimpleNamespace(span=types.SimpleNamespace(set_attribute=attributes.__setitem__))
    with pytest.raises(BackendError, match="generation failed: RuntimeError"):
        backend.complete([{"role": "user", "content": "2+2"}], call=call)
    assert attributes["rootspan.error.category"] == "exception"  # on the chat span, as the OpenAI backend does

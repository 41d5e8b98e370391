"""``rootspan record`` exit codes and messages, the example app end to end, ``bench tracer``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracer_helpers import by_name

from rootspan.cli import run
from rootspan.rundir import load_run

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "support_team.py"


def _rootspan(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rootspan", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_record_without_command_is_a_one_line_error(tmp_path, capsys):
    assert run(["record", "-o", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rootspan: error: record needs a command to run: rootspan record -o DIR -- python app.py"]


def test_record_unknown_command_exits_127(tmp_path, capsys):
    assert run(["record", "-o", str(tmp_path / "run"), "--", "no-such-command-rootspan"]) == 127
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rootspan: error: command not found: no-such-command-rootspan"]


def test_record_returns_the_apps_exit_code_and_sets_the_run_dir(tmp_path, capsys):
    probe = "import os, sys; print(os.environ['ROOTSPAN_RUN_DIR']); sys.exit(3)"
    assert run(["record", "-o", str(tmp_path / "run"), "--", sys.executable, "-c", probe]) == 3
    # The app printed nothing traced, so record says so (on stderr, the app's stdout is its own).
    assert "no spans were written" in capsys.readouterr().err
    result = _rootspan("record", "-o", "rel-run", "--", sys.executable, "-c", probe, cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout.strip() == str(tmp_path / "rel-run")  # absolute, so the app may chdir


def test_record_reports_death_by_signal_as_128_plus_n(tmp_path):
    kill_self = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert run(["record", "-o", str(tmp_path / "run"), "--", sys.executable, "-c", kill_self]) == 137


def test_example_app_recorded_end_to_end(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ROOTSPAN_", "TRACEPARENT", "OTEL_"))}
    result = _rootspan("record", "-o", "run", "--profile", "off", "--", sys.executable, str(EXAMPLE), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "refund" in result.stdout.lower()
    assert not (tmp_path / "runs").exists()  # ROOTSPAN_RUN_DIR won over the app's own run_dir
    loaded = load_run(tmp_path / "run")
    assert loaded.warnings == []
    (trace,) = loaded.traces.values()
    workflow = by_name(trace, "invoke_workflow support-ticket")
    research = by_name(trace, "invoke_agent research")
    billing = by_name(trace, "invoke_agent billing")
    # Thread pool: every search sits under the research agent that submitted it.
    searches = [span for span in trace.spans if span.name == "execute_tool search_kb"]
    assert len(searches) == 3 and all(span.parent_span_id == research.span_id for span in searches)
    # asyncio task and rs.Thread: the writer and the reviewer sit under the workflow that started them.
    assert by_name(trace, "invoke_agent writer").parent_span_id == workflow.span_id
    assert by_name(trace, "invoke_agent reviewer").parent_span_id == workflow.span_id
    # Child process: the refund processor continues the trace under the billing agent.
    refund = by_name(trace, "invoke_agent refund-processor")
    assert refund.parent_span_id == billing.span_id
    assert refund.resource["service.name"] == "support-team-billing"
    # rs.consumed: the writer's data-flow edges name the searches and the billing step.
    assert set(by_name(trace, "invoke_agent writer").inputs) == {span.span_id for span in searches} | {billing.span_id}
    assert all(span.step is not None for span in trace.spans)
    assert trace.outcome == "success" and trace.expected == "refund"
    assert set(trace.agents()) == {"triage", "research", "billing", "refund-processor", "writer", "reviewer"}


def test_bench_tracer_json(capsys):
    assert run(["bench", "tracer", "--json", "--spans", "100", "--rounds", "1", "--no-profiling"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "profiling" not in result
    assert set(result["us_per_span"]) >= {"bare_sdk_agent", "rootspan_agent", "bare_sdk_tool", "rootspan_tool"}
    assert all(value > 0 for value in result["us_per_span"].values())
    expected = round(result["us_per_span"]["rootspan_agent"] / result["us_per_span"]["bare_sdk_agent"], 3)
    assert result["ratio_vs_bare_sdk"]["agent"] == expected
    assert result["meets_target"] == all(value <= 1.25 for value in result["ratio_vs_bare_sdk"].values())


def test_tracer_commands_do_not_import_the_otel_sdk(tmp_path):
    """Every rootspan start imports rootspan.tracer.commands; the SDK loads only when tracing."""
    probe = "import sys, rootspan.tracer.commands; print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_record_appending_to_an_existing_run_says_so(tmp_path, capsys):
    app = tmp_path / "app.py"
    app.write_text("import rootspan.tracer as rs\nrs.setup(profile='off')\nwith rs.workflow('w'):\n    pass\n")
    for _ in range(2):
        assert run(["record", "-o", str(tmp_path / "run"), "--", sys.executable, str(app)]) == 0
    err = capsys.readouterr().err
    assert err.count("already exists; this run's spans are appended") == 1
    assert "no spans were written" not in err
    assert len(load_run(tmp_path / "run").traces) == 2


def test_record_passes_sigterm_to_the_app_which_flushes(tmp_path):
    import signal

    app = tmp_path / "app.py"
    app.write_text(
        "import time\nimport rootspan.tracer as rs\nrs.setup(profile='off')\n"
        "with rs.workflow('w'):\n    with rs.tool_span('t'):\n        pass\n    print('ready', flush=True)\n    time.sleep(60)\n"
    )
    recorder = subprocess.Popen(
        [sys.executable, "-m", "rootspan", "record", "-o", str(tmp_path / "run"), "--", sys.executable, str(app)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert recorder.stdout.readline().strip() == "ready"
        recorder.send_signal(signal.SIGTERM)
        assert recorder.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        recorder.kill()
    (trace,) = load_run(tmp_path / "run").traces.values()
    assert {span.name for span in trace.spans} == {"invoke_workflow w", "execute_tool t"}


def test_bench_tracer_includes_the_profilers_figures_when_present(capsys, monkeypatch):
    import types

    module = types.ModuleType("rootspan.profilers.bench")
    module.profiling_overhead = lambda: {"wall_s": {"off": 1.0, "device": 1.01}}
    monkeypatch.setitem(sys.modules, "rootspan.profilers.bench", module)
    assert run(["bench", "tracer", "--json", "--spans", "100", "--rounds", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["profiling"] == {"wall_s": {"off": 1.0, "device": 1.01}}
    monkeypatch.setitem(sys.modules, "rootspan.profilers.bench", None)  # the part not installed
    assert run(["bench", "tracer", "--json", "--spans", "100", "--rounds", "1"]) == 0
    assert "profiling" not in json.loads(capsys.readouterr().out)


def test_bench_tracer_prints_tables_without_json_and_only_json_with_it(capsys, monkeypatch):
    """The real profiling figures (a tiny workload, so it stays quick) rendered as rows, not a dict."""
    pytest.importorskip("torch")
    import rootspan.profilers.bench as profilers_bench

    real = profilers_bench.profiling_overhead
    figures = real(repeats=1, llm_calls=2, steps=1, size=32)
    monkeypatch.setattr(profilers_bench, "profiling_overhead", lambda: figures)
    assert run(["bench", "tracer", "--spans", "100", "--rounds", "1"]) == 0
    text = capsys.readouterr().out
    assert "{" not in text and "'" not in text
    rows = [line.split() for line in text.splitlines()]
    assert any(row[:1] == ["kernels"] and len(row) == 5 for row in rows), text
    assert run(["bench", "tracer", "--json", "--spans", "100", "--rounds", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["profiling"]["workload"]["llm_calls"] == 2

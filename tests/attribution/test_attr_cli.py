"""The attribution commands through the real CLI: report, JSON, verdicts.json, errors, Who&When import/eval, bench."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from attr_builders import sid, team_trace

from rootspan.cli import run
from rootspan.rundir import VERDICTS_FILE, read_verdicts, write_traces

WHOWHEN = Path("/work/shared/data/whowhen")
needs_whowhen = pytest.mark.skipif(not WHOWHEN.is_dir(), reason="Who&When data not present")


@pytest.fixture()
def failed_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    write_traces(run_dir, team_trace(tool_error="ConnectionError: \x1b[2Jcalc backend down", tool_result="", solver_output="calc is unavailable", verifier_output="no answer").spans)
    return run_dir


def test_attribute_prints_a_report_and_writes_verdicts(failed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["attribute", str(failed_run)]) == 0
    out = capsys.readouterr().out
    assert "culprit     step 5  solver  execute_tool calc" in out
    assert "category    tool_error" in out
    assert "evidence" in out and "failure path" in out
    assert "\x1b" not in out and "\\x1b[2J" in out  # the terminal escape is shown, not executed
    assert f"wrote {failed_run / VERDICTS_FILE}" in out
    (verdict,) = read_verdicts(failed_run)
    assert verdict.culprit is not None and verdict.culprit.span_id == sid("calc")


def test_attribute_json_has_the_design_schema(failed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["attribute", str(failed_run), "--json", "--no-write"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"verdicts", "summary"}
    (verdict,) = payload["verdicts"]
    for key in ("trace_id", "outcome", "culprit", "category", "confidence", "evidence", "path", "alternatives", "bottlenecks"):
        assert key in verdict
    assert set(verdict["culprit"]) >= {"span_id", "agent", "step", "name"}
    assert payload["summary"]["failures"] == 1
    assert not (failed_run / VERDICTS_FILE).exists()


def test_attribute_on_a_traces_file_writes_nothing_beside_it(failed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["attribute", str(failed_run / "traces.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdicts"]
    assert not (failed_run / VERDICTS_FILE).exists()


def test_attribute_with_a_baseline_runs(failed_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = tmp_path / "base"
    write_traces(baseline, team_trace(outcome="success").spans)
    assert run(["attribute", str(failed_run), "--baseline", str(baseline), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdicts"][0]["outcome"] == "failure"


def test_attribute_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["attribute", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rootspan: error:") and "no such file" in err and err.count("\n") == 1
    not_otlp = tmp_path / "notes.jsonl"
    not_otlp.write_text('{"hello": 1}\n')
    assert run(["attribute", str(not_otlp)]) == 2
    assert "not an OTLP" in capsys.readouterr().err
    assert run(["attribute", str(tmp_path), "--frobnicate"]) == 2
    assert "--frobnicate" in capsys.readouterr().err
    assert run(["attribute", str(tmp_path), "--judge", "ftp://nowhere"]) == 2


def _mini_whowhen(tmp_path: Path) -> Path:
    root = tmp_path / "whowhen"
    for subset, names in (("Algorithm-Generated", ("1.json", "10.json")), ("Hand-Crafted", ("10.json", "12.json"))):
        (root / subset).mkdir(parents=True)
        for name in names:
            shutil.copy(WHOWHEN / subset / name, root / subset / name)
    return root


@needs_whowhen
def test_eval_whowhen_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _mini_whowhen(tmp_path)
    assert run(["eval", "whowhen", str(root), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"Algorithm-Generated", "Hand-Crafted"}
    for entry in payload.values():
        assert entry["n"] == 2
        assert 0.0 <= entry["agent_accuracy"] <= 1.0 and 0.0 <= entry["step_accuracy"] <= 1.0
        assert sum(part["n"] for part in entry["splits"].values()) == 2
    assert run(["eval", "whowhen", str(root / "Hand-Crafted"), "--json", "--no-ground-truth"]) == 0
    only_hc = json.loads(capsys.readouterr().out)
    assert only_hc["Hand-Crafted"]["n"] == 2
    assert only_hc["Algorithm-Generated"] == {"n": 0, "agent_accuracy": None, "step_accuracy": None, "splits": {}}


@needs_whowhen
def test_eval_whowhen_text_shows_the_priors_and_rejects_bad_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _mini_whowhen(tmp_path)
    assert run(["eval", "whowhen", str(root)]) == 0
    out = capsys.readouterr().out
    assert "always WebSurfer" in out and "AgenTracer-8B" in out and "Algorithm-Generated" in out
    assert run(["eval", "whowhen", str(root), "--split", "bogus"]) == 2
    assert run(["eval", "whowhen", str(tmp_path / "nothing")]) == 2


@needs_whowhen
def test_import_whowhen_writes_run_directories_that_attribute_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _mini_whowhen(tmp_path)
    out = tmp_path / "runs"
    assert run(["import", "whowhen", str(root), "-o", str(out)]) == 0
    assert "wrote 4 run directories" in capsys.readouterr().out
    run_dir = out / "Hand-Crafted" / "12"
    labels = json.loads((run_dir / "labels.json").read_text())
    assert labels["kind"] == "failure" and isinstance(labels["culprit"]["step"], int)
    assert "mistake_reason" not in (run_dir / "traces.jsonl").read_text()
    assert run(["attribute", str(run_dir), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)["verdicts"][0]
    assert verdict["outcome"] == "failure" and verdict["culprit"]["step"] is not None
    # the importer's one-second steps are synthetic: no bottlenecks computed from them
    assert '"rootspan.timing"' in (run_dir / "traces.jsonl").read_text()
    assert verdict["bottlenecks"] == []
    assert run(["attribute", str(run_dir), "--no-write"]) == 0
    assert "bottleneck" not in capsys.readouterr().out
    # importing again replaces instead of appending a second copy of the spans
    assert run(["import", "whowhen", str(root), "-o", str(out)]) == 0
    lines = (run_dir / "traces.jsonl").read_text().strip().splitlines()
    assert len(lines) == 1
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert run(["import", "whowhen", str(root), "-o", str(blocker)]) == 2
    assert "cannot write the run directory" in capsys.readouterr().err


def test_bench_attribution_synthetic_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["bench", "attribution", "--json", "--skip-faults", "--sizes", "60,300", "--repeats", "1"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) >= {"top1_accuracy", "per_fault", "n", "timing"}
    assert [row["culprit_found"] for row in payload["timing"]] == [True, True]
    assert run(["bench", "attribution", "--sizes", "x"]) == 2


def test_attribute_on_a_read_only_run_warns_and_still_reports(
    failed_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import rootspan.rundir

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rootspan.rundir, "write_verdicts", refuse)
    assert run(["attribute", str(failed_run), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verdicts"]
    assert "cannot write verdicts.json (Permission denied)" in captured.err


def test_deeply_nested_message_json_is_plain_text_not_a_crash(tmp_path, capsys) -> None:
    from rootspan.cli import run
    from rootspan.model import Span
    from rootspan.rundir import write_traces

    deep = "[" * 100_000 + "]" * 100_000
    write_traces(tmp_path, [
        Span(trace_id="c" * 32, span_id="1" * 16, name="invoke_workflow w", start_ns=1, end_ns=9,
             attributes={"gen_ai.operation.name": "invoke_workflow", "rootspan.outcome": "failure"}),
        Span(trace_id="c" * 32, span_id="2" * 16, parent_span_id="1" * 16, name="chat m", start_ns=2, end_ns=8,
             attributes={"gen_ai.operation.name": "chat", "gen_ai.input.messages": deep}),
    ])
    assert run(["attribute", str(tmp_path), "--json", "--no-write"]) == 0


def test_bad_combinations_are_one_line_errors(tmp_path, capsys) -> None:
    from rootspan.cli import run
    from rootspan.synthetic import write_synthetic_run

    write_synthetic_run(tmp_path / "run", 50)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "traces.jsonl").write_text("")
    assert run(["attribute", str(tmp_path / "run"), "--baseline", str(tmp_path / "empty"), "--no-write"]) == 2
    assert "baseline run has no spans" in capsys.readouterr().err
    assert run(["eval", "whowhen", str(tmp_path), "--strategy", "all-at-once"]) == 2
    assert "needs a judge" in capsys.readouterr().err
    data = tmp_path / "logs"
    data.mkdir()
    assert run(["import", "whowhen", str(data), "-o", str(data / "out")]) == 2
    assert "inside the input folder" in capsys.readouterr().err

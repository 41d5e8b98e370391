"""Every failure fault of the demo's catalogue, injected into demo-shaped runs, is attributed exactly.

The runs come from the real team, tracer and fault injector on a scripted backend (no model, no
torch), written by a subprocess because tracing is process-global. The engine sees only the
written run; labels.json is what it is scored against.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rootspan.attribution import attribute_run
from rootspan.rundir import load_run

FAILURE_FAULTS = (
    "agent-hallucination", "agent-wrong-tool-args", "agent-ignores-input", "agent-premature-stop", "agent-loop",
    "agent-wrong-handoff", "tool-exception", "tool-wrong-result", "tool-empty-result",
)  # tool-timeout works too but sleeps 6 s per run


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("rootspan.agents.faults")
    out = tmp_path_factory.mktemp("oracle-demo")
    script = Path(__file__).with_name("attr_oracle_demo.py")
    done = subprocess.run([sys.executable, str(script), str(out), "1", *FAILURE_FAULTS], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"demo team unavailable: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return out


@pytest.mark.parametrize("fault", FAILURE_FAULTS)
def test_injected_fault_is_attributed(demo_runs: Path, fault: str) -> None:
    run = load_run(demo_runs / fault)
    assert run.labels is not None
    verdict = next(v for v in attribute_run(run) if v.trace_id == run.labels.trace_id)
    assert verdict.outcome == "failure" and verdict.culprit is not None
    culprit = run.labels.culprit
    assert (verdict.culprit.agent, verdict.culprit.step, verdict.category) == (culprit.agent, culprit.step, run.labels.category)
    assert verdict.culprit.span_id == culprit.span_id
    assert verdict.evidence and verdict.path[0] == culprit.span_id


def test_clean_traces_of_a_faulty_run_are_successes(demo_runs: Path) -> None:
    run = load_run(demo_runs / "tool-exception")
    verdicts = attribute_run(run)
    others = [v for v in verdicts if v.trace_id != run.labels.trace_id]
    assert others and all(v.outcome == "success" and v.culprit is None for v in others)

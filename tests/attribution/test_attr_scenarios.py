"""The scenario corpus as a benchmark: real instrumented programs run, attributed and scored.

Runs two programs of the shipped corpus (one failing app, one slowdown pair) through the same
runner as ``rootspan bench attribution``, in a copy of the corpus folder so the split file and
the programs can be varied. What is checked is the runner's bookkeeping (ground truth read from
the program's own labels, splits, per-class rates, calibration inputs), not the engine's score.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rootspan.attribution.scenarios import (
    default_dir,
    discover,
    fit_calibration,
    holdout_keys,
    run_corpus,
    split_of,
    summarize_corpus,
)
from rootspan.errors import UserError

CORPUS = default_dir()
FAILURE = "provenance/refund_cents_as_dollars.py"
SLOWDOWN = "slowdown/slow_hotel_api.py"


def _mini_corpus(tmp_path: Path, holdout: str | None) -> Path:
    root = tmp_path / "corpus"
    for key in (FAILURE, SLOWDOWN):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / key, root / key)
    shutil.copy(CORPUS / "harness.py", root / "harness.py")
    if holdout is not None:
        (root / "holdout.txt").write_text(f"# never opened while tuning\n{holdout}\n", encoding="utf-8")
    return root


def test_the_corpus_is_large_enough_and_every_program_is_found() -> None:
    programs = discover(CORPUS)
    failing = [path for klass, path in programs if klass != "slowdown"]
    assert len(failing) >= 40
    assert {klass for klass, _ in programs} == {"structural", "provenance", "process", "constraint", "slowdown"}


def test_the_runner_scores_a_failing_app_and_a_slowdown_pair(tmp_path: Path) -> None:
    root = _mini_corpus(tmp_path, holdout=FAILURE)
    rows = run_corpus(root, progress=False)
    by_key = {row["scenario"]: row for row in rows}
    assert set(by_key) == {FAILURE, SLOWDOWN}
    failure, slowdown = by_key[FAILURE], by_key[SLOWDOWN]
    assert "error" not in failure and "error" not in slowdown
    assert failure["split"] == "holdout" and slowdown["split"] == "tune"
    # the ground truth comes from the program's own mark_culprit(), read back from labels.json
    assert failure["expected"]["agent"] == "planner"
    assert isinstance(failure["agent"], bool) and isinstance(failure["step"], bool)
    assert 0.0 <= failure["confidence"] <= 1.0 and isinstance(failure["direct"], bool)
    assert slowdown["expected"]["bound_by"] and isinstance(slowdown["span"], bool)
    summary = summarize_corpus(rows)
    assert summary["n"] == 1 and summary["holdout"]["n"] == 1 and summary["tune"]["n"] == 0
    assert summary["per_class"]["provenance"]["n"] == 1
    assert summary["slowdown"]["n"] == 1
    # calibration is fitted on the tune part only: here it has no failure, so the prior stays
    assert fit_calibration(rows) == (1.0, 0.0, 0.0)


def test_a_program_that_crashes_is_reported_not_raised(tmp_path: Path) -> None:
    root = _mini_corpus(tmp_path, holdout=None)
    (root / "structural").mkdir()
    (root / "structural" / "broken.py").write_text("raise SystemExit('no harness here')\n", encoding="utf-8")
    rows = run_corpus(root, progress=False)
    (broken,) = [row for row in rows if row["scenario"] == "structural/broken.py"]
    assert "no harness here" in broken["error"]
    assert any("structural/broken.py" in line for line in summarize_corpus(rows)["errors"])


def test_splits_come_from_the_holdout_file_else_from_a_hash(tmp_path: Path) -> None:
    root = _mini_corpus(tmp_path, holdout=SLOWDOWN)
    assert holdout_keys(root) == {SLOWDOWN}
    assert split_of(SLOWDOWN, holdout_keys(root)) == "holdout" and split_of(FAILURE, holdout_keys(root)) == "tune"
    assert holdout_keys(tmp_path) is None
    assert split_of(FAILURE) == split_of(FAILURE) in ("tune", "holdout")  # deterministic without the file


def test_a_folder_without_scenarios_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no scenario"):
        discover(tmp_path)
    with pytest.raises(UserError, match="no scenario folder"):
        discover(tmp_path / "missing")


def test_a_model_call_and_its_agent_turn_are_the_same_step_when_scoring() -> None:
    from attr_builders import sid, span, trace

    from rootspan.attribution.scenarios import turn_step

    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0),
        span("coder", 1, 50, "run", op="invoke_agent", agent="coder", step=1),
        span("coder-llm", 2, 40, "coder", op="chat", step=2),
        span("coder-tool", 41, 49, "coder", op="execute_tool", tool="run_tests", step=3),
    )
    assert turn_step(t, t.get(sid("coder-llm"))) == turn_step(t, t.get(sid("coder"))) == 1
    assert turn_step(t, t.get(sid("coder-tool"))) == 3  # a tool call is its own step

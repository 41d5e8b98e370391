"""The UI's engine adapter: big runs are analysed in a child process with the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rootspan.rundir import load_run
from rootspan.tui import analysis
from rootspan.tui.analysis import Engine, RunAnalysis, analyse_loaded

from tui_fixtures import TRACE_FAIL


def test_child_process_analysis_matches_in_process(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = load_run(run_dir)
    here = analyse_loaded(run, need_verdicts=True)
    monkeypatch.setattr(analysis, "IN_PROCESS_SPANS", 0)  # force the child process even for 14 spans
    there = Engine().analyse_run(run, need_verdicts=True)
    assert not [note for note in there.notes if "UI process" in note]  # it really ran in a child
    # The child has its own hash seed, so only what cannot depend on set order is compared exactly.
    assert set(there.critical_paths) == set(here.critical_paths) == set(run.traces)
    assert {k: set(v) for k, v in there.critical_paths.items()} == {k: set(v) for k, v in here.critical_paths.items()}
    assert set(there.verdicts) == set(here.verdicts)
    for trace_id, verdict in here.verdicts.items():
        assert (there.verdicts[trace_id].outcome, there.verdicts[trace_id].category) == (verdict.outcome, verdict.category)
    assert there.verdict_note == here.verdict_note


def test_saved_verdicts_win_and_notes_only_where_missing() -> None:
    from tui_fixtures import verdict

    computed = RunAnalysis(verdict_note="no verdict: engine missing", critical_paths={TRACE_FAIL: ["x"]})
    saved = {TRACE_FAIL: verdict()}
    with_saved = computed.for_trace(TRACE_FAIL, saved)
    assert with_saved.verdict is saved[TRACE_FAIL] and with_saved.notes == [] and with_saved.critical_path == ["x"]
    assert with_saved.culprit == verdict().culprit.span_id and with_saved.failure_path == verdict().path
    without = computed.for_trace("other", saved)
    assert without.verdict is None and without.notes == ["no verdict: engine missing"]
    assert RunAnalysis.from_payload(computed.to_payload()) == computed

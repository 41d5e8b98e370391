"""Snapshots of the main screens at 80x24 on the fixed fixture run (review changes with --snapshot-update).

The run is opened by a relative path from a temporary working directory so that no machine-
specific path appears on screen; the test engine keeps highlights and alignment deterministic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rootspan.rundir import write_verdicts
from rootspan.tui.app import RootspanApp

from tui_fixtures import FixedEngine, lineage_verdict, make_candidate, make_run, settle, undetermined_verdict


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    make_run(tmp_path / "run")
    return tmp_path


def _keys(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def _app() -> RootspanApp:
    return RootspanApp(Path("run"), engine=FixedEngine())


def test_snapshot_traces_list(in_tmp: Path, snap_compare) -> None:
    assert snap_compare(_app(), run_before=_keys())


def test_snapshot_waterfall_with_blame_highlights(in_tmp: Path, snap_compare) -> None:
    assert snap_compare(_app(), run_before=_keys("enter", "end"))


def test_snapshot_swimlanes(in_tmp: Path, snap_compare) -> None:
    assert snap_compare(_app(), run_before=_keys("enter", "s"))


def test_snapshot_span_detail_with_gpu_panel(in_tmp: Path, snap_compare) -> None:
    assert snap_compare(_app(), run_before=_keys("enter", "down", "down", "enter"), terminal_size=(100, 40))


def test_snapshot_blame(in_tmp: Path, snap_compare) -> None:
    assert snap_compare(_app(), run_before=_keys("b"))


def test_snapshot_blame_lineage(in_tmp: Path, snap_compare) -> None:
    write_verdicts(in_tmp / "run", [lineage_verdict()])
    assert snap_compare(_app(), run_before=_keys("b"))


def test_snapshot_blame_undetermined(in_tmp: Path, snap_compare) -> None:
    write_verdicts(in_tmp / "run", [undetermined_verdict()])
    assert snap_compare(_app(), run_before=_keys("b"))


def test_snapshot_diff(in_tmp: Path, snap_compare) -> None:
    make_candidate(in_tmp / "candidate")
    app = RootspanApp(Path("run"), Path("candidate"), engine=FixedEngine())
    assert snap_compare(app, run_before=_keys())


def test_snapshot_traces_list_many_sorted_and_filtered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare) -> None:
    """300 traces at 120 columns: failures first, then failed only, the cursor's detail line under the table."""
    from tui_fixtures import make_many

    monkeypatch.chdir(tmp_path)
    make_many(tmp_path / "many")
    app = RootspanApp(Path("many"), engine=FixedEngine())
    assert snap_compare(app, run_before=_keys("s", "s", "s", "g", "j"), terminal_size=(120, 30))


def test_snapshot_traces_list_filter_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, snap_compare) -> None:
    from tui_fixtures import make_many

    monkeypatch.chdir(tmp_path)
    make_many(tmp_path / "many", 40)
    app = RootspanApp(Path("many"), engine=FixedEngine())
    assert snap_compare(app, run_before=_keys("slash", *"slow"))


def test_snapshot_diff_pairs_overview(in_tmp: Path, snap_compare) -> None:
    make_candidate(in_tmp / "candidate")
    app = RootspanApp(Path("run"), Path("candidate"), engine=FixedEngine())
    assert snap_compare(app, run_before=_keys("p"))

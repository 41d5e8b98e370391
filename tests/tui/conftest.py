"""TUI test fixtures (helpers live in tui_fixtures.py so tests import them by a unique name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_fixtures import make_candidate, make_run


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


@pytest.fixture()
def candidate_dir(tmp_path: Path) -> Path:
    return make_candidate(tmp_path / "candidate")

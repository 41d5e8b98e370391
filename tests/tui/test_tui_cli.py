"""``rootspan view``: bad input fails in one line before the UI starts; registering it stays cheap."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rootspan.cli import run


def test_missing_run_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["view", "/missing/run"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["rootspan: error: /missing/run: no such file or directory"]


def test_non_otlp_file_is_rejected_before_the_ui(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just some text\n")
    assert run(["view", str(notes)]) == 2
    assert "not an OTLP JSON Lines traces file" in capsys.readouterr().err


def test_second_run_is_checked_too(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["view", str(run_dir), str(tmp_path / "nope")]) == 2
    assert "nope: no such file or directory" in capsys.readouterr().err


def test_view_runs_the_app_with_both_runs(run_dir: Path, candidate_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rootspan.tui.app import RootspanApp

    started: list[tuple[Path, Path | None]] = []
    monkeypatch.setattr("rootspan.tui.commands.interactive_terminal", lambda: True)
    monkeypatch.setattr(RootspanApp, "run", lambda self: started.append((self.run_path, self.candidate_path)))
    assert run(["view", str(run_dir), str(candidate_dir)]) == 0
    assert started == [(run_dir, candidate_dir)]


def test_load_error_in_the_app_exits_2(run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from rootspan.tui.app import RootspanApp

    def fail(self: RootspanApp) -> None:
        self.load_error = "run/traces.jsonl: not an OTLP JSON Lines traces file"

    monkeypatch.setattr("rootspan.tui.commands.interactive_terminal", lambda: True)
    monkeypatch.setattr(RootspanApp, "run", fail)
    assert run(["view", str(run_dir)]) == 2
    assert capsys.readouterr().err.startswith("rootspan: error: run/traces.jsonl")


def test_a_crash_in_the_app_is_one_line_and_exit_70(run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Textual would print a full traceback (with locals holding trace text) and exit 0."""
    from rootspan.tui.app import RootspanApp

    def crash(self: RootspanApp) -> None:
        self._return_code = 1
        self._exception = RecursionError("maximum recursion depth exceeded")
        self._exit_renderables.append("a long traceback")
        self._print_error_renderables()

    monkeypatch.delenv("ROOTSPAN_DEBUG", raising=False)
    monkeypatch.setattr("rootspan.tui.commands.interactive_terminal", lambda: True)
    monkeypatch.setattr(RootspanApp, "run", crash)
    assert run(["view", str(run_dir)]) == 70
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "rootspan: error: internal error: RecursionError: maximum recursion depth exceeded "
        "(set ROOTSPAN_DEBUG=1 for the traceback)"
    ]


def test_without_a_terminal_view_is_one_line_exit_2(run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Piped or in CI, Textual would write escape codes into the pipe and never return."""
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    with open(os.devnull) as not_a_terminal:
        monkeypatch.setattr("sys.__stdin__", not_a_terminal)
        assert run(["view", str(run_dir)]) == 2
    assert "view needs an interactive terminal" in capsys.readouterr().err
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    from rootspan.tui.commands import interactive_terminal

    assert interactive_terminal()


def test_registering_the_command_does_not_import_textual() -> None:
    code = "import sys, rootspan.tui.commands; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

"""The CLI shell: exit codes and one-line errors, the spans table, no torch on the analysis path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rootspan.cli import run


def test_spans_table_and_json(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["spans", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "execute_tool calculator" in out and "error" in out and "solver" in out
    assert run(["spans", str(run_dir), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["step"] for row in rows] == [0, 1, 2, 3, 4]
    assert rows[4] == {**rows[4], "agent": "solver", "kind": "tool", "status": "error"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["spans", "/definitely/missing"], "no such file or directory"),
        (["spans", "--bogus", "x"], "No such option: --bogus"),
        (["spans"], "Missing argument 'RUN'"),
        (["no-such-command"], "No such command"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("rootspan: error:")


def test_loader_warnings_go_to_stderr_and_results_still_print(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (run_dir / "traces.jsonl").open("a") as handle:
        handle.write("{truncated")
    assert run(["spans", str(run_dir)]) == 0
    captured = capsys.readouterr()
    assert "rootspan: warning: traces.jsonl line 2: truncated last line skipped" in captured.err
    assert "invoke_agent planner" in captured.out


def test_control_characters_in_span_names_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rootspan.model import Span
    from rootspan.rundir import write_traces

    write_traces(tmp_path, [Span(trace_id="a" * 32, span_id="b" * 16, name="evil\x1b[31mred\x07", start_ns=1, end_ns=2)])
    assert run(["spans", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\x1b[31mred\\x07" in out


def test_control_characters_in_error_messages_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["spans", "\x1b[31mred\x07"]) == 2
    err = capsys.readouterr().err
    assert err == "rootspan: error: \\x1b[31mred\\x07: no such file or directory\n"


def test_analysis_commands_do_not_import_torch(run_dir: Path) -> None:
    code = (
        "import sys; from rootspan.cli import run; rc = run(['spans', sys.argv[1], '--json']);"
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_module_entry_point_exit_code(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "rootspan", "spans", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("rootspan: error:") and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("ns", "text"),
    [(999, "999ns"), (1_500, "1.5µs"), (812_000, "812µs"), (999_999_999, "1s"), (999_400_000, "999ms"),
     (12_345_678, "12.3ms"), (4_510_000_000, "4.51s"), (59_990_000_000, "1m00s"), (125_000_000_000, "2m05s")],
)
def test_format_duration_never_uses_exponents(ns: int, text: str) -> None:
    from rootspan.text import format_duration

    assert format_duration(ns) == text

"""The tracer's CLI commands: ``rootspan record`` and ``rootspan bench tracer``.

Only cheap imports at module level: every ``rootspan`` invocation imports this module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from rootspan.cli_app import app, bench_app
from rootspan.errors import UserError
from rootspan.rundir import TRACES_FILE

EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


@app.command(
    "record",
    context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
)
def record_command(
    output: Path = typer.Option(..., "-o", "--output", metavar="DIR", help="Run directory to write (created if missing)."),
    command: Optional[List[str]] = typer.Argument(None, metavar="-- CMD...", help="The app to run, after --."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Profiling mode for the app: auto|off|device|kernels|full|sample."),
    capture_content: bool = typer.Option(False, "--capture-content", help="Record prompts, completions and tool I/O (redacted)."),
) -> None:
    """Run an instrumented app (one that calls rs.setup()) with its spans going to DIR; exits with the app's code."""
    if not command:
        raise UserError("record needs a command to run: rootspan record -o DIR -- python app.py")
    if profile is not None and profile not in ("auto", "off", "device", "kernels", "full", "sample"):
        raise UserError(f"--profile must be auto, off, device, kernels, full or sample, not {profile!r}")
    run_dir = output.resolve()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{output}: cannot create run directory ({exc.strerror or exc})") from exc
    env = dict(os.environ)
    env["ROOTSPAN_RUN_DIR"] = str(run_dir)
    if profile is not None:
        env["ROOTSPAN_PROFILE"] = profile
    if capture_content:
        env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    traces = run_dir / TRACES_FILE
    size_before = traces.stat().st_size if traces.exists() else 0
    if size_before:
        print(f"rootspan: warning: {traces} already exists; this run's spans are appended to it", file=sys.stderr)
    code = _run_child(command, env)
    size_after = traces.stat().st_size if traces.exists() else 0
    if size_after <= size_before:
        print(f"rootspan: warning: no spans were written to {run_dir} (does the app call rootspan.tracer.setup()?)",
              file=sys.stderr)
    raise typer.Exit(code)


def _run_child(command: list[str], env: dict[str, str]) -> int:
    """Run the app; SIGTERM to us is passed on to it, Ctrl-C reaches it through the terminal."""
    try:
        child = subprocess.Popen(command, env=env)
    except FileNotFoundError as exc:
        raise UserError(f"command not found: {command[0]}", exit_code=EXIT_NOT_FOUND) from exc
    except PermissionError as exc:
        raise UserError(f"command not executable: {command[0]}", exit_code=EXIT_NOT_EXECUTABLE) from exc
    except OSError as exc:
        raise UserError(f"cannot run {command[0]}: {exc.strerror or exc}", exit_code=EXIT_NOT_EXECUTABLE) from exc

    def forward(signum: int, frame: Any) -> None:
        child.send_signal(signum)

    previous_term = signal.signal(signal.SIGTERM, forward)
    # The terminal sends Ctrl-C to the whole process group; we wait for the app to finish
    # flushing its spans instead of dying first.
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
    # A child killed by signal N reports -N; shells report 128+N, and so do we.
    return 128 - code if code < 0 else code


@bench_app.command("tracer")
def bench_tracer_command(
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    spans: int = typer.Option(3000, "--spans", min=100, help="Spans per variant and round."),
    rounds: int = typer.Option(11, "--rounds", min=1, help="Rounds (the median is reported)."),
    profiling: bool = typer.Option(
        True, "--profiling/--no-profiling", help="Also measure the profilers' overhead per mode (when installed; slow)."
    ),
) -> None:
    """µs per span: bare OpenTelemetry SDK vs rootspan agent/tool spans, same exporter, same run."""
    from rootspan.cli_support import print_json
    from rootspan.tracer.bench import format_text, run_benchmark

    result = run_benchmark(n_spans=spans, rounds=rounds, profiling=profiling)
    if as_json:
        print_json(result)
    else:
        typer.echo(format_text(result))

"""Helpers every command shares: loading a run with its warnings on stderr, JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

from rootspan.errors import UserError
from rootspan.model import Run
from rootspan.rundir import LABELS_FILE, load_run, resolve_traces_path
from rootspan.text import printable


def warn(message: str) -> None:
    print(f"rootspan: warning: {printable(message)}", file=sys.stderr)


def load_run_for_cli(path: Path | Sequence[Path], quiet: bool = False) -> Run:
    """Load a run, reporting each loader warning as one stderr line (partial results still load).

    Several paths are parts of the same traces (a client's and a model server's run directory):
    they load as one run, merged by trace id (rootspan.merge)."""
    if isinstance(path, (list, tuple)):
        from rootspan.merge import load_runs

        run = load_runs(path)
    else:
        run = load_run(path)
    if not quiet:
        for message in run.warnings:
            warn(message)
    return run


def print_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def input_files(run: Run) -> list[Path]:
    """Every file a loaded run was read from (traces, metrics, kernels, labels)."""
    files = [resolve_traces_path(run.path)]
    if run.metrics_path is not None:
        files.append(run.metrics_path)
    files.extend(run.kernel_files.values())
    if run.path.is_dir():
        files.append(run.path / LABELS_FILE)
    return files


def refuse_to_overwrite_inputs(output: Path, runs: list[Run]) -> None:
    """A one-line UserError when ``output`` names a file one of ``runs`` was read from: inputs are never modified."""
    if not output.exists():
        return
    for run in runs:
        for source in input_files(run):
            try:
                same = source.exists() and output.samefile(source)
            except OSError:
                same = False
            if same:
                raise UserError(f"{output}: is an input of {run.path}; refusing to overwrite it, pick another -o")

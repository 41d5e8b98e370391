"""Helpers every command shares: loading a run with its warnings on stderr, JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rootspan.model import Run
from rootspan.rundir import load_run
from rootspan.text import printable


def warn(message: str) -> None:
    print(f"rootspan: warning: {printable(message)}", file=sys.stderr)


def load_run_for_cli(path: Path, quiet: bool = False) -> Run:
    """Load a run, reporting each loader warning as one stderr line (partial results still load)."""
    run = load_run(path)
    if not quiet:
        for message in run.warnings:
            warn(message)
    return run


def print_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")

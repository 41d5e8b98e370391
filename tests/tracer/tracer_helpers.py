"""Helpers shared by the tracer tests: set up into a temp run dir, then load what was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rootspan.tracer as rs
from rootspan.model import Run, Span, Trace
from rootspan.rundir import load_run


def start(run_dir: Path, **kwargs: Any) -> rs.Tracing:
    kwargs.setdefault("profile", "off")
    kwargs.setdefault("service", "tracer-tests")
    return rs.setup(run_dir=run_dir, **kwargs)


def finish(run_dir: Path) -> Run:
    """Shut tracing down (flushing everything) and load the run; loader warnings fail the test."""
    rs.shutdown()
    run = load_run(run_dir)
    assert run.warnings == []
    return run


def only_trace(run: Run) -> Trace:
    assert len(run.traces) == 1, sorted(run.traces)
    return next(iter(run.traces.values()))


def by_name(trace: Trace, name: str) -> Span:
    matches = [span for span in trace.spans if span.name == name]
    assert len(matches) == 1, (name, [span.name for span in trace.spans])
    return matches[0]

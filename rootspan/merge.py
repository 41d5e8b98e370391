"""Several run directories of the same traces, loaded as one run (merged by trace id).

A client and the model server it calls each write their own run directory; the server's spans
carry the client's trace id and name the client's LLM-call span as their parent (W3C
traceparent). Loading each directory alone would show the server's request span as an orphan
root; loading them together rebuilds the one tree. Spans of all inputs are grouped *before* the
loader repairs orphans, so a parent in another directory is found. The first directory is the
run's path (where ``attribute`` writes verdicts.json); the others contribute their metrics,
kernel files and labels only where the first has none.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from rootspan.model import Run
from rootspan.perf import gc_paused
from rootspan.rundir import (
    KERNELS_DIR,
    LABELS_FILE,
    METRICS_FILE,
    _Warnings,
    build_traces,
    load_run,
    read_labels,
    read_spans,
    resolve_traces_path,
)
from rootspan.errors import UserError


def load_runs(paths: Sequence[str | os.PathLike[str]]) -> Run:
    """One path: ``load_run``. Several: their spans merged by trace id into one Run."""
    if not paths:
        raise UserError("no run directory given")
    if len(paths) == 1:
        return load_run(paths[0])
    resolved = [Path(p) for p in paths]
    traces_files = [resolve_traces_path(p) for p in resolved]  # every bad path fails before any parse
    warnings = _Warnings()
    with gc_paused():
        spans = []
        trace_ids: list[set[str]] = []
        for traces_path in traces_files:
            part = read_spans(traces_path, warnings)
            trace_ids.append({s.trace_id for s in part})
            spans.extend(part)
        traces = build_traces(spans, warnings)
    run = Run(path=resolved[0], traces=traces)
    for path, ids in zip(resolved[1:], trace_ids[1:]):
        if ids and not any(ids & other for other in trace_ids if other is not ids):
            warnings.add("merge", f"{path}: shares no trace with the other runs given; its traces are shown as they are")
    for path in resolved:
        _add_files(run, path, warnings)
    run.warnings = warnings.finish()
    return run


def _add_files(run: Run, path: Path, warnings: _Warnings) -> None:
    """The files around the traces, first directory first: kernels per trace, metrics, labels."""
    if not path.is_dir():
        return
    kernels = path / KERNELS_DIR
    if kernels.is_dir():
        for item in sorted(kernels.glob("*.json")):
            if item.stem in run.kernel_files:
                warnings.add("merge", f"{item}: trace {item.stem} already has a kernel file in {run.kernel_files[item.stem].parent.parent}; this one is not used")
                continue
            run.kernel_files[item.stem] = item
    metrics = path / METRICS_FILE
    if run.metrics_path is None and metrics.is_file():
        run.metrics_path = metrics
    labels = path / LABELS_FILE
    if run.labels is None and labels.is_file():
        try:
            run.labels = read_labels(labels)
        except UserError as exc:
            warnings.add("labels", str(exc))

"""Fuzz: mutations of real traces, metrics and kernels files never let an exception escape (issue 15).

Starting from a run the real tracer wrote, each example changes one node of one file's JSON (a
type swap, a deletion, a huge or non-finite number, a list where an object belongs) or truncates
the file, then runs the loaders and every analysis that reads the file: ``spans``, ``attribute``,
``report``, ``export perfetto`` through the CLI with ROOTSPAN_DEBUG set (so a bug raises instead
of becoming exit 70), and the terminal UI's data loading. The budget is fixed and the examples
derandomized, so the suite's time and outcome do not vary between runs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from real_run import write_real_run
from rootspan.cli import run as cli
from rootspan.errors import UserError
from rootspan.metrics import load_metrics
from rootspan.rundir import load_run


def _budget(examples: int) -> settings:
    """A fixed number of derandomized examples: the suite's time and outcome do not vary between runs."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

REPLACEMENTS: list[Any] = [
    "x", "", "Infinity", "NaN", "-1", "1" + "0" * 400, 1.5, -1, 0, True, None, [], [1], {}, {"x": 1},
    10**400, 2**64, -(2**63) - 1, math.inf, -math.inf, math.nan, 1e308,
]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of a JSON document (keys and list indexes), the root excluded."""
    found: list[tuple] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        path = prefix + (key,)
        found.append(path)
        found.extend(_paths(child, path))
    return found


def _mutate(document: Any, path: tuple, replacement: Any, delete: bool) -> Any:
    document = json.loads(json.dumps(document))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return document


def _dumps(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))  # NaN/Infinity as the literals Python writes


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    run_dir = write_real_run(tmp_path_factory.mktemp("real"))
    # a few lines of each file keep the examples fast; the shapes are what matter
    metrics = (run_dir / "metrics.jsonl").read_text().splitlines()[:2]
    (run_dir / "metrics.jsonl").write_text("".join(line + "\n" for line in metrics))
    return run_dir


def _documents(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run_commands(commands: list[list[str]]) -> None:
    for command in commands:
        assert cli(command) in (0, 1, 2), command  # 1: a report's regression, 2: a one-line bad-input error


def _load(run_dir: Path):
    try:
        return load_run(run_dir)
    except UserError:
        return None  # a one-line error is a correct answer to a file that is not OTLP at all


def _read_traces(run_dir: Path, baseline: Path) -> None:
    """Every reader of traces.jsonl: the model's walks, the UI's data, spans, attribute, report, export."""
    from rootspan.tui.data import load_view_data

    run = _load(run_dir)
    if run is None:
        return
    for trace in run.traces.values():
        list(trace.walk())
        trace.steps()
        for span in trace.spans:
            trace.agent_of(span)
    load_view_data(run_dir)
    _run_commands([["spans", str(run_dir), "--json"], ["attribute", str(run_dir), "--json"],
                   ["report", "--baseline", str(baseline), "--candidate", str(run_dir), "--format", "json"],
                   ["export", "perfetto", str(run_dir), "-o", str(run_dir.parent / "timeline.json")]])


def _read_metrics(run_dir: Path, baseline: Path) -> None:
    """The readers of metrics.jsonl: the UI's sparklines per span and the Perfetto counter tracks."""
    from rootspan.tui.detail import gpu_series

    points = load_metrics(run_dir / "metrics.jsonl", [])
    run = _load(run_dir)
    for span in run.all_spans() if run is not None else ():
        for series in gpu_series(span, points):
            series.summary()
    _run_commands([["export", "perfetto", str(run_dir), "-o", str(run_dir.parent / "timeline.json")]])


def _read_kernels(run_dir: Path, baseline: Path) -> None:
    """The reader of kernels/*.json: the Perfetto export that embeds them."""
    _run_commands([["export", "perfetto", str(run_dir), "-o", str(run_dir.parent / "timeline.json")]])


def _fuzz_one(real_run: Path, relative: str, data: st.DataObject, readers) -> None:
    documents = _documents(real_run / relative) if relative.endswith(".jsonl") else [json.loads((real_run / relative).read_text())]
    text = "".join(_dumps(document) + "\n" for document in documents)
    if data.draw(st.integers(0, 9), label="truncate?") == 0:
        mutated = text[: data.draw(st.integers(0, len(text) - 1), label="cut")]
    else:
        line = data.draw(st.integers(0, len(documents) - 1), label="line")
        # field name first, then one node of that name: a rare field (pid) is drawn as often as a common one
        by_field: dict[str, list[tuple]] = {}
        for path in _paths(documents[line]):
            by_field.setdefault(path[-1] if isinstance(path[-1], str) else "[]", []).append(path)
        field = data.draw(st.sampled_from(sorted(by_field)), label="field")
        path = data.draw(st.sampled_from(by_field[field]), label="node")
        delete = data.draw(st.booleans(), label="delete") and isinstance(path[-1], str)
        replacement = data.draw(st.sampled_from(REPLACEMENTS), label="replacement")
        documents = list(documents)
        documents[line] = _mutate(documents[line], path, replacement, delete)
        text = "".join(_dumps(document) + "\n" for document in documents)
        mutated = text if relative.endswith(".jsonl") else text.rstrip("\n")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        shutil.copytree(real_run, run_dir)
        (run_dir / relative).write_text(mutated)
        os.environ["ROOTSPAN_DEBUG"] = "1"  # a bug raises here instead of becoming exit 70
        try:
            readers(run_dir, real_run)
        finally:
            del os.environ["ROOTSPAN_DEBUG"]


@_budget(60)
@given(data=st.data())
def test_mutated_traces_file_never_raises(real_run, data) -> None:
    _fuzz_one(real_run, "traces.jsonl", data, _read_traces)


@_budget(120)
@given(data=st.data())
def test_mutated_metrics_file_never_raises(real_run, data) -> None:
    _fuzz_one(real_run, "metrics.jsonl", data, _read_metrics)


@_budget(120)
@given(data=st.data())
def test_mutated_kernels_file_never_raises(real_run, data) -> None:
    kernel = next((real_run / "kernels").glob("*.json"))
    _fuzz_one(real_run, f"kernels/{kernel.name}", data, _read_kernels)

"""Every span has a step (DESIGN.md): the producer's ``rootspan.step``, or start order when it gave none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core_fixtures import sid
from real_run import write_real_run

from rootspan import semconv as sc
from rootspan.model import Span, Trace


def _span(n: int, parent: int | None, start: int, step: int | None = None) -> Span:
    attributes = {sc.ROOTSPAN_STEP: step} if step is not None else {}
    return Span(trace_id="t" * 32, span_id=sid(n), parent_span_id=sid(parent) if parent else None,
                name=f"s{n}", start_ns=start, end_ns=start + 10, attributes=attributes)


def test_a_run_from_another_producer_is_numbered_in_start_order(tmp_path: Path) -> None:
    """write_real_run uses a plain SDK TracerProvider, as another instrumentation would: no steps."""
    run = write_real_run(tmp_path / "run")
    result = subprocess.run([sys.executable, "-m", "rootspan", "spans", str(run), "--json"],
                            capture_output=True, text=True, check=True)
    rows = json.loads(result.stdout)
    rows = rows if isinstance(rows, list) else rows["spans"]
    assert sorted(row["step"] for row in rows) == list(range(len(rows)))
    by_step = {row["step"]: row["name"] for row in rows}
    assert by_step[0] == "invoke_workflow solve" and by_step[1] == "invoke_agent planner"
    attributed = subprocess.run([sys.executable, "-m", "rootspan", "attribute", str(run)],
                                capture_output=True, text=True)
    assert "step None" not in attributed.stdout + attributed.stderr


def test_producer_steps_are_kept_and_unnumbered_spans_join_their_numbered_ancestor() -> None:
    trace = Trace(trace_id="t" * 32, spans=[
        _span(1, None, 0, step=0),
        _span(2, 1, 5, step=1),
        _span(3, 2, 6),            # e.g. a server's span under the client's call
        _span(4, 3, 7),
        _span(5, 1, 20, step=2),
    ])
    assert [trace.get(sid(n)).step for n in range(1, 6)] == [0, 1, 1, 1, 2]


def test_an_orphan_without_a_numbered_ancestor_stays_unnumbered_in_a_numbered_trace() -> None:
    trace = Trace(trace_id="t" * 32, spans=[_span(1, None, 0, step=0), _span(2, 9, 3)])
    assert trace.get(sid(2)).step is None

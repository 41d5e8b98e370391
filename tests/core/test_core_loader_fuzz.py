"""Property tests: whatever bytes sit in traces.jsonl, the loader returns a Run or raises UserError."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core_fixtures import sample_spans
from rootspan.errors import UserError
from rootspan.otlp import spans_to_traces_data
from rootspan.rundir import load_run

VALID_LINE = json.dumps(spans_to_traces_data(sample_spans()))


def _load_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traces.jsonl"
        path.write_bytes(data)
        try:
            run = load_run(path)
        except UserError:
            return
        for trace in run.traces.values():
            list(trace.walk())
            trace.steps()
            for span in trace.spans:
                trace.agent_of(span)
        assert path.read_bytes() == data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    _load_bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0, max_value=len(VALID_LINE) - 1), replacement=st.text(max_size=6),
       cut=st.booleans())
def test_mutated_valid_file_never_crashes(position: int, replacement: str, cut: bool) -> None:
    mutated = VALID_LINE[:position] if cut else VALID_LINE[:position] + replacement + VALID_LINE[position + 1 :]
    _load_bytes((VALID_LINE + "\n" + mutated + "\n").encode("utf-8", "surrogatepass"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano",
                                        "endTimeUnixNano", "attributes", "events", "links", "status"]), json_values))
def test_structurally_wrong_spans_never_crash(span: dict) -> None:
    line = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}
    _load_bytes((json.dumps(line) + "\n").encode())

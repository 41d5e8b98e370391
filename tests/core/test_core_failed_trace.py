"""One definition of a failed trace: ``attribute``, ``report``, ``view`` and ``spans`` agree on it.

The run comes from the real tracer (tests/core/outcomes_app.py, in a subprocess): a recovered
error, an unrecovered one, an explicit failure and an explicit success after an errored retry.
Before the shared definition, ``attribute`` called 3 of these 4 failed and ``report`` 2.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rootspan import semconv as sc
from rootspan.model import Span, StatusCode, Trace, normalise_outcome
from rootspan.rundir import load_run

APP = Path(__file__).with_name("outcomes_app.py")
NAMES = ["recovered", "unrecovered", "told-failure", "told-success-after-retry"]
FAILED = {"unrecovered", "told-failure"}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rootspan", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def outcomes_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The app's run directory and trace id -> scenario name (from the root span's name)."""
    run_dir = tmp_path_factory.mktemp("outcomes") / "run"
    subprocess.run([sys.executable, str(APP), str(run_dir)], check=True, timeout=120)
    run = load_run(run_dir)
    assert run.warnings == []
    names = {trace.trace_id: trace.root.name.removeprefix("invoke_workflow ") for trace in run.trace_list()}
    assert sorted(names.values()) == sorted(NAMES)
    return run_dir, names


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    """``attribute`` writes verdicts.json next to the traces: give each command its own copy."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def test_the_model_calls_exactly_the_unrecovered_and_the_told_failures_failed(outcomes_run) -> None:
    run_dir, names = outcomes_run
    run = load_run(run_dir)
    assert {names[trace.trace_id] for trace in run.trace_list() if trace.failed} == FAILED


def test_attribute_fails_the_same_traces(outcomes_run, tmp_path: Path) -> None:
    run_dir, names = outcomes_run
    result = _cli("attribute", str(_copy(run_dir, tmp_path)), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    outcomes = {names[verdict["trace_id"]]: verdict["outcome"] for verdict in document["verdicts"]}
    assert {name for name, outcome in outcomes.items() if outcome == "failure"} == FAILED
    assert {name for name, outcome in outcomes.items() if outcome == "success"} == set(NAMES) - FAILED
    assert document["summary"]["failures"] == 2 and document["summary"]["successes"] == 2


def test_report_fails_the_same_traces(outcomes_run, tmp_path: Path) -> None:
    run_dir, names = outcomes_run
    run = _copy(run_dir, tmp_path)
    result = _cli("report", "-b", str(run), "-c", str(run), "-f", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    success = next(check for check in document["checks"] if check["id"] == "success_rate")
    assert success["baseline"]["n"] == 4 and success["baseline"]["count"] == 2
    failed = {names[failure["trace_id"]] for failure in document["failures"] if failure["side"] == "baseline"}
    assert failed == FAILED
    errors = next(check for check in document["checks"] if check["id"] == "errors")
    # the told failure's root is ERROR only because the outcome says so: not a step that errored
    assert errors["baseline"]["count"] == 3


def test_view_fails_the_same_traces(outcomes_run, tmp_path: Path) -> None:
    """The real Textual app with the real engine: the title's count and the failed-only filter."""
    from textual.widgets import Static

    from rootspan.tui.app import RootspanApp
    from rootspan.tui.screens_traces import TracesScreen

    run_dir, names = outcomes_run
    app = RootspanApp(_copy(run_dir, tmp_path), None)

    async def main() -> None:
        async with app.run_test(size=(160, 30)) as pilot:
            for _ in range(6):
                await app.workers.wait_for_complete()
                await pilot.pause()
            screen = app.screen
            assert isinstance(screen, TracesScreen)
            title = str(screen.query_one("#traces-title", Static).render())
            assert "4 traces" in title and "2 failed" in title
            statuses = {names[summary.trace_id]: summary.status for _, summary in screen.shown}
            assert statuses == {"recovered": "ok", "unrecovered": "error", "told-failure": "failure",
                                "told-success-after-retry": "success"}
            await pilot.press("f")
            await pilot.pause()
            assert {names[summary.trace_id] for _, summary in screen.shown} == FAILED

    asyncio.run(main())


def test_spans_table_heads_each_trace_with_its_outcome(outcomes_run) -> None:
    run_dir, names = outcomes_run
    result = _cli("spans", str(run_dir))
    assert result.returncode == 0, result.stderr
    headers = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("trace ")}
    by_name = {names[trace_id]: line for trace_id, line in headers.items()}
    assert "outcome failure: answered 41, expected 42" in by_name["told-failure"]
    assert "outcome failure (root span status ERROR): ConnectionError" in by_name["unrecovered"]
    assert by_name["told-success-after-retry"].endswith("outcome success")
    assert "outcome success (none recorded" in by_name["recovered"]


def _trace(*spans: Span) -> Trace:
    return Trace(trace_id="a" * 32, spans=list(spans))


def _span(span_id: int, parent: int | None, start: int, status: StatusCode = StatusCode.UNSET, **attributes) -> Span:
    return Span(trace_id="a" * 32, span_id=f"{span_id:016x}", parent_span_id=None if parent is None else f"{parent:016x}",
                name=f"s{span_id}", start_ns=start, end_ns=start + 10, status_code=status, attributes=attributes)


@pytest.mark.parametrize(("value", "expected"), [
    ("success", "success"), ("OK", "success"), (" passed ", "success"), ("failure", "failure"),
    ("error", "failure"), ("partial", "failure"), ("", None), (True, None), (None, None), (0, None),
])
def test_recorded_outcomes_normalise_to_success_or_failure(value, expected) -> None:
    assert normalise_outcome(value) == expected


def test_a_recorded_outcome_outranks_every_status() -> None:
    errored_root = _span(1, None, 0, StatusCode.ERROR, **{sc.ROOTSPAN_OUTCOME: "success"})
    assert not _trace(errored_root, _span(2, 1, 1, StatusCode.ERROR)).failed
    told = _span(1, None, 0, **{sc.ROOTSPAN_OUTCOME: "failure", sc.ROOTSPAN_OUTCOME_REASON: "late"})
    trace = _trace(told, _span(2, 1, 1))
    assert trace.failed and trace.failure_reason == "late"


def test_without_an_outcome_the_root_status_decides() -> None:
    assert not _trace(_span(1, None, 0), _span(2, 1, 1, StatusCode.ERROR)).failed  # caught below the root
    assert not _trace(_span(1, None, 0, StatusCode.OK), _span(2, 1, 1, StatusCode.ERROR)).failed
    trace = _trace(_span(1, None, 0, StatusCode.ERROR), _span(2, 1, 1, StatusCode.ERROR))
    assert trace.failed and trace.outcome == "failure" and trace.recorded_outcome is None


def test_an_outcome_on_an_inner_span_counts_when_the_root_has_none() -> None:
    trace = _trace(_span(1, None, 0), _span(2, 1, 1, **{sc.ROOTSPAN_OUTCOME: "failure"}))
    assert trace.failed and trace.recorded_outcome == "failure"


def test_only_the_outcome_s_own_root_status_is_left_out_of_error_counts() -> None:
    told = _span(1, None, 0, StatusCode.ERROR, **{sc.ROOTSPAN_OUTCOME: "failure"})
    trace = _trace(told, _span(2, 1, 1, StatusCode.ERROR))
    assert trace.is_outcome_status(trace.root)
    assert not trace.is_outcome_status(trace.spans[1])
    untold = _trace(_span(1, None, 0, StatusCode.ERROR))
    assert not untold.is_outcome_status(untold.root)  # an error nobody explained is an error


def test_a_reason_with_control_codes_is_shown_escaped_on_the_header(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from rootspan.tracer.exporter import RunDirSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RunDirSpanExporter(tmp_path / "run")))
    with provider.get_tracer("t").start_as_current_span("invoke_workflow x") as root:
        root.set_attribute(sc.ROOTSPAN_OUTCOME, "failure")
        root.set_attribute(sc.ROOTSPAN_OUTCOME_REASON, "\x1b[2J\x1b]0;pwned\x07 wrong")
    provider.shutdown()
    result = _cli("spans", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "outcome failure: " in result.stdout and "wrong" in result.stdout

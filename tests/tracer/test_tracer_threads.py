"""setup() patches threading (opentelemetry-instrumentation-threading): plain threads keep the trace.

The app below uses only the standard library's threading and concurrent.futures, traced with the
real tracer into a run directory and loaded back with the real loader.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.instrumentation.threading import ThreadingInstrumentor
from tracer_helpers import assert_workers_under, by_name, finish, only_trace, start

import rootspan.tracer as rs
from rootspan.tracer import threads


@rs.agent("worker")
def worker(label: str) -> str:
    with rs.tool_span(f"tool-{label}"):
        return label


def plain_app() -> None:
    """An app that knows nothing of rootspan's thread helpers."""
    with rs.workflow("w"):
        with rs.agent_span("boss"):
            with ThreadPoolExecutor(max_workers=2) as pool:
                assert list(pool.map(worker, ["pool-a", "pool-b"])) == ["pool-a", "pool-b"]
            thread = threading.Thread(target=worker, args=("thread",))
            thread.start()
            thread.join()
            timer = threading.Timer(0.0, worker, args=("timer",))
            timer.start()
            timer.join()


def test_plain_pool_thread_and_timer_stay_in_the_trace(tmp_path):
    start(tmp_path)
    plain_app()
    trace = only_trace(finish(tmp_path))
    boss = by_name(trace, "invoke_agent boss")
    assert_workers_under(trace, boss.span_id, 4)


def test_instrument_threads_off_splits_the_pool_into_traces(tmp_path):
    """The test above can fail: unpatched, each pool task and thread is a trace of its own."""
    start(tmp_path, instrument_threads=False)
    assert not threads.instrumented()
    plain_app()
    run = finish(tmp_path)
    assert len(run.traces) == 5  # the workflow + 2 pool tasks + the thread + the timer
    for trace in run.traces.values():
        if trace.root is not None and trace.root.name == "invoke_agent worker":
            assert trace.root.parent_span_id is None


def test_shutdown_takes_the_patch_off(tmp_path):
    start(tmp_path)
    assert threads.instrumented()
    rs.shutdown()
    assert not threads.instrumented()


def test_shutdown_leaves_a_patch_someone_else_put_on(tmp_path):
    instrumentor = ThreadingInstrumentor()
    instrumentor.instrument()
    try:
        tracing = start(tmp_path)
        assert not tracing.instrumented_threads
        rs.shutdown()
        assert threads.instrumented()
    finally:
        instrumentor.uninstrument()


def test_explicit_helpers_do_not_propagate_twice(tmp_path, caplog: pytest.LogCaptureFixture):
    """rs.Thread and rs.propagating_executor under the patch: same parents, no detach errors."""
    start(tmp_path)
    with caplog.at_level(logging.ERROR, logger="opentelemetry.context"):
        with rs.workflow("w"):
            with rs.agent_span("boss"):
                thread = rs.Thread(target=worker, args=("thread",))
                thread.start()
                thread.join()
                with rs.propagating_executor(max_workers=2) as pool:
                    assert list(pool.map(worker, ["pool-a", "pool-b"])) == ["pool-a", "pool-b"]
                bound = rs.run_in_context(worker)
                plain = threading.Thread(target=bound, args=("bound",))
                plain.start()
                plain.join()
    trace = only_trace(finish(tmp_path))
    boss = by_name(trace, "invoke_agent boss")
    agents = [span for span in trace.spans if span.name == "invoke_agent worker"]
    assert len(agents) == 4
    assert all(agent.parent_span_id == boss.span_id for agent in agents)
    assert len({span.span_id for span in trace.spans}) == len(trace.spans)
    assert not [record for record in caplog.records if "detach" in record.getMessage().lower()]

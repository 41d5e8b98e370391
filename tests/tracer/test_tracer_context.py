"""Trace context across threads, thread pools, asyncio tasks and child processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

from tracer_helpers import assert_workers_under, by_name, finish, only_trace, start

import rootspan.tracer as rs
from rootspan import semconv as sc


@rs.agent("worker")
def worker(label: str) -> str:
    with rs.tool_span(f"tool-{label}"):
        return label


def test_thread_helpers_keep_the_caller(tmp_path):
    start(tmp_path)
    with rs.workflow("w"):
        with rs.agent_span("boss") as boss:
            thread = rs.Thread(target=worker, args=("thread",))
            thread.start()
            thread.join()
            bound = rs.run_in_context(worker)
            plain = threading.Thread(target=bound, args=("bound",))
            plain.start()
            plain.join()
            with rs.propagating_executor(max_workers=2) as pool:
                assert list(pool.map(worker, ["pool-a", "pool-b"])) == ["pool-a", "pool-b"]
    trace = only_trace(finish(tmp_path))
    assert_workers_under(trace, boss.span_id, 4)


def test_plain_thread_without_helper_starts_a_new_trace(tmp_path):
    """Why the helpers exist: with threading left unpatched a bare threading.Thread loses the context."""
    start(tmp_path, instrument_threads=False)
    with rs.workflow("w"):
        thread = threading.Thread(target=worker, args=("lost",))
        thread.start()
        thread.join()
    run = finish(tmp_path)
    assert len(run.traces) == 2


def test_asyncio_tasks_keep_the_caller(tmp_path):
    start(tmp_path)

    @rs.agent("async-worker")
    async def async_worker(i: int) -> int:
        await asyncio.sleep(0.001 * (3 - i))
        with rs.tool_span(f"t{i}"):
            await asyncio.sleep(0)
        return i

    async def main() -> list[int]:
        with rs.agent_span("coordinator"):
            tasks = [asyncio.create_task(async_worker(i)) for i in range(3)]
            # Blocking work from async code: to_thread copies the context, and a loop whose
            # default executor propagates covers run_in_executor(None, ...).
            assert await asyncio.to_thread(worker, "to-thread") == "to-thread"
            asyncio.get_running_loop().set_default_executor(rs.propagating_executor(max_workers=1))
            assert await asyncio.get_running_loop().run_in_executor(None, worker, "executor") == "executor"
            return list(await asyncio.gather(*tasks))

    with rs.workflow("w"):
        assert asyncio.run(main()) == [0, 1, 2]
    trace = only_trace(finish(tmp_path))
    coordinator = by_name(trace, "invoke_agent coordinator")
    workers = [span for span in trace.spans if span.name == "invoke_agent async-worker"]
    assert len(workers) == 3
    for span in workers:
        assert span.parent_span_id == coordinator.span_id
        assert [child.name for child in trace.children(span.span_id)][0].startswith("execute_tool t")
    blocking = [span for span in trace.spans if span.name == "invoke_agent worker"]
    assert len(blocking) == 2 and all(span.parent_span_id == coordinator.span_id for span in blocking)


CHILD = """
import rootspan.tracer as rs
rs.setup(service="child-proc", profile="off")
with rs.agent_span("billing"):
    with rs.tool_span("lookup_invoice"):
        pass
"""


def test_child_process_continues_the_trace(tmp_path):
    start(tmp_path)
    with rs.workflow("w"):
        with rs.agent_span("dispatcher") as dispatcher:
            env = rs.subprocess_env()
            env["ROOTSPAN_RUN_DIR"] = str(tmp_path)
            assert env["TRACEPARENT"].split("-")[2] == dispatcher.span_id
            subprocess.run([sys.executable, "-c", CHILD], env=env, check=True, timeout=60)
        with rs.agent_span("after"):
            pass
    trace = only_trace(finish(tmp_path))
    billing = by_name(trace, "invoke_agent billing")
    assert billing.parent_span_id == dispatcher.span_id
    assert billing.resource["service.name"] == "child-proc"
    assert by_name(trace, "execute_tool lookup_invoice").parent_span_id == billing.span_id
    # The child numbers its steps after the parent's steps so far, not from 0 again.
    assert billing.step > by_name(trace, "invoke_agent dispatcher").step


def test_subprocess_env_drops_an_inherited_tracestate(monkeypatch):
    monkeypatch.setenv("TRACESTATE", "rootspan=s7")
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with rs.extract_traceparent({"traceparent": parent}):
        env = rs.subprocess_env()
    assert env["TRACEPARENT"] == parent
    assert "TRACESTATE" not in env


def test_inject_and_extract_traceparent(tmp_path):
    start(tmp_path)
    with rs.workflow("w"):
        with rs.tool_span("send") as send:
            carrier = rs.inject_traceparent({"content-type": "json"})
    assert carrier["traceparent"].split("-")[1] == send.trace_id
    assert carrier["content-type"] == "json"
    # The receiving side (another service, or a queue consumer) continues under `send`.
    with rs.extract_traceparent(carrier):
        with rs.agent_span("receiver"):
            pass
    trace = only_trace(finish(tmp_path))
    assert by_name(trace, "invoke_agent receiver").parent_span_id == send.span_id


def test_traceparent_env_parents_threads_started_without_helpers(tmp_path, monkeypatch):
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    monkeypatch.setenv("TRACEPARENT", parent)
    start(tmp_path)
    thread = threading.Thread(target=worker, args=("bare",))
    thread.start()
    thread.join()
    with rs.agent_span("main"):
        pass
    rs.shutdown()
    from rootspan.rundir import load_run

    run = load_run(tmp_path)
    (trace,) = run.traces.values()
    assert trace.trace_id == "0af7651916cd43dd8448eb211c80319c"
    for name in ("invoke_agent worker", "invoke_agent main"):
        assert by_name(trace, name).parent_span_id == "b7ad6b7169203331"
    # The remote parent is not in this file: the loader reports the roots as orphans.
    assert all("b7ad6b7169203331" in warning for warning in run.warnings)
    assert sc.ROOTSPAN_STEP in by_name(trace, "invoke_agent main").attributes


def test_forked_multiprocessing_worker_flushes_under_the_caller(tmp_path):
    import multiprocessing

    start(tmp_path)
    with rs.workflow("w"):
        with rs.agent_span("boss") as boss:
            process = multiprocessing.get_context("fork").Process(target=worker, args=("forked",))
            process.start()
            process.join(timeout=60)
            assert process.exitcode == 0
    trace = only_trace(finish(tmp_path))
    forked = by_name(trace, "invoke_agent worker")
    assert forked.parent_span_id == boss.span_id
    assert trace.children(forked.span_id)[0].name == "execute_tool tool-forked"

"""Getting spans out: drop counting, SIGTERM flush, atexit flush, OTLP/HTTP export."""

from __future__ import annotations

import gzip
import http.server
import signal
import subprocess
import sys
import textwrap
import threading
import zlib

import pytest
from tracer_helpers import by_name, only_trace, start

import rootspan.tracer as rs
from rootspan.model import StatusCode
from rootspan.rundir import load_run


def test_full_queue_drops_are_counted_and_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "2")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2")
    tracing = start(tmp_path)
    total = 3000
    for _ in range(total):
        with rs.tool_span("t"):
            pass
    rs.shutdown()
    written = load_run(tmp_path).span_count
    assert tracing.dropped_spans > 0
    assert written + tracing.dropped_spans == total
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rootspan:")]
    assert lines == [
        f"rootspan: warning: {tracing.dropped_spans} of {total} spans dropped before export to "
        f"{tmp_path / 'traces.jsonl'} (queue full; raise OTEL_BSP_MAX_QUEUE_SIZE)"
    ]


def test_no_report_when_nothing_dropped(tmp_path, capsys):
    tracing = start(tmp_path)
    for _ in range(100):
        with rs.tool_span("t"):
            pass
    rs.shutdown()
    assert tracing.dropped_spans == 0
    assert "dropped" not in capsys.readouterr().err


def _script(tmp_path, body: str) -> str:
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_atexit_flushes_without_shutdown(tmp_path):
    app = _script(
        tmp_path,
        f"""
        import rootspan.tracer as rs
        rs.setup(run_dir={str(tmp_path / 'run')!r}, profile="off")
        with rs.workflow("w"):
            with rs.agent_span("a"):
                pass
        """,
    )
    subprocess.run([sys.executable, app], check=True, timeout=60)
    trace = only_trace(load_run(tmp_path / "run"))
    assert {span.name for span in trace.spans} == {"invoke_workflow w", "invoke_agent a"}


def test_sigterm_flushes_and_dies_by_the_signal(tmp_path):
    app = _script(
        tmp_path,
        f"""
        import sys, time
        import rootspan.tracer as rs
        rs.setup(run_dir={str(tmp_path / 'run')!r}, profile="off")
        with rs.workflow("long-job"):
            with rs.agent_span("worker"):
                with rs.tool_span("done-before-kill"):
                    pass
                print("ready", flush=True)
                time.sleep(60)
        """,
    )
    child = subprocess.Popen([sys.executable, app], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == -signal.SIGTERM
    finally:
        child.kill()
    run = load_run(tmp_path / "run")
    assert run.warnings == []  # spans open at the kill were ended, so no orphans
    trace = only_trace(run)
    assert by_name(trace, "execute_tool done-before-kill").status_code == StatusCode.UNSET
    for name in ("invoke_agent worker", "invoke_workflow long-job"):
        assert by_name(trace, name).status_code == StatusCode.ERROR
        assert by_name(trace, name).status_message == "terminated by SIGTERM"


def test_sigkill_keeps_spans_that_ended_two_seconds_before(tmp_path, monkeypatch):
    # SIGKILL cannot be caught: what is on disk is what the batch thread wrote before it. The run
    # directory's batch goes out every second, so spans ended 2 s earlier are there (the SDK's
    # 5 s default would lose them); the span still open at the kill is lost, as it must be.
    monkeypatch.delenv("OTEL_BSP_SCHEDULE_DELAY", raising=False)
    app = _script(
        tmp_path,
        f"""
        import time
        import rootspan.tracer as rs
        rs.setup(run_dir={str(tmp_path / 'run')!r}, profile="off")
        with rs.workflow("long-job"):
            with rs.tool_span("ended-before-kill"):
                pass
            with rs.tool_span("ended-too"):
                pass
            time.sleep(2.0)
            with rs.agent_span("open-at-kill"):
                print("ready", flush=True)
                time.sleep(60)
        """,
    )
    child = subprocess.Popen([sys.executable, app], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        child.kill()
    names = {span.name for span in load_run(tmp_path / "run").all_spans()}
    assert {"execute_tool ended-before-kill", "execute_tool ended-too"} <= names
    assert "invoke_agent open-at-kill" not in names


def test_sigterm_chains_to_the_apps_own_handler(tmp_path):
    app = _script(
        tmp_path,
        f"""
        import signal, sys, time
        def graceful(signum, frame):
            print("app handler ran", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, graceful)
        import rootspan.tracer as rs
        rs.setup(run_dir={str(tmp_path / 'run')!r}, profile="off")
        with rs.workflow("w"):
            print("ready", flush=True)
            time.sleep(60)
        """,
    )
    child = subprocess.Popen([sys.executable, app], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 3
        assert child.stdout.read().strip() == "app handler ran"
    finally:
        child.kill()
    # sys.exit unwound the workflow (an error exit: SystemExit(3)) and atexit flushed it.
    span = only_trace(load_run(tmp_path / "run")).spans[0]
    assert span.name == "invoke_workflow w" and span.is_error


class _Collector(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.requests.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_otlp_http_export_to_a_local_collector(tmp_path, monkeypatch):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    _Collector.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        tracing = start(tmp_path)
        assert tracing.otlp_endpoint is not None
        with rs.workflow("w"):
            with rs.llm_call(model="m", provider="p") as call:
                call.usage(input_tokens=3)
        rs.shutdown()
    finally:
        server.shutdown()
        server.server_close()
    assert _Collector.requests
    names = set()
    for path, content_type, body in _Collector.requests:
        assert path == "/v1/traces"
        assert content_type == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                names.update(span.name for span in scope_spans.spans)
    assert names == {"invoke_workflow w", "chat m"}
    # The run directory still gets the same spans.
    assert {span.name for span in only_trace(load_run(tmp_path)).spans} == names
    assert tracing.dropped_spans == 0


def test_export_failures_are_reported_once_and_counted(tmp_path, capsys):
    (tmp_path / "traces.jsonl").mkdir()  # the file cannot be opened for appending
    tracing = start(tmp_path)
    for _ in range(5):
        with rs.tool_span("t"):
            pass
        tracing.force_flush()
    rs.shutdown()
    assert tracing.dropped_spans == 5
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rootspan:")]
    assert len(lines) == 2
    assert lines[0].startswith(f"rootspan: warning: cannot write {tmp_path / 'traces.jsonl'}: ")
    assert lines[1] == f"rootspan: warning: 5 spans failed to export to {tmp_path / 'traces.jsonl'}"


def test_a_span_ending_after_shutdown_is_reported(tmp_path, capsys):
    start(tmp_path)
    scope = rs.agent_span("late")
    scope.__enter__()
    rs.shutdown()
    scope.__exit__(None, None, None)
    err = capsys.readouterr().err
    assert "span 'invoke_agent late' ended after tracing shut down and was not exported" in err


def test_a_setup_that_fails_in_the_profilers_leaves_no_export_thread(tmp_path, monkeypatch):
    import rootspan.profilers

    def broken(*args, **kwargs):
        raise OSError("profiler cannot start")

    monkeypatch.setattr(rootspan.profilers, "wrap_processor", broken)
    before = set(threading.enumerate())
    with pytest.raises(OSError, match="profiler cannot start"):
        rs.setup(service="t", run_dir=tmp_path, profile="device")
    leftover = [thread for thread in set(threading.enumerate()) - before if thread.is_alive()]
    assert leftover == []
    assert rs.current() is None

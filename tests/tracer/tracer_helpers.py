"""Helpers shared by the tracer tests: set up into a temp run dir, then load what was written."""

from __future__ import annotations

import contextlib
import http.server
import threading
from pathlib import Path
from typing import Any, Iterator

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


def assert_workers_under(trace: Trace, boss_span_id: str, count: int) -> None:
    """``count`` "worker" agent turns, each a child of the boss's turn and holding its one tool call:
    what a fan-out to threads looks like when the context went along."""
    agents = [span for span in trace.spans if span.name == "invoke_agent worker"]
    assert len(agents) == count
    for agent in agents:
        assert agent.parent_span_id == boss_span_id
        (tool,) = trace.children(agent.span_id)
        assert tool.name.startswith("execute_tool tool-")


class EchoingCollector(http.server.BaseHTTPRequestHandler):
    """Refuses every export and echoes the request's URL and credential headers in its reply, as
    some proxies do: exporters log the reply, so the echo must never reach stderr."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = f"denied {self.path} {self.headers.get('Authorization')} {self.headers.get('x-api-key')}".encode()
        self.send_response(400)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[http.server.HTTPServer]:
    """A local HTTP server on a free port, in a daemon thread, for the length of the block."""
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()

"""Trace joining across two processes: `rootspan serve` in a child process with its own run
directory, a traced client in this one calling it through rootspan's OpenAI backend (which sends
traceparent). Merged, the two run directories are one trace: the agent step, its chat span, and
under it the server's request, queue wait, prefill and decode with their profile aggregates.
The server also exports to the OTLP endpoint it is given (a stand-in collector here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

import rootspan.tracer as rs
from rootspan.agents import tasks as T
from rootspan.agents.openai_backend import OpenAIBackend
from rootspan.agents.serve import free_port
from rootspan.cli import run as cli
from rootspan.merge import load_runs


@pytest.fixture
def clean_tracer(monkeypatch: pytest.MonkeyPatch):
    for name in ("ROOTSPAN_RUN_DIR", "ROOTSPAN_PROFILE", "TRACEPARENT", "TRACESTATE", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    rs._reset_for_tests()
    yield
    rs._reset_for_tests()


class OTLPReceiver(BaseHTTPRequestHandler):
    """Stands in for an OTLP/HTTP collector: keeps what is posted to /v1/traces (protobuf)."""

    bodies: list[bytes] = []

    def log_message(self, *args) -> None:  # noqa: ANN002 - keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v1/traces":
            OTLPReceiver.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def start_server(run_dir: Path, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOTSPAN_", "TRACE", "OTEL_"))}
    env.update(extra_env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "rootspan", "serve", "--port", str(port), "-o", str(run_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/models", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"server did not start: {proc.stdout.read().decode(errors='replace')}")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)  # uvicorn stops, then the server flushes its spans
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_server_spans_join_the_clients_trace(tmp_path: Path, clean_tracer, capsys) -> None:
    server_dir, client_dir = tmp_path / "server", tmp_path / "client"
    collector = ThreadingHTTPServer(("127.0.0.1", 0), OTLPReceiver)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    OTLPReceiver.bodies = []
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    proc, url = start_server(server_dir, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    try:
        rs.setup(service="client", run_dir=client_dir, profile="off")
        question = T.make_tasks(1, seed=5)[0].question
        messages = [{"role": "user", "content": T.planner_prompt(question)}]
        texts = []
        with rs.workflow("solve"):
            with rs.agent_span("planner"):
                for stream in (False, True):
                    backend = OpenAIBackend("demo-moe", base_url=url, stream=stream, provider="rootspan-moe")
                    with rs.llm_call(model="demo-moe", provider="rootspan-moe") as call:
                        completion = backend.complete(messages, call=call, max_tokens=24)
                        call.usage(completion.input_tokens, completion.output_tokens)
                        texts.append(completion.text)
        rs.shutdown()
    finally:
        stop_server(proc)
        collector.shutdown()
    assert texts[0] == texts[1] and ">" in texts[0]
    # With an OTLP endpoint set, the server's spans also went there (OTLP protobuf over HTTP).
    posted = b"".join(OTLPReceiver.bodies)
    assert b"serve demo-moe" in posted and b"prefill" in posted and b"decode" in posted

    merged = load_runs([client_dir, server_dir])
    assert len(merged.traces) == 1
    trace = next(iter(merged.traces.values()))
    assert not [w for w in merged.warnings if "not in trace" in w]
    chats = [s for s in trace.spans if s.name == "chat demo-moe"]
    requests = [s for s in trace.spans if s.name == "serve demo-moe"]
    assert len(chats) == len(requests) == 2
    for chat, request in zip(sorted(chats, key=lambda s: s.start_ns), sorted(requests, key=lambda s: s.start_ns)):
        assert request.parent_span_id == chat.span_id
        assert request.resource["service.name"] == "rootspan-serve"
        assert trace.agent_of(request) == "planner"
        children = {s.name: s for s in trace.children(request.span_id)}
        assert set(children) == {"queue_wait", "prefill", "decode"}
        assert request.attributes["gen_ai.usage.output_tokens"] == chat.attributes["gen_ai.usage.output_tokens"]
        assert children["decode"].attributes["gen_ai.usage.output_tokens"] == request.attributes["gen_ai.usage.output_tokens"] - 1
        # The server's profiler put its host aggregates on the server's spans.
        assert any(k.startswith("rootspan.cpu.") for k in children["prefill"].attributes)
        assert "rootspan.gpu.moe.tokens_per_expert" in children["prefill"].attributes
        # Every server span of the call takes the step the client reserved for it (tracestate):
        # after the chat span's, and no client span has it.
        assert request.step > chat.step
        assert {s.step for s in children.values()} == {request.step}
        assert request.step not in {s.step for s in trace.spans if s.resource.get("service.name") == "client"}
        assert children["decode"].attributes["rootspan.serve.phase"] == "decode"

    assert cli(["spans", str(client_dir), str(server_dir), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in rows]
    assert names.count("prefill") == 2 and names.count("decode") == 2

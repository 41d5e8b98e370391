"""The OpenAI-compatible backend against a local HTTP server: plain and streamed completions,
token usage and time to first token on the span, and clear errors for 500/429, stalls and bodies
that are not the protocol's JSON."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

import rootspan.tracer as rs
from rootspan.agents.backends import BackendError
from rootspan.agents.openai_backend import OpenAIBackend
from rootspan.agents.runtime import Agent, Team
from rootspan.agents.tools import Tool
from rootspan.rundir import load_run

SECRET = "sk-test-secret-key-123456"


class Handler(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (the stall cases): expected

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length))
        Handler.received.append({"path": self.path, "body": request, "auth": self.headers.get("Authorization")})
        mode = self.path.split("/")[1]
        if mode == "ok":
            if request.get("tools") and not any(m["role"] == "tool" for m in request["messages"]):
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 40, "b": 2}'}}]}
            else:
                message = {"role": "assistant", "content": "FINAL: 42"}
            body = {"id": "x", "model": "served-model", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 3}}
            self._send(200, json.dumps(body).encode())
        elif mode == "stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            time.sleep(0.05)
            for piece in ("FINAL", ": ", "42"):
                chunk = {"model": "served-model", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            done = {"model": "served-model", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            usage = {"model": "served-model", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}
            self.wfile.write(f"data: {json.dumps(done)}\n\ndata: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
        elif mode == "streamtools":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            deltas = [
                {"tool_calls": [{"index": 0, "id": "call_9", "type": "function", "function": {"name": "add", "arguments": ""}}]},
                {"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 4'}}]},
                {"tool_calls": [{"index": 0, "function": {"arguments": '0, "b": 2}'}}]},
            ]
            for delta in deltas:
                chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        elif mode == "err500":
            self._send(500, json.dumps({"error": {"message": "engine crashed", "type": "server_error"}}).encode())
        elif mode == "err429":
            self._send(429, json.dumps({"error": {"message": "rate limit reached", "type": "rate_limit"}}).encode())
        elif mode == "stall":
            time.sleep(1.5)
            self._send(200, b"{}")
        elif mode == "stallstream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chunk = {"choices": [{"index": 0, "delta": {"content": "FI"}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(1.5)
        elif mode == "malformed":
            self._send(200, b"<html>gateway says hi</html>", "text/html")
        elif mode == "wrongshape":
            self._send(200, json.dumps({"object": "chat.completion", "choices": []}).encode())
        elif mode == "stringmessage":
            self._send(200, json.dumps({"choices": [{"message": "FINAL: 42"}]}).encode())
        elif mode == "oddtoolcalls":
            message = {"role": "assistant", "content": "FINAL: 42", "tool_calls": ["add", {"function": "add"}]}
            self._send(200, json.dumps({"choices": [{"message": message, "finish_reason": "stop"}]}).encode())
        elif mode == "stringchoicestream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'data: {"choices": ["FINAL"]}\n\ndata: [DONE]\n\n')
        elif mode == "malformedstream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"data: {\"choices\": [\n\n")
        else:
            self._send(404, b"not found", "text/plain")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    rs.setup(service="openai-test", run_dir=tmp_path, capture_content=True, profile="off")
    yield tmp_path
    rs.shutdown()


def chat_span(path: Path):
    rs.shutdown()
    run = load_run(path)
    (span,) = [s for s in run.all_spans() if s.name.startswith("chat ")]
    return span


def ask(backend: OpenAIBackend):
    with rs.llm_call(model=backend.model, provider=backend.provider) as call:
        completion = backend.complete([{"role": "user", "content": "40+2?"}], call=call, max_tokens=8)
        call.usage(completion.input_tokens, completion.output_tokens)
    return completion


def test_non_streaming_completion(server: str, run_dir: Path) -> None:
    backend = OpenAIBackend("m", base_url=f"{server}/ok/v1", stream=False)
    completion = ask(backend)
    assert (completion.text, completion.input_tokens, completion.output_tokens) == ("FINAL: 42", 11, 3)
    request = Handler.received[-1]
    assert request["path"] == "/ok/v1/chat/completions" and request["body"]["max_tokens"] == 8
    assert request["auth"] == f"Bearer {SECRET}"
    span = chat_span(run_dir)
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["gen_ai.response.model"] == "served-model"
    assert SECRET not in json.dumps(span.attributes)


def test_streaming_records_time_to_first_token(server: str, run_dir: Path) -> None:
    backend = OpenAIBackend("m", base_url=f"{server}/stream/v1", stream=True)
    completion = ask(backend)
    assert completion.text == "FINAL: 42" and (completion.input_tokens, completion.output_tokens) == (9, 3)
    assert completion.ttft_s is not None and completion.ttft_s >= 0.05
    assert Handler.received[-1]["body"]["stream_options"] == {"include_usage": True}
    span = chat_span(run_dir)
    assert span.attributes["rootspan.llm.time_to_first_token_s"] == pytest.approx(completion.ttft_s, abs=1e-5)
    assert span.attributes["rootspan.llm.streaming"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] == 3


@pytest.mark.parametrize(
    ("mode", "stream", "kind", "message"),
    [
        ("err500", False, "exception", "HTTP 500 from 127.0.0.1:.*: engine crashed"),
        ("err429", True, "rate_limited", "HTTP 429 from .*: rate limit reached"),
        ("stall", False, "timeout", "no response from .* within 0.3 s"),
        ("stallstream", True, "timeout", "stream from .* stalled for 0.3 s"),
        ("malformed", False, "exception", "malformed response from .*: not JSON"),
        ("wrongshape", False, "exception", "malformed response from .*: missing"),
        ("malformedstream", True, "exception", "malformed stream event from .*: not JSON"),
        ("stringmessage", False, "exception", "malformed response from .*: a field of the wrong type"),
        ("stringchoicestream", True, "exception", "malformed stream event from .*: a field of the wrong type"),
    ],
)
def test_errors_are_clear_and_on_the_span(server: str, run_dir: Path, mode: str, stream: bool, kind: str, message: str) -> None:
    backend = OpenAIBackend("m", base_url=f"{server}/{mode}/v1", stream=stream, timeout_s=0.3)
    with pytest.raises(BackendError, match=message) as caught:
        ask(backend)
    assert caught.value.kind == kind
    assert "\n" not in str(caught.value)
    span = chat_span(run_dir)
    assert span.is_error and span.attributes["rootspan.error.category"] == kind
    assert span.exception_events and "BackendError" in span.exception_events[0].attributes["exception.type"]


def test_tool_calls_that_are_not_objects_are_skipped(server: str, run_dir: Path) -> None:
    backend = OpenAIBackend("m", base_url=f"{server}/oddtoolcalls/v1", stream=False)
    completion = ask(backend)
    assert completion.text == "FINAL: 42"
    assert "tool_calls" not in completion.extra


def test_unreachable_server_is_an_error(run_dir: Path) -> None:
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", stream=False, timeout_s=0.5)
    with pytest.raises(BackendError, match="cannot reach 127.0.0.1:9"):
        ask(backend)


def test_native_tool_calls_drive_an_agent(server: str, run_dir: Path) -> None:
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    backend = OpenAIBackend("m", base_url=f"{server}/ok/v1", stream=False)
    agent = Agent("solver", "Solve with tools.", backend, tools=[Tool(add)])
    result = Team([agent]).run("40+2?", expected="42")
    assert result.success is True
    first, second = [r for r in Handler.received if r["path"].startswith("/ok/")][-2:]
    assert first["body"]["tools"][0]["function"]["name"] == "add"
    # The result goes back in the OpenAI shape: the assistant's tool call, then a tool message.
    calling, answer = second["body"]["messages"][-2:]
    assert calling["role"] == "assistant" and calling["tool_calls"][0]["id"] == "call_1"
    assert answer == {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    rs.shutdown()
    run = load_run(run_dir)
    (tool_span,) = [s for s in run.all_spans() if s.name == "execute_tool add"]
    assert tool_span.attributes["gen_ai.tool.call.id"] == "call_1"
    assert tool_span.attributes["gen_ai.tool.call.result"] == "42"


def test_streamed_tool_call_fragments_are_joined(server: str, run_dir: Path) -> None:
    backend = OpenAIBackend("m", base_url=f"{server}/streamtools/v1", stream=True)
    completion = ask(backend)
    assert completion.finish_reason == "tool_calls" and completion.text == ""
    assert completion.extra["tool_calls"] == [{"id": "call_9", "name": "add", "arguments": '{"a": 40, "b": 2}'}]
    assert completion.ttft_s is not None

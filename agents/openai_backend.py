"""A chat backend for any OpenAI-compatible server (vLLM, SGLang, OpenAI) over plain HTTP.

Uses only the standard library (http.client), so it adds no dependency and its failure modes are
ours to name: HTTP errors (429 -> rate_limited, others -> exception), stalls (timeout) and bodies
that are not the JSON the protocol promises all raise ``BackendError`` with a one-line message,
and the chat span records the status code and error type. Streaming (SSE) records the time to
first token. The API key comes from the environment and is never put on a span. Every request
carries the current span's W3C ``traceparent`` (OTel's propagator), so a tracing server joins
its spans to the client's trace.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from typing import Any, Iterator
from urllib.parse import urlsplit

from rootspan.tracer.propagation import inject_traceparent

from rootspan.agents.backends import (
    ERROR_KIND_ATTR,
    HTTP_STATUS_ATTR,
    SERVER_ADDRESS_ATTR,
    SERVER_PORT_ATTR,
    STREAMING_ATTR,
    TTFT_ATTR,
    BackendError,
    Completion,
    set_span_attribute,
)

_STATUS_KINDS = {429: "rate_limited", 408: "timeout", 504: "timeout"}


class OpenAIBackend:
    """``POST {base_url}/chat/completions``; ``stream=True`` reads server-sent events."""

    native_tools = True

    def __init__(
        self,
        model: str,
        base_url: str = "http://127.0.0.1:8000/v1",
        api_key_env: str = "OPENAI_API_KEY",
        stream: bool = True,
        timeout_s: float = 60.0,
        provider: str = "openai",
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.model = model
        self.provider = provider
        self.stream = stream
        self.timeout_s = timeout_s
        self.extra_body = dict(extra_body or {})
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._path = parts.path.rstrip("/") + "/chat/completions"
        self._api_key_env = api_key_env

    def _connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=self.timeout_s)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if self.stream else "application/json"}
        key = os.environ.get(self._api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        # W3C traceparent/tracestate of the current span (the chat span): a server that extracts
        # it (rootspan serve, vLLM with OTLP on) records its work as children of this call.
        inject_traceparent(headers)
        return headers

    def complete(self, messages: list[dict[str, Any]], *, call: Any = None, **options: Any) -> Completion:
        stream = bool(options.pop("stream", self.stream))
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": stream, **self.extra_body}
        for key in ("max_tokens", "temperature", "top_p", "seed", "stop", "tools"):
            if options.get(key) is not None:
                body[key] = options[key]
        if stream:
            body["stream_options"] = {"include_usage": True}
        set_span_attribute(call, SERVER_ADDRESS_ATTR, self._host)
        set_span_attribute(call, SERVER_PORT_ATTR, self._port)
        set_span_attribute(call, STREAMING_ATTR, stream)
        started = time.perf_counter()
        connection = self._connection()
        try:
            try:
                connection.request("POST", self._path, body=json.dumps(body), headers=self._headers())
                response = connection.getresponse()
            except (socket.timeout, TimeoutError):
                raise self._fail(call, f"no response from {self._host}:{self._port} within {self.timeout_s:g} s", "timeout")
            except OSError as exc:
                raise self._fail(call, f"cannot reach {self._host}:{self._port}: {exc.strerror or exc}", "exception")
            set_span_attribute(call, HTTP_STATUS_ATTR, response.status)
            if response.status >= 400:
                detail = _error_detail(_read(response, self, call))
                kind = _STATUS_KINDS.get(response.status, "exception")
                raise self._fail(call, f"HTTP {response.status} from {self._host}:{self._port}: {detail}", kind, response.status)
            if stream:
                return self._read_stream(response, started, call)
            return self._parse_whole(_read(response, self, call), call)
        finally:
            connection.close()

    def _fail(self, call: Any, message: str, kind: str, status: int | None = None) -> BackendError:
        set_span_attribute(call, ERROR_KIND_ATTR, kind)
        return BackendError(message, kind=kind, status=status)

    def _parse_whole(self, raw: bytes, call: Any) -> Completion:
        try:
            payload = json.loads(raw)
            choice = payload["choices"][0]
            message = choice["message"]
            usage = payload.get("usage") or {}
            completion = Completion(
                text=message.get("content") or "",
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
                finish_reason=choice.get("finish_reason") or "stop",
                model=payload.get("model"),
            )
            calls = _tool_calls(message.get("tool_calls") or [])
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            # AttributeError: a field that should be an object is a string or a list.
            raise self._fail(call, f"malformed response from {self._host}:{self._port}: {_describe(exc, raw)}", "exception")
        if calls:
            completion.extra["tool_calls"] = calls
        if completion.model:
            set_span_attribute(call, "gen_ai.response.model", completion.model)
        return completion

    def _read_stream(self, response: http.client.HTTPResponse, started: float, call: Any) -> Completion:
        text: list[str] = []
        usage: dict[str, Any] = {}
        input_tokens = output_tokens = 0
        finish = "stop"
        model = None
        ttft: float | None = None
        pending_calls: dict[int, dict[str, Any]] = {}
        for data in _sse_events(response, self, call):
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError as exc:
                raise self._fail(call, f"malformed stream event from {self._host}:{self._port}: {_describe(exc, data.encode())}", "exception")
            if not isinstance(chunk, dict):
                raise self._fail(call, f"malformed stream event from {self._host}:{self._port}: not an object", "exception")
            if "error" in chunk:
                raise self._fail(call, f"server error in stream: {_error_detail(json.dumps(chunk).encode())}", "exception")
            try:
                model = chunk.get("model") or model
                usage = chunk.get("usage") or usage
                input_tokens = int(usage.get("prompt_tokens") or 0)
                output_tokens = int(usage.get("completion_tokens") or 0)
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    piece = delta.get("content")
                    if piece:
                        if ttft is None:
                            ttft = time.perf_counter() - started
                            set_span_attribute(call, TTFT_ATTR, round(ttft, 6))
                        text.append(piece)
                    for tc in delta.get("tool_calls") or []:
                        if ttft is None:
                            ttft = time.perf_counter() - started
                            set_span_attribute(call, TTFT_ATTR, round(ttft, 6))
                        slot = pending_calls.setdefault(int(tc.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                        slot["id"] = tc.get("id") or slot["id"]
                        function = tc.get("function") or {}
                        slot["name"] += function.get("name") or ""
                        slot["arguments"] += function.get("arguments") or ""
                    finish = choice.get("finish_reason") or finish
            except (AttributeError, TypeError, ValueError) as exc:
                # A choice, delta or usage that is not an object, an index that is not a number.
                raise self._fail(call, f"malformed stream event from {self._host}:{self._port}: {_describe(exc, data.encode())}", "exception")
        completion = Completion(
            text="".join(text),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            finish_reason=finish,
            ttft_s=ttft,
            model=model,
        )
        if pending_calls:
            completion.extra["tool_calls"] = [
                {"id": c["id"], "name": c["name"], "arguments": c["arguments"]} for _, c in sorted(pending_calls.items())
            ]
        if model:
            set_span_attribute(call, "gen_ai.response.model", model)
        return completion


def _read(response: http.client.HTTPResponse, backend: OpenAIBackend, call: Any) -> bytes:
    try:
        return response.read()
    except (socket.timeout, TimeoutError):
        raise backend._fail(call, f"response from {backend._host}:{backend._port} stalled for {backend.timeout_s:g} s", "timeout")
    except (http.client.HTTPException, OSError) as exc:
        raise backend._fail(call, f"connection to {backend._host}:{backend._port} broke: {exc}", "exception")


def _sse_events(response: http.client.HTTPResponse, backend: OpenAIBackend, call: Any) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent event stream (multi-line data joined by newlines)."""
    lines: list[str] = []
    while True:
        try:
            raw = response.readline()
        except (socket.timeout, TimeoutError):
            raise backend._fail(call, f"stream from {backend._host}:{backend._port} stalled for {backend.timeout_s:g} s", "timeout")
        except (http.client.HTTPException, OSError) as exc:
            raise backend._fail(call, f"stream from {backend._host}:{backend._port} broke: {exc}", "exception")
        if not raw:
            if lines:
                yield "\n".join(lines)
            return
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if lines:
                yield "\n".join(lines)
                lines = []
            continue
        if line.startswith("data:"):
            lines.append(line[5:].lstrip(" "))


def _tool_calls(raw_calls: list[Any]) -> list[dict[str, Any]]:
    calls = []
    for raw in raw_calls:
        # A server may send entries that are not objects; they name no call and are skipped.
        function = raw.get("function") if isinstance(raw, dict) else None
        if isinstance(function, dict) and function.get("name"):
            calls.append({"id": raw.get("id", ""), "name": function["name"], "arguments": function.get("arguments") or "{}"})
    return calls


def _error_detail(raw: bytes) -> str:
    """The server's error message if the body is OpenAI's error JSON, else the start of the body."""
    try:
        payload = json.loads(raw)
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:200]
        if isinstance(error, str):
            return error[:200]
    except ValueError:
        pass
    text = raw.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return text[:200] or "empty body"


def _describe(exc: BaseException, raw: bytes) -> str:
    snippet = raw[:80].decode("utf-8", errors="replace").replace("\n", " ")
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return f"not JSON ({snippet!r})"
    if isinstance(exc, (KeyError, IndexError)):
        return f"missing {exc} in {snippet!r}"
    return f"a field of the wrong type ({exc}) in {snippet!r}"

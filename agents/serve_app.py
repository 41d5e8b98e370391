"""The OpenAI-compatible HTTP surface of ``rootspan serve`` (Starlette; uvicorn runs it).

``GET /v1/models`` and ``POST /v1/chat/completions`` (plain JSON or server-sent events ending in
``data: [DONE]``). Errors use OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``:
400 a bad request, 404 an unknown model or route, 413 a body over the size limit, 422 a prompt
plus max_tokens past the model's context, 503 the queue is full (with Retry-After).

Each request extracts the W3C ``traceparent``/``tracestate`` headers with OpenTelemetry's
propagator, so the request span (and under it the engine's queue_wait, prefill and decode) is a
child of the client's LLM-call span in the client's trace.

Tool calls: when the checkpoint's chat template writes tool calls in a markup agents/tool_calls.py
reads, the output is parsed into ``message.tool_calls`` (streamed: ``delta.tool_calls``) with
``finish_reason: "tool_calls"``. ``tool_choice`` "required" or a named function is accepted
then, but not enforced (no constrained decoding): a reply without a call comes back as text
with finish_reason "stop".
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Literal, Optional, Union

from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rootspan import semconv as sc
from rootspan.agents.chat_format import ChatFormat
from rootspan.agents.tool_calls import Markup, ToolCall, ToolCallParser, parse as parse_tool_calls
from rootspan.tracer.steps import TRACESTATE_KEY
from rootspan.agents.serve_engine import (
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    TOKENS_PER_S_ATTR,
    ContextTooLong,
    Engine,
    Event,
    GenRequest,
    QueueFull,
)

MAX_BODY_BYTES = 4 * 1024 * 1024
MODEL_ATTR = "rootspan.serve.model"  # not gen_ai.request.model: that would make the server span an LLM call of its own
TTFT_ATTR = "rootspan.llm.time_to_first_token_s"
STREAM_ATTR = "rootspan.llm.streaming"
_propagator = TraceContextTextMapPropagator()


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    # Content parts (a list of {"type": "text", "text": ...}) are accepted; only text parts count.
    content: Optional[Union[str, list[dict[str, Any]]]] = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    """The fields of OpenAI's chat request this server honours; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[Message] = Field(min_length=1)
    max_tokens: Optional[int] = Field(None, ge=1)
    max_completion_tokens: Optional[int] = Field(None, ge=1)
    temperature: Optional[float] = Field(None, ge=0, le=2)
    top_p: Optional[float] = Field(None, gt=0, le=1)
    stop: Optional[Union[str, list[str]]] = None
    seed: Optional[int] = None
    n: int = 1
    stream: bool = False
    stream_options: Optional[StreamOptions] = None
    tools: Optional[list[dict[str, Any]]] = None
    tool_choice: Optional[Union[str, dict[str, Any]]] = None
    ignore_eos: bool = False  # vLLM's extension (extra_body): always generate max_tokens tokens


class APIError(Exception):
    """Becomes an OpenAI-shaped error response."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def response(self) -> JSONResponse:
        headers = {"Retry-After": "1"} if self.status == 503 else None
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=headers)


def _deliver(loop: asyncio.AbstractEventLoop, events: "asyncio.Queue[Event]", event: Event) -> None:
    """Hand an engine event to the request's coroutine (called on the worker thread)."""
    try:
        loop.call_soon_threadsafe(events.put_nowait, event)
    except RuntimeError:  # the event loop has closed (server shutting down): nobody is listening
        pass


def _reserved_step(ctx: Any) -> int | None:
    """The step a rootspan client reserved for this call (tracestate ``rootspan=s<N>``), if any.

    Every server span of the request takes it: the client numbers its own later spans after it,
    so the merged trace has no step twice, and "step N" names the server's work for that call."""
    state = trace_api.get_current_span(ctx).get_span_context().trace_state
    value = state.get(TRACESTATE_KEY) if state is not None else None
    if value and value.startswith("s") and value[1:].isdigit():
        return int(value[1:])
    return None


def _text_of(message: Message, templated: bool) -> dict[str, Any]:
    """The message as a chat template reads it: text content, other fields (tool_calls...) kept.

    An assistant turn that only calls tools keeps ``content: None`` for a template: DeepSeek's
    tells such a turn by ``content is none`` and would otherwise drop its calls."""
    out = message.model_dump(exclude_none=True)
    content = message.content
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    out["content"] = None if templated and content is None and out.get("tool_calls") else content or ""
    return out


@dataclass
class ToolPlan:
    """What a request's tools and tool_choice mean here: the tools the template gets, and the
    markup and names to parse calls out of the output with (no markup: no parsing)."""

    template_tools: list[dict[str, Any]] | None = None
    markup: Markup | None = None
    names: list[str] = field(default_factory=list)

    def parser(self) -> ToolCallParser | None:
        return ToolCallParser(self.markup, self.names) if self.markup is not None else None


def _tool_name(tool: Any) -> str | None:
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type", "function") == "function" else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) and name else None


def _call_chunks(index: int, call: ToolCall) -> list[dict[str, Any]]:
    """A call as OpenAI streams one: id, type and name first, then the arguments."""
    return [
        {"tool_calls": [{"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}]},
        {"tool_calls": [{"index": index, "function": {"arguments": call.arguments}}]},
    ]


def _validation_error(exc: ValidationError) -> APIError:
    first = exc.errors()[0]
    param = ".".join(str(p) for p in first.get("loc", ()))
    return APIError(400, f"{param}: {first.get('msg', 'invalid value')}" if param else str(first.get("msg")), param=param or None)


class ServeApp:
    """Builds the Starlette application around one engine and one served model name."""

    def __init__(self, engine: Engine, model_name: str, tracer: trace_api.Tracer | None = None,
                 chat_format: ChatFormat | None = None) -> None:
        self.engine = engine
        self.chat_format = chat_format or ChatFormat(engine.backend, engine.backend.checkpoint)
        keep = self.chat_format.markup_token_ids()
        if keep:
            engine.keep_special(keep)
        self.model_name = model_name
        self.tracer = tracer or trace_api.NoOpTracer()
        self.created = int(time.time())
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/models/{model:path}", self.model_info, methods=["GET"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
            ],
            exception_handlers={HTTPException: self._http_error, Exception: self._internal_error},
        )

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", "error")
        message = f"{request.method} {request.url.path}: {detail}"
        return APIError(status, message, code="not_found" if status == 404 else None).response()

    async def _internal_error(self, request: Request, exc: Exception) -> Response:
        return APIError(500, f"internal error: {type(exc).__name__}", type_="server_error").response()

    def _model_card(self) -> dict[str, Any]:
        return {"id": self.model_name, "object": "model", "created": self.created, "owned_by": "rootspan"}

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_card()]})

    async def model_info(self, request: Request) -> Response:
        if request.path_params["model"] != self.model_name:
            return self._unknown_model(request.path_params["model"]).response()
        return JSONResponse(self._model_card())

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "active": self.engine.active, "waiting": self.engine.queue_depth})

    def _unknown_model(self, name: str) -> APIError:
        return APIError(404, f"The model {name!r} does not exist; this server serves {self.model_name!r}",
                        param="model", code="model_not_found")

    async def _parse(self, request: Request) -> ChatRequest:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise APIError(413, f"request body of {declared} bytes is over the {MAX_BODY_BYTES} byte limit")
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise APIError(413, f"request body of {len(raw)} bytes is over the {MAX_BODY_BYTES} byte limit")
        try:
            payload = json.loads(raw)
        except ValueError:
            raise APIError(400, "the body is not JSON") from None
        if not isinstance(payload, dict):
            raise APIError(400, "the body must be a JSON object")
        try:
            body = ChatRequest.model_validate(payload)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        if body.model != self.model_name:
            raise self._unknown_model(body.model)
        if body.n != 1:
            raise APIError(400, "only n=1 is supported", param="n")
        stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
        if len(stops) > 4 or any(not s for s in stops):
            raise APIError(400, "stop takes up to 4 non-empty strings", param="stop")
        return body

    def _tool_plan(self, body: ChatRequest) -> ToolPlan:
        """Check tools and tool_choice (400s) and say what to render and parse."""
        tools = body.tools or []
        names = [_tool_name(t) for t in tools]
        for i, name in enumerate(names):
            if name is None:
                raise APIError(400, f"tools.{i}: expected {{'type': 'function', 'function': {{'name': ...}}}}",
                               param=f"tools.{i}")
        choice = body.tool_choice if body.tool_choice is not None else ("auto" if tools else "none")
        forced: str | None = None
        if isinstance(choice, dict):
            forced = _tool_name(choice)
            if forced is None:
                raise APIError(400, "tool_choice: expected 'none', 'auto', 'required' or "
                                    "{'type': 'function', 'function': {'name': ...}}", param="tool_choice")
        elif choice not in ("none", "auto", "required"):
            raise APIError(400, f"tool_choice: {choice!r} is not one of 'none', 'auto', 'required'", param="tool_choice")
        if choice == "none" or not tools:
            if choice not in ("none", "auto"):
                raise APIError(400, "tool_choice other than 'none' or 'auto' needs tools", param="tool_choice")
            return ToolPlan()
        markup = self.chat_format.markup
        if markup is None and (choice == "required" or forced):
            raise APIError(400, "this model's chat format has no tool calls; tool_choice must be 'auto' or 'none'",
                           param="tool_choice")
        if forced is not None and forced not in names:
            raise APIError(400, f"tool_choice names {forced!r}, which is not among the tools", param="tool_choice")
        return ToolPlan(template_tools=tools, markup=markup, names=[forced] if forced else [n for n in names if n])

    async def chat(self, request: Request) -> Response:
        parent_ctx = _propagator.extract(dict(request.headers))
        step = _reserved_step(parent_ctx)
        span = self.tracer.start_span(
            f"serve {self.model_name}", context=parent_ctx, kind=SpanKind.SERVER,
            attributes={"http.request.method": "POST", "url.path": request.url.path, MODEL_ATTR: self.model_name},
        )
        if step is not None:
            span.set_attribute(sc.ROOTSPAN_STEP, step)
        try:
            return await self._chat(request, span, parent_ctx, step)
        except Exception as exc:  # noqa: BLE001 - a bug here is a 500 in OpenAI's shape, and the span still ends
            if span.is_recording():
                self._end_with_error(span, APIError(500, f"internal error: {type(exc).__name__}", type_="server_error"))
            raise

    async def _chat(self, request: Request, span: Any, parent_ctx: Any, step: int | None) -> Response:
        received = time.perf_counter()
        try:
            body = await self._parse(request)
            plan = self._tool_plan(body)
            templated = self.chat_format.templated
            try:
                prompt = self.chat_format.render([_text_of(m, templated) for m in body.messages], plan.template_tools)
            except Exception as exc:  # noqa: BLE001 - the checkpoint's template failing on these messages is bad input
                message = (str(exc).splitlines() or [type(exc).__name__])[0]
                raise APIError(400, f"the model's chat template cannot render these messages: {message}", param="messages") from None
            ids = self.chat_format.tokenize(prompt)
            if not ids:
                raise APIError(400, "the messages hold no text to complete", param="messages")
            max_tokens = body.max_completion_tokens or body.max_tokens or max(self.engine.max_len - len(ids), 1)
            try:
                self.engine.check_fits(len(ids), max_tokens)
            except ContextTooLong as exc:
                raise APIError(422, str(exc), param="messages", code="context_length_exceeded") from None
        except APIError as exc:
            return self._end_with_error(span, exc)
        span.set_attribute(STREAM_ATTR, body.stream)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event] = asyncio.Queue()
        gen = GenRequest(
            ids=ids, max_tokens=max_tokens,
            emit=functools.partial(_deliver, loop, events),
            temperature=float(body.temperature or 0.0), top_p=float(body.top_p or 1.0), seed=body.seed,
            stop=[body.stop] if isinstance(body.stop, str) else list(body.stop or []), ignore_eos=body.ignore_eos,
            stream=body.stream,
            parent=trace_api.set_span_in_context(span, parent_ctx), step=step,
        )
        try:
            self.engine.submit(gen)
        except QueueFull as exc:
            return self._end_with_error(span, APIError(503, f"server overloaded: {exc}", type_="server_error", code="overloaded"))
        except ContextTooLong as exc:
            return self._end_with_error(span, APIError(422, str(exc), param="messages", code="context_length_exceeded"))
        meta = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": self.model_name}
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                self._stream(request, gen, events, span, meta, include_usage, received, plan),
                media_type="text/event-stream", headers={"Cache-Control": "no-cache"},
            )
        return await self._whole(request, gen, events, span, meta, received, plan)

    def _end_with_error(self, span: Any, exc: APIError) -> Response:
        span.set_attribute("http.response.status_code", exc.status)
        span.set_attribute("error.type", str(exc.status))
        span.set_status(Status(StatusCode.ERROR, exc.message))
        span.end()
        return exc.response()

    def _finish_span(self, span: Any, done: Event | None, received: float, first_s: float | None, cancelled: bool) -> None:
        now = time.perf_counter()
        if first_s is not None:
            span.set_attribute(TTFT_ATTR, round(first_s - received, 6))
        if done is not None and done.usage:
            span.set_attribute(INPUT_TOKENS, done.usage["prompt_tokens"])
            span.set_attribute(OUTPUT_TOKENS, done.usage["completion_tokens"])
            span.set_attribute("gen_ai.response.finish_reasons", [done.finish_reason or "stop"])
            if now > received:
                span.set_attribute(TOKENS_PER_S_ATTR, round(done.usage["completion_tokens"] / (now - received), 3))
        if cancelled:
            span.set_attribute("rootspan.serve.cancelled", True)
        span.end()

    async def _watch_disconnect(self, request: Request, gen: GenRequest) -> None:
        """Cancel the generation when the client goes away; ASGI says so with http.disconnect.

        Waiting on receive() costs nothing while the request runs, where polling
        is_disconnected() would wake this thread (and take the worker's interpreter lock) often."""
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                gen.cancel()
                return

    async def _whole(self, request: Request, gen: GenRequest, events: asyncio.Queue[Event], span: Any,
                     meta: dict[str, Any], received: float, plan: ToolPlan) -> Response:
        watcher = asyncio.create_task(self._watch_disconnect(request, gen))
        try:
            event = await events.get()
        finally:
            watcher.cancel()
        if event.kind == "done" and event.finish_reason == "cancelled":
            self._finish_span(span, event, received, None, cancelled=True)
            return Response(status_code=499)  # nobody reads it: the client is gone
        if event.kind == "error":
            return self._end_with_error(span, APIError(500, event.text, type_="server_error"))
        span.set_attribute("http.response.status_code", 200)
        message: dict[str, Any] = {"role": "assistant", "content": event.text}
        if plan.markup is not None:
            message["content"], calls = parse_tool_calls(event.text, plan.markup, plan.names)
            if calls:
                message["tool_calls"] = [c.openai() for c in calls]
                event.finish_reason = _finish_with_calls(event.finish_reason)
        # The engine's time to first token counts from the enqueue, a moment after `received`.
        first_s = received + event.ttft_s if event.ttft_s is not None else None
        self._finish_span(span, event, received, first_s, cancelled=False)
        return JSONResponse({
            "object": "chat.completion", **meta,
            "choices": [{"index": 0, "message": message, "finish_reason": event.finish_reason, "logprobs": None}],
            "usage": event.usage,
        })

    async def _stream(self, request: Request, gen: GenRequest, events: asyncio.Queue[Event], span: Any,
                      meta: dict[str, Any], include_usage: bool, received: float,
                      plan: ToolPlan) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            payload: dict[str, Any] = {"object": "chat.completion.chunk", **meta,
                                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
            if include_usage:
                payload["usage"] = None
            payload.update(extra)
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        def pieces(items: list[Any]) -> list[bytes]:
            out = []
            for item in items:
                if isinstance(item, ToolCall):
                    out.extend(chunk(delta) for delta in _call_chunks(len(calls), item))
                    calls.append(item)
                elif item:
                    out.append(chunk({"content": item}))
            return out

        parser = plan.parser()
        calls: list[ToolCall] = []
        span.set_attribute("http.response.status_code", 200)
        first_s = None
        done: Event | None = None
        ended = False  # False in `finally`: the client went away mid-stream
        try:
            yield chunk({"role": "assistant", "content": ""})
            while True:
                event = await events.get()
                if event.kind == "done":
                    done = event
                    break
                if event.kind == "error":
                    span.set_status(Status(StatusCode.ERROR, event.text))
                    error = {"message": event.text, "type": "server_error", "param": None, "code": None}
                    ended = True
                    yield b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
                    yield b"data: [DONE]\n\n"
                    return
                first_s = first_s or time.perf_counter()
                for data in pieces(parser.feed(event.text) if parser else [event.text]):
                    yield data
            if parser is not None:
                for data in pieces(parser.finish()):
                    yield data
            if calls and done is not None:
                done.finish_reason = _finish_with_calls(done.finish_reason)
            ended = True
            yield chunk({}, done.finish_reason if done else "stop")
            if include_usage and done is not None:
                payload = {"object": "chat.completion.chunk", **meta, "choices": [], "usage": done.usage}
                yield b"data: " + json.dumps(payload).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"
        finally:
            # Starlette cancels this generator when the client disconnects: stop generating too.
            if not ended:
                gen.cancel()
            self._finish_span(span, done, received, first_s, cancelled=not ended)


def _finish_with_calls(reason: str | None) -> str | None:
    """A reply that ended by itself with calls in it finished for "tool_calls"; one cut off by
    max_tokens still says "length" (its calls are the complete ones before the cut)."""
    return "tool_calls" if reason == "stop" else reason


def build_app(engine: Engine, model_name: str, tracer: trace_api.Tracer | None = None,
              chat_format: ChatFormat | None = None) -> Starlette:
    """The ASGI application (what uvicorn serves and what tests mount)."""
    return ServeApp(engine, model_name, tracer, chat_format).app

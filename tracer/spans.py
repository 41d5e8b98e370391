"""The span API agent apps call: agents, tools, LLM calls, workflows, outcomes and data flow.

Every form (decorator or ``with`` block) goes through ``_begin``/``_finish``, which start an SDK
span, make it current, and on exit record an exception (redacted, status ERROR) before the
exception propagates unchanged. Attribute dicts of decorators are built once at decoration time;
content (messages, arguments, results) is serialised and redacted only when capture is on.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import traceback
from typing import Any, Callable, Iterable, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, Status, StatusCode

from rootspan import semconv as sc
from rootspan.tracer import pipeline
from rootspan.tracer.redact import Redactor

F = TypeVar("F", bound=Callable[..., Any])

# The local root span (first span of the trace in this process) rides in the OTel context, so
# outcome() finds it from any depth, thread or task without a lookup table.
_ROOT_KEY = otel_context.create_key("rootspan-root-span")
_OPEN_FRAMES: contextvars.ContextVar[tuple[tuple[Any, Any, object], ...]] = contextvars.ContextVar(
    "rootspan_open_frames", default=()
)
_fallback_tracer = trace_api.get_tracer(pipeline.SCOPE_NAME)
_fallback_redactor: Redactor | None = None


def _redactor(tracing: pipeline.Tracing | None) -> Redactor:
    global _fallback_redactor
    if tracing is not None:
        return tracing.redact
    if _fallback_redactor is None:
        _fallback_redactor = Redactor()
    return _fallback_redactor


def _capturing() -> bool:
    tracing = pipeline._active
    return tracing is not None and tracing.capture_content


def _begin(name: str, attributes: dict[str, Any], kind: SpanKind) -> tuple[Any, object]:
    tracing = pipeline._active
    parent_ctx = None
    if tracing is None:
        tracer: Any = _fallback_tracer
    else:
        tracer = tracing.tracer
        if tracing.parent_context is not None and not trace_api.get_current_span().get_span_context().is_valid:
            # A thread started without our helpers still belongs under the parent process's span.
            parent_ctx = tracing.parent_context
    span = tracer.start_span(name, parent_ctx, kind, attributes)
    ctx = trace_api.set_span_in_context(span, parent_ctx)
    parent = getattr(span, "parent", None)
    if parent is None or parent.is_remote:
        ctx = otel_context.set_value(_ROOT_KEY, span, ctx)
    token = otel_context.attach(ctx)
    if tracing is not None:
        tracing.open_spans[id(span)] = span
    return span, token


def _finish(span: Any, token: object, exc: BaseException | None) -> None:
    if exc is not None and not _is_normal_exit(exc):
        record_exception(span, exc)
    try:
        otel_context.detach(token)
    finally:
        tracing = pipeline._active
        if tracing is not None:
            tracing.open_spans.pop(id(span), None)
        span.end()


def _is_normal_exit(exc: BaseException) -> bool:
    if isinstance(exc, GeneratorExit):
        return True
    return isinstance(exc, SystemExit) and exc.code in (None, 0)


def record_exception(span: Any, exc: BaseException) -> None:
    """An ``exception`` event and status ERROR, with secrets redacted from message and stack."""
    if not span.is_recording():
        return
    redact = _redactor(pipeline._active)
    exc_type = type(exc)
    module = exc_type.__module__
    type_name = exc_type.__qualname__ if module in (None, "builtins") else f"{module}.{exc_type.__qualname__}"
    message = redact(str(exc))
    span.add_event(
        "exception",
        {
            "exception.type": type_name,
            "exception.message": message,
            "exception.stacktrace": redact("".join(traceback.format_exception(exc))),
            "exception.escaped": "True",
        },
    )
    span.set_attribute("error.type", type_name)
    span.set_status(Status(StatusCode.ERROR, f"{exc_type.__name__}: {message}"))


class SpanHandle:
    """What a ``with`` block yields: the live OTel span plus rootspan's helpers."""

    __slots__ = ("span",)
    result_key = sc.ROOTSPAN_OUTPUT

    def __init__(self, span: Any) -> None:
        self.span = span

    @property
    def span_id(self) -> str:
        return format(self.span.get_span_context().span_id, "016x")

    @property
    def trace_id(self) -> str:
        return format(self.span.get_span_context().trace_id, "032x")

    def set_attribute(self, key: str, value: Any) -> None:
        self.span.set_attribute(key, value)

    def consumed(self, *sources: Any) -> None:
        """This step used the outputs of these spans (ids or handles): ``rootspan.inputs``."""
        _add_inputs(self.span, sources)

    def set_result(self, value: Any) -> None:
        """The step's result, recorded only with content capture on (redacted)."""
        tracing = pipeline._active
        if tracing is not None and tracing.capture_content:
            self.span.set_attribute(self.result_key, tracing.redact.to_json(value))


class ToolCall(SpanHandle):
    """Handle of an ``execute_tool`` span; ``set_result`` fills gen_ai.tool.call.result."""

    __slots__ = ()
    result_key = sc.GEN_AI_TOOL_CALL_RESULT


class LLMCall(SpanHandle):
    """Handle of a ``chat {model}`` span: usage, finish reasons, response model, messages."""

    __slots__ = ()

    def usage(self, input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        if input_tokens is not None:
            self.span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, int(input_tokens))
        if output_tokens is not None:
            self.span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, int(output_tokens))

    def finish_reasons(self, reasons: Iterable[str]) -> None:
        self.span.set_attribute(sc.GEN_AI_RESPONSE_FINISH_REASONS, [str(reason) for reason in reasons])

    def response_model(self, model: str) -> None:
        self.span.set_attribute(sc.GEN_AI_RESPONSE_MODEL, model)

    def messages(self, input: Any = None, output: Any = None) -> None:  # noqa: A002 - the semconv name
        """Prompt and completion (GenAI semconv message JSON); only with content capture, redacted."""
        tracing = pipeline._active
        if tracing is None or not tracing.capture_content:
            return
        if input is not None:
            self.span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, tracing.redact.to_json(to_semconv_messages(input, "user")))
        if output is not None:
            self.span.set_attribute(
                sc.GEN_AI_OUTPUT_MESSAGES, tracing.redact.to_json(to_semconv_messages(output, "assistant"))
            )

    def set_result(self, value: Any) -> None:
        self.messages(output=value)


def to_semconv_messages(messages: Any, default_role: str) -> list[dict[str, Any]]:
    """Strings and OpenAI-style ``{"role", "content"}`` dicts -> GenAI semconv role/parts messages."""
    if isinstance(messages, (str, dict)):
        messages = [messages]
    out = []
    for message in messages:
        if isinstance(message, str):
            out.append({"role": default_role, "parts": [{"type": "text", "content": message}]})
        elif isinstance(message, dict) and "parts" not in message and isinstance(message.get("content"), str):
            converted = {key: value for key, value in message.items() if key != "content"}
            converted.setdefault("role", default_role)
            converted["parts"] = [{"type": "text", "content": message["content"]}]
            out.append(converted)
        else:
            out.append(message)
    return out


def _add_inputs(span: Any, sources: Iterable[Any]) -> None:
    ids = []
    for source in sources:
        if source is None:
            continue
        if isinstance(source, int):
            ids.append(format(source, "016x"))
        elif isinstance(source, str):
            ids.append(source.lower())
        else:
            ids.append(str(getattr(source, "span_id")))
    if not ids or not span.is_recording():
        return
    existing = list(getattr(span, "attributes", {}).get(sc.ROOTSPAN_INPUTS, ()) or ())
    for span_id in ids:
        if span_id not in existing:
            existing.append(span_id)
    span.set_attribute(sc.ROOTSPAN_INPUTS, existing)


class SpanScope:
    """One span, usable as ``with`` block (yields a handle) or as a decorator (sync/async/generators)."""

    __slots__ = ("name", "attributes", "kind", "handle_type", "capture_arguments")

    def __init__(
        self,
        name: str,
        attributes: dict[str, Any],
        kind: SpanKind = SpanKind.INTERNAL,
        handle_type: type[SpanHandle] = SpanHandle,
        capture_arguments: str | None = None,
    ) -> None:
        self.name = name
        self.attributes = attributes
        self.kind = kind
        self.handle_type = handle_type
        # Attribute to fill with the decorated function's arguments under content capture.
        self.capture_arguments = capture_arguments

    def __enter__(self) -> Any:
        span, token = _begin(self.name, self.attributes, self.kind)
        # Open frames live in a ContextVar, so one scope object can be entered by several
        # threads or tasks at once without their frames mixing.
        _OPEN_FRAMES.set(_OPEN_FRAMES.get() + ((self, span, token),))
        return self.handle_type(span)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        frames = _OPEN_FRAMES.get()
        for index in range(len(frames) - 1, -1, -1):
            if frames[index][0] is self:
                _, span, token = frames[index]
                _OPEN_FRAMES.set(frames[:index] + frames[index + 1 :])
                break
        else:
            raise RuntimeError(f"span {self.name!r} exited without being entered")
        _finish(span, token, exc)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: F) -> F:
        return _decorate(fn, self)


def _capture_call(scope: SpanScope, span: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    tracing = pipeline._active
    if tracing is None or not tracing.capture_content or scope.capture_arguments is None:
        return
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
        payload: Any = dict(bound.arguments)
    except (TypeError, ValueError):
        payload = {"args": list(args), "kwargs": kwargs}
    span.set_attribute(scope.capture_arguments, tracing.redact.to_json(payload))


def _capture_result(scope: SpanScope, span: Any, result: Any) -> None:
    if result is not None and _capturing():
        scope.handle_type(span).set_result(result)


def _decorate(fn: F, scope: SpanScope) -> F:
    name, attributes, kind = scope.name, scope.attributes, scope.kind

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            span, token = _begin(name, attributes, kind)
            ctx = otel_context.get_current()
            otel_context.detach(token)
            _capture_call(scope, span, fn, args, kwargs)
            agen = fn(*args, **kwargs)
            error: BaseException | None = None
            try:
                while True:
                    # Only the generator's own steps run inside the span; the consumer's code
                    # between items keeps its own context.
                    step_token = otel_context.attach(ctx)
                    try:
                        item = await agen.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        otel_context.detach(step_token)
                    yield item
            except BaseException as exc:
                error = exc
                raise
            finally:
                await agen.aclose()
                _end_detached(span, error)

        return agen_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            span, token = _begin(name, attributes, kind)
            ctx = otel_context.get_current()
            otel_context.detach(token)
            _capture_call(scope, span, fn, args, kwargs)
            gen = fn(*args, **kwargs)
            error: BaseException | None = None
            try:
                while True:
                    step_token = otel_context.attach(ctx)
                    try:
                        item = next(gen)
                    except StopIteration:
                        break
                    finally:
                        otel_context.detach(step_token)
                    yield item
            except BaseException as exc:
                error = exc
                raise
            finally:
                gen.close()
                _end_detached(span, error)

        return gen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            span, token = _begin(name, attributes, kind)
            _capture_call(scope, span, fn, args, kwargs)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                _finish(span, token, exc)
                raise
            _capture_result(scope, span, result)
            _finish(span, token, None)
            return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        span, token = _begin(name, attributes, kind)
        if scope.capture_arguments is not None:
            _capture_call(scope, span, fn, args, kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _finish(span, token, exc)
            raise
        if result is not None:
            _capture_result(scope, span, result)
        _finish(span, token, None)
        return result

    return wrapper  # type: ignore[return-value]


def _end_detached(span: Any, error: BaseException | None) -> None:
    """End a generator's span, whose context was never left attached."""
    if error is not None and not _is_normal_exit(error):
        record_exception(span, error)
    tracing = pipeline._active
    if tracing is not None:
        tracing.open_spans.pop(id(span), None)
    span.end()


# ---- the public constructors -------------------------------------------------------------


def agent_span(name: str, agent_id: str | None = None) -> SpanScope:
    """``invoke_agent {name}``: one turn of an agent."""
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: name}
    if agent_id is not None:
        attributes[sc.GEN_AI_AGENT_ID] = str(agent_id)
    return SpanScope(f"invoke_agent {name}", attributes, SpanKind.INTERNAL, SpanHandle)


def tool_span(name: str, call_id: str | None = None, arguments: Any = None) -> SpanScope:
    """``execute_tool {name}``: one tool call; arguments are recorded only with content capture."""
    attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: name}
    if call_id is not None:
        attributes[sc.GEN_AI_TOOL_CALL_ID] = str(call_id)
    if arguments is not None:
        tracing = pipeline._active
        if tracing is not None and tracing.capture_content:
            attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = tracing.redact.to_json(arguments)
    return SpanScope(f"execute_tool {name}", attributes, SpanKind.INTERNAL, ToolCall)


def llm_call(model: str, provider: str, operation: str = sc.OP_CHAT) -> SpanScope:
    """``chat {model}``: one model call (an OTel CLIENT span, as the GenAI conventions say)."""
    attributes = {
        sc.GEN_AI_OPERATION_NAME: operation,
        sc.GEN_AI_REQUEST_MODEL: model,
        sc.GEN_AI_PROVIDER_NAME: provider,
    }
    return SpanScope(f"{operation} {model}", attributes, SpanKind.CLIENT, LLMCall)


@overload
def agent(name: F) -> F: ...
@overload
def agent(name: str | None = None, agent_id: str | None = None) -> SpanScope: ...
def agent(name: Any = None, agent_id: str | None = None) -> Any:
    """Decorator (or ``with`` block): an ``invoke_agent`` span around each call."""
    if callable(name):
        return agent_span(name.__name__)(name)
    if name is None:
        return _named_later(lambda fn: agent_span(fn.__name__, agent_id))
    return agent_span(name, agent_id)


@overload
def tool(name: F) -> F: ...
@overload
def tool(name: str | None = None, call_id: str | None = None) -> SpanScope: ...
def tool(name: Any = None, call_id: str | None = None) -> Any:
    """Decorator (or ``with`` block): an ``execute_tool`` span; arguments/result under capture."""

    def scope_for(tool_name: str) -> SpanScope:
        scope = tool_span(tool_name, call_id)
        scope.capture_arguments = sc.GEN_AI_TOOL_CALL_ARGUMENTS
        return scope

    if callable(name):
        return scope_for(name.__name__)(name)
    if name is None:
        return _named_later(lambda fn: scope_for(fn.__name__))
    return scope_for(name)


def workflow(name: Any = None, conversation_id: str | None = None, task: Any = None) -> Any:
    """``invoke_workflow {name}`` (``with`` block or decorator): the usual root of a run.

    ``task`` (the request the run works on) becomes the root's input message under content
    capture: attribution traces values back to it, and a value the task gave is no one's invention.
    """

    def scope_for(workflow_name: str) -> SpanScope:
        attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.GEN_AI_WORKFLOW_NAME: workflow_name}
        if conversation_id is not None:
            attributes[sc.GEN_AI_CONVERSATION_ID] = str(conversation_id)
        tracing = pipeline._active
        if task is not None and tracing is not None and tracing.capture_content:
            attributes[sc.GEN_AI_INPUT_MESSAGES] = tracing.redact.to_json(to_semconv_messages(task, "user"))
        return SpanScope(f"invoke_workflow {workflow_name}", attributes, SpanKind.INTERNAL, SpanHandle)

    if callable(name):
        return scope_for(name.__name__)(name)
    if name is None:
        return _named_later(lambda fn: scope_for(fn.__name__))
    return scope_for(name)


def _named_later(make: Callable[[Callable[..., Any]], SpanScope]) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        return make(fn)(fn)

    return decorate


# ---- helpers on the current span ---------------------------------------------------------


def current_span_id() -> str | None:
    """Hex id of the current span, or None outside any span."""
    span_context = trace_api.get_current_span().get_span_context()
    return format(span_context.span_id, "016x") if span_context.is_valid else None


def consumed(*sources: Any) -> None:
    """The current step used the outputs of these spans (hex ids or handles): rootspan.inputs."""
    _add_inputs(trace_api.get_current_span(), sources)


def record_output(text: Any) -> None:
    """``rootspan.output`` on the current span; only with content capture on, redacted."""
    tracing = pipeline._active
    if tracing is None or not tracing.capture_content:
        return
    trace_api.get_current_span().set_attribute(sc.ROOTSPAN_OUTPUT, tracing.redact.to_json(text))


def handoff(to: str, reason: str | None = None) -> None:
    """The current agent hands the work to agent ``to``: ``rootspan.handoff.to`` on its span.

    Attribution reads handoffs (from here or from other instrumentations' handoff spans) to
    judge whether the receiving agent fits what was asked; the reason is content (capture only).
    """
    span = trace_api.get_current_span()
    if not span.is_recording():
        return
    span.set_attribute(sc.ROOTSPAN_HANDOFF_TO, str(to))
    if reason is not None and _capturing():
        span.set_attribute(sc.ROOTSPAN_HANDOFF_REASON, _redactor(pipeline._active)(str(reason)))


def root_span() -> Any:
    """The first span of the current trace in this process (the workflow, usually)."""
    root = otel_context.get_value(_ROOT_KEY)
    return root if root is not None else trace_api.get_current_span()


def outcome(success: bool, reason: str | None = None, expected: Any = None, answer: Any = None) -> None:
    """The run's result on the root span: rootspan.outcome, its reason and the expected answer.

    A failure also sets the root's OTel status to ERROR with the (redacted) reason as description:
    Jaeger, Phoenix and the rest know nothing of ``rootspan.outcome`` but all show a failed status.
    A success leaves the status alone: OK would make the SDK ignore a later exception's ERROR.
    """
    span = root_span()
    if not span.is_recording():
        return
    redact = _redactor(pipeline._active)
    span.set_attribute(sc.ROOTSPAN_OUTCOME, "success" if success else "failure")
    redacted_reason = None if reason is None else redact(str(reason))
    if redacted_reason is not None:
        span.set_attribute(sc.ROOTSPAN_OUTCOME_REASON, redacted_reason)
    if not success:
        span.set_status(Status(StatusCode.ERROR, redacted_reason))
    if expected is not None:
        span.set_attribute(sc.ROOTSPAN_EXPECTED, redact.to_json(expected))
    if answer is not None and _capturing():
        span.set_attribute(sc.ROOTSPAN_OUTPUT, redact.to_json(answer))

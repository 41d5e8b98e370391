"""Tools agents can call: typed Python functions whose arguments pydantic validates, with timeouts.

A tool call never crashes the agent that made it: bad arguments, exceptions and timeouts all come
back as a ``ToolResult`` with ``is_error`` set, which the agent reads like any other result (as an
LLM would read a tool error). The ``execute_tool`` span still records the exception and ERROR
status, so a trace shows exactly which call failed and why.
"""

from __future__ import annotations

import inspect
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, get_type_hints

from pydantic import BaseModel, ValidationError, create_model

import rootspan.tracer as rs
from rootspan.agents.backends import ERROR_KIND_ATTR


class ToolError(RuntimeError):
    """A tool call failed; ``kind`` is the failure category the trace should show."""

    kind = "tool_error"


class ToolArgumentError(ToolError):
    """The arguments did not validate against the tool's signature."""

    kind = "tool_misuse"


class ToolTimeout(ToolError):
    """The tool ran past its timeout; its thread is abandoned (Python cannot kill a thread)."""

    kind = "timeout"


@dataclass
class ToolResult:
    """What the agent sees after a call, and which span produced it (a data-flow edge)."""

    tool: str
    call_id: str
    content: str
    is_error: bool = False
    error_kind: str | None = None
    span_id: str | None = None


def _arguments_model(fn: Callable[..., Any], name: str) -> type[BaseModel]:
    """A pydantic model of the function's parameters: annotations are the types, defaults stay."""
    hints = get_type_hints(fn, include_extras=True)  # keep Annotated[..., Field(...)] constraints
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {name}: *args/**kwargs cannot be validated; name every parameter")
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    model = create_model(f"{name}_arguments", **fields)  # type: ignore[call-overload]
    model.model_config["extra"] = "forbid"  # an unknown argument is a misuse, not something to drop
    model.model_rebuild(force=True)
    return model


def _describe_validation(name: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())) or "arguments"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return f"invalid arguments for {name}: " + "; ".join(problems)


class Tool:
    """A typed function an agent may call; ``timeout_s`` bounds each call (None: no bound)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.description = description or (inspect.getdoc(fn) or "").split("\n")[0]
        self.timeout_s = timeout_s
        self.arguments_model = _arguments_model(fn, self.name)

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style function definition (what a remote model is told it may call)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.arguments_model.model_json_schema(),
            },
        }

    def validate(self, arguments: dict[str, Any] | str) -> BaseModel:
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                raise ToolArgumentError(f"invalid arguments for {self.name}: not JSON ({exc})") from None
        if not isinstance(arguments, dict):
            raise ToolArgumentError(f"invalid arguments for {self.name}: expected an object, got {type(arguments).__name__}")
        try:
            return self.arguments_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentError(_describe_validation(self.name, exc)) from None

    def _run_bounded(self, kwargs: dict[str, Any]) -> Any:
        if self.timeout_s is None:
            return self.fn(**kwargs)
        box: dict[str, Any] = {}
        done = threading.Event()

        def target() -> None:
            try:
                box["value"] = self.fn(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
                box["error"] = exc
            finally:
                done.set()

        # The worker keeps the trace context so spans the tool opens nest under execute_tool.
        worker = threading.Thread(target=rs.run_in_context(target), name=f"tool-{self.name}", daemon=True)
        worker.start()
        if not done.wait(self.timeout_s):
            raise ToolTimeout(f"tool {self.name} timed out after {self.timeout_s:g} s")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def call(self, arguments: dict[str, Any] | str, call_id: str) -> ToolResult:
        """Validate, run (bounded by the timeout) and trace one call; errors become results."""
        shown = arguments if isinstance(arguments, str) else json.dumps(arguments, sort_keys=True)
        span_id: str | None = None
        try:
            with rs.tool_span(self.name, call_id=call_id, arguments=shown) as span:
                span_id = rs.current_span_id()
                try:
                    validated = self.validate(arguments)
                    value = self._run_bounded(dict(validated))
                except Exception as exc:
                    span.set_attribute(ERROR_KIND_ATTR, exc.kind if isinstance(exc, ToolError) else "tool_error")
                    raise
                content = value if isinstance(value, str) else json.dumps(value, default=str)
                span.set_result(content)
            return ToolResult(self.name, call_id, content, span_id=span_id)
        except Exception as exc:  # noqa: BLE001 - the agent sees every tool failure as a result
            kind = exc.kind if isinstance(exc, ToolError) else "tool_error"
            message = str(exc) or type(exc).__name__
            if not isinstance(exc, ToolError):
                message = f"{type(exc).__name__}: {message}"
            return ToolResult(self.name, call_id, message, is_error=True, error_kind=kind, span_id=span_id)


def tool(
    name: str | None = None, *, description: str | None = None, timeout_s: float | None = None
) -> Callable[[Callable[..., Any]], Tool]:
    """Decorator form: ``@tool("calc", timeout_s=2)`` turns a typed function into a Tool."""

    def wrap(fn: Callable[..., Any]) -> Tool:
        return Tool(fn, name=name, description=description, timeout_s=timeout_s)

    return wrap

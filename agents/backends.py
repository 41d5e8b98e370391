"""The one interface every LLM backend implements, so agents never care where text comes from.

A backend turns chat messages into a ``Completion``. It runs inside the ``chat {model}`` span the
agent opens (``rs.llm_call``) and may put what only it knows on that span through ``call``: the
time to first token, MoE routing statistics, the HTTP status of a failed request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# Attributes a backend sets on the chat span (rootspan.* names; not part of GenAI semconv).
TTFT_ATTR = "rootspan.llm.time_to_first_token_s"
STREAMING_ATTR = "rootspan.llm.streaming"
HTTP_STATUS_ATTR = "http.response.status_code"
ERROR_KIND_ATTR = "rootspan.error.category"  # failure category (DESIGN.md); error.type is the exception class
SERVER_ADDRESS_ATTR = "server.address"
SERVER_PORT_ATTR = "server.port"


class BackendError(RuntimeError):
    """A backend could not produce a completion; ``kind`` is a failure category (DESIGN.md)."""

    def __init__(self, message: str, kind: str = "exception", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass
class Completion:
    """What one LLM call produced, with the accounting the chat span records."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    finish_reason: str = "stop"
    ttft_s: float | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """``complete`` must be safe to call from the agent's thread; ``model`` names the chat span."""

    model: str
    provider: str

    def complete(self, messages: list[dict[str, str]], *, call: Any = None, **options: Any) -> Completion:
        """Chat messages ({"role", "content"}) -> a completion. ``call`` is the live llm_call
        handle (``call.span`` is the OTel span) or None outside tracing."""
        ...


def set_span_attribute(call: Any, key: str, value: Any) -> None:
    """Set an attribute on the call's live span, if there is one (backends also run untraced)."""
    span = getattr(call, "span", None)
    if span is not None and value is not None:
        span.set_attribute(key, value)

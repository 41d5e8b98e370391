"""A backend that plays back recorded responses: deterministic tests and counterfactual re-runs.

Two ways to match a call to a recording: in order (the n-th call gets the n-th response), or by
prompt (the rendered messages, so a re-run whose earlier steps changed still gets the recorded
answer for each prompt it reproduces). ``from_run`` reads the responses out of a run directory
recorded with content capture, so a run can be replayed with one step edited.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Iterable, Mapping

from rootspan.agents.backends import BackendError, Completion


def prompt_key(messages: list[dict[str, Any]]) -> str:
    """A stable key for a prompt: role and text of every message (system prompt included)."""
    return json.dumps([[m.get("role", ""), _text(m)] for m in messages], ensure_ascii=False)


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = message.get("parts") or (content if isinstance(content, list) else [])
    return "".join(str(p.get("content", p.get("text", ""))) for p in parts if isinstance(p, dict))


def _as_completion(item: str | Completion | Mapping[str, Any]) -> Completion:
    if isinstance(item, Completion):
        return item
    if isinstance(item, str):
        return Completion(text=item, output_tokens=len(item.split()))
    return Completion(**dict(item))


class ReplayBackend:
    """Responses in order (a list) or by prompt (a mapping from ``prompt_key`` to response)."""

    def __init__(
        self,
        responses: Iterable[str | Completion | Mapping[str, Any]] | Mapping[str, str | Completion],
        model: str = "replay",
        provider: str = "rootspan-replay",
    ) -> None:
        self.model = model
        self.provider = provider
        self._by_prompt: dict[str, Completion] | None = None
        self._queue: list[Completion] = []
        if isinstance(responses, Mapping):
            self._by_prompt = {key: _as_completion(value) for key, value in responses.items()}
        else:
            self._queue = [_as_completion(item) for item in responses]
        self._next = 0
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return len(self._queue) - self._next if self._by_prompt is None else len(self._by_prompt)

    def complete(self, messages: list[dict[str, Any]], *, call: Any = None, **options: Any) -> Completion:
        if self._by_prompt is not None:
            key = prompt_key(messages)
            if key not in self._by_prompt:
                last = _text(messages[-1]) if messages else ""
                raise BackendError(f"replay has no recorded response for this prompt (last message {last[:60]!r})")
            recorded = self._by_prompt[key]
        else:
            with self._lock:
                if self._next >= len(self._queue):
                    raise BackendError(f"replay exhausted after {len(self._queue)} responses")
                recorded = self._queue[self._next]
                self._next += 1
        return Completion(
            text=recorded.text,
            input_tokens=recorded.input_tokens or sum(len(_text(m).split()) for m in messages),
            output_tokens=recorded.output_tokens,
            finish_reason=recorded.finish_reason,
            ttft_s=recorded.ttft_s,
            model=recorded.model,
            extra=dict(recorded.extra),
        )

    @classmethod
    def from_run(cls, path: str | os.PathLike[str], by_prompt: bool = True, model: str = "replay") -> "ReplayBackend":
        """Responses of every chat span of a recorded run (needs content capture), in step order."""
        from rootspan.model import SpanKind
        from rootspan.rundir import load_run
        from rootspan.semconv import GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES

        run = load_run(path)
        ordered: list[tuple[str, Completion]] = []
        for trace in run.trace_list():
            for span in trace.steps():
                if span.kind != SpanKind.LLM or GEN_AI_OUTPUT_MESSAGES not in span.attributes:
                    continue
                output = json.loads(span.attributes[GEN_AI_OUTPUT_MESSAGES])
                text = "".join(_text(m) for m in output)
                inputs = json.loads(span.attributes.get(GEN_AI_INPUT_MESSAGES, "[]"))
                completion = Completion(
                    text=text,
                    input_tokens=int(span.attributes.get("gen_ai.usage.input_tokens", 0)),
                    output_tokens=int(span.attributes.get("gen_ai.usage.output_tokens", 0)),
                )
                ordered.append((prompt_key(inputs), completion))
        if not ordered:
            raise BackendError(f"{path}: no recorded LLM responses (was the run recorded with content capture?)")
        if by_prompt:
            return cls(dict(ordered), model=model)
        return cls([completion for _, completion in ordered], model=model)

"""A small multi-agent runtime: agents with tools, and a team that routes messages between them.

Two routing modes: ``handoff`` (an orchestrator starts at the entry agent; each agent either hands
the conversation to a named teammate or ends the run with its answer) and ``round_robin`` (a
group chat where agents speak in turn until one declares the final answer). Every agent turn,
LLM call and tool call is a span, and each records the span ids of the messages it read
(``rootspan.inputs``), which is the data-flow graph attribution walks back along.

How an agent talks to its model is a ``Protocol``: it renders the transcript into chat messages
and parses the model's text into tool calls, a handoff or a final answer. ``TextProtocol`` is a
plain default for instruction-following models; the demo team brings its own.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

import rootspan.tracer as rs
from rootspan.agents.backends import ERROR_KIND_ATTR, Backend, Completion
from rootspan.agents.tools import Tool, ToolArgumentError, ToolResult


class AgentError(RuntimeError):
    """An agent turn failed in a way the run cannot continue from; ``kind`` is its category."""

    def __init__(self, message: str, kind: str = "exception") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Message:
    """One entry of a team's transcript; ``span_id`` is the span whose output it is."""

    sender: str
    content: str
    span_id: str | None = None
    role: Literal["user", "agent", "tool"] = "agent"


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any] | str
    call_id: str = ""


@dataclass
class Action:
    """What an agent's model text means: call tools, or finish the turn (with a handoff or not)."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    handoff: str | None = None
    final: bool = False


@dataclass
class Turn:
    """The state of one agent turn, handed to the protocol and to hooks."""

    agent: "Agent"
    inputs: list[Message]
    span_id: str | None = None
    tool_results: list[ToolResult] = field(default_factory=list)
    # Each tool round: the model's action that asked for the calls, and their results.
    rounds: list[tuple["Action", list[ToolResult]]] = field(default_factory=list)
    llm_calls: int = 0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TurnResult:
    agent: str
    output: Message
    handoff: str | None
    final: bool
    tool_results: list[ToolResult]


class Hooks:
    """Interception points around LLM and tool calls (the fault injector is one)."""

    def begin_turn(self, turn: Turn) -> None:
        """Runs inside the agent span, before its first LLM call."""

    def before_llm(self, turn: Turn, messages: list[dict[str, str]], call: Any) -> None:
        """Runs inside the chat span, before the backend."""

    def after_llm(self, turn: Turn, completion: Completion, call: Any) -> Completion:
        """Runs inside the chat span, after the backend; may rewrite the completion."""
        return completion

    def end_llm(self, turn: Turn, call: Any) -> None:
        """Runs inside the chat span once the call is recorded, even when it failed."""

    def before_tools(self, turn: Turn, action: Action) -> Action:
        """Runs before the parsed tool calls execute; may rewrite them."""
        return action


class Protocol:
    """Renders a turn into chat messages and parses the model's reply into an Action."""

    def render(self, turn: Turn) -> list[dict[str, str]]:
        raise NotImplementedError

    def parse(self, turn: Turn, completion: Completion) -> Action:
        raise NotImplementedError


_CALL = re.compile(r"^CALL\s+(\w+)\s*(\{.*\})?\s*$", re.MULTILINE)
_HANDOFF = re.compile(r"^HANDOFF\s+(\S+)\s*$", re.MULTILINE)
_FINAL = re.compile(r"^FINAL(?::|\s)\s*(.*)$", re.MULTILINE | re.DOTALL)


class TextProtocol(Protocol):
    """For instruction-following models: the role prompt as system message, the transcript as
    user/assistant turns; replies use ``CALL tool {json}``, ``HANDOFF agent`` or ``FINAL: answer``
    lines. Native tool calls returned by the backend (OpenAI ``tool_calls``) are used as is."""

    def render(self, turn: Turn) -> list[dict[str, str]]:
        agent = turn.agent
        system = agent.instructions
        if agent.tools:
            system += "\nTools: " + ", ".join(f"{t.name} ({t.description})" for t in agent.tools.values())
            system += "\nTo call one, reply `CALL <tool> {json arguments}`."
        if agent.handoffs:
            system += "\nTo pass the work on, end with `HANDOFF <agent>`; one of: " + ", ".join(agent.handoffs)
        system += "\nWhen the task is done, reply `FINAL: <answer>`."
        messages = [{"role": "system", "content": system}]
        for message in turn.inputs:
            role = "assistant" if message.sender == agent.name else "user"
            prefix = "" if role == "assistant" or message.role == "user" else f"[{message.sender}] "
            messages.append({"role": role, "content": prefix + message.content})
        for action, results in turn.rounds:
            if all(call.call_id for call in action.tool_calls):
                # Native tool calls go back in the OpenAI shape: the assistant's calls, then one
                # ``tool`` message per result, matched by id.
                messages.append({
                    "role": "assistant",
                    "content": action.text or None,  # type: ignore[dict-item]
                    "tool_calls": [  # type: ignore[dict-item]
                        {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": _json_args(c.arguments)}}
                        for c in action.tool_calls
                    ],
                })
                for result in results:
                    messages.append({"role": "tool", "tool_call_id": result.call_id, "content": result.content})
                continue
            messages.append({"role": "assistant", "content": action.text})
            for result in results:
                status = "error" if result.is_error else "result"
                messages.append({"role": "user", "content": f"[{result.tool} {status}] {result.content}"})
        return messages

    def parse(self, turn: Turn, completion: Completion) -> Action:
        native = completion.extra.get("tool_calls") or []
        if native:
            calls = [ToolCall(c["name"], c.get("arguments") or {}, c.get("id", "")) for c in native]
            return Action(completion.text, tool_calls=calls)
        text = completion.text
        calls = []
        for match in _CALL.finditer(text):
            raw = match.group(2) or "{}"
            calls.append(ToolCall(match.group(1), raw))
        if calls:
            return Action(text, tool_calls=calls)
        handoff = _HANDOFF.search(text)
        final = _FINAL.search(text)
        body = final.group(1).strip() if final else _HANDOFF.sub("", text).strip()
        return Action(body, handoff=handoff.group(1) if handoff else None, final=final is not None)


def _json_args(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


class Agent:
    """A named role: instructions, a backend, the tools it may call, the agents it may hand to."""

    def __init__(
        self,
        name: str,
        instructions: str,
        backend: Backend,
        tools: Sequence[Tool] = (),
        handoffs: Sequence[str] = (),
        protocol: Protocol | None = None,
        max_tool_rounds: int = 4,
        max_tokens: int = 64,
        llm_options: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.instructions = instructions
        self.backend = backend
        self.tools = {t.name: t for t in tools}
        self.handoffs = list(handoffs)
        self.protocol = protocol or TextProtocol()
        self.max_tool_rounds = max_tool_rounds
        self.max_tokens = max_tokens
        self.llm_options = dict(llm_options or {})
        self.id = f"{name}-{uuid.uuid4().hex[:8]}"

    def __repr__(self) -> str:
        return f"Agent({self.name!r})"

    def _llm(self, turn: Turn, hooks: Hooks) -> Completion:
        messages = self.protocol.render(turn)
        consumed = [m.span_id for m in turn.inputs] + [r.span_id for r in turn.tool_results]
        with rs.llm_call(model=self.backend.model, provider=self.backend.provider) as call:
            try:
                rs.consumed(*[s for s in consumed if s])
                hooks.before_llm(turn, messages, call)
                options = dict(self.llm_options)
                if self.tools and getattr(self.backend, "native_tools", False):
                    options["tools"] = [t.schema() for t in self.tools.values()]
                completion = self.backend.complete(messages, call=call, max_tokens=self.max_tokens, **options)
                completion = hooks.after_llm(turn, completion, call)
                call.usage(input_tokens=completion.input_tokens, output_tokens=completion.output_tokens)
                call.finish_reasons([completion.finish_reason])
                call.messages(input=messages, output=[{"role": "assistant", "content": completion.text}])
            finally:
                hooks.end_llm(turn, call)
        turn.llm_calls += 1
        return completion

    def run_turn(self, inputs: list[Message], hooks: Hooks | None = None) -> TurnResult:
        """One turn: read the inputs, call the model (and tools, up to max_tool_rounds), answer."""
        hooks = hooks or Hooks()
        with rs.agent_span(self.name, agent_id=self.id):
            turn = Turn(agent=self, inputs=inputs, span_id=rs.current_span_id())
            rs.consumed(*[m.span_id for m in inputs if m.span_id])
            hooks.begin_turn(turn)
            rounds = 0
            while True:
                completion = self._llm(turn, hooks)
                action = self.protocol.parse(turn, completion)
                if not action.tool_calls:
                    break
                rounds += 1
                if rounds > self.max_tool_rounds:
                    raise AgentError(
                        f"agent {self.name} made tool calls in more than {self.max_tool_rounds} rounds without answering",
                        kind="step_repetition",
                    )
                action = hooks.before_tools(turn, action)
                results = [self._call_tool(turn, tool_call, index) for index, tool_call in enumerate(action.tool_calls)]
                turn.tool_results.extend(results)
                turn.rounds.append((action, results))
            rs.record_output(action.text)
            output = Message(self.name, action.text, span_id=turn.span_id)
            return TurnResult(self.name, output, action.handoff, action.final, turn.tool_results)

    def _call_tool(self, turn: Turn, call: ToolCall, index: int) -> ToolResult:
        call_id = call.call_id or f"call_{turn.llm_calls}_{index}"
        tool = self.tools.get(call.name)
        if tool is None:
            # An unknown tool is a misuse the model can recover from, like bad arguments, and its
            # span says so the same way: ERROR status and the tool_misuse category.
            span_id: str | None = None
            try:
                with rs.tool_span(call.name, call_id=call_id, arguments=call.arguments) as span:
                    span_id = rs.current_span_id()
                    span.set_attribute(ERROR_KIND_ATTR, ToolArgumentError.kind)
                    raise ToolArgumentError(f"unknown tool {call.name!r}; available: {', '.join(self.tools) or 'none'}")
            except ToolArgumentError as exc:
                return ToolResult(call.name, call_id, str(exc), is_error=True, error_kind=exc.kind, span_id=span_id)
        return tool.call(call.arguments, call_id)


@dataclass
class TeamResult:
    """How a run ended: the final answer (or None), whether it was right, and the transcript."""

    answer: str | None
    success: bool | None
    reason: str
    transcript: list[Message]
    trace_id: str | None = None
    error: BaseException | None = None


class TeamRunError(RuntimeError):
    """Raised inside the workflow span so it ends with ERROR; caught by Team.run."""


class Team:
    """Routes messages between agents (``handoff`` or ``round_robin``) inside one workflow span."""

    def __init__(
        self,
        agents: Sequence[Agent],
        mode: Literal["handoff", "round_robin"] = "handoff",
        entry: str | None = None,
        max_turns: int = 8,
        name: str = "team",
        hooks: Hooks | None = None,
        answer_of: Callable[[str], str | None] | None = None,
        accept: Callable[[TurnResult], bool] | None = None,
    ) -> None:
        if not agents:
            raise ValueError("a team needs at least one agent")
        self.agents = {a.name: a for a in agents}
        if len(self.agents) != len(agents):
            raise ValueError("agent names must be unique within a team")
        if mode not in ("handoff", "round_robin"):
            raise ValueError(f"unknown routing mode {mode!r}")
        self.mode = mode
        self.entry = entry or agents[0].name
        if self.entry not in self.agents:
            raise ValueError(f"entry agent {self.entry!r} is not in the team")
        self.max_turns = max_turns
        self.name = name
        self.hooks = hooks or Hooks()
        self.answer_of = answer_of or (lambda text: text.strip() or None)
        # Whether a turn that ends the run delivered an answer the workflow accepts (e.g. verified).
        self.accept = accept or (lambda result: True)

    def _route(self, current: str, result: TurnResult, order: list[str]) -> str | None:
        if self.mode == "round_robin":
            if result.final:
                return None
            return order[(order.index(current) + 1) % len(order)]
        if result.handoff is None:
            return None
        agent = self.agents[current]
        if result.handoff not in self.agents:
            raise AgentError(f"agent {current} handed off to unknown agent {result.handoff!r}", kind="wrong_handoff")
        if agent.handoffs and result.handoff not in agent.handoffs:
            raise AgentError(f"agent {current} may not hand off to {result.handoff!r}", kind="wrong_handoff")
        return result.handoff

    def run(
        self,
        task: str,
        expected: str | None = None,
        check: Callable[[str | None, str], bool] | None = None,
        conversation_id: str | None = None,
    ) -> TeamResult:
        """Solve one task as one trace (a workflow root span); never raises for agent failures."""
        check = check or (lambda answer, want: answer is not None and answer.strip() == want.strip())
        transcript: list[Message] = []
        outcome: dict[str, Any] = {}
        try:
            with rs.workflow(self.name, conversation_id=conversation_id or uuid.uuid4().hex) as workflow:
                outcome["trace_id"] = _current_trace_id()
                _record_task(workflow, task)
                transcript.append(Message("user", task, span_id=rs.current_span_id(), role="user"))
                try:
                    answer, reason = self._converse(transcript)
                except Exception as exc:  # noqa: BLE001 - the run's outcome records it, then re-raise
                    reason = f"{type(exc).__name__}: {exc}"
                    rs.outcome(success=False, reason=reason, expected=expected, answer=None)
                    outcome.update(answer=None, success=False, reason=reason, error=exc)
                    raise TeamRunError(reason) from exc
                if expected is None:
                    success = None if answer is not None else False
                else:
                    success = answer is not None and check(answer, expected)
                    if answer is not None and not success:
                        reason = reason or f"wrong answer: expected {expected}, got {answer}"
                if success is None:
                    rs.outcome(success=True, reason=reason or "answered", answer=answer)
                else:
                    rs.outcome(success=success, reason=reason or "correct", expected=expected, answer=answer)
                outcome.update(answer=answer, success=success, reason=reason or ("correct" if success else ""))
        except TeamRunError:
            pass
        return TeamResult(
            answer=outcome.get("answer"),
            success=outcome.get("success"),
            reason=outcome.get("reason", ""),
            transcript=transcript,
            trace_id=outcome.get("trace_id"),
            error=outcome.get("error"),
        )

    def _converse(self, transcript: list[Message]) -> tuple[str | None, str]:
        order = list(self.agents)
        current: str | None = self.entry
        for _ in range(self.max_turns):
            assert current is not None
            result = self.agents[current].run_turn(list(transcript), self.hooks)
            transcript.append(result.output)
            following = self._route(current, result, order)
            if following is None:
                if not self.accept(result):
                    return None, f"{current} ended the run without an accepted answer"
                return self.answer_of(result.output.content), ""
            current = following
        raise AgentError(f"no final answer after {self.max_turns} turns", kind="step_repetition")


def _record_task(workflow: Any, task: str) -> None:
    """The task text on the workflow span (content capture only, redacted): the run's input."""
    tracing = rs.current()
    if tracing is None or not tracing.capture_content:
        return
    message = [{"role": "user", "parts": [{"type": "text", "content": task}]}]
    workflow.set_attribute("gen_ai.input.messages", tracing.redact.to_json(message))


def _current_trace_id() -> str | None:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None

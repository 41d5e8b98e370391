"""Runtime semantics: routing, handoffs, tool validation errors, exceptions, timeouts, and the
spans/data-flow each of them leaves in the trace."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import rootspan.tracer as rs
from rootspan.agents.backends import BackendError, Completion
from rootspan.agents.replay import ReplayBackend
from rootspan.agents.runtime import Agent, Team
from rootspan.agents.tools import Tool
from rootspan.model import SpanKind, StatusCode
from rootspan.rundir import load_run


@pytest.fixture
def traced(tmp_path: Path):
    rs.setup(service="runtime-test", run_dir=tmp_path, capture_content=True, profile="off")
    holder: dict[str, Any] = {}

    def finish():
        rs.shutdown()
        holder["run"] = load_run(tmp_path)
        return holder["run"]

    yield finish
    rs.shutdown()


class Recording:
    """A backend that answers from a script and remembers every prompt it was given."""

    model = "scripted"
    provider = "test"

    def __init__(self, replies: list[str | Exception]) -> None:
        self.replies = list(replies)
        self.prompts: list[list[dict[str, str]]] = []

    def complete(self, messages, *, call=None, **options):
        self.prompts.append([dict(m) for m in messages])
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return Completion(reply, input_tokens=len(messages), output_tokens=len(reply.split()))


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def spans_named(run, prefix: str):
    return [s for s in run.all_spans() if s.name.startswith(prefix)]


def test_handoff_routing_records_data_flow_and_outcome(traced) -> None:
    planner = Agent("planner", "Plan.", ReplayBackend(["Do 40+2.\nHANDOFF solver"]), handoffs=["solver"])
    solver = Agent("solver", "Solve.", ReplayBackend(["FINAL: 42"]))
    result = Team([planner, solver], mode="handoff").run("What is 40+2?", expected="42")
    assert result.success is True and result.answer == "42"
    assert [m.sender for m in result.transcript] == ["user", "planner", "solver"]
    run = traced()
    (trace,) = run.traces.values()
    assert trace.outcome == "success" and trace.expected == "42"
    root = trace.root
    assert root.kind == SpanKind.WORKFLOW
    agents = {s.agent_name: s for s in trace.spans if s.kind == SpanKind.AGENT}
    assert set(agents) == {"planner", "solver"}
    # The solver read the user's task (the workflow span) and the planner's output.
    assert set(agents["solver"].inputs) == {root.span_id, agents["planner"].span_id}
    chats = [s for s in trace.spans if s.kind == SpanKind.LLM]
    assert len(chats) == 2 and all(s.attributes["gen_ai.usage.input_tokens"] > 0 for s in chats)
    assert all(s.step is not None for s in trace.spans)


def test_wrong_answer_is_a_failure_with_expected_and_answer(traced) -> None:
    solver = Agent("solver", "Solve.", ReplayBackend(["FINAL: 41"]))
    result = Team([solver]).run("What is 40+2?", expected="42")
    assert result.success is False and "expected 42, got 41" in result.reason
    (trace,) = traced().traces.values()
    assert trace.outcome == "failure" and trace.expected == "42"


def test_round_robin_speaks_in_turn_until_final(traced) -> None:
    a = Agent("a", "A.", ReplayBackend(["idea 1", "idea 3"]))
    b = Agent("b", "B.", ReplayBackend(["idea 2", "FINAL: done"]))
    c = Agent("c", "C.", ReplayBackend(["critique"]))
    result = Team([a, b, c], mode="round_robin").run("brainstorm")
    assert [m.sender for m in result.transcript] == ["user", "a", "b", "c", "a", "b"]
    assert result.answer == "done"
    run = traced()
    (trace,) = run.traces.values()
    turns = [s.agent_name for s in trace.steps() if s.kind == SpanKind.AGENT]
    assert turns == ["a", "b", "c", "a", "b"]


def test_tool_validation_error_is_seen_by_the_agent(traced) -> None:
    backend = Recording(['CALL add {"a": "forty", "b": 2}', 'CALL add {"a": 40, "b": 2}', "FINAL: 42"])
    agent = Agent("solver", "Solve.", backend, tools=[Tool(add)])
    result = Team([agent]).run("40+2?", expected="42")
    assert result.success is True
    second_prompt = json.dumps(backend.prompts[1])
    assert "invalid arguments for add" in second_prompt and "a: Input should be a valid integer" in second_prompt
    assert "[add result] 42" in json.dumps(backend.prompts[2])
    # The model sees its own earlier calls before each result.
    assert backend.prompts[1][-2] == {"role": "assistant", "content": 'CALL add {"a": "forty", "b": 2}'}
    run = traced()
    bad, good = sorted(spans_named(run, "execute_tool add"), key=lambda s: s.start_ns)
    assert bad.is_error and bad.exception_events and "ToolArgumentError" in bad.exception_events[0].attributes["exception.type"]
    assert good.status_code != StatusCode.ERROR and good.attributes["gen_ai.tool.call.result"] == "42"
    # The LLM call after each tool call consumed that tool's result.
    chats = sorted(spans_named(run, "chat scripted"), key=lambda s: s.start_ns)
    assert bad.span_id in chats[1].inputs and good.span_id in chats[2].inputs


def test_unknown_argument_and_unknown_tool_are_misuse(traced) -> None:
    backend = Recording(['CALL add {"a": 1, "b": 2, "c": 3}', 'CALL mul {"a": 1}', "FINAL: 3"])
    agent = Agent("solver", "Solve.", backend, tools=[Tool(add)])
    Team([agent]).run("1+2?")
    assert "c: Extra inputs are not permitted" in json.dumps(backend.prompts[1])
    assert "unknown tool 'mul'" in json.dumps(backend.prompts[2])
    run = traced()
    # Both misuses show on their spans the same way: ERROR and the tool_misuse category.
    for name in ("execute_tool add", "execute_tool mul"):
        (span,) = spans_named(run, name)
        assert span.is_error and span.attributes["rootspan.error.category"] == "tool_misuse"


def test_tool_exception_becomes_an_error_result(traced) -> None:
    def flaky(x: int) -> int:
        raise ConnectionError("database is down")

    backend = Recording(['CALL flaky {"x": 1}', "FINAL: gave up"])
    Team([Agent("a", "A.", backend, tools=[Tool(flaky)])]).run("go")
    assert "ConnectionError: database is down" in json.dumps(backend.prompts[1])
    (span,) = spans_named(traced(), "execute_tool flaky")
    assert span.is_error and "database is down" in span.status_message


def test_tool_timeout_is_enforced(traced) -> None:
    def slow(x: int) -> int:
        time.sleep(2.0)
        return x

    backend = Recording(['CALL slow {"x": 1}', "FINAL: late"])
    started = time.perf_counter()
    Team([Agent("a", "A.", backend, tools=[Tool(slow, timeout_s=0.2)])]).run("go")
    assert time.perf_counter() - started < 1.5
    assert "tool slow timed out after 0.2 s" in json.dumps(backend.prompts[1])
    (span,) = spans_named(traced(), "execute_tool slow")
    assert span.is_error and "ToolTimeout" in span.exception_events[0].attributes["exception.type"]


def test_backend_error_fails_the_run_and_marks_spans(traced) -> None:
    agent = Agent("a", "A.", Recording([BackendError("HTTP 500 from x: boom")]))
    result = Team([agent]).run("go", expected="1")
    assert result.success is False and "HTTP 500" in result.reason
    assert isinstance(result.error, BackendError)
    run = traced()
    (trace,) = run.traces.values()
    assert trace.outcome == "failure"
    (chat,) = spans_named(run, "chat scripted")
    assert chat.is_error and trace.root.is_error


def test_handoff_to_unknown_agent_fails(traced) -> None:
    agent = Agent("a", "A.", ReplayBackend(["HANDOFF nobody"]))
    result = Team([agent]).run("go")
    assert result.success is False and "unknown agent 'nobody'" in result.reason
    traced()


def test_handoff_outside_allowed_list_fails(traced) -> None:
    a = Agent("a", "A.", ReplayBackend(["HANDOFF c"]), handoffs=["b"])
    b = Agent("b", "B.", ReplayBackend(["FINAL: x"]))
    c = Agent("c", "C.", ReplayBackend(["FINAL: y"]))
    result = Team([a, b, c]).run("go")
    assert result.success is False and "may not hand off to 'c'" in result.reason
    traced()


def test_tool_rounds_and_turns_are_bounded(traced) -> None:
    looping = Agent("a", "A.", Recording(['CALL add {"a": 1, "b": 1}'] * 5), tools=[Tool(add)], max_tool_rounds=2)
    result = Team([looping]).run("go")
    assert result.success is False and "more than 2 rounds" in result.reason
    ping = Agent("ping", "P.", ReplayBackend(["HANDOFF pong"] * 5))
    pong = Agent("pong", "P.", ReplayBackend(["HANDOFF ping"] * 5))
    result = Team([ping, pong], max_turns=4).run("go")
    assert result.success is False and "no final answer after 4 turns" in result.reason
    run = traced()
    assert len(spans_named(run, "execute_tool add")) == 2


def test_replay_by_prompt_from_a_recorded_run(traced, tmp_path: Path) -> None:
    solver = Agent("solver", "Solve.", ReplayBackend(["FINAL: 42"]))
    Team([solver]).run("What is 40+2?", expected="42")
    traced()
    replay = ReplayBackend.from_run(tmp_path)
    again = Agent("solver", "Solve.", replay)
    rs.setup(service="replay", run_dir=tmp_path / "again", capture_content=True, profile="off")
    try:
        assert Team([again]).run("What is 40+2?", expected="42").success is True
        with pytest.raises(BackendError, match="no recorded response"):
            replay.complete([{"role": "user", "content": "something else"}])
    finally:
        rs.shutdown()


def test_replay_in_order_runs_out() -> None:
    backend = ReplayBackend(["one"])
    assert backend.complete([{"role": "user", "content": "x"}]).text == "one"
    with pytest.raises(BackendError, match="exhausted after 1"):
        backend.complete([{"role": "user", "content": "x"}])

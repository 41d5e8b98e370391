"""Every CPU-capable fault produces a run whose labels match what the trace shows: the culprit span
exists with the labelled agent and step, carries the fault's visible effect, and failures reach
the run's outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rootspan.agents import tasks as T
from rootspan.agents.demo import run_demo
from rootspan.agents.faults import FAULTS, TOOL_SLOW_S
from rootspan.model import Span, SpanKind, Trace
from rootspan.rundir import load_run

CPU_FAULTS = [name for name, fault in FAULTS.items() if not fault.gpu_only]
NEEDS_PROFILE = {"cpu-contention", "moe-routing-skew"}


def _text(raw: str) -> str:
    return " ".join(part.get("content", "") for m in json.loads(raw) for part in m.get("parts", []))


def chat_of(trace: Trace, agent_span: Span) -> list[Span]:
    return [s for s in trace.children(agent_span.span_id) if s.kind == SpanKind.LLM]


def tools_of(trace: Trace, agent_span: Span) -> list[Span]:
    return [s for s in trace.children(agent_span.span_id) if s.kind == SpanKind.TOOL]


def agent_turns(trace: Trace) -> list[Span]:
    return [s for s in trace.steps() if s.kind == SpanKind.AGENT]


def numbers_read(trace: Trace, chat: Span) -> set[int]:
    """Numbers in a chat span's prompt and in every output it consumed."""
    seen = set(T.numbers_in(_text(chat.attributes["gen_ai.input.messages"])))
    for span_id in chat.inputs:
        source = trace.get(span_id)
        for key in ("rootspan.output", "gen_ai.tool.call.result", "gen_ai.input.messages"):
            if source is not None and key in source.attributes:
                seen |= set(T.numbers_in(str(source.attributes[key])))
    return seen


@pytest.mark.parametrize("name", CPU_FAULTS)
def test_fault_label_matches_trace(name: str, tmp_path: Path) -> None:
    fault = FAULTS[name]
    result = run_demo(tmp_path / name, fault=name, tasks=3, seed=1, profile="auto" if name in NEEDS_PROFILE else "off")
    label = result.label
    assert label is not None and (tmp_path / name / "labels.json").is_file()
    run = load_run(tmp_path / name)
    assert run.labels == label
    assert (label.fault, label.kind, label.category) == (name, fault.kind, fault.category)
    trace = run.traces[label.trace_id]
    span = trace.get(label.culprit.span_id)
    assert span is not None, "the culprit span is in the labelled trace"
    assert span.step == label.culprit.step and trace.agent_of(span) == label.culprit.agent
    expected_kind = {"agent": SpanKind.AGENT, "tool": SpanKind.TOOL, "llm": SpanKind.LLM}[fault.culprit]
    assert span.kind == expected_kind
    if fault.kind == "failure":
        assert trace.outcome == "failure", f"{name} must make the run fail"
    check = CHECKS[name]
    check(trace, span)


# ---- what each fault must visibly do in the trace ------------------------------------------------

def check_hallucination(trace: Trace, span: Span) -> None:
    (chat,) = chat_of(trace, span)[-1:]
    said = T.numbers_in(_text(chat.attributes["gen_ai.output.messages"]))
    assert any(n not in numbers_read(trace, chat) for n in said), "states a number no input contains"


def check_wrong_tool_args(trace: Trace, span: Span) -> None:
    (call,) = tools_of(trace, span)
    assert call.is_error and "invalid arguments for calc" in call.status_message
    assert call.attributes["rootspan.error.category"] == "tool_misuse"


def check_ignores_input(trace: Trace, span: Span) -> None:
    question = _text(trace.root.attributes["gen_ai.input.messages"])
    assert trace.root.span_id in span.inputs, "the planner did receive the question"
    prompt = _text(chat_of(trace, span)[0].attributes["gen_ai.input.messages"])
    dropped = [s for s in question.split(". ") if s not in prompt]
    assert dropped, "a statement of the question is missing from what the planner's model read"


def check_premature_stop(trace: Trace, span: Span) -> None:
    assert agent_turns(trace)[-1].span_id == span.span_id, "nobody ran after the culprit"
    assert span.agent_name != "verifier"
    assert "without an accepted answer" in trace.root.attributes["rootspan.outcome.reason"]


def check_loop(trace: Trace, span: Span) -> None:
    calls = tools_of(trace, span)
    arguments = [c.attributes["gen_ai.tool.call.arguments"] for c in calls]
    assert len(calls) >= 3 and len(set(arguments)) == 1, "identical repeated calls"
    assert span.is_error and "rounds without answering" in span.status_message


def check_wrong_handoff(trace: Trace, span: Span) -> None:
    turns = agent_turns(trace)
    index = [t.span_id for t in turns].index(span.span_id)
    assert turns[index + 1].agent_name == "verifier"
    assert "solver" not in [t.agent_name for t in turns[index + 1 :]]


def check_tool_exception(trace: Trace, span: Span) -> None:
    assert span.is_error and "ConnectionError" in span.status_message


def check_tool_timeout(trace: Trace, span: Span) -> None:
    assert span.is_error and "timed out after" in span.status_message
    assert span.attributes["rootspan.error.category"] == "timeout"


def check_wrong_result(trace: Trace, span: Span) -> None:
    arguments = json.loads(span.attributes["gen_ai.tool.call.arguments"])
    assert int(span.attributes["gen_ai.tool.call.result"]) != T.evaluate(arguments["expression"])


def check_empty_result(trace: Trace, span: Span) -> None:
    assert span.attributes.get("gen_ai.tool.call.result", "") == "" and not span.is_error


def check_tool_slow(trace: Trace, span: Span) -> None:
    assert span.duration_s >= TOOL_SLOW_S and not span.is_error
    arguments = json.loads(span.attributes["gen_ai.tool.call.arguments"])
    assert int(span.attributes["gen_ai.tool.call.result"]) == T.evaluate(arguments["expression"])
    others = [s for s in trace.spans if s.kind == SpanKind.TOOL and s.span_id != span.span_id]
    assert all(s.duration_s < span.duration_s for s in others)


def check_routing_skew(trace: Trace, span: Span) -> None:
    counts = json.loads(span.attributes["rootspan.gpu.moe.tokens_per_expert"])
    for layer in counts:
        assert max(layer) >= 0.45 * sum(layer), "one expert takes (nearly) one of each token's two slots"
    others = [s for s in trace.spans if s.kind == SpanKind.LLM and s.span_id != span.span_id]
    assert all(s.attributes["rootspan.gpu.moe.imbalance_max"] < span.attributes["rootspan.gpu.moe.imbalance_max"] for s in others)


def check_cpu_contention(trace: Trace, span: Span) -> None:
    # Two busy processes per core leave the call under half a core; its peers had a whole one.
    # (Machine-wide samples come every 100 ms, coarser than a call, so the call's own CPU share is
    # what shows the contention.)
    others = sorted(
        s.attributes["rootspan.cpu.utilization"]
        for s in trace.spans
        if s.kind == SpanKind.LLM and s.span_id != span.span_id
    )
    typical = others[len(others) // 2]
    assert span.attributes["rootspan.cpu.utilization"] <= 0.6 * typical, "the call was starved of CPU"


CHECKS = {
    "agent-hallucination": check_hallucination,
    "agent-wrong-tool-args": check_wrong_tool_args,
    "agent-ignores-input": check_ignores_input,
    "agent-premature-stop": check_premature_stop,
    "agent-loop": check_loop,
    "agent-wrong-handoff": check_wrong_handoff,
    "tool-exception": check_tool_exception,
    "tool-timeout": check_tool_timeout,
    "tool-wrong-result": check_wrong_result,
    "tool-empty-result": check_empty_result,
    "tool-slow": check_tool_slow,
    "moe-routing-skew": check_routing_skew,
    "cpu-contention": check_cpu_contention,
}


def test_every_cpu_fault_has_a_check() -> None:
    assert set(CHECKS) == set(CPU_FAULTS)


def test_the_seed_moves_the_fault() -> None:
    from rootspan.agents.faults import FaultInjector

    problems = T.make_tasks(10, 0)
    for name in ("agent-hallucination", "cpu-contention", "tool-exception"):
        places = {
            (FaultInjector(FAULTS[name], seed, problems).start_task, FaultInjector(FAULTS[name], seed, problems).agent)
            for seed in range(12)
        }
        assert len(places) > 3, f"{name} always fires at the same place"

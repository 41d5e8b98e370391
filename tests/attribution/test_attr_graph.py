"""Graph construction on every input kind: our tracer's spans, imported Who&When logs, OpenInference and OpenLLMetry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from attr_builders import TRACE_ID, sid, span, team_trace, trace

from rootspan.attribution.graph import CHILD, DATA, NEXT, build_graph
from rootspan.attribution.whowhen import find_logs, import_logs, log_to_trace
from rootspan.model import Span, Trace
from rootspan.rundir import load_run

WHOWHEN = Path("/work/shared/data/whowhen")
needs_whowhen = pytest.mark.skipif(not WHOWHEN.is_dir(), reason="Who&When data not present")


def test_tracer_spans_give_tree_time_order_and_explicit_data_flow() -> None:
    graph = build_graph(team_trace())
    digraph = graph.nx
    assert digraph.edges[sid("run"), sid("planner")]["type"] == CHILD
    assert digraph.edges[sid("planner"), sid("solver")]["type"] == NEXT  # siblings, one after the other
    assert digraph.edges[sid("planner"), sid("solver")]["data"] == "inputs"  # ... and data flow on the same edge
    assert digraph.edges[sid("planner"), sid("solve-llm")]["type"] == DATA  # inferred: the plan's numbers reused
    assert graph.data_parents[sid("solver")][sid("planner")] == "inputs"
    assert graph.data_parents[sid("verifier")][sid("solver")] == "inputs"
    # the tool's result (42) reappears in the next LLM call's input: inferred data flow
    assert sid("calc") in graph.data_parents[sid("solve-llm2")]
    assert graph.agent(graph.span(sid("calc"))) == "solver"
    assert graph.data_path(sid("planner"), sid("verifier")) == [sid("planner"), sid("solver"), sid("verifier")]
    assert sid("planner") in graph.upstream(sid("verifier"))


def test_span_links_are_data_flow_and_profiles_are_node_attributes() -> None:
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0),
        span("a", 1, 10, "run", op="invoke_agent", agent="a", step=1),
        span("b", 11, 20, "run", op="invoke_agent", agent="b", step=2, links=["a"],
             **{"rootspan.gpu.kernel_time_ns": 5_000, "rootspan.cpu.time_ns": 7_000}),
    )
    graph = build_graph(t)
    assert graph.data_parents[sid("b")] == {sid("a"): "link"}
    node = graph.nx.nodes[sid("b")]
    assert node["profile"] == {"rootspan.gpu.kernel_time_ns": 5_000, "rootspan.cpu.time_ns": 7_000}
    assert node["agent"] == "b" and node["kind"] == "agent"


def test_content_inference_links_values_not_parents_and_bounds_fan_in() -> None:
    producers = [
        span(f"p{i}", 1 + i, 2 + i, "run", op="invoke_agent", agent=f"p{i}", step=1 + i, output=f"value {1000 + i}")
        for i in range(30)
    ]
    everything = " ".join(str(1000 + i) for i in range(30))
    t = trace(
        span("run", 0, 100, op="invoke_workflow", step=0),
        *producers,
        span("sink", 50, 60, "run", op="invoke_agent", agent="sink", step=40, input=everything, output="done"),
    )
    graph = build_graph(t)
    assert 0 < len(graph.data_parents[sid("sink")]) <= 16
    assert all(how.startswith("n:") for how in graph.data_parents[sid("sink")].values())
    assert sid("run") not in graph.upstream(sid("sink"))  # ancestors never become data producers


def test_novel_values_are_what_a_span_said_first() -> None:
    graph = build_graph(team_trace(solver_output="the total is 9731"))
    assert graph.novel_tokens[sid("solve-llm2")] == {"n:9731"}
    assert graph.novel_tokens[sid("solver")] == set()  # the agent repeats its LLM call's words


def _otlp_like(name: str, span_id: str, parent: str | None, start: int, end: int, attributes: dict) -> Span:
    return Span(trace_id=TRACE_ID, span_id=sid(span_id), parent_span_id=sid(parent) if parent else None, name=name,
                start_ns=start * 1_000_000, end_ns=end * 1_000_000, attributes=attributes)


def test_openinference_spans() -> None:
    t = Trace(trace_id=TRACE_ID, spans=[
        _otlp_like("agent", "oi-agent", None, 0, 100, {"openinference.span.kind": "AGENT", "agent.name": "researcher",
                                                         "input.value": "find the population of Lyon"}),
        _otlp_like("search", "oi-tool", "oi-agent", 1, 20, {"openinference.span.kind": "TOOL", "tool.name": "search",
                                                             "input.value": "population of Lyon",
                                                             "output.value": "Lyon has 522250 inhabitants"}),
        _otlp_like("ChatOpenAI", "oi-llm", "oi-agent", 21, 60, {
            "openinference.span.kind": "LLM",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "search said 522250",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "Lyon has 522250 people",
        }),
    ])
    graph = build_graph(t)
    assert graph.outputs[sid("oi-llm")] == "Lyon has 522250 people"
    assert graph.data_parents[sid("oi-llm")] == {sid("oi-tool"): "n:522250"}
    assert graph.agent(graph.span(sid("oi-tool"))) == "researcher"


def test_openllmetry_spans() -> None:
    t = Trace(trace_id=TRACE_ID, spans=[
        _otlp_like("planner.agent", "tl-agent", None, 0, 100, {"traceloop.span.kind": "agent",
                                                                "traceloop.entity.name": "planner"}),
        _otlp_like("fetch.tool", "tl-tool", "tl-agent", 1, 10, {"traceloop.span.kind": "tool",
                                                                 "traceloop.entity.output": json.dumps({"rows": 4812})}),
        _otlp_like("openai.chat", "tl-llm", "tl-agent", 11, 30, {"llm.request.type": "chat",
                                                                   "gen_ai.prompt": "rows = 4812",
                                                                   "gen_ai.completion": "there are 4812 rows"}),
    ])
    graph = build_graph(t)
    assert graph.agent(graph.span(sid("tl-llm"))) == "planner"
    assert sid("tl-tool") in graph.data_parents[sid("tl-llm")]
    assert graph.nx.nodes[sid("tl-llm")]["kind"] == "llm"


@needs_whowhen
def test_whowhen_logs_in_memory_and_through_a_run_directory(tmp_path: Path) -> None:
    log = find_logs(WHOWHEN / "Algorithm-Generated" / "1.json")[0]
    in_memory = build_graph(log_to_trace(log))
    steps = [span.step for span in in_memory.order if span.step is not None]
    assert steps == list(range(len(log.history)))
    terminal = next(span for span in in_memory.order if span.step == 1)
    assert terminal.kind.value == "tool" and in_memory.agent(terminal) == "Computer_terminal"
    assert in_memory.trace.expected == "8"
    (run_dir,) = import_logs(WHOWHEN / "Algorithm-Generated" / "1.json", tmp_path)
    run = load_run(run_dir)
    (loaded,) = run.traces.values()
    from_disk = build_graph(loaded)
    assert [s.span_id for s in from_disk.order] == [s.span_id for s in in_memory.order]
    assert from_disk.data_parents == in_memory.data_parents
    assert run.labels is not None and run.labels.culprit.step == log.mistake_step


@needs_whowhen
def test_hand_crafted_roles_are_normalised() -> None:
    logs = find_logs(WHOWHEN / "Hand-Crafted")
    graph = build_graph(log_to_trace(logs[0]))
    agents = {graph.agent(span) for span in graph.order if span.step is not None}
    assert "Orchestrator" in agents and not any("(" in (agent or "") for agent in agents)
    handoffs = [span for span in graph.order if "rootspan.handoff.to" in span.attributes]
    assert handoffs and all(graph.agent(span) == "Orchestrator" for span in handoffs)

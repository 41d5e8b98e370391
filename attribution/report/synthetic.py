"""Seeded synthetic agent runs with lognormal step latencies, for the false-alarm benchmark and tests.

Measuring how often the gate cries wolf needs hundreds of noise-only comparisons with known
truth; real runs are too slow and never noise-only by construction. These traces have the shape
of the demo team (a workflow, three agents, LLM and tool calls, GPU aggregates on LLM calls) and
follow the span conventions of DESIGN.md, so they exercise the same code paths as real runs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from rootspan import semconv as sc
from rootspan.model import Run, Span, SpanEvent, StatusCode, Trace

MODEL = "rootspan-moe-tiny"
EXPECTED = "Canberra"
RIGHT = "The capital of Australia is Canberra."
WRONG = "The capital of Australia is Sydney."

# (agent, kind, name, median ms, input tokens, output tokens); kind is "llm" or "tool".
TEAM: list[tuple[str, str, str, float, int, int]] = [
    ("planner", "llm", f"chat {MODEL}", 180.0, 420, 60),
    ("researcher", "llm", f"chat {MODEL}", 150.0, 380, 40),
    ("researcher", "tool", "execute_tool search", 220.0, 0, 0),
    ("researcher", "llm", f"chat {MODEL}", 160.0, 610, 70),
    ("writer", "llm", f"chat {MODEL}", 240.0, 700, 120),
]


@dataclass
class Shape:
    """What to inject into a synthetic run."""

    sigma: float = 0.25  # lognormal sigma of every step's latency (0.25: about +-25% run to run)
    slow: dict[str, float] = field(default_factory=dict)  # span name -> latency multiplier
    fail_agent: str | None = None  # this agent gives a wrong answer in every trace
    tool_error: bool = False  # the search tool raises in every trace, the run fails
    fail_rate: float = 0.0  # background noise: share of traces where the researcher is wrong
    error_rate: float = 0.0  # background noise: share of traces where the search tool raises
    gpu: bool = True  # put rootspan.gpu.* aggregates on LLM calls


def _id(rng: random.Random, n_bytes: int) -> str:
    return "%0*x" % (n_bytes * 2, rng.getrandbits(n_bytes * 8))


def synthetic_trace(rng: random.Random, shape: Shape, start_ns: int = 1_700_000_000_000_000_000) -> list[Span]:
    """One trace of the synthetic team; the same rng state always gives the same spans."""
    trace_id = _id(rng, 16)
    root_id = _id(rng, 8)
    fail_agent = shape.fail_agent or ("researcher" if rng.random() < shape.fail_rate else None)
    tool_error = shape.tool_error or rng.random() < shape.error_rate
    spans: list[Span] = []
    clock = start_ns + 1_000_000
    step = 1
    agent_spans: dict[str, Span] = {}
    failed = False
    for agent, kind, name, median_ms, tokens_in, tokens_out in TEAM:
        if agent not in agent_spans:
            agent_span = Span(
                trace_id=trace_id, span_id=_id(rng, 8), parent_span_id=root_id, name=f"invoke_agent {agent}",
                start_ns=clock, end_ns=clock,
                attributes={sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: agent, sc.ROOTSPAN_STEP: step},
            )
            step += 1
            agent_spans[agent] = agent_span
            spans.append(agent_span)
            clock += 200_000
        parent = agent_spans[agent]
        duration_ms = median_ms * shape.slow.get(name, 1.0) * math.exp(rng.gauss(0.0, shape.sigma))
        duration_ns = int(duration_ms * 1e6)
        attributes: dict[str, object] = {sc.ROOTSPAN_STEP: step}
        status = StatusCode.OK
        events: list[SpanEvent] = []
        if kind == "llm":
            attributes.update(
                {
                    sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
                    sc.GEN_AI_REQUEST_MODEL: MODEL,
                    sc.GEN_AI_PROVIDER_NAME: "rootspan-moe",
                    sc.GEN_AI_USAGE_INPUT_TOKENS: tokens_in,
                    sc.GEN_AI_USAGE_OUTPUT_TOKENS: tokens_out,
                }
            )
            # Content as a capture-enabled run records it: a wrong claim from the faulty agent
            # travels downstream into the final answer.
            wrong = fail_agent is not None and (agent == fail_agent or agent == TEAM[-1][0])
            attributes[sc.ROOTSPAN_OUTPUT] = WRONG if wrong else RIGHT
            if shape.gpu:
                attributes["rootspan.gpu.kernel_time_ns"] = int(duration_ns * 0.6)
                attributes["rootspan.gpu.energy_j"] = duration_ms * 0.12
        else:
            attributes.update({sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: name.split()[-1]})
            if tool_error:
                status = StatusCode.ERROR
                failed = True
                events.append(
                    SpanEvent(name="exception", time_ns=clock + duration_ns,
                              attributes={"exception.type": "ConnectionError", "exception.message": "search backend refused"})
                )
        spans.append(
            Span(
                trace_id=trace_id, span_id=_id(rng, 8), parent_span_id=parent.span_id, name=name,
                start_ns=clock, end_ns=clock + duration_ns, attributes=attributes, status_code=status, events=events,
            )
        )
        step += 1
        clock += duration_ns + 300_000
        parent.end_ns = clock
        clock += 200_000
    if fail_agent is not None:
        failed = True
    root_attributes: dict[str, object] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
        sc.GEN_AI_WORKFLOW_NAME: "answer-question",
        sc.ROOTSPAN_STEP: 0,
        sc.ROOTSPAN_OUTCOME: "failure" if failed else "success",
        sc.ROOTSPAN_EXPECTED: EXPECTED,
    }
    if failed:
        root_attributes[sc.ROOTSPAN_OUTCOME_REASON] = "wrong answer"
    spans.insert(
        0,
        Span(
            trace_id=trace_id, span_id=root_id, name="invoke_workflow answer-question", start_ns=start_ns, end_ns=clock,
            attributes=root_attributes, status_code=StatusCode.ERROR if tool_error else StatusCode.OK,
        ),
    )
    return spans


def synthetic_spans(seed: int, count: int, shape: Shape | None = None) -> list[list[Span]]:
    """``count`` traces (lists of spans) from one seed."""
    rng = random.Random(seed)
    shape = shape or Shape()
    return [synthetic_trace(rng, shape, start_ns=1_700_000_000_000_000_000 + index * 10**10) for index in range(count)]


def synthetic_run(seed: int, count: int, shape: Shape | None = None, name: str = "synthetic") -> Run:
    """An in-memory Run (no files) of ``count`` traces."""
    traces = {}
    for spans in synthetic_spans(seed, count, shape):
        trace = Trace(trace_id=spans[0].trace_id, spans=spans)
        traces[trace.trace_id] = trace
    return Run(path=Path(f"<{name} seed {seed}>"), traces=traces)

"""Synthetic multi-agent traces of any size, for benchmarks of loading, analysis and the UI.

Real runs of 100k spans are rare on a laptop, so the scale benchmarks generate them: workflows of
agent turns, each with LLM calls and tool calls, in the span conventions of DESIGN.md, with data
flow between consecutive turns. Deterministic for a seed, so figures are comparable across runs.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

from rootspan.model import Span, StatusCode
from rootspan.rundir import TRACES_FILE, append_jsonl
from rootspan.otlp import spans_to_traces_data

AGENTS = ("planner", "researcher", "coder", "critic", "verifier")
TOOLS = ("search", "python", "read_file", "calculator")
RESOURCE = {"service.name": "synthetic-agents", "telemetry.sdk.language": "python"}


def synthetic_spans(n_spans: int, seed: int = 0, spans_per_trace: int = 2_000) -> Iterator[Span]:
    """About ``n_spans`` spans in traces of ``spans_per_trace``; the last turn of each trace fails."""
    rng = random.Random(seed)
    produced = 0
    trace_index = 0
    while produced < n_spans:
        trace_id = f"{rng.getrandbits(128) | 1:032x}"
        budget = min(spans_per_trace, n_spans - produced)
        clock = 1_700_000_000_000_000_000 + trace_index * 10**12
        ids = iter(range(1, 10**9))
        root_id = f"{(trace_index << 32) | next(ids):016x}"
        step = 0
        spans: list[Span] = []
        previous_turn: str | None = None
        start = clock
        while len(spans) < budget - 1:
            agent = AGENTS[step % len(AGENTS)]
            turn_id = f"{(trace_index << 32) | next(ids):016x}"
            turn_start = clock
            children: list[Span] = []
            for _ in range(rng.randint(1, 3)):
                if len(spans) + len(children) + 2 >= budget:
                    break
                is_tool = rng.random() < 0.5
                duration = rng.randint(2_000_000, 200_000_000)
                name = f"execute_tool {rng.choice(TOOLS)}" if is_tool else "chat tiny-moe"
                attributes = (
                    {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name.split()[-1]}
                    if is_tool
                    else {"gen_ai.operation.name": "chat", "gen_ai.request.model": "tiny-moe",
                          "gen_ai.provider.name": "rootspan", "gen_ai.usage.input_tokens": rng.randint(50, 900),
                          "gen_ai.usage.output_tokens": rng.randint(5, 200)}
                )
                children.append(Span(
                    trace_id=trace_id, span_id=f"{(trace_index << 32) | next(ids):016x}", parent_span_id=turn_id,
                    name=name, start_ns=clock + 1_000, end_ns=clock + duration, attributes=attributes,
                    resource=RESOURCE, scope_name="rootspan",
                ))
                clock += duration + 5_000
            attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent, "rootspan.step": step}
            if previous_turn:
                attributes["rootspan.inputs"] = [previous_turn]
            spans.append(Span(trace_id=trace_id, span_id=turn_id, parent_span_id=root_id, name=f"invoke_agent {agent}",
                              start_ns=turn_start, end_ns=clock + 1_000, attributes=attributes,
                              resource=RESOURCE, scope_name="rootspan"))
            spans.extend(children)
            previous_turn = turn_id
            step += 1
            clock += 10_000
        spans[-1].status_code = StatusCode.ERROR
        spans.append(Span(
            trace_id=trace_id, span_id=root_id, name="invoke_workflow synthetic", start_ns=start, end_ns=clock,
            attributes={"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "synthetic",
                        "rootspan.outcome": "failure"},
            resource=RESOURCE, scope_name="rootspan",
        ))
        produced += len(spans)
        trace_index += 1
        yield from spans


def write_synthetic_run(run_dir: str | Path, n_spans: int, seed: int = 0, batch: int = 512) -> Path:
    """Write a synthetic run directory the way the tracer's batch exporter would (one line per batch)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / TRACES_FILE
    if target.exists():
        target.unlink()
    pending: list[Span] = []
    for span in synthetic_spans(n_spans, seed):
        pending.append(span)
        if len(pending) >= batch:
            append_jsonl(target, spans_to_traces_data(pending))
            pending = []
    if pending:
        append_jsonl(target, spans_to_traces_data(pending))
    return target

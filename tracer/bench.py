"""``rootspan bench tracer``: what a rootspan span costs next to a bare OpenTelemetry SDK span.

Both sides run in one process, interleaved round by round, through the same exporter (the
run-directory exporter behind a BatchSpanProcessor) to two directories. Each timing covers
creating N spans *and* flushing them to disk, so export cost (rootspan.step is one more
attribute to encode) is counted too. The figure per variant is the median over rounds.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from rootspan import semconv as sc
from rootspan.tracer import pipeline
from rootspan.tracer.exporter import RunDirSpanExporter

TARGET_RATIO = 1.25
AGENT_ATTRIBUTES = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: "planner"}
TOOL_ATTRIBUTES = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "search", sc.GEN_AI_TOOL_CALL_ID: "call-1"}


def _time_spans(make_span: Callable[[], Any], n_spans: int, flush: Callable[[], Any]) -> float:
    """Seconds to create ``n_spans`` spans and flush them to the exporter."""
    start = time.perf_counter()
    for _ in range(n_spans):
        make_span()
    flush()
    return time.perf_counter() - start


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "opentelemetry_sdk": version("opentelemetry-sdk"),
        "platform": platform.platform(),
    }


def run_benchmark(n_spans: int = 5000, rounds: int = 7) -> dict[str, Any]:
    """Median µs per span for each variant and rootspan's ratio to the bare SDK."""
    import rootspan.tracer as rs

    if pipeline.current() is not None:
        raise RuntimeError("bench tracer needs a process without active tracing")
    with tempfile.TemporaryDirectory(prefix="rootspan-bench-") as tmp:
        bare_provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "bench-bare"}), shutdown_on_exit=False)
        bare_provider.add_span_processor(BatchSpanProcessor(RunDirSpanExporter(Path(tmp) / "bare")))
        bare = bare_provider.get_tracer("bench")
        tracing = rs.setup(service="bench-rootspan", run_dir=Path(tmp) / "rootspan", profile="off")
        try:

            def bare_agent_call() -> None:
                with bare.start_as_current_span("invoke_agent planner", attributes=AGENT_ATTRIBUTES):
                    pass

            def bare_tool() -> None:
                with bare.start_as_current_span("execute_tool search", attributes=TOOL_ATTRIBUTES):
                    pass

            def bare_no_attributes() -> None:
                with bare.start_as_current_span("span"):
                    pass

            @rs.agent("planner")
            def rootspan_agent_call() -> None:
                pass

            def rootspan_tool() -> None:
                with rs.tool_span("search", call_id="call-1"):
                    pass

            def rootspan_llm_call() -> None:
                with rs.llm_call(model="m", provider="rootspan-moe") as call:
                    call.usage(input_tokens=812, output_tokens=96)

            variants: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
                "bare_sdk_agent": (bare_agent_call, bare_provider.force_flush),
                "rootspan_agent": (rootspan_agent_call, tracing.force_flush),
                "bare_sdk_tool": (bare_tool, bare_provider.force_flush),
                "rootspan_tool": (rootspan_tool, tracing.force_flush),
                "bare_sdk_no_attributes": (bare_no_attributes, bare_provider.force_flush),
                "rootspan_llm_call": (rootspan_llm_call, tracing.force_flush),
            }
            for make_span, flush in variants.values():  # warm-up: imports, caches, file creation
                _time_spans(make_span, min(500, n_spans), flush)
            samples: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(rounds):
                for name, (make_span, flush) in variants.items():
                    samples[name].append(_time_spans(make_span, n_spans, flush) / n_spans * 1e6)
        finally:
            tracing.shutdown()
            bare_provider.shutdown()
    us = {name: round(statistics.median(values), 3) for name, values in samples.items()}
    ratio = {
        "agent": round(us["rootspan_agent"] / us["bare_sdk_agent"], 3),
        "tool": round(us["rootspan_tool"] / us["bare_sdk_tool"], 3),
    }
    result: dict[str, Any] = {
        "machine": machine(),
        "spans_per_round": n_spans,
        "rounds": rounds,
        "exporter": "RunDirSpanExporter behind BatchSpanProcessor (both sides)",
        "us_per_span": us,
        "ratio_vs_bare_sdk": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": all(value <= TARGET_RATIO for value in ratio.values()),
    }
    profiling = _profiling_overhead()
    if profiling is not None:
        result["profiling"] = profiling
    return result


def _profiling_overhead() -> dict[str, Any] | None:
    """The profilers' own overhead figures, when that part is installed."""
    try:
        from rootspan.profilers.bench import profiling_overhead
    except ImportError:
        return None
    return profiling_overhead()


def format_text(result: dict[str, Any]) -> str:
    us = result["us_per_span"]
    lines = [f"µs per span (create + flush, median of {result['rounds']} rounds of {result['spans_per_round']}):"]
    for name, value in us.items():
        lines.append(f"  {name:<24} {value:8.2f}")
    ratio = result["ratio_vs_bare_sdk"]
    verdict = "meets" if result["meets_target"] else "misses"
    lines.append(
        f"rootspan / bare SDK: agent {ratio['agent']:.2f}x, tool {ratio['tool']:.2f}x "
        f"({verdict} the {result['target_ratio']:.2f}x target)"
    )
    if "profiling" in result:
        lines.append(f"profiling: {result['profiling']}")
    return "\n".join(lines)

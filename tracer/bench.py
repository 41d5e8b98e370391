"""``rootspan bench tracer``: what a rootspan span costs next to a bare OpenTelemetry SDK span.

Both sides run in one process, interleaved round by round, through the same exporter (the
run-directory exporter behind a BatchSpanProcessor) to two directories. A round creates N spans
(timed: ``create``), then flushes them to disk (timed: ``export``; rootspan.step is one more
attribute to encode); ``total`` is the sum, the cost a span really has. Times are CPU time of
the benchmarking thread, which does all the work in both phases. The queue holds a whole
round and the batch worker waits for the flush, so no span is dropped and the two phases do not
compete for the GIL. The figure per variant is the median over rounds.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from rootspan import semconv as sc
from rootspan.tracer import pipeline
from rootspan.tracer.exporter import RunDirSpanExporter

TARGET_RATIO = 1.25
AGENT_ATTRIBUTES = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: "planner"}
TOOL_ATTRIBUTES = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "search", sc.GEN_AI_TOOL_CALL_ID: "call-1"}


def _time_spans(make_span: Callable[[], Any], n_spans: int, flush: Callable[[], Any]) -> tuple[float, float]:
    """CPU seconds of this thread to create ``n_spans`` spans, and to flush them to the exporter.

    Both phases run on the calling thread (force_flush exports in the caller), so its CPU time
    is the whole cost, and unlike wall time it is not inflated by other processes on the box.
    """
    # Garbage collection would land in whichever variant happens to cross a threshold.
    gc.collect()
    gc.disable()
    try:
        start = time.thread_time()
        for _ in range(n_spans):
            make_span()
        created = time.thread_time()
        flush()
        return created - start, time.thread_time() - created
    finally:
        gc.enable()


@contextlib.contextmanager
def _queue_holding(n_spans: int) -> Iterator[None]:
    """BatchSpanProcessor settings (read from the environment) that hold a round without drops."""
    settings = {
        "OTEL_BSP_MAX_QUEUE_SIZE": str(2 * n_spans + 1000),
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": str(2 * n_spans + 1000),
        "OTEL_BSP_SCHEDULE_DELAY": str(3_600_000),
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "opentelemetry_sdk": version("opentelemetry-sdk"),
        "platform": platform.platform(),
    }


def run_benchmark(n_spans: int = 3000, rounds: int = 11, profiling: bool = True) -> dict[str, Any]:
    """Median µs per span for each variant and rootspan's ratio to the bare SDK.

    With ``profiling``, the profilers' own overhead figures are added under "profiling" when
    that part is installed (it runs a torch workload per profiling mode, so it takes a while).
    """
    import rootspan.tracer as rs

    if pipeline.current() is not None:
        raise RuntimeError("bench tracer needs a process without active tracing")
    with tempfile.TemporaryDirectory(prefix="rootspan-bench-") as tmp, _queue_holding(n_spans):
        bare_provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "bench-bare"}), shutdown_on_exit=False)
        bare_provider.add_span_processor(BatchSpanProcessor(RunDirSpanExporter(Path(tmp) / "bare")))
        bare = bare_provider.get_tracer("bench")
        tracing = rs.setup(service="bench-rootspan", run_dir=Path(tmp) / "rootspan", profile="off")
        dropped = 0
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
            samples: dict[str, dict[str, list[float]]] = {
                name: {"create": [], "export": [], "total": []} for name in variants
            }
            for _ in range(rounds):
                for name, (make_span, flush) in variants.items():
                    create_s, export_s = _time_spans(make_span, n_spans, flush)
                    samples[name]["create"].append(create_s / n_spans * 1e6)
                    samples[name]["export"].append(export_s / n_spans * 1e6)
                    samples[name]["total"].append((create_s + export_s) / n_spans * 1e6)
        finally:
            tracing.shutdown()
            bare_provider.shutdown()
            dropped = tracing.dropped_spans
    phases = {
        name: {phase: round(statistics.median(values), 3) for phase, values in by_phase.items()}
        for name, by_phase in samples.items()
    }
    us = {name: by_phase["total"] for name, by_phase in phases.items()}
    ratio = {
        "agent": round(us["rootspan_agent"] / us["bare_sdk_agent"], 3),
        "tool": round(us["rootspan_tool"] / us["bare_sdk_tool"], 3),
    }
    result: dict[str, Any] = {
        "machine": machine(),
        "spans_per_round": n_spans,
        "rounds": rounds,
        "exporter": "RunDirSpanExporter behind BatchSpanProcessor (both sides)",
        "clock": "thread CPU time of the benchmarking thread (creation and force_flush export)",
        "us_per_span": us,
        "us_per_span_by_phase": phases,
        "rootspan_dropped_spans": dropped,
        "ratio_vs_bare_sdk": ratio,
        # The GenAI attributes themselves cost the same with any instrumentation; this shows them.
        "ratio_vs_bare_sdk_no_attributes": {
            "agent": round(us["rootspan_agent"] / us["bare_sdk_no_attributes"], 3),
            "tool": round(us["rootspan_tool"] / us["bare_sdk_no_attributes"], 3),
        },
        "target_ratio": TARGET_RATIO,
        "meets_target": all(value <= TARGET_RATIO for value in ratio.values()),
    }
    if profiling:
        overhead = _profiling_overhead()
        if overhead is not None:
            result["profiling"] = overhead
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
    phases = result["us_per_span_by_phase"]
    lines = [
        f"CPU µs per span, median of {result['rounds']} rounds of {result['spans_per_round']} spans:",
        f"  {'variant':<24} {'create':>8} {'export':>8} {'total':>8}",
    ]
    for name, value in us.items():
        lines.append(f"  {name:<24} {phases[name]['create']:8.2f} {phases[name]['export']:8.2f} {value:8.2f}")
    ratio = result["ratio_vs_bare_sdk"]
    verdict = "meets" if result["meets_target"] else "misses"
    lines.append(
        f"rootspan / bare SDK span with the same attributes: agent {ratio['agent']:.2f}x, tool {ratio['tool']:.2f}x "
        f"({verdict} the {result['target_ratio']:.2f}x target)"
    )
    bare = result["ratio_vs_bare_sdk_no_attributes"]
    lines.append(f"rootspan / bare SDK span without attributes: agent {bare['agent']:.2f}x, tool {bare['tool']:.2f}x")
    if "profiling" in result:
        from rootspan.profilers.bench import format_profiling

        lines += format_profiling(result["profiling"])
    return "\n".join(lines)

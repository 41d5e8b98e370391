"""How much profiling costs: wall time of one agent workload with profiling off, the device
sampler on, and the kernel profiler on (called by ``rootspan bench tracer``; also
``python -m rootspan.profilers.bench``).

The workload is real torch work inside the span shapes of an agent run: a workflow, two agents,
LLM calls made of matmul "decode steps", and tool calls. Modes are interleaved across repeats and
the median is reported, because the machines this runs on are shared and noisy. torch runs on one
intra-op thread: on a small shared CPU the OpenMP workers' wake-ups otherwise swamp what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_MODES = ("off", "device", "kernels")


def _workload(tracer: Any, torch: Any, llm_calls: int, steps: int, size: int) -> int:
    """Run the agent-shaped workload; returns the number of spans it made."""
    weights = torch.randn(size, size)
    state = torch.randn(8, size)
    spans = 1
    with tracer.start_as_current_span("invoke_workflow bench", attributes={"gen_ai.operation.name": "invoke_workflow"}):
        for call in range(llm_calls):
            agent = "planner" if call % 2 == 0 else "coder"
            with tracer.start_as_current_span(f"invoke_agent {agent}", attributes={
                    "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}):
                with tracer.start_as_current_span("chat bench-model", attributes={
                        "gen_ai.operation.name": "chat", "gen_ai.request.model": "bench-model"}):
                    for _ in range(steps):
                        state = torch.tanh(state @ weights)
                with tracer.start_as_current_span("execute_tool lookup", attributes={
                        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"}):
                    float(state.sum())
            spans += 3
    return spans


def _one_run(mode: str, run_dir: Path, llm_calls: int, steps: int, size: int) -> dict[str, float]:
    import torch
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from rootspan.profilers import wrap_processor
    from rootspan.tracer.exporter import RunDirSpanExporter

    started = time.perf_counter()
    downstream = BatchSpanProcessor(RunDirSpanExporter(run_dir))
    processor = downstream if mode == "off" else wrap_processor(downstream, run_dir, mode, {"service.name": "bench"})
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("rootspan.bench")
    setup_s = time.perf_counter() - started
    started = time.perf_counter()
    spans = _workload(tracer, torch, llm_calls, steps, size)
    wall_s = time.perf_counter() - started
    started = time.perf_counter()
    provider.shutdown()
    return {"wall_s": wall_s, "setup_s": setup_s, "shutdown_s": time.perf_counter() - started, "spans": spans}


def _span_hot_path_us(mode: str, run_dir: Path, spans: int = 2000) -> float:
    """Microseconds per empty span (start + end) through the pipeline of one mode; no sampling in the way."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from rootspan.profilers import wrap_processor
    from rootspan.tracer.exporter import RunDirSpanExporter

    downstream = BatchSpanProcessor(RunDirSpanExporter(run_dir))
    processor = downstream if mode == "off" else wrap_processor(downstream, run_dir, mode, {})
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("rootspan.bench")
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(spans):
            with tracer.start_as_current_span("execute_tool noop"):
                pass
        best = min(best, (time.perf_counter() - started) / spans * 1e6)
    provider.shutdown()
    return best


def _sampler_cost_us(ticks: int = 50) -> float:
    """CPU microseconds one sampler tick costs (host + NVML when present), on the sampling thread."""
    from rootspan.profilers.sampler import Sampler

    sampler = Sampler(None, device="auto", note=lambda message: None)
    try:
        started = time.thread_time_ns()
        for _ in range(ticks):
            sampler.sample_once()
        return (time.thread_time_ns() - started) / ticks / 1000.0
    finally:
        sampler.stop()


def _demo_task_seconds(mode: str, run_dir: Path, tasks: int) -> float:
    """Wall seconds of the built-in demo's tasks (model load and setup excluded) under one mode."""
    from rootspan.agents.demo import run_demo

    result = run_demo(run_dir, tasks=tasks, profile=mode, seed=0)
    return sum(outcome.seconds for outcome in result.outcomes)


def demo_overhead(tasks: int = 2, repeats: int = 3, modes: tuple[str, ...] = BENCH_MODES) -> dict[str, Any]:
    """The same comparison on `rootspan demo` (the MoE agent team on CPU), when the agents part is installed."""
    try:
        import rootspan.agents.demo  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"the demo is not installed ({exc})"}
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="rootspan-bench-demo-") as tmp:
        for repeat in range(repeats):
            for mode in (modes if repeat % 2 == 0 else tuple(reversed(modes))):
                seconds[mode].append(_demo_task_seconds(mode, Path(tmp) / f"{mode}-{repeat}", tasks))
    best = {mode: min(values) for mode, values in seconds.items()}
    return {
        "tasks": tasks,
        "repeats": repeats,
        "task_seconds_min": best,
        "task_seconds_all": {mode: [round(v, 3) for v in values] for mode, values in seconds.items()},
        "ratio_to_off": {mode: best[mode] / best["off"] for mode in modes} if best.get("off") else {},
    }


def _device_sampler_kind() -> str:
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
        return f"NVML ({count} GPU) + host" if count else "host only (NVML: no GPU)"
    except Exception as exc:  # noqa: BLE001 - any NVML failure means host-only sampling
        return f"host only (no NVML: {exc})"


def profiling_overhead(repeats: int = 7, llm_calls: int = 24, steps: int = 32, size: int = 1024,
                       modes: tuple[str, ...] = BENCH_MODES) -> dict[str, Any]:
    """Wall time of the workload per profiling mode (fastest and median of interleaved repeats), each
    mode's ratio to "off", the per-span hot-path cost and the sampler's CPU cost per tick."""
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not installed (pip install 'rootspan[torch]')"}

    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(prefix="rootspan-bench-") as tmp:
            _one_run("off", Path(tmp) / "warmup", 2, 2, size)  # first-use costs (torch, OTel) out of the figures
            # the first kernel profiler in a process initialises Kineto; reported on its own
            first_kernels_setup = _one_run("kernels", Path(tmp) / "warmup-kernels", 2, 2, size)["setup_s"] if "kernels" in modes else None
            for repeat in range(repeats):
                # alternate the order so slow drifts of a shared machine hit every mode alike
                for mode in (modes if repeat % 2 == 0 else tuple(reversed(modes))):
                    runs[mode].append(_one_run(mode, Path(tmp) / f"{mode}-{repeat}", llm_calls, steps, size))
            hot_path = {mode: _span_hot_path_us(mode, Path(tmp) / f"hot-{mode}") for mode in ("off", "device")}
            sampler_us = _sampler_cost_us()
    finally:
        torch.set_num_threads(threads)
    wall = {mode: statistics.median(r["wall_s"] for r in results) for mode, results in runs.items()}
    # the fastest repeat is the one least disturbed by other processes: its ratio is the cost itself
    wall_min = {mode: min(r["wall_s"] for r in results) for mode, results in runs.items()}
    base = wall_min.get("off")
    result: dict[str, Any] = {
        "workload": {"llm_calls": llm_calls, "matmul_steps_per_call": steps, "matmul": f"8x{size} @ {size}x{size}",
                     "spans": runs[modes[0]][0]["spans"], "profiled_llm_calls": llm_calls},
        "repeats": repeats,
        "wall_s": wall,
        "wall_s_min": wall_min,
        "wall_s_all": {mode: [round(r["wall_s"], 4) for r in results] for mode, results in runs.items()},
        "setup_s": {mode: statistics.median(r["setup_s"] for r in results) for mode, results in runs.items()},
        "shutdown_s": {mode: statistics.median(r["shutdown_s"] for r in results) for mode, results in runs.items()},
        "kernels_first_setup_s": first_kernels_setup,
        "device_sampler": _device_sampler_kind(),
        "torch_threads": 1,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
    }
    result["span_hot_path_us"] = hot_path
    result["sampler_cpu_us_per_tick"] = sampler_us
    result["sampler_cpu_share_of_one_core"] = sampler_us / 1e6 / 0.1  # at the default 100 ms period
    if base:
        result["ratio_to_off"] = {mode: wall_min[mode] / base for mode in modes}
        result["ratio_to_off_median"] = {mode: wall[mode] / wall["off"] for mode in modes}
        result["overhead_pct"] = {mode: 100.0 * (wall_min[mode] / base - 1.0) for mode in modes if mode != "off"}
        if "kernels" in wall:
            result["kernels_cost_ms_per_profiled_llm_call"] = 1000.0 * (wall_min["kernels"] - base) / llm_calls
    return result


def format_profiling(result: dict[str, Any]) -> list[str]:
    """The profiling-overhead figures as a small table (``bench tracer`` without ``--json``)."""
    if "skipped" in result:
        return [f"profiling overhead: skipped ({result['skipped']})"]
    work = result["workload"]
    lines = [
        f"profiling overhead: {work['llm_calls']} LLM calls of {work['matmul_steps_per_call']} x {work['matmul']}, "
        f"{result['repeats']} interleaved repeats, device sampler {result['device_sampler']}",
        f"  {'mode':<10} {'wall s (min)':>12} {'wall s (median)':>15} {'x off':>7} {'setup s':>8}",
    ]
    ratios = result.get("ratio_to_off", {})
    for mode, wall in result["wall_s_min"].items():
        ratio = f"{ratios[mode]:.2f}" if mode in ratios else "-"
        lines.append(f"  {mode:<10} {wall:12.3f} {result['wall_s'][mode]:15.3f} {ratio:>7} {result['setup_s'][mode]:8.3f}")
    hot = result.get("span_hot_path_us", {})
    if hot:
        lines.append("  µs per empty span: " + ", ".join(f"{mode} {value:.1f}" for mode, value in hot.items()))
    if "kernels_cost_ms_per_profiled_llm_call" in result:
        lines.append(f"  kernel profiler: {result['kernels_cost_ms_per_profiled_llm_call']:.2f} ms per profiled LLM call"
                     + (f", first setup {result['kernels_first_setup_s']:.2f} s" if result.get("kernels_first_setup_s") else ""))
    lines.append(f"  sampler: {result['sampler_cpu_us_per_tick']:.0f} µs CPU per tick "
                 f"({result['sampler_cpu_share_of_one_core'] * 100:.2f}% of one core at 100 ms)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--llm-calls", type=int, default=24)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--demo-tasks", type=int, default=0, help="also time `rootspan demo` with this many tasks")
    args = parser.parse_args()
    result = profiling_overhead(args.repeats, args.llm_calls, args.steps, args.size)
    if args.demo_tasks > 0:
        result["demo"] = demo_overhead(args.demo_tasks)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

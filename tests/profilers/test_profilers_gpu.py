"""On a GPU: a small MoE generation inside agent/LLM spans, profiled with mode "full".

Checks that kernel time per span adds up to the profiler's totals, that each LLM span's kernels
run inside its agent span, that NVML readings are plausible, and prints the figures for the notes.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from rootspan.agents.moe import generate, load_checkpoint, write_random_checkpoint
    from rootspan.agents.moe.presets import preset_config
    from rootspan.profilers import config_for_mode, wrap_processor
    from rootspan.profilers.moe_stats import record_moe_stats
    from rootspan.tracer.exporter import RunDirSpanExporter

    checkpoint = write_random_checkpoint(tmp_path_factory.mktemp("ckpt"), preset_config("bench-cpu"), seed=0)
    model = load_checkpoint(checkpoint, device="cuda", dtype=torch.bfloat16)
    model.collect_stats(True)
    prompt = torch.randint(0, model.config.vocab_size, (1, 32), device="cuda")
    generate(model, prompt, max_new_tokens=4)  # warm-up: lazy CUDA init and first-call costs
    torch.cuda.synchronize()

    run_dir = tmp_path_factory.mktemp("run")
    exporter = InMemorySpanExporter()
    config = config_for_mode("full", env={"ROOTSPAN_SAMPLE_INTERVAL_MS": "20"})
    processor = wrap_processor([SimpleSpanProcessor(exporter), SimpleSpanProcessor(RunDirSpanExporter(run_dir))],
                               run_dir, "full", {"service.name": "gpu-test"}, config=config)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("invoke_workflow gpu", attributes={"gen_ai.operation.name": "invoke_workflow"}):
        for agent in ("planner", "coder"):
            with tracer.start_as_current_span(f"invoke_agent {agent}", attributes={
                    "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}):
                for _ in range(2):
                    with tracer.start_as_current_span("chat bench-cpu", attributes={"gen_ai.operation.name": "chat"}) as span:
                        tokens = generate(model, prompt, max_new_tokens=32)
                        record_moe_stats(span, model.moe_stats())
                        assert tokens.shape == (1, 32)
    provider.shutdown()
    spans = {format(s.context.span_id, "016x"): s for s in exporter.get_finished_spans()}
    return run_dir, spans


def _kernels(run_dir, spans):
    from rootspan.profilers.chrome import read_chrome_trace

    (trace_id,) = {format(s.context.trace_id, "032x") for s in spans.values()}
    return read_chrome_trace(run_dir / "kernels" / f"{trace_id}.json")


def test_llm_spans_carry_kernel_memory_device_and_moe_figures(gpu_run):
    from rootspan.profilers import names as n

    _, spans = gpu_run
    llm = [s for s in spans.values() if s.name == "chat bench-cpu"]
    assert len(llm) == 4
    for span in llm:
        a = span.attributes
        print(f"\n{span.name}: wall {(span.end_time - span.start_time) / 1e6:.1f} ms, kernels {a[n.GPU_KERNEL_COUNT]}, "
              f"kernel time {a[n.GPU_KERNEL_TIME_NS] / 1e6:.2f} ms, busy {a[n.GPU_BUSY_FRACTION]:.3f}, "
              f"launch {a.get(n.GPU_LAUNCH_OVERHEAD_NS, 0) / 1e6:.2f} ms, syncs {a[n.GPU_SYNC_COUNT]}, "
              f"peak alloc {a[n.GPU_MEM_PEAK_ALLOCATED] / 2**20:.1f} MiB, util {a.get(n.GPU_UTIL_MEAN)}, "
              f"power {a.get(n.GPU_POWER_MEAN_W)} W, energy {a.get(n.GPU_ENERGY_J)} J, "
              f"throttle {a.get(n.GPU_THROTTLE_REASONS)}, kv {a.get(n.GPU_KV_CACHE_BYTES)}, "
              f"imbalance {a.get(n.GPU_MOE_IMBALANCE_MAX)}, top {json.loads(a[n.GPU_TOP_KERNELS])[:2]}")
        assert a[n.GPU_KERNEL_COUNT] > 0 and a[n.GPU_KERNEL_TIME_NS] > 0
        assert 0 < a[n.GPU_BUSY_FRACTION] <= 1
        assert a[n.GPU_MEM_PEAK_ALLOCATED] > 0 and n.GPU_MEM_DELTA in a
        assert a[n.GPU_MEM_PEAK_RESERVED] >= a[n.GPU_MEM_PEAK_ALLOCATED]
        assert a[n.GPU_KV_CACHE_BYTES] > 0 and a[n.GPU_MOE_IMBALANCE_MAX] >= 1.0
        assert "NVIDIA" in a[n.GPU_DEVICE_NAME]
        assert 0.0 <= a[n.GPU_UTIL_MEAN] <= 1.0
        assert 10.0 <= a[n.GPU_POWER_MEAN_W] <= 1500.0
        assert 100.0 <= a[n.GPU_SM_CLOCK_MEAN_MHZ] <= 4000.0
        assert a[n.GPU_ENERGY_J] >= 0.0
        assert a[n.GPU_MEM_TOTAL] > 8 * 2**30


def test_kernel_time_per_span_adds_up_to_the_profiler_total(gpu_run):
    from rootspan.profilers import names as n

    run_dir, spans = gpu_run
    events, _, _ = _kernels(run_dir, spans)
    kernels = [e for e in events if e.get("cat") == "kernel"]
    total_ns = sum(round(e["dur"] * 1000) for e in kernels)
    ours = sum(s.attributes[n.GPU_KERNEL_TIME_NS] for s in spans.values() if s.name == "chat bench-cpu")
    print(f"\nkernel time: spans {ours / 1e6:.3f} ms, profiler {total_ns / 1e6:.3f} ms, kernels {len(kernels)}")
    # every kernel of the run was launched inside an LLM call; rounding is at most 1 ns per kernel
    assert abs(ours - total_ns) <= len(kernels) + 1
    agents = [s for s in spans.values() if s.name.startswith("invoke_agent")]
    assert sum(s.attributes[n.GPU_KERNEL_TIME_NS] for s in agents) == ours


def test_llm_kernels_run_inside_their_agent_span(gpu_run):
    from rootspan.profilers.chrome import Window, attribute

    run_dir, spans = gpu_run
    events, base, _ = _kernels(run_dir, spans)
    window = Window(events=events, base_ns=base)
    owner = attribute(window, {sid: (s.start_time, s.end_time) for sid, s in spans.items()})
    checked = 0
    for index, span_id in owner.items():
        event = events[index]
        if event.get("cat") != "kernel":
            continue
        llm = spans[span_id]
        agent = spans[format(llm.parent.span_id, "016x")]
        start = base + round(event["ts"] * 1000)
        end = start + round(event["dur"] * 1000)
        assert agent.start_time <= start and end <= agent.end_time, (event["name"], llm.name)
        checked += 1
    assert checked > 0


def test_nvml_series_are_plausible(gpu_run):
    from rootspan.metrics import load_metrics
    from rootspan.profilers import names as n

    run_dir, _ = gpu_run
    points = load_metrics(run_dir)
    by_name: dict[str, list[float]] = {}
    for point in points:
        by_name.setdefault(point.name, []).append(point.value)
    print("\n" + ", ".join(f"{name}: {min(v):.3g}..{max(v):.3g} ({len(v)})" for name, v in sorted(by_name.items())))
    assert all(0.0 <= v <= 1.0 for v in by_name[n.HW_GPU_UTILIZATION])
    assert all(0 < used <= limit for used, limit in zip(by_name[n.HW_GPU_MEMORY_USAGE], by_name[n.HW_GPU_MEMORY_LIMIT]))
    assert all(20.0 <= w <= 1500.0 for w in by_name[n.HW_POWER])
    energy = by_name[n.HW_ENERGY]
    assert energy == sorted(energy) and energy[-1] > energy[0]
    assert all(0.0 <= c <= 110.0 for c in by_name[n.HW_TEMPERATURE])

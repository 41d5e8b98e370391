"""A small run directory written by the real tracer pipeline: traces, metrics and a kernels file.

The malformed-field tests and the loader fuzz tests mutate it, so they start from what rootspan
itself writes. The GPU sampler reads a scripted NVML (``FakeNvml``: there is no GPU here); the
kernel file comes from the real torch profiler on CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rootspan import semconv as sc


def write_real_run(run_dir: Path) -> Path:
    torch = pytest.importorskip("torch")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from rootspan.profilers import wrap_processor
    from rootspan.profilers.config import ProfileConfig
    from rootspan.profilers.testing import FakeNvml
    from rootspan.tracer.exporter import RunDirSpanExporter

    monkey = pytest.MonkeyPatch()
    monkey.setitem(sys.modules, "pynvml", FakeNvml().module)
    try:
        config = ProfileConfig(mode="full", device_sampling="required", kernels=True, memory=False, interval_s=0.05)
        processor = wrap_processor(SimpleSpanProcessor(RunDirSpanExporter(run_dir)), run_dir, "full", {}, config=config)
        provider = TracerProvider()
        provider.add_span_processor(processor)
        tracer = provider.get_tracer("test")
        matrix = torch.randn(64, 64)
        with tracer.start_as_current_span("invoke_workflow solve", attributes={sc.GEN_AI_OPERATION_NAME: "invoke_workflow"}) as root:
            root.set_attribute(sc.ROOTSPAN_OUTCOME, "failure")
            with tracer.start_as_current_span("invoke_agent planner", attributes={
                    sc.GEN_AI_OPERATION_NAME: "invoke_agent", sc.GEN_AI_AGENT_NAME: "planner"}):
                with tracer.start_as_current_span("chat tiny", attributes={
                        sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "tiny",
                        sc.GEN_AI_USAGE_INPUT_TOKENS: 10, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 5}):
                    for _ in range(3):
                        matrix = torch.tanh(matrix @ matrix)
                with tracer.start_as_current_span("execute_tool search", attributes={
                        sc.GEN_AI_OPERATION_NAME: "execute_tool", sc.GEN_AI_TOOL_NAME: "search"}) as tool:
                    tool.add_event("exception", {"exception.type": "ValueError", "exception.message": "no results"})
        provider.shutdown()
    finally:
        monkey.undo()
    assert (run_dir / "traces.jsonl").is_file() and (run_dir / "metrics.jsonl").is_file()
    assert list((run_dir / "kernels").glob("*.json")), "the kernel profiler wrote no file"
    return run_dir

"""Per-span CUDA memory with nesting (fake allocator), OOM records, and MoE statistics on spans."""

from __future__ import annotations

import json
import types

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rootspan.profilers import names as n, wrap_processor
from rootspan.profilers.config import ProfileConfig
from rootspan.profilers.memory import MemoryTracker
from rootspan.profilers.moe_stats import record_moe_stats


class FakeAllocator:
    """torch.cuda's counters over a simulated allocator: global peak, reset by any caller."""

    def __init__(self) -> None:
        self.allocated = 0
        self.peak = 0
        self.cuda = types.SimpleNamespace(
            max_memory_allocated=lambda: self.peak,
            max_memory_reserved=lambda: self.peak * 2,
            memory_allocated=lambda: self.allocated,
            memory_reserved=lambda: self.allocated * 2,
            reset_peak_memory_stats=self.reset,
            current_device=lambda: 0,
            get_device_properties=lambda index: types.SimpleNamespace(total_memory=1000),
            memory=types.SimpleNamespace(_snapshot=lambda: {"segments": []}, _record_memory_history=lambda **kw: None),
        )

    def reset(self) -> None:
        self.peak = self.allocated

    def malloc(self, size: int) -> None:
        self.allocated += size
        self.peak = max(self.peak, self.allocated)


def test_nested_spans_keep_their_own_peaks_across_resets():
    allocator = FakeAllocator()
    tracker = MemoryTracker(torch_provider=lambda: allocator)
    tracker.on_start("parent")
    allocator.malloc(100)
    tracker.on_start("child")  # resets the global peak: the parent's must survive it
    allocator.malloc(300)
    allocator.malloc(-300)
    child = tracker.on_end("child")
    allocator.malloc(50)
    tracker.on_start("late")
    allocator.malloc(20)
    late = tracker.on_end("late")
    parent = tracker.on_end("parent")
    assert child[n.GPU_MEM_PEAK_ALLOCATED] == 400 and child[n.GPU_MEM_DELTA] == 0
    assert late[n.GPU_MEM_PEAK_ALLOCATED] == 170 and late[n.GPU_MEM_DELTA] == 20
    assert parent[n.GPU_MEM_PEAK_ALLOCATED] == 400 and parent[n.GPU_MEM_PEAK_RESERVED] == 800
    assert parent[n.GPU_MEM_DELTA] == 170 and parent[n.GPU_MEM_TOTAL] == 1000


def test_no_cuda_means_no_memory_attributes():
    tracker = MemoryTracker(torch_provider=lambda: None)
    tracker.on_start("a")
    assert tracker.on_end("a") == {}


def _provider(tmp_path):
    exporter = InMemorySpanExporter()
    config = ProfileConfig(mode="auto", host_sampling=False, device_sampling="off", memory=True, oom_snapshot=True)
    processor = wrap_processor(SimpleSpanProcessor(exporter), tmp_path, "auto", {}, config=config)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider, exporter, processor


def test_oom_inside_a_span_is_recorded_then_reraised(tmp_path):
    torch = pytest.importorskip("torch")
    provider, exporter, _ = _provider(tmp_path)
    tracer = provider.get_tracer("test")
    message = "CUDA out of memory. Tried to allocate 2.50 GiB. GPU 0 has a total capacity of 79.11 GiB of which 1.20 GiB is free."
    with pytest.raises(torch.cuda.OutOfMemoryError):
        with tracer.start_as_current_span("invoke_agent coder"):
            with tracer.start_as_current_span("chat big"):
                raise torch.cuda.OutOfMemoryError(message)
    with pytest.raises(ValueError):
        with tracer.start_as_current_span("execute_tool other"):
            raise ValueError("not memory")
    provider.shutdown()
    spans = {span.name: span.attributes for span in exporter.get_finished_spans()}
    for name in ("chat big", "invoke_agent coder"):  # the error passed through both
        assert spans[name][n.GPU_OOM] is True
        assert spans[name][n.GPU_MEM_REQUESTED] == int(2.5 * 2**30)
    assert n.GPU_OOM not in spans["execute_tool other"]


def test_oom_records_the_allocator_state_and_one_snapshot(tmp_path):
    allocator = FakeAllocator()
    allocator.malloc(700)
    tracker = MemoryTracker(tmp_path, snapshot=True, torch_provider=lambda: allocator)
    event = types.SimpleNamespace(name="exception", attributes={"exception.type": "OutOfMemoryError",
                                                                 "exception.message": "CUDA out of memory. Tried to allocate 512.00 MiB."})
    inner = tracker.oom_attributes([event], "t" * 32, "1" * 16)
    outer = tracker.oom_attributes([event], "t" * 32, "2" * 16)
    assert inner[n.GPU_MEM_ALLOCATED_AT_END] == 700 and inner[n.GPU_MEM_RESERVED_AT_END] == 1400
    assert inner[n.GPU_MEM_REQUESTED] == 512 * 2**20
    assert (tmp_path / inner[n.GPU_MEM_SNAPSHOT]).is_file()
    assert n.GPU_MEM_SNAPSHOT not in outer  # one snapshot per trace, not one per enclosing span


def test_a_failed_oom_snapshot_leaves_no_file_and_says_why(tmp_path, monkeypatch, capsys):
    from rootspan.profilers import sampler as sampler_module

    monkeypatch.setattr(sampler_module, "_noted", set())
    allocator = FakeAllocator()

    def snapshot_fails() -> dict:
        raise RuntimeError("allocator history unavailable")

    allocator.cuda.memory._snapshot = snapshot_fails
    tracker = MemoryTracker(tmp_path, snapshot=True, torch_provider=lambda: allocator)
    event = types.SimpleNamespace(name="exception", attributes={"exception.type": "OutOfMemoryError",
                                                                 "exception.message": "CUDA out of memory."})
    attrs = tracker.oom_attributes([event], "t" * 32, "1" * 16)
    assert attrs[n.GPU_OOM] is True and n.GPU_MEM_SNAPSHOT not in attrs
    assert list(tmp_path.glob("oom-*")) == []
    assert "OOM allocator snapshot not written (RuntimeError: allocator history unavailable)" in capsys.readouterr().err


def test_moe_stats_land_on_the_live_span():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    stats = {"tokens_per_expert": [[5, 1, 0, 2], [2, 2, 2, 2]], "imbalance": [2.5, 1.0], "kv_cache_bytes": 4096,
             "mtp_acceptance": 0.875}
    with tracer.start_as_current_span("chat moe") as span:
        assert record_moe_stats(span, stats)[n.GPU_MOE_IMBALANCE_MAX] == 2.5
    with tracer.start_as_current_span("chat plain") as span:
        assert record_moe_stats(span, {"imbalance": [], "tokens_per_expert": [], "kv_cache_bytes": None,
                                       "mtp_acceptance": None}) == {}
        assert record_moe_stats(span, None) == {}
    provider.shutdown()
    spans = {span.name: span.attributes for span in exporter.get_finished_spans()}
    moe = spans["chat moe"]
    assert moe[n.GPU_MOE_IMBALANCE_MAX] == 2.5 and moe[n.GPU_MOE_IMBALANCE_MEAN] == 1.75
    assert json.loads(moe[n.GPU_MOE_TOKENS_PER_EXPERT]) == stats["tokens_per_expert"]
    assert moe[n.GPU_KV_CACHE_BYTES] == 4096 and moe[n.GPU_MTP_ACCEPTANCE] == 0.875
    assert not any(key.startswith("rootspan.gpu.") for key in spans["chat plain"])

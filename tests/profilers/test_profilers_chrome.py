"""GPU-side attribution on a synthetic Kineto trace: kernels follow their launch's span by correlation id,
busy fraction, idle gaps, launch overhead, syncs, copies; and the split of one window into per-trace files."""

from __future__ import annotations

import json

import pytest

from rootspan.profilers import names as n
from rootspan.profilers.chrome import ProfileStats, Window, attribute, owners_with_ancestors, read_chrome_trace, top_level_ops
from rootspan.profilers.kernel_files import KernelStore

BASE = 1_790_000_000_000_000_000
PID, TID = 4242, 4243
A, B, C = "a" * 16, "b" * 16, "c" * 16  # A: agent (started before the window); B, C: LLM calls
TRACE_1, TRACE_2 = "1" * 32, "2" * 32


def us(ns: int) -> float:
    return ns / 1000.0


def host(cat, name, start_us, dur_us, tid=TID, **args):
    return {"ph": "X", "cat": cat, "name": name, "pid": PID, "tid": tid, "ts": start_us, "dur": dur_us, "args": args}


def kernel(name, start_us, dur_us, correlation):
    return {"ph": "X", "cat": "kernel", "name": name, "pid": 0, "tid": 7, "ts": start_us, "dur": dur_us,
            "args": {"correlation": correlation, "device": 0, "stream": 7}}


def window() -> Window:
    events = [
        {"ph": "M", "name": "process_name", "pid": PID, "tid": 0, "args": {"name": "python"}},
        host("user_annotation", f"{n.ANNOTATION_PREFIX}{B} chat m", 0, 999),  # times are replaced by the span's
        host("cpu_op", "aten::mm", 10, 30, **{"External id": 1}),
        host("cuda_runtime", "cudaLaunchKernel", 12, 5, correlation=101),
        host("cpu_op", "aten::add", 50, 10, **{"External id": 2}),
        host("cuda_runtime", "cudaLaunchKernel", 52, 4, correlation=102),
        host("cuda_runtime", "cudaStreamSynchronize", 70, 25, correlation=103),
        host("cuda_runtime", "cudaMemcpyAsync", 60, 3, correlation=104),
        kernel("gemm_kernel", 20, 40, 101),       # runs 20..60
        kernel("add_kernel", 80, 10, 102),        # runs 80..90: a 20 µs gap after the gemm
        {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy DtoH", "pid": 0, "tid": 7, "ts": 62, "dur": 4,
         "args": {"correlation": 104, "bytes": 4096}},
        {"ph": "s", "cat": "ac2g", "name": "ac2g", "id": 101, "pid": PID, "tid": TID, "ts": 12},
        {"ph": "f", "cat": "ac2g", "name": "ac2g", "id": 101, "pid": 0, "tid": 7, "ts": 20, "bp": "e"},
        # a second LLM call of another trace on another thread
        host("user_annotation", f"{n.ANNOTATION_PREFIX}{C} chat m", 0, 999, tid=TID + 1),
        host("cuda_runtime", "cudaLaunchKernel", 150, 5, tid=TID + 1, correlation=201),
        kernel("gemm_kernel", 160, 20, 201),
        # an op outside every annotation: belongs to no span
        host("cpu_op", "aten::zeros", 300, 5, tid=TID + 2, **{"External id": 3}),
    ]
    return Window(events=events, base_ns=BASE, flops_by_op={1: 2_000_000}, cuda=True, start_ns=BASE, end_ns=BASE + 400_000)


SPAN_TIMES = {A: (BASE - 1_000_000, BASE + 500_000), B: (BASE, BASE + 100_000), C: (BASE + 140_000, BASE + 200_000)}
PARENTS = {B: A, C: None, A: None}


def test_kernels_follow_the_span_that_launched_them():
    win = window()
    owner = attribute(win, SPAN_TIMES)
    names = {(win.events[i]["name"], win.events[i]["args"].get("correlation")): span for i, span in owner.items()
             if win.events[i].get("cat") in ("kernel", "gpu_memcpy")}
    assert names == {("gemm_kernel", 101): B, ("add_kernel", 102): B, ("Memcpy DtoH", 104): B, ("gemm_kernel", 201): C}
    annotation = next(e for e in win.events if e["name"].startswith(n.ANNOTATION_PREFIX + B))
    assert (annotation["ts"], annotation["dur"]) == (0.0, 100.0)  # the span's own OTLP times
    zeros = next(i for i, e in enumerate(win.events) if e["name"] == "aten::zeros")
    assert zeros not in owner


def test_gpu_figures_of_a_span_and_its_parent():
    win = window()
    owner = attribute(win, SPAN_TIMES)
    inclusive = owners_with_ancestors(owner, PARENTS.get)
    top = top_level_ops(win.events)
    stats = {}
    for span_id in (A, B, C):
        stats[span_id] = ProfileStats(covered_ns=1, cuda=True)
        stats[span_id].add(win.events, win, top, inclusive.get(span_id, []))
    b = stats[B].attributes(wall_ns=100_000)
    assert b[n.GPU_KERNEL_COUNT] == 2 and b[n.GPU_KERNEL_TIME_NS] == 50_000
    # busy = union of gemm 20..60, memcpy 62..66, add 80..90 = 54 µs; idle gaps inside = 70 - 54 = 16 µs
    assert b[n.GPU_BUSY_FRACTION] == pytest.approx(0.54)
    assert b[n.GPU_IDLE_GAP_NS] == 16_000
    assert b[n.GPU_LAUNCH_OVERHEAD_NS] == 9_000
    assert b[n.GPU_SYNC_COUNT] == 1 and b[n.CPU_SYNC_WAIT_NS] == 25_000
    assert b[n.GPU_ACHIEVED_BYTES_PER_S] == pytest.approx(4096 / 100e-6)
    assert b[n.GPU_ACHIEVED_FLOPS] == pytest.approx(2_000_000 / 100e-6)
    assert json.loads(b[n.GPU_TOP_KERNELS])[0] == {"name": "gemm_kernel", "time_ns": 40_000, "count": 1}
    assert b[n.CPU_OP_COUNT] == 2 and b[n.CPU_OP_TIME_NS] == 40_000
    a = stats[A].attributes(wall_ns=1_500_000)
    assert a[n.GPU_KERNEL_TIME_NS] == b[n.GPU_KERNEL_TIME_NS]  # C is another trace's root, not A's child
    c = stats[C].attributes(wall_ns=60_000)
    assert c[n.GPU_KERNEL_COUNT] == 1 and c[n.GPU_SYNC_COUNT] == 0 and c[n.GPU_IDLE_GAP_NS] == 0


def test_a_window_is_split_by_trace(tmp_path):
    win = window()
    owner = attribute(win, SPAN_TIMES)
    store = KernelStore(tmp_path)
    store.add_window(win, owner, {A: TRACE_1, B: TRACE_1, C: TRACE_2}, opener_trace=TRACE_1)
    first, second = store.flush(TRACE_1), store.flush(TRACE_2)
    events_1, base_1, _ = read_chrome_trace(first)
    events_2, base_2, _ = read_chrome_trace(second)
    assert base_1 == base_2 == BASE
    names_1 = [e["name"] for e in events_1]
    names_2 = [e["name"] for e in events_2]
    assert names_1.count("gemm_kernel") == 1 and "add_kernel" in names_1 and "aten::zeros" in names_1  # unowned -> opener
    assert names_2.count("gemm_kernel") == 1 and "add_kernel" not in names_2 and "aten::zeros" not in names_2
    assert "process_name" in names_1 and "process_name" in names_2  # metadata goes to both
    assert [e["ph"] for e in events_1 if e.get("cat") == "ac2g"] == ["s", "f"]  # the flow follows its kernel
    # a later window of the same trace is merged into the existing file, rebased to its base
    later = Window(events=[host("cpu_op", "aten::relu", 5, 1)], base_ns=BASE + 1_000_000)
    store.add_window(later, {0: B}, {B: TRACE_1}, opener_trace=TRACE_1)
    store.flush(TRACE_1)
    events, base, _ = read_chrome_trace(first)
    relu = next(e for e in events if e["name"] == "aten::relu")
    assert base == BASE and relu["ts"] == pytest.approx(1005.0)

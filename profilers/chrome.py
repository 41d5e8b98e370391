"""Chrome-trace (torch.profiler export) events -> the span each event belongs to -> per-span stats.

Pure functions over the parsed JSON, no torch: the kernel profiler runs them on each window it
records, and anything that reads kernels/*.json later can too. The join is HTA's: an event's wall
time is ``baseTimeNanoseconds + ts * 1000``; a host event belongs to the innermost span annotation
(``record_function("rootspan:<span id> <name>")``) on its thread that contains it; a GPU kernel or
copy belongs to the span of the runtime call that launched it (same ``correlation`` id).
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from rootspan.profilers import names as n

HOST_OP_CATS = frozenset({"cpu_op"})
RUNTIME_CATS = frozenset({"cuda_runtime", "cuda_driver"})
GPU_CATS = frozenset({"kernel", "gpu_memcpy", "gpu_memset"})
LAUNCH_CALLS = frozenset({
    "cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx", "cudaLaunchCooperativeKernel",
    "cudaGraphLaunch", "cuGraphLaunch",
})
SYNC_CALLS = frozenset({
    "cudaDeviceSynchronize", "cudaStreamSynchronize", "cudaEventSynchronize", "cudaMemcpy", "cuCtxSynchronize",
    "cuStreamSynchronize", "cuEventSynchronize",
})
TOP_N = 5


@dataclass
class Window:
    """One recorded profiling window: its events (ts in µs from base_ns) and the FLOPs per op id."""

    events: list[dict[str, Any]]
    base_ns: int
    flops_by_op: dict[int, int] = field(default_factory=dict)
    cuda: bool = False
    start_ns: int = 0
    end_ns: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    times: list[tuple[int, int]] = field(default_factory=list)  # each event's wall (start, end) ns, set by attribute()


def read_chrome_trace(path: Any) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """A Chrome trace file (a path, or a file opened in binary mode) -> (events, baseTimeNanoseconds, the other top-level fields)."""
    if hasattr(path, "read"):
        data = json.load(path)
    else:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    if isinstance(data, list):  # the bare-array form of the format
        return [e for e in data if isinstance(e, dict)], 0, {}
    if not isinstance(data, dict) or not isinstance(data.get("traceEvents"), list):
        raise ValueError("not a Chrome trace (no traceEvents list)")
    base = data.get("baseTimeNanoseconds") or 0
    # an integer in the fixed64 range or nothing: every event's time is offset by it
    if type(base) is float and base.is_integer():
        base = int(base)
    if type(base) is not int or not 0 <= base < 2**64:
        shown = repr(base) if len(repr(base)) <= 40 else repr(base)[:37] + "..."
        raise ValueError(f"baseTimeNanoseconds {shown} is not a time in nanoseconds")
    meta = {key: value for key, value in data.items() if key != "traceEvents"}
    return [e for e in data["traceEvents"] if isinstance(e, dict)], base, meta


def annotation_span_id(event: dict[str, Any]) -> str | None:
    name = event.get("name")
    if event.get("ph") == "X" and isinstance(name, str) and name.startswith(n.ANNOTATION_PREFIX):
        span_id = name[len(n.ANNOTATION_PREFIX) : len(n.ANNOTATION_PREFIX) + 16]
        if len(span_id) == 16:
            return span_id
    return None


def _interval(event: dict[str, Any], base_ns: int) -> tuple[int, int]:
    start = base_ns + int(round(float(event.get("ts", 0)) * 1000))
    return start, start + int(round(float(event.get("dur", 0) or 0) * 1000))


def _innermost(ranges: list[tuple[int, int, str]], starts: list[int], time_ns: int) -> str | None:
    """The latest-starting range containing time_ns (ranges sorted by start; starts their starts)."""
    index = bisect.bisect_right(starts, time_ns) - 1
    while index >= 0:
        start, end, span_id = ranges[index]
        if end >= time_ns:
            return span_id
        index -= 1
    return None


def attribute(window: Window, span_times: dict[str, tuple[int, int]]) -> dict[int, str]:
    """Event index -> span id (hex) for every event that belongs to an annotated span.

    Annotation ranges are first set to the spans' own OTLP times (``span_times``), so the
    kernel file and the traces agree exactly even when a span ended on another thread.
    """
    events, base = window.events, window.base_ns
    ranges: dict[Any, list[tuple[int, int, str]]] = defaultdict(list)
    owner: dict[int, str] = {}
    for index, event in enumerate(events):
        span_id = annotation_span_id(event)
        if span_id is None:
            continue
        if span_id in span_times:
            start_ns, end_ns = span_times[span_id]
            event["ts"] = (start_ns - base) / 1000.0
            event["dur"] = max(0, end_ns - start_ns) / 1000.0
        start, end = _interval(event, base)
        ranges[(event.get("pid"), event.get("tid"))].append((start, end, span_id))
        owner[index] = span_id
    # every event's wall interval, once (a window of an MoE decode holds ~10^5 events)
    window.times = [_interval(event, base) for event in events]
    starts: dict[Any, list[int]] = {}
    for key, track in ranges.items():
        track.sort()
        starts[key] = [start for start, _, _ in track]
    by_correlation: dict[Any, str] = {}
    for index, event in enumerate(events):
        if event.get("ph") != "X" or index in owner or event.get("cat") in GPU_CATS:
            continue
        key = (event.get("pid"), event.get("tid"))
        track = ranges.get(key)
        if not track:
            continue
        span_id = _innermost(track, starts[key], window.times[index][0])
        if span_id is None:
            continue
        owner[index] = span_id
        correlation = (event.get("args") or {}).get("correlation")
        if event.get("cat") in RUNTIME_CATS and correlation is not None:
            by_correlation[correlation] = span_id
    for index, event in enumerate(events):
        if event.get("cat") in GPU_CATS:
            correlation = (event.get("args") or {}).get("correlation")
            if correlation in by_correlation:
                owner[index] = by_correlation[correlation]
    return owner


def _merge(intervals: list[tuple[int, int]]) -> tuple[int, int, int]:
    """(busy ns of the union, first start, last end)."""
    intervals.sort()
    busy = 0
    current_start, current_end = intervals[0]
    for start, end in intervals[1:]:
        if start > current_end:
            busy += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    busy += current_end - current_start
    return busy, intervals[0][0], max(end for _, end in intervals)


@dataclass
class ProfileStats:
    """A span's kernel/op figures, accumulated over the windows that overlapped it."""

    op_time_ns: int = 0
    op_count: int = 0
    top_ops: dict[str, list[int]] = field(default_factory=dict)
    flops: int = 0
    kernel_time_ns: int = 0
    kernel_count: int = 0
    busy_ns: int = 0
    idle_gap_ns: int = 0
    top_kernels: dict[str, list[int]] = field(default_factory=dict)
    launch_ns: int = 0
    launch_count: int = 0
    sync_count: int = 0
    sync_ns: int = 0
    copy_bytes: int = 0
    covered_ns: int = 0
    cuda: bool = False

    def add(self, events: list[dict[str, Any]], window: Window, top_level: set[int], indices: Iterable[int]) -> None:
        """Fold one window's events of this span (and its descendants) in."""
        times = window.times or [_interval(event, window.base_ns) for event in events]
        gpu_intervals: list[tuple[int, int]] = []
        self.cuda = self.cuda or window.cuda
        for index in indices:
            event = events[index]
            cat = event.get("cat")
            start, end = times[index]
            duration = end - start
            name = str(event.get("name", ""))
            args = event.get("args") or {}
            if cat in HOST_OP_CATS:
                op_id = args.get("External id")
                if op_id in window.flops_by_op:
                    self.flops += window.flops_by_op[op_id]
                if index in top_level:
                    self.op_time_ns += duration
                    self.op_count += 1
                    entry = self.top_ops.setdefault(name, [0, 0])
                    entry[0] += duration
                    entry[1] += 1
            elif cat in GPU_CATS:
                gpu_intervals.append((start, end))
                if cat == "kernel":
                    self.kernel_time_ns += duration
                    self.kernel_count += 1
                    entry = self.top_kernels.setdefault(name, [0, 0])
                    entry[0] += duration
                    entry[1] += 1
                else:
                    self.copy_bytes += int(args.get("bytes", 0) or 0)
            elif cat in RUNTIME_CATS:
                if name in LAUNCH_CALLS:
                    self.launch_ns += duration
                    self.launch_count += 1
                elif name in SYNC_CALLS:
                    self.sync_ns += duration
                    self.sync_count += 1
        if gpu_intervals:
            busy, first, last = _merge(gpu_intervals)
            self.busy_ns += busy
            self.idle_gap_ns += (last - first) - busy

    def attributes(self, wall_ns: int) -> dict[str, Any]:
        """Span attributes for these figures; figures that were not measured are left out."""
        attrs: dict[str, Any] = {}
        if self.covered_ns and wall_ns > 0:
            attrs[n.PROFILE_COVERAGE] = min(1.0, self.covered_ns / wall_ns)
        if self.op_count:
            attrs[n.CPU_OP_TIME_NS] = self.op_time_ns
            attrs[n.CPU_OP_COUNT] = self.op_count
            attrs[n.CPU_TOP_OPS] = _top_json(self.top_ops)
        if self.cuda and self.covered_ns:
            attrs[n.GPU_KERNEL_COUNT] = self.kernel_count
            attrs[n.GPU_KERNEL_TIME_NS] = self.kernel_time_ns
            attrs[n.GPU_SYNC_COUNT] = self.sync_count
            attrs[n.CPU_SYNC_WAIT_NS] = self.sync_ns
            if wall_ns > 0:
                attrs[n.GPU_BUSY_FRACTION] = min(1.0, self.busy_ns / wall_ns)
            if self.kernel_count:
                attrs[n.GPU_IDLE_GAP_NS] = self.idle_gap_ns
                attrs[n.GPU_TOP_KERNELS] = _top_json(self.top_kernels)
            if self.launch_count:
                attrs[n.GPU_LAUNCH_OVERHEAD_NS] = self.launch_ns
            if self.copy_bytes and wall_ns > 0:
                attrs[n.GPU_ACHIEVED_BYTES_PER_S] = self.copy_bytes / (wall_ns / 1e9)
        if self.flops and wall_ns > 0:
            key = n.GPU_ACHIEVED_FLOPS if self.cuda else n.CPU_ACHIEVED_FLOPS
            attrs[key] = self.flops / (wall_ns / 1e9)
        return attrs


def _top_json(table: dict[str, list[int]]) -> str:
    ranked = sorted(table.items(), key=lambda item: -item[1][0])[:TOP_N]
    return json.dumps([{"name": name, "time_ns": time_ns, "count": count} for name, (time_ns, count) in ranked])


def top_level_ops(events: list[dict[str, Any]]) -> set[int]:
    """Indices of host ops not nested in another op on their thread (so op time is not double counted)."""
    by_thread: dict[Any, list[tuple[float, float, int]]] = defaultdict(list)
    for index, event in enumerate(events):
        if event.get("cat") in HOST_OP_CATS and event.get("ph") == "X":
            ts = float(event.get("ts", 0))
            by_thread[(event.get("pid"), event.get("tid"))].append((ts, -float(event.get("dur", 0) or 0), index))
    top: set[int] = set()
    for ops in by_thread.values():
        ops.sort()
        open_until = float("-inf")
        for ts, negative_duration, index in ops:
            if ts >= open_until:
                top.add(index)
                open_until = ts - negative_duration
    return top


def owners_with_ancestors(owner: dict[int, str], parent_of: Callable[[str], str | None]) -> dict[str, list[int]]:
    """Span id -> indices of its own events and its descendants' (inclusive figures)."""
    inclusive: dict[str, list[int]] = defaultdict(list)
    chains: dict[str, list[str]] = {}
    for index, span_id in owner.items():
        chain = chains.get(span_id)
        if chain is None:
            chain, seen, current = [], set(), span_id
            while current is not None and current not in seen:
                seen.add(current)
                chain.append(current)
                current = parent_of(current)
            chains[span_id] = chain
        for member in chain:
            inclusive[member].append(index)
    return inclusive

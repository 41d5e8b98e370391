"""One Perfetto/Chrome timeline of a run: agent, LLM and tool spans above kernels, ops and counters.

Each trace becomes a process whose threads are its agents (a span nests under its agent's track,
in extra lanes where concurrent spans would not nest); each kernels/<trace_id>.json follows as
its own processes, and metrics.jsonl becomes counter tracks. Everything is placed on one clock
by the HTA join rule: wall ns = baseTimeNanoseconds + ts * 1000.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from rootspan.errors import UserError
from rootspan.safe_write import write_atomic
from rootspan.metrics import load_metrics
from rootspan.model import Run, Span, StatusCode, Trace
from rootspan.profilers.chrome import read_chrome_trace

NO_AGENT = "(no agent)"
FLOW_ID_STRIDE = 10**12  # keeps flow-arrow ids of different kernel files apart


class _Ids:
    def __init__(self) -> None:
        self.next_pid = 1

    def pid(self) -> int:
        pid = self.next_pid
        self.next_pid += 1
        return pid


def _lanes(trace: Trace, spans: list[Span]) -> dict[str, int]:
    """Span id -> lane, so that every slice of a lane sits inside an ancestor span's slice or on its own.

    Chrome 'X' events on one track must nest, and nesting reads as parenthood, so a span only goes
    on top of a lane whose open slice is one of its ancestors; concurrent siblings get new lanes.
    """
    stacks: list[list[tuple[int, str]]] = []
    lane_of: dict[str, int] = {}
    for span in sorted(spans, key=lambda s: (s.start_ns, -s.end_ns)):
        ancestors = {ancestor.span_id for ancestor in trace.ancestors(span)}
        for lane, stack in enumerate(stacks):
            while stack and stack[-1][0] <= span.start_ns:
                stack.pop()
            if not stack or (stack[-1][1] in ancestors and stack[-1][0] >= span.end_ns):
                stack.append((span.end_ns, span.span_id))
                lane_of[span.span_id] = lane
                break
        else:
            stacks.append([(span.end_ns, span.span_id)])
            lane_of[span.span_id] = len(stacks) - 1
    return lane_of


def _us(time_ns: int, base_ns: int) -> float:
    return round((time_ns - base_ns) / 1000.0, 3)


def _scalar_args(span: Span) -> dict[str, Any]:
    args: dict[str, Any] = {"span_id": span.span_id, "trace_id": span.trace_id}
    if span.parent_span_id:
        args["parent_span_id"] = span.parent_span_id
    if span.step is not None:
        args["step"] = span.step
    if span.status_code == StatusCode.ERROR:
        args["status"] = "ERROR" + (f": {span.status_message}" if span.status_message else "")
    for key, value in span.attributes.items():
        if key.startswith(("rootspan.gpu.", "rootspan.cpu.", "gen_ai.usage.", "gen_ai.request.model")):
            args[key] = value
    return args


def _span_events(trace: Trace, pid: int, base_ns: int, sort_index: int) -> list[dict[str, Any]]:
    root = trace.root
    label = f"trace {trace.trace_id[:8]}" + (f" {root.name}" if root is not None else "")
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": label}},
        {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": sort_index}},
    ]
    by_agent: dict[str, list[Span]] = defaultdict(list)
    for span in trace.spans:
        by_agent[trace.agent_of(span) or NO_AGENT].append(span)
    # tracks in order of first appearance, the agent-less (workflow) track first
    order = sorted(by_agent, key=lambda agent: (agent != NO_AGENT, min(s.start_ns for s in by_agent[agent])))
    next_tid = 1
    for agent in order:
        lanes = _lanes(trace, by_agent[agent])
        tids = {}
        for lane in sorted(set(lanes.values())):
            tids[lane] = next_tid
            name = agent if lane == 0 else f"{agent} ({lane + 1})"
            events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": next_tid, "args": {"name": name}})
            events.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": next_tid, "args": {"sort_index": next_tid}})
            next_tid += 1
        for span in by_agent[agent]:
            event = {
                "ph": "X",
                "cat": span.kind.value if span.kind is not None else "other",
                "name": span.name,
                "pid": pid,
                "tid": tids[lanes[span.span_id]],
                "ts": _us(span.start_ns, base_ns),
                "dur": round(span.duration_ns / 1000.0, 3),
                "args": _scalar_args(span),
            }
            if span.is_error:
                event["cname"] = "terrible"
            events.append(event)
    return events


_PID_TYPES = (int, str)  # what a Chrome trace's pid may be; anything else cannot key a process


def _kernel_events(path: Path, trace_id: str, ids: _Ids, base_ns: int, file_index: int, sort_base: int,
                   warnings: list[str]) -> list[dict[str, Any]]:
    try:
        raw_events, file_base, _ = read_chrome_trace(path)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        warnings.append(f"{path.name}: not a readable Chrome trace, skipped ({exc})")
        return []
    pids: dict[Any, int] = {}
    out: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    for raw in raw_events:
        event = dict(raw)
        original = event.get("pid")
        if type(original) not in _PID_TYPES:
            skipped["pid"] = skipped.get("pid", 0) + 1
            continue
        if original not in pids:
            pids[original] = ids.pid()
            out.append({"ph": "M", "name": "process_sort_index", "pid": pids[original], "tid": 0,
                        "args": {"sort_index": sort_base + len(pids)}})
        event["pid"] = pids[original]
        if event.get("ph") == "M":
            if event.get("name") == "process_name":
                args = event.get("args")
                original_name = args.get("name", original) if isinstance(args, dict) else original
                event["args"] = {"name": f"trace {trace_id[:8]} kernels: {original_name}"}
            elif event.get("name") == "process_sort_index":
                continue
        if "ts" in event:
            try:
                # integer offset first: a double holding 1.8e18 ns is only 256 ns precise
                event["ts"] = round(((file_base - base_ns) + float(event["ts"]) * 1000.0) / 1000.0, 3)
            except (TypeError, ValueError, OverflowError):
                skipped["ts"] = skipped.get("ts", 0) + 1
                continue
        if event.get("ph") in ("s", "f", "t") and type(event.get("id")) is int:
            event["id"] = event["id"] + file_index * FLOW_ID_STRIDE
        out.append(event)
    for original, pid in pids.items():
        if not any(e.get("pid") == pid and e.get("name") == "process_name" for e in out):
            out.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                        "args": {"name": f"trace {trace_id[:8]} kernels: {original}"}})
    for field_name, count in skipped.items():
        warnings.append(f"{path.name}: {count} events whose {field_name} is not usable skipped")
    return out


def _counter_events(run: Run, pid: int, base_ns: int, warnings: list[str]) -> list[dict[str, Any]]:
    if run.metrics_path is None:
        return []
    points = load_metrics(run.metrics_path, warnings)
    if not points:
        return []
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": "device and host counters"}},
        {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": 10**6}},
    ]
    skipped = 0
    for point in points:
        if not math.isfinite(point.value):  # NaN/Infinity are not JSON: Perfetto would reject the file
            skipped += 1
            continue
        device = point.attributes.get("hw.id")
        name = f"{point.name} ({device})" if device else point.name
        if point.unit:
            name += f" [{point.unit}]"
        events.append({"ph": "C", "name": name, "pid": pid, "tid": 0, "ts": _us(point.time_ns, base_ns),
                       "args": {"value": point.value}})
    if skipped:
        warnings.append(f"{run.metrics_path.name}: {skipped} samples that are NaN or infinite skipped")
    return events


def _start_at_zero(events: list[dict[str, Any]], base_ns: int) -> int:
    """Shift every timestamp so the earliest is 0 and return the matching baseTimeNanoseconds.

    The device sampler starts before the first span (and a profiling window can open before its
    trace's root span), so relative to the first trace some samples would sit at negative times,
    which Perfetto draws before the timeline's origin. Moving the base keeps the join rule
    (wall ns = baseTimeNanoseconds + ts * 1000) exact for every event.
    """
    earliest = min((float(event["ts"]) for event in events if "ts" in event), default=0.0)
    if earliest >= 0:
        return base_ns
    # timestamps are whole ns already (µs with 3 decimals): round, not floor, since -12.346 µs
    # times 1000 may come out as -12346.0000001 and a floor would leave the earliest at 0.001
    shift_ns = int(round(earliest * 1000.0))
    for event in events:
        if "ts" in event:
            event["ts"] = round(float(event["ts"]) - shift_ns / 1000.0, 3)
    return base_ns + shift_ns


def _without_non_finite(value: Any) -> Any:
    """A copy with NaN/Infinity floats as null (they may come from span attributes or kernel files)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _without_non_finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_non_finite(item) for item in value]
    return value


def build_timeline(run: Run) -> tuple[dict[str, Any], dict[str, int]]:
    """The Chrome-trace document for a loaded run, and counts of what went in."""
    warnings: list[str] = []
    traces = sorted(run.traces.values(), key=lambda trace: trace.start_ns)
    if not traces:
        raise UserError(f"{run.path}: no spans to export")
    base_ns = min(trace.start_ns for trace in traces)
    ids = _Ids()
    events: list[dict[str, Any]] = []
    counts = {"traces": len(traces), "spans": 0, "kernel_files": 0, "kernel_events": 0, "counter_samples": 0}
    for index, trace in enumerate(traces):
        sort_base = (index + 1) * 1000
        events.extend(_span_events(trace, ids.pid(), base_ns, sort_base))
        counts["spans"] += len(trace.spans)
        path = run.kernel_files.get(trace.trace_id)
        if path is not None:
            kernel = _kernel_events(path, trace.trace_id, ids, base_ns, index + 1, sort_base, warnings)
            if kernel:
                counts["kernel_files"] += 1
                counts["kernel_events"] += sum(1 for e in kernel if e.get("ph") != "M")
            events.extend(kernel)
    counters = _counter_events(run, ids.pid(), base_ns, warnings)
    counts["counter_samples"] = sum(1 for e in counters if e.get("ph") == "C")
    events.extend(counters)
    base_ns = _start_at_zero(events, base_ns)
    document = {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "baseTimeNanoseconds": base_ns,
        "otherData": {"source": "rootspan export perfetto", "run": str(run.path)},
    }
    run.warnings.extend(warnings)
    return document, counts


def export_perfetto(run: Run, output: Path) -> dict[str, Any]:
    """Write the timeline of a loaded run to ``output``; returns what was written."""
    document, counts = build_timeline(run)
    if output.parent and not output.parent.exists():
        raise UserError(f"{output.parent}: no such directory")
    try:
        try:
            text = json.dumps(document, separators=(",", ":"), allow_nan=False)
        except ValueError:  # strict JSON only: browsers' JSON.parse rejects NaN and Infinity
            text = json.dumps(_without_non_finite(document), separators=(",", ":"), allow_nan=False)
        write_atomic(output, text)  # a symlink planted at FILE is replaced, its target never written
    except UserError:
        raise
    except OSError as exc:
        raise UserError(f"{output}: cannot write ({exc.strerror or exc})") from exc
    return {"output": str(output), **counts}

"""The span detail's content, as Rich Text built from untrusted span data without parsing markup.

Every string that came from the traced app goes through ``printable`` and into ``Text.append``
(never into a markup string), so ``[link=...]``, ANSI escapes and control characters show as the
characters they are. GPU series are cut from metrics.jsonl to the span's time window.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from rootspan import semconv as sc
from rootspan.model import MetricPoint, Span, Trace
from rootspan.text import format_duration, printable
from rootspan.tui.units import format_bytes, number, with_unit

GPU_PREFIX = sc.ROOTSPAN_GPU_PREFIX
CPU_PREFIX = sc.ROOTSPAN_CPU_PREFIX
MESSAGE_KEYS = (
    (sc.GEN_AI_INPUT_MESSAGES, "input messages"),
    (sc.GEN_AI_OUTPUT_MESSAGES, "output messages"),
    (sc.GEN_AI_TOOL_CALL_ARGUMENTS, "tool arguments"),
    (sc.GEN_AI_TOOL_CALL_RESULT, "tool result"),
    (sc.ROOTSPAN_OUTPUT, "output"),
)
# Shown in their own sections, so left out of the attribute list.
_SECTION_KEYS = {key for key, _ in MESSAGE_KEYS}
# Metric names (OTel hardware semconv, hw.gpu.*) for each sparkline, first match wins.
SERIES = {
    "utilisation": ("hw.gpu.utilization",),
    "memory": ("hw.gpu.memory.usage", "hw.gpu.memory.utilization"),
    "power": ("hw.power", "hw.gpu.power"),
}
_STATUS = {0: "unset", 1: "ok", 2: "error"}


def plain(value: Any, keep_newlines: bool = False) -> str:
    """Any attribute value as safe text: lists joined, everything escaped."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(item) for item in value)
    return printable(value, keep_newlines=keep_newlines)


def header(trace: Trace, span: Span) -> Text:
    text = Text()
    text.append(printable(span.name) or "(unnamed)", "bold")
    text.append("\n")
    agent = trace.agent_of(span)
    facts = [
        ("kind", span.kind.value if span.kind else "other"),
        ("agent", printable(agent) if agent else "-"),
        ("step", "-" if span.step is None else str(span.step)),
        ("duration", format_duration(span.duration_ns)),
        ("start", f"+{format_duration(max(0, span.start_ns - trace.start_ns))}"),
        ("status", _STATUS.get(int(span.status_code), "unset")),
    ]
    for index, (key, value) in enumerate(facts):
        if index:
            text.append("  ")
        text.append(f"{key} ", "dim")
        text.append(value, "bold red" if key == "status" and span.is_error else "")
    if span.status_message:
        text.append("\n")
        text.append("status message ", "dim")
        text.append(printable(span.status_message), "red")
    text.append("\n")
    text.append("span ", "dim")
    text.append(span.span_id)
    text.append("  parent ", "dim")
    text.append(span.parent_span_id or "-")
    if span.inputs:
        text.append("  consumed ", "dim")
        text.append(printable(", ".join(span.inputs)))
    return text


def attributes_text(span: Span) -> Text:
    """key = value lines, sorted, with content and profile attributes left to their own panels."""
    text = Text()
    keys = sorted(
        key for key in span.attributes if key not in _SECTION_KEYS and not key.startswith((GPU_PREFIX, CPU_PREFIX))
    )
    for key in keys:
        text.append(printable(key), "bold")
        text.append(" = ")
        _value_with_unit(text, key, span.attributes[key])
        text.append("\n")
    if span.resource:
        text.append("resource: ", "dim")
        text.append(plain(", ".join(f"{k}={v}" for k, v in sorted(span.resource.items()))))
        text.append("\n")
    if not keys and not span.resource:
        text.append("no attributes", "dim")
    return text


def _pretty_content(raw: Any) -> str:
    """Messages are JSON strings; show them indented when they parse, as they came otherwise."""
    if isinstance(raw, str):
        try:
            return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):  # RecursionError: untrusted JSON nested thousands deep
            return raw
    try:
        return json.dumps(raw, indent=2, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return str(raw)


def messages_text(span: Span) -> Text | None:
    """Captured messages, tool arguments/results and outputs, as plain text; None if none captured."""
    text = Text()
    for key, title in MESSAGE_KEYS:
        if key not in span.attributes:
            continue
        text.append(f"{title} ({key})\n", "bold underline")
        text.append(printable(_pretty_content(span.attributes[key]), keep_newlines=True))
        text.append("\n\n")
    return text if text.plain else None


def errors_text(span: Span) -> Text | None:
    """Exception events with type, message and stack; None when the span raised nothing."""
    events = span.exception_events
    if not events and not span.is_error:
        return None
    text = Text()
    if not events:
        text.append("status ERROR", "bold red")
        text.append(": ")
        text.append(printable(span.status_message) or "(no message)")
        return text
    for event in events:
        attrs = event.attributes
        text.append(printable(attrs.get("exception.type", "exception")), "bold red")
        text.append(": ")
        text.append(printable(attrs.get("exception.message", "")))
        text.append("\n")
        stack = attrs.get("exception.stacktrace")
        if stack:
            text.append(printable(stack, keep_newlines=True), "dim")
            text.append("\n")
    return text


@dataclass
class GpuSeries:
    """One sparkline's samples inside the span, with a summary for its label."""

    title: str
    metric: str
    values: list[float]
    unit: str

    def summary(self) -> str:
        if not self.values:
            return f"{self.title}: no samples"
        low, high = min(self.values), max(self.values)
        mean = sum(self.values) / len(self.values)
        return f"{self.title} ({self.metric}, {len(self.values)} samples): mean {_num(mean, self.unit)}, max {_num(high, self.unit)}, min {_num(low, self.unit)}"


def _num(value: float, unit: str) -> str:
    if unit in ("By", "bytes"):
        return _bytes(value)
    if unit == "1" and value <= 1.0:
        return f"{value * 100:.0f}%"
    text = f"{value:.3g}"
    return f"{text} {unit}" if unit and unit != "1" else text


_bytes = format_bytes


def gpu_series(span: Span, points: list[MetricPoint]) -> list[GpuSeries]:
    """Samples of each series within [start, end] of the span (first device only, if several)."""
    series: list[GpuSeries] = []
    inside = [point for point in points if span.start_ns <= point.time_ns <= span.end_ns]
    for title, names in SERIES.items():
        for name in names:
            matching = [point for point in inside if point.name == name]
            if not matching:
                continue
            device = _device(matching[0])
            values = [point.value for point in matching if _device(point) == device]
            series.append(GpuSeries(title, name, values, matching[0].unit))
            break
    return series


def _device(point: MetricPoint) -> Any:
    return point.attributes.get("hw.id", point.attributes.get("gpu", None))


_number = number


def _duration_of(value: Any) -> str:
    number = _number(value)
    return format_duration(int(number)) if number is not None else plain(value)


def _bytes_of(value: Any) -> str:
    number = _number(value)
    return _bytes(number) if number is not None else plain(value)


def gpu_text(span: Span) -> Text | None:
    """The span's rootspan.gpu.* / rootspan.cpu.* aggregates: kernels, memory, throttling, experts."""
    attrs = {key: value for key, value in span.attributes.items() if key.startswith((GPU_PREFIX, CPU_PREFIX))}
    if not attrs:
        return None
    text = Text()

    def line(label: str, value: str, style: str = "") -> None:
        text.append(f"{label}: ", "bold")
        text.append(value, style)
        text.append("\n")

    def gpu(name: str) -> Any:
        return attrs.get(GPU_PREFIX + name)

    if gpu("device_name") is not None:
        line("device", plain(gpu("device_name")))
    if gpu("kernel_time_ns") is not None:
        kernel = f"{_duration_of(gpu('kernel_time_ns'))} in {plain(gpu('kernel_count') or '?')} kernels"
        if gpu("busy_fraction") is not None:
            busy = _number(gpu("busy_fraction"))
            kernel += f", busy {busy * 100:.0f}%" if busy is not None else f", busy {plain(gpu('busy_fraction'))}"
        if gpu("launch_overhead_ns") is not None:
            kernel += f", launch overhead {_duration_of(gpu('launch_overhead_ns'))}"
        if gpu("sync_count") is not None:
            kernel += f", {plain(gpu('sync_count'))} syncs"
        line("kernels", kernel)
    top = gpu("top_kernels")
    if top:
        for entry in _top_kernels(top):
            text.append("  ")
            text.append(entry)
            text.append("\n")
    if gpu("mem.peak_allocated_bytes") is not None:
        memory = f"peak {_bytes_of(gpu('mem.peak_allocated_bytes'))} allocated"
        if gpu("mem.peak_reserved_bytes") is not None:
            memory += f", {_bytes_of(gpu('mem.peak_reserved_bytes'))} reserved"
        if gpu("mem.total_bytes") is not None:
            memory += f" of {_bytes_of(gpu('mem.total_bytes'))}"
        line("memory", memory)
    if gpu("oom"):
        line("out of memory", "yes", "bold red")
    throttle = gpu("throttle_reasons")
    if throttle:
        line("throttled", plain(throttle), "bold yellow")
    expert_load = gpu("moe.tokens_per_expert")
    if gpu("moe.imbalance_max") is not None or expert_load:
        imbalance = gpu("moe.imbalance_max")
        number = _number(imbalance)
        shown_imbalance = f"{number:.2f}" if number is not None else plain(imbalance)
        line("expert load", f"imbalance max {shown_imbalance}" if imbalance is not None else "")
        if expert_load:
            text.append(_expert_bars(expert_load))
    shown = {
        "device_name", "kernel_time_ns", "kernel_count", "busy_fraction", "launch_overhead_ns", "sync_count",
        "top_kernels", "mem.peak_allocated_bytes", "mem.peak_reserved_bytes", "mem.total_bytes", "oom",
        "throttle_reasons", "moe.tokens_per_expert", "moe.imbalance_max",
    }
    for key in sorted(attrs):
        if key.startswith(GPU_PREFIX) and key[len(GPU_PREFIX):] in shown:
            continue
        text.append(printable(key), "dim")
        text.append(" = ")
        _value_with_unit(text, key, attrs[key])
        text.append("\n")
    return text


def _value_with_unit(text: Text, key: str, value: Any) -> None:
    """'1.23s (1234567890)': the unit the key names (tui/units.py), the raw figure dim beside it."""
    shown = with_unit(key, value)
    if shown is None:
        text.append(plain(value))
        return
    text.append(shown)
    text.append(f"  ({plain(value)})", "dim")


def _top_kernels(raw: Any) -> list[str]:
    """``rootspan.gpu.top_kernels`` (JSON list of {name, time_ns, count}) as short lines."""
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except (ValueError, RecursionError):
        return [printable(raw)]
    lines = []
    for item in items[:5] if isinstance(items, list) else []:
        if isinstance(item, dict):
            name = printable(item.get("name", "?"))[:60]
            time_ns = item.get("time_ns", item.get("total_ns"))
            finite = isinstance(time_ns, (int, float)) and math.isfinite(time_ns)
            duration = format_duration(int(time_ns)) if finite else "?"
            lines.append(f"{duration:>8}  x{printable(item.get('count', '?'))[:12]}  {name}")
        else:
            lines.append(printable(item)[:80])
    return lines


def _expert_bars(raw: Any) -> Text:
    """Tokens per expert (per layer) as one bar row per layer: the skew is visible at a glance."""
    text = Text()
    try:
        layers = json.loads(raw) if isinstance(raw, str) else raw
    except (ValueError, RecursionError):
        text.append(printable(raw))
        return text
    if layers and isinstance(layers, list) and not isinstance(layers[0], list):
        layers = [layers]
    blocks = " ▁▂▃▄▅▆▇█"
    for index, layer in enumerate(layers[:8] if isinstance(layers, list) else []):
        if not isinstance(layer, list):  # a malformed entry in untrusted data: skip it, draw the rest
            continue
        counts = [max(0.0, float(value)) for value in layer
                  if isinstance(value, (int, float)) and math.isfinite(value)]
        if not counts:
            continue
        top = max(counts) or 1.0
        bar = "".join(blocks[min(8, int(value / top * 8))] for value in counts[:64])
        text.append(f"  layer {index:>2} ", "dim")
        text.append(bar, "cyan")
        text.append("\n")
    return text

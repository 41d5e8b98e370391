"""What the UI shows about a run, computed once off the UI thread: trace summaries and verdicts.

Widgets only display these objects; everything that walks 100k spans happens here, inside the
loading worker, so the first screen never waits on the event loop.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from rootspan import semconv as sc
from rootspan.errors import UserError
from rootspan.model import Run, Span, StatusCode, Trace, Verdict

if TYPE_CHECKING:
    from rootspan.attribution.slow_traces import SlowTrace

GPU_KERNEL_TIME = "rootspan.gpu.kernel_time_ns"
# How far into a traces file the cheap pre-flight check looks for an OTLP object.
SNIFF_BYTES = 1 << 20


@dataclass
class TraceSummary:
    """One row of the traces list."""

    trace_id: str
    name: str
    status: str
    start_ns: int
    duration_ns: int
    agents: list[str]
    steps: int
    errors: int
    input_tokens: int
    output_tokens: int
    gpu_time_ns: int | None
    verdict: Verdict | None = None
    slow: "SlowTrace | None" = None  # much slower than its peers (attribution.slow_traces)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(repr=False)
class RunView:
    """A loaded run plus what the UI derived from it."""

    run: Run
    summaries: list[TraceSummary]
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    verdict_note: str = ""

    @property
    def label(self) -> str:
        return str(self.run.path)

    def __repr__(self) -> str:  # the default would print every span (workers and logs repr it)
        return f"RunView({self.label!r}, {self.run.span_count} spans)"

    def trace(self, trace_id: str) -> Trace:
        return self.run.traces[trace_id]

    def slow_of(self, trace_id: str, verdict: Verdict | None = None) -> "SlowTrace | None":
        """The trace's slow finding, its reason taken from ``verdict`` when it had none yet."""
        summary = next((item for item in self.summaries if item.trace_id == trace_id), None)
        slow = summary.slow if summary is not None else None
        if slow is not None and slow.bound_by is None and verdict is not None and trace_id in self.run.traces:
            from rootspan.attribution.slow_traces import with_bottleneck

            slow = with_bottleneck(slow, self.run.traces[trace_id], verdict)
        return slow


@dataclass(repr=False)
class ViewData:
    """Everything ``rootspan view`` loaded: one run, or a baseline and a candidate for diff mode."""

    primary: RunView
    candidate: RunView | None = None

    @property
    def diff_mode(self) -> bool:
        return self.candidate is not None

    def __repr__(self) -> str:
        return f"ViewData({self.primary!r}, {self.candidate!r})"


def check_traces_path(path: Path) -> Path:
    """A cheap pre-flight check, before the UI starts: the path exists and looks like OTLP JSON.

    The full parse happens later in a worker; this only reads the first megabyte, so that a
    wrong path fails as a one-line error instead of an empty screen.
    """
    from rootspan.rundir import resolve_traces_path

    traces_path = resolve_traces_path(path)
    if not traces_path.is_file():
        raise UserError(f"{path}: not a file or run directory")
    try:
        with traces_path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise UserError(f"{traces_path}: cannot read ({exc.strerror or exc})") from exc
    if head.strip() and b'"resourceSpans"' not in head:
        raise UserError(f"{traces_path}: not an OTLP JSON Lines traces file")
    return traces_path


def _int_attr(span: Span, key: str) -> int:
    value = span.attributes.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0
    return int(value)


def outermost_gpu_time(trace: Trace) -> int | None:
    """Kernel time summed over the outermost spans that carry it, so nested spans are not counted twice."""
    timed = {span.span_id: span for span in trace.spans if GPU_KERNEL_TIME in span.attributes}
    if not timed:
        return None
    by_id = trace.by_id
    total = 0
    for span in timed.values():
        seen = {span.span_id}
        parent_id = span.parent_span_id
        covered = False
        while parent_id and parent_id in by_id and parent_id not in seen:
            if parent_id in timed:
                covered = True
                break
            seen.add(parent_id)
            parent_id = by_id[parent_id].parent_span_id
        if not covered:
            total += _int_attr(span, GPU_KERNEL_TIME)
    return total


def trace_status(trace: Trace) -> str:
    """``success``/``failure`` as recorded; else ``error`` (failed by its root's status) or ``ok``.

    ``failure`` and ``error`` are exactly the traces ``Trace.failed`` calls failed, the definition
    ``attribute`` and ``report`` use too; an inner error the run recovered from leaves it ``ok``
    (the errors column still counts it).
    """
    recorded = trace.recorded_outcome
    if recorded is not None:
        return recorded
    return "error" if trace.failed else "ok"


def summarize_trace(trace: Trace, verdict: Verdict | None = None) -> TraceSummary:
    """One pass over a trace's spans for the traces list (Trace's own helpers would make five)."""
    errors = input_tokens = output_tokens = 0
    start_ns = min((span.start_ns for span in trace.spans), default=0)
    end_ns = start_ns
    agents: dict[str, None] = {}
    for span in trace.spans:
        if span.status_code == StatusCode.ERROR and not trace.is_outcome_status(span):
            errors += 1
        attributes = span.attributes
        if sc.GEN_AI_USAGE_INPUT_TOKENS in attributes:
            input_tokens += _int_attr(span, sc.GEN_AI_USAGE_INPUT_TOKENS)
        if sc.GEN_AI_USAGE_OUTPUT_TOKENS in attributes:
            output_tokens += _int_attr(span, sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        if span.end_ns > end_ns:
            end_ns = span.end_ns
        agent = span.agent_name
        if agent is not None:
            agents.setdefault(agent, None)
    root = trace.root
    return TraceSummary(
        trace_id=trace.trace_id,
        name=root.name if root is not None else "",
        status=trace_status(trace),
        start_ns=start_ns,
        duration_ns=max(0, end_ns - start_ns),
        agents=list(agents),
        steps=len(trace.spans),
        errors=errors,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        gpu_time_ns=outermost_gpu_time(trace),
        verdict=verdict,
    )


def build_run_view(run: Run) -> RunView:
    """Summaries plus the verdicts ``rootspan attribute`` saved next to the run, if any."""
    from rootspan.rundir import read_verdicts

    verdicts: dict[str, Verdict] = {}
    note = ""
    if run.path.is_dir():
        try:
            verdicts = {verdict.trace_id: verdict for verdict in read_verdicts(run.path)}
        except UserError as exc:
            note = str(exc)
    summaries = [summarize_trace(trace, verdicts.get(trace.trace_id)) for trace in run.trace_list()]
    view = RunView(run=run, summaries=summaries, verdicts=verdicts, verdict_note=note)
    mark_slow(view)
    return view


def mark_slow(view: RunView, computed: dict[str, Verdict] | None = None) -> None:
    """Set each summary's ``slow`` (durations only; the bottleneck from whichever verdict is known).

    Durations against peers need no engine run, so slow traces show on the first screen; the
    reason (the primary bottleneck) comes with the verdict, saved or computed later.
    """
    try:
        from rootspan.attribution.slow_traces import find_slow_traces
    except ImportError:  # the UI works without the attribution engine installed
        return
    known = {**(computed or {}), **view.verdicts}
    slow = {item.trace_id: item for item in find_slow_traces(view.run, list(known.values()))}
    for summary in view.summaries:
        summary.slow = slow.get(summary.trace_id)


def load_view_data(path: Path, candidate: Path | None = None, merge: Sequence[Path] = ()) -> ViewData:
    """Load one run (or two, for diff mode); slow for big runs, so callers run it in a worker.

    ``merge``: more run directories holding parts of the first run's traces (a model server's),
    merged into it by trace id."""
    from rootspan.merge import load_runs
    from rootspan.rundir import load_run

    primary = build_run_view(load_runs([path, *merge]))
    second = build_run_view(load_run(candidate)) if candidate is not None else None
    return ViewData(primary=primary, candidate=second)

"""Traces much slower than their peers (or than the baseline), each with the bottleneck to blame.

A failure names itself (an error status, a wrong answer); a slowdown does not: a run summary
that says "10 traces, 0 failed" hides the one trace that took ten times as long. This module
picks such traces out of a run so the summary can name them next to the failures.

Without a baseline a trace is compared with its *peers*: the run's traces with the same root span
name (the same kind of task), or all of the run's traces when fewer than ``MIN_PEERS`` share its
name. Durations of agent runs are skewed (a few long ones are normal), so the comparison is on
log durations with the median and the median absolute deviation (MAD), which one outlier cannot
move (a mean and standard deviation would be dragged towards the very trace being tested). A
trace is slow when it is at least ``SLOW_RATIO`` times its peers' median, more than
``MAD_THRESHOLD`` robust standard deviations above it, and ``MIN_EXCESS_NS`` longer in absolute
terms. With a baseline, each trace is compared with its matching baseline trace (the same
pairing ``attribute_run`` uses) on the ratio and the absolute excess.

The reason given for each slow trace is the verdict's first bottleneck: the engine's primary
bottleneck (``slowdown.primary_bottleneck``), the same one the one-line report shows.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, replace
from typing import Any

from rootspan import semconv as sc
from rootspan.model import Run, Trace, Verdict

# "Much slower": twice the typical duration is a slowdown a user wants named; smaller excesses
# are within what the same task varies by across LLM calls.
SLOW_RATIO = 2.0
# Modified z-score cut-off (Iglewicz and Hoaglin's 3.5) on log durations: 1.4826 * MAD estimates
# the standard deviation of normal data, so this keeps a noisy group of peers from flagging its
# ordinary long tail.
MAD_THRESHOLD = 3.5
MAD_SCALE = 1.4826
# Fewer peers than this and a median says little: fall back to all of the run's traces.
MIN_PEERS = 4
# Ignore excesses under 50 ms (the report's latency_min_ms): microsecond traces are not slow.
MIN_EXCESS_NS = 50_000_000


@dataclass(frozen=True)
class SlowTrace:
    """One trace much slower than its reference, and the bottleneck the engine blames."""

    trace_id: str
    duration_ns: int
    reference_ns: int  # the peers' median duration, or the matching baseline trace's duration
    ratio: float
    against: str  # "peers" or "baseline"
    span_id: str | None = None
    step: int | None = None
    agent: str | None = None
    name: str | None = None
    bound_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = round(self.ratio, 2)
        return data


@dataclass(frozen=True)
class _Peers:
    """A group's reference on log durations: median and robust spread (1.4826 x MAD)."""

    centre: float
    spread: float
    size: int

    @classmethod
    def of(cls, durations: list[int]) -> "_Peers":
        logs = [math.log(value) for value in durations if value > 0]
        if not logs:
            return cls(0.0, 0.0, 0)
        centre = statistics.median(logs)
        return cls(centre, MAD_SCALE * statistics.median(abs(value - centre) for value in logs), len(logs))

    def judge(self, duration: int) -> tuple[bool, int]:
        """(is slow, the peers' median in ns)."""
        if self.size < MIN_PEERS or duration <= 0:
            return False, 0
        median_ns = int(math.exp(self.centre))
        excess = math.log(duration) - self.centre
        slow = excess >= math.log(SLOW_RATIO) and excess > MAD_THRESHOLD * self.spread and duration - median_ns >= MIN_EXCESS_NS
        return slow, median_ns


def _peer_groups(traces: list[Trace]) -> dict[str, _Peers]:
    """Trace id -> its peers' reference (same root name, else the whole run), itself included.

    Each group's median and MAD are computed once: per trace, it would be quadratic in the run.
    """
    by_name: dict[str, list[Trace]] = {}
    for trace in traces:
        root = trace.root
        by_name.setdefault(root.name if root is not None else "", []).append(trace)
    everyone: _Peers | None = None
    groups: dict[str, _Peers] = {}
    for members in by_name.values():
        if len(members) >= MIN_PEERS:
            peers = _Peers.of([trace.duration_ns for trace in members])
        else:
            everyone = everyone or _Peers.of([trace.duration_ns for trace in traces])
            peers = everyone
        for trace in members:
            groups[trace.trace_id] = peers
    return groups


def with_bottleneck(found: SlowTrace, trace: Trace, verdict: Verdict | None) -> SlowTrace:
    """The finding with the verdict's first bottleneck (the engine's primary one) as its reason."""
    top = verdict.bottlenecks[0] if verdict is not None and verdict.bottlenecks else None
    if top is None:
        return found
    span = trace.get(top.span_id)
    return replace(
        found, span_id=top.span_id, bound_by=top.bound_by, name=top.name or (span.name if span is not None else None),
        step=span.step if span is not None else None, agent=top.agent or (trace.agent_of(span) if span is not None else None),
    )


def _baseline_match(trace: Trace, baseline: Run, index: int) -> Trace | None:
    """The same pairing as ``attribute_run``: the same trace id, else the trace at the same position."""
    if trace.trace_id in baseline.traces:
        return baseline.traces[trace.trace_id]
    candidates = baseline.trace_list()
    return candidates[min(index, len(candidates) - 1)] if candidates else None


def _timed(trace: Trace) -> bool:
    """False for traces whose timestamps an importer made up (``rootspan.timing = synthetic``)."""
    root = trace.root
    return root is None or root.attributes.get(sc.ROOTSPAN_TIMING) != sc.TIMING_SYNTHETIC


def _profiled(trace: Trace) -> bool:
    """Whether kernel/op profiling covered some of the trace's spans (``rootspan.profile.coverage``):
    such a trace paid the profiler's overhead (the default demo profiles each agent's first call)."""
    return any(sc.ROOTSPAN_PROFILE_COVERAGE in span.attributes for span in trace.spans)


def find_slow_traces(run: Run, verdicts: list[Verdict], baseline: Run | None = None) -> list[SlowTrace]:
    """The run's slow traces, slowest (by ratio) first, each with its verdict's first bottleneck.

    Traces with synthetic timing (Who&When imports) are neither judged nor anyone's peers. A
    kernel-profiled trace is compared only with profiled ones (peers or its baseline match): next
    to unprofiled traces it is slow by the profiler's own cost, not the app's.
    """
    traces = [trace for trace in run.trace_list() if _timed(trace)]
    by_id = {verdict.trace_id: verdict for verdict in verdicts}
    found: list[SlowTrace] = []
    if baseline is not None and baseline.traces:
        for index, trace in enumerate(run.trace_list()):  # positions as attribute_run pairs them
            if not _timed(trace):
                continue
            match = _baseline_match(trace, baseline, index)
            if match is None or match.duration_ns <= 0 or not _timed(match) or _profiled(match) != _profiled(trace):
                continue
            ratio = trace.duration_ns / match.duration_ns
            if ratio >= SLOW_RATIO and trace.duration_ns - match.duration_ns >= MIN_EXCESS_NS:
                found.append(SlowTrace(trace.trace_id, trace.duration_ns, match.duration_ns, ratio, "baseline"))
    else:
        profiled = {trace.trace_id for trace in traces if _profiled(trace)}
        groups = {**_peer_groups([t for t in traces if t.trace_id not in profiled]),
                  **_peer_groups([t for t in traces if t.trace_id in profiled])}
        for trace in traces:
            slow, median_ns = groups[trace.trace_id].judge(trace.duration_ns)
            if slow:
                found.append(SlowTrace(trace.trace_id, trace.duration_ns, median_ns, trace.duration_ns / median_ns, "peers"))
    found.sort(key=lambda item: -item.ratio)
    return [with_bottleneck(item, run.traces[item.trace_id], by_id.get(item.trace_id)) for item in found]


def slow_summary(run: Run, verdicts: list[Verdict], baseline: Run | None = None) -> dict[str, Any]:
    """The ``slow`` and ``slow_traces`` fields of verdicts.json's summary."""
    slow = find_slow_traces(run, verdicts, baseline)
    return {"slow": len(slow), "slow_traces": [item.to_json() for item in slow]}

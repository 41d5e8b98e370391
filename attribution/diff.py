"""Where a slower run lost its time against a baseline: per aligned step, the growth of its own time.

The two traces are aligned (``align.py``). For each step of the candidate on its critical path,
the delta is how much its self time grew against its baseline partner, capped at its time on the
candidate's critical path (time that grew off the critical path did not slow the run down); a
step with no partner (inserted) contributes all its critical-path time. The biggest deltas become
bottlenecks, classified by the candidate's bound_by, with evidence that names the baseline figure,
the share of the slowdown, and which profile numbers changed.
"""

from __future__ import annotations

from typing import Any

from rootspan.attribution.align import align_traces
from rootspan.attribution.bound_by import Profile, span_profile
from rootspan.attribution.slowdown import CriticalPath, own_time_ns
from rootspan.model import Bottleneck, Span, Trace
from rootspan.text import format_duration, printable, shorten

# A candidate less than 2% (and 1 ms) slower than its baseline has not regressed: run-to-run noise.
MIN_SLOWDOWN_FRACTION = 0.02
MIN_SLOWDOWN_NS = 1_000_000
# Steps explaining less than 5% of the slowdown are not worth a line.
MIN_DELTA_FRACTION = 0.05
MAX_BOTTLENECKS = 10
# Profile numbers shown as "was -> now" when they moved this much (relative), so evidence says
# what changed besides the time.
PROFILE_CHANGE = 0.25

# (attribute, label, formatter) of the profile numbers worth comparing
_COMPARED = (
    ("rootspan.gpu.busy_fraction", "GPU busy", "pct"),
    ("rootspan.gpu.kernel_count", "kernels", "int"),
    ("rootspan.gpu.sync_count", "host-device syncs", "int"),
    ("rootspan.gpu.moe.imbalance_max", "expert imbalance", "x"),
    ("rootspan.gpu.util.mean", "GPU utilisation (all processes)", "pct"),
    ("rootspan.gpu.sm_clock.mean_mhz", "SM clock MHz", "int"),
    ("rootspan.gpu.mem.peak_reserved_bytes", "peak GPU memory GiB", "gib"),
    ("rootspan.cpu.utilization", "process CPU", "pct"),
    ("rootspan.cpu.system_utilization", "machine CPU", "pct"),
)


def _format(value: float, style: str) -> str:
    if style == "pct":
        return f"{value * 100:.0f}%"
    if style == "x":
        return f"{value:.1f}x"
    if style == "gib":
        return f"{value / 2**30:.1f}"
    return f"{value:,.0f}"


def _profile_changes(base: Profile, cand: Profile) -> list[str]:
    changes: list[str] = []
    for name, label, style in _COMPARED:
        before = base.fraction(name) if style == "pct" else base.number(name)
        after = cand.fraction(name) if style == "pct" else cand.number(name)
        if before is None or after is None:
            continue
        scale = max(abs(before), abs(after))
        if scale > 0 and abs(after - before) / scale >= PROFILE_CHANGE:
            changes.append(f"{label} {_format(before, style)} -> {_format(after, style)}")
    return changes


def _growth(
    baseline: Trace, candidate: Trace, path: CriticalPath, min_delta_ns: float
) -> list[tuple[int, Span, Span | None]]:
    """(delta, candidate step, baseline partner) for every step on the candidate's critical path
    whose self time grew by at least ``min_delta_ns``, biggest first."""
    cand_time = path.time
    found: list[tuple[int, Span, Span | None]] = []
    for base, cand in align_traces(baseline, candidate):
        if cand is None or cand.span_id not in cand_time:
            continue
        on_path = cand_time[cand.span_id]
        if on_path < min_delta_ns or on_path <= 0:
            continue  # its delta is at most its time on the path
        if base is None:
            delta = on_path
        else:
            delta = min(on_path, own_time_ns(candidate, cand) - own_time_ns(baseline, base))
        if delta >= min_delta_ns and delta > 0:
            found.append((delta, cand, base))
    found.sort(key=lambda item: -item[0])
    return found


def _children_cause(candidate: Trace, path: CriticalPath, parent: Span) -> Any:
    """The cause of a reshaped step: what its children on the critical path were bound by, the
    one with the most time."""
    totals: dict[str, int] = {}
    best: dict[str, object] = {}
    for kid in candidate.children(parent.span_id):
        cause = path.dominant_cause(kid.span_id)
        if cause is not None:
            totals[cause.bound_by] = totals.get(cause.bound_by, 0) + path.time.get(kid.span_id, 0)
            best.setdefault(cause.bound_by, cause)
    if not totals:
        return path.dominant_cause(parent.span_id)
    return best[max(totals, key=lambda name: totals[name])]


def _union_ns(spans: list[Span]) -> int:
    """Wall time covered by the spans together (parallel ones count once)."""
    total, end = 0, None
    for span in sorted(spans, key=lambda s: s.start_ns):
        start, stop = span.start_ns, max(span.start_ns, span.end_ns)
        if end is None or start >= end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def _structural_growth(baseline: Trace, candidate: Trace, path: CriticalPath, min_delta_ns: float) -> list[tuple[int, Span, Span, str]]:
    """(delta, candidate parent, baseline parent, why) for steps whose *shape* changed.

    Two slowdowns live in a step's children, not in any one child: more calls than the baseline
    made (extra model turns, a retry loop), and calls that overlapped in the baseline now running
    one after another. Each child alone grew little or is "new"; the step that made the calls is
    what changed, and it is what a user has to fix.
    """
    partner: dict[str, Span | None] = {cand.span_id: base for base, cand in align_traces(baseline, candidate) if cand is not None}
    found: list[tuple[int, Span, Span, str]] = []
    for cand in candidate.spans:
        base = partner.get(cand.span_id)
        if base is None:
            continue
        kids = candidate.children(cand.span_id)
        if len(kids) < 2 or not any(kid.span_id in path.time for kid in kids):
            continue  # off the critical path: its shape did not slow the run
        base_kids = baseline.children(base.span_id)
        added = [kid for kid in kids if partner.get(kid.span_id) is None]
        added_ns = sum(path.time.get(kid.span_id, 0) for kid in added)
        if len(added) >= 2 and added_ns >= min_delta_ns:
            names = sorted({kid.name for kid in added})
            found.append((added_ns, cand, base, f"{len(added)} more calls than the baseline ({', '.join(printable(shorten(n, 30)) for n in names[:3])})"))
            continue
        if len(base_kids) < 2 or len(added) > 0:
            continue
        summed_growth = sum(k.duration_ns for k in kids) - sum(k.duration_ns for k in base_kids)
        lost_overlap = (_union_ns(kids) - _union_ns(base_kids)) - max(0, summed_growth)
        if lost_overlap >= min_delta_ns and _union_ns(base_kids) < 0.8 * sum(k.duration_ns for k in base_kids):
            found.append((lost_overlap, cand, base, f"its {len(kids)} calls ran one after another; they overlapped in the baseline"))
    return found


def growth_by_cause(baseline: Trace, candidate: Trace, path: CriticalPath | None = None) -> dict[str, int]:
    """Nanoseconds of critical-path growth per candidate bound_by, biggest first (every step, no cut-off)."""
    if path is None:
        path = CriticalPath(candidate)
    totals: dict[str, int] = {}
    for delta, cand, _ in _growth(baseline, candidate, path, 0):
        cause = path.dominant_cause(cand.span_id)
        if cause is not None:
            totals[cause.bound_by] = totals.get(cause.bound_by, 0) + delta
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def diff_bottlenecks(baseline: Trace, candidate: Trace, path: CriticalPath | None = None) -> list[Bottleneck]:
    """The steps that made ``candidate`` slower than ``baseline``; [] when it is not slower.

    ``path`` is the candidate's critical path when the caller has it already.
    """
    wall = candidate.duration_ns
    slowdown = wall - baseline.duration_ns
    if slowdown <= max(MIN_SLOWDOWN_NS, MIN_SLOWDOWN_FRACTION * baseline.duration_ns):
        return []
    if path is None:
        path = CriticalPath(candidate)
    base_path = CriticalPath(baseline)
    found = _growth(baseline, candidate, path, MIN_DELTA_FRACTION * slowdown)
    reshaped = _structural_growth(baseline, candidate, path, MIN_DELTA_FRACTION * slowdown)
    why: dict[str, str] = {}
    for delta, cand, base, reason in reshaped:
        # the parent replaces the children it explains
        inside = {kid.span_id for kid in candidate.children(cand.span_id)}
        found = [item for item in found if item[1].span_id not in inside and item[1].span_id != cand.span_id]
        found.append((delta, cand, base))
        why[cand.span_id] = reason
    found.sort(key=lambda item: -item[0])

    bottlenecks: list[Bottleneck] = []
    for delta, cand, base in found[:MAX_BOTTLENECKS]:
        label = printable(shorten(cand.name, 60))
        cause = _children_cause(candidate, path, cand) if cand.span_id in why else path.dominant_cause(cand.span_id)
        assert cause is not None  # every span in found is on the candidate's critical path
        bound_by = cause.bound_by
        if delta <= slowdown:
            share_of_slowdown = f"{delta / slowdown * 100:.0f}% of the +{format_duration(slowdown)} slowdown"
        else:  # other steps got faster meanwhile
            share_of_slowdown = f"more than the whole run's +{format_duration(slowdown)}: other steps got faster"
        if base is None:
            sentences = [f"{label}: {format_duration(cand.duration_ns)}, not in the baseline (+{format_duration(delta)}, {share_of_slowdown})"]
        else:
            sentences = [
                f"{label}: {format_duration(cand.duration_ns)} vs {format_duration(base.duration_ns)} in the baseline "
                f"(+{format_duration(delta)}, {share_of_slowdown})"
            ]
            was = base_path.dominant_cause(base.span_id)
            if was is not None and was.bound_by != bound_by:
                sentences.append(f"bound by {bound_by} now, {was.bound_by} in the baseline")
            changes = _profile_changes(span_profile(base), span_profile(cand))
            if changes:
                sentences.append("changed: " + ", ".join(changes))
            if cand.span_id in why:
                sentences.append(why[cand.span_id])
        sentences.extend(cause.evidence)
        bottlenecks.append(
            Bottleneck(
                span_id=cand.span_id,
                bound_by=bound_by,
                share=delta / wall,
                evidence=sentences,
                name=cand.name,
                agent=candidate.agent_of(cand),
                duration_ns=cand.duration_ns,
            )
        )
    return bottlenecks

"""Plain-text reports of verdicts and evaluations, every piece of trace text made printable first."""

from __future__ import annotations

from typing import Any

from rootspan.model import Bottleneck, Run, Verdict
from rootspan.text import format_duration, printable, shorten

MAX_BOTTLENECKS = 3  # the text report stays readable; the JSON keeps every bottleneck

PUBLISHED_ROWS = (
    ("Random", (29.1, 19.1, 12.0, 4.2)),
    ("All-at-Once (GPT-4o), w/ G", (54.3, 12.5, 55.2, 5.3)),
    ("Step-by-Step (GPT-4o), w/ G", (35.2, 25.5, 34.5, 7.0)),
    ("Binary search (GPT-4o), w/ G", (44.1, 24.0, 51.7, 6.9)),
    ("AgenTracer-8B, w/ G", (69.6, 42.9, 69.1, 20.7)),
)


def _step_label(run: Run, trace_id: str, span_id: str) -> str:
    trace = run.traces.get(trace_id)
    span = trace.get(span_id) if trace is not None else None
    if span is None or trace is None:
        return span_id
    step = "?" if span.step is None else str(span.step)
    return f"step {step} {printable(trace.agent_of(span) or shorten(span.name, 30))}"


def _bottleneck_line(run: Run, verdict: Verdict, bottleneck: Bottleneck, primary: bool = False) -> str:
    where = _step_label(run, verdict.trace_id, bottleneck.span_id)
    name = printable(shorten(bottleneck.name, 36)) if bottleneck.name else ""
    duration = format_duration(bottleneck.duration_ns) if bottleneck.duration_ns else ""
    mark = "  <- primary" if primary else ""
    return f"{100 * bottleneck.share:5.1f}%  {printable(bottleneck.bound_by):<22} {where}  {name}  {duration}".rstrip() + mark


def by_share(verdict: Verdict) -> list[Bottleneck]:
    """The verdict's bottlenecks by share, biggest first, for lists a user reads.

    verdicts.json keeps the engine's order (the primary bottleneck first, the one the one-line
    report names); a list is read as a ranking, so it is shown by share with the primary marked.
    """
    return sorted(verdict.bottlenecks, key=lambda bottleneck: -bottleneck.share)


def lineage_line(verdict: Verdict) -> str:
    """'28 in writer step 4 <- price_lookup step 3: '{"price": 7}'': the failing value back to its origin."""
    links = verdict.lineage
    if not links:
        return ""
    value = next((link.value for link in links if link.value), None)
    hops = []
    for link in links:
        who = link.agent or shorten(link.name, 30)
        step = "?" if link.step is None else link.step
        hops.append(f"{who} step {step}" + (" [introduced]" if link.role == "introduced" else ""))
    origin = links[-1]
    head = f"{shorten(value, 30)} in " if value else ""
    tail = f": '{shorten(origin.quote, 80)}'" if origin.quote else ""
    return printable(head + " <- ".join(hops) + tail)


def render_verdict(run: Run, verdict: Verdict, compared: bool = False) -> list[str]:
    if verdict.outcome == "success" and verdict.culprit is None:
        # a trace that worked: one line, its biggest bottleneck (details in --json); against a
        # baseline, also what changed, since that is the question asked
        top = verdict.bottlenecks[0] if verdict.bottlenecks else None
        tail = ""
        if top is not None:
            where = _step_label(run, verdict.trace_id, top.span_id)
            duration = f", {format_duration(top.duration_ns)}" if top.duration_ns else ""
            tail = f"  (primary bottleneck: {printable(top.bound_by)} {100 * top.share:.1f}% at {where}{duration})"
        lines = [f"trace {verdict.trace_id}  success{tail}"]
        if compared and top is not None and top.evidence:
            lines.append(f"    {printable(top.evidence[0])}")
        return lines
    lines = [f"trace {verdict.trace_id}  {printable(verdict.outcome)}"]
    culprit = verdict.culprit
    if verdict.outcome == "failure" and not verdict.determined:
        lines.append(f"  culprit     undetermined (confidence {verdict.confidence:.2f}); candidates, best first:")
        for rank, candidate in enumerate(verdict.alternatives, 1):
            step = "?" if candidate.step is None else candidate.step
            lines.append(
                f"    {rank}. step {step}  {printable(candidate.agent or '-')}  {printable(shorten(candidate.name, 40))}"
                f"  {candidate.confidence:.2f}  {printable(candidate.category or '')}".rstrip()
            )
            lines.extend(f"       - {printable(sentence)}" for sentence in candidate.evidence[:2])
    if culprit is not None:
        step = "?" if culprit.step is None else culprit.step
        lines.append(
            f"  culprit     step {step}  {printable(culprit.agent or '-')}  {printable(shorten(culprit.name, 50))}  (span {culprit.span_id})"
        )
        lines.append(f"  category    {printable(verdict.category or 'unknown')}   confidence {verdict.confidence:.2f}")
    if verdict.evidence:
        lines.append("  evidence")
        lines.extend(f"    - {printable(sentence)}" for sentence in verdict.evidence)
    if verdict.lineage:
        lines.append("  lineage     " + lineage_line(verdict))
    if len(verdict.path) > 1:
        labels = [_step_label(run, verdict.trace_id, span_id) for span_id in verdict.path]
        if len(labels) > 8:
            labels = labels[:4] + [f"... {len(labels) - 7} more ..."] + labels[-3:]
        lines.append("  failure path  " + " -> ".join(labels))
    if verdict.alternatives and verdict.determined:
        alternatives = "; ".join(
            f"step {'?' if alt.step is None else alt.step} {printable(alt.agent or '-')} {alt.confidence:.2f}"
            for alt in verdict.alternatives
        )
        lines.append(f"  alternatives  {alternatives}")
    if verdict.bottlenecks:
        primary = verdict.bottlenecks[0]
        ranked = by_share(verdict)
        shown = ranked[:MAX_BOTTLENECKS]
        if primary not in shown:  # the one the engine blames is always shown, last
            shown[-1] = primary
        more = len(verdict.bottlenecks) - len(shown)
        lines.append("  bottlenecks by share" + (f" (top {len(shown)} of {len(verdict.bottlenecks)}; --json has all)" if more else ""))
        for bottleneck in shown:
            marked = bottleneck is primary and bottleneck is not ranked[0]
            lines.append("    " + _bottleneck_line(run, verdict, bottleneck, marked))
            lines.extend(f"        {printable(sentence)}" for sentence in bottleneck.evidence[:2])
    return lines


def render_verdicts(run: Run, verdicts: list[Verdict], summary: dict[str, Any], compared: bool = False) -> str:
    """The text report; ``compared`` (a baseline was given) adds what changed to successful traces."""
    lines: list[str] = []
    for verdict in verdicts:
        block = render_verdict(run, verdict, compared)
        lines.extend(block)
        if len(block) > 1 and verdict.outcome != "success":
            lines.append("")
    agents = ", ".join(f"{printable(agent)} {count}" for agent, count in summary.get("culprit_agents", {}).items())
    lines.append(
        f"summary: {summary.get('traces', 0)} traces, {summary.get('failures', 0)} failed"
        + slow_part(summary)
        + (f"; culprits: {agents}" if agents else "")
    )
    return "\n".join(lines)


def slow_trace_phrase(item: dict[str, Any]) -> str:
    """'trace 3f2a… 10.3x its peers, step 4 (researcher) web_search, bound_by tool_io'."""
    against = "the baseline" if item.get("against") == "baseline" else "its peers"
    text = f"trace {printable(str(item.get('trace_id', '?'))[:12])} {item.get('ratio', 0):.1f}x {against}"
    if item.get("bound_by"):
        step = "?" if item.get("step") is None else item["step"]
        agent = f" ({printable(item['agent'])})" if item.get("agent") else ""
        name = f" {printable(shorten(str(item['name']), 36))}" if item.get("name") else ""
        text += f", step {step}{agent}{name}, bound_by {printable(item['bound_by'])}"
    return text


MAX_SLOW_NAMED = 3  # the summary line names this many slow traces, and counts the rest


def slow_part(summary: dict[str, Any]) -> str:
    """', 1 slow: trace … 10.3x its peers, …' for the summary line ('' when none is slow)."""
    slow = summary.get("slow_traces") or []
    if not slow:
        return ", 0 slow" if "slow" in summary else ""
    named = "; ".join(slow_trace_phrase(item) for item in slow[:MAX_SLOW_NAMED])
    more = f"; and {len(slow) - MAX_SLOW_NAMED} more (--json lists all)" if len(slow) > MAX_SLOW_NAMED else ""
    return f", {len(slow)} slow: {named}{more}"


def render_whowhen(result: dict[str, Any], priors: dict[str, dict[str, float]], with_truth: bool, split: str) -> str:
    lines = [
        f"Who&When, exact match, {'with' if with_truth else 'without'} the ground-truth answer, split: {split}",
        f"{'subset':<22}{'n':>4}{'agent':>9}{'step':>9}   tune (n agent step) / holdout (n agent step)",
    ]
    for subset, entry in result.items():
        if not entry["n"]:
            lines.append(f"{subset:<22}{0:>4}{'-':>9}{'-':>9}")
            continue
        splits = entry.get("splits", {})
        detail = " / ".join(
            f"{name} {part['n']} {100 * part['agent_accuracy']:.1f} {100 * part['step_accuracy']:.1f}"
            for name, part in splits.items()
        )
        lines.append(
            f"{subset:<22}{entry['n']:>4}{100 * entry['agent_accuracy']:>8.1f}%{100 * entry['step_accuracy']:>8.1f}%   {detail}"
        )
    lines.append("")
    lines.append("trivial priors measured on the same logs (%):")
    for name, subsets in priors.items():
        cells = ", ".join(f"{subset} {value:.1f}" for subset, value in subsets.items())
        lines.append(f"  {name:<28} {cells}")
    lines.append("")
    lines.append("published, full set (%):        AG agent  AG step  HC agent  HC step")
    for name, (ag_agent, ag_step, hc_agent, hc_step) in PUBLISHED_ROWS:
        lines.append(f"  {name:<30}{ag_agent:>8.1f}{ag_step:>9.1f}{hc_agent:>10.1f}{hc_step:>9.1f}")
    return "\n".join(lines)

"""rootspan's attribution engine: who broke a run, at which step, why, and where the time went.

``attribute_trace`` builds the graph of one trace once and runs the independent analyses on it
(failure attribution here, slowdown attribution from the slowdown module); ``attribute_run``
does that for every trace of a run, aligning each with the baseline run's trace when one is given.
"""

from __future__ import annotations

from typing import Any

from rootspan.model import Bottleneck, Run, Trace, Verdict
from rootspan.perf import gc_paused

__all__ = ["attribute_run", "attribute_trace", "summarize"]


def _slowdown(trace: Trace, graph: Any, baseline_trace: Trace | None) -> list[Bottleneck]:
    """Bottlenecks with the one to blame first, then the rest by share of the run's time.

    The biggest share is often ordinary work (the longest decode); the step a user should look at
    is the pathology or the outlier among its peers, which ``primary_bottleneck`` weighs up.
    """
    from rootspan.attribution.slowdown import analyze_slowdown, primary_bottleneck

    bottlenecks = list(analyze_slowdown(trace, graph=graph, baseline_trace=baseline_trace))
    primary = primary_bottleneck(trace, bottlenecks)
    if primary is not None and baseline_trace is None:
        bottlenecks.remove(primary)
        bottlenecks.insert(0, primary)
    return bottlenecks


def attribute_trace(
    trace: Trace,
    baseline_trace: Trace | None = None,
    judge: Any = None,
    scoring: Any = None,
    process: Any = None,
) -> Verdict:
    """One verdict for one trace: culprit and evidence when it failed, bottlenecks either way.

    ``process`` (a ``ProcessModel`` of the run's successful traces) lets the failure analysis
    spot handoffs and endings no successful trace shows; ``attribute_run`` builds it.
    """
    from rootspan.attribution.failure import analyze_failure, is_failure
    from rootspan.attribution.graph import build_graph

    with gc_paused():  # the graph is millions of small containers: GC passes would rescan them all
        graph = build_graph(trace)
        bottlenecks = _slowdown(trace, graph, baseline_trace)
        if not is_failure(graph):
            return Verdict(trace_id=trace.trace_id, outcome=trace.outcome or "success", bottlenecks=bottlenecks)
        finding = analyze_failure(graph, scoring, process=process)
    if judge is not None:
        from rootspan.attribution.judge import rescore

        finding = rescore(judge, graph, finding)
    return Verdict(
        trace_id=trace.trace_id,
        outcome="failure",
        culprit=finding.culprit,
        category=finding.category,
        confidence=finding.confidence,
        evidence=finding.evidence,
        path=finding.path,
        alternatives=finding.alternatives,
        bottlenecks=bottlenecks,
        determined=finding.determined,
        lineage=finding.lineage,
        evidence_share=finding.evidence_share,
        direct_evidence=finding.direct,
    )


def _baseline_for(trace: Trace, baseline: Run | None, index: int) -> Trace | None:
    """The baseline trace to compare with: the same trace id, else the one at the same position."""
    if baseline is None or not baseline.traces:
        return None
    if trace.trace_id in baseline.traces:
        return baseline.traces[trace.trace_id]
    candidates = baseline.trace_list()
    return candidates[min(index, len(candidates) - 1)]


def attribute_run(run: Run, baseline: Run | None = None, judge: Any = None) -> list[Verdict]:
    """One verdict per trace of the run, in trace start order."""
    from rootspan.attribution.process import ProcessModel

    traces = run.trace_list()
    process = ProcessModel.from_traces(traces)
    return [
        attribute_trace(trace, _baseline_for(trace, baseline, index), judge=judge, process=process)
        for index, trace in enumerate(traces)
    ]


def summarize(verdicts: list[Verdict]) -> dict[str, Any]:
    """Counts across a run's verdicts (the ``summary`` beside them in verdicts.json)."""
    failures = [verdict for verdict in verdicts if verdict.outcome == "failure"]
    by_agent: dict[str, int] = {}
    by_category: dict[str, int] = {}
    undetermined = 0
    for verdict in failures:
        if not verdict.determined:
            undetermined += 1
        if verdict.culprit is not None:
            agent = verdict.culprit.agent or "unknown"
            by_agent[agent] = by_agent.get(agent, 0) + 1
        category = verdict.category or "unknown"
        by_category[category] = by_category.get(category, 0) + 1
    return {
        "traces": len(verdicts),
        "failures": len(failures),
        "successes": sum(1 for verdict in verdicts if verdict.outcome == "success"),
        "undetermined": undetermined,
        "culprit_agents": dict(sorted(by_agent.items(), key=lambda item: -item[1])),
        "categories": dict(sorted(by_category.items(), key=lambda item: -item[1])),
    }

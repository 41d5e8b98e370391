"""Who broke each failed trace: the attribution engine's verdicts, reduced to what a report shows.

The report names the culprit of every failure the candidate introduced. The engine lives in
another part of rootspan and may be missing (a slim install) or fail; the report then uses the
run's saved verdicts.json, and as a last resort the first span that errored, saying which source
each culprit came from so nobody mistakes a heuristic for the engine's answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from rootspan.model import Run, Span, SpanKind, Trace, Verdict
from rootspan.rundir import read_verdicts

from rootspan.attribution.report.measure import is_success

AttributeFn = Callable[[Run], list[Verdict]]


@dataclass
class Failure:
    """One failed trace and what is known about its cause."""

    side: str  # "baseline" or "candidate"
    run: str
    trace_id: str
    agent: str | None = None
    step: int | None = None
    span_id: str | None = None
    name: str = ""
    category: str | None = None
    confidence: float | None = None
    evidence: list[str] = field(default_factory=list)
    source: str = "none"  # engine | verdicts.json | first-error | none
    new: bool = False

    def signature(self) -> tuple[str | None, str | None, str]:
        """What makes two failures 'the same': category, culprit agent and culprit step name."""
        return (self.category, self.agent, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "run": self.run,
            "trace_id": self.trace_id,
            "culprit": None
            if self.span_id is None
            else {"span_id": self.span_id, "agent": self.agent, "step": self.step, "name": self.name},
            "category": self.category,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "source": self.source,
            "new": self.new,
        }


def load_attribute_run() -> AttributeFn | None:
    """The engine's ``attribute_run``, or None while the attribution package is not installed."""
    try:
        from rootspan.attribution import attribute_run
    except ImportError:
        return None
    return attribute_run


def _from_verdict(failure: Failure, verdict: Verdict, source: str) -> None:
    failure.source = source
    failure.category = verdict.category
    failure.confidence = verdict.confidence
    failure.evidence = [str(item) for item in verdict.evidence]
    if verdict.culprit is not None:
        failure.span_id = verdict.culprit.span_id
        failure.agent = verdict.culprit.agent
        failure.step = verdict.culprit.step
        failure.name = verdict.culprit.name


def _first_error(trace: Trace) -> Span | None:
    """The error span that ended first: where an error that propagated upwards started."""
    errors = [span for span in trace.spans if span.is_error and not trace.is_outcome_status(span)]
    return min(errors, key=lambda span: (span.end_ns, -span.start_ns)) if errors else None


def _from_first_error(failure: Failure, trace: Trace) -> None:
    span = _first_error(trace)
    if span is None:
        return
    failure.source = "first-error"
    failure.span_id = span.span_id
    failure.agent = trace.agent_of(span)
    failure.step = span.step
    failure.name = span.name
    message = span.status_message
    for event in span.exception_events:
        message = str(event.attributes.get("exception.message") or event.attributes.get("exception.type") or message)
        break
    if "timeout" in message.lower() or "timed out" in message.lower():
        failure.category = "timeout"
    elif span.kind == SpanKind.TOOL:
        failure.category = "tool_error"
    else:
        failure.category = "exception"
    failure.evidence = [f"first span to fail: {span.name}" + (f": {message}" if message else "")]


class Verdicts:
    """The engine's verdicts per run, computed at most once: failures and slowdowns both read them.

    Falls back to the run's saved verdicts.json when the engine is missing or fails on that run.
    """

    def __init__(self, attribute: AttributeFn | None) -> None:
        self.attribute = attribute
        self.notes: list[str] = []
        self._cache: dict[int, tuple[dict[str, Verdict], str]] = {}

    def of(self, run: Run) -> tuple[dict[str, Verdict], str]:
        """(verdicts by trace id, their source: "engine" or "verdicts.json")."""
        cached = self._cache.get(id(run))
        if cached is not None:
            return cached
        verdicts: dict[str, Verdict] = {}
        source = "engine"
        if self.attribute is not None:
            try:
                verdicts = {verdict.trace_id: verdict for verdict in self.attribute(run)}
            except Exception as exc:  # noqa: BLE001 - a failing engine must not sink the report
                self.notes.append(f"attribution failed on {run.path}: {type(exc).__name__}: {exc}")
        if not verdicts and run.path.is_dir():
            try:
                verdicts = {verdict.trace_id: verdict for verdict in read_verdicts(run.path)}
                source = "verdicts.json"
            except Exception as exc:  # noqa: BLE001 - includes a UserError for a corrupt file
                self.notes.append(f"{run.path}: saved verdicts unreadable ({exc})")
        self._cache[id(run)] = (verdicts, source)
        return verdicts, source


def explain_failures(side: str, runs: list[Run], verdicts: Verdicts) -> list[Failure]:
    """A Failure for every failed trace of these runs, with the best culprit available."""
    failures: list[Failure] = []
    for run in runs:
        failed = [trace for trace in run.trace_list() if not is_success(trace)]
        if not failed:
            continue
        by_trace, source = verdicts.of(run)
        for trace in failed:
            failure = Failure(side=side, run=str(run.path), trace_id=trace.trace_id)
            verdict = by_trace.get(trace.trace_id)
            if verdict is not None and verdict.culprit is not None:
                _from_verdict(failure, verdict, source)
            else:
                _from_first_error(failure, trace)
            failures.append(failure)
    return failures


def mark_new(baseline: list[Failure], candidate: list[Failure]) -> None:
    """A candidate failure is new when no baseline failure has the same signature."""
    known = {failure.signature() for failure in baseline}
    for failure in candidate:
        failure.new = failure.signature() not in known


def category_counts(failures: list[Failure]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for failure in failures:
        key = failure.category or "unattributed"
        counts[key] = counts.get(key, 0) + 1
    return counts

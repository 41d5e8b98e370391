"""The UI's door to the attribution engine: verdicts, critical paths and step alignment.

The engine is imported lazily (inside the worker that calls these functions) so that opening the
UI never pays for it, and so that the UI still works, saying what is missing, where the engine is
not installed or fails on a trace. Saved verdicts (verdicts.json) are preferred to recomputing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from rootspan.model import Run, Span, Trace, Verdict

NO_VERDICT_HINT = "no verdict: run `rootspan attribute RUN`"


@dataclass
class TraceAnalysis:
    """What the blame view and the waterfall highlights need for one trace."""

    verdict: Verdict | None
    critical_path: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failure_path(self) -> list[str]:
        return list(self.verdict.path) if self.verdict is not None else []

    @property
    def culprit(self) -> str | None:
        if self.verdict is None or self.verdict.culprit is None:
            return None
        return self.verdict.culprit.span_id


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def compute_verdicts(run: Run) -> tuple[dict[str, Verdict], str]:
    """Run the engine over the whole run; on a missing or failing engine, no verdicts and why."""
    try:
        from rootspan.attribution import attribute_run
    except ImportError:
        return {}, NO_VERDICT_HINT + " (attribution engine not available)"
    try:
        verdicts = attribute_run(run)
    except Exception as exc:  # noqa: BLE001 - a broken engine must not take the UI down
        return {}, f"{NO_VERDICT_HINT} (the engine failed here: {_first_line(exc)})"
    return {verdict.trace_id: verdict for verdict in verdicts}, ""


def compute_critical_path(trace: Trace) -> tuple[list[str], str]:
    try:
        from rootspan.attribution.critical_path import critical_path
    except ImportError:
        return [], "critical path unavailable (attribution engine not installed)"
    try:
        return [span.span_id for span in critical_path(trace)], ""
    except Exception as exc:  # noqa: BLE001 - see compute_verdicts
        return [], f"critical path failed: {_first_line(exc)}"


def _step_key(trace: Trace, span: Span) -> tuple[str, str | None, str]:
    return (span.kind.value if span.kind else "other", trace.agent_of(span), span.name)


def align_steps(baseline: Trace, candidate: Trace) -> tuple[list[tuple[Span | None, Span | None]], str]:
    """Pairs of matching steps (None = removed/added): the engine's alignment, else a name diff."""
    try:
        from rootspan.attribution.align import align_traces
    except ImportError:
        return align_by_names(baseline, candidate), "aligned by step names (attribution engine not installed)"
    try:
        return list(align_traces(baseline, candidate)), ""
    except Exception as exc:  # noqa: BLE001 - see compute_verdicts
        pairs = align_by_names(baseline, candidate)
        return pairs, f"aligned by step names (engine alignment failed: {_first_line(exc)})"


def align_by_names(baseline: Trace, candidate: Trace) -> list[tuple[Span | None, Span | None]]:
    """Longest common subsequence over (kind, agent, name) in step order."""
    left, right = baseline.steps(), candidate.steps()
    matcher = difflib.SequenceMatcher(
        a=[_step_key(baseline, span) for span in left], b=[_step_key(candidate, span) for span in right], autojunk=False
    )
    pairs: list[tuple[Span | None, Span | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(left[i1:i2], right[j1:j2]))
        else:
            pairs.extend((span, None) for span in left[i1:i2])
            pairs.extend((None, span) for span in right[j1:j2])
    return pairs


def pair_traces(baseline: list[Trace], candidate: list[Trace]) -> list[tuple[Trace | None, Trace | None]]:
    """Traces of two runs matched by position in start order (runs of the same app line up)."""
    count = max(len(baseline), len(candidate))
    return [
        (baseline[index] if index < len(baseline) else None, candidate[index] if index < len(candidate) else None)
        for index in range(count)
    ]


class Engine:
    """The engine calls the UI makes, in one place so tests can substitute deterministic ones."""

    def verdicts(self, run: Run) -> tuple[dict[str, Verdict], str]:
        return compute_verdicts(run)

    def critical_path(self, trace: Trace) -> tuple[list[str], str]:
        return compute_critical_path(trace)

    def align(self, baseline: Trace, candidate: Trace) -> tuple[list[tuple[Span | None, Span | None]], str]:
        return align_steps(baseline, candidate)

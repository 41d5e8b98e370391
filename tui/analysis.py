"""The UI's door to the attribution engine: verdicts, critical paths and step alignment.

The engine is imported lazily (inside the worker that calls these functions) so that opening the
UI never pays for it, and so that the UI still works, saying what is missing, where the engine is
not installed or fails on a trace. Saved verdicts (verdicts.json) are preferred to recomputing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

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
        """The culprit's span id; None when the verdict is undetermined, so nothing is marked or jumped to."""
        if self.verdict is None or self.verdict.culprit is None or not self.verdict.determined:
            return None
        return self.verdict.culprit.span_id

    @property
    def undetermined(self) -> bool:
        """The engine ran but its evidence was too weak to name a culprit (it ranks candidates instead)."""
        return self.verdict is not None and not self.verdict.determined

    @property
    def primary_bottleneck(self) -> str | None:
        """The span of the verdict's first bottleneck (the engine's primary one), where `c` goes
        when there is no culprit: a slow trace's answer is where its time went."""
        if self.verdict is None or not self.verdict.determined or not self.verdict.bottlenecks:
            return None
        return self.verdict.bottlenecks[0].span_id

    def no_culprit_notice(self) -> str:
        """What `c` says when there is nothing to jump to."""
        if self.undetermined:
            return "undetermined verdict: no culprit named (the blame view lists the candidates)"
        return "no culprit for this trace"


@dataclass
class RunAnalysis:
    """The engine's answers for every trace of a run: computed verdicts and critical paths."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    critical_paths: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    verdict_note: str = ""  # why there are no computed verdicts, shown where a trace has none

    def for_trace(self, trace_id: str, saved: dict[str, Verdict]) -> TraceAnalysis:
        """Saved verdicts (verdicts.json) win over computed ones."""
        verdict = saved.get(trace_id) or self.verdicts.get(trace_id)
        notes = ([self.verdict_note] if verdict is None and self.verdict_note else []) + self.notes
        return TraceAnalysis(verdict=verdict, critical_path=self.critical_paths.get(trace_id, []), notes=notes)

    def to_payload(self) -> dict[str, Any]:
        """Plain data, to come back from a child process."""
        return {
            "verdicts": [verdict.model_dump(mode="json") for verdict in self.verdicts.values()],
            "critical_paths": self.critical_paths,
            "notes": self.notes,
            "verdict_note": self.verdict_note,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "RunAnalysis":
        verdicts = [Verdict.model_validate(item) for item in payload.get("verdicts", [])]
        return cls(
            verdicts={verdict.trace_id: verdict for verdict in verdicts},
            critical_paths={key: list(value) for key, value in payload.get("critical_paths", {}).items()},
            notes=list(payload.get("notes", [])),
            verdict_note=str(payload.get("verdict_note", "")),
        )


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


# A span is marked on the critical path when it holds at least this share of the trace's time on
# it (the report's MIN_SHARE for bottlenecks): the parents a path merely runs inside, and
# microsecond gaps of a parent between two children, are not where the time went.
CRITICAL_MIN_SHARE = 0.01


def compute_critical_path(trace: Trace) -> tuple[list[str], str]:
    """The spans that own the critical path's time (in time order), not every ancestor around them.

    ``critical_path.critical_path`` adds each owner's ancestors (the chain the path runs inside),
    which marks the root and every agent turn of every trace; the waterfall marks only owners.
    """
    try:
        from rootspan.attribution.critical_path import critical_segments
    except ImportError:
        return [], "critical path unavailable (attribution engine not installed)"
    try:
        segments = critical_segments(trace)
    except Exception as exc:  # noqa: BLE001 - see compute_verdicts
        return [], f"critical path failed: {_first_line(exc)}"
    wall = max(1, trace.duration_ns)
    time: dict[str, int] = {}
    first: dict[str, int] = {}
    for segment in segments:
        if segment.span is not None:
            span_id = segment.span.span_id
            time[span_id] = time.get(span_id, 0) + segment.duration_ns
            first.setdefault(span_id, segment.start_ns)
    owners = [span_id for span_id, ns in time.items() if ns >= CRITICAL_MIN_SHARE * wall]
    return sorted(owners, key=lambda span_id: first[span_id]), ""


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


def pair_change(baseline: Trace | None, candidate: Trace | None) -> tuple[bool, int]:
    """How much a pair changed, for ranking: (status or presence changed, |duration delta|)."""
    if baseline is None or candidate is None:
        present = baseline or candidate
        return True, present.duration_ns if present is not None else 0
    status_changed = baseline.failed != candidate.failed or (
        any(span.is_error for span in baseline.spans) != any(span.is_error for span in candidate.spans))
    return status_changed, abs(candidate.duration_ns - baseline.duration_ns)


def pairs_by_change(pairs: list[tuple[Trace | None, Trace | None]]) -> list[int]:
    """Pair indexes, biggest change first (a changed status outranks any duration; ties in order)."""
    changes = [pair_change(a, b) for a, b in pairs]
    return sorted(range(len(pairs)), key=lambda index: (not changes[index][0], -changes[index][1], index))


def analyse_loaded(run: Run, need_verdicts: bool) -> RunAnalysis:
    """Verdicts (when some trace has none saved) and every trace's critical path, in this process."""
    analysis = RunAnalysis()
    if need_verdicts:
        analysis.verdicts, analysis.verdict_note = compute_verdicts(run)
    for trace_id, trace in run.traces.items():
        path, note = compute_critical_path(trace)
        analysis.critical_paths[trace_id] = path
        if note and note not in analysis.notes:
            analysis.notes.append(note)
    return analysis


def analyse_path(path: str, need_verdicts: bool) -> dict[str, Any]:
    """Child-process entry point: load the run there and send back only the (small) answers."""
    from rootspan.rundir import load_run

    return analyse_loaded(load_run(path), need_verdicts).to_payload()


def _background_priority() -> None:
    """Child-process initializer: analysis is background work, the UI process comes first."""
    import os

    try:
        os.nice(10)
    except (AttributeError, OSError):  # no nice() on this platform: run at normal priority
        pass


# Above this many spans the engine runs in a child process: a thread would hold the GIL for
# seconds and freeze the UI; below it, starting a process costs more than the analysis.
IN_PROCESS_SPANS = 20_000


class Engine:
    """The engine calls the UI makes, in one place so tests can substitute deterministic ones."""

    def analyse_run(self, run: Run, need_verdicts: bool) -> RunAnalysis:
        if run.span_count < IN_PROCESS_SPANS or not run.path.exists():
            return analyse_loaded(run, need_verdicts)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            # spawn, not fork: the UI process has threads, and a forked child could inherit held locks.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_background_priority) as pool:
                return RunAnalysis.from_payload(pool.submit(analyse_path, str(run.path), need_verdicts).result())
        except Exception as exc:  # noqa: BLE001 - no child process (sandbox, frozen app): do it here
            analysis = analyse_loaded(run, need_verdicts)
            analysis.notes.append(f"analysed in the UI process ({_first_line(exc)})")
            return analysis

    def align(self, baseline: Trace, candidate: Trace) -> tuple[list[tuple[Span | None, Span | None]], str]:
        return align_steps(baseline, candidate)

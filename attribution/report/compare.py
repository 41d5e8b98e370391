"""Compare baseline and candidate runs and decide whether the candidate regressed.

The pipeline: align steps across all traces (align.py), reduce each trace to its measures
(measure.py), build one check per quantity (checks.py), gate them (gate.py), then explain what
regressed: culprits of new failures (failures.py), what bounds each regressed step, and single
far-slower steps that no test can call significant (outliers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rootspan.errors import UserError
from rootspan.model import Run, Trace

from rootspan.attribution.report.align import AlignFn, StepInfo, assign_step_keys, load_align_traces
from rootspan.attribution.report.checks import (
    ADDED,
    IMPROVEMENT,
    INCONCLUSIVE,
    OK,
    REGRESSION,
    REMOVED,
    SUCCESS_RATE,
    Check,
    apply_log_tests,
    build_checks,
    step_title,
)
from rootspan.attribution.report.config import ReportConfig
from rootspan.attribution.report.failures import (
    AttributeFn,
    Failure,
    Verdicts,
    category_counts,
    explain_failures,
    load_attribute_run,
    mark_new,
)
from rootspan.attribution.report.gate import add_intervals, decide
from rootspan.attribution.report.logt import HETEROGENEITY_ALPHA
from rootspan.attribution.report.measure import StepKey, TraceMeasures, measure_trace

__all__ = [
    "ADDED", "IMPROVEMENT", "INCONCLUSIVE", "OK", "REGRESSION", "REMOVED", "SUCCESS_RATE",
    "Check", "Report", "compare_runs",
]

OUTLIER_FACTOR = 2.0

_AUTO: Any = object()  # "look the engine up lazily", distinct from None ("do not use one")


@dataclass
class Report:
    """Everything the renderers show."""

    verdict: str  # "regression" or "pass"
    config: ReportConfig
    baseline_runs: list[str]
    candidate_runs: list[str]
    baseline_traces: int
    candidate_traces: int
    checks: list[Check]
    failures: list[Failure]
    categories: dict[str, dict[str, int]]
    notes: list[str]
    outliers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def indicative(self) -> bool:
        """One trace on a side: no measured noise, the verdict leans on the noise prior."""
        return min(self.baseline_traces, self.candidate_traces) <= 1

    @property
    def regressions(self) -> list[Check]:
        return [check for check in self.checks if check.status == REGRESSION]

    @property
    def tested(self) -> list[Check]:
        return [check for check in self.checks if check.p_value is not None]

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == REGRESSION else 0


def find_outliers(
    base: list[TraceMeasures], cand: list[TraceMeasures], step_info: dict[StepKey, StepInfo], config: ReportConfig
) -> list[dict[str, Any]]:
    """Single candidate steps far slower than every baseline repeat of that step (not gated).

    A fault that hits one call of one run (a tool that hung once) moves no median, so no test can
    call it a regression; it is still worth showing. "Far" is deliberately strict: at least
    OUTLIER_FACTOR times the slowest baseline value and latency_min_ms above it.
    """
    slowest: dict[StepKey, float] = {}
    for row in base:
        for key, value in row.steps_ms.items():
            slowest[key] = max(value, slowest.get(key, 0.0))
    found: list[dict[str, Any]] = []
    for row in cand:
        for key, value in row.steps_ms.items():
            limit = slowest.get(key)
            if limit is None or value < OUTLIER_FACTOR * limit or value - limit < config.latency_min_ms:
                continue
            found.append(
                {
                    "step": step_title(key, step_info.get(key)),
                    "trace_id": row.trace_id,
                    "run": row.run,
                    "candidate_ms": value,
                    "baseline_max_ms": limit,
                }
            )
    found.sort(key=lambda item: item["baseline_max_ms"] - item["candidate_ms"])
    return found


def explain_slow_steps(
    checks: list[Check], candidate: list[Run], keys: dict[int, dict[str, StepKey]], verdicts: Verdicts
) -> None:
    """What bounds each regressed step, from the engine's bottlenecks on the candidate traces."""
    wanted = {check.key: check for check in checks if check.status == REGRESSION and check.key is not None}
    if not wanted:
        return
    for run in candidate:
        by_trace, _ = verdicts.of(run)
        for trace in run.traces.values():
            verdict = by_trace.get(trace.trace_id)
            trace_keys = keys.get(id(trace), {})
            if verdict is None:
                continue
            seen: set[tuple[StepKey, str]] = set()
            for bottleneck in verdict.bottlenecks:
                key = trace_keys.get(bottleneck.span_id)
                if key in wanted and (key, bottleneck.bound_by) not in seen:
                    seen.add((key, bottleneck.bound_by))  # count traces, not segments
                    check = wanted[key]
                    check.bound_by[bottleneck.bound_by] = check.bound_by.get(bottleneck.bound_by, 0) + 1


def _traces(runs: list[Run]) -> list[Trace]:
    return [trace for run in runs for trace in run.trace_list()]


def compare_runs(
    baseline: list[Run],
    candidate: list[Run],
    config: ReportConfig | None = None,
    attribute: AttributeFn | None = _AUTO,
    align: AlignFn | None = _AUTO,
) -> Report:
    """The whole comparison. ``attribute``/``align`` default to the attribution package's, if installed."""
    config = config or ReportConfig()
    for side, runs in (("baseline", baseline), ("candidate", candidate)):
        if not runs:
            raise UserError(f"no {side} runs given")
        for run in runs:
            if not run.traces:
                raise UserError(f"{side} run {run.path}: no traces in it")
    if attribute is _AUTO:
        attribute = load_attribute_run()
    if align is _AUTO:
        align = load_align_traces()
    base_traces, cand_traces = _traces(baseline), _traces(candidate)
    keys, step_info, notes = assign_step_keys(base_traces, cand_traces, align)
    run_of = {id(trace): str(run.path) for run in baseline + candidate for trace in run.traces.values()}
    base = [measure_trace(t, run_of[id(t)], config.prices, keys[id(t)]) for t in base_traces]
    cand = [measure_trace(t, run_of[id(t)], config.prices, keys[id(t)]) for t in cand_traces]
    checks = build_checks(base, cand, step_info, config)
    heterogeneity = apply_log_tests(checks, config)
    if heterogeneity is not None and heterogeneity < HETEROGENEITY_ALPHA:
        notes.append(
            f"run-to-run noise differs between steps (Bartlett p={heterogeneity:.2g}): each step is tested "
            "against the larger of the pooled and its own noise"
        )
    if min(len(base), len(cand)) == 1:
        notes.append(
            f"{min(len(base), len(cand))} run per side: indicative only. The latency noise is the prior's "
            f"(log-sd {config.noise_prior_sd:g} over {config.noise_prior_df:g} pseudo degrees of freedom, "
            "--noise-prior); add repeats for a verdict you can trust"
        )
    decide(checks, config)
    add_intervals(checks, config)
    verdicts = Verdicts(attribute)
    base_failures = explain_failures("baseline", baseline, verdicts)
    cand_failures = explain_failures("candidate", candidate, verdicts)
    mark_new(base_failures, cand_failures)
    explain_slow_steps(checks, candidate, keys, verdicts)
    notes += verdicts.notes
    if attribute is None and cand_failures:
        notes.append("no attribution engine (not installed, or --no-attribution): culprits come from saved verdicts or the first failing span")
    unpriced = sorted({m for row in base + cand for m in row.unpriced_models})
    if unpriced:
        notes.append(f"no price configured for: {', '.join(unpriced)} (cost covers priced models only)")
    for side, runs in (("baseline", baseline), ("candidate", candidate)):
        for run in runs:
            if run.warnings:
                notes.append(f"{side} run {run.path}: {len(run.warnings)} loader warnings (first: {run.warnings[0]})")
    overlap = {t.trace_id for t in base_traces} & {t.trace_id for t in cand_traces}
    if overlap:
        notes.append(f"{len(overlap)} trace ids appear in both baseline and candidate: the same runs on both sides?")
    verdict = REGRESSION if any(check.status == REGRESSION for check in checks) else "pass"
    return Report(
        verdict=verdict,
        config=config,
        baseline_runs=[str(run.path) for run in baseline],
        candidate_runs=[str(run.path) for run in candidate],
        baseline_traces=len(base),
        candidate_traces=len(cand),
        checks=checks,
        failures=base_failures + cand_failures,
        categories={"baseline": category_counts(base_failures), "candidate": category_counts(cand_failures)},
        notes=notes,
        outliers=find_outliers(base, cand, step_info, config),
    )

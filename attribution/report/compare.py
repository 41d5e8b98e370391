"""Compare baseline and candidate runs check by check and decide whether the candidate regressed.

Each check compares one per-trace quantity (success, end-to-end latency, an agent's or a step's
latency, tokens, cost, GPU time, energy, error/retry/loop rates) between the two sets of
repeats. A check regresses only when the change is significant after correcting for the number of
checks (Holm) AND at least as large as the configured minimum effect: noise alone rarely passes
the first bar, and a tiny but real change does not pass the second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from rootspan.errors import UserError
from rootspan.model import Run, Trace

from rootspan.attribution.report import stats
from rootspan.attribution.report.align import AlignFn, StepInfo, assign_step_keys, load_align_traces
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
from rootspan.attribution.report.measure import StepKey, TraceMeasures, measure_trace

REGRESSION = "regression"
IMPROVEMENT = "improvement"
INCONCLUSIVE = "inconclusive"
OK = "ok"
ADDED = "added"
REMOVED = "removed"

SUCCESS_RATE = "success_rate"
MAX_STEP_INTERVALS = 25
OUTLIER_FACTOR = 2.0
SUCCESS_ALPHA_SHARE = 0.5  # share of alpha spent on the success rate alone (see _adjust)

_AUTO: Any = object()  # "look the engine up lazily", distinct from None ("do not use one")


@dataclass
class Check:
    """One compared quantity, its statistics and its status."""

    id: str
    group: str  # outcome | latency | agent | step | tokens | cost | gpu | reliability
    title: str
    unit: str  # ms | rate | tokens | $ | J
    test: str  # mann-whitney | fisher | none
    baseline: dict[str, Any]
    candidate: dict[str, Any]
    effect: dict[str, Any] = field(default_factory=dict)
    p_value: float | None = None  # one-sided, in the direction of "worse"
    p_better: float | None = None  # one-sided, in the direction of "better"
    p_adjusted: float | None = None
    p_better_adjusted: float | None = None
    worse_enough: bool = False  # the effect passes the minimum-effect thresholds, worse side
    better_enough: bool = False
    status: str = OK
    reason: str = ""
    samples: tuple[list[float], list[float]] | None = field(default=None, repr=False)  # per-trace values
    key: StepKey | None = field(default=None, repr=False)  # the aligned step, for step checks
    bound_by: dict[str, int] = field(default_factory=dict)  # engine's bound_by -> candidate traces

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "title": self.title,
            "unit": self.unit,
            "test": self.test,
            "status": self.status,
            "reason": self.reason,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "effect": self.effect,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "p_better": self.p_better,
            "p_better_adjusted": self.p_better_adjusted,
            "bound_by": self.bound_by,
        }


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
    def regressions(self) -> list[Check]:
        return [check for check in self.checks if check.status == REGRESSION]

    @property
    def tested(self) -> list[Check]:
        return [check for check in self.checks if check.p_value is not None]

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == REGRESSION else 0


def _summary(values: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "median": stats.median(values),
        "mean": stats.mean(values),
        "min": min(values),
        "max": max(values),
    }


def _ratio(candidate: float, baseline: float) -> float:
    if baseline > 0:
        return candidate / baseline
    return 1.0 if candidate <= 0 else math.inf


def continuous_check(
    check_id: str,
    group: str,
    title: str,
    unit: str,
    baseline: Sequence[float],
    candidate: Sequence[float],
    min_ratio: float,
    min_delta: float,
    config: ReportConfig,
) -> Check:
    """A rank test on per-trace values where larger is worse (latency, tokens, cost...)."""
    check = Check(check_id, group, title, unit, "mann-whitney", _summary(baseline), _summary(candidate))
    base_median, cand_median = check.baseline["median"], check.candidate["median"]
    ratio = _ratio(cand_median, base_median)
    delta = cand_median - base_median
    check.effect = {
        "ratio": None if math.isinf(ratio) else ratio,
        "delta": delta,
        "cliffs_delta": stats.cliffs_delta(candidate, baseline),
    }
    check.samples = (list(baseline), list(candidate))
    check.p_value = stats.mann_whitney_u(candidate, baseline, "greater").p_value
    check.p_better = stats.mann_whitney_u(candidate, baseline, "less").p_value
    check.worse_enough = ratio >= min_ratio and delta >= min_delta and delta > 0
    check.better_enough = ratio <= 1.0 / min_ratio and -delta >= min_delta and delta < 0
    return check


def rate_check(
    check_id: str,
    group: str,
    title: str,
    baseline_hits: int,
    baseline_n: int,
    candidate_hits: int,
    candidate_n: int,
    min_points: float,
    higher_is_worse: bool,
) -> Check:
    """Fisher's exact test on a rate (success, traces with errors...)."""
    base_rate, cand_rate = baseline_hits / baseline_n, candidate_hits / candidate_n
    check = Check(
        check_id,
        group,
        title,
        "rate",
        "fisher",
        {"n": baseline_n, "count": baseline_hits, "rate": base_rate},
        {"n": candidate_n, "count": candidate_hits, "rate": cand_rate},
    )
    check.effect = {"delta_points": (cand_rate - base_rate) * 100.0}
    table = [[candidate_hits, candidate_n - candidate_hits], [baseline_hits, baseline_n - baseline_hits]]
    p_higher = stats.fisher_exact(table, "greater")
    p_lower = stats.fisher_exact(table, "less")
    worse_points = (cand_rate - base_rate) * 100.0 if higher_is_worse else (base_rate - cand_rate) * 100.0
    check.p_value, check.p_better = (p_higher, p_lower) if higher_is_worse else (p_lower, p_higher)
    # Rates are exact fractions of small counts: compare with a hair of tolerance for 5.000001.
    check.worse_enough = worse_points > 0 and worse_points >= min_points - 1e-9
    check.better_enough = worse_points < 0 and -worse_points >= min_points - 1e-9
    return check


def _presence_check(check_id: str, group: str, title: str, base_n: int, cand_n: int, base_total: int, cand_total: int) -> Check:
    """A step or agent seen on one side only: shown, not tested (there is nothing to compare)."""
    status = ADDED if base_n == 0 else REMOVED
    check = Check(
        check_id,
        group,
        title,
        "ms",
        "none",
        {"n": base_n, "of": base_total},
        {"n": cand_n, "of": cand_total},
        status=status,
        reason="only in the candidate" if status == ADDED else "only in the baseline",
    )
    return check


def step_title(key: StepKey, info: StepInfo | None) -> str:
    agent, name, occurrence = key
    text = name + (f" #{occurrence}" if occurrence > 1 else "")
    if agent != "-":
        text += f" ({agent})"
    if info is not None and info.step is not None:
        text = f"step {info.step} {text}"
    return text


def _values(rows: list[TraceMeasures], get: Callable[[TraceMeasures], float | None]) -> list[float]:
    return [value for value in (get(row) for row in rows) if value is not None]


def build_checks(
    base: list[TraceMeasures], cand: list[TraceMeasures], step_info: dict[StepKey, StepInfo], config: ReportConfig
) -> list[Check]:
    """Every check, untested against thresholds yet (``decide`` does that)."""
    checks: list[Check] = []
    nb, nc = len(base), len(cand)
    checks.append(
        rate_check(
            SUCCESS_RATE, "outcome", "success rate",
            sum(r.success for r in base), nb, sum(r.success for r in cand), nc,
            config.success_drop_points, higher_is_worse=False,
        )
    )
    checks.append(
        continuous_check(
            "latency", "latency", "end-to-end latency", "ms",
            [r.latency_ms for r in base], [r.latency_ms for r in cand],
            config.latency_ratio, config.latency_min_ms, config,
        )
    )
    agents = sorted({a for r in base + cand for a in r.agents_ms})
    for agent in agents:
        b = _values(base, lambda r: r.agents_ms.get(agent))
        c = _values(cand, lambda r: r.agents_ms.get(agent))
        check_id, title = f"agent:{agent}", f"agent {agent}"
        if not b or not c:
            checks.append(_presence_check(check_id, "agent", title, len(b), len(c), nb, nc))
            continue
        checks.append(
            continuous_check(check_id, "agent", title, "ms", b, c, config.latency_ratio, config.latency_min_ms, config)
        )
    if config.steps:
        keys = sorted({k for r in base + cand for k in r.steps_ms}, key=lambda k: (_step_order(step_info.get(k)), k))
        for key in keys:
            b = _values(base, lambda r: r.steps_ms.get(key))
            c = _values(cand, lambda r: r.steps_ms.get(key))
            check_id = "step:" + "/".join([key[0], key[1], str(key[2])])
            title = step_title(key, step_info.get(key))
            if not b or not c:
                checks.append(_presence_check(check_id, "step", title, len(b), len(c), nb, nc))
                continue
            check = continuous_check(check_id, "step", title, "ms", b, c, config.latency_ratio, config.latency_min_ms, config)
            check.key = key
            checks.append(check)
    resources: list[tuple[str, str, str, str, Callable[[TraceMeasures], float | None]]] = [
        ("tokens.input", "tokens", "input tokens", "tokens", lambda r: r.input_tokens),
        ("tokens.output", "tokens", "output tokens", "tokens", lambda r: r.output_tokens),
        ("cost", "cost", "cost", "$", lambda r: r.cost),
        ("gpu.kernel_time", "gpu", "GPU kernel time", "ms", lambda r: r.gpu_time_ms),
        ("gpu.energy", "gpu", "GPU energy", "J", lambda r: r.energy_j),
    ]
    for check_id, group, title, unit, get in resources:
        b, c = _values(base, get), _values(cand, get)
        if b and c:
            checks.append(continuous_check(check_id, group, title, unit, b, c, config.resource_ratio, 0.0, config))
    for check_id, title, hit in (
        ("errors", "traces with errors", lambda r: r.errors > 0),
        ("retries", "traces with retries", lambda r: r.retries > 0),
        ("loops", "traces with repeated identical calls", lambda r: r.loops > 0),
    ):
        check = rate_check(
            check_id, "reliability", title,
            sum(hit(r) for r in base), nb, sum(hit(r) for r in cand), nc,
            config.rate_rise_points, higher_is_worse=True,
        )
        # The rate is what is tested; the mean count per trace says how bad it got.
        check.baseline["per_trace"] = stats.mean([getattr(r, check_id) for r in base])
        check.candidate["per_trace"] = stats.mean([getattr(r, check_id) for r in cand])
        checks.append(check)
    return checks


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


def _step_order(info: StepInfo | None) -> float:
    return float("inf") if info is None or info.step is None else float(info.step)


def _adjust(p_values: list[float], correction: str, primary: list[bool]) -> list[float]:
    """Adjusted p-values: alpha split between the success rate and a Holm family of the rest.

    The success rate is what a CI gate exists for, so it is not diluted by a dozen latency
    checks: it gets SUCCESS_ALPHA_SHARE of alpha on its own, the other checks share the rest
    under Holm. The family-wise error stays at most alpha (Bonferroni over the two parts).
    """
    if correction != "holm":
        return list(p_values)
    adjusted = [1.0] * len(p_values)
    rest = [index for index, is_primary in enumerate(primary) if not is_primary]
    share_rest = 1.0 - SUCCESS_ALPHA_SHARE if len(rest) < len(p_values) else 1.0
    for index, value in zip(rest, stats.holm([p_values[i] for i in rest])):
        adjusted[index] = min(1.0, value / share_rest)
    for index, is_primary in enumerate(primary):
        if is_primary:
            adjusted[index] = min(1.0, p_values[index] / SUCCESS_ALPHA_SHARE)
    return adjusted


def decide(checks: list[Check], config: ReportConfig) -> None:
    """Adjust p-values over the tested checks and set each status."""
    tested = [check for check in checks if check.p_value is not None]
    primary = [check.id == SUCCESS_RATE for check in tested]
    worse = _adjust([check.p_value for check in tested], config.correction, primary)  # type: ignore[misc]
    better = _adjust([check.p_better for check in tested], config.correction, primary)  # type: ignore[misc]
    for check, p_worse, p_better in zip(tested, worse, better):
        check.p_adjusted, check.p_better_adjusted = p_worse, p_better
        if check.worse_enough and p_worse <= config.alpha:
            check.status, check.reason = REGRESSION, "significant and past the minimum effect"
        elif check.better_enough and p_better <= config.alpha:
            check.status, check.reason = IMPROVEMENT, "significantly better"
        elif check.worse_enough:
            check.status = INCONCLUSIVE
            check.reason = f"past the minimum effect but not significant (adjusted p={p_worse:.3g}): add repeats"
        else:
            check.status, check.reason = OK, ""


def add_intervals(checks: list[Check], config: ReportConfig) -> None:
    """Bootstrap intervals for the latency ratios a reader looks at: whole run, agents, moved steps.

    Unchanged steps get none: on big runs they are most checks, and resampling each would cost
    more than the rest of the report.
    """
    if not config.bootstrap:
        return
    rows = [c for c in checks if c.samples is not None and c.unit == "ms" and c.group in ("latency", "agent")]
    moved = [c for c in checks if c.samples is not None and c.group == "step" and c.status != OK]
    moved.sort(key=lambda c: c.status != REGRESSION)
    for check in rows + moved[:MAX_STEP_INTERVALS]:
        if min(len(check.samples[0]), len(check.samples[1])) < 3:  # type: ignore[index]
            continue  # an interval from one or two repeats says nothing
        ci = stats.bootstrap_ratio_ci(*check.samples, resamples=config.bootstrap, seed=config.seed)
        check.effect["ratio_ci95"] = None if ci is None else list(ci)


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

"""The checks of a report: one compared quantity each, with its test and effect size.

A check is built from per-trace values of both sides: for durations (end to end, agents, steps) a
one-sided t test on log durations with the noise pooled across checks (logt.py: it has power at
3 repeats per side), a one-sided rank test for other quantities where larger is worse (tokens,
cost, GPU), Fisher's exact test for rates, and the effect sizes the minimum-effect thresholds read.
Each check also carries the smallest p-value it could reach with its sample sizes, so the gate can
leave out checks that cannot become significant (Tarone). Deciding what regressed is gate.py's job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from rootspan.attribution.report import logt, stats
from rootspan.attribution.report.align import StepInfo
from rootspan.attribution.report.config import ReportConfig
from rootspan.attribution.report.measure import StepKey, TraceMeasures

REGRESSION = "regression"
IMPROVEMENT = "improvement"
INCONCLUSIVE = "inconclusive"
OK = "ok"
ADDED = "added"
REMOVED = "removed"

SUCCESS_RATE = "success_rate"


@dataclass
class Check:
    """One compared quantity, its statistics and its status."""

    id: str
    group: str  # outcome | latency | agent | step | tokens | cost | gpu | reliability
    title: str
    unit: str  # ms | rate | tokens | $ | J
    test: str  # log-t | mann-whitney | fisher | none
    baseline: dict[str, Any]
    candidate: dict[str, Any]
    effect: dict[str, Any] = field(default_factory=dict)
    p_value: float | None = None  # one-sided, in the direction of "worse"
    p_better: float | None = None  # one-sided, in the direction of "better"
    p_adjusted: float | None = None
    p_better_adjusted: float | None = None
    p_min: float = 0.0  # smallest p-value (worse side) these sample sizes can give
    p_better_min: float = 0.0
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
            "p_min": self.p_min,
            "bound_by": self.bound_by,
        }


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
    check.p_min = check.p_better_min = _rank_p_min(len(baseline), len(candidate))
    check.worse_enough = ratio >= min_ratio and delta >= min_delta and delta > 0
    check.better_enough = ratio <= 1.0 / min_ratio and -delta >= min_delta and delta < 0
    return check


def _rank_p_min(base_n: int, cand_n: int) -> float:
    """The one-sided rank test's p-value for fully separated samples: the best it can ever do."""
    base = [float(index) for index in range(base_n)]
    cand = [float(base_n + index) for index in range(cand_n)]
    return stats.mann_whitney_u(cand, base, "greater").p_value


def _fisher_p_min(table: list[list[int]], alternative: stats.Alternative) -> float:
    """Fisher's one-sided p-value for the most extreme table with the same margins."""
    (a, b), (c, d) = table
    row1, col1, total = a + b, a + c, a + b + c + d
    low, high = max(0, row1 + col1 - total), min(row1, col1)
    extreme = high if alternative == "greater" else low
    return stats.fisher_exact([[extreme, row1 - extreme], [col1 - extreme, total - row1 - col1 + extreme]], alternative)


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
    min_higher, min_lower = _fisher_p_min(table, "greater"), _fisher_p_min(table, "less")
    check.p_min, check.p_better_min = (min_higher, min_lower) if higher_is_worse else (min_lower, min_higher)
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


# Checks whose noise is pooled together: steps with steps, whole-run and agent latencies together.
LOG_POOLS = (("step",), ("latency", "agent"))


def apply_log_tests(checks: list[Check], config: ReportConfig) -> float | None:
    """Replace the rank tests of duration checks with pooled log t tests (logt.py).

    Returns the smallest Bartlett p-value over the pools (None when no pool had two checks with
    spread), so the report can say when run-to-run noise differed between steps.
    """
    heterogeneity: float | None = None
    for groups in LOG_POOLS:
        members = [c for c in checks if c.group in groups and c.unit == "ms" and c.samples is not None]
        if not members:
            continue
        samples = [logt.log_sample(*check.samples) for check in members]  # type: ignore[misc]
        tests, bartlett = logt.pooled_log_tests(samples, config.noise_prior_sd, config.noise_prior_df)
        if bartlett is not None:
            heterogeneity = bartlett if heterogeneity is None else min(heterogeneity, bartlett)
        for check, test in zip(members, tests):
            check.test = "log-t"
            check.p_value, check.p_better = test.p_worse, test.p_better
            check.p_min = check.p_better_min = 0.0
            check.effect["log_t"] = test.t
            check.effect["log_t_df"] = test.df
            check.effect["noise_log_sd"] = test.sd
            check.effect["noise_pooled"] = test.pooled
    return heterogeneity


def _step_order(info: StepInfo | None) -> float:
    return float("inf") if info is None or info.step is None else float(info.step)

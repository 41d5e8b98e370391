"""The gate: which checks regressed, after correcting for the number of checks.

A check regresses only when the change is significant after the correction AND at least as large
as the configured minimum effect: noise alone rarely passes the first bar, and a tiny but real
change does not pass the second.
"""

from __future__ import annotations

from rootspan.attribution.report import stats
from rootspan.attribution.report.checks import IMPROVEMENT, INCONCLUSIVE, OK, REGRESSION, SUCCESS_RATE, Check
from rootspan.attribution.report.config import ReportConfig

MAX_STEP_INTERVALS = 25
SUCCESS_ALPHA_SHARE = 0.5  # share of alpha spent on the success rate alone (see _adjust)


def _tarone_family(p_min: list[float], alpha: float) -> tuple[list[int], int]:
    """Indices of the checks that can reach significance (Tarone's reduction), and the count K.

    A check whose smallest attainable p-value (fixed by its sample sizes, not by the data) is
    above alpha / K can never be significant in a family of K checks, so it need not dilute the
    others. K is the smallest count such that at most K checks can reach alpha / K; the Holm
    correction then runs over those checks only. (With 3 repeats per side no rate or rank test
    can reach significance, so they no longer cost the latency tests power.) Family-wise error
    stays at most alpha because the excluded checks cannot be rejected.
    """
    for count in range(1, len(p_min) + 1):
        family = [index for index, value in enumerate(p_min) if value <= alpha / count]
        if len(family) <= count:
            return family, count
    return list(range(len(p_min))), max(1, len(p_min))


def _adjust(p_values: list[float], correction: str, primary: list[bool], p_min: list[float], alpha: float) -> list[float]:
    """Adjusted p-values: alpha split between the success rate and a Holm family of the rest.

    The success rate is what a CI gate exists for, so it is not diluted by a dozen latency
    checks: it gets SUCCESS_ALPHA_SHARE of alpha on its own, the other checks share the rest
    under Holm, over Tarone's reduced family (checks that cannot reach significance are left out
    and get p times Tarone's K, never at or below alpha). The family-wise error stays at most alpha
    (Bonferroni over the two parts).
    """
    if correction != "holm":
        return list(p_values)
    adjusted = [1.0] * len(p_values)
    rest = [index for index, is_primary in enumerate(primary) if not is_primary]
    share_rest = 1.0 - SUCCESS_ALPHA_SHARE if len(rest) < len(p_values) else 1.0
    family_local, size = _tarone_family([p_min[i] for i in rest], alpha * share_rest)
    family = [rest[i] for i in family_local]
    for index, value in zip(family, stats.holm([p_values[i] for i in family])):
        adjusted[index] = min(1.0, value / share_rest)
    for index in set(rest) - set(family):
        adjusted[index] = min(1.0, p_values[index] * size / share_rest)
    for index, is_primary in enumerate(primary):
        if is_primary:
            adjusted[index] = min(1.0, p_values[index] / SUCCESS_ALPHA_SHARE)
    return adjusted


def decide(checks: list[Check], config: ReportConfig) -> None:
    """Adjust p-values over the tested checks and set each status."""
    tested = [check for check in checks if check.p_value is not None]
    primary = [check.id == SUCCESS_RATE for check in tested]
    worse = _adjust(
        [check.p_value for check in tested], config.correction, primary,  # type: ignore[misc]
        [check.p_min for check in tested], config.alpha,
    )
    better = _adjust(
        [check.p_better for check in tested], config.correction, primary,  # type: ignore[misc]
        [check.p_better_min for check in tested], config.alpha,
    )
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

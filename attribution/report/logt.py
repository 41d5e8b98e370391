"""Latency tests that work at CI sample sizes: one-sided t tests on log durations, noise pooled.

Why not a rank test per check: with 3 repeats per side the smallest one-sided Mann-Whitney p-value
is 1/C(6, 3) = 0.05, so after any correction for the number of checks no latency can ever be
significant, however much slower it is. Agent runs are expensive and CI jobs run 1-5 repeats.

What this does instead, and why it is sound:

- **Log durations.** Run-to-run noise of a duration is multiplicative (a loaded machine makes a
  100 ms and a 2 s step both ~20% slower), so on the log scale it is roughly additive and of
  similar size across steps, and "2x slower" is the same shift for every step.
- **Noise pooled across the checks of a group** (all aligned steps, all agents). Each check's
  within-side spread of log durations, from both sides, adds to one variance estimate; its
  degrees of freedom are the sum over all checks, so 5 steps x 3 repeats per side give 20
  degrees of freedom instead of 4. A shift of the mean (the regression itself) does not enter a
  within-side spread, so a slowed step does not hide itself.
- **A weak noise prior** (``noise_prior_sd``, default 0.25, i.e. about +-25% run to run, worth
  ``noise_prior_df`` = 2 pseudo degrees of freedom) is added to the pool: with one run per side
  there is no within-side spread at all, and the prior still gives an answer (flagged as
  indicative in the report). With repeats the data quickly outweighs it.
- **A floor** (``NOISE_FLOOR``) on the pooled standard deviation, so identical replayed durations
  do not give an infinite t statistic.
- **Unequal noise is detected, not assumed away.** Pooling is only right when steps are about
  equally noisy. Bartlett's test compares the checks' own variances; when it rejects equality
  (p < ``HETEROGENEITY_ALPHA``) each check uses the larger of the pooled and its own variance, so
  a step much noisier than the others is not over-flagged.

The t distribution comes from scipy (scipy.stats.t, scipy.stats.chi2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence


def _stats() -> Any:
    """scipy.stats, imported on first use: it takes most of a second, and every rootspan command
    imports this module through the CLI while only ``report`` needs it."""
    from scipy import stats

    return stats


NOISE_FLOOR = 0.02  # smallest log-sd used: 2% run-to-run noise
HETEROGENEITY_ALPHA = 0.05
MIN_DURATION_MS = 1e-3  # durations are clamped here before the log (a 0 ns span exists)


@dataclass(frozen=True)
class LogSample:
    """One check's two sides on the log scale: means, sums of squares and sizes."""

    base_mean: float
    cand_mean: float
    base_n: int
    cand_n: int
    ss: float  # within-side sum of squared deviations, both sides
    df: int  # within-side degrees of freedom, both sides

    @property
    def variance(self) -> float | None:
        return self.ss / self.df if self.df > 0 else None


@dataclass(frozen=True)
class LogTest:
    """A pooled log t test's result for one check."""

    p_worse: float  # one-sided: candidate slower
    p_better: float  # one-sided: candidate faster
    t: float
    df: float
    sd: float  # log-sd used for the standard error
    pooled: bool  # False when unequal noise made this check use its own variance


def _logs(values: Sequence[float]) -> list[float]:
    return [math.log(max(float(value), MIN_DURATION_MS)) for value in values]


def log_sample(baseline: Sequence[float], candidate: Sequence[float]) -> LogSample:
    """Summarise one check's per-trace durations (ms) on the log scale."""
    if not baseline or not candidate:
        raise ValueError("a log t test needs two non-empty samples")
    base, cand = _logs(baseline), _logs(candidate)
    base_mean, cand_mean = math.fsum(base) / len(base), math.fsum(cand) / len(cand)
    ss = math.fsum((v - base_mean) ** 2 for v in base) + math.fsum((v - cand_mean) ** 2 for v in cand)
    return LogSample(base_mean, cand_mean, len(base), len(cand), ss, len(base) - 1 + len(cand) - 1)


def bartlett_p(samples: Sequence[LogSample]) -> float | None:
    """Bartlett's test of equal variances from each check's (variance, df); None if under 2 usable.

    Written from the summary statistics because each check's residuals come from two side means
    (scipy.stats.bartlett takes raw samples and would count one degree of freedom too many).
    """
    usable = [(s.variance, s.df) for s in samples if s.df > 0 and s.variance is not None and s.variance > 0]
    if len(usable) < 2:
        return None
    total_df = sum(df for _, df in usable)
    pooled = sum(var * df for var, df in usable) / total_df
    statistic = total_df * math.log(pooled) - sum(df * math.log(var) for var, df in usable)
    correction = 1.0 + (sum(1.0 / df for _, df in usable) - 1.0 / total_df) / (3.0 * (len(usable) - 1))
    return float(_stats().chi2.sf(statistic / correction, len(usable) - 1))


def pooled_log_tests(samples: Sequence[LogSample], prior_sd: float, prior_df: float) -> tuple[list[LogTest], float | None]:
    """One test per sample, noise pooled over all of them plus the prior; also Bartlett's p.

    The tests are in the input order. ``prior_df`` must be positive (with one run per side the
    prior is the only noise estimate there is).
    """
    if prior_df <= 0 or prior_sd <= 0:
        raise ValueError("the noise prior needs a positive sd and positive degrees of freedom")
    prior_ss = prior_df * prior_sd**2
    pool_df = prior_df + sum(s.df for s in samples)
    pool_var = (prior_ss + math.fsum(s.ss for s in samples)) / pool_df
    heterogeneity = bartlett_p(samples)
    unequal = heterogeneity is not None and heterogeneity < HETEROGENEITY_ALPHA
    tests: list[LogTest] = []
    for sample in samples:
        variance, df, pooled = pool_var, pool_df, True
        own_df = prior_df + sample.df
        own_var = (prior_ss + sample.ss) / own_df
        if unequal and own_var > pool_var:
            variance, df, pooled = own_var, own_df, False
        sd = max(math.sqrt(variance), NOISE_FLOOR)
        error = sd * math.sqrt(1.0 / sample.base_n + 1.0 / sample.cand_n)
        t = (sample.cand_mean - sample.base_mean) / error
        tests.append(
            LogTest(
                p_worse=float(_stats().t.sf(t, df)),
                p_better=float(_stats().t.cdf(t, df)),
                t=t,
                df=df,
                sd=sd,
                pooled=pooled,
            )
        )
    return tests, heterogeneity

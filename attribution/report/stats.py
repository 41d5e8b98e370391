"""Rank and exact significance tests and effect sizes for noisy CI runs.

Written out here (exact Mann-Whitney distribution for small samples, Fisher's exact test on
exact fractions) and checked against scipy.stats in the tests; the duration tests, which need the
t distribution, are in logt.py and use scipy.

A CI report must not cry wolf: a few repeats of an agent run vary a lot, so a slower median alone
proves nothing. The report combines a rank test (Mann-Whitney U, exact for small untied samples,
normal approximation with tie and continuity correction otherwise) or Fisher's exact test for
rates with an effect size, and corrects p-values for the number of checks (Holm). The tests in
tests/report check every function here against scipy.stats.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, Sequence

Alternative = Literal["two-sided", "greater", "less"]

# Above this many possible rank arrangements' worth of work, the exact U distribution is replaced
# by the normal approximation (which is already very good at these sizes).
EXACT_MAX_CELLS = 2_500


@dataclass(frozen=True)
class RankTest:
    """Result of a Mann-Whitney U test of x against y."""

    u: float  # U statistic of the first sample (count of pairs x > y, ties count one half)
    p_value: float
    method: Literal["exact", "normal"]


def median(values: Sequence[float]) -> float:
    """The sample median (mean of the two middle values for an even count)."""
    if not values:
        raise ValueError("median of an empty sample")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def mean(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("mean of an empty sample")
    return math.fsum(values) / len(values)


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Mid-ranks (1-based) of the values, and the sizes of the groups of tied values."""
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks = [0.0] * len(values)
    ties: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        mid_rank = (start + end) / 2.0 + 1.0
        for position in range(start, end + 1):
            ranks[order[position]] = mid_rank
        ties.append(end - start + 1)
        start = end + 1
    return ranks, ties


def _u_counts(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) rank arrangements give each U = 0..m*n (no ties).

    The counts are the coefficients of the Gaussian binomial [m+n choose m] in q, built one factor
    (1 - q^(n+i)) / (1 - q^i) at a time; each partial product is itself a polynomial, so integer
    arithmetic stays exact.
    """
    size = m * n + 1
    counts = [0] * size
    counts[0] = 1
    for i in range(1, m + 1):
        shift = n + i
        for k in range(size - 1, shift - 1, -1):  # multiply by (1 - q^shift)
            counts[k] -= counts[k - shift]
        for k in range(i, size):  # divide by (1 - q^i)
            counts[k] += counts[k - i]
    return counts


def _exact_sf(u: float, m: int, n: int) -> float:
    """P(U >= u) under the null hypothesis, from the exact distribution."""
    counts = _u_counts(m, n)
    threshold = math.ceil(u - 1e-9)
    tail = sum(counts[max(0, threshold) :])
    return float(Fraction(tail, math.comb(m + n, m)))


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_u(
    x: Sequence[float], y: Sequence[float], alternative: Alternative = "two-sided", method: str = "auto"
) -> RankTest:
    """Mann-Whitney U test; ``greater`` asks whether x tends to be larger than y.

    ``method`` is ``exact`` (no ties allowed), ``normal`` (tie-corrected variance, continuity
    correction, as scipy's ``asymptotic``), or ``auto``: exact for small samples without ties.
    """
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError("Mann-Whitney U needs two non-empty samples")
    ranks, ties = _ranks(list(x) + list(y))
    u_x = math.fsum(ranks[:m]) - m * (m + 1) / 2.0
    u_y = m * n - u_x
    has_ties = any(size > 1 for size in ties)
    if method == "auto":
        method = "exact" if not has_ties and m * n <= EXACT_MAX_CELLS else "normal"
    if method == "exact":
        if has_ties:
            raise ValueError("the exact Mann-Whitney distribution assumes no ties")
        if alternative == "greater":
            p = _exact_sf(u_x, m, n)
        elif alternative == "less":
            p = _exact_sf(u_y, m, n)
        else:
            p = 2.0 * _exact_sf(max(u_x, u_y), m, n)
        return RankTest(u=u_x, p_value=min(1.0, p), method="exact")
    if method != "normal":
        raise ValueError(f"unknown method {method!r}")
    total = m + n
    tie_term = sum(size**3 - size for size in ties)
    variance = m * n / 12.0 * ((total + 1) - tie_term / (total * (total - 1)))
    if variance <= 0:  # every value equal: no evidence either way
        return RankTest(u=u_x, p_value=1.0, method="normal")
    sigma = math.sqrt(variance)
    centre = m * n / 2.0
    if alternative == "greater":
        p = _normal_sf((u_x - centre - 0.5) / sigma)
    elif alternative == "less":
        p = _normal_sf((u_y - centre - 0.5) / sigma)
    else:
        p = 2.0 * _normal_sf((max(u_x, u_y) - centre - 0.5) / sigma)
    return RankTest(u=u_x, p_value=min(1.0, p), method="normal")


def _hypergeom_pmf(k: int, total: int, successes: int, draws: int) -> Fraction:
    return Fraction(math.comb(successes, k) * math.comb(total - successes, draws - k), math.comb(total, draws))


def fisher_exact(table: Sequence[Sequence[int]], alternative: Alternative = "two-sided") -> float:
    """Fisher's exact test p-value for a 2x2 table [[a, b], [c, d]].

    ``greater`` tests an odds ratio above one (a over b larger than c over d). The two-sided
    p-value sums every table at most as likely as the observed one, with scipy's relative
    tolerance so that tables equal up to rounding count as equal (here they are exact fractions).
    """
    (a, b), (c, d) = table
    if min(a, b, c, d) < 0:
        raise ValueError("a contingency table holds counts, not negative numbers")
    row1, col1 = a + b, a + c
    total = a + b + c + d
    if total == 0 or row1 in (0, total) or col1 in (0, total):
        return 1.0
    low, high = max(0, row1 + col1 - total), min(row1, col1)
    pmf = {k: _hypergeom_pmf(k, total, col1, row1) for k in range(low, high + 1)}
    if alternative == "greater":
        p = sum((pmf[k] for k in range(a, high + 1)), Fraction(0))
    elif alternative == "less":
        p = sum((pmf[k] for k in range(low, a + 1)), Fraction(0))
    else:
        observed = pmf[a]
        p = sum((value for value in pmf.values() if value <= observed), Fraction(0))
    return min(1.0, float(p))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (family-wise error control)."""
    count = len(p_values)
    order = sorted(range(count), key=lambda index: p_values[index])
    adjusted = [1.0] * count
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def cliffs_delta(x: Sequence[float], y: Sequence[float]) -> float:
    """P(x > y) - P(x < y) over all pairs: the rank-biserial correlation, in [-1, 1]."""
    if not x or not y:
        raise ValueError("Cliff's delta needs two non-empty samples")
    greater = less = 0
    ordered_y = sorted(y)
    for value in x:
        less_than_value = bisect.bisect_left(ordered_y, value)
        greater_than_value = len(ordered_y) - bisect.bisect_right(ordered_y, value)
        greater += less_than_value
        less += greater_than_value
    return (greater - less) / (len(x) * len(y))


def bootstrap_ratio_ci(
    baseline: Sequence[float],
    candidate: Sequence[float],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval for median(candidate) / median(baseline).

    Seeded, so the same runs always give the same report. None when a resampled baseline median
    can be zero (the ratio is then undefined) or there is nothing to resample.
    """
    if resamples <= 0 or not baseline or not candidate:
        return None
    rng = random.Random(seed)
    ratios: list[float] = []
    for _ in range(resamples):
        base = median(rng.choices(baseline, k=len(baseline)))
        cand = median(rng.choices(candidate, k=len(candidate)))
        if base <= 0:
            return None
        ratios.append(cand / base)
    ratios.sort()
    tail = (1.0 - confidence) / 2.0
    low = ratios[min(len(ratios) - 1, int(math.floor(tail * len(ratios))))]
    high = ratios[min(len(ratios) - 1, int(math.ceil((1.0 - tail) * len(ratios))) - 1)]
    return low, high

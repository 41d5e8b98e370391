"""The report's pure-Python statistics agree with scipy.stats (a test-only dependency)."""

from __future__ import annotations

import math
import random

import pytest
import scipy.stats
from hypothesis import given, settings, strategies as st

from rootspan.attribution.report import stats

ALTERNATIVES = ("two-sided", "greater", "less")


def _samples(rng: random.Random, shift: float) -> tuple[list[float], list[float]]:
    m, n = rng.randint(1, 14), rng.randint(1, 14)
    return [rng.lognormvariate(shift, 0.4) for _ in range(m)], [rng.lognormvariate(0.0, 0.4) for _ in range(n)]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_mann_whitney_exact_matches_scipy(alternative: str) -> None:
    rng = random.Random(7)
    for _ in range(60):
        x, y = _samples(rng, rng.choice([0.0, 0.3, -0.5]))
        ours = stats.mann_whitney_u(x, y, alternative, method="exact")
        theirs = scipy.stats.mannwhitneyu(x, y, alternative=alternative, method="exact")
        assert ours.u == pytest.approx(theirs.statistic)
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_mann_whitney_normal_with_ties_matches_scipy(alternative: str) -> None:
    rng = random.Random(11)
    for _ in range(60):
        # Rounded values: many ties, which the variance must correct for.
        x = [round(rng.gauss(3, 2)) for _ in range(rng.randint(2, 30))]
        y = [round(rng.gauss(2, 2)) for _ in range(rng.randint(2, 30))]
        ours = stats.mann_whitney_u(x, y, alternative, method="normal")
        theirs = scipy.stats.mannwhitneyu(x, y, alternative=alternative, method="asymptotic")
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


def test_mann_whitney_auto_picks_exact_without_ties_and_normal_with_them() -> None:
    assert stats.mann_whitney_u([1.0, 2.0, 3.0], [4.0, 5.0], "less").method == "exact"
    assert stats.mann_whitney_u([1.0, 2.0, 2.0], [4.0, 5.0], "less").method == "normal"
    big = [float(i) for i in range(80)]
    assert stats.mann_whitney_u(big, [v + 0.5 for v in big]).method == "normal"


def test_mann_whitney_all_equal_gives_no_evidence() -> None:
    assert stats.mann_whitney_u([5, 5, 5], [5, 5], "greater").p_value == 1.0


def test_exact_refuses_ties_and_empty_samples() -> None:
    with pytest.raises(ValueError):
        stats.mann_whitney_u([1.0, 1.0], [2.0], method="exact")
    with pytest.raises(ValueError):
        stats.mann_whitney_u([], [2.0])


def test_u_distribution_counts_sum_to_the_number_of_arrangements() -> None:
    for m in range(1, 8):
        for n in range(1, 8):
            counts = stats._u_counts(m, n)
            assert sum(counts) == math.comb(m + n, m)
            assert counts == counts[::-1]  # symmetric around mn/2
            assert min(counts) >= 1


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_fisher_exact_matches_scipy(alternative: str) -> None:
    rng = random.Random(3)
    tables = [[[10, 0], [0, 10]], [[0, 0], [3, 4]], [[5, 5], [5, 5]], [[1, 9], [11, 3]]]
    tables += [[[rng.randint(0, 15) for _ in range(2)] for _ in range(2)] for _ in range(80)]
    for table in tables:
        ours = stats.fisher_exact(table, alternative)
        theirs = scipy.stats.fisher_exact(table, alternative=alternative).pvalue
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12), table


def test_holm_matches_its_definition() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.5]
    # sorted: 0.005*5=0.025, 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> max so far 0.09, 0.5*1=0.5
    assert stats.holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.5])
    assert stats.holm([]) == []
    assert stats.holm([0.9, 0.9]) == [1.0, 1.0]


def test_cliffs_delta_is_the_rank_biserial_correlation_of_u() -> None:
    rng = random.Random(5)
    for _ in range(30):
        x, y = _samples(rng, 0.2)
        x += [x[0]]  # a tie
        u = scipy.stats.mannwhitneyu(x, y).statistic
        assert stats.cliffs_delta(x, y) == pytest.approx(2 * u / (len(x) * len(y)) - 1)
    assert stats.cliffs_delta([2.0, 3.0], [0.0, 1.0]) == 1.0


def test_median_matches_scipy_style_definition() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError):
        stats.median([])


def test_bootstrap_interval_is_seeded_and_covers_the_true_ratio() -> None:
    rng = random.Random(9)
    base = [rng.lognormvariate(0.0, 0.2) for _ in range(20)]
    cand = [rng.lognormvariate(math.log(2.0), 0.2) for _ in range(20)]
    first = stats.bootstrap_ratio_ci(base, cand, resamples=500, seed=1)
    assert first == stats.bootstrap_ratio_ci(base, cand, resamples=500, seed=1)
    assert first is not None and first[0] < 2.0 < first[1]
    assert stats.bootstrap_ratio_ci(base, cand, resamples=0) is None
    assert stats.bootstrap_ratio_ci([0.0, 0.0], cand, resamples=50) is None


_sample = st.lists(st.integers(min_value=0, max_value=6).map(float), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(_sample, _sample)
def test_one_sided_tests_mirror_each_other_and_stay_probabilities(x: list[float], y: list[float]) -> None:
    greater = stats.mann_whitney_u(x, y, "greater").p_value
    assert 0.0 <= greater <= 1.0
    assert greater == pytest.approx(stats.mann_whitney_u(y, x, "less").p_value)
    assert stats.cliffs_delta(x, y) == pytest.approx(-stats.cliffs_delta(y, x))
    adjusted = stats.holm([greater, 0.5, 0.01])
    assert all(a >= p for a, p in zip(adjusted, [greater, 0.5, 0.01]))

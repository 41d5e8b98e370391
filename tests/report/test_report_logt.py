"""The pooled log t test (attribution/report/logt.py) against scipy, and its behaviour at small n."""

from __future__ import annotations

import math
import random

import pytest
import scipy.stats

from rootspan.attribution.report import logt


def _lognormal(rng: random.Random, median: float, sigma: float, n: int) -> list[float]:
    return [median * math.exp(rng.gauss(0.0, sigma)) for _ in range(n)]


def test_one_check_with_a_vanishing_prior_is_the_pooled_two_sample_t_test() -> None:
    rng = random.Random(1)
    base, cand = _lognormal(rng, 100.0, 0.2, 4), _lognormal(rng, 130.0, 0.2, 5)
    (test,), _ = logt.pooled_log_tests([logt.log_sample(base, cand)], prior_sd=0.25, prior_df=1e-9)
    expected = scipy.stats.ttest_ind(
        [math.log(v) for v in cand], [math.log(v) for v in base], equal_var=True, alternative="greater"
    )
    assert test.p_worse == pytest.approx(expected.pvalue, rel=1e-6)
    assert test.p_worse + test.p_better == pytest.approx(1.0)


def test_bartlett_from_summaries_matches_scipy() -> None:
    """With one baseline value each check's spread is its candidate sample's: scipy's case exactly."""
    rng = random.Random(2)
    groups = [_lognormal(rng, 50.0, sigma, 6) for sigma in (0.1, 0.2, 0.4)]
    samples = [logt.log_sample([50.0], group) for group in groups]
    expected = scipy.stats.bartlett(*[[math.log(v) for v in group] for group in groups])
    assert logt.bartlett_p(samples) == pytest.approx(expected.pvalue, rel=1e-9)


def test_pooling_gives_a_tripled_step_significance_at_two_runs_per_side() -> None:
    rng = random.Random(3)
    quiet = [logt.log_sample(_lognormal(rng, 100.0, 0.1, 2), _lognormal(rng, 100.0, 0.1, 2)) for _ in range(6)]
    slow = logt.log_sample(_lognormal(rng, 100.0, 0.1, 2), _lognormal(rng, 300.0, 0.1, 2))
    tests, _ = logt.pooled_log_tests(quiet + [slow], prior_sd=0.25, prior_df=2)
    own, _ = logt.pooled_log_tests([slow], prior_sd=0.25, prior_df=2)
    assert tests[-1].p_worse < 0.001 < own[0].p_worse  # the other steps' spread is what makes it decidable
    assert tests[-1].df == 2 + 7 * 2


def test_one_run_per_side_leans_on_the_prior_only() -> None:
    sample = logt.log_sample([100.0], [200.0])
    (test,), bartlett = logt.pooled_log_tests([sample], prior_sd=0.25, prior_df=2)
    assert bartlett is None and test.df == 2 and test.sd == pytest.approx(0.25)
    assert test.t == pytest.approx(math.log(2.0) / (0.25 * math.sqrt(2.0)))


def test_identical_durations_hit_the_noise_floor_not_a_division_by_zero() -> None:
    sample = logt.log_sample([100.0] * 3, [100.0] * 3)
    (test,), _ = logt.pooled_log_tests([sample], prior_sd=0.01, prior_df=0.5)
    assert test.sd == logt.NOISE_FLOOR and test.t == 0.0 and test.p_worse == pytest.approx(0.5)


def test_a_much_noisier_step_uses_its_own_variance_when_noise_is_unequal() -> None:
    rng = random.Random(4)
    quiet = [logt.log_sample(_lognormal(rng, 100.0, 0.02, 5), _lognormal(rng, 100.0, 0.02, 5)) for _ in range(5)]
    wild = logt.log_sample(_lognormal(rng, 100.0, 0.8, 5), _lognormal(rng, 100.0, 0.8, 5))
    tests, bartlett = logt.pooled_log_tests(quiet + [wild], prior_sd=0.25, prior_df=2)
    assert bartlett is not None and bartlett < logt.HETEROGENEITY_ALPHA
    own_sd = math.sqrt((2 * 0.25**2 + wild.ss) / (2 + wild.df))
    assert not tests[-1].pooled and tests[-1].sd == pytest.approx(own_sd) and tests[-1].sd > 2 * tests[0].sd
    assert all(test.pooled for test in tests[:-1])


def test_zero_durations_are_clamped_before_the_log() -> None:
    sample = logt.log_sample([0.0, 1.0], [0.0, 1.0])
    assert math.isfinite(sample.ss) and sample.df == 2


def test_the_prior_must_be_positive() -> None:
    with pytest.raises(ValueError):
        logt.pooled_log_tests([logt.log_sample([1.0], [1.0])], prior_sd=0.25, prior_df=0)

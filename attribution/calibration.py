"""Confidence that means something: the culprit's evidence mapped to a probability of being right.

Two things say how likely a named culprit is right: its share of all the evidence (the raw score
share: its score over all scores plus one), and whether a *direct* finding backs it (an error on
the step itself, a broken constraint of the task, a swallowed failure: observed facts), rather than
only an inference from where a value came from. On the scenario corpus the share alone hardly
separates right from wrong verdicts; direct backing does (docs/attribution.md, "Confidence").
A logistic curve over the two (Platt scaling with one extra feature, three parameters) turns them
into a probability. The parameters are fitted by ``rootspan bench attribution --fit-calibration``
on the *tune* part of the scenario corpus only (benchmarks/scenarios); the expected calibration
error is reported on both parts, and Who&When never takes part in the fit.

Hand-written: a three-parameter logistic fit over a few dozen points is a dozen lines with
Newton's method, and importing scipy's optimisers for it would add a second to every command
that attributes a run.
"""

from __future__ import annotations

import math
from typing import Sequence

# Fitted on the scenario corpus' tune part (see docs/benchmarks.md for the command and figures).
# The share barely separates right from wrong (a near 0), direct backing does (c > 0): most
# confidences sit near the corpus' accuracy, higher where a direct finding backs the culprit.
PLATT_A = 0.1130  # weight of logit(share)
PLATT_B = 0.6626  # intercept
PLATT_C = 0.7132  # weight of direct backing (0 or 1)
ABSTAIN_BELOW = 0.5  # below even odds the verdict is undetermined: the ranked candidates, no name
ECE_BINS = 10
RIDGE = 4.0  # a prior worth a few points: a few dozen scenarios must not make the curve a step


def raw_share(culprit_score: float, total: float) -> float:
    """The culprit's share of all evidence, with one unit of doubt (a lone weak finding stays low)."""
    return culprit_score / (total + 1.0)


def _logit(share: float) -> float:
    share = min(max(share, 1e-4), 1 - 1e-4)
    return math.log(share / (1 - share))


def platt(share: float, a: float = PLATT_A, b: float = PLATT_B, direct: bool = False, c: float = PLATT_C) -> float:
    return 1.0 / (1.0 + math.exp(-(a * _logit(share) + b + c * float(direct))))


def calibrated(culprit_score: float, total: float, direct: bool = False) -> float:
    """Probability that the culprit is right, from its evidence share and whether a direct finding backs it."""
    return min(0.99, platt(raw_share(culprit_score, total), direct=direct))


def fit_platt(shares: Sequence[float], correct: Sequence[bool], direct: Sequence[bool] | None = None,
              iterations: int = 50) -> tuple[float, float, float]:
    """Maximum-likelihood (a, b, c) of p = sigmoid(a * logit(share) + b + c * direct), by Newton's method.

    A ridge toward (1, 0, 0) keeps the fit sane on few points (all right, all wrong, all direct).
    """
    rows = [(_logit(share), 1.0, float(flag)) for share, flag in zip(shares, direct or [False] * len(shares))]
    ys = [1.0 if ok else 0.0 for ok in correct]
    theta = [1.0, 0.0, 0.0]
    prior = [1.0, 0.0, 0.0]
    for _ in range(iterations):
        grad = [RIDGE * (t - p0) for t, p0 in zip(theta, prior)]
        hess = [[RIDGE if i == j else 0.0 for j in range(3)] for i in range(3)]
        for x, y in zip(rows, ys):
            p = 1.0 / (1.0 + math.exp(-sum(t * v for t, v in zip(theta, x))))
            w = p * (1 - p)
            for i in range(3):
                grad[i] += (p - y) * x[i]
                for j in range(3):
                    hess[i][j] += w * x[i] * x[j]
        step = _solve(hess, grad)
        if step is None:
            break
        # backtracking: a full Newton step overshoots when a share of 0 puts logit at -9
        current, scale = _penalised_nll(theta, prior, rows, ys), 1.0
        while scale > 1e-4:
            trial = [t - scale * d for t, d in zip(theta, step)]
            if _penalised_nll(trial, prior, rows, ys) <= current:
                break
            scale /= 2
        else:
            break
        theta = trial
        if scale * sum(abs(d) for d in step) < 1e-9:
            break
    a, b, c = theta
    return a, b, c


def _penalised_nll(theta: list[float], prior: list[float], rows: list[tuple[float, float, float]], ys: list[float]) -> float:
    total = 0.5 * RIDGE * sum((t - p0) ** 2 for t, p0 in zip(theta, prior))
    for x, y in zip(rows, ys):
        z = sum(t * v for t, v in zip(theta, x))
        # log(1 + e^z) - y z, written to stay finite for large |z|
        total += (z if z > 0 else 0.0) + math.log1p(math.exp(-abs(z))) - y * z
    return total


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """Gaussian elimination for a 3x3 system (the Newton step)."""
    size = len(vector)
    rows = [row[:] + [value] for row, value in zip(matrix, vector)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        if abs(rows[pivot][column]) < 1e-12:
            return None
        rows[column], rows[pivot] = rows[pivot], rows[column]
        for other in range(size):
            if other != column:
                factor = rows[other][column] / rows[column][column]
                rows[other] = [a - factor * b for a, b in zip(rows[other], rows[column])]
    return [rows[i][size] / rows[i][i] for i in range(size)]

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

"""MMD with a Gaussian kernel: loops, the null expectations, the population value of a
mean shift between two Gaussians (closed form), and bad inputs.

Statistical checks average S seeded draws and allow 4.5 standard errors of that average
(the standard error estimated from the draws themselves), so a correct estimator fails
with probability below 1e-5 and a biased one by more than a fraction of the noise fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.mmd import gaussian_kernel, median_heuristic, mmd, mmd2


def _population_mmd2(shift, d, sigma, s=1.0):
    """MMD² between N(0, s²I) and N(shift·e_1, s²I) in d dimensions, Gaussian kernel σ:
    E k(x, y) = (σ²/(σ² + 2s²))^{d/2} exp(−‖δ‖²/(2(σ² + 2s²))) for x − y ~ N(δ, 2s²I)."""
    c = (sigma**2 / (sigma**2 + 2 * s**2)) ** (d / 2)
    return 2 * c * (1 - math.exp(-(shift**2) / (2 * (sigma**2 + 2 * s**2)))), c


def _within(values, expected, z=4.5):
    values = np.asarray(values)
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - expected) < z * se, (values.mean(), expected, se)


def test_kernel_median_and_estimators_match_loops():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)) + 0.5
    sigma = 1.3
    K = np.array([[math.exp(-np.sum((x - y) ** 2) / (2 * sigma**2)) for y in Y] for x in X])
    np.testing.assert_allclose(gaussian_kernel(X, Y, sigma), K, rtol=1e-13)
    Z = np.vstack([X, Y])
    dists = [np.linalg.norm(Z[i] - Z[j]) for i in range(9) for j in range(i + 1, 9)]
    assert median_heuristic(X, Y) == pytest.approx(float(np.median(dists)), rel=1e-12)

    def k(a, b):
        return math.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))

    xx = [k(a, b) for i, a in enumerate(X) for j, b in enumerate(X) if i != j]
    yy = [k(a, b) for i, a in enumerate(Y) for j, b in enumerate(Y) if i != j]
    xy = [k(a, b) for a in X for b in Y]
    unbiased = np.mean(xx) + np.mean(yy) - 2 * np.mean(xy)
    biased = (sum(xx) + 5) / 25 + (sum(yy) + 4) / 16 - 2 * np.mean(xy)  # k(x, x) = 1
    assert mmd2(X, Y, sigma, unbiased=True) == pytest.approx(unbiased, rel=1e-12)
    assert mmd2(X, Y, sigma) == pytest.approx(biased, rel=1e-12)
    assert mmd(X, Y, sigma) == pytest.approx(math.sqrt(biased), rel=1e-12)
    assert mmd2(X, Y) == mmd2(X, Y, median_heuristic(X, Y))


@pytest.mark.parametrize("m", [20, 80])
def test_null_expectations_follow_the_sample_size(m):
    """P = Q = N(0, I_2), σ = 1: E[biased] = (1 − E k(x, x'))·2/m, E[unbiased] = 0."""
    d, sigma, S = 2, 1.0, 300
    _, c = _population_mmd2(0.0, d, sigma)
    biased, unbiased, median = [], [], []
    for seed in range(S):
        rng = np.random.default_rng(seed)
        X, Y = rng.normal(size=(m, d)), rng.normal(size=(m, d))
        biased.append(mmd2(X, Y, sigma))
        unbiased.append(mmd2(X, Y, sigma, unbiased=True))
        median.append(mmd2(X, Y, unbiased=True))  # a bandwidth from the pooled sample
    _within(biased, (1 - c) * 2 / m)
    _within(unbiased, 0.0)
    _within(median, 0.0)
    assert min(unbiased) < 0 < max(unbiased)  # one unbiased estimate can be negative
    assert min(biased) > 0


def test_mean_shift_matches_the_population_value_and_grows():
    d, sigma, m, S = 2, 1.5, 40, 200
    for shift in (0.5, 1.0, 2.0):
        expected, _ = _population_mmd2(shift, d, sigma)
        draws = []
        for seed in range(S):
            rng = np.random.default_rng(1000 + seed)
            X = rng.normal(size=(m, d))
            Y = rng.normal(size=(m, d)) + np.array([shift, 0.0])
            draws.append(mmd2(X, Y, sigma, unbiased=True))
        _within(draws, expected)
    # one large sample: positive beyond the null's size and increasing with the shift
    rng = np.random.default_rng(7)
    X, noise = rng.normal(size=(400, d)), rng.normal(size=(400, d))
    values = [mmd2(X, noise + np.array([shift, 0.0]), sigma) for shift in (0.0, 0.25, 0.5, 1, 2)]
    null_mean = (1 - _population_mmd2(0.0, d, sigma)[1]) * 2 / 400
    assert values[1] > 3 * null_mean
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_bad_inputs():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="same number of features; got 2 and 3"):
        mmd2(X, np.zeros((3, 3)), 1.0)
    with pytest.raises(ValueError, match="bandwidth must lie in"):
        gaussian_kernel(X, X, 0.0)
    with pytest.raises(ValueError, match="median distance between the points is 0"):
        median_heuristic(X)
    with pytest.raises(ValueError, match=">= 2 rows"):
        mmd2(np.ones((1, 2)), np.zeros((3, 2)), 1.0, unbiased=True)
    with pytest.raises(ValueError, match="at least 2 points"):
        median_heuristic(np.ones((1, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        mmd2("X", X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        mmd2(np.full((2, 2), np.nan), X, 1.0)

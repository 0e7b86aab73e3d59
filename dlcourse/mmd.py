"""Maximum mean discrepancy (MMD) with a Gaussian kernel: a distance between two samples.

For distributions P, Q and a kernel k with feature map φ (k(a, b) = ⟨φ(a), φ(b)⟩),

    MMD²(P, Q) = ‖E_P φ(x) − E_Q φ(y)‖²
               = E k(x, x') + E k(y, y') − 2 E k(x, y)       (``eq-mmd``)

(x, x' ~ P and y, y' ~ Q independent). With the Gaussian kernel of bandwidth σ,

    k(a, b) = exp(−‖a − b‖² / (2σ²)),

MMD(P, Q) = 0 exactly when P = Q. From samples X (m, d) ~ P and Y (n, d) ~ Q:

- **biased** (V-statistic): mean(K_XX) + mean(K_YY) − 2 mean(K_XY), all entries, so ≥ 0;
  under P = Q its expectation is (1 − E k(x, x')) (1/m + 1/n) since k(x, x) = 1;
- **unbiased** (U-statistic): the means of K_XX and K_YY leave out their diagonals,
  Σ_{i≠j} k(x_i, x_j) / (m(m − 1)); its expectation is MMD²(P, Q), so 0 when P = Q, and a
  single estimate may be negative.

The *median heuristic* sets σ to the median distance ‖a − b‖ between distinct points of
the pooled sample, a scale at which the kernel neither saturates nor vanishes.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._matrices import as_real_array
from dlcourse._validation import check_interval

__all__ = ["gaussian_kernel", "median_heuristic", "mmd2", "mmd"]


def _samples(X, Y):
    X, Y = as_real_array("X", X), as_real_array("Y", Y)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must have the same number of features; got {X.shape[1]} and {Y.shape[1]}"
        )
    return X, Y


def _squared_distances(X, Y):
    """‖x_i − y_j‖² for every pair: (m, n), from ‖x‖² + ‖y‖² − 2 x·y clipped at 0."""
    D = np.sum(X**2, axis=1)[:, None] + np.sum(Y**2, axis=1)[None, :] - 2.0 * X @ Y.T
    return np.maximum(D, 0.0)


def gaussian_kernel(X, Y, bandwidth: float) -> np.ndarray:
    """K_ij = exp(−‖x_i − y_j‖² / (2σ²)) for X (m, d), Y (n, d), σ = bandwidth > 0: (m, n)."""
    X, Y = _samples(X, Y)
    sigma = check_interval("bandwidth", bandwidth, 0.0, open_low=True)
    return np.exp(-_squared_distances(X, Y) / (2.0 * sigma**2))


def median_heuristic(X, Y=None) -> float:
    """σ = median of ‖a − b‖ over distinct pairs of points of X (and Y, pooled); a float."""
    X = as_real_array("X", X)
    Z = X if Y is None else np.vstack(_samples(X, Y))
    if Z.shape[0] < 2:
        raise ValueError(f"the median heuristic needs at least 2 points; got {Z.shape[0]}")
    upper = np.triu_indices(Z.shape[0], k=1)
    sigma = float(np.median(np.sqrt(_squared_distances(Z, Z)[upper])))
    if sigma == 0:
        raise ValueError("the median distance between the points is 0 (most points coincide); "
                         "pass a bandwidth > 0 instead")  # fmt: skip
    return sigma


def mmd2(X, Y, bandwidth=None, unbiased: bool = False) -> float:
    """Estimate of MMD²(P, Q) from X (m, d) ~ P and Y (n, d) ~ Q (``eq-mmd``).

    ``bandwidth`` σ of the Gaussian kernel, or None for :func:`median_heuristic` of the
    pooled sample. ``unbiased=True`` leaves the diagonals of K_XX and K_YY out (needs
    m, n >= 2); the default is the biased estimate, which is never negative.
    """
    X, Y = _samples(X, Y)
    sigma = median_heuristic(X, Y) if bandwidth is None else bandwidth
    K_xx, K_yy, K_xy = (gaussian_kernel(A, B, sigma) for A, B in ((X, X), (Y, Y), (X, Y)))
    m, n = X.shape[0], Y.shape[0]
    if not unbiased:
        return float(K_xx.mean() + K_yy.mean() - 2.0 * K_xy.mean())
    if min(m, n) < 2:
        raise ValueError(f"the unbiased estimate needs >= 2 rows in X and Y; got {m} and {n}")
    within_x = (K_xx.sum() - np.trace(K_xx)) / (m * (m - 1))
    within_y = (K_yy.sum() - np.trace(K_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * K_xy.mean())


def mmd(X, Y, bandwidth=None) -> float:
    """MMD = √(biased MMD²): a distance between the empirical distributions of X and Y."""
    return math.sqrt(max(mmd2(X, Y, bandwidth), 0.0))

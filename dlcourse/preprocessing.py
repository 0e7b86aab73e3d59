"""Input preprocessing fitted on the training set: centring, standardisation, PCA and ZCA
whitening.

Rows are examples: ``X`` has shape ``(n, d)``. :func:`fit_preprocessing` estimates the
statistics from the *training* rows only and returns a :class:`Preprocessing` whose
``transform`` applies the same map to any other rows (validation, test, new data), so no
information from those rows leaks into training. With μ the mean row, σ the per-feature
standard deviation and ``Σ = U diag(λ) Uᵀ`` the covariance of the training rows:

- ``"centre"``:       x ↦ x − μ
- ``"standardise"``:  x ↦ (x − μ) / (σ + eps)                 (per feature)
- ``"pca_whiten"``:   x ↦ (x − μ) U diag(1/√(λ + eps))          (coordinates in the PCA basis)
- ``"zca_whiten"``:   x ↦ (x − μ) U diag(1/√(λ + eps)) Uᵀ       (rotated back to pixel space)

Both whitening maps give the training rows (nearly) the identity covariance; ``eps`` keeps
directions of (almost) zero variance, such as always-black pixels, from being blown up.
ZCA keeps each output feature aligned with an input pixel, so whitened images still look
like images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KINDS = ("centre", "standardise", "pca_whiten", "zca_whiten")

__all__ = ["KINDS", "Preprocessing", "fit_preprocessing"]


@dataclass(frozen=True)
class Preprocessing:
    """A fitted affine map ``x ↦ (x − mean) @ matrix`` (``matrix`` is ``(d, d)``; for
    centring and standardisation it is diagonal and stored as the vector ``scale``)."""

    kind: str
    mean: np.ndarray
    scale: np.ndarray | None = None
    matrix: np.ndarray | None = None

    def transform(self, X) -> np.ndarray:
        """The preprocessed rows, shape ``(m, d)`` (a new float64 array)."""
        X = np.asarray(X, dtype=np.float64)
        d = self.mean.shape[0]
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"X must have shape (m, {d}); got shape {X.shape}")
        centred = X - self.mean
        if self.matrix is not None:
            return centred @ self.matrix
        return centred * self.scale if self.scale is not None else centred


def fit_preprocessing(X_train, kind: str = "standardise", eps: float = 1e-2) -> Preprocessing:
    """Estimate the statistics of ``kind`` (one of :data:`KINDS`) from ``X_train`` ``(n, d)``.

    ``eps ≥ 0`` is added to σ (standardisation) or to the eigenvalues λ (whitening).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    eps = float(eps)
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0; got {eps!r}")
    X = np.asarray(X_train, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X_train must have shape (n, d) with n >= 2 rows; got shape {X.shape}")
    mean = X.mean(axis=0)
    if kind == "centre":
        return Preprocessing(kind, mean)
    if kind == "standardise":
        return Preprocessing(kind, mean, scale=1.0 / (X.std(axis=0) + eps))
    centred = X - mean
    cov = centred.T @ centred / X.shape[0]
    lam, U = np.linalg.eigh(cov)
    lam = np.clip(lam, 0.0, None)  # round-off can make zero eigenvalues slightly negative
    if eps == 0 and np.any(lam <= 1e-12 * max(lam.max(), 1e-300)):
        raise ValueError("the covariance is singular; whitening needs eps > 0")
    matrix = U / np.sqrt(lam + eps)
    if kind == "zca_whiten":
        matrix = matrix @ U.T
    return Preprocessing(kind, mean, matrix=matrix)

"""Synthetic data generated from a seed: 2-D classification sets and 1-D regression curves.

Every 2-D set returns a :class:`~dlcourse.data.Dataset` with ``X`` of shape ``(m, 2)``,
integer labels, and a stratified train/test split (``test_fraction`` of each class goes to
the test part). With ``scale=True`` (default) each feature is mapped affinely onto ``[0, 1]``
(min-max over the whole generated set), like the pixel data; ``scale=False`` keeps the
natural coordinates. The same arguments and seed always give the same arrays. Every 2-D
generator takes these three options last (``seed``, ``test_fraction``, ``scale``) and hands
them to one helper, ``_finish``, that scales and splits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse.data.splits import Dataset, as_rng, stratified_indices

__all__ = [
    "CURVES",
    "Curve",
    "circles",
    "gaussian_blobs",
    "moons",
    "regression_1d",
    "spirals",
    "xor",
]

Seed = int | np.random.Generator | None


def _counts(n: int, k: int) -> list[int]:
    """``n`` examples shared among ``k`` classes as evenly as possible."""
    if not isinstance(n, (int, np.integer)) or n < k:
        raise ValueError(f"n must be an integer of at least {k} (one per class); got {n!r}")
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _finish(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    test_fraction: float,
    scale: bool,
) -> Dataset:
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must lie in [0, 1); got {test_fraction}")
    if scale:
        low, high = X.min(axis=0), X.max(axis=0)
        X = (X - low) / np.where(high > low, high - low, 1.0)
    test, train = stratified_indices(y, (test_fraction,), rng)
    return Dataset(name=name, X_train=X[train], y_train=y[train], X_test=X[test], y_test=y[test])


def xor(n: int = 200, noise: float = 0.1,
        seed: Seed = 0, test_fraction: float = 0.25, scale: bool = True) -> Dataset:  # fmt: skip
    """Noisy clouds around the four corners of the unit square; label = x1 XOR x2.

    The corners are used equally often (``n=4, noise=0`` gives the truth table once);
    ``noise`` is the standard deviation of the Gaussian added to each coordinate.
    """
    rng = as_rng(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    _counts(n, 4)  # validates n
    picks = corners[rng.permutation(np.resize(np.arange(4), n))]
    X = picks + noise * rng.standard_normal((n, 2))
    return _finish("xor", X, picks[:, 0] ^ picks[:, 1], rng, test_fraction, scale)


def moons(n: int = 200, noise: float = 0.1,
          seed: Seed = 0, test_fraction: float = 0.25, scale: bool = True) -> Dataset:  # fmt: skip
    """Two interleaving half circles: class 0 the upper arc of radius 1 about (0, 0),
    class 1 the lower arc about (1, 0.5); Gaussian noise of standard deviation ``noise``."""
    rng = as_rng(seed)
    n0, n1 = _counts(n, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.vstack([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.repeat([0, 1], [n0, n1])
    return _finish("moons", X, y, rng, test_fraction, scale)


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: Seed = 0,
            test_fraction: float = 0.25, scale: bool = True) -> Dataset:  # fmt: skip
    """Two concentric circles: class 0 radius 1, class 1 radius ``factor`` (< 1)."""
    if not 0 < factor < 1:
        raise ValueError(f"factor (inner radius) must lie strictly between 0 and 1; got {factor}")
    rng = as_rng(seed)
    n0, n1 = _counts(n, 2)
    rings = []
    for count, radius in ((n0, 1.0), (n1, factor)):
        t = np.linspace(0, 2 * np.pi, count, endpoint=False)
        rings.append(radius * np.column_stack([np.cos(t), np.sin(t)]))
    X = np.vstack(rings) + noise * rng.standard_normal((n, 2))
    return _finish("circles", X, np.repeat([0, 1], [n0, n1]), rng, test_fraction, scale)


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, turns: float = 0.75,
            seed: Seed = 0, test_fraction: float = 0.25,
            scale: bool = True) -> Dataset:  # fmt: skip
    """``classes`` interleaved spiral arms from the origin (the CS231n spiral data).

    Arm ``c`` at parameter ``t`` in ``[0, 1]``: radius ``t``, angle
    ``2π (c / classes + turns · t)`` plus Gaussian noise of standard deviation ``noise``
    (in radians).
    """
    rng = as_rng(seed)
    X, y = [], []
    for c, count in enumerate(_counts(n, classes)):
        t = np.linspace(0, 1, count)
        angle = 2 * np.pi * (c / classes + turns * t) + noise * rng.standard_normal(count)
        X.append(t[:, None] * np.column_stack([np.sin(angle), np.cos(angle)]))
        y.append(np.full(count, c))
    return _finish("spirals", np.vstack(X), np.concatenate(y), rng, test_fraction, scale)


def gaussian_blobs(n: int = 300, centers: int | np.ndarray = 3, std: float = 0.5,
                   seed: Seed = 0, test_fraction: float = 0.25,
                   scale: bool = True) -> Dataset:  # fmt: skip
    """Isotropic Gaussian clouds of standard deviation ``std``, one class per center.

    ``centers`` is either a count ``k`` (centers evenly spaced on a circle of radius 2) or an
    array of shape ``(k, d)`` giving the centers (then ``X`` has ``d`` columns).
    """
    rng = as_rng(seed)
    if isinstance(centers, (int, np.integer)):
        angle = 2 * np.pi * np.arange(centers) / centers
        centers = 2 * np.column_stack([np.cos(angle), np.sin(angle)])
    centers = np.asarray(centers, dtype=float)
    if centers.ndim != 2:
        raise ValueError(f"centers must have shape (k, d); got shape {centers.shape}")
    y = np.repeat(np.arange(len(centers)), _counts(n, len(centers)))
    X = centers[y] + std * rng.standard_normal((n, centers.shape[1]))
    return _finish("gaussian_blobs", X, y, rng, test_fraction, scale)


@dataclass(frozen=True)
class Curve:
    """A target function ``f`` on ``[0, 1]`` for the universal-approximation chapter."""

    fn: Callable[[np.ndarray], np.ndarray]
    description: str


CURVES: dict[str, Curve] = {
    "sine": Curve(lambda x: np.sin(2 * np.pi * x), "sin(2πx): one full period"),
    "wiggly": Curve(
        lambda x: 0.2 + 0.4 * x**2 + 0.3 * x * np.sin(15 * x) + 0.05 * np.cos(50 * x),
        "0.2 + 0.4x² + 0.3x·sin(15x) + 0.05·cos(50x): Nielsen's bumpy function",
    ),
    "step": Curve(lambda x: (x >= 0.5).astype(float), "a unit step at x = 0.5"),
    "abs": Curve(lambda x: np.abs(2 * x - 1), "|2x − 1|: a kink at x = 0.5"),
    "bump": Curve(lambda x: np.exp(-((x - 0.5) ** 2) / 0.02), "a Gaussian bump at x = 0.5"),
    "sawtooth": Curve(lambda x: (3 * x) % 1.0, "3x mod 1: three ramps with jumps"),
    "quadratic": Curve(lambda x: (2 * x - 1) ** 2, "(2x − 1)²: a parabola"),
}


def regression_1d(
    name: str = "sine",
    n: int = 100,
    noise: float = 0.0,
    seed: Seed = 0,
    sampling: str = "grid",
) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``(X, Y)`` of a curve from ``CURVES``, both of shape ``(n, 1)``.

    ``x`` lies in ``[0, 1]``: evenly spaced (``sampling="grid"``) or uniform at random and
    sorted (``"uniform"``); ``Y = f(x) + noise · N(0, 1)``.
    """
    if name not in CURVES:
        raise ValueError(f"unknown curve {name!r}; expected one of {sorted(CURVES)}")
    rng = as_rng(seed)
    draws = {"grid": lambda: np.linspace(0, 1, n), "uniform": lambda: np.sort(rng.random(n))}
    if sampling not in draws:
        raise ValueError(f"sampling must be one of {sorted(draws)}; got {sampling!r}")
    x = draws[sampling]()
    y = CURVES[name].fn(x) + noise * rng.standard_normal(n)
    return x[:, None], y[:, None]

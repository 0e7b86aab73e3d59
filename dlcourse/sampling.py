"""Sampling the next token from a model's logits, with a temperature.

With logits ``z`` (one row per position or sequence) and temperature ``τ > 0``::

    p_i(τ) = exp(z_i / τ) / Σ_j exp(z_j / τ)

``τ = 1`` is the model's own distribution; ``τ < 1`` sharpens it (``τ → 0`` is the argmax,
greedy decoding); ``τ > 1`` flattens it (``τ → ∞`` is uniform). ``τ = 0`` is accepted and
means the argmax (ties go to the first index).
"""

from __future__ import annotations

import numpy as np


def _check(logits, temperature) -> tuple[np.ndarray, float]:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim not in (1, 2) or z.shape[-1] == 0:
        raise ValueError(f"logits must have shape (V,) or (k, V) with V >= 1; got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite")
    tau = float(temperature)
    if not tau >= 0 or not np.isfinite(tau):
        raise ValueError(f"temperature must be a finite number >= 0; got {temperature!r}")
    return z, tau


def softmax_with_temperature(logits, temperature: float = 1.0) -> np.ndarray:
    """``p(τ)`` of the module notes along the last axis (one-hot argmax for ``τ = 0``)."""
    z, tau = _check(logits, temperature)
    if tau == 0:
        return np.eye(z.shape[-1])[np.argmax(z, axis=-1)]
    s = z / tau
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sample_with_temperature(logits, temperature: float = 1.0, rng=None):
    """One token id per row of ``logits`` drawn from ``p(τ)`` (an int for a 1-D input)."""
    p = softmax_with_temperature(logits, temperature)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    rows = np.atleast_2d(p)
    u = rng.random(len(rows))[:, None]
    ids = np.minimum((np.cumsum(rows, axis=1) < u).sum(axis=1), rows.shape[1] - 1)
    return int(ids[0]) if p.ndim == 1 else ids


__all__ = ["sample_with_temperature", "softmax_with_temperature"]

"""Faster forms of a few activations for ``Network``, beside the readable ones.

The activations themselves (g, g', g' through a = g(z), the torch module) are rows of
:data:`dlcourse.activations.ACTIVATIONS`. ``FAST[name]`` holds a faster g(z) for the
commonest of them on NumPy (a few in-place ufunc calls, rows are examples) and
:func:`torch_fast` torch's fused ops; :func:`kernel` picks ``(fn, prime)`` for a
``Network`` once, when it is built. (The closed forms of BP1 live with their costs, in
:mod:`dlcourse.costs`.)
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

from dlcourse.activations import ACTIVATIONS, ActivationFunction


def _sigmoid(z):
    """σ(z) = 1 / (1 + e^{-z}). Large arrays take four in-place passes with NumPy's SIMD exp,
    after clipping |z| where e^{-z} would leave the normal floats (σ is 0 or 1 there anyway)."""
    if z.size < 4096:
        return expit(z)
    low, high = (-88.0, 87.0) if z.dtype == np.float32 else (-709.0, 708.0)
    a = np.clip(z, low, high)  # σ(low) is below the smallest normal float, σ(high) rounds to 1
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1.0
    with np.errstate(under="ignore"):  # σ(z) below the normal floats is correctly tiny
        return np.reciprocal(a, out=a)


def _softmax_rows(z):
    """Softmax of each row of ``z`` (shape ``(m, n)``), shifted by the row maximum."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


FAST = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0, dtype=z.dtype),
    "identity": lambda z: z,
    "softmax": _softmax_rows,
}


@functools.cache
def torch_fast() -> dict:
    """The forms of ``FAST`` with torch's fused ops (imported only for a torch device)."""
    import torch

    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "identity": FAST["identity"],
        "softmax": lambda z: torch.softmax(z, dim=1),
    }


def kernel(g: ActivationFunction, fast: dict = FAST):
    """``(fn, prime)`` for activation ``g``: ``fn(z) -> a`` (the faster form where ``fast``,
    ``FAST`` or ``torch_fast()``, has one); ``prime(z, a) -> g'(z)``, through ``a`` where the
    table gives that form, None for the identity (g' = 1: BP2 needs no product)."""
    fn = fast[g.name] if g.name in fast and ACTIVATIONS.get(g.name) is g else g.fn
    if g is ACTIVATIONS["identity"]:
        return fn, None
    if g.prime_of_output is not None:
        return fn, (lambda z, a: g.prime_of_output(a))
    return fn, (lambda z, a: g.prime(z))


def products(device=None) -> tuple:
    """``(matmul, sum)`` that write into a given ``out=`` array: NumPy's for ``device=None``,
    torch's otherwise (``Network.gradients_into`` fills the views of ∇θ with them)."""
    if device is None:
        return np.matmul, np.add.reduce  # np.add.reduce: ndarray.sum without its wrapper
    import torch

    return torch.matmul, torch.sum

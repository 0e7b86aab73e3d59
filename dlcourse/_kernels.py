"""Activation kernels of ``Network``: g(z) as a few ufunc calls, g'(z) read off a = g(z).

``KERNELS[name] = (fn, prime)``, looked up once when a ``Network`` is built: ``fn(z) -> a``
(shape of ``z``, rows are examples) and ``prime(z, a) -> g'(z)`` written through ``a``:
σ' = a(1 − a), tanh' = 1 − a², relu' = [a > 0]; ``None`` where g' = 1 (no product in BP2)
or where g is not elementwise. BP2 then needs no second exponential. A custom
``Activation`` falls back to its own ``fn`` and ``prime``. (The closed forms of BP1 live
with their costs, in :mod:`dlcourse.costs`.)
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

from dlcourse.activations import ACTIVATIONS, Activation


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


# NumPy kernels for the commonest activations: the registry's functions as a few ufunc calls,
# with g'(z) written through a = g(z): σ' = a(1 - a), tanh' = 1 - a², relu' = [a > 0],
# identity' = 1 (None: no product), so BP2 needs no second exponential.
KERNELS = {
    "sigmoid": (_sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0, dtype=z.dtype), lambda z, a: a > 0),
    "identity": (lambda z: z, None),
    "softmax": (_softmax_rows, None),
}


@functools.cache
def torch_kernels() -> dict:
    """The kernels of ``KERNELS`` with torch's fused ops (imported only for a torch device);
    the derivatives through ``a`` are the same formulas."""
    import torch

    return {
        "sigmoid": (torch.sigmoid, KERNELS["sigmoid"][1]),
        "tanh": (torch.tanh, KERNELS["tanh"][1]),
        "relu": (torch.relu, KERNELS["relu"][1]),
        "identity": KERNELS["identity"],
        "softmax": (lambda z: torch.softmax(z, dim=1), None),
    }


def kernel(g: Activation, kernels: dict = KERNELS):
    """``(fn, prime)`` for activation ``g``: ``fn(z) -> a``; ``prime(z, a) -> g'(z)`` or None
    when g' = 1. ``kernels`` is ``KERNELS`` (NumPy) or ``torch_kernels()``."""
    if g.name in kernels and ACTIVATIONS.get(g.name) is g:
        return kernels[g.name]
    return g.fn, (lambda z, a: g.prime(z))


def products(device=None) -> tuple:
    """``(matmul, sum)`` that write into a given ``out=`` array: NumPy's for ``device=None``,
    torch's otherwise (``Network.gradients_into`` fills the views of ∇θ with them)."""
    if device is None:
        return np.matmul, np.add.reduce  # np.add.reduce: ndarray.sum without its wrapper
    import torch

    return torch.matmul, torch.sum

"""Fast paths of ``Network``: activation kernels with g'(z) read off a = g(z), and δ^L tables.

Both are tables, looked up once when a ``Network`` is built:

- ``KERNELS[name] = (fn, prime)``: ``fn(z) -> a`` (shape of ``z``, rows are examples) and
  ``prime(z, a) -> g'(z)`` written through ``a``: σ' = a(1 − a), tanh' = 1 − a²,
  relu' = [a > 0]; ``None`` where g' = 1 (no product in BP2) or where g is not elementwise.
  BP2 then needs no second exponential.
- ``OUTPUT_ERRORS[(cost, output)] = delta(a, y)``: BP1, δ^L of shape ``(m, n_L)`` for the
  four pairings of the book's cost table, the closed forms of ``Cost.delta``.

Anything not in a table (a custom ``Activation`` or ``Cost``) falls back to the registry's
``Activation.prime`` and ``Cost.delta``.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

from dlcourse.activations import ACTIVATIONS, Activation
from dlcourse.losses import COSTS, Cost


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

# δ^L of the four textbook pairings (DESIGN.md's cost table), the formulas of the Cost
# objects evaluated inline; any other pairing calls Cost.delta.
OUTPUT_ERRORS = {
    ("quadratic", "sigmoid"): lambda a, y: (a - y) * a * (1.0 - a),
    ("quadratic", "identity"): lambda a, y: a - y,
    ("binary_cross_entropy", "sigmoid"): lambda a, y: a - y,
    ("cross_entropy", "softmax"): lambda a, y: a - y,
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


def output_error(cost: Cost, output: Activation, kernels: dict = KERNELS):
    """The closed form ``delta(a, y) -> δ^L`` (BP1) of ``OUTPUT_ERRORS`` for this pairing, or
    ``None`` (use ``cost.delta``) when the cost or the output's kernel is not the registry's."""
    registered = COSTS.get(cost.name) is cost and kernel(output, kernels) is kernels.get(
        output.name
    )
    return OUTPUT_ERRORS.get((cost.name, output.name)) if registered else None

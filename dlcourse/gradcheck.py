"""Gradient checking by central differences.

The derivative of a scalar function ``f`` with respect to one entry ``x_i`` is estimated by

    (f(x + h e_i) - f(x - h e_i)) / (2 h),

whose error is O(h^2). Analytic and numerical gradients are compared with the relative
error ``max|a - b| / max(1e-12, |a| + |b|)`` (the CS231n form); in float64 a correct
backpropagation gives errors far below 1e-7.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

# order -> ((offset in units of h, weight), ...), denominator (times h)
_STENCILS = {
    2: (((1, 1.0), (-1, -1.0)), 2.0),
    4: (((1, 8.0), (-1, -8.0), (2, -1.0), (-2, 1.0)), 12.0),
}


def numerical_gradient(
    f: Callable[[], float], x: np.ndarray, h: float = 1e-5, order: int = 2
) -> np.ndarray:
    """Central-difference gradient of ``f()`` with respect to the array ``x`` (same shape).

    ``f`` takes no arguments and reads ``x`` itself (``x`` is perturbed in place, one entry at
    a time, and every entry is restored afterwards, even if ``f`` raises).

    ``order=2`` is the classic two-point formula (f(x+h) - f(x-h)) / 2h, error O(h^2);
    ``order=4`` the four-point formula
    (8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h, error O(h^4), which with h ~ 1e-3
    is accurate to about 1e-12 and makes float64 checks robust for tiny gradient entries.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array perturbed in place; got {type(x).__name__}")
    if order not in _STENCILS:
        raise ValueError(f"order must be one of {sorted(_STENCILS)}; got {order!r}")
    stencil, denominator = _STENCILS[order]
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        total = 0.0
        try:
            for step, weight in stencil:
                x[i] = old + step * h
                total += weight * float(f())
        finally:
            x[i] = old
        grad[i] = total / (denominator * h)
    return grad


def rel_error(a, b) -> float:
    """Maximum over entries of ``|a - b| / max(1e-12, |a| + |b|)``; ``nan`` when an entry of
    ``a`` or ``b`` is NaN or infinite."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of one shape; got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def _compare(check: str, name: str, analytic, numeric) -> float:
    """``rel_error(analytic, numeric)``; a NaN or infinite entry in either raises
    ``FloatingPointError`` naming ``name`` (a gradient check of such numbers means nothing)."""
    for kind, g in (("analytic", analytic), ("numerical", numeric)):
        g = np.asarray(g, dtype=np.float64)
        bad = g.size - int(np.count_nonzero(np.isfinite(g)))
        if bad:
            raise FloatingPointError(
                f"{check}: the {kind} gradient of {name} (shape {g.shape}) holds {bad} NaN or "
                f"infinite entries out of {g.size}; a gradient check needs finite gradients"
            )
    return rel_error(analytic, numeric)


def check_network(net, X, Y, h: float = 1e-3, order: int = 4) -> float:
    """Largest relative error between ``net.gradients(X, Y)`` and central differences of
    ``net.cost(X, Y)`` over every weight and bias of ``net`` (four-point formula by default).

    A NaN or infinite entry in either gradient raises ``FloatingPointError`` naming the
    parameter.
    """
    analytic = net.gradients(X, Y)
    params = net.parameters()
    worst = 0.0
    for i, (p, g) in enumerate(zip(params, analytic, strict=True)):
        numeric = numerical_gradient(lambda: net.cost(X, Y), p, h, order)
        worst = max(worst, _compare("check_network", f"parameter {i}", g, numeric))
    return worst


def check_layer(
    layer,
    x: np.ndarray,
    dout: np.ndarray | None = None,
    h: float = 1e-3,
    order: int = 4,
    seed: int | None = 0,
    forward_kwargs: dict | None = None,
) -> float:
    """Largest relative error of a layer's ``backward`` against central differences.

    ``layer`` is any object with ``forward(x, **forward_kwargs) -> out``,
    ``backward(dout) -> dx`` and lists ``params`` / ``grads`` of arrays of equal shapes
    (possibly empty). The scalar that is differentiated is ``L = sum(out * dout)``, so the
    exact gradients are ``dL/dx = backward(dout)`` and ``dL/dparams = grads``. ``dout``
    defaults to a standard normal array drawn from ``seed``. Layers with randomness in the
    forward pass (dropout) must be made deterministic by the caller, for example with
    ``forward_kwargs={"training": False}`` or a fixed mask. A NaN or infinite entry in any
    gradient raises ``FloatingPointError`` naming it.
    """
    kwargs = dict(forward_kwargs or {})
    x = np.array(x, dtype=np.float64)
    out = layer.forward(x, **kwargs)
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    dout = np.asarray(dout, dtype=np.float64)
    dx = layer.backward(dout)
    analytic: list[np.ndarray] = [np.array(g, copy=True) for g in layer.grads]

    def loss() -> float:
        return float(np.sum(layer.forward(x, **kwargs) * dout))

    worst = _compare("check_layer", "the input x", dx, numerical_gradient(loss, x, h, order))
    params: Sequence[np.ndarray] = layer.params
    for i, (p, g) in enumerate(zip(params, analytic, strict=True)):
        numeric = numerical_gradient(loss, p, h, order)
        worst = max(worst, _compare("check_layer", f"parameter {i}", g, numeric))
    return worst

"""Shared plumbing for :mod:`dlcourse.losses`: input checks, reductions and their gradients.

Conventions used by every ``*_grad`` function in ``dlcourse.losses``: the gradient of the
reduced loss with respect to ``input`` is returned, scaled by ``grad_output`` (the upstream
gradient, as in ``loss.backward(grad_output)``).  For ``reduction="none"`` ``grad_output``
has the shape of the unreduced loss and defaults to ones, so the result is the gradient of
``loss.sum()``; for ``"mean"``/``"sum"`` it is a scalar that defaults to 1.
"""

from __future__ import annotations

import numpy as np

from dlcourse._arrays import (  # noqa: F401  (re-exported: the losses use them as U.name)
    TORCH_EPSILON,
    as_array,
    check_same_shape,
    clamped_log,
    log_softmax,
    prepare,
    quiet,
)

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction, allowed=REDUCTIONS):
    """Raise ``ValueError`` unless ``reduction`` is one of ``allowed``."""
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {list(allowed)}, got {reduction!r}")


def elementwise_pair(input, target, reduction, weight=None):
    """Validate a pair of equal-shaped arrays (and an optional weight of that shape)."""
    check_reduction(reduction)
    xp, x = prepare(input, "input")
    t = as_array(xp, target, x)
    check_same_shape(x, t)
    w = None
    if weight is not None:
        w = as_array(xp, weight, x)
        check_same_shape(x, w, ("input", "weight"))
    return xp, x, t, w


def broadcast_weight(xp, weight, x, name="weight"):
    """Broadcast an optional weight to the shape of ``x`` (ValueError naming both shapes)."""
    if weight is None:
        return None
    w = as_array(xp, weight, x)
    try:
        shape = np.broadcast_shapes(tuple(w.shape), tuple(x.shape))
    except ValueError:
        shape = None
    if shape != tuple(x.shape):
        raise ValueError(
            f"{name} of shape {tuple(w.shape)} cannot be broadcast to input shape {tuple(x.shape)}"
        )
    return xp.broadcast_to(w, x.shape)


def check_probabilities(xp, x, name="input"):
    """Raise ``ValueError`` unless every entry of ``x`` lies in [0, 1]."""
    if bool(xp.any(x < 0)) or bool(xp.any(x > 1)) or bool(xp.any(xp.isnan(x))):
        raise ValueError(f"{name} must hold probabilities in [0, 1] (e.g. sigmoid outputs)")


def reduce(xp, loss, reduction, divisor=None):
    """Apply ``reduction`` to an unreduced loss; ``"mean"`` divides by ``divisor`` or numel."""
    if reduction == "none":
        return loss
    total = xp.sum(loss)
    if reduction == "sum":
        return total
    return total / (divisor if divisor is not None else _numel(loss))


def reduce_grad(xp, d, reduction, grad_output=None, divisor=None, loss_shape=None):
    """Turn ∂loss_i/∂input_i of the unreduced loss into the gradient of the reduced loss.

    ``d`` has the shape of the input; ``loss_shape`` (default: ``d.shape``) is the shape of
    the unreduced loss, which ``grad_output`` must have for ``reduction="none"``.
    """
    loss_shape = tuple(d.shape) if loss_shape is None else tuple(loss_shape)
    if reduction == "none":
        if grad_output is None:
            return d
        g = as_array(xp, grad_output, d)
        if tuple(g.shape) != loss_shape:
            raise ValueError(
                f"grad_output has shape {tuple(g.shape)} but the unreduced loss has shape"
                f" {loss_shape}"
            )
        return d * xp.reshape(g, tuple(g.shape) + (1,) * (d.ndim - g.ndim))
    scale = 1.0 if grad_output is None else as_array(xp, grad_output, d)
    if reduction == "mean":
        n = divisor if divisor is not None else _prod(loss_shape)
        scale = scale / n
    return d * scale


def _prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _numel(x):
    return _prod(tuple(x.shape))

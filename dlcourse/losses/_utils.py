"""Shared plumbing for :mod:`dlcourse.losses`: input checks, reductions and their gradients.

Conventions used by every ``*_grad`` function in ``dlcourse.losses``: the gradient of the
reduced loss with respect to ``input`` is returned, scaled by ``grad_output`` (the upstream
gradient, as in ``loss.backward(grad_output)``).  For ``reduction="none"`` ``grad_output``
has the shape of the unreduced loss and defaults to ones, so the result is the gradient of
``loss.sum()``; for ``"mean"``/``"sum"`` it is a scalar that defaults to 1.
"""

from __future__ import annotations

import numpy as np

from dlcourse.activations import _prepare

REDUCTIONS = ("none", "mean", "sum")
LOG_CLAMP = -100.0  # binary_cross_entropy clamps log(x) and log(1 - x) at -100, like torch
# torch's EPSILON = 1e-12 (stored as float32): the lower bound on x (1 - x) in the BCE
# gradient, and the term added to ‖x‖² in cosine_embedding_loss
TORCH_EPSILON = float(np.float32(1e-12))


def prepare(x, name="input"):
    """Return ``(xp, x)``: the array namespace and ``x`` as a floating array."""
    try:
        return _prepare(x)
    except TypeError as err:
        raise TypeError(f"{name} must be an array, got {type(x).__name__}") from err


def as_array(xp, x, like):
    """Convert ``x`` (array, number or list) to an array of ``like``'s dtype in namespace xp."""
    if xp is np:
        return np.asarray(x, dtype=like.dtype)
    if hasattr(x, "dtype") and hasattr(x, "shape") and not isinstance(x, np.ndarray):
        return xp.astype(x, like.dtype)
    return xp.asarray(np.asarray(x), dtype=like.dtype, device=getattr(like, "device", None))


def check_reduction(reduction, allowed=REDUCTIONS):
    """Raise ``ValueError`` unless ``reduction`` is one of ``allowed``."""
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {list(allowed)}, got {reduction!r}")


def check_same_shape(a, b, names=("input", "target")):
    """Raise ``ValueError`` naming both shapes unless ``a`` and ``b`` have the same shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{names[0]} has shape {tuple(a.shape)} but {names[1]} has shape {tuple(b.shape)};"
            " they must be equal"
        )


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


def clamped_log(xp, x):
    """log(x) clamped below at -100 (torch's convention in binary_cross_entropy)."""
    tiny = np.finfo(np.float64 if x.dtype == xp.float64 else np.float32).tiny
    return xp.clip(xp.log(xp.clip(x, min=tiny)), min=LOG_CLAMP)


def log_softmax(xp, z, axis=-1):
    """Stable log-softmax: z − max z − log Σ exp(z − max z) along ``axis``."""
    shifted = z - xp.max(z, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _numel(x):
    return _prod(tuple(x.shape))


def quiet(xp):
    """Context manager silencing harmless NumPy underflow (a no-op context otherwise)."""
    if xp is np:
        return np.errstate(under="ignore")
    import contextlib

    return contextlib.nullcontext()

"""Multi-class losses: cross_entropy (from logits) and nll_loss (from log-probabilities).

Public names are re-exported by :mod:`dlcourse.losses`; import them from there.

Both multi-class losses are written as ℓ_n = −Σ_c v_nc log p_nc, where log p are
log-probabilities and the coefficients v say how much each class counts (one-hot ×
class weight for class-index targets, the target distribution for probability targets,
plus the label-smoothing share).  Then ∂ℓ_n/∂log p_nc = −v_nc, and through log-softmax
∂ℓ_n/∂z_nc = p_nc Σ_k v_nk − v_nc.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.losses import _utils as U

Array = Any
nan = float("nan")


def _is_integer(xp, t):
    return xp.isdtype(t.dtype, "integral")


def _target_array(xp, target, like):
    """``target`` as an array of namespace xp, keeping its dtype (int indices stay int)."""
    if xp is np:
        return np.asarray(target)
    if hasattr(target, "dtype") and not isinstance(target, (np.ndarray, np.generic)):
        return target
    return xp.asarray(np.asarray(target), device=getattr(like, "device", None))


def _coefficients(input, target, weight, ignore_index, label_smoothing, reduction, fname):
    """Return (xp, class-last input, parts, loss_shape, restore).

    ``parts`` is a list of (v, mean_divisor) with v of the class-last input shape; the
    ``"mean"`` reduction divides part v by its own divisor (torch normalises the
    class-index NLL term by Σ weight[target] over the non-ignored examples).
    """
    U.check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    xp, x = U.prepare(input)
    if x.ndim == 0:
        raise ValueError(f"{fname}: input must have a class axis, got a scalar")
    batched = x.ndim > 1
    z = xp.moveaxis(x, 1, -1) if batched else x[None, :]
    n_classes = z.shape[-1]
    t = _target_array(xp, target, x)
    w = None
    if weight is not None:
        w = U.as_array(xp, weight, x)
        if tuple(w.shape) != (n_classes,):
            raise ValueError(
                f"{fname}: weight has shape {tuple(w.shape)}; expected ({n_classes},),"
                " one weight per class"
            )
    w_row = xp.ones((n_classes,), dtype=x.dtype) if w is None else w
    if _is_integer(xp, t):
        expected = tuple(z.shape[:-1]) if batched else ()
        if tuple(t.shape) != expected:
            raise ValueError(
                f"{fname}: input has shape {tuple(x.shape)} so class-index target must have"
                f" shape {expected}, got {tuple(t.shape)}"
            )
        t = t if batched else t[None]
        keep = t != ignore_index
        if bool(xp.any(keep & ((t < 0) | (t >= n_classes)))):
            raise ValueError(f"{fname}: class indices must be in [0, {n_classes - 1}]")
        classes = xp.arange(n_classes, dtype=t.dtype)
        if xp is not np:
            classes = xp.asarray(classes, device=t.device)
        onehot = xp.astype((t[..., None] == classes) & keep[..., None], x.dtype)
        keep_f = xp.astype(keep, x.dtype)[..., None]
        w_y = xp.sum(onehot * w_row, axis=-1)
        nll_div = xp.sum(w_y)
        parts = [((1.0 - label_smoothing) * onehot * w_row, nll_div)]
        if label_smoothing > 0:
            smooth_div = nll_div if w is not None else xp.sum(keep_f)
            parts.append((label_smoothing / n_classes * keep_f * w_row, smooth_div))
    elif xp.isdtype(t.dtype, "real floating"):
        t = U.as_array(xp, t, x)
        U.check_same_shape(x, t, ("input", "probability target"))
        q = xp.moveaxis(t, 1, -1) if batched else t[None, :]
        q = (1.0 - label_smoothing) * q + label_smoothing / n_classes
        parts = [(q * w_row, z.shape[0] * U._prod(z.shape[1:-1]))]
    else:
        raise TypeError(f"{fname}: target must hold class indices (int) or probabilities")

    def restore(g):  # class-last layout back to the layout of ``input``
        return xp.moveaxis(g, -1, 1) if batched else g[0]

    return xp, z, parts, (tuple(z.shape[:-1]) if batched else ()), restore


def _loss(xp, logp, parts, loss_shape, reduction):
    if reduction == "none":
        v = sum(p[0] for p in parts)
        per_example = -xp.sum(v * logp, axis=-1)
        return xp.reshape(per_example, loss_shape)
    if reduction == "sum":
        return -sum(xp.sum(v * logp) for v, _ in parts)
    # all targets ignored: Σ weight = 0 and the mean is 0/0 = nan, as in torch
    return -sum(xp.sum(v * logp) / div if _nonzero(div) else xp.sum(v) * nan for v, div in parts)


def _nonzero(div):
    return bool(div != 0)


def _scaled_coefficients(xp, parts, loss_shape, reduction, grad_output, like):
    if reduction == "none":
        v = sum(p[0] for p in parts)
        if grad_output is None:
            return v
        g = U.as_array(xp, grad_output, like)
        if tuple(g.shape) != loss_shape:
            raise ValueError(
                f"grad_output has shape {tuple(g.shape)}; the unreduced loss has {loss_shape}"
            )
        return v * xp.reshape(g, tuple(v.shape[:-1]) + (1,))
    scale = 1.0 if grad_output is None else U.as_array(xp, grad_output, like)
    if reduction == "sum":
        return sum(p[0] for p in parts) * scale
    return sum(v / div if _nonzero(div) else v for v, div in parts) * scale  # v = 0 if div = 0


def cross_entropy(
    input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Softmax cross-entropy from logits, as ``torch.nn.functional.cross_entropy``.

    ``input``: logits of shape (N, C), (C,) or (N, C, d1, ...).  ``target``: class indices
    (int, shape (N,), (), or (N, d1, ...); ``ignore_index`` entries are skipped) or class
    probabilities (float, the shape of ``input``).  ``weight``: (C,) class weights.  With
    label smoothing ε the target becomes (1 − ε) y + ε / C.
    """
    xp, z, parts, shape, _ = _coefficients(
        input, target, weight, ignore_index, label_smoothing, reduction, "cross_entropy"
    )
    with U.quiet(xp):
        return _loss(xp, U.log_softmax(xp, z), parts, shape, reduction)


def cross_entropy_grad(
    input,
    target,
    weight=None,
    *,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
    grad_output=None,
):
    """∂ cross_entropy / ∂logits = p Σ_k v_k − v per example (p = softmax(input))."""
    xp, z, parts, shape, restore = _coefficients(
        input, target, weight, ignore_index, label_smoothing, reduction, "cross_entropy"
    )
    v = _scaled_coefficients(xp, parts, shape, reduction, grad_output, z)
    with U.quiet(xp):
        p = xp.exp(U.log_softmax(xp, z))
    return restore(p * xp.sum(v, axis=-1, keepdims=True) - v)


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood −weight[y] · input[y] for log-probabilities ``input``.

    Shapes as :func:`cross_entropy` with class-index targets; ``"mean"`` divides by the
    sum of the weights of the non-ignored targets.
    """
    xp, logp, parts, shape, _ = _coefficients(
        input, _indices(target), weight, ignore_index, 0.0, reduction, "nll_loss"
    )
    return _loss(xp, logp, parts, shape, reduction)


def nll_loss_grad(
    input, target, weight=None, *, ignore_index=-100, reduction="mean", grad_output=None
):
    """∂ nll_loss / ∂input = −weight[y] at the target class, 0 elsewhere (then reduced)."""
    xp, logp, parts, shape, restore = _coefficients(
        input, _indices(target), weight, ignore_index, 0.0, reduction, "nll_loss"
    )
    return restore(-_scaled_coefficients(xp, parts, shape, reduction, grad_output, logp))


def _indices(target):
    dtype = getattr(target, "dtype", None)
    if dtype is not None and "float" in str(dtype):
        raise TypeError(f"nll_loss needs integer class indices as target, got dtype {dtype}")
    return target

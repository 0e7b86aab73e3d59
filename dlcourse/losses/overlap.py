"""Losses that torch lacks: soft Dice, soft Jaccard (IoU) and the binary focal loss.

Public names are re-exported by :mod:`dlcourse.losses`; import them from there.  The
last axis holds the K outputs of one example (pixels of a mask, classes); leading axes
index examples.
"""

from __future__ import annotations

from dlcourse.losses import _utils as U


def _overlap_parts(input, target, reduction):
    xp, x, t, _ = U.elementwise_pair(input, target, reduction)
    if x.ndim == 0:
        raise ValueError("dice/jaccard losses need at least one axis of K outputs")
    inter = xp.sum(x * t, axis=-1)
    total = xp.sum(x, axis=-1) + xp.sum(t, axis=-1)
    return xp, x, t, inter, total


def dice_loss(input, target, *, eps=1e-7, reduction="mean"):
    """Soft Dice loss 1 − (2 Σ_k x_k y_k + ε) / (Σ_k x_k + Σ_k y_k + ε) per example.

    ``input`` (predicted probabilities) and ``target`` have shape (..., K); the sums run
    over the last axis, so the unreduced loss has shape ``input.shape[:-1]``.  ``eps``
    keeps an empty prediction of an empty target at loss 0.  The lecture notes' set form
    −Σ x y / (Σ x + Σ y) is this loss halved and shifted, so both have the same minimiser.
    """
    xp, _, _, inter, total = _overlap_parts(input, target, reduction)
    return U.reduce(xp, 1.0 - (2.0 * inter + eps) / (total + eps), reduction)


def dice_loss_grad(input, target, *, eps=1e-7, reduction="mean", grad_output=None):
    """∂ dice_loss / ∂x_k = −(2 y_k (S + ε) − (2I + ε)) / (S + ε)², I = Σ x y, S = Σ x + Σ y."""
    xp, _, t, inter, total = _overlap_parts(input, target, reduction)
    den = (total + eps)[..., None]
    d = -(2.0 * t * den - (2.0 * inter + eps)[..., None]) / (den * den)
    return U.reduce_grad(xp, d, reduction, grad_output, loss_shape=tuple(inter.shape))


def jaccard_loss(input, target, *, eps=1e-7, reduction="mean"):
    """Soft Jaccard (IoU) loss 1 − (I + ε) / (U + ε), I = Σ_k x_k y_k, U = Σ x + Σ y − I.

    Shapes and ``eps`` as in :func:`dice_loss`.
    """
    xp, _, _, inter, total = _overlap_parts(input, target, reduction)
    return U.reduce(xp, 1.0 - (inter + eps) / (total - inter + eps), reduction)


def jaccard_loss_grad(input, target, *, eps=1e-7, reduction="mean", grad_output=None):
    """∂ jaccard_loss / ∂x_k = −(y_k (U + ε) − (I + ε)(1 − y_k)) / (U + ε)²."""
    xp, _, t, inter, total = _overlap_parts(input, target, reduction)
    union = (total - inter + eps)[..., None]
    d = -(t * union - (inter + eps)[..., None] * (1.0 - t)) / (union * union)
    return U.reduce_grad(xp, d, reduction, grad_output, loss_shape=tuple(inter.shape))


def _focal_parts(input, target, gamma, alpha, reduction):
    if gamma < 0:
        raise ValueError(f"focal_loss needs gamma >= 0, got {gamma}")
    xp, p, t, _ = U.elementwise_pair(input, target, reduction)
    U.check_probabilities(xp, p)
    with U.quiet(xp):
        ce = -(t * U.clamped_log(xp, p) + (1.0 - t) * U.clamped_log(xp, 1.0 - p))
    q = 1.0 - (p * t + (1.0 - p) * (1.0 - t))  # 1 − p_t
    a = 1.0 if alpha is None else alpha * t + (1.0 - alpha) * (1.0 - t)
    return xp, p, t, ce, q, a


def focal_loss(input, target, *, gamma=2.0, alpha=0.25, reduction="mean"):
    """Binary focal loss −α_t (1 − p_t)^γ ln p_t for predicted probabilities p.

    p_t = p where y = 1 and 1 − p where y = 0 (generally p y + (1 − p)(1 − y)), α_t = α y
    + (1 − α)(1 − y); ``alpha=None`` drops the class weight.  γ = 0 and ``alpha=None``
    give :func:`binary_cross_entropy`.  Logarithms are clamped at −100 like there.
    """
    xp, _, _, ce, q, a = _focal_parts(input, target, gamma, alpha, reduction)
    return U.reduce(xp, a * q**gamma * ce, reduction)


def focal_loss_grad(input, target, *, gamma=2.0, alpha=0.25, reduction="mean", grad_output=None):
    """α_t [(1 − p_t)^γ ∂ce/∂p − γ (1 − p_t)^{γ−1} (2y − 1) ce], ∂ce/∂p as in BCE."""
    xp, p, t, ce, q, a = _focal_parts(input, target, gamma, alpha, reduction)
    dce = (p - t) / xp.clip((1.0 - p) * p, min=U.TORCH_EPSILON)
    d = q**gamma * dce
    if gamma != 0:
        with U.quiet(xp):
            safe_q = xp.where(q > 0, q, xp.ones_like(q))
            dq = xp.where(q > 0, gamma * safe_q ** (gamma - 1.0), xp.zeros_like(q))
        d = d - dq * (2.0 * t - 1.0) * ce
    return U.reduce_grad(xp, a * d, reduction, grad_output)

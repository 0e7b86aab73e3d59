"""Elementwise losses: each example and output contributes its own term.

``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss`` (regression),
``binary_cross_entropy`` and ``binary_cross_entropy_with_logits`` (one probability per
output) and ``kl_div`` match ``torch.nn.functional`` (argument names, defaults, reductions,
edge cases). Each ``f`` has a companion ``f_grad(..., grad_output=None)`` returning
∂loss/∂input with the shape of ``input`` (the ``grad_output`` convention is in
:mod:`dlcourse.losses._utils`). Inputs and targets must have equal shapes where torch would
broadcast (a ``ValueError`` names both shapes).
"""

from __future__ import annotations

from dlcourse.activations import _sigmoid
from dlcourse.losses import _utils as U


def mse_loss(input, target, *, reduction="mean", weight=None):
    """Mean squared error (x − y)², elementwise; ``weight`` scales each term.

    With ``weight``, ``"mean"`` divides by Σ weight (as torch does).  Shapes: any, equal.
    """
    xp, x, t, w = U.elementwise_pair(input, target, reduction, weight)
    loss = (x - t) ** 2
    if w is None:
        return U.reduce(xp, loss, reduction)
    return U.reduce(xp, loss * w, reduction, xp.sum(w))


def mse_loss_grad(input, target, *, reduction="mean", weight=None, grad_output=None):
    """∂ mse_loss / ∂input = 2 (x − y) · weight, scaled by the reduction."""
    xp, x, t, w = U.elementwise_pair(input, target, reduction, weight)
    d = 2.0 * (x - t)
    if w is None:
        return U.reduce_grad(xp, d, reduction, grad_output)
    return U.reduce_grad(xp, d * w, reduction, grad_output, xp.sum(w))


def l1_loss(input, target, *, reduction="mean", weight=None):
    """Mean absolute error |x − y|, elementwise (weighted mean divides by Σ weight)."""
    xp, x, t, w = U.elementwise_pair(input, target, reduction, weight)
    loss = xp.abs(x - t)
    if w is None:
        return U.reduce(xp, loss, reduction)
    return U.reduce(xp, loss * w, reduction, xp.sum(w))


def l1_loss_grad(input, target, *, reduction="mean", weight=None, grad_output=None):
    """∂ l1_loss / ∂input = sign(x − y) · weight (0 where x = y, as in torch)."""
    xp, x, t, w = U.elementwise_pair(input, target, reduction, weight)
    d = xp.sign(x - t)
    if w is None:
        return U.reduce_grad(xp, d, reduction, grad_output)
    return U.reduce_grad(xp, d * w, reduction, grad_output, xp.sum(w))


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """−w [y ln x + (1 − y) ln(1 − x)] for probabilities x ∈ [0, 1].

    Each logarithm is clamped at −100, as in torch, so x = 0 or 1 gives a finite loss.
    ``weight`` broadcasts to the input shape.
    """
    xp, x, t, _ = U.elementwise_pair(input, target, reduction)
    U.check_probabilities(xp, x)
    w = U.broadcast_weight(xp, weight, x)
    with U.quiet(xp):
        loss = -(t * U.clamped_log(xp, x) + (1.0 - t) * U.clamped_log(xp, 1.0 - x))
    return U.reduce(xp, loss if w is None else loss * w, reduction)


def binary_cross_entropy_grad(input, target, weight=None, *, reduction="mean", grad_output=None):
    """w (x − y) / max(x (1 − x), 1e-12): torch's gradient of binary_cross_entropy."""
    xp, x, t, _ = U.elementwise_pair(input, target, reduction)
    U.check_probabilities(xp, x)
    w = U.broadcast_weight(xp, weight, x)
    d = (x - t) / xp.clip((1.0 - x) * x, min=U.TORCH_EPSILON)
    return U.reduce_grad(xp, d if w is None else d * w, reduction, grad_output)


def _bce_logits_parts(input, target, weight, reduction, pos_weight):
    xp, x, t, _ = U.elementwise_pair(input, target, reduction)
    w = U.broadcast_weight(xp, weight, x)
    pw = U.broadcast_weight(xp, pos_weight, x, "pos_weight")
    log_weight = 1.0 if pw is None else 1.0 + (pw - 1.0) * t
    return xp, x, t, w, pw, log_weight


def binary_cross_entropy_with_logits(
    input, target, weight=None, *, reduction="mean", pos_weight=None
):
    """Binary cross-entropy of σ(x) computed stably from the logits x.

    ℓ = w [(1 − y) x + (1 + (p − 1) y) softplus(−x)], with softplus(−x) =
    max(−x, 0) + ln(1 + e^{−|x|}) and p = ``pos_weight`` (broadcast along the last axis,
    one weight per class, as in torch).
    """
    xp, x, t, w, _, log_weight = _bce_logits_parts(input, target, weight, reduction, pos_weight)
    with U.quiet(xp):
        softplus_neg = xp.clip(-x, min=0.0) + xp.log1p(xp.exp(-xp.abs(x)))
    loss = (1.0 - t) * x + log_weight * softplus_neg
    return U.reduce(xp, loss if w is None else loss * w, reduction)


def binary_cross_entropy_with_logits_grad(
    input, target, weight=None, *, reduction="mean", pos_weight=None, grad_output=None
):
    """w [(1 + (p − 1) y) σ(x) − p y]; without pos_weight this is w (σ(x) − y)."""
    xp, x, t, w, pw, log_weight = _bce_logits_parts(input, target, weight, reduction, pos_weight)
    with U.quiet(xp):
        s = _sigmoid(xp, x)
    d = s - t if pw is None else log_weight * s - pw * t
    return U.reduce_grad(xp, d if w is None else d * w, reduction, grad_output)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss: ½ r² for |r| < δ, δ (|r| − ½ δ) otherwise, r = x − y.

    With ``weight`` the weighted terms are averaged over all elements (torch's choice).
    """
    if delta <= 0:
        raise ValueError(f"huber_loss needs delta > 0, got {delta}")
    xp, x, t, w = U.elementwise_pair(input, target, reduction, weight)
    r = x - t
    a = xp.abs(r)
    loss = xp.where(a < delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    return U.reduce(xp, loss if w is None else loss * w, reduction)


def huber_loss_grad(input, target, reduction="mean", delta=1.0, weight=None, grad_output=None):
    """∂ huber_loss / ∂input = clip(x − y, −δ, δ) · weight."""
    if delta <= 0:
        raise ValueError(f"huber_loss needs delta > 0, got {delta}")
    xp, x, t, w = U.elementwise_pair(input, target, reduction, weight)
    d = xp.clip(x - t, min=-delta, max=delta)
    return U.reduce_grad(xp, d if w is None else d * w, reduction, grad_output)


def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0):
    """Smooth L1: r² / (2β) for |r| < β, |r| − β/2 otherwise (β = 0 gives l1_loss)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss needs beta >= 0, got {beta}")
    xp, x, t, _ = U.elementwise_pair(input, target, reduction)
    r = x - t
    a = xp.abs(r)
    if beta == 0:
        return U.reduce(xp, a, reduction)
    return U.reduce(xp, xp.where(a < beta, 0.5 * r * r / beta, a - 0.5 * beta), reduction)


def smooth_l1_loss_grad(input, target, *, reduction="mean", beta=1.0, grad_output=None):
    """∂ smooth_l1_loss / ∂input: r / β for |r| < β, sign(r) otherwise."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss needs beta >= 0, got {beta}")
    xp, x, t, _ = U.elementwise_pair(input, target, reduction)
    r = x - t
    d = xp.sign(r) if beta == 0 else xp.where(xp.abs(r) < beta, r / beta, xp.sign(r))
    return U.reduce_grad(xp, d, reduction, grad_output)


_KL_REDUCTIONS = ("none", "mean", "sum", "batchmean")


def _kl_parts(input, target, reduction):
    U.check_reduction(reduction, _KL_REDUCTIONS)
    xp, x, t, _ = U.elementwise_pair(input, target, "none")
    divisor = (x.shape[0] if x.ndim else 1) if reduction == "batchmean" else None
    return xp, x, t, ("sum" if reduction == "batchmean" else reduction), divisor


def kl_div(input, target, *, reduction="mean", log_target=False):
    """Kullback–Leibler divergence terms y (ln y − x), with x = log-probabilities.

    ``log_target=True`` reads the target as log-probabilities: e^y (y − x).  Terms with
    y = 0 are 0.  ``"mean"`` averages over all elements (torch's default); ``"batchmean"``
    divides the sum by the batch size, which is the mathematical KL divergence.
    """
    xp, x, t, red, divisor = _kl_parts(input, target, reduction)
    if log_target:
        loss = xp.exp(t) * (t - x)
    else:
        safe = xp.where(t > 0, t, xp.ones_like(t))
        loss = xp.where(t > 0, t * (xp.log(safe) - x), xp.zeros_like(t))
    total = U.reduce(xp, loss, red)
    return total if divisor is None else total / divisor


def kl_div_grad(input, target, *, reduction="mean", log_target=False, grad_output=None):
    """∂ kl_div / ∂input = −y (or −e^y with ``log_target``), scaled by the reduction."""
    xp, x, t, red, divisor = _kl_parts(input, target, reduction)
    d = -xp.exp(t) if log_target else -t
    g = U.reduce_grad(xp, d, red, grad_output)
    return g if divisor is None else g / divisor

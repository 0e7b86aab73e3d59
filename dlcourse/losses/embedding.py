"""Embedding losses: compare pairs of vectors (cosine) or distances (hinge) with ±1 targets.

``cosine_embedding_loss`` and ``hinge_embedding_loss`` match ``torch.nn.functional``;
each has a ``_grad`` companion returning ∂loss/∂input.
"""

from __future__ import annotations

from dlcourse.losses import _utils as U


def _pm_one_target(xp, target, like, shape, fname):
    y = U.as_array(xp, target, like)
    if tuple(y.shape) != tuple(shape):
        raise ValueError(f"{fname}: target has shape {tuple(y.shape)}; expected {tuple(shape)}")
    if not bool(xp.all((y == 1) | (y == -1))):
        raise ValueError(f"{fname}: target values must be 1 or -1")
    return y


def _cosine_parts(input1, input2, target, reduction):
    U.check_reduction(reduction)
    xp, x1 = U.prepare(input1, "input1")
    x2 = U.as_array(xp, input2, x1)
    U.check_same_shape(x1, x2, ("input1", "input2"))
    if x1.ndim not in (1, 2):
        raise ValueError(f"cosine_embedding_loss expects 1-D or 2-D inputs, got {x1.ndim}-D")
    y = _pm_one_target(xp, target, x1, x1.shape[:-1], "cosine_embedding_loss")
    m1 = xp.sum(x1 * x1, axis=-1) + U.TORCH_EPSILON
    m2 = xp.sum(x2 * x2, axis=-1) + U.TORCH_EPSILON
    denom = xp.sqrt(m1 * m2)
    cos = xp.sum(x1 * x2, axis=-1) / denom
    return xp, x1, x2, y, m1, m2, denom, cos


def cosine_embedding_loss(input1, input2, target, margin=0.0, *, reduction="mean"):
    """1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1.

    Rows are examples (shape (N, D), target (N,)) or one example of shape (D,).
    Targets other than ±1 raise ``ValueError`` (torch silently gives them loss 0).
    """
    xp, _, _, y, _, _, _, cos = _cosine_parts(input1, input2, target, reduction)
    loss = xp.where(y == 1, 1.0 - cos, xp.clip(cos - margin, min=0.0))
    return U.reduce(xp, loss, reduction)


def cosine_embedding_loss_grad(
    input1, input2, target, margin=0.0, *, reduction="mean", grad_output=None
):
    """Gradients ``(∂loss/∂input1, ∂loss/∂input2)``.

    ∂cos/∂x1 = x2 / √(m1 m2) − cos · x1 / m1 with m = ‖x‖² + ε, torch's ε ≈ 1e-12
    (symmetric for x2); at cos − margin = 0 the gradient is taken from the rising side.
    """
    xp, x1, x2, y, m1, m2, denom, cos = _cosine_parts(input1, input2, target, reduction)
    dcos = xp.where(y == 1, -xp.ones_like(cos), xp.astype(cos - margin >= 0, cos.dtype))
    d1 = dcos[..., None] * (x2 / denom[..., None] - (cos / m1)[..., None] * x1)
    d2 = dcos[..., None] * (x1 / denom[..., None] - (cos / m2)[..., None] * x2)
    shape = tuple(cos.shape)
    return (
        U.reduce_grad(xp, d1, reduction, grad_output, loss_shape=shape),
        U.reduce_grad(xp, d2, reduction, grad_output, loss_shape=shape),
    )


def hinge_embedding_loss(input, target, margin=1.0, *, reduction="mean"):
    """x where y = 1, max(0, margin − x) where y = −1 (x: distances, any shape)."""
    U.check_reduction(reduction)
    xp, x = U.prepare(input)
    y = _pm_one_target(xp, target, x, x.shape, "hinge_embedding_loss")
    loss = xp.where(y == 1, x, xp.clip(margin - x, min=0.0))
    return U.reduce(xp, loss, reduction)


def hinge_embedding_loss_grad(input, target, margin=1.0, *, reduction="mean", grad_output=None):
    """1 where y = 1; −1 where y = −1 and margin − x ≥ 0 (torch's choice at the kink)."""
    U.check_reduction(reduction)
    xp, x = U.prepare(input)
    y = _pm_one_target(xp, target, x, x.shape, "hinge_embedding_loss")
    d = xp.where(y == 1, xp.ones_like(x), -xp.astype(margin - x >= 0, x.dtype))
    return U.reduce_grad(xp, d, reduction, grad_output)

"""Gradient accumulation: the gradient of one large batch from k smaller micro-batches.

A mean-reduced cost of m rows splits over micro-batches B_1, ..., B_k of m_1 + ... + m_k = m
rows (``eq-grad-accumulation``):

    C(θ) = (1/m) Σ_x C_x(θ) = Σ_j (m_j / m) C_{B_j}(θ),   C_{B_j} = (1/m_j) Σ_{x ∈ B_j} C_x,

so ∇C = Σ_j (m_j / m) ∇C_{B_j}: the weighted sum of the micro-batch gradients equals the
large batch's gradient (up to rounding), needing memory for m_j rows at a time only. The
weights matter when the micro-batches differ in size; the plain mean of the k gradients is
right only for equal sizes.

The identity needs every C_x to depend on its own row alone. Batch normalisation in
training mode breaks it: each row is normalised with the mean and variance *of its batch*,
so a micro-batch sees other statistics than the large batch, and the accumulated gradient
is that of a different function (where a model has such layers, the two differ). An L2
term λ/2n ‖W‖² with n the batch size would also change with the split, so it is refused
unless the model fixes n (``n_train``, set by ``fit``).
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_positive_int

__all__ = ["accumulated_gradients", "accumulation_step"]


def accumulated_gradients(model, X, Y, micro_batches: int) -> list:
    """Σ_j (m_j/m) ∇C_{B_j} over ``micro_batches`` consecutive slices of the rows of X, Y.

    ``model``: a :class:`~dlcourse.Network` or :class:`~dlcourse.layers.Model` (anything with
    ``gradients(X, Y)`` returning the mean-cost gradient in the order of ``parameters()``).
    X: (m, ...) inputs, Y: (m, ...) targets; the slices have sizes differing by at most one
    (``np.array_split``). Returns new arrays shaped like ``model.parameters()``.
    """
    m = len(X)
    if len(Y) != m:
        raise ValueError(f"X has {m} rows but Y has {len(Y)}; they must match")
    k = check_positive_int(micro_batches, "micro_batches")
    if k > m:
        raise ValueError(f"micro_batches must be at most the number of rows m={m}; got {k}")
    if getattr(model, "l2", 0) and not getattr(model, "n_train", None):
        raise ValueError(
            "with l2 > 0 the L2 term's n would be each micro-batch's size, so accumulation "
            "would not equal the large batch; set model.n_train (fit does) or l2=0"
        )
    total = None
    for rows in np.array_split(np.arange(m), k):
        weight = len(rows) / m
        grads = model.gradients(X[rows], Y[rows])  # overwritten by the next call: use now
        if total is None:
            total = [weight * g for g in grads]
        else:
            for t, g in zip(total, grads):
                t += weight * g
    return total


def accumulation_step(model, optimizer, X, Y, micro_batches: int) -> None:
    """One optimiser step with the accumulated gradient: ``optimizer.step(params, grads)``."""
    optimizer.step(model.parameters(), accumulated_gradients(model, X, Y, micro_batches))

"""DropConnect: a linear layer whose *connections* are dropped at random during training.

Dropout zeroes whole units (rows of activations); DropConnect (Wan et al., 2013) zeroes
individual weights. For a batch ``x`` of shape ``(m, n_in)`` in training mode::

    M ~ Bernoulli(1 − p) / (1 − p)        shape (n_out, n_in), one mask per forward call
    out = x (W ⊙ M)ᵀ + b                  shape (m, n_out)

so E[W ⊙ M] = W (the inverted scaling of dropout, eq. ``eq-reg-dropout``, applied to the
weights) and evaluation mode is the plain layer ``out = x Wᵀ + b``. Backward, with the mask
of the forward pass::

    ∂L/∂W = (doutᵀ x) ⊙ M,   ∂L/∂b = Σ_rows dout,   ∂L/∂x = dout (W ⊙ M)

A dropped weight receives no gradient. One mask serves the whole mini-batch (the original
paper draws one per example, which costs an ``(m, n_out, n_in)`` tensor); with small
batches and many steps the two average over the same distribution of thinned networks.
"""

from __future__ import annotations

import numpy as np

from dlcourse.layers.base import _cached
from dlcourse.layers.core import Linear
from dlcourse.regularization import dropconnect


class DropConnect(Linear):
    """``Linear(n_in, n_out)`` with DropConnect on its weights, drop probability ``p``.

    ``W`` has shape ``(n_out, n_in)`` and ``b`` ``(n_out,)`` as in :class:`Linear`; the
    biases are never dropped. ``rng`` (or ``default_rng(seed)``) draws the initial weights
    and then every mask, so a seed fixes the whole run. ``training=False``: the plain affine
    map with the full weights.
    """

    def __init__(self, n_in, n_out, p=0.5, init="xavier_uniform", seed=None, rng=None,
                 dtype="float64"):  # fmt: skip
        dropconnect(np.zeros(1), p, 0, training=False)  # validates p
        rng = rng if rng is not None else np.random.default_rng(seed)
        super().__init__(n_in, n_out, init=init, rng=rng, dtype=dtype)
        self.p, self.rng = float(p), rng
        self._mask = None

    def forward(self, x, training=True):
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"DropConnect expects input of shape (m, {self.n_in}); got shape {tuple(x.shape)}"
            )
        W_used, self._mask = dropconnect(self.W, self.p, self.rng, training)
        self._x, self._W_used = x, W_used
        out = x @ W_used.T
        out += self.b
        return out

    def backward(self, dout):
        x = _cached(self, self._x)
        self.grad_W = (dout.T @ x) * self._mask  # BP4, only through the kept connections
        self.grad_b = dout.sum(axis=0)  # BP3
        return dout @ self._W_used  # first half of BP2 with the thinned weights

    def generators(self):
        return [self.rng]

    def config(self):
        return {**super().config(), "type": "DropConnect", "p": self.p}


__all__ = ["DropConnect"]

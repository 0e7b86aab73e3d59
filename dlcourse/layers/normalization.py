"""Batch normalisation over the rows of a mini-batch (``torch.nn.BatchNorm1d`` semantics)."""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.layers.base import Layer, _cached, _dtype, batch_shape


class BatchNorm1d(Layer):
    """Normalise each feature over the batch, then scale and shift: ``y = γ x̂ + β``.

    Training mode, for ``x`` of shape ``(m, n)``:
    ``μ = mean_rows(x)``, ``σ² = mean_rows((x − μ)²)`` (biased), ``x̂ = (x − μ)/√(σ² + eps)``,
    and the running statistics move as in torch::

        running_mean ← (1 − momentum) running_mean + momentum μ
        running_var  ← (1 − momentum) running_var  + momentum σ² m/(m − 1)   (unbiased)

    Evaluation mode uses the running statistics instead of μ, σ². With ``affine=False``
    there is no γ, β (``params`` is empty). Backward in training mode (μ and σ² depend on
    every row)::

        dx̂ = dout ⊙ γ,   dx = (1/m)/√(σ² + eps) · (m dx̂ − Σ dx̂ − x̂ ⊙ Σ(dx̂ ⊙ x̂))
        dγ = Σ_rows dout ⊙ x̂,   dβ = Σ_rows dout
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype="float64"):
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps, self.momentum = float(eps), float(momentum)
        if not (math.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps must be a number > 0; got {eps!r}")
        if not 0 < self.momentum <= 1:
            raise ValueError(f"momentum must lie in (0, 1]; got {momentum!r}")
        self.affine, self.dtype = bool(affine), _dtype(dtype)
        n = self.num_features
        self.gamma, self.beta = np.ones(n, self.dtype), np.zeros(n, self.dtype)
        self.grad_gamma, self.grad_beta = np.zeros(n, self.dtype), np.zeros(n, self.dtype)
        self.running_mean, self.running_var = np.zeros(n, self.dtype), np.ones(n, self.dtype)
        self._cache = None

    @property
    def params(self):
        return [self.gamma, self.beta] if self.affine else []

    @property
    def grads(self):
        return [self.grad_gamma, self.grad_beta] if self.affine else []

    def buffers(self):
        return [self.running_mean, self.running_var]

    def forward(self, x, training=True):
        m, n = x.shape if x.ndim == 2 else (None, None)
        if n != self.num_features:
            raise ValueError(
                f"BatchNorm1d expects input of shape (m, {self.num_features}); "
                f"got shape {tuple(x.shape)}"
            )
        if training:
            if m < 2:
                raise ValueError("BatchNorm1d in training mode needs more than 1 row per batch")
            mu = x.mean(axis=0)
            var = x.var(axis=0)
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mu
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * var * (m / (m - 1))
        else:
            mu, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mu) * inv_std
        self._cache = (x_hat, inv_std, training)
        return x_hat * self.gamma + self.beta if self.affine else x_hat

    def backward(self, dout):
        x_hat, inv_std, training = _cached(self, self._cache)
        if self.affine:
            self.grad_gamma = np.sum(dout * x_hat, axis=0)
            self.grad_beta = dout.sum(axis=0)
            dx_hat = dout * self.gamma
        else:
            dx_hat = dout
        if not training:
            return dx_hat * inv_std
        m = dout.shape[0]
        return (inv_std / m) * (
            m * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0)
        )

    def output_shape(self, input_shape):
        """``(num_features,)``, the only input shape it takes."""
        if tuple(input_shape) != (self.num_features,):
            raise ValueError(f"BatchNorm1d expects input of shape (m, {self.num_features}); "
                             f"got shape {batch_shape(input_shape)}")  # fmt: skip
        return (self.num_features,)

    def config(self):
        return {"type": "BatchNorm1d", "num_features": self.num_features, "eps": self.eps,
                "momentum": self.momentum, "affine": self.affine,
                "dtype": np.dtype(self.dtype).name}  # fmt: skip


__all__ = ["BatchNorm1d"]

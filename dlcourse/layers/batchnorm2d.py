"""Batch normalisation of image batches, one set of statistics per channel
(``torch.nn.BatchNorm2d`` semantics).

A convolution applies the same filter at every position, so the features that batch
normalisation standardises are the *channels*: channel ``c`` is normalised with the mean and
variance of its ``M = m·H·W`` values in the batch (every example, every pixel), and it has one
scale ``γ_c`` and one shift ``β_c``. This is :class:`~dlcourse.layers.BatchNorm1d` applied to
the ``(m·H·W, C)`` matrix whose rows are the pixels; the code below keeps the ``(m, C, H, W)``
layout and sums over the axes ``(0, 2, 3)`` instead of reshaping.
"""

from __future__ import annotations

import numpy as np

from dlcourse.layers.base import _cached
from dlcourse.layers.conv import _check_image, _check_image_shape
from dlcourse.layers.normalization import BatchNorm1d

_AXES = (0, 2, 3)  # batch and pixels: everything but the channel


def _per_channel(v: np.ndarray) -> np.ndarray:
    """A (C,) vector as (1, C, 1, 1), to broadcast against (m, C, H, W)."""
    return v[None, :, None, None]


class BatchNorm2d(BatchNorm1d):
    """Normalise each channel over the batch and the pixels, then scale and shift.

    Training mode, for ``x`` of shape ``(m, C, H, W)`` and ``M = m·H·W`` values per channel::

        μ_c  = (1/M) Σ_{i,r,q} x[i, c, r, q]
        σ²_c = (1/M) Σ_{i,r,q} (x[i, c, r, q] − μ_c)²                      (biased)
        x̂ = (x − μ_c) / √(σ²_c + eps),     y = γ_c x̂ + β_c

    and the running statistics move as in torch (``momentum`` weighs the new batch)::

        running_mean ← (1 − momentum) running_mean + momentum μ
        running_var  ← (1 − momentum) running_var  + momentum σ² M/(M − 1)   (unbiased)

    Evaluation mode (``training=False``) uses ``running_mean`` and ``running_var`` instead of
    μ, σ², so the output of an example does not depend on the rest of its batch. Backward in
    training mode, with every sum over ``(i, r, q)`` (μ and σ² depend on all M values)::

        dx̂ = dout γ_c,   dx = 1/(M √(σ²_c + eps)) · (M dx̂ − Σ dx̂ − x̂ Σ(dx̂ x̂))
        dγ_c = Σ dout x̂,   dβ_c = Σ dout

    In evaluation mode the statistics are constants and ``dx = dx̂ / √(running_var + eps)``.
    Parameters ``γ, β`` (``params``, absent with ``affine=False``) and buffers
    ``running_mean, running_var`` all have shape ``(C,)``.
    """

    input_ndim = 4

    def forward(self, x, training=True):
        _check_image("BatchNorm2d", x, self.num_features)
        m, _, H, W = x.shape
        M = m * H * W
        if training:
            if M < 2:
                raise ValueError(
                    "BatchNorm2d in training mode needs more than 1 value per channel "
                    f"(m·H·W > 1); got input of shape {x.shape}"
                )
            mu = x.mean(axis=_AXES)
            var = x.var(axis=_AXES)
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mu
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * var * (M / (M - 1))
        else:
            mu, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - _per_channel(mu)) * _per_channel(inv_std)
        self._cache = (x_hat, inv_std, training)
        if not self.affine:
            return x_hat
        return x_hat * _per_channel(self.gamma) + _per_channel(self.beta)

    def backward(self, dout):
        x_hat, inv_std, training = _cached(self, self._cache)
        if self.affine:
            self.grad_gamma = np.sum(dout * x_hat, axis=_AXES)
            self.grad_beta = dout.sum(axis=_AXES)
            dx_hat = dout * _per_channel(self.gamma)
        else:
            dx_hat = dout
        if not training:
            return dx_hat * _per_channel(inv_std)
        M = dout.size // dout.shape[1]
        sum_dx_hat = _per_channel(dx_hat.sum(axis=_AXES))
        sum_dx_hat_x_hat = _per_channel(np.sum(dx_hat * x_hat, axis=_AXES))
        return _per_channel(inv_std / M) * (M * dx_hat - sum_dx_hat - x_hat * sum_dx_hat_x_hat)

    def output_shape(self, input_shape):
        """``(C, H, W)`` with ``C = num_features``, unchanged."""
        return _check_image_shape("BatchNorm2d", input_shape, self.num_features)

    def config(self):
        return {**super().config(), "type": "BatchNorm2d"}


__all__ = ["BatchNorm2d"]

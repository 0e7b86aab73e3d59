"""Layer normalisation over the last axes of each example (``torch.nn.LayerNorm`` semantics)."""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.layers.base import Layer, _cached, _dtype, batch_shape


def _as_shape(normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(normalized_shape)
    except TypeError:
        raise TypeError(
            f"normalized_shape must be an int or a tuple of ints; got {normalized_shape!r}"
        ) from None
    if not shape:
        raise ValueError("normalized_shape needs at least one axis; got ()")
    return tuple(check_positive_int(n, "every entry of normalized_shape") for n in shape)


class LayerNorm(Layer):
    """Normalise every position over its own features, then scale and shift: ``y = γ ⊙ x̂ + β``.

    ``x`` has shape ``(..., *normalized_shape)``: the statistics are taken over the last
    ``k = len(normalized_shape)`` axes, separately for every index of the leading axes (every
    example, every time step), with ``N = prod(normalized_shape)`` entries each::

        μ = mean(x),   σ² = mean((x − μ)²)   (biased),   x̂ = (x − μ) / √(σ² + eps)

    Unlike :class:`~dlcourse.layers.BatchNorm1d` nothing depends on the other rows of the
    batch, so training and evaluation compute the same thing and there are no running
    statistics. ``γ`` (ones) and ``β`` (zeros) have shape ``normalized_shape``; with
    ``elementwise_affine=False`` there are none (``params`` is empty). Backward, with the sums
    over the N normalised entries of one position and ``r = 1/√(σ² + eps)``::

        dx̂ = dout ⊙ γ,   dx = (r/N) · (N dx̂ − Σ dx̂ − x̂ ⊙ Σ(dx̂ ⊙ x̂))
        dγ = Σ_leading dout ⊙ x̂,   dβ = Σ_leading dout

    (the BatchNorm formula with the roles of rows and features exchanged).
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype="float64"):
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = float(eps)
        if not (math.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps must be a number > 0; got {eps!r}")
        self.elementwise_affine, self.dtype = bool(elementwise_affine), _dtype(dtype)
        shape = self.normalized_shape
        self.gamma, self.beta = np.ones(shape, self.dtype), np.zeros(shape, self.dtype)
        self.grad_gamma, self.grad_beta = np.zeros(shape, self.dtype), np.zeros(shape, self.dtype)
        self._cache = None

    @property
    def params(self):
        return [self.gamma, self.beta] if self.elementwise_affine else []

    @property
    def grads(self):
        return [self.grad_gamma, self.grad_beta] if self.elementwise_affine else []

    def _axes(self, x) -> tuple[int, ...]:
        k = len(self.normalized_shape)
        if not hasattr(x, "shape") or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            shape = tuple(getattr(x, "shape", ())) or type(x).__name__
            expected = ", ".join(map(str, self.normalized_shape))
            raise ValueError(
                f"LayerNorm expects input of shape (..., {expected}) (the last axes normalised); "
                f"got {shape}"
            )
        if x.ndim == k:
            raise ValueError(
                f"LayerNorm expects leading axes (rows) before the normalised shape "
                f"{self.normalized_shape}; got shape {tuple(x.shape)}"
            )
        return tuple(range(x.ndim - k, x.ndim))

    def forward(self, x, training=True):
        axes = self._axes(x)
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = xc * inv_std
        self._cache = (x_hat, inv_std, axes)
        return x_hat * self.gamma + self.beta if self.elementwise_affine else x_hat

    def backward(self, dout):
        x_hat, inv_std, axes = _cached(self, self._cache)
        if dout.shape != x_hat.shape:
            raise ValueError(
                f"LayerNorm.backward expects dout of the output's shape {x_hat.shape}; "
                f"got {tuple(dout.shape)}"
            )
        if self.elementwise_affine:
            leading = tuple(range(dout.ndim - len(axes)))
            self.grad_gamma = np.sum(dout * x_hat, axis=leading)
            self.grad_beta = dout.sum(axis=leading)
            dx_hat = dout * self.gamma
        else:
            dx_hat = dout
        n = math.prod(self.normalized_shape)
        return (inv_std / n) * (
            n * dx_hat
            - dx_hat.sum(axis=axes, keepdims=True)
            - x_hat * np.sum(dx_hat * x_hat, axis=axes, keepdims=True)
        )

    def output_shape(self, input_shape):
        """The input shape, which must end in ``normalized_shape``."""
        shape, k = tuple(input_shape), len(self.normalized_shape)
        if len(shape) < k or shape[len(shape) - k :] != self.normalized_shape:
            expected = ", ".join(map(str, self.normalized_shape))
            raise ValueError(
                f"LayerNorm expects input of shape (..., {expected}) (the last axes normalised); "
                f"got {batch_shape(shape)}"
            )
        return shape

    def config(self):
        return {"type": "LayerNorm", "normalized_shape": list(self.normalized_shape),
                "eps": self.eps, "elementwise_affine": self.elementwise_affine,
                "dtype": np.dtype(self.dtype).name}  # fmt: skip


__all__ = ["LayerNorm"]

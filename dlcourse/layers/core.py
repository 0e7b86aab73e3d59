"""The core layers: :class:`Linear` (z = x Wᵀ + b), :class:`Activation` (a = g(z)) and
:class:`Dropout` (inverted dropout)."""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.activations import ActivationFunction, get_activation, softmax_jvp
from dlcourse.layers.base import AffineLayer, Layer, _cached, batch_shape
from dlcourse.regularization import dropout


class Linear(AffineLayer):
    """Affine layer ``out = x Wᵀ + b`` with ``W`` of shape ``(n_out, n_in)``, ``b`` ``(n_out,)``.

    Backward (the row form of BP3/BP4 for one layer): ``∂L/∂W = doutᵀ x``,
    ``∂L/∂b = Σ_rows dout``, ``∂L/∂x = dout W``. ``init`` names a scheme of
    :data:`dlcourse.init.INITIALIZERS` (biases: N(0, 1) for nielsen/large, else zeros); the
    generator is ``rng`` or ``default_rng(seed)``.
    """

    def __init__(self, n_in, n_out, init="xavier_uniform", seed=None, rng=None, dtype="float64"):
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        self._init_params((self.n_out, self.n_in), init, seed, rng, dtype)
        self._x = None

    def forward(self, x, training=True):
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"Linear expects input of shape (m, {self.n_in}); got shape {tuple(x.shape)}"
            )
        self._x = x
        out = x @ self.W.T
        out += self.b
        return out

    def backward(self, dout):
        x = _cached(self, self._x)
        self.grad_W = dout.T @ x  # BP4 for this layer
        self.grad_b = dout.sum(axis=0)  # BP3
        return dout @ self.W  # first half of BP2

    def output_shape(self, input_shape):
        """``(n_in,) -> (n_out,)``; any other input shape is a ValueError."""
        if tuple(input_shape) != (self.n_in,):
            raise ValueError(f"{type(self).__name__} expects input of shape (m, {self.n_in}); "
                             f"got shape {batch_shape(input_shape)}")  # fmt: skip
        return (self.n_out,)

    def config(self):
        init = self.init if isinstance(self.init, str) else "constant"
        dtype = np.dtype(self.dtype).name
        return {"type": "Linear", "n_in": self.n_in, "n_out": self.n_out, "init": init,
                "dtype": dtype}  # fmt: skip


class Activation(Layer):
    """Elementwise activation ``a = g(z)`` from the registry; backward ``dz = dout ⊙ g'(z)``.

    For ``"softmax"`` (not elementwise) the backward pass is the Jacobian-vector product
    ``dz = J(z)ᵀ dout`` with ``J = diag(s) − s sᵀ`` per row, computed without forming ``J``
    as ``dz = s ⊙ (dout − Σ_j dout_j s_j)``.
    """

    def __init__(self, name: str | ActivationFunction = "relu"):
        self.activation = get_activation(name)
        self.name = self.activation.name
        self._z = self._a = None

    def forward(self, x, training=True):
        self._z = x
        self._a = self.activation.fn(x)
        return self._a

    def backward(self, dout):
        z = _cached(self, self._z)
        if self.name == "softmax":
            return softmax_jvp(self._a, dout)
        return dout * self.activation.prime(z)  # second half of BP2

    def output_shape(self, input_shape):
        """The input shape: g acts on every entry (softmax on every row)."""
        return tuple(input_shape)

    def config(self):
        return {"type": "Activation", "name": self.name}


class Dropout(Layer):
    """Inverted dropout with probability ``p`` of zeroing a unit (see regularization.dropout).

    Training: ``out = x ⊙ mask`` with ``mask`` entries 0 (probability p) or 1/(1−p), drawn
    from ``rng`` (or ``default_rng(seed)``), so E[out] = x; backward ``dx = dout ⊙ mask``.
    ``training=False``: the identity.
    """

    def __init__(self, p: float = 0.5, seed=None, rng=None):
        dropout(np.zeros(1), p, 0, training=False)  # validates p
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self._mask = None

    def forward(self, x, training=True):
        out, self._mask = dropout(x, self.p, self.rng, training)
        return out

    def backward(self, dout):
        return dout * _cached(self, self._mask)

    def output_shape(self, input_shape):
        """The input shape (the mask has the shape of ``x``)."""
        return tuple(input_shape)

    def generators(self):
        return [self.rng]

    def config(self):
        return {"type": "Dropout", "p": self.p}

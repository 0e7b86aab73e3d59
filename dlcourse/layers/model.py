"""``Model``: a network built from :mod:`dlcourse.layers`, trained by the loop of ``Network``.

Input checks, the L2 term, evaluation and ``fit`` are ``Network``'s, inherited from
:class:`dlcourse.train.Trainable`; what is Model's own is the forward and backward pass
through its layers and the file format.

The last layer, when it is an :class:`~dlcourse.layers.Activation`, is the *output
activation* g_L and pairs with the cost exactly as in ``Network`` (BP1): the backward pass
starts from δ^L = ``cost.delta(z^L, a^L, y, g_L)`` (e.g. ``a − y`` for softmax with
cross-entropy), divided by ``m`` because the cost is a mean over the rows, and runs through
the other layers in reverse. Without a final Activation the output is the identity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcourse._validation import check_pairing
from dlcourse.activations import get_activation
from dlcourse.costs import COSTS, Cost, get_cost
from dlcourse.layers.base import Layer, Sequential
from dlcourse.layers.config import declared_shapes, from_config
from dlcourse.layers.core import Activation
from dlcourse.regularization import l2_grad
from dlcourse.saving import MODEL_FORMAT, load_model, register, save_model
from dlcourse.train import Trainable


class Model(Trainable):
    """A trainable stack of layers with a cost.

    Parameters
    ----------
    layers : list of ``Layer`` (or one layer), applied in order.
    cost : ``"quadratic"``, ``"binary_cross_entropy"`` or ``"cross_entropy"`` (as Network).
    seed : seeds ``rng``, the generator that shuffles the rows in ``fit``.

    ``parameters()`` / ``gradients(X, Y)`` are lists in the same order; ``l2`` is Nielsen's
    λ/2n penalty on the ``Linear`` weight matrices (set by ``fit``).
    """

    def __init__(self, layers, cost="cross_entropy", seed=None):
        layers = [layers] if isinstance(layers, Layer) else list(layers)
        self.layers = Sequential(layers)
        last = layers[-1]
        if isinstance(last, Activation):
            self.output, self.body = last.activation, Sequential(layers[:-1] or [_Identity()])
        else:
            self.output, self.body = get_activation("identity"), self.layers
        self.cost_fn: Cost = get_cost(cost)
        check_pairing(self.cost_fn, self.output, 2, np.float64)  # unsupported pairing: fail now
        self.rng, self.seed = np.random.default_rng(seed), seed
        self.l2, self.n_train = 0.0, None
        self._params = self.layers.params
        self.dtype = self._params[0].dtype if self._params else np.dtype(np.float64)
        self.device = None  # NumPy only
        self._width = None  # n_L, the output width for the inputs last checked by _check_X

    # ------------------------------------------------------------------ state
    def parameters(self) -> list[np.ndarray]:
        """The trainable arrays (updated in place by optimisers), in a fixed order."""
        return self._params

    def buffers(self) -> list[np.ndarray]:
        """Non-trained state (batch-norm running statistics), for checkpoints."""
        return self.layers.buffers()

    def generators(self) -> list[np.random.Generator]:
        """``rng`` and the layers' generators (dropout), for checkpoints."""
        return [self.rng, *self.layers.generators()]

    # ------------------------------------------------------------------ checks
    _owner = "model"

    def _n_in(self) -> None:
        return None  # any number of features; the first layer checks its own

    def _input_ndim(self) -> int:
        """Axes of the input: 2 for rows of features, 3 for sequences or sets (m, T, n),
        4 for images (m, C, H, W), as the first layer takes them."""
        return _input_ndim(self.layers)

    def _n_out(self) -> int:
        return self._width

    def _check_X(self, X, name="X") -> np.ndarray:
        """Inputs of shape (m, n_in), real and finite, in the model's dtype; the layers'
        ``output_shape`` for one row (no forward pass) checks that they take it and gives the
        output width n_L, its last axis, for the checks of the targets."""
        X = super()._check_X(X, name)
        self._width = self.layers.output_shape(tuple(X.shape[1:]))[-1]
        return X

    # ------------------------------------------------------------------ forward and cost
    def _forward(self, X, training: bool):
        return self.output.fn(self.body.forward(X, training))

    def _infer(self, X):
        return self._forward(X, False)

    def _decayed(self) -> list:
        """The weight matrices of the Linear layers (biases and batch-norm scales are not)."""
        return self.layers.decayed()

    def forward(self, X, training: bool = False) -> np.ndarray:
        """Output a^L of shape (m, k); ``training=False`` (default) for inference."""
        X = self._check_X(X)
        if training:
            return self._forward(X, True)
        return self._in_chunks(X)

    def cost(self, X, Y, training: bool = False) -> float:
        """Mean per-example cost of the batch plus the L2 term (a float)."""
        self._check_kinds(X=X, Y=Y)
        X = self._check_X(X)
        Y = self._check_Y(Y, X.shape[0])
        return float(self.cost_fn.fn(self.forward(X, training), Y)) + self._l2_term(len(X))

    # ------------------------------------------------------------------ gradients
    def gradients(self, X, Y, validate: bool = True) -> list[np.ndarray]:
        """Gradient of the (training-mode) cost, in the order of :meth:`parameters`.

        BP1 at the output (δ^L = cost.delta(z^L, a^L, y, g_L) / m), then every layer's
        ``backward`` in reverse; plus (l2/n) W for each Linear weight matrix. The arrays are
        the layers' ``grads`` (overwritten by the next call).
        """
        if validate:
            self._check_kinds(X=X, Y=Y)
            X = self._check_X(X)
            Y = self._check_Y(Y, X.shape[0])
        z = self.body.forward(X, True)
        a = self.output.fn(z)
        delta = self.cost_fn.delta(z, a, Y, self.output)  # BP1, per example
        self.body.backward(delta * (1.0 / X.shape[0]))
        grads = self.layers.grads
        if self.l2:
            n, ids = self._l2_n(X.shape[0]), {id(W) for W in self._decayed()}
            for p, g in zip(self._params, grads):
                if id(p) in ids:
                    g += l2_grad(p, self.l2, n)
        return grads

    def get_params(self) -> dict:
        """The constructor's arguments, as scikit-learn's ``get_params``: the model's own layer
        objects (not copies), the cost's name (or the ``Cost`` given) and the seed."""
        cost = self.cost_fn.name if COSTS.get(self.cost_fn.name) is self.cost_fn else self.cost_fn
        return {"layers": list(self.layers.children), "cost": cost, "seed": self.seed}

    # ------------------------------------------------------------------ files
    def save(self, path) -> Path:
        """Write architecture (JSON), parameters and buffers to ``path`` (.npz, no pickle),
        atomically; see :mod:`dlcourse.saving.model`."""
        return save_model(self, path)

    @classmethod
    def load(cls, path) -> Model:
        """Rebuild a model written by :meth:`save`; a bad file raises ValueError naming it
        (its arrays are checked against the shapes its layer configs declare before any
        layer is built)."""
        return load_model(cls, path)

    @staticmethod
    def shapes_of(layer_configs) -> tuple[list[tuple], list[tuple]]:
        """Shapes of the parameters and buffers of layers built from ``layer_configs``
        (a list of ``layer.config()``), computed without building them."""
        return declared_shapes({"type": "Sequential", "layers": layer_configs})

    @classmethod
    def from_config(cls, layer_configs, cost) -> Model:
        """A model of fresh layers built from ``layer_configs`` (as its file holds them)."""
        return cls([from_config(c) for c in layer_configs], cost)

    def __repr__(self) -> str:
        inner = ", ".join(repr(c) for c in self.layers.children)
        return f"Model([{inner}], cost={self.cost_fn.name!r})"


def _input_ndim(layer: Layer) -> int:
    """Number of axes the first layer takes: its ``input_ndim`` (4 for Conv2d, 3 for the
    recurrent and set layers), looking into containers; 2 by default."""
    while not hasattr(layer, "input_ndim") and layer.children:
        layer = layer.children[0]
    return getattr(layer, "input_ndim", 2)


class _Identity(Layer):
    """Pass-through body for a model that is only an activation."""

    def forward(self, x, training=True):
        return x

    def backward(self, dout):
        return dout

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def config(self):  # pragma: no cover - never saved on its own
        return {"type": "Sequential", "layers": []}


register(MODEL_FORMAT, Model)

__all__ = ["Model"]

"""Modular layers with an explicit forward/backward pair, in the style of the CS231n assignments.

Every layer maps a batch ``x`` of shape ``(m, n_in)`` (rows are examples) to ``out`` of shape
``(m, n_out)`` and remembers what its backward pass needs (its *cache*):

- ``forward(x, training=True) -> out``
- ``backward(dout) -> dx``: given ∂L/∂out (shape of ``out``) return ∂L/∂x (shape of ``x``)
  and store ∂L/∂θ of every parameter θ in ``grads``;
- ``params``: the parameter arrays (an optimiser updates them in place), ``grads``: the
  gradients in the same order and shapes (overwritten by every ``backward``);
- ``config()``: the constructor arguments as a JSON-able dict, so :func:`from_config`
  rebuilds the architecture (used by ``Model.save``/``Model.load``).

``backward`` must follow the ``forward`` whose cache it uses. A layer object appears once in a
model (parameters are not shared between branches). Batch normalisation lives in
:mod:`dlcourse.normalization`; the trainable :class:`~dlcourse.model.Model` in
:mod:`dlcourse.model` (also importable from here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.activations import Activation as ActivationFn
from dlcourse.activations import get_activation
from dlcourse.init import get_initializer, init_bias
from dlcourse.regularization import dropout

DTYPES = {"float64": np.float64, "float32": np.float32}


def _dtype(dtype) -> type:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}; got {dtype!r}")
    return DTYPES[name]


def _cached(layer: Layer, value):
    if value is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before forward")
    return value


class Layer:
    """Base class. Layers with parameters override ``params``/``grads``; containers list
    ``children``; a layer with neither (Activation, Dropout) has no parameters."""

    children: tuple[Layer, ...] = ()

    @property
    def params(self) -> list[np.ndarray]:
        return [p for c in self.children for p in c.params]

    @property
    def grads(self) -> list[np.ndarray]:
        return [g for c in self.children for g in c.grads]

    def buffers(self) -> list[np.ndarray]:
        """Non-trained state arrays (batch-norm running statistics), updated in place."""
        return [b for c in self.children for b in c.buffers()]

    def generators(self) -> list[np.random.Generator]:
        """Random generators used in the forward pass (dropout), for checkpoints."""
        return [g for c in self.children for g in c.generators()]

    def decayed(self) -> list[np.ndarray]:
        """The weight matrices that L2 regularisation acts on (not biases or γ/β)."""
        return [w for c in self.children for w in c.decayed()]

    def forward(self, x, training: bool = True):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - abstract
        raise NotImplementedError

    def config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        if self.children:
            return f"{type(self).__name__}({list(self.children)!r})"
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class Linear(Layer):
    """Affine layer ``out = x Wᵀ + b`` with ``W`` of shape ``(n_out, n_in)``, ``b`` ``(n_out,)``.

    Backward (the row form of BP3/BP4 for one layer): ``∂L/∂W = doutᵀ x``,
    ``∂L/∂b = Σ_rows dout``, ``∂L/∂x = dout W``. ``init`` names a scheme of
    :data:`dlcourse.init.INITIALIZERS` (biases: N(0, 1) for nielsen/large, else zeros); the
    generator is ``rng`` or ``default_rng(seed)``.
    """

    def __init__(self, n_in, n_out, init="xavier_uniform", seed=None, rng=None, dtype="float64"):
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        self.init, self.dtype = init, _dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(seed)
        initializer = get_initializer(init)
        self.W = np.ascontiguousarray(initializer((self.n_out, self.n_in), rng, self.dtype))
        self.b = init_bias(init, self.n_out, rng, self.dtype)
        self.grad_W, self.grad_b = np.zeros_like(self.W), np.zeros_like(self.b)
        self._x = None

    @property
    def params(self):
        return [self.W, self.b]

    @property
    def grads(self):
        return [self.grad_W, self.grad_b]

    def decayed(self):
        return [self.W]

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

    def __init__(self, name: str | ActivationFn = "relu"):
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
            s = self._a
            return s * (dout - np.sum(dout * s, axis=-1, keepdims=True))
        return dout * self.activation.prime(z)  # second half of BP2

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

    def generators(self):
        return [self.rng]

    def config(self):
        return {"type": "Dropout", "p": self.p}


class Sequential(Layer):
    """Layers applied one after the other; backward runs them in reverse order."""

    def __init__(self, layers):
        self.children = tuple(_check_layers(layers, "Sequential"))

    def forward(self, x, training=True):
        for layer in self.children:
            x = layer.forward(x, training)
        return x

    def backward(self, dout):
        for layer in reversed(self.children):
            dout = layer.backward(dout)
        return dout

    def config(self):
        return {"type": "Sequential", "layers": [c.config() for c in self.children]}

    def __len__(self) -> int:
        return len(self.children)

    def __getitem__(self, i: int) -> Layer:
        return self.children[i]


class Residual(Layer):
    """Skip connection ``y = F(x) + x``; backward ``dx = F.backward(dout) + dout``.

    ``F`` (a layer or a list of layers, wrapped in :class:`Sequential`) must keep the width.
    """

    def __init__(self, inner):
        inner = Sequential(inner) if isinstance(inner, (list, tuple)) else inner
        self.children = tuple(_check_layers([inner], "Residual"))

    def forward(self, x, training=True):
        out = self.children[0].forward(x, training)
        if out.shape != x.shape:
            raise ValueError(
                f"Residual needs F(x) with the shape of x {tuple(x.shape)}; got {tuple(out.shape)}"
            )
        return out + x

    def backward(self, dout):
        return self.children[0].backward(dout) + dout

    def config(self):
        return {"type": "Residual", "inner": self.children[0].config()}


class Concat(Layer):
    """Parallel branches on the same input, outputs concatenated along the features.

    ``out = [B_1(x), ..., B_k(x)]`` of width Σ n_i; backward splits ``dout`` into the
    branches' columns and sums their ``dx`` (x feeds every branch).
    """

    def __init__(self, branches):
        self.children = tuple(_check_layers(branches, "Concat"))
        self._widths: list[int] | None = None

    def forward(self, x, training=True):
        outs = [b.forward(x, training) for b in self.children]
        self._widths = [o.shape[1] for o in outs]
        return np.concatenate(outs, axis=1)

    def backward(self, dout):
        edges = np.cumsum(_cached(self, self._widths))[:-1]
        parts = np.split(dout, edges, axis=1)
        return sum(b.backward(d) for b, d in zip(self.children, parts))

    def config(self):
        return {"type": "Concat", "branches": [c.config() for c in self.children]}


class Sum(Layer):
    """Parallel branches on the same input, outputs added: ``out = Σ_i B_i(x)``.

    Every branch receives the whole ``dout``; ``dx = Σ_i B_i.backward(dout)``.
    """

    def __init__(self, branches):
        self.children = tuple(_check_layers(branches, "Sum"))

    def forward(self, x, training=True):
        outs = [b.forward(x, training) for b in self.children]
        if len({o.shape for o in outs}) != 1:
            raise ValueError(f"Sum needs branches of one shape; got {[o.shape for o in outs]}")
        return sum(outs[1:], outs[0])

    def backward(self, dout):
        return sum(b.backward(dout) for b in self.children)

    def config(self):
        return {"type": "Sum", "branches": [c.config() for c in self.children]}


def _check_layers(layers, owner: str) -> list[Layer]:
    layers = list(layers)
    if not layers:
        raise ValueError(f"{owner} needs at least one layer; got none")
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError(f"{owner} takes dlcourse.layers.Layer objects; got {layer!r}")
    return layers


def _builders() -> dict[str, Any]:
    from dlcourse.normalization import BatchNorm1d

    return {
        "Linear": lambda c: Linear(c["n_in"], c["n_out"], c["init"], dtype=c["dtype"]),
        "Activation": lambda c: Activation(c["name"]),
        "Dropout": lambda c: Dropout(c["p"]),
        "BatchNorm1d": lambda c: BatchNorm1d(
            c["num_features"], c["eps"], c["momentum"], c["affine"], c["dtype"]
        ),
        "Sequential": lambda c: Sequential([from_config(x) for x in c["layers"]]),
        "Residual": lambda c: Residual(from_config(c["inner"])),
        "Concat": lambda c: Concat([from_config(x) for x in c["branches"]]),
        "Sum": lambda c: Sum([from_config(x) for x in c["branches"]]),
    }


def from_config(config: dict[str, Any]) -> Layer:
    """Rebuild a layer (fresh parameters) from ``layer.config()``."""
    builders = _builders()
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in builders:
        raise ValueError(f"unknown layer config {config!r}; expected a type in {sorted(builders)}")
    return builders[kind](config)


def __getattr__(name: str):
    """``layers.BatchNorm1d`` and ``layers.Model`` live in their own modules (imported lazily,
    since those modules import this one)."""
    if name == "BatchNorm1d":
        from dlcourse.normalization import BatchNorm1d

        return BatchNorm1d
    if name == "Model":
        from dlcourse.model import Model

        return Model
    raise AttributeError(f"module 'dlcourse.layers' has no attribute {name!r}")


__all__ = [
    "Layer",
    "Linear",
    "Activation",
    "Dropout",
    "BatchNorm1d",  # noqa: F822 - provided by __getattr__
    "Sequential",
    "Residual",
    "Concat",
    "Sum",
    "Model",  # noqa: F822 - provided by __getattr__
    "from_config",
]

"""The layer protocol and the containers that combine layers.

Every layer maps a batch ``x`` of shape ``(m, n_in)`` (rows are examples) to ``out`` of shape
``(m, n_out)`` and remembers what its backward pass needs (its *cache*):

- ``forward(x, training=True) -> out``
- ``backward(dout) -> dx``: given ∂L/∂out (shape of ``out``) return ∂L/∂x (shape of ``x``)
  and store ∂L/∂θ of every parameter θ in ``grads``;
- ``params``: the parameter arrays (an optimiser updates them in place), ``grads``: the
  gradients in the same order and shapes (overwritten by every ``backward``);
- ``config()``: the constructor arguments as a JSON-able dict, so
  :func:`dlcourse.layers.from_config` rebuilds the architecture;
- ``output_shape(input_shape) -> shape``: the shape of one example's output for one example's
  input shape, both without the batch axis (``(64,) -> (10,)`` for ``Linear(64, 10)``,
  ``(3, 32, 32) -> (16, 30, 30)`` for ``Conv2d(3, 16, 3)``), found by shape arithmetic alone;
  an input shape the layer cannot take raises ``ValueError`` in the words of its forward pass.
  ``Model`` reads its output width from it. A layer class that does not define it (a user's
  own subclass) inherits a fallback that runs one zero example through ``forward``.

``backward`` must follow the ``forward`` whose cache it uses. A layer object appears once in a
model (parameters are not shared between branches). Containers here: :class:`Sequential`,
:class:`Residual`, :class:`Concat`, :class:`Sum`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlcourse._validation import DTYPES, dtype_name
from dlcourse.init import get_initializer, init_bias


def _dtype(dtype) -> type:
    """The NumPy type of ``"float64"`` / ``"float32"`` (any spelling); else ValueError."""
    return DTYPES[dtype_name(dtype)]


def batch_shape(input_shape) -> str:
    """One example's shape written with the batch axis ``m`` in front, as the error messages of
    ``output_shape`` quote it: ``(63,) -> "(m, 63)"``."""
    return "(" + ", ".join(["m", *map(str, input_shape)]) + ")"


def check_sequence_shape(layer: str, what: str, shape, width: int, width_name: str = "",
                         shown: str = "") -> tuple[int, int]:  # fmt: skip
    """One example's shape ``(T, width)`` of a sequence, returned as a tuple; else ValueError
    naming ``layer`` (and ``width_name``, when given). ``shown`` is how the message writes what
    was given (the batch's shape, or :func:`batch_shape` of one example's)."""
    shape = tuple(shape)
    if len(shape) != 2 or shape[1] != width:
        named = f", {width_name} {width}" if width_name else ""
        raise ValueError(f"{layer} expects {what} of shape (m, T, {width}) (batch first{named}); "
                         f"got {shown or batch_shape(shape)}")  # fmt: skip
    return shape


def check_sequence(layer: str, what: str, x, width: int, width_name: str = "") -> None:
    """A batch ``x`` of shape ``(m, T, width)``, by :func:`check_sequence_shape`."""
    shape = tuple(getattr(x, "shape", ()))
    example = shape[1:] if hasattr(x, "ndim") and len(shape) == 3 else ()
    check_sequence_shape(layer, what, example, width, width_name,
                         str(shape) if shape else type(x).__name__)  # fmt: skip


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

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one example's output for one example's ``input_shape`` (no batch axis).

        Every layer of this package overrides it with shape arithmetic. This default is the
        fallback for a layer class that does not declare its shape (a user's or a student's
        own ``Layer`` subclass): it runs one example of zeros, shape ``(1, *input_shape)``,
        through ``forward(x, training=False)`` and reads the shape of the result, so it costs
        one forward pass and replaces the layer's cache.
        """
        x = np.zeros((1, *input_shape))
        return tuple(self.forward(x, training=False).shape[1:])

    def __repr__(self) -> str:
        if self.children:
            return f"{type(self).__name__}({list(self.children)!r})"
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class AffineLayer(Layer):
    """Base of the layers with a weight array ``W`` and a bias vector ``b`` (Linear, Conv2d).

    ``W`` has shape ``(n_out, ...)``: the scheme ``init`` of :data:`dlcourse.init.INITIALIZERS`
    draws it as an ``(n_out, fan_in)`` matrix, ``fan_in`` the product of the other axes, and
    :func:`dlcourse.init.init_bias` draws ``b`` of shape ``(n_out,)``. ``params`` are
    ``[W, b]``, ``grads`` ``[grad_W, grad_b]``; L2 regularisation acts on ``W`` only.
    """

    def _init_params(self, W_shape, init, seed, rng, dtype) -> np.random.Generator:
        """Set ``W``, ``b``, zero gradients, ``init`` and ``dtype``; return the generator used
        (``rng``, or ``default_rng(seed)`` without one)."""
        self.init, self.dtype = init, _dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(seed)
        n_out, fan_in = W_shape[0], math.prod(W_shape[1:])
        W = get_initializer(init)((n_out, fan_in), rng, self.dtype)
        self.W = np.ascontiguousarray(W.reshape(W_shape))
        self.b = init_bias(init, n_out, rng, self.dtype)
        self.grad_W, self.grad_b = np.zeros_like(self.W), np.zeros_like(self.b)
        return rng

    @property
    def params(self):
        return [self.W, self.b]

    @property
    def grads(self):
        return [self.grad_W, self.grad_b]

    def decayed(self):
        return [self.W]


def _check_layers(layers, owner: str) -> list[Layer]:
    layers = list(layers)
    if not layers:
        raise ValueError(f"{owner} needs at least one layer; got none")
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError(f"{owner} takes dlcourse.layers.Layer objects; got {layer!r}")
    return layers


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

    def output_shape(self, input_shape):
        """Each layer's ``output_shape`` applied to the previous one's."""
        shape = tuple(input_shape)
        for layer in self.children:
            shape = tuple(layer.output_shape(shape))
        return shape

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

    def output_shape(self, input_shape):
        """``input_shape`` itself, once ``F`` is checked to keep it."""
        shape = tuple(input_shape)
        out = tuple(self.children[0].output_shape(shape))
        if out != shape:
            raise ValueError(f"Residual needs F(x) with the shape of x {batch_shape(shape)}; "
                             f"got {batch_shape(out)}")  # fmt: skip
        return shape

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

    def output_shape(self, input_shape):
        """The branches' shapes, which must agree on every axis but the first (the features),
        with the widths added: ``(n_1, ...), ..., (n_k, ...) -> (Σ n_i, ...)``."""
        outs = [tuple(b.output_shape(tuple(input_shape))) for b in self.children]
        if any(not o for o in outs) or len({o[1:] for o in outs}) != 1:
            raise ValueError(f"Concat needs branches whose outputs differ only in the feature "
                             f"axis; got {[batch_shape(o) for o in outs]}")  # fmt: skip
        return (sum(o[0] for o in outs), *outs[0][1:])

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

    def output_shape(self, input_shape):
        """The branches' common output shape."""
        outs = [tuple(b.output_shape(tuple(input_shape))) for b in self.children]
        if len(set(outs)) != 1:
            raise ValueError(f"Sum needs branches of one shape; got "
                             f"{[batch_shape(o) for o in outs]}")  # fmt: skip
        return outs[0]

    def config(self):
        return {"type": "Sum", "branches": [c.config() for c in self.children]}

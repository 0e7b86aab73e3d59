"""A tiny network built from :class:`~dlcourse.autodiff.Value` nodes.

:class:`Neuron`, :class:`Layer` and :class:`MLP` compute the same function as
``dlcourse.Network`` (rows of ``X`` are examples, ``W`` of layer l has shape
(n_l, n_{l-1})), but every multiplication and addition is a node of a
computational graph, so ``cost.backward()`` yields dC/dw for every weight. With
the same weights these gradients equal those of ``Network.backprop`` (BP1-BP4):
backpropagation is reverse-mode automatic differentiation applied to a network.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from dlcourse.autodiff.engine import Value

__all__ = ["VALUE_ACTIVATIONS", "VALUE_COSTS", "MLP", "Layer", "Neuron"]

VALUE_ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "identity": Value.identity,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
}


def _total(terms: Iterable[Value]) -> Value:
    """Sum of at least one Value, without an extra 0 node in the graph."""
    terms = list(terms)
    return sum(terms[1:], terms[0])


def _softmax(z: Sequence[Value]) -> list[Value]:
    """Softmax of a layer, shifted by max z for stability (the shift carries no gradient)."""
    shift = max(v.data for v in z)
    e = [(v - shift).exp() for v in z]
    total = _total(e)
    return [ei / total for ei in e]


def _quadratic(a: Sequence[Value], y: Sequence[float]) -> Value:
    return 0.5 * _total((aj - yj) ** 2 for aj, yj in zip(a, y, strict=True))


def _binary_cross_entropy(a: Sequence[Value], y: Sequence[float]) -> Value:
    terms = (yj * aj.log() + (1 - yj) * (1 - aj).log() for aj, yj in zip(a, y, strict=True))
    return -_total(terms)


def _cross_entropy(a: Sequence[Value], y: Sequence[float]) -> Value:
    return -_total(yj * aj.log() for aj, yj in zip(a, y, strict=True))


VALUE_COSTS: dict[str, Callable[[Sequence[Value], Sequence[float]], Value]] = {
    "quadratic": _quadratic,
    "binary_cross_entropy": _binary_cross_entropy,
    "cross_entropy": _cross_entropy,
}


def _lookup(table: dict, name: object, what: str):
    key = getattr(name, "name", name)  # accept registry objects with a .name too
    if key not in table:
        raise ValueError(f"unknown {what} {key!r}; expected one of {sorted(table)}")
    return table[key]


class Neuron:
    """One neuron: a = activation(sum_k w_k x_k + b), with ``w`` and ``b`` leaf Values."""

    def __init__(self, w: Iterable[float], b: float, activation: str = "sigmoid") -> None:
        self.w = [Value(float(wk), label=f"w{k}") for k, wk in enumerate(w)]
        self.b = Value(float(b), label="b")
        self.activation = getattr(activation, "name", activation)
        self._act = _lookup(VALUE_ACTIVATIONS, activation, "activation")

    def z(self, x: Sequence[Value | float]) -> Value:
        """Weighted input z = w . x + b (length of ``x`` must equal len(w))."""
        if len(x) != len(self.w):
            raise ValueError(f"input has {len(x)} entries; the neuron expects {len(self.w)}")
        return sum((wk * xk for wk, xk in zip(self.w, x, strict=True)), self.b)

    def __call__(self, x: Sequence[Value | float]) -> Value:
        return self._act(self.z(x))

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class Layer:
    """A layer of neurons from W (n_out, n_in) and b (n_out,); softmax acts on the whole layer."""

    def __init__(self, W: np.ndarray, b: np.ndarray, activation: str = "sigmoid") -> None:
        name = getattr(activation, "name", activation)
        self.softmax = name == "softmax"
        per_neuron = "identity" if self.softmax else name
        self.neurons = [Neuron(wj, bj, per_neuron) for wj, bj in zip(W, b, strict=True)]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        out = [neuron(x) for neuron in self.neurons]
        return _softmax(out) if self.softmax else out

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]


class MLP:
    """A multilayer perceptron of Values, in the layout of ``dlcourse.Network``.

    Args:
        sizes: layer widths ``[n_0, n_1, ..., n_L]``.
        activation, output: hidden and output activation names.
        seed: weights ~ N(0, 1/n_in), biases ~ N(0, 1) (Nielsen's initialisation).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        output: str = "sigmoid",
        seed: int | None = None,
        *,
        weights: Sequence[np.ndarray] | None = None,
        biases: Sequence[np.ndarray] | None = None,
    ) -> None:
        self.sizes = list(sizes)
        if weights is None or biases is None:
            rng = np.random.default_rng(seed)
            pairs = zip(self.sizes[:-1], self.sizes[1:], strict=False)
            weights = [rng.normal(0, 1 / math.sqrt(n_in), (n_out, n_in)) for n_in, n_out in pairs]
            biases = [rng.normal(0, 1, n) for n in self.sizes[1:]]
        count = len(self.sizes) - 1
        acts = [activation] * (count - 1) + [output]
        self.layers = [
            Layer(np.asarray(W), np.asarray(b), act)
            for W, b, act in zip(weights, biases, acts, strict=True)
        ]

    @classmethod
    def from_network(cls, net) -> MLP:
        """An MLP with the same sizes, activations and (copied) weights as a ``Network``."""
        return cls(
            net.sizes,
            net.activation,
            net.output,
            weights=[np.asarray(W, dtype=float) for W in net.weights],
            biases=[np.asarray(b, dtype=float) for b in net.biases],
        )

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        a = list(x)
        for layer in self.layers:
            a = layer(a)
        return a

    def cost(self, X: np.ndarray, Y: np.ndarray, cost: str = "quadratic") -> Value:
        """C = (1/m) sum_x C_x over the rows of X (m, n_0) and Y (m, n_L), as one Value."""
        per_example = _lookup(VALUE_COSTS, cost, "cost")
        costs = [
            per_example(self(list(map(float, x))), list(map(float, y)))
            for x, y in zip(X, Y, strict=True)
        ]
        return _total(costs) / len(costs)

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(grad_W, grad_b) as arrays shaped like ``Network.weights`` / ``Network.biases``."""
        grad_W = [np.array([[w.grad for w in n.w] for n in layer.neurons]) for layer in self.layers]
        grad_b = [np.array([n.b.grad for n in layer.neurons]) for layer in self.layers]
        return grad_W, grad_b

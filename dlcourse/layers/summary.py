"""What a model costs, layer by layer: parameters, multiply–adds and activation memory per
example, in the spirit of torchinfo's ``summary``.

``summary(model, input_shape)`` runs one example of shape ``input_shape`` (without the batch
axis) through a :class:`~dlcourse.layers.Model` (or any layer), recording every leaf layer in
the order it runs. For a :class:`dlcourse.Network` the input shape is ``(sizes[0],)`` and may
be omitted.

Counting rules (per example): a Linear layer on r rows costs ``r · n_in · n_out``
multiply–adds (r > 1 when it is applied to every element of a set or sequence); a Conv2d
``C_out·H_out·W_out · C_in·k·k`` (whatever its dilation); a ConvTranspose2d
``C_in·H·W · C_out·k·k`` (H, W its input size); a recurrent layer
``T · (|W_ih| + |W_hh|)``; multi-head self-attention on T positions of width E ``4 T E²``
(the q, k, v and output projections) plus ``2 T² E`` (the scores Q Kᵀ and the mix P V over
all heads); activations, pooling and normalisation count as free (their elementwise work is
small beside the products). Activation memory is the size of each layer's output, which the
backward pass keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse.layers.base import Layer


@dataclass
class LayerCost:
    name: str
    output_shape: tuple[int, ...]
    params: int
    mult_adds: int
    activation_bytes: int


@dataclass
class Summary:
    rows: list[LayerCost]

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def mult_adds(self) -> int:
        return sum(r.mult_adds for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        return sum(r.activation_bytes for r in self.rows)

    def __str__(self) -> str:
        lines = [f"{'layer':<24}{'output shape':>18}{'params':>12}{'mult-adds':>14}{'memory':>11}"]
        lines.append("-" * len(lines[0]))
        for r in self.rows:
            shape = "(" + ", ".join(map(str, r.output_shape)) + ")"
            lines.append(f"{r.name:<24}{shape:>18}{r.params:>12,}{r.mult_adds:>14,}"
                         f"{_size(r.activation_bytes):>11}")  # fmt: skip
        lines.append("-" * len(lines[0]))
        lines.append(f"{'total':<42}{self.params:>12,}{self.mult_adds:>14,}"
                     f"{_size(self.activation_bytes):>11}")  # fmt: skip
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython shows the table
        p.text(str(self))


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _leaves(layer: Layer):
    if not layer.children:
        yield layer
    for child in layer.children:
        yield from _leaves(child)


def _mult_adds(layer: Layer, x, out) -> int:
    kind = type(layer).__name__
    if kind in ("Linear", "DropConnect"):
        return int(np.prod(out.shape[:-1])) * int(layer.W.size)
    if kind == "Conv2d":
        return int(out.size) * int(layer.W[0].size)
    if kind == "ConvTranspose2d":  # every input pixel of every channel adds a C_out·k·k patch
        return int(x.size) * int(layer.W[0].size)
    if kind in ("RNN", "LSTM", "GRU"):
        return int(x.shape[0] * x.shape[1]) * int(layer.W_ih.size + layer.W_hh.size)
    if kind == "MultiHeadAttention":  # self-attention: projections, then Q Kᵀ and P V
        m, T, E = x.shape
        return m * (4 * T * E * E + 2 * T * T * E)
    return 0


def _network_summary(net) -> Summary:
    rows, itemsize = [], np.dtype(getattr(net, "dtype", np.float64)).itemsize
    for l, (n_prev, n) in enumerate(zip(net.sizes[:-1], net.sizes[1:]), start=1):
        rows.append(LayerCost(f"layer {l} (W^{l}, b^{l})", (1, n), n * (n_prev + 1), n * n_prev,
                              2 * n * itemsize))  # z and a  # fmt: skip
    return Summary(rows)


def summary(model, input_shape: tuple[int, ...] | None = None, dtype="float64") -> Summary:
    """Per-layer parameters, multiply–adds and activation memory for one example.

    ``model``: a :class:`~dlcourse.layers.Model`, a layer, or a :class:`dlcourse.Network`;
    ``input_shape``: the shape of one example (e.g. ``(784,)``, ``(1, 28, 28)``,
    ``(T, n_in)``), required except for a Network.
    """
    if hasattr(model, "sizes") and hasattr(model, "weights"):
        return _network_summary(model)
    body = getattr(model, "layers", model)
    if not isinstance(body, Layer):
        raise TypeError(f"summary takes a Model, a Layer or a Network; got {type(model).__name__}")
    if input_shape is None:
        raise ValueError("summary needs input_shape, the shape of one example (no batch axis)")
    rows: list[LayerCost] = []
    patched = []
    for leaf in _leaves(body):
        original = leaf.forward

        def recorder(x, training=True, _leaf=leaf, _original=original, **kwargs):
            out = _original(x, training, **kwargs)  # kwargs: masks of an attention layer
            name = type(_leaf).__name__
            params = sum(int(p.size) for p in _leaf.params)
            rows.append(LayerCost(name, tuple(out.shape), params, _mult_adds(_leaf, x, out),
                                  int(out.size * out.itemsize)))  # fmt: skip
            return out

        leaf.forward = recorder
        patched.append(leaf)
    try:
        x = np.zeros((1, *input_shape), dtype=dtype)
        body.forward(x, training=False)
    finally:
        for leaf in patched:
            del leaf.forward  # back to the class's method
    return Summary(rows)


__all__ = ["summary", "Summary", "LayerCost"]

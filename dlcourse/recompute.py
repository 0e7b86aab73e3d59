"""Store versus recompute: gradient checkpointing for stacks of :mod:`dlcourse.layers`.

Reverse mode needs the values of the forward pass when it runs backwards, so a plain
``Sequential`` keeps the cache of every layer (its input, its ``z`` and ``a``) until
``backward``: memory grows linearly with the depth ``L``. :class:`Recompute` trades time for
memory. Its forward pass runs the wrapped layers, keeps only the *input* of the block and
drops the caches of the layers inside; its backward pass runs the block forward once more
from that input, which rebuilds the caches, and then backwards through it.

Split a stack of ``L`` layers into ``k`` such blocks (:func:`checkpoint_sequential`) and the
forward pass stores ``k`` block inputs, while the backward pass holds the caches of one block
(about ``L / k`` layers) at a time: memory ~ ``k + L / k``, smallest near ``k = √L``, for the
price of one extra forward pass. The gradients are those of the plain backward pass, exactly:
the same operations run on the same numbers. Random layers (dropout) replay the same mask,
because the generator state is restored before the second forward pass; running statistics
(batch normalisation) are restored too, so they are updated once per step, as without
recomputation.

This is an execution strategy, not part of the architecture: ``config()`` of a
:class:`Recompute` block describes a plain ``Sequential``. (Not to be confused with
:mod:`dlcourse.saving.checkpoint`, which saves training state to files.)
"""

from __future__ import annotations

import copy

import numpy as np

from dlcourse.layers import Layer, Sequential

__all__ = ["Recompute", "checkpoint_sequential", "drop_caches"]


def _is_cache(value) -> bool:
    if isinstance(value, np.ndarray):
        return True
    return isinstance(value, tuple) and any(isinstance(v, np.ndarray) for v in value)


def drop_caches(layer: Layer) -> None:
    """Forget what ``layer`` (and every layer inside it) stored for its backward pass.

    A cache is a private attribute (name starting with ``_``) holding an array or a tuple
    with arrays, such as ``Linear._x`` or ``Activation._z``; parameters and gradients are
    public and stay. After this, ``layer.backward`` raises until ``forward`` runs again.
    """
    for name, value in vars(layer).items():
        if name.startswith("_") and _is_cache(value):
            setattr(layer, name, None)
    for child in layer.children:
        drop_caches(child)


class Recompute(Layer):
    """Layers applied in sequence that store only their input and recompute the rest.

    Args:
        layers: the :class:`~dlcourse.layers.Layer` objects of the block, in order.

    ``forward(x)`` with ``x`` of shape ``(m, n_in)`` returns the block's output and keeps
    ``x`` only; ``backward(dout)`` reruns the forward pass from ``x`` (same dropout masks,
    running statistics left as after the first pass), then applies the layers' backward
    rules, and drops the caches again. ``params``/``grads`` are those of the layers inside.
    In evaluation mode (``training=False``) nothing is stored at all.
    """

    def __init__(self, layers):
        self.inner = Sequential(layers)
        self.children = (self.inner,)
        self._x = None
        self._generator_states = None

    def forward(self, x, training=True):
        self._x = None  # an evaluation pass leaves nothing for a backward pass
        if training:
            self._x = x
            self._generator_states = [
                copy.deepcopy(g.bit_generator.state) for g in self.generators()
            ]
        out = self.inner.forward(x, training)
        drop_caches(self.inner)
        return out

    def backward(self, dout):
        if self._x is None:
            raise RuntimeError("Recompute.backward called before a forward pass with training=True")
        for g, state in zip(self.generators(), self._generator_states):
            g.bit_generator.state = state  # replay the same random masks
        saved = [b.copy() for b in self.buffers()]
        self.inner.forward(self._x, True)  # the extra forward pass: rebuild the caches
        for b, value in zip(self.buffers(), saved):
            b[...] = value  # running statistics are updated once per step, not twice
        dx = self.inner.backward(dout)
        drop_caches(self.inner)
        self._x = None
        return dx

    def config(self):
        return self.inner.config()

    def __len__(self) -> int:
        return len(self.inner)


def checkpoint_sequential(layers, segments: int) -> Sequential:
    """Split ``layers`` into ``segments`` consecutive :class:`Recompute` blocks.

    Args:
        layers: a sequence of layers (or a ``Sequential``) with ``L`` layers.
        segments: the number of blocks ``k``, ``1 <= k <= L``; the block sizes differ by at
            most one. ``k = L`` stores every layer's input (close to the plain pass);
            ``k ≈ √L`` needs the least memory.

    Returns a ``Sequential`` of the blocks, sharing the given layer objects (and therefore
    their parameters) with ``layers``.
    """
    layers = list(layers.children if isinstance(layers, Sequential) else layers)
    if isinstance(segments, bool) or not isinstance(segments, int | np.integer):
        raise TypeError(
            f"segments must be an int; got {segments!r} of type {type(segments).__name__}"
        )
    if not 1 <= segments <= len(layers):
        raise ValueError(
            f"segments must be between 1 and the number of layers ({len(layers)}); got {segments}"
        )
    bounds = np.linspace(0, len(layers), segments + 1).round().astype(int)
    return Sequential([Recompute(layers[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])])

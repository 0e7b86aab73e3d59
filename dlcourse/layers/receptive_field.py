"""The receptive field of a stack of convolution and pooling layers: which input pixels one
output unit can see.

Along one axis, a layer with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d``
(span ``k_eff = d(k − 1) + 1``) lets output position ``n`` read its input positions
``n·s − p, …, n·s − p + k_eff − 1``. If every position ``t`` of that input sees the image
pixels ``[lo + t·j, hi + t·j]`` (``j``, the *jump*, is the distance in image pixels between
neighbouring units), then output ``n`` sees ``[lo' + n·j', hi' + n·j']`` with
(eq-receptive-field)::

    lo' = lo − p·j,     hi' = hi + (k_eff − 1 − p)·j,     j' = j·s

starting from ``lo = hi = 0, j = 1`` at the image. The *size* ``r = hi − lo + 1`` obeys the
familiar ``r' = r + (k_eff − 1)·j``: each layer widens the field by ``k_eff − 1`` of its
input units, and every stride multiplies what a unit step of later layers is worth. Positions
outside ``[0, H − 1]`` are padding; a unit near the border sees fewer real pixels.

The field is a bounding box: a dilated kernel alone skips pixels inside it, and a max pool
passes the gradient through one pixel per window, so the pixels whose value changes the
output (its *gradient footprint*, the non-zero entries of ∂output/∂input) lie inside the
field, filling it for dense kernels with generic weights. Pointwise layers (activations,
dropout, batch norm in evaluation mode) do not change the field; branches (``Residual``,
``Sum``, ``Concat``) take the union of theirs. A layer that mixes every position
(``Flatten``, ``Linear``, ``GlobalAvgPool2d``) sees the whole image, and a transposed
convolution (fractional jump) is not covered: both are ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dlcourse.layers.base import Concat, Layer, Residual, Sequential, Sum
from dlcourse.layers.conv import AvgPool2d, Conv2d, MaxPool2d

_POINTWISE = ("Activation", "Dropout", "BatchNorm2d")


@dataclass(frozen=True)
class FieldStep:
    """The field after one windowed layer: its ``kernel_size``, ``stride``, ``padding`` and
    ``dilation``, then ``size`` and ``jump`` of the stack up to it (one axis)."""

    name: str
    kernel_size: int
    stride: int
    padding: int
    dilation: int
    size: int
    jump: int
    start: int


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the units of the last layer, along one axis (the layers are square,
    so the field of unit ``(r, q)`` is ``window(r) × window(q)``).

    ``size``: pixels one unit sees; ``jump``: pixels between neighbouring units (the product
    of the strides, also called the effective stride); ``start``: the first pixel seen by unit
    0 (negative when the field reaches into the padding); ``steps``: one
    :class:`FieldStep` per windowed layer (of the longest branch where the stack branches).
    """

    size: int
    jump: int
    start: int
    steps: tuple[FieldStep, ...] = field(default=())

    @property
    def stride(self) -> int:
        """The same as ``jump``: the stride of the stack seen as one layer."""
        return self.jump

    def window(self, n: int, length: int | None = None) -> tuple[int, int]:
        """First and last input pixel (inclusive) seen by output position ``n``; clipped to
        ``[0, length − 1]`` when the input ``length`` (H or W) is given."""
        first = self.start + n * self.jump
        last = first + self.size - 1
        if length is not None:
            first, last = max(first, 0), min(last, length - 1)
        return first, last

    def __str__(self) -> str:
        head = f"{'layer':<18}{'k':>4}{'s':>4}{'p':>4}{'d':>4}{'size':>7}{'jump':>7}{'start':>7}"
        lines = [head, "-" * len(head)]
        for t in self.steps:
            lines.append(f"{t.name:<18}{t.kernel_size:>4}{t.stride:>4}{t.padding:>4}"
                         f"{t.dilation:>4}{t.size:>7}{t.jump:>7}{t.start:>7}")  # fmt: skip
        return "\n".join(lines)


@dataclass(frozen=True)
class _State:
    lo: int
    hi: int
    jump: int
    steps: tuple[FieldStep, ...]


def _windowed(layer: Layer, state: _State) -> _State:
    k, s = layer.kernel_size, layer.stride
    p, d = getattr(layer, "padding", 0), getattr(layer, "dilation", 1)
    span = d * (k - 1) + 1
    lo, hi, j = state.lo - p * state.jump, state.hi + (span - 1 - p) * state.jump, state.jump * s
    step = FieldStep(type(layer).__name__, k, s, p, d, hi - lo + 1, j, lo)
    return _State(lo, hi, j, state.steps + (step,))


def _union(states: list[_State], owner: str) -> _State:
    jumps = {st.jump for st in states}
    if len(jumps) != 1:
        raise ValueError(f"the branches of {owner} have different jumps {sorted(jumps)}")
    steps = max((st.steps for st in states), key=len)
    return _State(min(st.lo for st in states), max(st.hi for st in states), jumps.pop(), steps)


def _walk(layer: Layer, state: _State) -> _State:
    name = type(layer).__name__
    if isinstance(layer, (Conv2d, MaxPool2d, AvgPool2d)):
        return _windowed(layer, state)
    if name in _POINTWISE:
        return state
    if isinstance(layer, Sequential):
        for child in layer.children:
            state = _walk(child, state)
        return state
    if isinstance(layer, Residual):
        return _union([_walk(layer.children[0], state), state], name)
    if isinstance(layer, (Sum, Concat)):
        return _union([_walk(b, state) for b in layer.children], name)
    if name in ("Flatten", "Linear", "GlobalAvgPool2d"):
        raise ValueError(
            f"after {name} every unit sees the whole input; pass only the layers before it"
        )
    raise ValueError(
        f"receptive_field handles Conv2d, MaxPool2d, AvgPool2d, pointwise layers "
        f"({', '.join(_POINTWISE)}) and their containers; got {name}"
    )


def receptive_field(layers) -> ReceptiveField:
    """Receptive field of the last layer of ``layers`` (a list of layers, a layer, or a
    :class:`~dlcourse.layers.Model`) with respect to its input, by eq-receptive-field."""
    body = getattr(layers, "layers", layers)
    if isinstance(body, (list, tuple)):
        body = Sequential(body)
    if not isinstance(body, Layer):
        kind = type(layers).__name__
        raise TypeError(f"receptive_field takes layers, a list of layers or a Model; got {kind}")
    state = _walk(body, _State(0, 0, 1, ()))
    return ReceptiveField(state.hi - state.lo + 1, state.jump, state.lo, state.steps)


__all__ = ["receptive_field", "ReceptiveField", "FieldStep"]

"""Three convolutional networks of Chapter 12, built from :mod:`dlcourse.layers`.

Each function returns a :class:`~dlcourse.layers.Model` for ``(m, 1, 28, 28)`` images and
``classes`` outputs (softmax with cross-entropy); all weights are drawn from one generator,
``rng`` or ``default_rng(seed)``, so a seed fixes the network.

- :func:`lenet5` — LeCun et al. (1998) adapted to 28×28 inputs: the first convolution pads
  by 2, which gives C1 the published 28×28 maps; C3 connects to all six S2 maps (the paper
  used a table of 60 of the 96 pairs); the RBF output layer is a linear layer with softmax.
  Subsampling is 2×2 average pooling followed by tanh, as S2/S4's trainable scale and bias
  are left out.
- :func:`vgg_net` — blocks of ``convs_per_block`` 3×3 convolutions with padding 1 and ReLU,
  each block ending in 2×2 max pooling and doubling the channels (Simonyan and Zisserman,
  2015), then global average pooling and one linear layer.
- :func:`resnet` — He et al. (2016)'s basic blocks (:func:`basic_block`, two 3×3
  convolutions with batch normalisation, added to a shortcut) in stages of growing width and
  halving size, then global average pooling and one linear layer.

All convolutions keep their bias (also before a batch normalisation, where it is redundant),
so every layer converts to ``torch.nn`` with :func:`dlcourse.torchlayers.layers_to_module`.
"""

from __future__ import annotations

import numpy as np

from dlcourse.layers import (
    Activation,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    Model,
    Residual,
    Sequential,
    Sum,
)

__all__ = ["lenet5", "vgg_net", "basic_block", "resnet"]


def _rng(seed, rng) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng(seed)


def _widths(widths, name: str) -> tuple[int, ...]:
    widths = tuple(widths)
    if not widths or any(not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise ValueError(f"{name} must be a non-empty sequence of positive integers; "
                         f"got {widths!r}")  # fmt: skip
    return widths


def lenet5(classes: int = 10, seed=None, rng=None, dtype="float64") -> Model:
    """LeNet-5 for 28×28 images: (m, 1, 28, 28) → (m, classes).

    ``C1`` Conv 6@5×5 pad 2 → 6×28×28, tanh; ``S2`` avg-pool 2 → 6×14×14, tanh; ``C3`` Conv
    16@5×5 → 16×10×10, tanh; ``S4`` avg-pool 2 → 16×5×5, tanh; ``C5`` Conv 120@5×5 →
    120×1×1, tanh; ``F6`` Linear 120 → 84, tanh; output Linear 84 → classes, softmax.
    Xavier initialisation (tanh units).
    """
    g, kw = _rng(seed, rng), {"init": "xavier_uniform", "dtype": dtype}
    tanh = lambda: Activation("tanh")  # noqa: E731
    return Model(
        [Conv2d(1, 6, 5, padding=2, rng=g, **kw), tanh(), AvgPool2d(2), tanh(),
         Conv2d(6, 16, 5, rng=g, **kw), tanh(), AvgPool2d(2), tanh(),
         Conv2d(16, 120, 5, rng=g, **kw), tanh(), Flatten(),
         Linear(120, 84, rng=g, **kw), tanh(),
         Linear(84, classes, rng=g, **kw), Activation("softmax")],
        cost="cross_entropy",
    )  # fmt: skip


def vgg_net(widths=(16, 32, 64), convs_per_block=2, classes: int = 10, seed=None, rng=None,
            dtype="float64") -> Model:  # fmt: skip
    """A VGG-style network: per width ``w``, ``convs_per_block`` × (Conv w@3×3 pad 1, ReLU),
    then MaxPool 2 (28 → 14 → 7 → 3 for three blocks); global average pooling, Linear(w_last,
    classes), softmax. He initialisation."""
    widths, g = _widths(widths, "widths"), _rng(seed, rng)
    layers, c_in = [], 1
    for w in widths:
        for _ in range(int(convs_per_block)):
            layers += [Conv2d(c_in, w, 3, padding=1, rng=g, dtype=dtype), Activation("relu")]
            c_in = w
        layers.append(MaxPool2d(2))
    layers += [GlobalAvgPool2d(), Linear(c_in, classes, init="xavier_uniform", rng=g, dtype=dtype),
               Activation("softmax")]  # fmt: skip
    return Model(layers, cost="cross_entropy")


def basic_block(in_channels: int, out_channels: int, stride: int = 1, rng=None,
                dtype="float64") -> Sequential:  # fmt: skip
    """ResNet's basic block: ``relu(F(x) + shortcut(x))`` with

    ``F`` = Conv 3×3 (stride ``stride``, pad 1) – BN – ReLU – Conv 3×3 (pad 1) – BN, and the
    shortcut the identity when the shapes agree, else the *projection* Conv 1×1 (stride
    ``stride``) – BN. Input (m, C_in, H, W), output (m, C_out, ⌈H/s⌉, ⌈W/s⌉).
    """
    g, kw = _rng(None, rng), {"dtype": dtype}
    c_in, c_out = in_channels, out_channels
    main = Sequential([
        Conv2d(c_in, c_out, 3, stride, 1, rng=g, **kw), BatchNorm2d(c_out, **kw),
        Activation("relu"),
        Conv2d(c_out, c_out, 3, 1, 1, rng=g, **kw), BatchNorm2d(c_out, **kw),
    ])  # fmt: skip
    if stride == 1 and in_channels == out_channels:
        merged = Residual(main)
    else:
        shortcut = Sequential([Conv2d(in_channels, out_channels, 1, stride, rng=g, **kw),
                               BatchNorm2d(out_channels, dtype=dtype)])  # fmt: skip
        merged = Sum([main, shortcut])
    return Sequential([merged, Activation("relu")])


def resnet(widths=(16, 32, 64), blocks_per_stage=1, classes: int = 10, seed=None, rng=None,
           dtype="float64") -> Model:  # fmt: skip
    """A small ResNet: stem Conv w₁@3×3 pad 1 – BN – ReLU at 28×28; one stage per width,
    each of ``blocks_per_stage`` basic blocks, the first block of every stage after the first
    with stride 2 and a projection shortcut (28 → 14 → 7); global average pooling,
    Linear(w_last, classes), softmax."""
    widths, g = _widths(widths, "widths"), _rng(seed, rng)
    layers = [Conv2d(1, widths[0], 3, padding=1, rng=g, dtype=dtype),
              BatchNorm2d(widths[0], dtype=dtype), Activation("relu")]  # fmt: skip
    c_in = widths[0]
    for stage, w in enumerate(widths):
        for block in range(int(blocks_per_stage)):
            stride = 2 if stage > 0 and block == 0 else 1
            layers.append(basic_block(c_in, w, stride, rng=g, dtype=dtype))
            c_in = w
    layers += [GlobalAvgPool2d(), Linear(c_in, classes, init="xavier_uniform", rng=g, dtype=dtype),
               Activation("softmax")]  # fmt: skip
    return Model(layers, cost="cross_entropy")

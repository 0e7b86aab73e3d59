"""Convolution and pooling layers on image batches of shape ``(m, C, H, W)`` (like torch).

- :class:`Conv2d`: ``z[i, o] = b[o] + Σ_c W[o, c] ⋆ x[i, c]`` (cross-correlation, as in every
  deep-learning library), with zero padding ``p``, stride ``s`` and dilation ``d``;
- :class:`MaxPool2d`, :class:`AvgPool2d`: the maximum / mean of each ``k × k`` window;
- :class:`GlobalAvgPool2d`: the mean of each channel over the whole image, ``(m, C, H, W) →
  (m, C)``;
- :class:`Flatten`: ``(m, C, H, W) → (m, C·H·W)`` so that a :class:`~dlcourse.layers.Linear`
  can follow.

Output size along one axis (eq-conv-output-size): ``H_out = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1``,
which is ``⌊(H + 2p − k) / s⌋ + 1`` without dilation (``d = 1``). A dilated kernel reads the
input at the offsets ``0, d, 2d, …, d(k − 1)``: it spans ``d(k − 1) + 1`` pixels with the same
``k²`` weights. The rows or columns that do not fill a last window are dropped, as in torch.
A (dilated) kernel larger than the padded input is a ``ValueError``.

The convolution is vectorised with *im2col*: every window of the padded input becomes one
column of a matrix ``cols_i`` of shape ``(C·k·k, H_out·W_out)`` per example, and the layer is
one BLAS product ``W cols_i`` per example (eq-conv-im2col), written as one batched ``@``.
The backward pass uses the same matrices for ``∂L/∂W`` and scatters ``∂L/∂cols`` back onto
the image (*col2im*) for ``∂L/∂x``, with one strided addition per kernel offset. Pooling
loops over the ``k²`` offsets of a window, each a strided slice of the whole batch. These
layers run on NumPy arrays only (float32 or float64).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.layers.base import AffineLayer, Layer, _cached, batch_shape

_windows = np.lib.stride_tricks.sliding_window_view


def _check_nonneg_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    return int(value)


def _set_geometry(layer, in_channels, out_channels, kernel_size, stride, padding, dilation):
    """Check and store the sizes a convolution (or its transpose) is built from."""
    layer.in_channels = check_positive_int(in_channels, "in_channels")
    layer.out_channels = check_positive_int(out_channels, "out_channels")
    layer.kernel_size = check_positive_int(kernel_size, "kernel_size")
    layer.stride = check_positive_int(stride, "stride")
    layer.padding = _check_nonneg_int(padding, "padding")
    layer.dilation = check_positive_int(dilation, "dilation")


def _check_image(layer: str, x, channels: int | None = None) -> None:
    """A batch ``x`` of images (m, C, H, W), with ``channels`` channels when given."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{layer} expects a NumPy array of shape (m, C, H, W); got {type(x).__name__}"
        )
    _check_image_shape(layer, x.shape[1:], channels, str(x.shape))


def _check_image_shape(layer: str, shape, channels: int | None = None, shown: str = ""):
    """One example's shape ``(C, H, W)``, returned as a tuple; ``shown`` is how the message
    writes what was given (the batch's shape, or :func:`batch_shape` of one example's)."""
    shape = tuple(shape)
    shown = shown or batch_shape(shape)
    if len(shape) != 3:
        raise ValueError(f"{layer} expects input of shape (m, C, H, W) (4 axes); got shape {shown}")
    if channels is not None and shape[0] != channels:
        raise ValueError(f"{layer} expects input of shape (m, {channels}, H, W); got shape {shown}")
    return shape


def _output_hw(layer: str, H: int, W: int, *geometry) -> tuple[int, int]:
    """``(H_out, W_out)`` by :func:`output_size` with ``geometry = (k, s, p, d)`` (or a
    prefix of it); a kernel larger than the padded input is a ValueError naming ``layer``."""
    try:
        return output_size(H, *geometry), output_size(W, *geometry)
    except ValueError as err:
        raise ValueError(f"{layer}: {err}") from None


def output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0,
                dilation: int = 1) -> int:  # fmt: skip
    """``⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1`` (eq-conv-output-size); ValueError if the dilated
    kernel, ``d(k − 1) + 1`` pixels wide, is wider than the padded input ``n + 2p``."""
    span = dilation * (kernel_size - 1) + 1
    if span > n + 2 * padding:
        what = f"kernel_size {kernel_size}"
        if dilation != 1:
            what = f"dilated kernel ({dilation}·({kernel_size} − 1) + 1 = {span})"
        raise ValueError(
            f"{what} is larger than the padded input ({n} + 2·{padding} = {n + 2 * padding})"
        )
    return (n + 2 * padding - span) // stride + 1


def im2col(x: np.ndarray, kernel_size: int, stride: int = 1, padding: int = 0,
           dilation: int = 1) -> np.ndarray:  # fmt: skip
    """The windows of ``x`` (m, C, H, W) as a strided view of shape ``(m, C, k, k, H_out, W_out)``.

    Entry ``[i, c, u, v, r, q]`` is ``x_pad[i, c, s·r + d·u, s·q + d·v]``. Reshaped to
    ``(m, C·k·k, H_out·W_out)`` it is the matrix of eq-conv-im2col: column ``(r, q)`` of
    example ``i`` holds the input window whose output position is ``(r, q)``. With dilation
    the window is ``d(k − 1) + 1`` pixels wide and every ``d``-th pixel of it is kept.
    """
    k, s, p, d = kernel_size, stride, padding, dilation
    H_out = output_size(x.shape[2], k, s, p, d)
    W_out = output_size(x.shape[3], k, s, p, d)
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    span = d * (k - 1) + 1
    win = _windows(x, (span, span), axis=(2, 3))[:, :, : s * H_out : s, : s * W_out : s]
    return win[..., ::d, ::d].transpose(0, 1, 4, 5, 2, 3)


def col2im(dcols: np.ndarray, x_shape, kernel_size: int, stride: int = 1, padding: int = 0,
           dilation: int = 1):  # fmt: skip
    """Adjoint of :func:`im2col`: add every window's entries back onto the image.

    ``dcols`` has shape ``(m, C, k, k, H_out, W_out)``; returns ``dx`` of shape ``x_shape``
    (m, C, H, W). One strided addition per kernel offset ``(u, v)``, onto the pixels
    ``(d·u + s·r, d·v + s·q)``; overlapping windows add up.
    """
    m, C, H, W = x_shape
    k, s, p, d = kernel_size, stride, padding, dilation
    H_out, W_out = dcols.shape[4], dcols.shape[5]
    dx = np.zeros((m, C, H + 2 * p, W + 2 * p), dtype=dcols.dtype)
    for u in range(k):
        for v in range(k):
            rows = slice(d * u, d * u + s * H_out, s)
            cols = slice(d * v, d * v + s * W_out, s)
            dx[:, :, rows, cols] += dcols[:, :, u, v]
    return dx[:, :, p : p + H, p : p + W] if p else dx


class Conv2d(AffineLayer):
    """2-D convolution (cross-correlation) with ``W`` (C_out, C_in, k, k) and ``b`` (C_out,).

    Forward (eq-conv-channels): ``z[i, o, r, q] = b[o] + Σ_{c, u, v} W[o, c, u, v]
    x_pad[i, c, s·r + d·u, s·q + d·v]``, input (m, C_in, H, W), output (m, C_out, H_out, W_out)
    with ``H_out = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1``; the dilation ``d`` (default 1, the
    plain convolution) spreads the ``k × k`` taps ``d`` pixels apart.
    With ``cols_i`` the im2col matrix of example ``i`` (C_in·k·k, H_out·W_out) and ``W`` seen as
    a (C_out, C_in·k·k) matrix this is ``z_i = W cols_i + b`` (eq-conv-im2col).

    Backward, with ``δ_i = ∂L/∂z_i`` (C_out, H_out·W_out) (eq-conv-backward):
    ``∂L/∂W = Σ_i δ_i cols_iᵀ``, ``∂L/∂b[o] = Σ_{i,r,q} δ[i,o,r,q]``,
    ``∂L/∂x_i = col2im(Wᵀ δ_i)``. ``init`` names a scheme of
    :data:`dlcourse.init.INITIALIZERS` applied with fan-in ``C_in·k·k`` (default He, for ReLU
    networks); the generator is ``rng`` or ``default_rng(seed)``.
    """

    input_ndim = 4

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, init="he",
                 seed=None, rng=None, dtype="float64", dilation=1):  # fmt: skip
        _set_geometry(self, in_channels, out_channels, kernel_size, stride, padding, dilation)
        k = self.kernel_size
        self._init_params((self.out_channels, self.in_channels, k, k), init, seed, rng, dtype)
        self._cols = self._x_shape = None

    def forward(self, x, training=True):
        _check_image("Conv2d", x, self.in_channels)
        win = im2col(x, self.kernel_size, self.stride, self.padding, self.dilation)
        m, H_out, W_out = win.shape[0], win.shape[4], win.shape[5]
        cols = win.reshape(m, -1, H_out * W_out)  # (m, C_in·k·k, H_out·W_out): the copy
        z = self.W.reshape(self.out_channels, -1) @ cols  # one BLAS product per example
        z += self.b[:, None]
        self._cols, self._x_shape = cols, x.shape
        return z.reshape(m, self.out_channels, H_out, W_out)

    def backward(self, dout):
        cols = _cached(self, self._cols)
        m, _, H_out, W_out = dout.shape
        delta = dout.reshape(m, self.out_channels, H_out * W_out)  # (m, C_out, H_out·W_out)
        self.grad_W = (delta @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(self.W.shape)
        self.grad_b = delta.sum(axis=(0, 2))
        k = self.kernel_size
        dcols = self.W.reshape(self.out_channels, -1).T @ delta  # (m, C_in·k·k, H_out·W_out)
        dcols = dcols.reshape(m, self.in_channels, k, k, H_out, W_out)
        return col2im(dcols, self._x_shape, k, self.stride, self.padding, self.dilation)

    def output_shape(self, input_shape):
        """``(C_in, H, W) -> (C_out, H_out, W_out)`` by eq-conv-output-size."""
        _, H, W = _check_image_shape("Conv2d", input_shape, self.in_channels)
        geometry = (self.kernel_size, self.stride, self.padding, self.dilation)
        return (self.out_channels, *_output_hw("Conv2d", H, W, *geometry))

    def config(self):
        init = self.init if isinstance(self.init, str) else "constant"
        return {"type": "Conv2d", "in_channels": self.in_channels,
                "out_channels": self.out_channels, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding, "dilation": self.dilation,
                "init": init, "dtype": np.dtype(self.dtype).name}  # fmt: skip


class _Pool2d(Layer):
    """Shared checks of the two pooling layers (no parameters). Both loop over the ``k²``
    offsets ``(u, v)`` of a window: each offset is one strided slice of the whole batch,
    ``x[:, :, s·r + u, s·q + v]`` for all output positions ``(r, q)``."""

    input_ndim = 4

    def __init__(self, kernel_size, stride=None):
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else check_positive_int(stride, "stride")
        self._cache = None

    def _slices(self, shape) -> list[tuple[slice, slice]]:
        """The ``k²`` index pairs, in row-major order of ``(u, v)``."""
        k, s = self.kernel_size, self.stride
        H_out, W_out = output_size(shape[2], k, s), output_size(shape[3], k, s)
        return [(slice(u, u + s * H_out, s), slice(v, v + s * W_out, s))
                for u in range(k) for v in range(k)]  # fmt: skip

    def output_shape(self, input_shape):
        """``(C, H, W) -> (C, H_out, W_out)``, windows of ``k`` with stride ``s``, no padding."""
        name = type(self).__name__
        C, H, W = _check_image_shape(name, input_shape)
        return (C, *_output_hw(name, H, W, self.kernel_size, self.stride))

    def config(self):
        return {"type": type(self).__name__, "kernel_size": self.kernel_size, "stride": self.stride}


class MaxPool2d(_Pool2d):
    """Maximum of each ``k × k`` window (stride ``s``, default ``k``), per channel.

    Backward (eq-maxpool-backward): each window passes its ``dout`` entry to the position of its
    maximum (the first one in row-major order on ties, like torch) and zero elsewhere;
    overlapping windows add.
    """

    def forward(self, x, training=True):
        _check_image("MaxPool2d", x)
        slices = self._slices(x.shape)
        out = x[:, :, slices[0][0], slices[0][1]]
        for rows, cols in slices[1:]:
            out = np.maximum(out, x[:, :, rows, cols])
        self._cache = (x, out, slices)
        return out

    def backward(self, dout):
        x, out, slices = _cached(self, self._cache)
        dx = np.zeros(x.shape, dtype=dout.dtype)
        taken = np.zeros(out.shape, dtype=bool)  # windows whose maximum is already found
        overlap = self.stride < self.kernel_size
        for rows, cols in slices:
            first = (x[:, :, rows, cols] == out) > taken  # a maximum, and the first one
            taken |= first
            if overlap:
                dx[:, :, rows, cols] += first * dout
            else:  # every input entry is in at most one window
                np.multiply(first, dout, out=dx[:, :, rows, cols])
        return dx


class AvgPool2d(_Pool2d):
    """Mean of each ``k × k`` window (stride ``s``, default ``k``), per channel.

    Backward: each window spreads ``dout / k²`` evenly over its entries; overlapping windows add.
    """

    def forward(self, x, training=True):
        _check_image("AvgPool2d", x)
        slices = self._slices(x.shape)
        out = x[:, :, slices[0][0], slices[0][1]].copy()
        for rows, cols in slices[1:]:
            out += x[:, :, rows, cols]
        self._cache = (x.shape, slices)
        return out / len(slices)

    def backward(self, dout):
        x_shape, slices = _cached(self, self._cache)
        share = dout / len(slices)
        dx = np.zeros(x_shape, dtype=dout.dtype)
        for rows, cols in slices:
            dx[:, :, rows, cols] += share
        return dx


class GlobalAvgPool2d(Layer):
    """Mean of each channel over the whole image: ``(m, C, H, W) → (m, C)``.

    Forward: ``out[i, c] = (1 / HW) Σ_{r, q} x[i, c, r, q]`` (``nn.AdaptiveAvgPool2d(1)``
    followed by ``flatten(1)`` in torch). It replaces the large fully connected layers at the
    end of a convolutional network (Network in Network, ResNet): the classifier then has
    ``C · n_classes`` weights whatever the image size. Backward spreads ``dout[i, c] / HW``
    evenly over the ``H·W`` pixels of channel ``c``.
    """

    input_ndim = 4

    def __init__(self):
        self._shape = None

    def forward(self, x, training=True):
        _check_image("GlobalAvgPool2d", x)
        self._shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        m, C, H, W = _cached(self, self._shape)
        share = dout / (H * W)
        return np.broadcast_to(share[:, :, None, None], (m, C, H, W)).copy()

    def output_shape(self, input_shape):
        """``(C, H, W) -> (C,)``."""
        return _check_image_shape("GlobalAvgPool2d", input_shape)[:1]

    def config(self):
        return {"type": "GlobalAvgPool2d"}


class Flatten(Layer):
    """``(m, C, H, W) → (m, C·H·W)`` in C order (as ``torch.flatten(x, 1)``); backward reshapes."""

    input_ndim = 4

    def __init__(self):
        self._shape = None

    def forward(self, x, training=True):
        if not isinstance(x, np.ndarray) or x.ndim < 2:
            raise ValueError(
                f"Flatten expects an array of shape (m, ...); got {getattr(x, 'shape', x)!r}"
            )
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(_cached(self, self._shape))

    def output_shape(self, input_shape):
        """``(C, H, W) -> (C·H·W,)`` (any shape with at least one axis: its product)."""
        if len(input_shape) < 1:
            raise ValueError(
                f"Flatten expects an array of shape (m, ...); got {batch_shape(input_shape)}"
            )
        return (math.prod(input_shape),)

    def config(self):
        return {"type": "Flatten"}


__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten", "im2col", "col2im",
           "output_size"]  # fmt: skip

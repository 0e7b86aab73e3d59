"""Transposed convolution: the adjoint of :class:`~dlcourse.layers.Conv2d`, used to upsample
(decoders, segmentation, generators) — ``torch.nn.ConvTranspose2d`` semantics.

A convolution with weights ``W`` is a linear map ``x ↦ K x`` (bias aside). Its backward pass
computes ``∂L/∂x = Kᵀ δ``: scatter every output gradient back onto the input window it came
from (*col2im*). The transposed convolution is that map, ``y ↦ Kᵀ y``, used as a forward
pass: every input pixel ``y[c, r, q]`` adds ``y[c, r, q] · W[c, o]`` (a ``k × k`` patch) onto
the output at ``(s·r − p, s·q − p)``. So for equal weights and no bias

    ⟨Conv2d(x), y⟩ = ⟨x, ConvTranspose2d(y)⟩   for every x, y      (the adjoint identity),

and where a stride-``s`` convolution shrinks ``H`` to about ``H/s`` the transposed one grows
it about ``s``-fold. Its own backward pass is then a plain convolution (*im2col*).
"""

from __future__ import annotations

import numpy as np

from dlcourse.init import init_bias
from dlcourse.layers.base import AffineLayer, _cached
from dlcourse.layers.conv import (
    _check_image,
    _check_image_shape,
    _check_nonneg_int,
    _set_geometry,
    col2im,
    im2col,
)


def transposed_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0,
                           output_padding: int = 0, dilation: int = 1) -> int:  # fmt: skip
    """``(n − 1)s − 2p + d(k − 1) + output_padding + 1`` (eq-convT-output-size).

    It inverts :func:`~dlcourse.layers.conv.output_size`: a convolution with the same
    ``k, s, p, d`` maps this size back to ``n``. When ``s > 1`` several input sizes give the
    same convolution output; ``output_padding`` (``< max(s, d)``) picks the larger ones by
    adding rows/columns at the bottom/right. ValueError if the result is not positive.
    """
    size = (n - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if size < 1:
        raise ValueError(
            f"ConvTranspose2d output size ({n} − 1)·{stride} − 2·{padding} + "
            f"{dilation}·({kernel_size} − 1) + {output_padding} + 1 = {size} is not positive; "
            "use less padding"
        )
    return size


class ConvTranspose2d(AffineLayer):
    """Transposed 2-D convolution with ``W`` (C_in, C_out, k, k) and ``b`` (C_out,) (torch's
    layout: the weight of a ``Conv2d(C_out, C_in, k)`` maps back with the same array).

    Forward (eq-convT-forward), input (m, C_in, H, W), output (m, C_out, H_out, W_out) with
    ``H_out = (H − 1)s − 2p + d(k − 1) + output_padding + 1``::

        z_pad[i, o, s·r + d·u, s·q + d·v] += Σ_c W[c, o, u, v] y[i, c, r, q]
        z = crop_p(z_pad) + b[o]

    i.e. with ``W`` seen as a (C_in, C_out·k·k) matrix, ``z_i = col2im(Wᵀ y_i) + b``: the
    backward pass of ``Conv2d`` applied to ``y``. Backward (eq-convT-backward), with
    ``δ = ∂L/∂z`` and ``cols_i = im2col(δ_i)`` (C_out·k·k, H·W)::

        ∂L/∂y_i = W cols_i,   ∂L/∂W = Σ_i y_i cols_iᵀ,   ∂L/∂b[o] = Σ_{i,r,q} δ[i, o, r, q]

    ``output_padding`` (default 0, ``< max(stride, dilation)``) makes the output that many
    rows and columns larger at the bottom and right, which picks one of the input sizes that a
    strided convolution maps to the same size (see :func:`transposed_output_size`).

    ``init`` names a scheme of :data:`dlcourse.init.INITIALIZERS` applied to ``W`` seen as a
    (C_in, C_out·k·k) matrix, so with fan-in ``C_out·k·k`` as torch counts it (default He);
    the generator is ``rng`` or ``default_rng(seed)``.
    """

    input_ndim = 4

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, init="he", seed=None, rng=None, dtype="float64",
                 dilation=1):  # fmt: skip
        _set_geometry(self, in_channels, out_channels, kernel_size, stride, padding, dilation)
        self.output_padding = _check_nonneg_int(output_padding, "output_padding")
        if self.output_padding >= max(self.stride, self.dilation):
            raise ValueError(
                f"output_padding must be smaller than stride or dilation; got output_padding "
                f"{output_padding} with stride {stride} and dilation {dilation}"
            )
        k = self.kernel_size
        W_shape = (self.in_channels, self.out_channels, k, k)
        rng = self._init_params(W_shape, init, seed, rng, dtype)
        # AffineLayer sizes b by W.shape[0] = C_in; the bias belongs to the output channels.
        self.b = init_bias(init, self.out_channels, rng, self.dtype)
        self.grad_b = np.zeros_like(self.b)
        self._y = self._x_shape = None

    def output_shape(self, input_shape) -> tuple[int, int, int]:
        """``(C_in, H, W) -> (C_out, H_out, W_out)`` by :func:`transposed_output_size`."""
        _, H, W = _check_image_shape("ConvTranspose2d", input_shape, self.in_channels)
        args = (self.kernel_size, self.stride, self.padding, self.output_padding, self.dilation)
        return (self.out_channels, transposed_output_size(H, *args),
                transposed_output_size(W, *args))  # fmt: skip

    def forward(self, x, training=True):
        _check_image("ConvTranspose2d", x, self.in_channels)
        m, _, H, W = x.shape
        out_shape = (m, *self.output_shape(x.shape[1:]))
        k = self.kernel_size
        y = x.reshape(m, self.in_channels, H * W)
        cols = self.W.reshape(self.in_channels, -1).T @ y  # (m, C_out·k·k, H·W)
        cols = cols.reshape(m, self.out_channels, k, k, H, W)
        z = col2im(cols, out_shape, k, self.stride, self.padding, self.dilation)
        z += self.b[None, :, None, None]
        self._y, self._x_shape = y, x.shape
        return z

    def backward(self, dout):
        y = _cached(self, self._y)
        m, _, H, W = self._x_shape
        win = im2col(dout, self.kernel_size, self.stride, self.padding, self.dilation)
        # With output_padding ≥ stride (possible when dilation > stride) im2col finds an extra
        # window row/column that no input pixel produced; only the first H × W are kept.
        win = win[:, :, :, :, :H, :W]
        cols = win.reshape(m, self.out_channels * self.kernel_size**2, H * W)
        self.grad_W = (y @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(self.W.shape)
        self.grad_b = dout.sum(axis=(0, 2, 3))
        dy = self.W.reshape(self.in_channels, -1) @ cols  # (m, C_in, H·W)
        return dy.reshape(m, self.in_channels, H, W)

    def config(self):
        init = self.init if isinstance(self.init, str) else "constant"
        return {"type": "ConvTranspose2d", "in_channels": self.in_channels,
                "out_channels": self.out_channels, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding,
                "output_padding": self.output_padding, "dilation": self.dilation,
                "init": init, "dtype": np.dtype(self.dtype).name}  # fmt: skip


__all__ = ["ConvTranspose2d", "transposed_output_size"]

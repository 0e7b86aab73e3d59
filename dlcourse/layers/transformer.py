"""A transformer encoder block, as ``torch.nn.TransformerEncoderLayer(batch_first=True)``.

Two sub-blocks, each wrapped in a residual connection and a layer normalisation: multi-head
self-attention (positions exchange information) and a position-wise MLP (each position
transformed on its own). Where the normalisation sits gives the two variants:

- **pre-norm** (``norm_first=True``, the default here, as GPT-2 and most models since)::

      h   = x + Dropout(MHA(LN_1(x)))
      out = h + Dropout(MLP(LN_2(h)))

  The residual path from ``x`` to ``out`` is the identity, so the gradient reaches the first
  block undamped however many blocks are stacked; deep stacks train without warm-up.
- **post-norm** (``norm_first=False``, the original transformer and torch's default)::

      h   = LN_1(x + Dropout(MHA(x)))
      out = LN_2(h + Dropout(MLP(h)))

  Every block's output is normalised, but the gradient passes through each LN on its way
  down; deep post-norm stacks need learning-rate warm-up.

``MLP(u) = Dropout(g(u W_1ᵀ + b_1)) W_2ᵀ + b_2`` with ``g`` ReLU or GELU, applied to every
position with the same weights (width ``dim_feedforward``).
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.layers.base import (
    Layer,
    Sequential,
    _cached,
    _dtype,
    check_sequence,
    check_sequence_shape,
)
from dlcourse.layers.core import Activation, Dropout, Linear
from dlcourse.layers.layernorm import LayerNorm
from dlcourse.layers.multihead import MultiHeadAttention
from dlcourse.layers.recurrent import PerElement
from dlcourse.regularization import _check_p

ACTIVATIONS = ("relu", "gelu")


class TransformerEncoderLayer(Layer):
    """One encoder block on ``x`` of shape ``(m, T, d_model)`` -> ``(m, T, d_model)``.

    Sub-layers (attributes, and ``children`` in this order, so ``params`` follow torch's
    ``named_parameters()``): ``self_attn`` (:class:`MultiHeadAttention`), ``ff`` (the MLP:
    ``linear1``, activation, dropout, ``linear2``, applied per position), ``norm1``, ``norm2``
    (:class:`LayerNorm`), and the dropouts ``dropout1`` (after attention) and ``dropout2``
    (after the MLP).

    Arguments as torch's, with three differences of default: ``norm_first=True`` (pre-norm),
    ``dropout=0.0`` and ``dim_feedforward=None`` meaning ``4·d_model`` (the paper's ratio;
    torch: 2048). ``causal=True`` gives every forward a causal mask (a decoder-only language
    model); ``forward(x, training, attn_mask=None, key_padding_mask=None)`` takes torch's
    masks (boolean True = blocked, or float, added to the scores; see
    :func:`~dlcourse.layers.multihead.attention_bias`).

    Backward runs the two sub-blocks in reverse; at each residual the gradient that went
    through the branch is added to the one that skipped it (``∂(x + F(x))/∂x = I + ∂F/∂x``).
    """

    input_ndim = 3

    def __init__(self, d_model, nhead, dim_feedforward=None, dropout=0.0, activation="relu",
                 layer_norm_eps=1e-5, norm_first=True, causal=False, seed=None, rng=None,
                 dtype="float64"):  # fmt: skip
        self.d_model = check_positive_int(d_model, "d_model")
        self.nhead = check_positive_int(nhead, "nhead")
        ff = 4 * self.d_model if dim_feedforward is None else dim_feedforward
        self.dim_feedforward = check_positive_int(ff, "dim_feedforward")
        self.dropout = float(_check_p(dropout))
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
        self.activation, self.layer_norm_eps = activation, float(layer_norm_eps)
        self.norm_first, self.causal = bool(norm_first), bool(causal)
        self.dtype = _dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(seed)
        d, p, name = self.d_model, self.dropout, np.dtype(self.dtype).name
        self.self_attn = MultiHeadAttention(d, self.nhead, p, self.causal, rng=rng, dtype=name)
        self.linear1 = Linear(d, self.dim_feedforward, rng=rng, dtype=name)
        self.linear2 = Linear(self.dim_feedforward, d, rng=rng, dtype=name)
        self.ff = PerElement(Sequential(
            [self.linear1, Activation(activation), Dropout(p, rng=rng), self.linear2]
        ))  # fmt: skip
        self.norm1 = LayerNorm(d, self.layer_norm_eps, dtype=name)
        self.norm2 = LayerNorm(d, self.layer_norm_eps, dtype=name)
        self.dropout1, self.dropout2 = Dropout(p, rng=rng), Dropout(p, rng=rng)
        self.children = (self.self_attn, self.ff, self.norm1, self.norm2, self.dropout1,
                         self.dropout2)  # fmt: skip
        self._mode = None

    def forward(self, x, training=True, attn_mask=None, key_padding_mask=None):
        check_sequence("TransformerEncoderLayer", "input", x, self.d_model, "d_model")
        masks = {"attn_mask": attn_mask, "key_padding_mask": key_padding_mask}

        def attend(u):
            return self.dropout1.forward(self.self_attn.forward(u, training, **masks), training)

        def mlp(u):
            return self.dropout2.forward(self.ff.forward(u, training), training)

        self._mode = self.norm_first
        if self.norm_first:
            h = x + attend(self.norm1.forward(x, training))
            return h + mlp(self.norm2.forward(h, training))
        h = self.norm1.forward(x + attend(x), training)
        return self.norm2.forward(h + mlp(h), training)

    def output_shape(self, input_shape):
        """``(T, d_model)``, unchanged."""
        return check_sequence_shape("TransformerEncoderLayer", "input", input_shape,
                                    self.d_model, "d_model")  # fmt: skip

    def _attend_back(self, d):
        return self.self_attn.backward(self.dropout1.backward(d))

    def _mlp_back(self, d):
        return self.ff.backward(self.dropout2.backward(d))

    def backward(self, dout):
        if _cached(self, self._mode):  # pre-norm
            dh = dout + self.norm2.backward(self._mlp_back(dout))
            return dh + self.norm1.backward(self._attend_back(dh))
        du = self.norm2.backward(dout)  # u = h + MLP(h)
        dh = du + self._mlp_back(du)
        dv = self.norm1.backward(dh)  # v = x + MHA(x)
        return dv + self._attend_back(dv)

    def config(self):
        return {"type": "TransformerEncoderLayer", "d_model": self.d_model, "nhead": self.nhead,
                "dim_feedforward": self.dim_feedforward, "dropout": self.dropout,
                "activation": self.activation, "layer_norm_eps": self.layer_norm_eps,
                "norm_first": self.norm_first, "causal": self.causal,
                "dtype": np.dtype(self.dtype).name}  # fmt: skip

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"TransformerEncoderLayer({args})"


__all__ = ["TransformerEncoderLayer"]

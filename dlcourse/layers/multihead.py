"""Multi-head attention, batch first, in the parameter layout of ``torch.nn.MultiheadAttention``.

Shapes (rows are examples): queries ``q`` ``(m, T_q, E)``, keys ``k`` and values ``v``
``(m, T_k, E)``; ``h`` heads of width ``d = E/h``. The parameters, in this order in
``params``/``grads``, are torch's:

- ``in_proj_weight`` ``(3E, E)``: the rows of ``W_q``, ``W_k``, ``W_v`` stacked;
- ``in_proj_bias`` ``(3E,)``: ``b_q``, ``b_k``, ``b_v``;
- ``out_proj_weight`` ``(E, E)`` and ``out_proj_bias`` ``(E,)`` (torch's ``out_proj``).

Forward (``eq-attention`` of :mod:`dlcourse.attention`, once per head)::

    Q = q W_qᵀ + b_q,  K = k W_kᵀ + b_k,  V = v W_vᵀ + b_v        (m, T, E)
    split the E columns into h heads of d:  Q_j, K_j, V_j           (m, T, d)
    S_j = Q_j K_jᵀ / √d + B                                         (m, T_q, T_k)
    P_j = softmax(S_j) over the keys,  O_j = P_j V_j
    out = [O_1, ..., O_h] W_oᵀ + b_o                               (m, T_q, E)

``B`` is the additive mask: 0 where a query may look at a key, −∞ where it may not (so the
softmax gives that key weight exactly 0). It collects ``attn_mask``, ``key_padding_mask``
and, with ``causal=True``, the causal mask (query t sees keys 0..t).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.layers.base import Layer, _cached, _dtype, check_sequence, check_sequence_shape
from dlcourse.regularization import _check_p, dropout


def _additive(mask, name: str, dtype) -> np.ndarray:
    """A boolean mask (True = blocked, as torch) as 0/−∞; a float mask is added as it is."""
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return np.where(mask, -np.inf, 0.0).astype(dtype)
    if not np.issubdtype(mask.dtype, np.floating):
        raise TypeError(f"{name} must be a boolean (True = may not attend) or a float (added to "
                        f"the scores) array; got dtype {mask.dtype}")  # fmt: skip
    if np.isnan(mask).any() or (mask == np.inf).any():
        raise ValueError(f"{name} holds NaN or +inf entries; use −inf (or True) to block a key")
    return mask.astype(dtype, copy=False)


def attention_bias(m, num_heads, T_q, T_k, attn_mask=None, key_padding_mask=None, causal=False,
                   dtype=np.float64) -> np.ndarray | None:  # fmt: skip
    """The additive mask ``B`` of shape ``(m, num_heads, T_q, T_k)`` (or None without masks).

    Conventions are torch's (``torch.nn.MultiheadAttention``): a *boolean* mask says True where
    attention is **not** allowed (the opposite of the ``mask`` of
    :func:`dlcourse.attention.scaled_dot_product_attention`, which says True = attend); a
    float mask is added to the scores. ``attn_mask``: ``(T_q, T_k)``, or
    ``(m·num_heads, T_q, T_k)`` with one mask per example and head (example-major, as torch).
    ``key_padding_mask``: ``(m, T_k)``, True marks padding keys. ``causal=True`` blocks the
    keys after each query (needs ``T_q == T_k``). A query left with no key raises ValueError.
    """
    B = np.zeros((1, 1, T_q, T_k), dtype=dtype)
    given = False
    if attn_mask is not None:
        add = _additive(attn_mask, "attn_mask", dtype)
        if add.shape == (T_q, T_k):
            B = B + add
        elif add.shape == (m * num_heads, T_q, T_k):
            B = B + add.reshape(m, num_heads, T_q, T_k)
        else:
            per_head = (m * num_heads, T_q, T_k)
            raise ValueError(f"attn_mask must have shape ({T_q}, {T_k}) or (m·num_heads, T_q, "
                             f"T_k) = {per_head}; got {add.shape}")  # fmt: skip
        given = True
    if key_padding_mask is not None:
        add = _additive(key_padding_mask, "key_padding_mask", dtype)
        if add.shape != (m, T_k):
            raise ValueError(f"key_padding_mask must have shape (m, T_k) = ({m}, {T_k}); "
                             f"got {add.shape}")  # fmt: skip
        B = B + add[:, None, None, :]
        given = True
    if causal:
        if T_q != T_k:
            raise ValueError(f"a causal mask needs as many queries as keys; got T_q = {T_q} and "
                             f"T_k = {T_k}")  # fmt: skip
        B = B + np.triu(np.full((T_q, T_k), -np.inf, dtype=dtype), k=1)
        given = True
    if not given:
        return None
    if np.any(np.all(np.isneginf(B), axis=-1)):
        raise ValueError("the masks leave a query with no key to attend to (every key blocked); "
                         "check key_padding_mask and attn_mask")  # fmt: skip
    return B


def _heads(X, h):
    """(m, T, E) -> (m, h, T, d)."""
    m, T, E = X.shape
    return X.reshape(m, T, h, E // h).transpose(0, 2, 1, 3)


def _merge(X):
    """(m, h, T, d) -> (m, T, h·d)."""
    m, h, T, d = X.shape
    return X.transpose(0, 2, 1, 3).reshape(m, T, h * d)


class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention, as ``torch.nn.MultiheadAttention(embed_dim,
    num_heads, batch_first=True)`` (see the module docstring for the equations).

    ``forward(x, training, key=None, value=None, attn_mask=None, key_padding_mask=None)``:
    self-attention on ``x`` (``q = k = v = x``) unless ``key`` and ``value`` are given
    (cross-attention, e.g. a decoder's queries on an encoder's outputs). After the call,
    ``attention_weights`` holds every head's ``P_j``, shape ``(m, h, T_q, T_k)`` (before
    dropout; torch returns their mean over the heads). ``dropout``: probability of zeroing
    an attention weight in training (inverted scaling), drawn from ``rng``/``seed``.

    Backward, per head, with ``dO_j`` the head's columns of ``dout W_o`` (the softmax part is
    :func:`dlcourse.attention.scaled_dot_product_attention_backward`)::

        ∂L/∂W_o = Σ doutᵀ O,  ∂L/∂b_o = Σ dout
        dV_j = P_jᵀ dO_j,  dP_j = dO_j V_jᵀ,  dS_j = P_j ⊙ (dP_j − Σ_keys dP_j ⊙ P_j)
        dQ_j = dS_j K_j / √d,  dK_j = dS_jᵀ Q_j / √d
        ∂L/∂W_q = Σ dQᵀ q (and likewise K, V),  ∂L/∂q = dQ W_q,  ∂L/∂k = dK W_k,  ∂L/∂v = dV W_v

    ``backward(dout)`` stores ``grad_query``, ``grad_key`` and ``grad_value`` and returns
    ``∂L/∂x``: for self-attention the sum of the three (x feeds all of them), for
    cross-attention ``grad_query``.

    Initialisation as torch: ``in_proj_weight`` Xavier-uniform over its (3E, E) shape,
    ``out_proj_weight`` U(−1/√E, 1/√E), biases zero. L2 decay acts on the two weight matrices.
    """

    input_ndim = 3

    def __init__(self, embed_dim, num_heads, dropout=0.0, causal=False, seed=None, rng=None,
                 dtype="float64"):  # fmt: skip
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        self.num_heads = check_positive_int(num_heads, "num_heads")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"num_heads must divide embed_dim (each head gets embed_dim/num_heads "
                             f"columns); got embed_dim={self.embed_dim}, "
                             f"num_heads={self.num_heads}")  # fmt: skip
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = float(_check_p(dropout))
        self.causal, self.dtype = bool(causal), _dtype(dtype)
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        E = self.embed_dim
        a = np.sqrt(6.0 / (E + 3 * E))
        self.in_proj_weight = self.rng.uniform(-a, a, (3 * E, E)).astype(self.dtype)
        self.in_proj_bias = np.zeros(3 * E, self.dtype)
        b = 1.0 / np.sqrt(E)
        self.out_proj_weight = self.rng.uniform(-b, b, (E, E)).astype(self.dtype)
        self.out_proj_bias = np.zeros(E, self.dtype)
        for name in ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias"):
            setattr(self, f"grad_{name}", np.zeros_like(getattr(self, name)))
        self.grad_query = self.grad_key = self.grad_value = None
        self.attention_weights = None
        self._cache = None

    @property
    def params(self):
        return [self.in_proj_weight, self.in_proj_bias, self.out_proj_weight, self.out_proj_bias]

    @property
    def grads(self):
        return [self.grad_in_proj_weight, self.grad_in_proj_bias, self.grad_out_proj_weight,
                self.grad_out_proj_bias]  # fmt: skip

    def decayed(self):
        return [self.in_proj_weight, self.out_proj_weight]

    def generators(self):
        return [self.rng]

    def forward(self, x, training=True, key=None, value=None, attn_mask=None,
                key_padding_mask=None):  # fmt: skip
        E, h = self.embed_dim, self.num_heads
        self_attention = key is None and value is None
        if self_attention:
            key = value = x
        elif key is None or value is None:
            raise ValueError("give both key and value (cross-attention) or neither "
                             "(self-attention on x)")  # fmt: skip
        for name, arr in (("the query x", x), ("key", key), ("value", value)):
            check_sequence("MultiHeadAttention", name, arr, E, "embed_dim")
        m, T_q, _ = x.shape
        if key.shape[0] != m or value.shape[:2] != key.shape[:2]:
            raise ValueError(f"query, key and value need the same batch size m and key and value "
                             f"the same length T_k; got shapes {tuple(x.shape)}, "
                             f"{tuple(key.shape)}, {tuple(value.shape)}")  # fmt: skip
        T_k = key.shape[1]
        W_q, W_k, W_v = np.split(self.in_proj_weight, 3)
        b_q, b_k, b_v = np.split(self.in_proj_bias, 3)
        Q = _heads(x @ W_q.T + b_q, h)
        K = _heads(key @ W_k.T + b_k, h)
        V = _heads(value @ W_v.T + b_v, h)
        S = Q @ K.swapaxes(-1, -2) * (1.0 / math.sqrt(self.head_dim))
        bias = attention_bias(m, h, T_q, T_k, attn_mask, key_padding_mask, self.causal, S.dtype)
        if bias is not None:
            S = S + bias
        S = S - S.max(axis=-1, keepdims=True)
        P = np.exp(S)
        P /= P.sum(axis=-1, keepdims=True)
        keep = None
        if training and self.dropout > 0:
            P_used, keep = dropout(P, self.dropout, self.rng, training)
        else:
            P_used = P
        O = _merge(P_used @ V)
        self.attention_weights = P
        self._cache = (x, key, value, Q, K, V, P, P_used, keep, O, self_attention)
        return O @ self.out_proj_weight.T + self.out_proj_bias

    def output_shape(self, input_shape):
        """``(T, E) -> (T, E)`` for self-attention on one example of ``T`` positions."""
        return check_sequence_shape("MultiHeadAttention", "the query x", input_shape,
                                    self.embed_dim, "embed_dim")  # fmt: skip

    def backward(self, dout):
        x, key, value, Q, K, V, P, P_used, keep, O, self_attention = _cached(self, self._cache)
        if tuple(dout.shape) != O.shape:
            raise ValueError(f"MultiHeadAttention.backward expects dout of the output's shape "
                             f"{O.shape}; got {tuple(dout.shape)}")  # fmt: skip
        E, h = self.embed_dim, self.num_heads
        self.grad_out_proj_weight = dout.reshape(-1, E).T @ O.reshape(-1, E)
        self.grad_out_proj_bias = dout.sum(axis=(0, 1))
        dO = _heads(dout @ self.out_proj_weight, h)
        dV = P_used.swapaxes(-1, -2) @ dO
        dP = dO @ V.swapaxes(-1, -2)
        if keep is not None:
            dP = dP * keep
        dS = P * (dP - np.sum(dP * P, axis=-1, keepdims=True))
        scale = 1.0 / math.sqrt(self.head_dim)
        dQ, dK, dV = _merge(dS @ K * scale), _merge(dS.swapaxes(-1, -2) @ Q * scale), _merge(dV)
        W_q, W_k, W_v = np.split(self.in_proj_weight, 3)
        self.grad_in_proj_weight = np.concatenate([
            dQ.reshape(-1, E).T @ x.reshape(-1, E),
            dK.reshape(-1, E).T @ key.reshape(-1, E),
            dV.reshape(-1, E).T @ value.reshape(-1, E),
        ])  # fmt: skip
        self.grad_in_proj_bias = np.concatenate([g.sum(axis=(0, 1)) for g in (dQ, dK, dV)])
        self.grad_query, self.grad_key, self.grad_value = dQ @ W_q, dK @ W_k, dV @ W_v
        if self_attention:
            return self.grad_query + self.grad_key + self.grad_value
        return self.grad_query

    def config(self):
        return {"type": "MultiHeadAttention", "embed_dim": self.embed_dim,
                "num_heads": self.num_heads, "dropout": self.dropout, "causal": self.causal,
                "dtype": np.dtype(self.dtype).name}  # fmt: skip


__all__ = ["MultiHeadAttention", "attention_bias"]

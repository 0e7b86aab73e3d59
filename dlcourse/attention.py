"""Scaled dot-product attention, forward and backward, with an optional mask.

Rows are positions. For one sequence the queries ``Q`` have shape ``(m_q, d_k)``, the keys
``K`` ``(m_k, d_k)`` and the values ``V`` ``(m_k, d_v)``; any leading batch (and head)
axes are shared by all three and broadcast like NumPy's ``matmul``. The book's equation
(``eq-attention``) is

    S = Q K^T / sqrt(d_k)          (m_q, m_k)   scores
    P = softmax(S) along the keys  (m_q, m_k)   each row sums to one
    out = P V                      (m_q, d_v)

A boolean ``mask`` of shape ``(m_q, m_k)`` (broadcastable to the scores) says which keys a
query may look at: ``True`` takes part, ``False`` is set to -inf *before* the softmax, so it
gets weight exactly zero. This is the convention of a boolean ``attn_mask`` in
``torch.nn.functional.scaled_dot_product_attention``; the two agree to float64 rounding.

The backward pass (``eq-attention-backward``), for an upstream gradient ``dout = dC/d out``:

    grad_V = P^T dout
    dP     = dout V^T
    dS     = P * (dP - sum_j(dP * P))        (the softmax Jacobian, row by row)
    grad_Q = dS K / sqrt(d_k)
    grad_K = dS^T Q / sqrt(d_k)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "attention_scores",
    "attention_weights",
    "causal_mask",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
]


def _as_float_array(x, name: str) -> np.ndarray:
    if isinstance(x, (bool, np.bool_)) or x is None:
        raise TypeError(f"{name} must be an array of numbers; got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be an array of numbers; got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ValueError(f"{name} must have at least 2 axes (positions, features); got {arr.shape}")
    return arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float64)


def _check(Q, K, V=None):
    Q, K = _as_float_array(Q, "Q"), _as_float_array(K, "K")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(
            f"Q and K must have the same last axis d_k; got Q {Q.shape} and K {K.shape}"
        )
    if V is not None:
        V = _as_float_array(V, "V")
        if V.shape[-2] != K.shape[-2]:
            raise ValueError(
                f"V must have one row per key: K has {K.shape[-2]} rows, V {V.shape} "
                f"has {V.shape[-2]}"
            )
    return Q, K, V


def _check_mask(mask, shape) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be a boolean array (True = attend); got dtype {mask.dtype}")
    try:
        np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        raise ValueError(
            f"mask of shape {mask.shape} does not broadcast to the scores' shape {shape} "
            "(..., m_q, m_k)"
        ) from None
    if not np.all(np.any(np.broadcast_to(mask, shape), axis=-1)):
        raise ValueError("mask leaves a query with no key to attend to (a row of all False)")
    return mask


def causal_mask(m: int) -> np.ndarray:
    """Lower-triangular ``(m, m)`` boolean mask: position i attends to positions 0..i."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m must be a positive integer; got {m!r}")
    return np.tril(np.ones((m, m), dtype=bool))


def attention_scores(Q, K, mask=None) -> np.ndarray:
    """Scores S = Q K^T / sqrt(d_k), with masked entries set to -inf. Shape (..., m_q, m_k)."""
    Q, K, _ = _check(Q, K)
    S = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    mask = _check_mask(mask, S.shape)
    if mask is not None:
        S = np.where(mask, S, -np.inf)
    return S


def attention_weights(Q, K, mask=None) -> np.ndarray:
    """P = softmax(S) over the keys (last axis), shape (..., m_q, m_k); rows sum to one."""
    S = attention_scores(Q, K, mask)
    S = S - S.max(axis=-1, keepdims=True)  # stable: the largest score becomes 0
    E = np.exp(S)
    return E / E.sum(axis=-1, keepdims=True)


def scaled_dot_product_attention(Q, K, V, mask=None, return_weights: bool = False):
    """out = softmax(Q K^T / sqrt(d_k)) V (``eq-attention``).

    Q: (..., m_q, d_k); K: (..., m_k, d_k); V: (..., m_k, d_v); mask: boolean, broadcastable
    to (..., m_q, m_k), True = attend. Returns out of shape (..., m_q, d_v), and the weights
    P (..., m_q, m_k) as well when ``return_weights`` is true.
    """
    Q, K, V = _check(Q, K, V)
    P = attention_weights(Q, K, mask)
    out = P @ V
    return (out, P) if return_weights else out


def scaled_dot_product_attention_backward(dout, Q, K, V, mask=None):
    """Gradients (grad_Q, grad_K, grad_V) of C, given dout = dC/d out (``eq-attention-backward``).

    dout: (..., m_q, d_v). The weights P are recomputed from Q, K and the mask (cheaper in
    memory than keeping them, the trick FlashAttention is built on). Masked entries have
    P = 0, so no gradient flows through them.
    """
    Q, K, V = _check(Q, K, V)
    P = attention_weights(Q, K, mask)
    dout = _as_float_array(dout, "dout")
    expected = (P @ V).shape
    if dout.shape != expected:
        raise ValueError(f"dout must have the shape of the output {expected}; got {dout.shape}")
    scale = 1.0 / np.sqrt(Q.shape[-1])
    grad_V = np.swapaxes(P, -1, -2) @ dout
    dP = dout @ np.swapaxes(V, -1, -2)
    dS = P * (dP - np.sum(dP * P, axis=-1, keepdims=True))
    grad_Q = dS @ K * scale
    grad_K = np.swapaxes(dS, -1, -2) @ Q * scale
    return (
        _reduce_to(grad_Q, Q.shape),
        _reduce_to(grad_K, K.shape),
        _reduce_to(grad_V, V.shape),
    )


def _reduce_to(g: np.ndarray, shape) -> np.ndarray:
    """Sum a gradient over the axes along which its input was broadcast."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, (a, b) in enumerate(zip(g.shape, shape)) if b == 1 and a != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g

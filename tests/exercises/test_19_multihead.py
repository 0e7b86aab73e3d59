"""Grading tests for exercise 19: multi-head causal self-attention, forward and backward.

Oracles: ``dlcourse.layers.MultiHeadAttention`` with ``causal=True`` (itself checked against
``torch.nn.MultiheadAttention`` to 1e-10) with the test's weights copied in and zero biases,
run on a batch of one sequence; ``dlcourse.attention`` with ``causal_mask`` for a single
head; central differences of ``C = sum(R * out)``. ``split_heads`` is checked against
column slices. Points: 7 public + 7 hidden = 14.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.attention import attention_weights, causal_mask, scaled_dot_product_attention
from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import arrays, as_array, assert_close, call
from dlcourse.layers import MultiHeadAttention

EXERCISE = "19_multihead"
NAMES = ("dx", "dW_q", "dW_k", "dW_v", "dW_o")


def _problem(rng, T, E, scale=1.0):
    x = rng.normal(size=(T, E))
    weights = [rng.normal(size=(E, E)) * scale / np.sqrt(E) for _ in range(4)]
    return x, *weights


def _layer(W_q, W_k, W_v, W_o, num_heads, causal=True):
    E = W_q.shape[0]
    layer = MultiHeadAttention(E, num_heads, causal=causal)
    layer.in_proj_weight[...] = np.concatenate([W_q, W_k, W_v])
    layer.out_proj_weight[...] = W_o
    return layer


def _forward(x, W_q, W_k, W_v, W_o, num_heads, causal=True):
    layer = _layer(W_q, W_k, W_v, W_o, num_heads, causal)
    return layer.forward(x[None], training=False)[0]


def _backward(dout, x, W_q, W_k, W_v, W_o, num_heads, causal=True):
    """[dx, dW_q, dW_k, dW_v, dW_o] and dQ W_q (the path through the queries alone)."""
    layer = _layer(W_q, W_k, W_v, W_o, num_heads, causal)
    layer.forward(x[None], training=False)
    dx = layer.backward(dout[None])[0]
    grads = [dx, *np.split(layer.grad_in_proj_weight, 3), layer.grad_out_proj_weight]
    return grads, layer.grad_query[0]


def _heads(X, h):
    d = X.shape[1] // h
    return np.stack([X[:, j * d : (j + 1) * d] for j in range(h)])


def _per_head(Q, K, V, mask):
    """(O, P) of every head from dlcourse.attention."""
    O = np.stack([scaled_dot_product_attention(q, k, v, mask) for q, k, v in zip(Q, K, V)])
    P = np.stack([attention_weights(q, k, mask) for q, k in zip(Q, K)])
    return O, P


def check_split_merge(student, X, h, kind, public=True):
    T, E = X.shape
    got = as_array(call(student, "split_heads", X.copy(), h, public=public), "split_heads")
    expected = _heads(X, h)
    assert got.shape == expected.shape, (
        f"split_heads must return shape (num_heads, T, E / num_heads) ({kind})"
    )
    if T != h and np.allclose(got, X.reshape(h, T, E // h)) and not np.allclose(got, expected):
        pytest.fail(
            "split_heads cuts the rows of X (a plain reshape to (h, T, d)): head j must hold "
            "the columns j·d .. (j+1)·d − 1 of every row; reshape to (T, h, d), then transpose "
            f"({kind})"
        )
    assert_close(
        got,
        expected,
        f"split_heads is wrong: head j holds the columns j·d .. (j+1)·d − 1 ({kind})",
        rtol=1e-12,
        atol=1e-12,
        public=public,
        name="`split_heads`",
    )
    merged = as_array(call(student, "merge_heads", expected.copy(), public=public), "merge_heads")
    assert merged.shape == X.shape, f"merge_heads must return shape (T, h·d) ({kind})"
    if T != h and np.allclose(merged, expected.reshape(T, E)) and not np.allclose(merged, X):
        pytest.fail(
            "merge_heads reshapes (h, T, d) straight to (T, h·d), which mixes positions: move "
            f"the head axis next to d first (transpose(1, 0, 2)), then reshape ({kind})"
        )
    assert_close(
        merged,
        X,
        f"merge_heads is wrong: it must undo split_heads, heads side by side ({kind})",
        rtol=1e-12,
        atol=1e-12,
        public=public,
        name="`merge_heads`",
    )


def check_attention(student, Q, K, V, kind, public=True):
    args = (Q.copy(), K.copy(), V.copy())
    result = call(student, "causal_attention", *args, public=public)
    O, P = arrays(result, 2, "causal_attention")
    h, T, d = Q.shape
    assert P.shape == (h, T, T) and O.shape == V.shape, (
        f"causal_attention must return O of shape (h, T, d) and P of shape (h, T, T) ({kind})"
    )
    assert np.all(np.isfinite(P)), (
        f"the weights P contain NaN or inf: every query t must see the keys 0..t, itself "
        f"included (np.tril, with the diagonal), and the softmax must subtract each row's "
        f"maximum ({kind})"
    )
    e_O, e_P = _per_head(Q, K, V, causal_mask(T))
    if np.any(np.triu(P, k=1) != 0):
        pytest.fail(
            f"a query attends to later positions: the weights above the diagonal (key s > query "
            f"t) must be exactly 0 — set those scores to −inf before the softmax ({kind})"
        )
    for wrong in {T, h * d} - {d}:
        wrong_P = _per_head(Q * np.sqrt(d / wrong), K, V, causal_mask(T))[1]
        if np.allclose(P, wrong_P) and not np.allclose(wrong_P, e_P):
            pytest.fail(
                f"the scores are divided by the square root of the wrong number: √d, the width "
                f"of one head, Q.shape[2] ({kind})"
            )
    assert_close(
        P,
        e_P,
        f"the weights P are wrong: softmax over the keys of Q K^T / √d with the causal mask "
        f"({kind})",
        rtol=1e-10,
        atol=1e-12,
        public=public,
        name="P",
    )
    assert_close(
        O, e_O, f"O is wrong: P V in every head ({kind})", rtol=1e-10, atol=1e-12,
        public=public, name="O",
    )  # fmt: skip


def check_forward(student, inputs, h, kind, public=True):
    copies = [a.copy() for a in inputs]
    out = call(student, "multihead_forward", *copies, h, public=public, must_not_modify=True)
    out = as_array(out, "multihead_forward")
    assert out.shape == inputs[0].shape, f"multihead_forward must return shape (T, E) ({kind})"
    expected = _forward(*inputs, h)
    if not np.allclose(out, expected):
        if np.allclose(out, _forward(*inputs, h, causal=False)):
            pytest.fail(
                f"the output is not causal: position t must only attend to positions 0..t ({kind})"
            )
        if h > 1 and np.allclose(out, _forward(*inputs, 1)):
            pytest.fail(f"the output is that of one head: split Q, K and V into heads ({kind})")
    assert_close(
        out,
        expected,
        f"multihead_forward is wrong: merge(causal_attention(split(x W_q^T), ...)) W_o^T ({kind})",
        rtol=1e-10,
        atol=1e-12,
        public=public,
        name="the output",
    )


FORMULA = {
    "dx": "dQ W_q + dK W_k + dV W_v",
    "dW_q": "dQ^T x",
    "dW_k": "dK^T x",
    "dW_v": "dV^T x",
    "dW_o": "dout^T merge(O)",
}


def check_backward(student, dout, inputs, h, kind, public=True, expected=None):
    copies = [a.copy() for a in (dout, *inputs)]
    result = call(student, "multihead_backward", *copies, h, public=public,
                  must_not_modify=True)  # fmt: skip
    got = arrays(result, 5, "multihead_backward")
    for name, g, a in zip(NAMES, got, inputs):
        assert g.shape == a.shape, (
            f"{name} must have the shape of {name[1:]}: (T, E) for dx, (E, E) for the weights "
            f"({kind})"
        )
    right, query_path = _backward(dout, *inputs, h)
    if expected is None:
        expected = right
    if np.allclose(got[4], right[4].T) and not np.allclose(right[4], right[4].T):
        pytest.fail(f"dW_o is transposed: it is dout^T merge(O), shape (E, E) ({kind})")
    if np.allclose(got[0], query_path) and not np.allclose(right[0], query_path):
        pytest.fail(
            f"dx has only the path through the queries: x also feeds the keys and the values, "
            f"so dx = dQ W_q + dK W_k + dV W_v ({kind})"
        )
    unmasked = _backward(dout, *inputs, h, causal=False)[0]
    if not np.allclose(got[3], right[3]) and np.allclose(got[3], unmasked[3]):
        pytest.fail(
            f"the gradients ignore the causal mask: recompute P with the same mask as the "
            f"forward pass, so that masked weights (P = 0) pass no gradient ({kind})"
        )
    for name, g, e in zip(NAMES, got, expected):
        assert_close(
            g,
            e,
            f"{name} is wrong: {FORMULA[name]} ({kind})",
            rtol=1e-8 if expected is right else 1e-6,
            atol=1e-10 if expected is right else 1e-9,
            public=public,
            name=f"`{name}`",
        )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_split_merge(student):
    X = np.arange(24, dtype=float).reshape(4, 6)
    check_split_merge(student, X, 2, "T = 4, E = 6, 2 heads")
    check_split_merge(student, X, 3, "T = 4, E = 6, 3 heads")


@pytest.mark.points(2)
def test_causal_attention(student):
    rng = np.random.default_rng(190)
    Q, K, V = (rng.normal(size=(2, 4, 3)) for _ in range(3))
    check_attention(student, Q, K, V, "2 heads, T = 4, d = 3")


@pytest.mark.points(2)
def test_forward(student):
    rng = np.random.default_rng(191)
    check_forward(student, _problem(rng, 5, 6), 2, "T = 5, E = 6, 2 heads")


@pytest.mark.points(2)
def test_backward(student):
    rng = np.random.default_rng(192)
    inputs = _problem(rng, 4, 6)
    check_backward(student, rng.normal(size=(4, 6)), inputs, 3, "T = 4, E = 6, 3 heads")


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_split_merge_random(student):
    rng = np.random.default_rng(193)
    h, d, T = (int(v) for v in rng.integers(2, 6, size=3))
    X = rng.normal(size=(T + 1, h * d))
    check_split_merge(student, X, h, "random shapes", public=False)
    check_split_merge(student, X, 1, "one head", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_causal_attention_random(student):
    rng = np.random.default_rng(194)
    h, d = (int(v) for v in rng.integers(2, 7, size=2))
    Q, K, V = (rng.normal(size=(h, d + 1, d)) * 2.0 for _ in range(3))
    check_attention(student, Q, K, V, "random shapes", public=False)
    Q, K, V = (rng.normal(size=(2, 3, 2)) * 40.0 for _ in range(3))
    check_attention(student, Q, K, V, "scores in the thousands", public=False)
    Q, K, V = (rng.normal(size=(1, 1, 4)) for _ in range(3))
    check_attention(student, Q, K, V, "a sequence of one position", public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_forward_random(student):
    rng = np.random.default_rng(195)
    h, d = (int(v) for v in rng.integers(2, 5, size=2))
    check_forward(student, _problem(rng, d + 2, h * d, 2.0), h, "random shapes", public=False)
    check_forward(student, _problem(rng, 3, 4), 1, "one head", public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_backward_random(student):
    rng = np.random.default_rng(196)
    h, d = (int(v) for v in rng.integers(2, 4, size=2))
    T = d + int(rng.integers(1, 4))  # T ≠ d: a scale of √T instead of √d shows
    inputs = _problem(rng, T, h * d, 1.5)
    check_backward(student, rng.normal(size=(T, h * d)), inputs, h, "random shapes",
                   public=False)  # fmt: skip


@pytest.mark.hidden
@pytest.mark.points(1)
def test_backward_finite_differences(student):
    rng = np.random.default_rng(197)
    inputs = _problem(rng, 5, 4)
    R = rng.normal(size=(5, 4))
    work = [a.copy() for a in inputs]
    numeric = [
        numerical_gradient(lambda: float(np.sum(R * _forward(*work, 2))), a, h=1e-3, order=4)
        for a in work
    ]
    check_backward(student, R, inputs, 2, "central differences, T = 5, E = 4, 2 heads",
                   public=False, expected=numeric)  # fmt: skip

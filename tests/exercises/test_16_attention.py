"""Grading tests for exercise 16: scaled dot-product attention, forward and backward.

Oracles: ``dlcourse.attention`` (itself checked against finite differences and
``torch.nn.functional.scaled_dot_product_attention``) and central differences of
C = sum(R * out). Points: 7 public + 7 hidden = 14.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.attention import (
    attention_weights,
    causal_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
)
from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import arrays, as_array, assert_close, call

EXERCISE = "16_attention"


def _qkv(rng, m_q, m_k, d_k, d_v):
    return rng.normal(size=(m_q, d_k)), rng.normal(size=(m_k, d_k)), rng.normal(size=(m_k, d_v))


def _softmax(S, axis):
    E = np.exp(S - S.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)


def _random_mask(rng, m_q, m_k):
    mask = rng.random((m_q, m_k)) < 0.6
    mask[np.arange(m_q), rng.integers(0, m_k, size=m_q)] = True  # every query sees a key
    return mask


def check_scores(S, Q, K, mask, kind, public=True):
    S = as_array(S, "attention_scores")
    shape = (Q.shape[0], K.shape[0])
    assert S.shape == shape, f"the scores must have shape (m_q, m_k), one row per query ({kind})"
    raw = Q @ K.T
    expected = raw / np.sqrt(Q.shape[1])
    if mask is not None:
        raw, expected = np.where(mask, raw, -np.inf), np.where(mask, expected, -np.inf)
        if np.allclose(np.where(mask, S, 0.0), np.where(mask, expected, 0.0)) and not np.all(
            np.isneginf(S[~mask])
        ):
            pytest.fail(f"masked scores must be −inf, so that the softmax gives them 0 ({kind})")
    if np.allclose(S, raw):
        pytest.fail(f"the scores are missing the 1/√d_k scaling ({kind})")
    assert_close(
        S, expected, f"the scores are wrong: Q K^T / √d_k ({kind})", rtol=1e-10, public=public
    )


def check_weights_used(out, Q, K, V, mask, kind, public=True):
    out = as_array(out, "attention")
    assert out.shape == (Q.shape[0], V.shape[1]), (
        f"the output must have shape (m_q, d_v), one row per query ({kind})"
    )
    S = Q @ K.T / np.sqrt(Q.shape[1])
    if np.allclose(out, _softmax(Q @ K.T, 1) @ V) and not np.allclose(out, _softmax(S, 1) @ V):
        pytest.fail(f"the output is missing the 1/√d_k scaling of the scores ({kind})")
    if Q.shape[0] == K.shape[0] and mask is None and np.allclose(out, _softmax(S, 0) @ V):
        pytest.fail(
            f"the softmax runs over the wrong axis: each ROW (query) must sum to one ({kind})"
        )
    if mask is not None and np.allclose(out, (_softmax(S, 1) * mask) @ V):
        pytest.fail(
            f"the mask is applied after the softmax: set masked scores to −inf before it, "
            f"so each row still sums to one ({kind})"
        )
    expected = scaled_dot_product_attention(Q, K, V, mask)
    assert_close(
        out,
        expected,
        f"the output is wrong: softmax(Q K^T / √d_k) V with the softmax over each row ({kind})",
        rtol=1e-10,
        atol=1e-12,
        public=public,
        name="the output",
    )


def check_backward(result, Q, K, V, mask, dout, kind, public=True):
    gQ, gK, gV = arrays(result, 3, "attention_backward")
    eQ, eK, eV = scaled_dot_product_attention_backward(dout, Q, K, V, mask)
    assert gV.shape == V.shape, f"grad_V must have the shape of V, (m_k, d_v) ({kind})"
    assert gQ.shape == Q.shape, f"grad_Q must have the shape of Q, (m_q, d_k) ({kind})"
    assert gK.shape == K.shape, (
        f"grad_K must have the shape of K, (m_k, d_k): it is dS^T Q / √d_k, with the "
        f"transpose ({kind})"
    )
    if mask is not None and not mask.all():
        unmasked = scaled_dot_product_attention_backward(dout, Q, K, V, None)
        if not np.allclose(gV, eV) and np.allclose(gV, unmasked[2]):
            pytest.fail(
                f"the gradients ignore the mask ({kind}): recompute P with the same mask as "
                "the forward pass, so that masked entries (P = 0) pass no gradient"
            )
    close = dict(rtol=1e-8, atol=1e-10, public=public)
    assert_close(gV, eV, f"grad_V is wrong: P^T dout ({kind})", name="grad_V", **close)
    if np.allclose(gQ, eQ * np.sqrt(Q.shape[1])):
        pytest.fail(f"grad_Q is missing the 1/√d_k factor ({kind})")
    assert_close(gQ, eQ, f"grad_Q is wrong: dS K / √d_k ({kind})", name="grad_Q", **close)
    P = attention_weights(Q, K, mask)
    dS = P * (dout @ V.T - np.sum((dout @ V.T) * P, axis=1, keepdims=True))
    square = dS.shape[0] == dS.shape[1]
    if square and np.allclose(gK, dS @ Q / np.sqrt(Q.shape[1])):
        pytest.fail(f"grad_K uses dS instead of its transpose: it is dS^T Q / √d_k ({kind})")
    assert_close(gK, eK, f"grad_K is wrong: dS^T Q / √d_k ({kind})", name="grad_K", **close)


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_scores(student):
    rng = np.random.default_rng(0)
    Q, K, _ = _qkv(rng, 3, 4, 4, 2)
    check_scores(call(student, "attention_scores", Q.copy(), K.copy()), Q, K, None, "3 queries")


@pytest.mark.points(1)
def test_softmax_rows(student):
    S = np.array([[0.0, np.log(3.0), -np.inf], [1000.0, 1000.0, 998.0]])
    P = as_array(call(student, "softmax_rows", S.copy()), "softmax_rows")
    assert P.shape == S.shape, f"softmax_rows must keep the shape of S, {S.shape}; got {P.shape}"
    if np.allclose(np.nan_to_num(P).sum(axis=0), 1.0):
        pytest.fail("the softmax runs over the wrong axis: each ROW must sum to one (axis=1)")
    assert np.all(np.isfinite(P)), (
        "softmax_rows gave NaN or inf: subtract each row's maximum before np.exp"
    )
    assert_close(
        P,
        _softmax(S, 1),
        "softmax_rows is wrong: exp(S[i, j]) / sum_k exp(S[i, k]) along each row",
        rtol=1e-10,
        name="`softmax_rows`",
    )


@pytest.mark.points(1)
def test_attention(student):
    rng = np.random.default_rng(2)
    Q, K, V = _qkv(rng, 4, 4, 8, 3)
    out = call(student, "attention", Q.copy(), K.copy(), V.copy())
    check_weights_used(out, Q, K, V, None, "4 positions, no mask")


@pytest.mark.points(1)
def test_attention_causal_mask(student):
    rng = np.random.default_rng(3)
    Q, K, V = _qkv(rng, 5, 5, 4, 2)
    mask = causal_mask(5)
    out = call(student, "attention", Q.copy(), K.copy(), V.copy(), mask.copy())
    check_weights_used(out, Q, K, V, mask, "causal mask")


@pytest.mark.points(1)
def test_softmax_backward(student):
    rng = np.random.default_rng(4)
    P, dP = _softmax(rng.normal(size=(3, 4)), 1), rng.normal(size=(3, 4))
    dS = as_array(call(student, "softmax_backward", P.copy(), dP.copy()), "softmax_backward")
    assert dS.shape == P.shape, f"dS must have the shape of P, {P.shape}; got {dS.shape}"
    if np.allclose(dS, P * (dP - np.sum(dP * P, axis=0, keepdims=True))):
        pytest.fail("softmax_backward sums over the wrong axis: the sum runs along each row")
    assert_close(
        dS,
        P * (dP - np.sum(dP * P, axis=1, keepdims=True)),
        "dS is wrong: P ⊙ (dP − rowsum(dP ⊙ P))",
        rtol=1e-10,
        name="dS",
    )


@pytest.mark.points(2)
def test_attention_backward(student):
    rng = np.random.default_rng(5)
    Q, K, V = _qkv(rng, 3, 5, 4, 2)
    dout = rng.normal(size=(3, 2))
    result = call(
        student, "attention_backward", dout.copy(), Q.copy(), K.copy(), V.copy(),
        hint="; check the shapes: grad_K has the shape of K, (m_k, d_k)",
    )  # fmt: skip
    check_backward(result, Q, K, V, None, dout, "3 queries, 5 keys")
    Q, K, V = _qkv(rng, 4, 4, 3, 2)
    mask, dout = causal_mask(4), rng.normal(size=(4, 2))
    args = (dout.copy(), Q.copy(), K.copy(), V.copy(), mask.copy())
    result = call(student, "attention_backward", *args)
    check_backward(result, Q, K, V, mask, dout, "4 positions, causal mask")


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_scores_masked_random(student):
    rng = np.random.default_rng(160)
    m_q, m_k, d_k = (int(v) for v in rng.integers(2, 7, size=3))
    Q, K, _ = _qkv(rng, m_q, m_k, d_k, 1)
    mask = _random_mask(rng, m_q, m_k)
    S = call(student, "attention_scores", Q.copy(), K.copy(), mask.copy(), public=False)
    check_scores(S, Q, K, mask, "random shapes with a mask", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_softmax_rows_random(student):
    rng = np.random.default_rng(161)
    # scores in the thousands: exp overflows to inf beyond 709.78, so only a softmax that
    # subtracts each row's maximum first stays finite
    shape = (int(rng.integers(2, 6)), int(rng.integers(3, 7)))
    S = rng.normal(scale=50.0, size=shape) + rng.uniform(800.0, 1500.0, size=(shape[0], 1))
    P = as_array(call(student, "softmax_rows", S.copy(), public=False), "softmax_rows")
    assert P.shape == S.shape and np.all(np.isfinite(P)), (
        "softmax_rows gives NaN or inf for scores in the thousands: subtract each row's "
        "maximum before np.exp"
    )
    assert_close(
        P,
        _softmax(S, 1),
        "softmax_rows is wrong for a random non-square matrix of large scores",
        rtol=1e-10,
        public=False,
        name="`softmax_rows`",
    )


@pytest.mark.hidden
@pytest.mark.points(2)
def test_attention_random_masked(student):
    rng = np.random.default_rng(162)
    for m_q, m_k in [(1, 4), (int(rng.integers(3, 7)), int(rng.integers(2, 7)))]:
        Q, K, V = _qkv(rng, m_q, m_k, int(rng.integers(2, 9)), int(rng.integers(1, 5)))
        mask = _random_mask(rng, m_q, m_k)
        out = call(student, "attention", Q, K, V, mask.copy(), public=False)
        check_weights_used(out, Q, K, V, mask, "non-square with a random mask", public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_attention_backward_masked_random(student):
    rng = np.random.default_rng(163)
    m = int(rng.integers(3, 7))
    Q, K, V = _qkv(rng, m, m, int(rng.integers(2, 6)), int(rng.integers(1, 4)))
    mask, dout = causal_mask(m), rng.normal(size=(m, V.shape[1]))
    result = call(student, "attention_backward", dout, Q, K, V, mask.copy(), public=False)
    check_backward(result, Q, K, V, mask, dout, "square, causal mask", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_attention_backward_finite_differences(student):
    rng = np.random.default_rng(164)
    Q, K, V = _qkv(rng, 2, 6, 3, 3)
    mask = _random_mask(rng, 2, 6)
    R = rng.normal(size=(2, 3))
    result = call(student, "attention_backward", R, Q, K, V, mask.copy(), public=False)
    got = arrays(result, 3, "attention_backward")
    cost = lambda: float(np.sum(R * scaled_dot_product_attention(Q, K, V, mask)))
    for name, g, X in zip(("grad_Q", "grad_K", "grad_V"), got, (Q, K, V)):
        assert g.shape == X.shape, f"{name} has the wrong shape for more keys than queries"
        num = numerical_gradient(cost, X, h=1e-3, order=4)
        assert np.allclose(g, num, rtol=1e-6, atol=1e-9), (
            f"{name} disagrees with finite differences for more keys than queries and a mask"
        )

"""Scaled dot-product attention: finite differences, PyTorch parity, masks and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.attention import (
    attention_weights,
    causal_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
)
from dlcourse.gradcheck import numerical_gradient, rel_error


def _qkv(rng, batch=(), m_q=4, m_k=5, d_k=3, d_v=2):
    return (
        rng.normal(size=(*batch, m_q, d_k)),
        rng.normal(size=(*batch, m_k, d_k)),
        rng.normal(size=(*batch, m_k, d_v)),
    )


def test_worked_example_by_hand():
    # one query, two keys: scores (1·1, 1·0)/sqrt(1) = (1, 0); weights (e, 1)/(e + 1)
    Q, K, V = np.array([[1.0]]), np.array([[1.0], [0.0]]), np.array([[10.0], [0.0]])
    out, P = scaled_dot_product_attention(Q, K, V, return_weights=True)
    w = np.e / (np.e + 1)
    assert np.allclose(P, [[w, 1 - w]])
    assert out[0, 0] == pytest.approx(10 * w)


def test_scaling_by_sqrt_dk():
    # the same dot product with d_k = 4 is divided by 2
    Q, K = np.array([[1.0, 1.0, 1.0, 1.0]]), np.array([[1.0, 1.0, 1.0, 1.0], [0, 0, 0, 0]])
    P = attention_weights(Q, K)
    assert P[0, 0] == pytest.approx(np.exp(2.0) / (np.exp(2.0) + 1))


def test_rows_sum_to_one_and_mask_gives_zero_weight():
    rng = np.random.default_rng(0)
    Q, K, _ = _qkv(rng, m_q=5, m_k=5)
    P = attention_weights(Q, K, causal_mask(5))
    assert np.allclose(P.sum(axis=-1), 1.0)
    assert np.all(P[np.triu_indices(5, k=1)] == 0.0)
    assert np.all(P[np.tril_indices(5)] > 0.0)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
def test_backward_matches_finite_differences(masked, batch):
    rng = np.random.default_rng(len(batch) + 10 * masked)
    Q, K, V = _qkv(rng, batch, m_q=4, m_k=4)
    mask = causal_mask(4) if masked else None
    R = rng.normal(size=(*batch, 4, V.shape[-1]))  # C = sum(R * out), so dout = R

    def cost():
        return float(np.sum(R * scaled_dot_product_attention(Q, K, V, mask)))

    grads = scaled_dot_product_attention_backward(R, Q, K, V, mask)
    for g, x in zip(grads, (Q, K, V)):
        assert g.shape == x.shape
        num = numerical_gradient(cost, x, h=1e-3, order=4)
        assert np.abs(num).max() > 1e-3  # the check is not vacuous
        assert rel_error(g, num) < 1e-8


def test_backward_sums_over_broadcast_axes():
    rng = np.random.default_rng(3)
    Q = rng.normal(size=(2, 3, 4))
    K, V = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))  # shared by the batch
    R = rng.normal(size=(2, 3, 2))
    gQ, gK, gV = scaled_dot_product_attention_backward(R, Q, K, V)
    assert gK.shape == K.shape and gV.shape == V.shape
    cost = lambda: float(np.sum(R * scaled_dot_product_attention(Q, K, V)))
    assert rel_error(gK, numerical_gradient(cost, K, h=1e-3, order=4)) < 1e-8
    assert rel_error(gV, numerical_gradient(cost, V, h=1e-3, order=4)) < 1e-8


@pytest.mark.parametrize("masked", [False, True])
def test_matches_torch(masked):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(7)
    Q, K, V = _qkv(rng, (2, 3), m_q=6, m_k=6, d_k=8, d_v=5)
    mask = causal_mask(6) if masked else None
    R = rng.normal(size=(2, 3, 6, 5))
    tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (Q, K, V))
    tmask = None if mask is None else torch.tensor(mask)
    t_out = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=tmask)
    (t_out * torch.tensor(R)).sum().backward()
    out = scaled_dot_product_attention(Q, K, V, mask)
    assert np.allclose(out, t_out.detach().numpy(), rtol=0, atol=1e-12)
    grads = scaled_dot_product_attention_backward(R, Q, K, V, mask)
    for g, t in zip(grads, (tq, tk, tv)):
        assert np.allclose(g, t.grad.numpy(), rtol=0, atol=1e-11)


def test_bad_input():
    rng = np.random.default_rng(0)
    Q, K, V = _qkv(rng)
    with pytest.raises(ValueError, match="same last axis d_k"):
        scaled_dot_product_attention(Q, K[:, :2], V)
    with pytest.raises(ValueError, match="one row per key"):
        scaled_dot_product_attention(Q, K, V[:3])
    with pytest.raises(TypeError, match="boolean"):
        scaled_dot_product_attention(Q, K, V, mask=np.ones((4, 5)))
    with pytest.raises(ValueError, match="does not broadcast"):
        scaled_dot_product_attention(Q, K, V, mask=np.ones((3, 3), dtype=bool))
    bad = np.ones((4, 5), dtype=bool)
    bad[1] = False
    with pytest.raises(ValueError, match="no key to attend to"):
        scaled_dot_product_attention(Q, K, V, mask=bad)
    with pytest.raises(ValueError, match="at least 2 axes"):
        scaled_dot_product_attention(Q[0], K, V)
    with pytest.raises(TypeError, match="array of numbers"):
        scaled_dot_product_attention(np.array([["a"]]), K, V)
    with pytest.raises(ValueError, match="shape of the output"):
        scaled_dot_product_attention_backward(np.ones((4, 3)), Q, K, V)
    with pytest.raises(ValueError, match="positive integer"):
        causal_mask(0)

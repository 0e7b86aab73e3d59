"""LayerNorm, Embedding, positional encodings, MultiHeadAttention and TransformerEncoderLayer:
finite differences, parity with torch.nn in float64, masks, bad inputs, configs."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import check_layer, numerical_gradient
from dlcourse.layers import (
    Activation,
    Embedding,
    LastStep,
    LayerNorm,
    LearnedPositionalEncoding,
    Linear,
    Model,
    MultiHeadAttention,
    Sequential,
    SinusoidalPositionalEncoding,
    TransformerEncoderLayer,
    from_config,
    sinusoidal_encoding,
    summary,
)
from dlcourse.layers.config import declared_shapes

TOL = 1e-7  # relative error of check_layer in float64
PARITY = {"rtol": 1e-10, "atol": 1e-12}  # torch parity in float64


def normal(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def perturb(layer, seed=9, scale=0.3):
    """Move every parameter off its initial value (LayerNorm's γ = 1, β = 0, zero biases), so
    that a wrong term in a gradient cannot hide behind a one or a zero."""
    rng = np.random.default_rng(seed)
    for p in layer.params:
        p += scale * rng.standard_normal(p.shape)
    return layer


def fd_gradients(layer, x, dout, atol=1e-9, rtol=1e-7, **forward_kwargs):
    """Compare backward with four-point central differences of L = Σ out ⊙ dout, entry by
    entry with an absolute floor (a gradient that is exactly zero, such as that of the key
    bias of attention, makes a purely relative error meaningless)."""
    layer.forward(x, **forward_kwargs)
    dx = layer.backward(dout)
    grads = [np.array(g, copy=True) for g in layer.grads]

    def loss():
        return float(np.sum(layer.forward(x, **forward_kwargs) * dout))

    np.testing.assert_allclose(dx, numerical_gradient(loss, x, 1e-3, 4), rtol=rtol, atol=atol)
    for i, (p, g) in enumerate(zip(layer.params, grads, strict=True)):
        numeric = numerical_gradient(loss, p, 1e-3, 4)
        np.testing.assert_allclose(g, numeric, rtol=rtol, atol=atol, err_msg=f"parameter {i}")
    return dx


# ---------------------------------------------------------------------------- LayerNorm


@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 3, 5), 5), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_gradient_check(shape, normalized, affine):
    layer = perturb(LayerNorm(normalized, elementwise_affine=affine))
    assert check_layer(layer, normal(*shape, scale=2.0) + 1.0, seed=1) < TOL
    assert [p.shape for p in layer.params] == [g.shape for g in layer.grads]


def test_layernorm_normalises_each_position():
    x = normal(3, 4, 8, scale=5.0) + 7.0
    y = LayerNorm(8, eps=1e-12).forward(x)
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-13)
    np.testing.assert_allclose(y.var(axis=-1), 1.0, rtol=1e-10)
    # nothing depends on the other rows: one row alone gives the same numbers
    np.testing.assert_allclose(LayerNorm(8, eps=1e-12).forward(x[1:2]), y[1:2], rtol=1e-14)


@pytest.mark.parametrize("shape, normalized", [((5, 6), (6,)), ((2, 4, 3, 5), (3, 5))])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch(shape, normalized, affine):
    torch = pytest.importorskip("torch")
    layer = LayerNorm(normalized, eps=1e-4, elementwise_affine=affine)
    if affine:
        perturb(layer)
    ref = torch.nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(layer.gamma))
            ref.bias.copy_(torch.from_numpy(layer.beta))
    x, dout = normal(*shape, seed=1, scale=3.0) - 2.0, normal(*shape, seed=2)
    xt = torch.tensor(x, requires_grad=True)
    out_t = ref(xt)
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(layer.forward(x), out_t.detach().numpy(), **PARITY)
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), **PARITY)
    if affine:
        np.testing.assert_allclose(layer.grad_gamma, ref.weight.grad.numpy(), **PARITY)
        np.testing.assert_allclose(layer.grad_beta, ref.bias.grad.numpy(), **PARITY)


def test_layernorm_float32_and_bad_input():
    layer = LayerNorm(4, dtype="float32")
    out = layer.forward(normal(3, 4).astype(np.float32))
    assert out.dtype == np.float32 and layer.gamma.dtype == np.float32
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        LayerNorm(4).forward(np.ones((3, 5)))
    with pytest.raises(ValueError, match="leading axes"):
        LayerNorm((3, 4)).forward(np.ones((3, 4)))
    with pytest.raises(ValueError, match="eps"):
        LayerNorm(4, eps=0.0)
    with pytest.raises(ValueError, match="normalized_shape"):
        LayerNorm((4, 0))
    with pytest.raises(TypeError, match="normalized_shape"):
        LayerNorm(None)
    with pytest.raises(RuntimeError, match="before forward"):
        LayerNorm(4).backward(np.ones((2, 4)))


# ---------------------------------------------------------------------------- Embedding


def test_embedding_lookup_and_accumulating_backward():
    emb = Embedding(5, 3, seed=0)
    ids = np.array([[0, 2, 2], [4, 2, 0]])
    out = emb.forward(ids)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[1, 0], emb.W[4])
    dout = normal(2, 3, 3, seed=1)
    dx = emb.backward(dout)
    np.testing.assert_array_equal(dx, np.zeros((2, 3)))
    one_hot = np.eye(5)[ids.reshape(-1)]  # the lookup as a product with one-hot rows
    np.testing.assert_allclose(emb.grad_W, one_hot.T @ dout.reshape(-1, 3), rtol=1e-14)
    np.testing.assert_allclose(emb.grad_W[2], dout[0, 1] + dout[0, 2] + dout[1, 1], rtol=1e-14)
    np.testing.assert_array_equal(emb.grad_W[[1, 3]], 0.0)


def test_embedding_finite_differences_and_float_ids():
    emb = Embedding(6, 4, seed=1)
    ids = np.array([[1, 5, 1, 0], [3, 3, 2, 1]], dtype=np.float64)  # Model hands floats
    dout = normal(2, 4, 4, seed=2)
    emb.forward(ids)
    emb.backward(dout)

    def loss():
        return float(np.sum(emb.forward(ids) * dout))

    numeric = numerical_gradient(loss, emb.W, 1e-3, 4)
    np.testing.assert_allclose(emb.grad_W, numeric, rtol=1e-9, atol=1e-11)


def test_embedding_matches_torch_with_padding_idx():
    torch = pytest.importorskip("torch")
    emb = Embedding(7, 4, padding_idx=2, seed=3)
    np.testing.assert_array_equal(emb.W[2], 0.0)
    ref = torch.nn.Embedding(7, 4, padding_idx=2, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(emb.W))
    ids = np.array([[2, 1, 6, 2], [0, 1, 1, 5]])
    dout = normal(2, 4, 4, seed=4)
    out_t = ref(torch.from_numpy(ids))
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_array_equal(emb.forward(ids), out_t.detach().numpy())
    emb.backward(dout)
    np.testing.assert_allclose(emb.grad_W, ref.weight.grad.numpy(), **PARITY)
    np.testing.assert_array_equal(emb.grad_W[2], 0.0)


def test_embedding_bad_input():
    emb = Embedding(5, 3)
    with pytest.raises(ValueError, match=r"\[0, 5\); got 5"):
        emb.forward(np.array([[0, 5]]))
    with pytest.raises(ValueError, match="got -1"):
        emb.forward(np.array([[-1, 0]]))
    with pytest.raises(TypeError, match="whole numbers"):
        emb.forward(np.array([[0.5, 1.0]]))
    with pytest.raises(TypeError, match="dtype bool"):
        emb.forward(np.array([[True, False]]))
    with pytest.raises(ValueError, match="padding_idx"):
        Embedding(5, 3, padding_idx=5)
    with pytest.raises(ValueError, match="num_embeddings"):
        Embedding(0, 3)


# ---------------------------------------------------------------------------- positional encodings


def test_sinusoidal_encoding_values():
    d = 6
    pe = sinusoidal_encoding(50, d)
    np.testing.assert_array_equal(pe[0], [0, 1, 0, 1, 0, 1])
    for t in (1, 7, 49):
        for i in range(d // 2):
            angle = t / 10000 ** (2 * i / d)
            assert pe[t, 2 * i] == pytest.approx(np.sin(angle), abs=1e-15)
            assert pe[t, 2 * i + 1] == pytest.approx(np.cos(angle), abs=1e-15)
    # a shift by k positions is the same rotation of every column pair, whatever t
    k, freq = 5, 10000.0 ** (-np.arange(0, d, 2) / d)
    for i, w in enumerate(freq):
        R = np.array([[np.cos(k * w), -np.sin(k * w)], [np.sin(k * w), np.cos(k * w)]])
        pair = pe[:, 2 * i : 2 * i + 2]
        np.testing.assert_allclose(pair[:-k] @ R, pair[k:], atol=1e-12)
    odd = sinusoidal_encoding(4, 5)
    assert odd.shape == (4, 5)
    np.testing.assert_array_equal(odd[:, :4], sinusoidal_encoding(4, 5)[:, :4])
    np.testing.assert_allclose(odd[:, 4], np.sin(np.arange(4) / 10000 ** (4 / 5)), atol=1e-15)


def test_positional_encodings_add_and_backpropagate():
    x = normal(2, 7, 6, seed=1)
    sin = SinusoidalPositionalEncoding(6)
    pe = np.broadcast_to(sinusoidal_encoding(7, 6), x.shape)
    np.testing.assert_allclose(sin.forward(x) - x, pe, atol=1e-15)
    assert check_layer(sin, x, seed=2) < TOL
    learned = LearnedPositionalEncoding(10, 6, std=0.5, seed=3)
    np.testing.assert_allclose(learned.forward(x) - x, np.broadcast_to(learned.P[:7], x.shape),
                               atol=1e-15)  # fmt: skip
    assert check_layer(learned, x, seed=4) < TOL
    learned.forward(x)
    learned.backward(normal(2, 7, 6, seed=5))
    np.testing.assert_array_equal(learned.grad_P[7:], 0.0)  # positions the batch did not reach
    np.testing.assert_allclose(learned.grad_P[:7], normal(2, 7, 6, seed=5).sum(axis=0))


def test_positional_encodings_bad_input():
    with pytest.raises(ValueError, match="max_len"):
        LearnedPositionalEncoding(4, 6).forward(np.zeros((1, 5, 6)))
    with pytest.raises(ValueError, match=r"\(m, T, 6\)"):
        SinusoidalPositionalEncoding(6).forward(np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match=r"\(m, T, 6\)"):
        LearnedPositionalEncoding(8, 6).forward(np.zeros((5, 6)))
    with pytest.raises(ValueError, match="base"):
        SinusoidalPositionalEncoding(6, base=1.0)


# ---------------------------------------------------------------------------- MultiHeadAttention


def torch_mha(layer):
    torch = pytest.importorskip("torch")
    ref = torch.nn.MultiheadAttention(
        layer.embed_dim, layer.num_heads, batch_first=True, dtype=torch.float64
    )
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.from_numpy(layer.in_proj_weight))
        ref.in_proj_bias.copy_(torch.from_numpy(layer.in_proj_bias))
        ref.out_proj.weight.copy_(torch.from_numpy(layer.out_proj_weight))
        ref.out_proj.bias.copy_(torch.from_numpy(layer.out_proj_bias))
    return torch, ref


def mha_grads_of(ref):
    return [ref.in_proj_weight.grad, ref.in_proj_bias.grad, ref.out_proj.weight.grad,
            ref.out_proj.bias.grad]  # fmt: skip


def padding(m, T, lengths):
    """Key padding mask (True = padding) for sequences of the given lengths."""
    return np.arange(T)[None, :] >= np.asarray(lengths)[:, None]


MASKS = {
    "none": lambda m, T, h: {},
    "causal_bool": lambda m, T, h: {"attn_mask": np.triu(np.ones((T, T), bool), 1)},
    "float": lambda m, T, h: {"attn_mask": normal(T, T, seed=7)},
    "per_head": lambda m, T, h: {"attn_mask": normal(m * h, T, T, seed=8) > 1.0},
    "padding": lambda m, T, h: {"key_padding_mask": padding(m, T, [T, T - 2, 2][:m])},
    "both": lambda m, T, h: {
        "attn_mask": np.triu(np.ones((T, T), bool), 1),
        "key_padding_mask": padding(m, T, [T, T - 1, T - 3][:m]),
    },
}


@pytest.mark.parametrize("mask", sorted(MASKS))
def test_mha_self_attention_matches_torch(mask):
    m, T, E, h = 3, 6, 8, 2
    layer = perturb(MultiHeadAttention(E, h, seed=1), scale=0.2)
    torch, ref = torch_mha(layer)
    masks = MASKS[mask](m, T, h)
    x, dout = normal(m, T, E, seed=2), normal(m, T, E, seed=3)
    xt = torch.tensor(x, requires_grad=True)
    out_t, weights_t = ref(xt, xt, xt, **{k: torch.from_numpy(v) for k, v in masks.items()})
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(layer.forward(x, **masks), out_t.detach().numpy(), **PARITY)
    np.testing.assert_allclose(layer.attention_weights.mean(axis=1), weights_t.detach().numpy(),
                               **PARITY)  # fmt: skip
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), **PARITY)
    for i, (g, g_t) in enumerate(zip(layer.grads, mha_grads_of(ref), strict=True)):
        np.testing.assert_allclose(g, g_t.numpy(), **PARITY, err_msg=f"parameter {i}")


def test_mha_cross_attention_gradients_of_query_key_value_match_torch():
    m, T_q, T_k, E, h = 2, 3, 5, 12, 3
    layer = perturb(MultiHeadAttention(E, h, seed=4), scale=0.2)
    torch, ref = torch_mha(layer)
    q, k, v = normal(m, T_q, E, seed=5), normal(m, T_k, E, seed=6), normal(m, T_k, E, seed=7)
    pad = padding(m, T_k, [5, 3])
    dout = normal(m, T_q, E, seed=8)
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out_t, _ = ref(qt, kt, vt, key_padding_mask=torch.from_numpy(pad))
    out_t.backward(torch.from_numpy(dout))
    out = layer.forward(q, key=k, value=v, key_padding_mask=pad)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **PARITY)
    np.testing.assert_allclose(layer.backward(dout), qt.grad.numpy(), **PARITY)
    np.testing.assert_allclose(layer.grad_query, qt.grad.numpy(), **PARITY)
    np.testing.assert_allclose(layer.grad_key, kt.grad.numpy(), **PARITY)
    np.testing.assert_allclose(layer.grad_value, vt.grad.numpy(), **PARITY)
    np.testing.assert_array_equal(layer.grad_key[1, 3:], 0.0)  # padded keys get no gradient
    for g, g_t in zip(layer.grads, mha_grads_of(ref), strict=True):
        np.testing.assert_allclose(g, g_t.numpy(), **PARITY)


def test_mha_weights_copy_from_torch_unchanged():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(8, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        ref.in_proj_bias.normal_()
        ref.out_proj.bias.normal_()
    layer = MultiHeadAttention(8, 4)
    for p, p_t in zip(layer.params, ref.parameters(), strict=True):  # torch's order
        p[...] = p_t.detach().numpy()
    x = normal(2, 5, 8, seed=1)
    out_t, _ = ref(*(torch.from_numpy(x),) * 3, need_weights=False)
    np.testing.assert_allclose(layer.forward(x), out_t.detach().numpy(), **PARITY)


@pytest.mark.parametrize("mask", ["none", "both", "per_head"])
def test_mha_finite_differences(mask):
    m, T, E, h = 2, 4, 6, 3
    layer = perturb(MultiHeadAttention(E, h, seed=2), scale=0.2)
    masks = MASKS[mask](m, T, h)
    fd_gradients(layer, normal(m, T, E, seed=3), normal(m, T, E, seed=4), **masks)


def test_mha_cross_attention_finite_differences_for_key_and_value():
    layer = perturb(MultiHeadAttention(4, 2, seed=3), scale=0.2)
    q, k, v = normal(2, 3, 4, seed=1), normal(2, 5, 4, seed=2), normal(2, 5, 4, seed=3)
    dout = normal(2, 3, 4, seed=4)
    kwargs = {"key": k, "value": v, "key_padding_mask": padding(2, 5, [5, 4])}
    fd_gradients(layer, q, dout, **kwargs)
    layer.forward(q, **kwargs)
    layer.backward(dout)

    def loss():
        return float(np.sum(layer.forward(q, **kwargs) * dout))

    for given, arr in ((layer.grad_key, k), (layer.grad_value, v)):
        np.testing.assert_allclose(given, numerical_gradient(loss, arr, 1e-3, 4), atol=1e-10)


@pytest.mark.parametrize("make", [
    lambda: MultiHeadAttention(8, 2, causal=True, seed=5),
    lambda: TransformerEncoderLayer(8, 2, 16, causal=True, seed=6),
    lambda: TransformerEncoderLayer(8, 2, 16, causal=True, norm_first=False, seed=7),
])  # fmt: skip
def test_causal_mask_blocks_the_future(make):
    layer = make()
    x = normal(2, 7, 8, seed=1)
    out = layer.forward(x)
    changed = x.copy()
    changed[:, 4] += normal(2, 8, seed=2)  # a different token at position 4
    out2 = layer.forward(changed)
    np.testing.assert_allclose(out2[:, :4], out[:, :4], rtol=1e-15, atol=0)
    assert np.abs(out2[:, 4:] - out[:, 4:]).min() > 1e-6  # later positions do see it


def test_causal_flag_equals_the_boolean_mask_and_padding_hides_keys():
    x = normal(2, 5, 6, seed=1)
    a, b = MultiHeadAttention(6, 2, causal=True, seed=3), MultiHeadAttention(6, 2, seed=3)
    future = np.triu(np.ones((5, 5), bool), 1)
    np.testing.assert_array_equal(a.forward(x), b.forward(x, attn_mask=future))
    np.testing.assert_array_equal(a.attention_weights[..., future], 0.0)
    # padded keys: their content changes nothing at the other positions
    pad = padding(2, 5, [5, 3])
    out = b.forward(x, key_padding_mask=pad)
    y = x.copy()
    y[1, 3:] = 100.0
    np.testing.assert_allclose(b.forward(y, key_padding_mask=pad)[1, :3], out[1, :3], rtol=1e-14)
    np.testing.assert_array_equal(b.attention_weights[1, :, :, 3:], 0.0)


def test_attention_dropout_is_a_fixed_mask_in_backward():
    layer = perturb(MultiHeadAttention(4, 2, dropout=0.4, seed=1), scale=0.2)
    x, dout = normal(2, 5, 4, seed=2), normal(2, 5, 4, seed=3)
    plain = MultiHeadAttention(4, 2, seed=1)
    for p, q in zip(plain.params, layer.params):
        p[...] = q
    np.testing.assert_array_equal(layer.forward(x, training=False), plain.forward(x))
    assert not np.allclose(layer.forward(x), plain.forward(x))

    def forward():  # the same dropout draw at every call
        layer.rng = np.random.default_rng(11)
        return layer.forward(x)

    forward()
    dx = layer.backward(dout)
    grads = [g.copy() for g in layer.grads]

    def loss():
        return float(np.sum(forward() * dout))

    np.testing.assert_allclose(dx, numerical_gradient(loss, x, 1e-3, 4), rtol=1e-7, atol=1e-9)
    for p, g in zip(layer.params, grads):
        np.testing.assert_allclose(g, numerical_gradient(loss, p, 1e-3, 4), atol=1e-9)


def test_mha_bad_input():
    with pytest.raises(ValueError, match="num_heads must divide embed_dim"):
        MultiHeadAttention(10, 3)
    layer = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"\(m, T, 8\).*got \(2, 5, 6\)"):
        layer.forward(np.zeros((2, 5, 6)))
    with pytest.raises(ValueError, match=r"\(m, T, 8\)"):
        layer.forward(np.zeros((5, 8)))
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(5, 5\)"):
        layer.forward(np.zeros((2, 5, 8)), attn_mask=np.zeros((5, 4), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(m, T_k\) = \(2, 5\)"):
        layer.forward(np.zeros((2, 5, 8)), key_padding_mask=np.zeros((5, 2), bool))
    with pytest.raises(TypeError, match="boolean"):
        layer.forward(np.zeros((2, 5, 8)), attn_mask=np.zeros((5, 5), int))
    with pytest.raises(ValueError, match="no key to attend to"):
        layer.forward(np.zeros((2, 5, 8)), key_padding_mask=np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="key and value"):
        layer.forward(np.zeros((2, 5, 8)), key=np.zeros((2, 5, 8)))
    with pytest.raises(ValueError, match="same batch size"):
        layer.forward(np.zeros((2, 5, 8)), key=np.zeros((3, 4, 8)), value=np.zeros((3, 4, 8)))
    with pytest.raises(ValueError, match="as many queries as keys"):
        MultiHeadAttention(8, 2, causal=True).forward(
            np.zeros((2, 3, 8)), key=np.zeros((2, 4, 8)), value=np.zeros((2, 4, 8))
        )
    with pytest.raises(ValueError, match="dropout"):
        MultiHeadAttention(8, 2, dropout=1.0)


# ---------------------------------------------------------------------------- encoder block


def torch_encoder(layer):
    torch = pytest.importorskip("torch")
    ref = torch.nn.TransformerEncoderLayer(
        layer.d_model, layer.nhead, layer.dim_feedforward, dropout=0.0,
        activation=layer.activation, layer_norm_eps=layer.layer_norm_eps, batch_first=True,
        norm_first=layer.norm_first, dtype=torch.float64,
    )  # fmt: skip
    with torch.no_grad():
        for p_t, p in zip(ref.parameters(), layer.params, strict=True):
            assert tuple(p_t.shape) == p.shape
            p_t.copy_(torch.from_numpy(p))
    return torch, ref


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("mask", ["none", "both"])
def test_encoder_layer_matches_torch(norm_first, activation, mask):
    m, T, d, h = 3, 6, 8, 2
    layer = TransformerEncoderLayer(d, h, 20, activation=activation, norm_first=norm_first,
                                    seed=1)  # fmt: skip
    perturb(layer, scale=0.2)
    torch, ref = torch_encoder(layer)
    masks = MASKS[mask](m, T, h)
    x, dout = normal(m, T, d, seed=2), normal(m, T, d, seed=3)
    xt = torch.tensor(x, requires_grad=True)
    torch_masks = {("src_mask" if k == "attn_mask" else "src_key_padding_mask"):
                   torch.from_numpy(v) for k, v in masks.items()}  # fmt: skip
    out_t = ref(xt, **torch_masks)
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(layer.forward(x, **masks), out_t.detach().numpy(), **PARITY)
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), **PARITY)
    names = [n for n, _ in ref.named_parameters()]
    for name, g, p_t in zip(names, layer.grads, ref.parameters(), strict=True):
        np.testing.assert_allclose(g, p_t.grad.numpy(), **PARITY, err_msg=name)


@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_layer_finite_differences(norm_first):
    # GELU: smooth, so four-point differences are exact to ~1e-11 (ReLU's kink is not)
    layer = TransformerEncoderLayer(6, 2, 10, activation="gelu", norm_first=norm_first, seed=2)
    perturb(layer, scale=0.2)
    x, dout = normal(2, 4, 6, seed=3), normal(2, 4, 6, seed=4)
    fd_gradients(layer, x, dout, key_padding_mask=padding(2, 4, [4, 3]))


def test_encoder_layer_pre_norm_keeps_an_identity_path():
    # with the attention and MLP output projections at zero, a pre-norm block is the identity
    # and a post-norm block is LayerNorm(LayerNorm(x)); the gradient is I and not I resp.
    x, dout = normal(2, 5, 6, seed=1, scale=3.0), normal(2, 5, 6, seed=2)
    pre = TransformerEncoderLayer(6, 2, seed=3)
    post = TransformerEncoderLayer(6, 2, norm_first=False, seed=3)
    for layer in (pre, post):
        layer.self_attn.out_proj_weight[...] = 0.0
        layer.linear2.W[...] = 0.0
    np.testing.assert_array_equal(pre.forward(x), x)
    np.testing.assert_array_equal(pre.backward(dout), dout)
    ln = LayerNorm(6)
    np.testing.assert_allclose(post.forward(x), ln.forward(ln.forward(x)), rtol=1e-12)


def test_encoder_layer_bad_input_and_defaults():
    layer = TransformerEncoderLayer(8, 2)
    assert layer.dim_feedforward == 32 and layer.norm_first and layer.dropout == 0.0
    with pytest.raises(ValueError, match=r"\(m, T, 8\).*got \(2, 3, 4\)"):
        layer.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="num_heads must divide embed_dim"):
        TransformerEncoderLayer(8, 3)
    with pytest.raises(ValueError, match="activation"):
        TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="attn_mask"):
        layer.forward(np.zeros((2, 3, 8)), attn_mask=np.zeros((4, 4), bool))


# ---------------------------------------------------------------------------- configs, Model


LAYERS = [
    lambda: LayerNorm((3, 4), eps=1e-3, elementwise_affine=False, dtype="float32"),
    lambda: Embedding(9, 4, padding_idx=0),
    lambda: SinusoidalPositionalEncoding(6, base=100.0),
    lambda: LearnedPositionalEncoding(12, 6, std=0.1),
    lambda: MultiHeadAttention(6, 3, dropout=0.1, causal=True),
    lambda: TransformerEncoderLayer(8, 4, 12, 0.1, "gelu", 1e-6, False, True),
]


@pytest.mark.parametrize("make", LAYERS)
def test_configs_rebuild_the_layer(make):
    layer = make()
    rebuilt = from_config(layer.config())
    assert rebuilt.config() == layer.config()
    assert [p.shape for p in rebuilt.params] == [p.shape for p in layer.params]
    assert declared_shapes(layer.config()) == ([p.shape for p in layer.params], [])


def tiny_transformer(seed=0):
    return Model([
        Embedding(5, 8, seed=seed), SinusoidalPositionalEncoding(8),
        TransformerEncoderLayer(8, 2, 16, causal=True, seed=seed + 1), LastStep(),
        Linear(8, 3, seed=seed + 2), Activation("softmax"),
    ], cost="cross_entropy", seed=seed)  # fmt: skip


def test_model_of_transformer_layers_learns_saves_and_counts(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(64, 6)).astype(float)
    y = (X[:, 0] % 3).astype(int)  # the class is the first token: the last position must look
    model = tiny_transformer()
    from dlcourse.optim import Adam

    before = model.cost(X, y)
    model.fit(X, y, epochs=30, batch_size=16, optimizer=Adam(lr=0.01), progress=False)
    assert model.cost(X, y) < 0.5 * before
    path = model.save(tmp_path / "t.npz")
    again = Model.load(path)
    np.testing.assert_array_equal(again.forward(X), model.forward(X))
    table = summary(model, (6,))
    names = [r.name for r in table.rows]
    assert "MultiHeadAttention" in names and "LayerNorm" in names
    attention = table.rows[names.index("MultiHeadAttention")]
    assert attention.mult_adds == 4 * 6 * 8 * 8 + 2 * 6 * 6 * 8
    assert attention.params == 4 * 8 * 8 + 4 * 8
    assert table.params == sum(p.size for p in model.parameters())


# ---------------------------------------------------------------------------- torch bridge


BRIDGED = [  # (layer, an input for it)
    (lambda: LayerNorm(6, eps=1e-4), normal(2, 5, 6, seed=5)),
    (lambda: LayerNorm((2, 6), elementwise_affine=False), normal(3, 2, 6, seed=5)),
    (lambda: Embedding(9, 6, padding_idx=3), np.array([[1, 3, 8], [0, 0, 5]])),
    (lambda: MultiHeadAttention(6, 3), normal(2, 5, 6, seed=5)),
    (lambda: TransformerEncoderLayer(6, 2, 10, activation="gelu"), normal(2, 5, 6, seed=5)),
    (lambda: TransformerEncoderLayer(6, 3, 8, norm_first=False, layer_norm_eps=1e-6),
     normal(2, 5, 6, seed=5)),
]  # fmt: skip


@pytest.mark.parametrize("make, x", BRIDGED)
def test_layers_round_trip_through_torch(make, x):
    torch = pytest.importorskip("torch")
    from dlcourse.torchlayers import layers_to_module, module_to_layers

    layer = perturb(make(), seed=4)
    module = layers_to_module(layer)
    back = module_to_layers(module)
    assert back.config() == layer.config()
    for p, q in zip(back.params, layer.params, strict=True):
        np.testing.assert_array_equal(p, q)
    xt = torch.from_numpy(x)
    out_t = module(xt, xt, xt)[0] if isinstance(layer, MultiHeadAttention) else module(xt)
    np.testing.assert_allclose(back.forward(x), out_t.detach().numpy(), **PARITY)


def test_torch_modules_convert_and_unsupported_ones_are_refused():
    torch = pytest.importorskip("torch")
    from dlcourse.torchlayers import layers_to_module, module_to_layers

    torch.manual_seed(0)
    ref = torch.nn.TransformerEncoderLayer(8, 2, 12, 0.0, batch_first=True, dtype=torch.float64)
    layer = module_to_layers(ref, causal=True)
    assert not layer.norm_first and layer.causal and layer.dim_feedforward == 12
    x = normal(2, 5, 8, seed=1)
    mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    np.testing.assert_allclose(layer.forward(x), ref(torch.from_numpy(x), src_mask=mask)
                               .detach().numpy(), **PARITY)  # fmt: skip
    with pytest.raises(ValueError, match="batch_first=True"):
        module_to_layers(torch.nn.MultiheadAttention(8, 2))
    with pytest.raises(ValueError, match="default layout"):
        module_to_layers(torch.nn.MultiheadAttention(8, 2, batch_first=True, kdim=4, vdim=4))
    with pytest.raises(ValueError, match="module_to_layers has no layer for LSTM"):
        module_to_layers(torch.nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="no torch module for SinusoidalPositionalEncoding"):
        layers_to_module(SinusoidalPositionalEncoding(8))


def test_an_embedding_and_encoder_stack_converts_as_one_module():
    """The attention-era layers go through the same converter as the others, so a token
    model (Embedding, two encoder layers, LayerNorm) becomes one nn.Sequential."""
    torch = pytest.importorskip("torch")
    from dlcourse.torchlayers import layers_to_module, module_to_layers

    stack = [perturb(Embedding(9, 8), seed=1), perturb(TransformerEncoderLayer(8, 2, 12), seed=2),
             perturb(TransformerEncoderLayer(8, 4, 6, activation="gelu"), seed=3),
             perturb(LayerNorm(8), seed=4)]  # fmt: skip
    module = layers_to_module(stack)
    tokens = np.array([[1, 3, 8, 0], [2, 2, 5, 7]])
    expected = Sequential(stack).forward(tokens, training=False)
    got = module(torch.from_numpy(tokens)).detach().numpy()
    np.testing.assert_allclose(got, expected, **PARITY)
    back = module_to_layers(module)
    assert [type(c).__name__ for c in back.children] == [type(c).__name__ for c in stack]
    np.testing.assert_allclose(back.forward(tokens, training=False), expected, **PARITY)


def test_float32_layers_stay_in_float32_and_agree_with_float64():
    x = normal(2, 5, 8, seed=1)
    for make in (lambda d: MultiHeadAttention(8, 2, causal=True, seed=3, dtype=d),
                 lambda d: TransformerEncoderLayer(8, 2, 16, seed=3, dtype=d)):  # fmt: skip
        single, double = make("float32"), make("float64")
        assert all(p.dtype == np.float32 for p in single.params)
        out = single.forward(x.astype(np.float32))
        dx = single.backward(np.ones_like(out))
        assert out.dtype == np.float32 and dx.dtype == np.float32
        assert all(g.dtype == np.float32 for g in single.grads)
        np.testing.assert_allclose(out, double.forward(x), rtol=1e-4, atol=1e-5)

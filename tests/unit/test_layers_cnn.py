"""The layers of modern CNNs (issue 33): dilated Conv2d, ConvTranspose2d, BatchNorm2d,
GlobalAvgPool2d and the receptive-field helper.

Oracles: PyTorch in float64 (outputs, input and parameter gradients to 1e-10), central
differences (``check_layer``), a plain-loop dilated convolution, the adjoint identity
⟨Conv(x), y⟩ = ⟨x, ConvT(y)⟩, BatchNorm1d on the pixels-as-rows matrix, and the gradient
footprint of one output unit for the receptive field.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import check_layer
from dlcourse.layers import (
    Activation,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    Model,
    Residual,
    Sequential,
    Sum,
    from_config,
    receptive_field,
    summary,
)
from dlcourse.layers.config import declared_shapes
from dlcourse.layers.conv import output_size
from dlcourse.layers.conv_transpose import transposed_output_size

TOL = 1e-7  # finite differences (four-point formula) against backward
PARITY = 1e-10  # float64 against torch


@pytest.fixture(scope="module")
def torch():
    """The torch module; without it only the parity tests skip."""
    return pytest.importorskip("torch")


def randomise_bias(layer, seed):
    layer.b[:] = np.random.default_rng(seed).standard_normal(layer.b.shape)
    return layer


def assert_close(mine, theirs, tol=PARITY):
    theirs = np.asarray(theirs)
    assert mine.shape == theirs.shape
    assert np.abs(theirs).max() > 0  # the comparison is not vacuous
    assert np.max(np.abs(mine - theirs)) < tol


# ---------------------------------------------------------------- dilated Conv2d
# (m, C_in, H, W, C_out, k, stride, padding, dilation)
DILATED = [
    (2, 2, 9, 8, 3, 3, 1, 0, 2),
    (2, 2, 9, 10, 3, 3, 1, 2, 2),  # "same" padding p = d(k − 1)/2
    (1, 3, 11, 9, 2, 3, 2, 1, 3),
    (2, 1, 7, 7, 2, 2, 1, 1, 2),  # even kernel
    (1, 2, 8, 6, 2, 3, 3, 0, 2),  # stride that does not divide
    (1, 1, 5, 5, 1, 3, 1, 0, 2),  # dilated kernel exactly as large as the input
]


def dilated_conv_loops(x, W, b, s, p, d):
    """The definition, one loop per index:
    z[i, o, r, q] = b[o] + Σ_{c,u,v} W[o, c, u, v] x_pad[i, c, s r + d u, s q + d v]."""
    m, C, H, Wd = x.shape
    C_out, _, k, _ = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    H_out = (H + 2 * p - d * (k - 1) - 1) // s + 1
    W_out = (Wd + 2 * p - d * (k - 1) - 1) // s + 1
    z = np.zeros((m, C_out, H_out, W_out))
    for i in range(m):
        for o in range(C_out):
            for r in range(H_out):
                for q in range(W_out):
                    total = b[o]
                    for c in range(C):
                        for u in range(k):
                            for v in range(k):
                                total += W[o, c, u, v] * xp[i, c, s * r + d * u, s * q + d * v]
                    z[i, o, r, q] = total
    return z


@pytest.mark.parametrize("case", DILATED)
def test_dilated_conv_forward_equals_the_loops(case):
    m, C, H, Wd, C_out, k, s, p, d = case
    layer = randomise_bias(Conv2d(C, C_out, k, s, p, dilation=d, seed=1), 2)
    x = np.random.default_rng(3).standard_normal((m, C, H, Wd))
    out = layer.forward(x)
    expected = dilated_conv_loops(x, layer.W, layer.b, s, p, d)
    assert out.shape == expected.shape
    assert np.max(np.abs(out - expected)) < 1e-12


@pytest.mark.parametrize("case", DILATED)
def test_dilated_conv_gradient_check(case):
    m, C, H, Wd, C_out, k, s, p, d = case
    layer = randomise_bias(Conv2d(C, C_out, k, s, p, dilation=d, seed=4), 5)
    x = np.random.default_rng(6).standard_normal((m, C, H, Wd))
    assert check_layer(layer, x) < TOL


@pytest.mark.parametrize("case", DILATED)
def test_dilated_conv_matches_torch(torch, case):
    m, C, H, Wd, C_out, k, s, p, d = case
    rng = np.random.default_rng(7)
    layer = randomise_bias(Conv2d(C, C_out, k, s, p, dilation=d, seed=8), 9)
    x = rng.standard_normal((m, C, H, Wd))
    out = layer.forward(x)
    G = rng.standard_normal(out.shape)
    dx = layer.backward(G)
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, layer.W, layer.b))
    out_t = torch.nn.functional.conv2d(xt, Wt, bt, stride=s, padding=p, dilation=d)
    out_t.backward(torch.tensor(G))
    assert_close(out, out_t.detach().numpy())
    assert_close(dx, xt.grad.numpy())
    assert_close(layer.grad_W, Wt.grad.numpy())
    assert_close(layer.grad_b, bt.grad.numpy())


def test_output_size_formula_with_dilation():
    # ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1
    assert output_size(28, 3, 1, 2, 2) == 28  # "same" padding
    assert output_size(10, 3, 2, 0, 3) == 2  # span 7: ⌊3/2⌋ + 1
    assert output_size(7, 3, 1, 0, 3) == 1  # span 7 fits exactly
    assert output_size(9, 4, 3, 1) == output_size(9, 4, 3, 1, 1) == 3  # d = 1 unchanged
    with pytest.raises(ValueError, match=r"dilated kernel \(3·\(3 − 1\) \+ 1 = 7\)"):
        output_size(6, 3, 1, 0, 3)


def test_dilated_conv_bad_arguments_and_input():
    with pytest.raises(ValueError, match="dilation"):
        Conv2d(1, 1, 3, dilation=0)
    with pytest.raises(ValueError, match="dilation"):
        Conv2d(1, 1, 3, dilation=1.5)
    with pytest.raises(ValueError, match=r"dilated kernel \(3·\(3 − 1\) \+ 1 = 7\) is larger"):
        Conv2d(1, 1, 3, dilation=3).forward(np.zeros((1, 1, 6, 9)))
    with pytest.raises(ValueError, match=r"\(m, 2, H, W\); got shape \(1, 1, 9, 9\)"):
        Conv2d(2, 1, 3, dilation=2).forward(np.zeros((1, 1, 9, 9)))


def test_dilation_one_is_the_plain_convolution():
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 7))
    plain, dilated = Conv2d(2, 3, 3, padding=1, seed=0), Conv2d(2, 3, 3, padding=1, seed=0,
                                                                  dilation=1)  # fmt: skip
    assert np.array_equal(plain.forward(x), dilated.forward(x))


# ---------------------------------------------------------------- ConvTranspose2d
# (m, C_in, H, W, C_out, k, stride, padding, output_padding, dilation)
TRANSPOSED = [
    (2, 2, 4, 5, 3, 3, 1, 0, 0, 1),
    (2, 3, 4, 4, 2, 3, 2, 1, 1, 1),  # the usual ×2 upsampling: 4 → 8
    (1, 2, 3, 5, 2, 4, 2, 1, 0, 1),  # DCGAN's k = 4, s = 2, p = 1
    (2, 1, 3, 4, 2, 2, 3, 0, 2, 1),  # stride larger than the kernel: gaps of bias only
    (1, 2, 5, 4, 3, 3, 1, 2, 1, 2),  # dilated, output_padding < dilation
    (1, 2, 4, 3, 2, 3, 2, 0, 2, 3),  # output_padding ≥ stride, allowed since < dilation
]


def make_transposed(case, seed):
    _, C, _, _, C_out, k, s, p, op, d = case
    layer = ConvTranspose2d(C, C_out, k, s, p, op, seed=seed, dilation=d)
    return randomise_bias(layer, seed + 1)


@pytest.mark.parametrize("case", TRANSPOSED)
def test_conv_transpose_gradient_check(case):
    m, C, H, Wd = case[:4]
    layer = make_transposed(case, 10)
    x = np.random.default_rng(11).standard_normal((m, C, H, Wd))
    assert check_layer(layer, x) < TOL


@pytest.mark.parametrize("case", TRANSPOSED)
def test_conv_transpose_matches_torch(torch, case):
    m, C, H, Wd, C_out, k, s, p, op, d = case
    rng = np.random.default_rng(12)
    layer = make_transposed(case, 13)
    x = rng.standard_normal((m, C, H, Wd))
    out = layer.forward(x)
    G = rng.standard_normal(out.shape)
    dx = layer.backward(G)
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, layer.W, layer.b))
    out_t = torch.nn.functional.conv_transpose2d(
        xt, Wt, bt, stride=s, padding=p, output_padding=op, dilation=d
    )
    out_t.backward(torch.tensor(G))
    assert_close(out, out_t.detach().numpy())
    assert_close(dx, xt.grad.numpy())
    assert_close(layer.grad_W, Wt.grad.numpy())
    assert_close(layer.grad_b, bt.grad.numpy())
    # the module (torch's own weight layout and size arithmetic) agrees too
    module = torch.nn.ConvTranspose2d(C, C_out, k, s, p, op, dilation=d, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.W))
        module.bias.copy_(torch.tensor(layer.b))
    assert_close(out, module(torch.tensor(x)).detach().numpy())


@pytest.mark.parametrize("case", TRANSPOSED)
def test_conv_transpose_is_the_adjoint_of_conv(case):
    """⟨Conv(x), y⟩ = ⟨x, ConvT(y)⟩ with one weight array and no bias, for random x and y."""
    m, C_t, H, Wd, C_out_t, k, s, p, op, d = case
    rng = np.random.default_rng(14)
    convT = ConvTranspose2d(C_t, C_out_t, k, s, p, op, seed=15, dilation=d)
    conv = Conv2d(C_out_t, C_t, k, s, p, seed=16, dilation=d)
    conv.W[...] = convT.W  # the same (C_t, C_out_t, k, k) array: Conv2d reads it as (C_out, C_in)
    assert not convT.b.any() and not conv.b.any()
    y = rng.standard_normal((m, C_t, H, Wd))  # input of ConvT, output space of Conv
    Ty = convT.forward(y)
    x = rng.standard_normal(Ty.shape)  # input of Conv
    Cx = conv.forward(x)
    if op < s:
        assert Cx.shape == y.shape  # the convolution maps the upsampled size back
    else:  # op ≥ s (dilation > s): Conv finds windows past the last one ConvT writes from
        assert Cx.shape[2] == H + op // s and Cx.shape[3] == Wd + op // s
    y_full = np.zeros(Cx.shape)  # y, extended by zeros to those windows
    y_full[:, :, :H, :Wd] = y
    lhs, rhs = float(np.sum(Cx * y_full)), float(np.sum(x * Ty))
    scale = np.abs(Cx * y_full).sum()  # the size of the terms the two sums add up
    assert scale > 1.0  # not a trivially zero pairing
    assert abs(lhs - rhs) < 1e-12 * scale
    # and the transposed forward pass is exactly the convolution's backward pass
    assert np.max(np.abs(conv.backward(y_full) - Ty)) < 1e-12


def test_conv_transpose_inverts_the_size_arithmetic():
    for n in range(1, 9):
        for k, s, p, d in [(3, 2, 1, 1), (4, 2, 1, 1), (2, 3, 0, 1), (3, 1, 2, 2), (3, 2, 0, 3)]:
            for op in range(max(s, d)):
                size = transposed_output_size(n, k, s, p, op, d)
                assert size == (n - 1) * s - 2 * p + d * (k - 1) + op + 1
                if op < s:  # each such size is one the convolution maps back to n
                    assert output_size(size, k, s, p, d) == n


def test_conv_transpose_upsamples_by_the_stride():
    layer = ConvTranspose2d(3, 5, 4, stride=2, padding=1, seed=0)
    out = layer.forward(np.zeros((2, 3, 7, 9)))
    assert out.shape == (2, 5, 14, 18)
    assert layer.W.shape == (3, 5, 4, 4) and layer.b.shape == (5,)


def test_conv_transpose_init_and_seed():
    a, b = ConvTranspose2d(16, 4, 3, seed=1), ConvTranspose2d(16, 4, 3, seed=1)
    assert np.array_equal(a.W, b.W) and not np.array_equal(a.W, ConvTranspose2d(16, 4, 3, seed=2).W)
    big = ConvTranspose2d(64, 16, 3, seed=0)  # He with torch's fan-in C_out·k² = 144
    assert abs(big.W.var() * 144 / 2 - 1) < 0.1
    nielsen = ConvTranspose2d(2, 7, 3, init="nielsen", seed=0)  # N(0, 1) bias, one per output
    assert nielsen.b.shape == (7,) and nielsen.b.std() > 0.3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"output_padding": 2, "stride": 2}, "output_padding must be smaller"),
        ({"output_padding": 1}, "output_padding must be smaller"),
        ({"output_padding": -1, "stride": 2}, "output_padding must be a non-negative"),
        ({"dilation": 0}, "dilation"),
        ({"padding": -1}, "padding"),
    ],
)
def test_conv_transpose_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvTranspose2d(2, 3, 3, **kwargs)


@pytest.mark.parametrize(
    "make, x, error, message",
    [
        (lambda: ConvTranspose2d(2, 3, 3), np.zeros((1, 3, 4, 4)), ValueError,
         r"\(m, 2, H, W\); got shape \(1, 3, 4, 4\)"),
        (lambda: ConvTranspose2d(2, 3, 3), np.zeros((2, 4, 4)), ValueError, "4 axes"),
        (lambda: ConvTranspose2d(1, 1, 3, padding=2), np.zeros((1, 1, 1, 1)), ValueError,
         "not positive"),
        (lambda: ConvTranspose2d(1, 1, 3), [[[[1.0]]]], TypeError, "NumPy array"),
    ],
)  # fmt: skip
def test_conv_transpose_bad_input(make, x, error, message):
    with pytest.raises(error, match=message):
        make().forward(x)
    with pytest.raises(RuntimeError, match="before forward"):
        make().backward(np.zeros((1, 3, 4, 4)))


# ---------------------------------------------------------------- BatchNorm2d
def affine_bn2d(C, seed=1, **kwargs):
    bn = BatchNorm2d(C, **kwargs)
    rng = np.random.default_rng(seed)
    bn.gamma[...] = rng.uniform(0.5, 1.5, C)
    bn.beta[...] = rng.standard_normal(C)
    return bn


def images(shape, seed, scale=2.0, shift=0.7):
    return np.random.default_rng(seed).standard_normal(shape) * scale + shift


def check_bn(bn, x, training=True):
    """``check_layer`` with the first ``dout`` seed for which no entry of dx lies within 1e-4
    of zero: there the relative error measures the round-off of the differences (about
    1e-11 absolute), not the gradient. Σ dx = 0 per channel in training mode, so some entry
    is small for many seeds."""
    for seed in range(20):
        dout = np.random.default_rng(seed).standard_normal(bn.forward(x, training).shape)
        if np.abs(bn.backward(dout)).min() > 1e-4:
            return check_layer(bn, x, dout, forward_kwargs={"training": training})
    raise AssertionError("no dout seed gives a gradient away from zero")  # pragma: no cover


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (5, 2, 1, 1), (1, 2, 3, 3)])
def test_batchnorm2d_gradient_check_train_and_eval(affine, shape):
    C = shape[1]
    bn = affine_bn2d(C, momentum=0.2) if affine else BatchNorm2d(C, affine=False)
    assert check_bn(bn, images(shape, 0)) < TOL
    bn.running_mean[...] = np.linspace(-0.5, 0.5, C)
    bn.running_var[...] = np.linspace(0.5, 2.0, C)
    assert check_bn(bn, images(shape, 1), training=False) < TOL


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm2d_matches_torch(torch, affine):
    """Four training steps (outputs, dx, dγ, dβ each step), then the running statistics and
    the evaluation-mode output and input gradient."""
    C = 3
    bn = affine_bn2d(C, momentum=0.3) if affine else BatchNorm2d(C, momentum=0.3, affine=False)
    ref = torch.nn.BatchNorm2d(C, momentum=0.3, affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(bn.gamma))
            ref.bias.copy_(torch.from_numpy(bn.beta))
    for step, shape in enumerate([(4, C, 5, 6), (2, C, 3, 3), (6, C, 2, 4), (3, C, 7, 5)]):
        x, dout = images(shape, 10 + step, scale=1.0 + step), images(shape, 20 + step, 1.0, 0)
        xt = torch.tensor(x, requires_grad=True)
        out_t = ref(xt)
        out_t.backward(torch.from_numpy(dout))
        assert_close(bn.forward(x), out_t.detach().numpy())
        assert_close(bn.backward(dout), xt.grad.numpy())
        if affine:
            assert_close(bn.grad_gamma, ref.weight.grad.numpy())
            assert_close(bn.grad_beta, ref.bias.grad.numpy())
            ref.weight.grad = ref.bias.grad = None
        # torch's running variance is unbiased (M/(M − 1)), its momentum weighs the new batch
        assert np.max(np.abs(bn.running_mean - ref.running_mean.numpy())) < 1e-12
        assert np.max(np.abs(bn.running_var - ref.running_var.numpy())) < 1e-12
    ref.eval()
    x, dout = images((2, C, 4, 4), 30), images((2, C, 4, 4), 31, 1.0, 0)
    xt = torch.tensor(x, requires_grad=True)
    out_t = ref(xt)
    out_t.backward(torch.from_numpy(dout))
    before = bn.running_var.copy()
    assert_close(bn.forward(x, training=False), out_t.detach().numpy())
    assert_close(bn.backward(dout), xt.grad.numpy())
    assert np.array_equal(bn.running_var, before)  # evaluation leaves the statistics alone


def test_batchnorm2d_is_batchnorm1d_on_the_pixels():
    """Channels as features and every (example, pixel) as a row: the same numbers."""
    x, dout = images((3, 4, 5, 2), 40), images((3, 4, 5, 2), 41, 1.0, 0)
    bn2, bn1 = affine_bn2d(4, seed=2), BatchNorm1d(4)
    bn1.gamma[...], bn1.beta[...] = bn2.gamma, bn2.beta
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 4)
    out1 = bn1.forward(rows).reshape(3, 5, 2, 4).transpose(0, 3, 1, 2)
    dx1 = bn1.backward(dout.transpose(0, 2, 3, 1).reshape(-1, 4))
    assert np.max(np.abs(bn2.forward(x) - out1)) < 1e-13
    dx2 = bn2.backward(dout)
    assert np.max(np.abs(dx2 - dx1.reshape(3, 5, 2, 4).transpose(0, 3, 1, 2))) < 1e-13
    for a, b in zip(bn2.grads + bn2.buffers(), bn1.grads + bn1.buffers()):
        assert np.max(np.abs(a - b)) < 1e-12


def test_batchnorm2d_normalises_each_channel():
    bn = BatchNorm2d(3)
    out = bn.forward(images((4, 3, 6, 6), 50, scale=5.0, shift=-3.0))
    assert np.max(np.abs(out.mean(axis=(0, 2, 3)))) < 1e-12
    assert np.max(np.abs(out.var(axis=(0, 2, 3)) - 1)) < 1e-3  # eps = 1e-5 against var ≈ 25


def test_batchnorm2d_float32_stays_float32():
    bn = BatchNorm2d(2, dtype="float32")
    x = images((3, 2, 4, 4), 0).astype(np.float32)
    for training in (True, False):
        out = bn.forward(x, training)
        assert out.dtype == np.float32
        assert bn.backward(np.ones_like(out)).dtype == np.float32
    assert all(a.dtype == np.float32 for a in bn.params + bn.grads + bn.buffers())


@pytest.mark.parametrize(
    "x, training, message",
    [
        (np.zeros((4, 3)), True, "4 axes"),
        (np.zeros((2, 2, 4, 4)), True, r"\(m, 3, H, W\); got shape \(2, 2, 4, 4\)"),
        (np.zeros((1, 3, 1, 1)), True, "more than 1 value per channel"),
    ],
)
def test_batchnorm2d_bad_input(x, training, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm2d(3).forward(x, training)


def test_batchnorm2d_single_pixel_is_fine_in_eval_mode():
    assert BatchNorm2d(3).forward(np.ones((1, 3, 1, 1)), training=False).shape == (1, 3, 1, 1)
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm2d(3, momentum=1.5)
    with pytest.raises(RuntimeError, match="before forward"):
        BatchNorm2d(3).backward(np.ones((2, 3, 2, 2)))


# ---------------------------------------------------------------- GlobalAvgPool2d
def test_global_avg_pool_forward_backward_and_gradient_check():
    x = images((2, 3, 4, 5), 60)
    gap = GlobalAvgPool2d()
    out = gap.forward(x)
    assert out.shape == (2, 3)
    assert np.max(np.abs(out - x.mean(axis=(2, 3)))) < 1e-14
    dx = gap.backward(np.ones((2, 3)))
    assert dx.shape == x.shape and np.allclose(dx, 1 / 20)
    assert check_layer(GlobalAvgPool2d(), x) < TOL
    assert gap.params == [] and gap.config() == {"type": "GlobalAvgPool2d"}


def test_global_avg_pool_matches_torch(torch):
    x, G = images((3, 4, 5, 7), 61), images((3, 4), 62, 1.0, 0)
    gap = GlobalAvgPool2d()
    out = gap.forward(x)
    dx = gap.backward(G)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.adaptive_avg_pool2d(xt, 1).flatten(1)
    out_t.backward(torch.tensor(G))
    assert_close(out, out_t.detach().numpy())
    assert_close(dx, xt.grad.numpy())


def test_global_avg_pool_bad_input():
    with pytest.raises(ValueError, match=r"GlobalAvgPool2d expects input of shape \(m, C, H, W\)"):
        GlobalAvgPool2d().forward(np.zeros((2, 8)))
    with pytest.raises(RuntimeError, match="before forward"):
        GlobalAvgPool2d().backward(np.zeros((2, 8)))


# ---------------------------------------------------------------- a small network of them
def small_resnet_like():
    return Model(
        [Conv2d(1, 4, 3, padding=1, seed=0), BatchNorm2d(4), Activation("relu"),
         Residual([Conv2d(4, 4, 3, padding=2, dilation=2, seed=1), BatchNorm2d(4),
                   Activation("tanh")]),
         Conv2d(4, 6, 3, stride=2, padding=1, seed=2), BatchNorm2d(6, affine=False),
         ConvTranspose2d(6, 3, 4, stride=2, padding=1, seed=3), Activation("tanh"),
         GlobalAvgPool2d(), Linear(3, 5, seed=4), Activation("softmax")],
        cost="cross_entropy",
    )  # fmt: skip


def test_small_network_matches_torch(torch):
    """Every parameter gradient of a stack using all the new layers equals torch autograd's."""
    nn = torch.nn
    model = small_resnet_like()
    rng = np.random.default_rng(70)
    for layer in (model.layers[1], model.layers[3].children[0][1]):
        layer.gamma[...] = rng.uniform(0.5, 1.5, 4)
        layer.beta[...] = rng.standard_normal(4)
    X, y = rng.standard_normal((3, 1, 8, 8)), np.array([0, 4, 2])
    grads = model.gradients(X, y)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)
            self.c2, self.b2 = nn.Conv2d(4, 4, 3, padding=2, dilation=2), nn.BatchNorm2d(4)
            self.c3, self.b3 = nn.Conv2d(4, 6, 3, 2, 1), nn.BatchNorm2d(6, affine=False)
            self.t, self.fc = nn.ConvTranspose2d(6, 3, 4, 2, 1), nn.Linear(3, 5)

        def forward(self, x):
            h = torch.relu(self.b1(self.c1(x)))
            h = torch.tanh(self.b2(self.c2(h))) + h
            h = torch.tanh(self.t(self.b3(self.c3(h))))
            return self.fc(h.mean(dim=(2, 3)))

    net = Net().double()
    with torch.no_grad():
        for p, mine in zip(net.parameters(), model.parameters(), strict=True):
            p.copy_(torch.tensor(mine))
    loss = nn.functional.cross_entropy(net(torch.tensor(X)), torch.tensor(y))
    loss.backward()
    assert abs(loss.item() - model.cost(X, y, training=True)) < 1e-12  # batch statistics
    for p, mine in zip(net.parameters(), grads):
        assert_close(mine, p.grad.numpy())


def test_config_save_and_load_round_trip(tmp_path):
    model = small_resnet_like()
    X = images((4, 1, 8, 8), 80)
    model.fit(X, np.array([0, 1, 2, 3]), epochs=2, batch_size=2, lr=0.05, progress=False)
    assert np.any(model.layers[1].running_mean != 0)  # trained: buffers to save
    for layer in model.layers.children:
        assert from_config(layer.config()).config() == layer.config()
    config = model.layers.config()
    params, buffers = declared_shapes(config)
    assert params == [p.shape for p in model.parameters()]
    assert buffers == [b.shape for b in model.buffers()]
    again = Model.load(model.save(tmp_path / "cnn.npz"))
    assert again.layers.config() == config
    assert np.array_equal(again.forward(X), model.forward(X))


def test_conv2d_config_without_dilation_still_loads():
    """Files written before dilation existed hold Conv2d configs without the key."""
    config = Conv2d(2, 3, 3, seed=0).config()
    assert config["dilation"] == 1
    del config["dilation"]
    assert from_config(config).dilation == 1
    assert Conv2d(1, 1, 3, dilation=3).config()["dilation"] == 3


def test_summary_counts_the_new_layers():
    layers = Sequential(
        [Conv2d(3, 8, 3, padding=2, dilation=2, seed=0), BatchNorm2d(8), Activation("relu"),
         ConvTranspose2d(8, 4, 4, stride=2, padding=1, seed=1), GlobalAvgPool2d(),
         Linear(4, 10, seed=2)]
    )  # fmt: skip
    s = summary(layers, (3, 10, 12))
    rows = {r.name: r for r in s.rows}
    assert rows["Conv2d"].output_shape == (1, 8, 10, 12)
    assert rows["Conv2d"].params == 8 * 3 * 9 + 8
    assert rows["Conv2d"].mult_adds == 8 * 10 * 12 * (3 * 9)  # dilation costs nothing extra
    assert rows["BatchNorm2d"].params == 16 and rows["BatchNorm2d"].mult_adds == 0
    assert rows["ConvTranspose2d"].output_shape == (1, 4, 20, 24)
    assert rows["ConvTranspose2d"].params == 8 * 4 * 16 + 4
    assert rows["ConvTranspose2d"].mult_adds == (8 * 10 * 12) * (4 * 16)  # C_in·H·W · C_out·k²
    assert rows["GlobalAvgPool2d"].output_shape == (1, 4) and rows["GlobalAvgPool2d"].params == 0
    assert s.params == sum(p.size for p in layers.params)


# ---------------------------------------------------------------- receptive field
def test_receptive_field_of_known_stacks():
    three = receptive_field([Conv2d(1, 1, 3, padding=1) for _ in range(3)])
    assert (three.size, three.jump, three.start) == (7, 1, -3)  # VGG: three 3×3 see 7×7
    alex = receptive_field([Conv2d(3, 1, 11, stride=4, padding=2), MaxPool2d(3, 2)])
    assert (alex.size, alex.jump) == (11 + 2 * 4, 8)
    wavenet = receptive_field(
        [Conv2d(1, 1, 2, dilation=d) for d in (1, 2, 4, 8)]
    )  # doubling dilations: 2^L
    assert (wavenet.size, wavenet.jump, wavenet.start) == (16, 1, 0)
    model = Model([Conv2d(1, 2, 3, padding=1, seed=0), Activation("relu"), MaxPool2d(2),
                   BatchNorm2d(2), Dropout(0.5), Conv2d(2, 2, 3, padding=2, dilation=2)],
                  cost="quadratic")  # fmt: skip
    rf = receptive_field(model)
    assert (rf.size, rf.jump, rf.stride, rf.start) == (12, 2, 2, -5)
    assert [t.size for t in rf.steps] == [3, 4, 12] and [t.jump for t in rf.steps] == [1, 2, 2]
    assert rf.window(3) == (1, 12) and rf.window(0, length=8) == (0, 6)
    assert "MaxPool2d" in str(rf) and "size" in str(rf)


def test_receptive_field_of_branches_is_the_union():
    rf = receptive_field([Residual([Conv2d(1, 1, 5, padding=2), Activation("tanh")])])
    assert (rf.size, rf.start) == (5, -2)
    lopsided = Sum([Conv2d(1, 1, 3, padding=0), Conv2d(1, 1, 3, padding=2)])
    assert (receptive_field(lopsided).size, receptive_field(lopsided).start) == (5, -2)
    wide = Concat([Conv2d(1, 1, 1), Conv2d(1, 1, 3, padding=1, dilation=1)])
    assert receptive_field(wide).size == 3
    with pytest.raises(ValueError, match="different jumps"):
        receptive_field(Sum([Conv2d(1, 1, 3, stride=2), Conv2d(1, 1, 3)]))


@pytest.mark.parametrize(
    "layers, message",
    [
        ([Conv2d(1, 1, 3), Flatten()], "whole input"),
        ([Conv2d(1, 1, 3), GlobalAvgPool2d()], "whole input"),
        ([ConvTranspose2d(1, 1, 3)], "got ConvTranspose2d"),
    ],
)
def test_receptive_field_refuses_what_it_does_not_cover(layers, message):
    with pytest.raises(ValueError, match=message):
        receptive_field(layers)
    with pytest.raises(TypeError, match="receptive_field takes"):
        receptive_field("conv")


def gradient_footprint(layers, shape, position):
    """Pixels of the input on which output unit ``position`` = (channel, row, column)
    depends: the non-zero entries of ∂out/∂x, by one backward pass."""
    stack = Sequential(layers)
    x = np.random.default_rng(90).standard_normal(shape)
    out = stack.forward(x, training=False)
    dout = np.zeros_like(out)
    dout[(0, *position)] = 1.0
    dx = stack.backward(dout)
    mask = np.abs(dx).sum(axis=(0, 1)) > 0
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return mask, (rows.min(), rows.max()), (cols.min(), cols.max()), out.shape


FOOTPRINT_STACKS = {
    "vgg_block": lambda: [Conv2d(2, 3, 3, padding=1, seed=0), Activation("tanh"),
                          Conv2d(3, 3, 3, padding=1, seed=1), Activation("tanh"),
                          AvgPool2d(2), Conv2d(3, 2, 3, padding=1, seed=2)],
    "strided_dilated": lambda: [Conv2d(2, 3, 5, stride=2, padding=2, seed=3),
                                Activation("tanh"), BatchNorm2d(3),
                                Conv2d(3, 3, 3, padding=2, dilation=2, seed=4),
                                Activation("sigmoid"), AvgPool2d(3, 2),
                                Conv2d(3, 2, 2, seed=5)],
    "residual": lambda: [Conv2d(2, 3, 3, seed=6),
                         Residual([Conv2d(3, 3, 3, padding=1, seed=7), Activation("tanh"),
                                   Conv2d(3, 3, 3, padding=1, seed=8)]),
                         AvgPool2d(2, 1)],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FOOTPRINT_STACKS))
def test_receptive_field_equals_the_gradient_footprint(name):
    """Dense kernels with generic weights: the output unit depends on every pixel of its
    field and on no other, so the footprint is the field's square, clipped to the image."""
    layers = FOOTPRINT_STACKS[name]()
    rf = receptive_field(layers)
    H = W = 29
    out_shape = Sequential(FOOTPRINT_STACKS[name]()).forward(np.zeros((1, 2, H, W)), False).shape
    for r, q in [(out_shape[2] // 2, out_shape[3] // 2), (0, out_shape[3] - 1)]:  # centre, corner
        mask, rows, cols, _ = gradient_footprint(layers, (1, 2, H, W), (1, r, q))
        assert rows == rf.window(r, H) and cols == rf.window(q, W)
        assert mask.sum() == (rows[1] - rows[0] + 1) * (cols[1] - cols[0] + 1)  # no holes
    assert rf.window(out_shape[2] // 2, H) == rf.window(out_shape[2] // 2)  # centre: unclipped


def test_receptive_field_bounds_sparse_footprints():
    """Dilation alone leaves holes and a max pool passes one pixel per window: the footprint
    lies inside the field and touches its edges (dilation) or not (max pool)."""
    dilated = [Conv2d(1, 1, 3, dilation=4, seed=0)]
    rf = receptive_field(dilated)
    mask, rows, cols, _ = gradient_footprint(dilated, (1, 1, 15, 15), (0, 2, 3))
    assert rows == rf.window(2) == (2, 10) and cols == rf.window(3) == (3, 11)
    assert mask.sum() == 9  # the 3×3 taps, 4 pixels apart
    pooled = [Conv2d(1, 2, 3, padding=1, seed=1), MaxPool2d(2), Conv2d(2, 1, 3, padding=1, seed=2)]
    rf = receptive_field(pooled)
    mask, rows, cols, _ = gradient_footprint(pooled, (1, 1, 16, 16), (0, 4, 4))
    first, last = rf.window(4)
    assert first <= rows[0] and rows[1] <= last and first <= cols[0] and cols[1] <= last
    assert mask.sum() < rf.size**2


def test_batchnorm_in_training_mode_couples_every_pixel():
    """The receptive field assumes batch norm in evaluation mode: in training mode the batch
    mean and variance make every unit depend on every pixel."""
    layers = [Conv2d(1, 1, 3, padding=1, seed=0), BatchNorm2d(1)]
    stack = Sequential(layers)
    x = np.random.default_rng(0).standard_normal((1, 1, 9, 9))
    out = stack.forward(x, training=True)
    dout = np.zeros_like(out)
    dout[0, 0, 4, 4] = 1.0
    assert np.all(stack.backward(dout) != 0)
    assert receptive_field(layers).size == 3


def test_float32_stays_float32():
    x = images((2, 3, 6, 6), 95).astype(np.float32)
    for layer in (Conv2d(3, 2, 3, padding=2, dilation=2, dtype="float32", seed=0),
                  ConvTranspose2d(3, 2, 3, stride=2, output_padding=1, dtype="float32", seed=0),
                  GlobalAvgPool2d()):  # fmt: skip
        out = layer.forward(x)
        assert out.dtype == np.float32
        assert layer.backward(np.ones_like(out)).dtype == np.float32
        assert all(a.dtype == np.float32 for a in layer.params + layer.grads)

"""Grading tests for exercise 14: convolution and max pooling with loops, forward and backward.

Oracles: ``dlcourse.layers.Conv2d`` and ``MaxPool2d`` (an im2col implementation, itself
checked against PyTorch in tests/unit/test_conv.py) with the student's inputs, and central
differences for the combined gradient check. Points: 12 public + 10 hidden = 22.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import as_array, assert_close, call
from dlcourse.layers import Conv2d, MaxPool2d

EXERCISE = "14_convolution"

STRIDE_HINT = "the window of output (r, q) starts at row s*r and column s*q of the padded input"


def _case(rng, m, C_in, H, W_in, C_out, k):
    x = rng.normal(size=(m, C_in, H, W_in))
    W = rng.normal(size=(C_out, C_in, k, k))
    b = rng.normal(size=C_out)
    return x, W, b


def _layer(W, b, stride, padding):
    C_out, C_in, k, _ = W.shape
    layer = Conv2d(C_in, C_out, k, stride=stride, padding=padding)
    layer.W[...] = W
    layer.b[...] = b
    return layer


def _reference(x, W, b, stride, padding, dz=None):
    """(z, dx, dW, db) from the im2col layer; dz defaults to ones."""
    layer = _layer(W, b, stride, padding)
    z = layer.forward(x.copy())
    dz = np.ones_like(z) if dz is None else dz
    dx = layer.backward(dz)
    return z, dx, layer.grad_W.copy(), layer.grad_b.copy()


def _as_array(result, name):
    return as_array(result, name)


def _pool_backward_on_ties(x, dout, k, stride, rule):
    """Max-pool gradients with another tie rule: "last" maximum or "all" tied maxima."""
    dx = np.zeros(x.shape)
    m, C, H_out, W_out = dout.shape
    s = stride
    for i, c, r, q in np.ndindex(m, C, H_out, W_out):
        window = x[i, c, s * r : s * r + k, s * q : s * q + k]
        winners = np.argwhere(window == window.max())
        for u, v in winners if rule == "all" else winners[-1:]:
            dx[i, c, s * r + u, s * q + v] += dout[i, c, r, q]
    return dx


def check_forward(student, x, W, b, stride, padding, kind, public=True):
    z_ref = _reference(x, W, b, stride, padding)[0]
    z = _as_array(call(student, "conv2d_forward", x.copy(), W.copy(), b.copy(), stride, padding,
                       public=public), "conv2d_forward")  # fmt: skip
    assert z.shape == z_ref.shape, (
        f"conv2d_forward returns the wrong shape ({kind}): (m, C_out, H_out, W_out) with "
        "H_out = floor((H + 2p - k) / s) + 1"
    )
    flipped = _reference(x, W[:, :, ::-1, ::-1], b, stride, padding)[0]
    if not np.allclose(z_ref, flipped) and np.allclose(z, flipped):
        pytest.fail(
            "conv2d_forward flips the kernel: deep-learning convolution is the "
            "cross-correlation, W[o, c, u, v] multiplies x_pad[..., s*r + u, s*q + v]"
        )
    if np.allclose(z, z_ref - b[None, :, None, None]):
        pytest.fail(f"conv2d_forward forgets the bias b[o] ({kind})")
    assert_close(
        z,
        z_ref,
        f"conv2d_forward is wrong ({kind}); check the padding, and that {STRIDE_HINT}",
        rtol=1e-10,
        atol=1e-10,
        public=public,
        name="`z`",
    )


def check_grad_b(student, dz, public=True, kind=""):
    db = _as_array(call(student, "conv2d_grad_b", dz.copy(), public=public), "conv2d_grad_b")
    C_out = dz.shape[1]
    if db.shape == (dz.shape[0], C_out):
        pytest.fail(
            "conv2d_grad_b has one row per example: sum over the batch as well as over the "
            "positions, the bias is shared by all of them"
        )
    assert db.shape == (C_out,), "conv2d_grad_b must have the shape of b, (C_out,)"
    if dz.shape[0] > 1 and np.allclose(db, dz.mean(axis=0).sum(axis=(1, 2))):
        pytest.fail("conv2d_grad_b averages over the batch: sum over the examples instead")
    assert_close(
        db,
        dz.sum(axis=(0, 2, 3)),
        f"conv2d_grad_b is wrong{kind}: sum dz over the batch and over all positions (r, q)",
        rtol=1e-10,
        public=public,
        name="`db`",
    )


def check_grad_W(student, x, W, b, stride, padding, kind, rng, public=True):
    z = _reference(x, W, b, stride, padding)[0]
    dz = rng.normal(size=z.shape)
    dW_ref = _reference(x, W, b, stride, padding, dz)[2]
    dW = _as_array(call(student, "conv2d_grad_W", dz.copy(), x.copy(), W.shape, stride,
                        padding, public=public), "conv2d_grad_W")  # fmt: skip
    assert dW.shape == W.shape, "conv2d_grad_W must have the shape of W, (C_out, C_in, k, k)"
    if x.shape[0] > 1:
        last = _reference(x[-1:], W, b, stride, padding, dz[-1:])[2]
        if np.allclose(dW, last) or np.allclose(dW, dW_ref / x.shape[0]):
            pytest.fail(
                f"conv2d_grad_W does not sum over the batch ({kind}): every example adds "
                "its contribution (do not overwrite it, do not average)"
            )
    assert_close(
        dW,
        dW_ref,
        f"conv2d_grad_W is wrong ({kind}); {STRIDE_HINT}, in the backward pass too",
        rtol=1e-9,
        atol=1e-9,
        public=public,
        name="`dW`",
    )


def check_grad_x(student, x, W, b, stride, padding, kind, rng, public=True):
    z = _reference(x, W, b, stride, padding)[0]
    dz = rng.normal(size=z.shape)
    dx_ref = _reference(x, W, b, stride, padding, dz)[1]
    dx = _as_array(call(student, "conv2d_grad_x", dz.copy(), W.copy(), x.shape, stride,
                        padding, public=public), "conv2d_grad_x")  # fmt: skip
    assert dx.shape == x.shape, (
        f"conv2d_grad_x must have the shape of x ({kind}): cut the padding off at the end"
    )
    assert_close(
        dx,
        dx_ref,
        f"conv2d_grad_x is wrong ({kind}): add (+=) dz[i, o, r, q] * W[o] onto the window of "
        f"(r, q), where {STRIDE_HINT}, and remove the padding from both sides",
        rtol=1e-9,
        atol=1e-9,
        public=public,
        name="`dx`",
    )


def check_maxpool(student, x, k, stride, kind, rng, public=True):
    pool = MaxPool2d(k, stride)
    out_ref = pool.forward(x.copy())
    out = _as_array(call(student, "maxpool_forward", x.copy(), k, stride, public=public),
                    "maxpool_forward")  # fmt: skip
    assert out.shape == out_ref.shape, f"maxpool_forward returns the wrong shape ({kind})"
    assert_close(
        out,
        out_ref,
        f"maxpool_forward is wrong ({kind}): the maximum of x[i, c, s*r : s*r + k, s*q : s*q + k]",
        rtol=1e-12,
        public=public,
    )
    dout = rng.normal(size=out.shape)
    dx_ref = pool.backward(dout)
    dx = _as_array(call(student, "maxpool_backward", dout.copy(), x.copy(), k, stride,
                        public=public), "maxpool_backward")  # fmt: skip
    assert dx.shape == x.shape, "maxpool_backward must return an array of the shape of x"
    if not np.allclose(dx, dx_ref) and any(
        np.allclose(dx, _pool_backward_on_ties(x, dout, k, stride, rule))
        for rule in ("last", "all")
    ):
        pytest.fail(
            f"on a tie, give the whole gradient of the window to the FIRST maximum in row-major "
            f"order (np.argmax of the flattened window), as PyTorch does ({kind})"
        )
    if np.count_nonzero(dx) > np.count_nonzero(dx_ref):
        pytest.fail(
            f"maxpool_backward sends gradient to entries that are not the maximum of their "
            f"window ({kind}): only the maximum receives dout"
        )
    assert_close(
        dx,
        dx_ref,
        f"maxpool_backward is wrong ({kind}): each window's dout goes to the position of its "
        "maximum, and overlapping windows add up",
        rtol=1e-12,
        public=public,
    )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(3)
def test_conv2d_forward(student):
    rng = np.random.default_rng(0)
    check_forward(student, *_case(rng, 2, 1, 4, 4, 2, 3), 1, 0, "stride 1, no padding")
    check_forward(student, *_case(rng, 2, 2, 7, 6, 3, 3), 2, 1, "stride 2, padding 1")


@pytest.mark.points(1)
def test_conv2d_grad_b(student):
    check_grad_b(student, np.random.default_rng(1).normal(size=(3, 2, 4, 5)))


@pytest.mark.points(2)
def test_conv2d_grad_W(student):
    rng = np.random.default_rng(2)
    check_grad_W(student, *_case(rng, 2, 2, 7, 6, 3, 3), 2, 1, "stride 2, padding 1", rng)


@pytest.mark.points(3)
def test_conv2d_grad_x(student):
    rng = np.random.default_rng(3)
    check_grad_x(student, *_case(rng, 2, 2, 5, 6, 2, 3), 1, 1, "stride 1, padding 1", rng)
    check_grad_x(student, *_case(rng, 1, 2, 7, 7, 2, 3), 2, 0, "stride 2, no padding", rng)


@pytest.mark.points(1)
def test_maxpool_forward(student):
    x = np.random.default_rng(4).normal(size=(2, 3, 6, 4))
    out = _as_array(call(student, "maxpool_forward", x.copy(), 2, 2), "maxpool_forward")
    assert out.shape == (2, 3, 3, 2), "maxpool_forward(x, 2, 2) must halve height and width"
    assert_close(
        out,
        MaxPool2d(2).forward(x),
        "maxpool_forward is wrong: the maximum of each 2 x 2 window, channel by channel",
    )


@pytest.mark.points(2)
def test_maxpool_backward(student):
    rng = np.random.default_rng(5)
    check_maxpool(student, rng.normal(size=(2, 2, 6, 6)), 2, 2, "2 x 2 windows, stride 2", rng)
    ties = rng.integers(0, 3, size=(1, 2, 4, 6)).astype(float)  # small integers: many ties
    check_maxpool(student, ties, 2, 2, "windows with tied maxima", rng)


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(2)
def test_conv2d_forward_random(student):
    rng = np.random.default_rng(140)
    for m, C_in, H, W_in, C_out, k, s, p in [(1, 3, 8, 5, 2, 3, 3, 2), (3, 1, 5, 5, 4, 5, 1, 0),
                                             (2, 2, 9, 7, 1, 2, 2, 1)]:  # fmt: skip
        x, W, b = _case(rng, m, C_in, H, W_in, C_out, k)
        check_forward(student, x, W, b, s, p, "other shapes, strides and paddings", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_conv2d_grad_b_random(student):
    dz = np.random.default_rng(141).normal(size=(5, 4, 2, 3))
    check_grad_b(student, dz, public=False, kind=" for a larger batch")


@pytest.mark.hidden
@pytest.mark.points(2)
def test_conv2d_grad_W_random(student):
    rng = np.random.default_rng(142)
    for m, C_in, H, W_in, C_out, k, s, p in [(3, 2, 8, 7, 2, 3, 3, 1), (2, 1, 6, 6, 3, 4, 1, 2)]:
        x, W, b = _case(rng, m, C_in, H, W_in, C_out, k)
        check_grad_W(student, x, W, b, s, p, "other strides and paddings", rng, public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_conv2d_grad_x_random(student):
    rng = np.random.default_rng(143)
    for m, C_in, H, W_in, C_out, k, s, p in [(2, 3, 8, 6, 2, 3, 2, 2), (1, 1, 6, 9, 2, 4, 3, 1)]:
        x, W, b = _case(rng, m, C_in, H, W_in, C_out, k)
        check_grad_x(student, x, W, b, s, p, "other strides and paddings", rng, public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_maxpool_overlapping_windows(student):
    rng = np.random.default_rng(144)
    check_maxpool(student, rng.normal(size=(2, 2, 7, 8)), 3, 2, "overlapping windows", rng,
                  public=False)  # fmt: skip
    check_maxpool(student, rng.normal(size=(1, 3, 5, 7)), 2, 3, "windows with gaps", rng,
                  public=False)  # fmt: skip
    ties = rng.integers(0, 2, size=(2, 1, 7, 7)).astype(float)
    check_maxpool(student, ties, 3, 2, "overlapping windows with tied maxima", rng,
                  public=False)  # fmt: skip


@pytest.mark.hidden
@pytest.mark.points(1)
def test_gradients_against_finite_differences(student):
    """The three gradients together against central differences of sum(G * z)."""
    rng = np.random.default_rng(145)
    x, W, b = _case(rng, 2, 2, 6, 5, 2, 3)
    s, p = 2, 1
    layer = _layer(W, b, s, p)
    G = rng.normal(size=layer.forward(x).shape)

    def loss():
        return float(np.sum(G * layer.forward(x)))

    numeric = [numerical_gradient(loss, a) for a in (x, layer.W, layer.b)]
    got = [
        call(student, "conv2d_grad_x", G.copy(), W.copy(), x.shape, s, p, public=False),
        call(student, "conv2d_grad_W", G.copy(), x.copy(), W.shape, s, p, public=False),
        call(student, "conv2d_grad_b", G.copy(), public=False),
    ]
    for name, g, n in zip(("x", "W", "b"), got, numeric):
        g = _as_array(g, f"conv2d_grad_{name}")
        assert g.shape == n.shape and np.allclose(g, n, rtol=1e-5, atol=1e-7), (
            f"the gradient with respect to {name} disagrees with finite differences "
            "(stride 2 with padding)"
        )

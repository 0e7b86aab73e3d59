"""Grading tests for exercise 13: a residual block and pooling over set elements.

Oracles: ``dlcourse.layers`` (``Residual([Linear, Activation("relu"), Linear])`` and
``SetPool``, both checked against finite differences and PyTorch) with the student's weights
copied in. Points: 10 public + 10 hidden = 20.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import arrays, call
from dlcourse.layers import Activation, Linear, Residual, SetPool

EXERCISE = "13_residual_sets"


def _block(rng, m, d, H):
    x = rng.normal(size=(m, d))
    W1, b1 = rng.normal(size=(H, d)), rng.normal(size=H) * 0.5
    W2, b2 = rng.normal(size=(d, H)), rng.normal(size=d)
    return x, W1, b1, W2, b2


def _oracle_block(x, W1, b1, W2, b2, dout):
    first, second = Linear(x.shape[1], W1.shape[0]), Linear(W1.shape[0], x.shape[1])
    first.W[...], first.b[...], second.W[...], second.b[...] = W1, b1, W2, b2
    block = Residual([first, Activation("relu"), second])
    out = block.forward(x)
    dx = block.backward(dout)
    return out, (dx, first.grad_W, first.grad_b, second.grad_W, second.grad_b)


def check_forward(student, args, kind, public=True):
    copies = [a.copy() for a in args]
    result = call(student, "residual_forward", *copies, public=public, must_not_modify=True)
    try:
        out, cache = result
    except (TypeError, ValueError):
        pytest.fail("residual_forward must return (out, cache)")
    out = arrays([out], 1, "residual_forward")[0]
    expected, _ = _oracle_block(*args, np.zeros_like(args[0]))
    if out.shape == expected.shape and np.allclose(out, expected - args[0]):
        pytest.fail(f"the output is F(x) alone: add the identity path, out = x + F(x) ({kind})")
    assert out.shape == expected.shape, f"out must have the shape of x ({kind})"
    assert np.allclose(out, expected, rtol=1e-10, atol=1e-12), (
        f"residual_forward is wrong ({kind}): out = x + relu(x W1^T + b1) W2^T + b2"
    )
    return cache


NAMES = ("dx", "dW1", "db1", "dW2", "db2")
HINTS = {
    "dx": "dout flows along the identity path too: dx = dout + (gradient through F)",
    "dW1": "dW1 = (dL/dz)^T x with dL/dz = (dout W2) ⊙ [z > 0]",
    "db1": "db1 sums dL/dz over the rows of the batch",
    "dW2": "dW2 = dout^T h, shape (d, H)",
    "db2": "db2 sums dout over the rows of the batch",
}


def check_backward(student, args, dout, kind, public=True):
    x, W1, b1, W2, b2 = args
    z = x @ W1.T + b1
    cache = (x.copy(), z, np.maximum(z, 0.0))
    given = [dout.copy(), tuple(c.copy() for c in cache), W1.copy(), W2.copy()]
    result = call(student, "residual_backward", *given, public=public, must_not_modify=True)
    got = arrays(result, 5, "residual_backward (dx, dW1, db1, dW2, db2)")
    _, expected = _oracle_block(x, W1, b1, W2, b2, dout)
    for name, g, e in zip(NAMES, got, expected):
        if g.shape != e.shape:
            pytest.fail(f"{name} must have shape {e.shape} ({kind})")
    if np.allclose(got[0], expected[0] - dout):
        pytest.fail(f"dx is missing the identity path: add dout ({kind})")
    if x.shape[0] > 1 and np.allclose(got[4], expected[4] / x.shape[0]):
        pytest.fail(f"db2 is m times too small: sum over the batch, do not average ({kind})")
    for name, g, e in zip(NAMES, got, expected):
        if not np.allclose(g, e, rtol=1e-9, atol=1e-11):
            pytest.fail(f"{name} is wrong ({kind}); {HINTS[name]}")


def check_pool(student, X, mode, dout, kind, public=True):
    layer = SetPool(mode)
    expected_out = layer.forward(X)
    expected_dx = layer.backward(dout)
    Xc = X.copy()
    out = arrays(
        [call(student, "set_pool_forward", Xc, mode, public=public, must_not_modify=True)],
        1,
        "set_pool",
    )[0]
    assert out.shape == expected_out.shape, f"{mode} pooling must return shape (m, d) ({kind})"
    assert np.allclose(out, expected_out, rtol=1e-12), (
        f"{mode} pooling is wrong ({kind}): pool over the element axis (axis 1)"
    )
    Xc, dc = X.copy(), dout.copy()
    dx = call(student, "set_pool_backward", dc, Xc, mode, public=public, must_not_modify=True)
    dx = arrays([dx], 1, "set_pool_backward")[0]
    assert dx.shape == X.shape, f"the gradient must have the shape of X, (m, k, d) ({kind})"
    if mode == "mean" and X.shape[1] > 1 and np.allclose(dx, expected_dx * X.shape[1]):
        pytest.fail(f"mean pooling passes dout / k to each element, not dout ({kind})")
    if mode == "max" and not np.allclose(dx.sum(axis=1), dout):
        pytest.fail(
            f"max pooling must pass each feature's gradient on exactly once in total; when "
            f"elements tie for the maximum, share it equally among them ({kind})"
        )
    assert np.allclose(dx, expected_dx, rtol=1e-12, atol=1e-15), (
        f"{mode} pooling backward is wrong ({kind})"
    )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(2)
def test_residual_forward(student):
    rng = np.random.default_rng(0)
    check_forward(student, _block(rng, 4, 3, 5), "m=4, d=3, H=5")


@pytest.mark.points(4)
def test_residual_backward(student):
    rng = np.random.default_rng(1)
    args = _block(rng, 4, 3, 5)
    check_backward(student, args, rng.normal(size=(4, 3)), "m=4, d=3, H=5")


@pytest.mark.points(2)
def test_mean_pool(student):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3, 5, 4))
    check_pool(student, X, "mean", rng.normal(size=(3, 4)), "3 sets of 5 elements")


@pytest.mark.points(2)
def test_max_pool(student):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 5, 4))
    check_pool(student, X, "max", rng.normal(size=(3, 4)), "3 sets of 5 elements, no ties")


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(3)
def test_residual_other_sizes(student):
    rng = np.random.default_rng(130)
    for m, d, H in [(1, 2, 7), (6, 5, 3)]:
        args = _block(rng, m, d, H)
        check_forward(student, args, "other sizes", public=False)
        check_backward(student, args, rng.normal(size=(m, d)), "other sizes", public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_residual_dead_units(student):
    rng = np.random.default_rng(131)
    x, W1, b1, W2, b2 = _block(rng, 5, 3, 4)
    b1 = b1 - 50.0  # every hidden unit is off: only the identity path carries gradient
    check_backward(student, (x, W1, b1, W2, b2), rng.normal(size=(5, 3)),
                   "a block whose hidden units are all off", public=False)  # fmt: skip


@pytest.mark.hidden
@pytest.mark.points(3)
def test_max_pool_with_ties(student):
    rng = np.random.default_rng(132)
    X = rng.integers(0, 3, size=(4, 6, 3)).astype(float)  # many ties among small integers
    check_pool(student, X, "max", rng.normal(size=(4, 3)), "sets with tied maxima",
               public=False)  # fmt: skip


@pytest.mark.hidden
@pytest.mark.points(2)
def test_pooling_other_sizes(student):
    rng = np.random.default_rng(133)
    for mode in ("mean", "max"):
        X = rng.normal(size=(2, 1, 7))
        check_pool(student, X, mode, rng.normal(size=(2, 7)), "sets of one element",
                   public=False)  # fmt: skip
        X = rng.normal(size=(1, 40, 2))
        check_pool(student, X, mode, rng.normal(size=(1, 2)), "a large set", public=False)

"""Grading tests for exercise 13: a residual block and pooling over set elements.

Oracles: ``dlcourse.layers`` (``Residual([Linear, Activation("relu"), Linear])`` and
``SetPool``, both checked against finite differences and PyTorch) with the student's weights
copied in. Points: 10 public + 10 hidden = 20.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import arrays, assert_close, call
from dlcourse.layers import Activation, Linear, Residual, SetPool

EXERCISE = "13_residual_sets"


def _block(rng, m, d, H):
    x = rng.normal(size=(m, d))
    W1, b1 = rng.normal(size=(H, d)), rng.normal(size=H) * 0.5
    W2, b2 = rng.normal(size=(d, H)), rng.normal(size=d)
    return x, W1, b1, W2, b2


def _block_with_zeros(rng, m, d, H):
    """A block whose first example has z = x W1^T + b1 exactly 0 in every hidden unit.

    Small integers keep every product and sum exact, so the zeros are exact: the case
    where ReLU's derivative is a choice (the exercise fixes it to 0).
    """
    x = rng.integers(-3, 4, size=(m, d)).astype(float)
    W1 = rng.integers(-2, 3, size=(H, d)).astype(float)
    b1 = -(x[0] @ W1.T)
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
    assert_close(
        out,
        expected,
        f"residual_forward is wrong ({kind}): out = x + relu(x W1^T + b1) W2^T + b2",
        rtol=1e-10,
        atol=1e-12,
        public=public,
        name="`out`",
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
    if np.any(z == 0):
        ones_at_zero = _relu_prime_one_at_zero(x, W1, b1, W2, b2, dout)
        if not np.allclose(got[1], expected[1]) and np.allclose(got[1], ones_at_zero):
            pytest.fail(
                f"where z is exactly 0 the ReLU derivative must be 0, as the exercise says: "
                f"multiply by [z > 0], not [z >= 0] ({kind})"
            )
    # upstream gradients first: a wrong ReLU step shows in dW1 before it spoils dx
    for name in ("dW2", "db2", "dW1", "db1", "dx"):
        g, e = got[NAMES.index(name)], expected[NAMES.index(name)]
        assert_close(
            g,
            e,
            f"{name} is wrong ({kind}); {HINTS[name]}",
            rtol=1e-9,
            atol=1e-11,
            public=public,
            name=f"`{name}`",
        )


def _relu_prime_one_at_zero(x, W1, b1, W2, b2, dout):
    """dW1 as a backward pass with ReLU'(0) = 1 gives it (the wrong choice here)."""
    z = x @ W1.T + b1
    dz = (dout @ W2) * (z >= 0)
    return dz.T @ x


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
    assert_close(
        out,
        expected_out,
        f"{mode} pooling is wrong ({kind}): pool over the element axis (axis 1)",
        rtol=1e-12,
        public=public,
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
    ties = X == X.max(axis=1, keepdims=True)
    if mode == "max" and np.any(ties.sum(axis=1) > 1):
        first = ties & (np.cumsum(ties, axis=1) == 1)
        if not np.allclose(dx, expected_dx) and np.allclose(dx, first * dout[:, None, :]):
            pytest.fail(
                f"when elements tie for the maximum, share the gradient equally among them "
                f"(dout / number of tied elements each), not all of it to the first ({kind})"
            )
    assert_close(
        dx,
        expected_dx,
        f"{mode} pooling backward is wrong ({kind})",
        rtol=1e-12,
        atol=1e-15,
        public=public,
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
    args = _block_with_zeros(rng, 3, 3, 4)
    check_backward(student, args, rng.normal(size=(3, 3)), "an example with z = 0 exactly")


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
    X = np.array([[[1.0, 0.0], [3.0, 2.0], [3.0, 2.0], [-1.0, 2.0]]])  # ties of 2 and of 3
    check_pool(student, X, "max", rng.normal(size=(1, 2)), "a set with tied maxima")


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
    args = _block_with_zeros(rng, 4, 2, 6)
    check_backward(student, args, rng.normal(size=(4, 2)),
                   "a block with hidden units at exactly 0", public=False)  # fmt: skip


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

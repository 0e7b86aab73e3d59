"""Grading tests for exercise 09: L2 regularisation and inverted dropout.

Oracles: the formulas re-written here; dropout masks from the same documented random rule.
Points: 6 public + 6 hidden = 12.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import call

EXERCISE = "09_regularization"


def _mask(shape, p, seed):
    return (np.random.default_rng(seed).random(shape) >= p) / (1.0 - p)


def check_penalty(student, weights, l2, n, public=True):
    got = float(call(student, "l2_penalty", [W.copy() for W in weights], l2, n, public=public))
    total = sum(float(np.sum(W * W)) for W in weights)
    if l2 > 0 and np.isclose(got, l2 / n * total):
        pytest.fail("the L2 penalty is twice too large: the factor is λ/(2n)")
    assert np.isclose(got, l2 / (2 * n) * total), (
        "l2_penalty is wrong: λ/(2n) times the sum of the squares of all weights of all layers"
    )


def check_mask(mask, shape, p, seed):
    mask = np.asarray(mask, dtype=float)
    assert mask.shape == tuple(shape), "the dropout mask must have the requested shape"
    expected = _mask(shape, p, seed)
    if p > 0 and np.array_equal(mask, expected * (1 - p)):
        pytest.fail(
            "kept units must be scaled by 1/(1 − p) (inverted dropout), so that the expected "
            "activation does not change"
        )
    assert np.allclose(mask, expected), (
        "the mask is wrong: keep where np.random.default_rng(seed).random(shape) >= p, "
        "value 1/(1 − p) there and 0 elsewhere"
    )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_l2_penalty(student):
    weights = [np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([[3.0, 1.0]])]
    check_penalty(student, weights, 0.1, 50)


@pytest.mark.points(1)
def test_l2_grad(student):
    W, g = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[0.1, 0.2], [-0.3, 0.0]])
    got = np.asarray(call(student, "l2_grad", W.copy(), g.copy(), 2.0, 10), dtype=float)
    if np.allclose(got, g + 2.0 * W):
        pytest.fail("the L2 term of the gradient must be (λ/n) W: divide by n")
    assert np.allclose(got, g + 0.2 * W), "l2_grad is wrong: dC0/dW + (λ/n) W"


@pytest.mark.points(2)
def test_dropout_mask(student):
    check_mask(call(student, "dropout_mask", (4, 5), 0.5, 0), (4, 5), 0.5, 0)


@pytest.mark.points(2)
def test_dropout_forward(student):
    A = np.arange(1.0, 13.0).reshape(3, 4)
    got = np.asarray(call(student, "dropout_forward", A.copy(), 0.25, 1, True), dtype=float)
    expected = A * _mask(A.shape, 0.25, 1)
    if np.allclose(got, expected * 0.75):
        pytest.fail("kept activations must be scaled by 1/(1 − p) (inverted dropout)")
    assert np.allclose(got, expected), (
        "dropout_forward in training mode must return A * dropout_mask(A.shape, p, seed)"
    )


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_l2_penalty_random(student):
    rng = np.random.default_rng(90)
    weights = [rng.normal(size=tuple(rng.integers(1, 6, size=2))) for _ in range(3)]
    check_penalty(
        student, weights, float(rng.uniform(0.1, 5)), int(rng.integers(10, 1000)), public=False
    )
    check_penalty(student, weights, 0.0, 100, public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_l2_grad_random(student):
    rng = np.random.default_rng(91)
    W, g = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    l2, n = float(rng.uniform(0.1, 5)), int(rng.integers(10, 1000))
    got = np.asarray(call(student, "l2_grad", W.copy(), g.copy(), l2, n, public=False), float)
    assert np.allclose(got, g + l2 / n * W), "l2_grad is wrong for random λ and n: dC0/dW + (λ/n) W"


@pytest.mark.hidden
@pytest.mark.points(2)
def test_dropout_mask_random(student):
    rng = np.random.default_rng(92)
    for p in (0.0, float(rng.uniform(0.1, 0.9))):
        shape = tuple(int(s) for s in rng.integers(2, 8, size=2))
        seed = int(rng.integers(0, 10_000))
        check_mask(call(student, "dropout_mask", shape, p, seed, public=False), shape, p, seed)
    big = np.asarray(call(student, "dropout_mask", (300, 200), 0.3, 7, public=False), float)
    assert abs(big.mean() - 1.0) < 0.02, (
        "the mean of a large dropout mask must be about 1: scale kept units by 1/(1 − p)"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_dropout_eval_mode(student):
    A = np.random.default_rng(93).normal(size=(5, 3))
    got = np.asarray(call(student, "dropout_forward", A.copy(), 0.5, 3, False, public=False))
    assert np.allclose(got, A), (
        "in evaluation mode (training=False) dropout must return A unchanged"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_dropout_forward_random(student):
    rng = np.random.default_rng(94)
    A = rng.normal(size=(int(rng.integers(2, 9)), int(rng.integers(2, 9))))
    p, seed = float(rng.uniform(0.1, 0.8)), int(rng.integers(0, 1000))
    got = np.asarray(call(student, "dropout_forward", A.copy(), p, seed, True, public=False))
    assert np.allclose(got, A * _mask(A.shape, p, seed)), (
        "dropout_forward is wrong on a random batch: A * mask, kept units scaled by 1/(1 − p)"
    )

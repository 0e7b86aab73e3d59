"""Grading tests for exercise 01: the perceptron.

The oracle is :class:`dlcourse.perceptron.Perceptron` (and the NAND truth table); nothing
is imported from solutions/. Points: 6 public + 5 hidden = 11.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import call
from dlcourse.perceptron import GATE_INPUTS, TRUTH_TABLES, Perceptron

EXERCISE = "01_perceptron"


def unpack_update(result, name="perceptron_update"):
    try:
        w, b = result
        return np.asarray(w, dtype=float), float(b)
    except (TypeError, ValueError):
        pytest.fail(f"`{name}` must return a pair (w_new, b_new)")


def unpack_training(result):
    try:
        w, b, mistakes = result
        return np.asarray(w, dtype=float), float(b), [int(v) for v in mistakes]
    except (TypeError, ValueError):
        pytest.fail("`train_perceptron` must return a triple (w, b, mistakes)")


def oracle(X, y, epochs, lr=1.0):
    p = Perceptron(X.shape[1], lr=lr).fit(X, y, epochs=epochs)
    return p.weights, p.bias, p.mistakes


def separable(rng, m, n):
    """m random points in R^n labelled by a random hyperplane, kept away from it."""
    w_true, b_true = rng.normal(size=n), rng.normal(scale=0.5)
    X = rng.uniform(-2, 2, size=(8 * m, n))
    z = (X @ w_true + b_true) / np.linalg.norm(w_true)
    keep = np.abs(z) > 0.2
    return X[keep][:m], (z[keep][:m] > 0).astype(int)


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_perceptron_output_single(student):
    w, b = np.array([0.5, -1.0, 2.0]), -0.25
    out = call(student, "perceptron_output", w, b, np.array([1.0, 0.0, 0.0]))  # z = 0.25
    assert np.ndim(out) == 0, "for one example x of shape (n,) return a single 0 or 1"
    assert int(out) == 1, "output must be 1 when w·x + b > 0"
    out = call(student, "perceptron_output", w, b, np.array([0.0, 1.0, 0.0]))  # z = -1.25
    assert int(out) == 0, "output must be 0 when w·x + b < 0"
    out = call(student, "perceptron_output", w, b, np.array([0.0, 0.0, 0.1]))  # z = 0.2 - 0.25
    assert int(out) == 0, (
        "output must be 0 when w·x = 0.2 and b = -0.25: did you forget to add the bias b to w·x?"
    )
    out = call(student, "perceptron_output", w, -0.5, np.array([1.0, 0.0, 0.0]))  # z = 0
    assert int(out) == 0, "a weighted input of exactly 0 must give 0: the test is z > 0, not z >= 0"


@pytest.mark.points(1)
def test_perceptron_output_batch(student):
    w, b = np.array([1.0, 2.0]), -1.5
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-3.0, 3.0]])
    out = np.asarray(call(student, "perceptron_output", w, b, X))
    assert out.shape == (5,), (
        f"for a batch X of shape (5, 2) return one output per row, shape (5,); got {out.shape}"
    )
    assert out.tolist() == [0, 0, 1, 1, 1], (
        "wrong outputs on a batch: compute z = X @ w + b for all rows, then 1 where z > 0"
    )


@pytest.mark.points(1)
def test_nand_truth_table(student):
    got = [call(student, "nand", int(a), int(c)) for a, c in GATE_INPUTS]
    assert [int(v) for v in got] == list(TRUTH_TABLES["NAND"]), (
        f"nand gives {[int(v) for v in got]} for the inputs 00, 01, 10, 11; NAND is 1, 1, 1, 0 "
        "(weights (-2, -2) and bias 3)"
    )
    assert all(isinstance(v, (int, np.integer)) for v in got), "nand must return an int"


@pytest.mark.points(1)
def test_update_on_mistake(student):
    w = np.array([1.0, -1.0])
    # label 1 but z = -1 + 0.5 = -0.5: wrong, so w + 0.5 * (+1) * x, b + 0.5
    w_new, b_new = unpack_update(
        call(student, "perceptron_update", w.copy(), 0.5, np.array([0.0, 1.0]), 1, 0.5)
    )
    assert np.allclose(w_new, [1.0, -0.5]) and np.isclose(b_new, 1.0), (
        "a misclassified example with label 1 must give w + lr*x and b + lr"
    )
    # label 0 but z = 1 + 0.5 = 1.5 > 0: wrong, so w - 0.5 * x, b - 0.5
    w_new, b_new = unpack_update(
        call(student, "perceptron_update", w.copy(), 0.5, np.array([1.0, 0.0]), 0, 0.5)
    )
    assert np.allclose(w_new, [0.5, -1.0]) and np.isclose(b_new, 0.0), (
        "a misclassified example with label 0 must move w and b the other way: use the sign "
        "t = 2y - 1 = -1, not the label y = 0 itself"
    )


@pytest.mark.points(1)
def test_update_no_change_when_correct(student):
    w = np.array([1.0, -1.0])
    w_in = w.copy()
    w_new, b_new = unpack_update(
        call(student, "perceptron_update", w_in, 0.5, np.array([1.0, 0.0]), 1, 0.5)
    )
    assert np.allclose(w_new, w) and np.isclose(b_new, 0.5), (
        "a correctly classified example must leave w and b unchanged: update only on a mistake"
    )
    # a mistake (z = -1 + 0.5 < 0 with label 1): the exercise says not to modify w
    call(
        student,
        "perceptron_update",
        w_in,
        0.5,
        np.array([0.0, 1.0]),
        1,
        0.5,
        must_not_modify="perceptron_update modified the w it was given: return a new array "
        "(w + ...), as the exercise asks",
    )


@pytest.mark.points(1)
def test_train_learns_and(student):
    X, y = GATE_INPUTS.copy(), np.array(TRUTH_TABLES["AND"])
    w, b, mistakes = unpack_training(call(student, "train_perceptron", X, y, 50))
    w_ref, b_ref, mistakes_ref = oracle(X, y, 50)
    assert mistakes and mistakes[-1] == 0, (
        "training on the AND gate, which a line separates, never reached an epoch without "
        "mistakes: check the update rule (the last count must be 0 when training converges)"
    )
    assert 0 not in mistakes[:-1], (
        "training went on after an epoch without mistakes: stop right after the first epoch "
        "with 0 mistakes"
    )
    assert mistakes == mistakes_ref, (
        f"mistakes per epoch are {mistakes}, expected {mistakes_ref}: start from w = 0, b = 0, "
        "visit the examples in order, count a mistake before updating"
    )
    assert np.allclose(w, w_ref) and np.isclose(b, b_ref), (
        f"learned w = {w}, b = {b}; expected {w_ref}, {b_ref}"
    )


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_output_random_batches(student):
    rng = np.random.default_rng(11)
    for m, n in [(1, 3), (7, 5), (20, 2)]:
        w, b = rng.normal(size=n), float(rng.normal())
        X = rng.normal(size=(m, n))
        X[0] = 0.0  # z = b exactly for the first row
        out = np.asarray(call(student, "perceptron_output", w, b, X, public=False))
        assert out.shape == (m,), "perceptron_output gives the wrong shape on a random batch"
        assert out.tolist() == (X @ w + b > 0).astype(int).tolist(), (
            "perceptron_output is wrong on a random batch with several inputs"
        )
    w = np.array([1.0, 1.0, -2.0])
    out = np.asarray(call(student, "perceptron_output", w, 0.0, np.ones((3, 3)), public=False))
    assert out.tolist() == [0, 0, 0], "perceptron_output is wrong where w·x + b is exactly 0"


@pytest.mark.hidden
@pytest.mark.points(1)
def test_update_random_cases(student):
    rng = np.random.default_rng(12)
    for _ in range(20):
        n = int(rng.integers(1, 6))
        w, b = rng.normal(size=n), float(rng.normal())
        x, y, lr = rng.normal(size=n), int(rng.integers(0, 2)), float(rng.uniform(0.1, 2))
        w_new, b_new = unpack_update(
            call(student, "perceptron_update", w.copy(), b, x.copy(), y, lr, public=False)
        )
        t = 2 * y - 1
        wrong = (x @ w + b > 0) != (y == 1)
        w_ref = w + lr * t * x if wrong else w
        b_ref = b + lr * t if wrong else b
        assert np.allclose(w_new, w_ref) and np.isclose(b_new, b_ref), (
            "perceptron_update is wrong on random examples with other sizes and learning rates"
        )


@pytest.mark.hidden
@pytest.mark.points(2)
def test_train_random_separable(student):
    rng = np.random.default_rng(13)
    for m, n, lr in [(30, 2, 1.0), (40, 4, 0.3)]:
        X, y = separable(rng, m, n)
        w, b, mistakes = unpack_training(
            call(student, "train_perceptron", X.copy(), y.copy(), 200, lr, public=False)
        )
        w_ref, b_ref, mistakes_ref = oracle(X, y, 200, lr)
        assert 0 not in mistakes[:-1], (
            "training went on after an epoch without mistakes on random separable data"
        )
        assert mistakes == mistakes_ref, (
            "the mistakes per epoch differ from the perceptron rule on random separable data"
        )
        assert np.allclose(w, w_ref) and np.isclose(b, b_ref), (
            "the learned weights differ from the perceptron rule on random separable data "
            "(check the learning rate is used)"
        )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_train_xor_runs_all_epochs(student):
    X, y = GATE_INPUTS.copy(), np.array(TRUTH_TABLES["XOR"])
    w, b, mistakes = unpack_training(call(student, "train_perceptron", X, y, 17, public=False))
    _, _, mistakes_ref = oracle(X, y, 17)
    assert len(mistakes) == 17, "on data that no line separates training must run every epoch"
    assert mistakes == mistakes_ref, "the mistakes per epoch are wrong on non-separable data"

"""Hebbian learning (Chapter 1): closed forms, the eigenvector oracle and the failures the
chapter reports."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.hebb import hebb_weights, plasticity
from dlcourse.perceptron import Perceptron, logic_gate


def test_hebb_weights_is_the_sum_of_target_times_input():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3))
    y = np.array([1, 0, 0, 1, 1, 0, 1])
    w, b = hebb_weights(X, y, lr=0.5)
    t = 2 * y - 1
    expected = sum(0.5 * ti * xi for ti, xi in zip(t, X))  # one update per example, in order
    np.testing.assert_allclose(w, expected, rtol=1e-14)
    assert b == pytest.approx(0.5 * t.sum())
    w_pm, b_pm = hebb_weights(X, t, lr=0.5)  # labels given as -1/+1: the same rule
    np.testing.assert_allclose(w_pm, w, rtol=1e-14)
    assert b_pm == b


def test_hebb_learns_gates_with_bipolar_inputs_but_not_with_0_1_inputs_nor_xor():
    for gate in ("AND", "OR", "NAND"):
        X, y = logic_gate(gate)
        w, b = hebb_weights(2 * X - 1, y)  # inputs coded -1/+1
        assert Perceptron(w, bias=b).score(2 * X - 1, y) == 1.0, gate
        w, b = hebb_weights(X, y)  # inputs coded 0/1: an input at 0 never changes its weight
        assert Perceptron(w, bias=b).score(X, y) == 0.75, gate
    X, y = logic_gate("XOR")
    w, b = hebb_weights(2 * X - 1, y)
    np.testing.assert_array_equal(w, [0.0, 0.0])  # the correlations cancel exactly
    assert b == 0.0


def test_hebb_fails_on_separable_data_where_the_perceptron_rule_succeeds():
    # separable by x2 > 0, but the big positive example drags w towards x1
    X = np.array([[10.0, 1.0], [-1.0, 1.0], [-1.0, 2.0], [1.0, -1.0], [2.0, -1.0]])
    y = np.array([1, 1, 1, 0, 0])
    w, b = hebb_weights(X, y)
    assert Perceptron(w, bias=b).score(X, y) < 1.0
    perceptron = Perceptron(2).fit(X, y, epochs=100)
    assert perceptron.converged and perceptron.score(X, y) == 1.0


def _leading_eigenvector(X):
    values, vectors = np.linalg.eigh(X.T @ X / len(X))
    return vectors[:, -1], values


def test_oja_converges_to_the_leading_eigenvector_with_unit_length():
    rng = np.random.default_rng(3)
    X = rng.multivariate_normal([0, 0, 0], [[3, 1, 0.5], [1, 2, 0], [0.5, 0, 0.5]], size=400)
    history = plasticity(X, [0.2, -0.5, 0.1], lr=0.001, epochs=60, rule="oja")
    w = history[-1]
    u, _ = _leading_eigenvector(X)
    assert abs(np.linalg.norm(w) - 1.0) < 0.01
    assert abs(w @ u) / np.linalg.norm(w) > 0.999  # the same direction, up to sign


def test_plain_hebb_is_the_product_of_the_per_example_matrices_and_grows():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(5, 2))
    w0 = np.array([0.3, -0.1])
    history = plasticity(X, w0, lr=0.05, epochs=3, rule="hebb")
    w = w0.copy()
    for epoch in range(1, 4):
        for x in X:
            w = (np.eye(2) + 0.05 * np.outer(x, x)) @ w  # w + lr (x . w) x
        np.testing.assert_allclose(history[epoch], w, rtol=1e-12)
    norms = np.linalg.norm(history, axis=1)
    assert np.all(np.diff(norms) > 0)  # (I + lr x x^T) never shrinks w


def test_plain_hebb_turns_towards_the_eigenvector_while_its_length_explodes():
    rng = np.random.default_rng(5)
    X = rng.multivariate_normal([0, 0], [[3, 1.2], [1.2, 1]], size=200)
    history = plasticity(X, [0.3, -0.8], lr=0.01, epochs=10, rule="hebb")
    u, _ = _leading_eigenvector(X)
    w = history[-1]
    assert np.linalg.norm(w) > 1e20
    # the direction of the product of the (I + lr x x^T): the eigenvector up to O(lr)
    assert abs(w @ u) / np.linalg.norm(w) > 0.999


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hebb_weights(np.zeros((3, 2)), [0, 1]), "3 rows but y has 2"),
        (lambda: hebb_weights(np.zeros((2, 2)), [0, 2]), r"\{0, 1\} or \{-1, \+1\}"),
        (lambda: hebb_weights(np.zeros(3), [0, 1, 1]), "shape"),
        (lambda: hebb_weights(np.zeros((2, 2)), [0, 1], lr=0), "lr must be"),
        (lambda: plasticity(np.zeros((2, 2)), [1.0, 2.0, 3.0], 0.1, 1), "3 weights"),
        (lambda: plasticity(np.zeros((2, 2)), [1.0, 2.0], 0.1, 1, rule="bcm"), "rule must be"),
        (lambda: plasticity(np.zeros((2, 2)), [1.0, 2.0], 0.1, -1), "epochs"),
        (lambda: plasticity([[np.nan, 0.0]], [1.0, 2.0], 0.1, 1), "finite"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()

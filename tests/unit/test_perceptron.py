"""Tests of dlcourse.perceptron: the NAND weights, the learning rule, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dlcourse.perceptron import (
    GATE_INPUTS,
    TRUTH_TABLES,
    Perceptron,
    half_adder,
    logic_gate,
    nand_perceptron,
)


def separable_data(m=60, seed=0, margin=0.2):
    """Points on both sides of the line x1 + 2 x2 = 0.5, at least ``margin`` away from it."""
    rng = np.random.default_rng(seed)
    w_true, b_true = np.array([1.0, 2.0]), -0.5
    X = rng.uniform(-2, 2, size=(4 * m, 2))
    z = (X @ w_true + b_true) / np.linalg.norm(w_true)
    keep = np.abs(z) > margin
    X, z = X[keep][:m], z[keep][:m]
    return X, (z > 0).astype(int), w_true, b_true


def test_nand_weights_compute_nand():
    p = nand_perceptron()
    np.testing.assert_array_equal(p.weights, [-2.0, -2.0])
    assert p.bias == 3.0
    # Nielsen's worked numbers: z = 3 for input 00, 1 for 01/10, -1 for 11.
    np.testing.assert_array_equal(p.decision_function(GATE_INPUTS), [3.0, 1.0, 1.0, -1.0])
    for (x1, x2), out in zip(GATE_INPUTS, p.predict(GATE_INPUTS)):
        assert out == int(not (x1 and x2))


def test_half_adder_adds_bits():
    for x1, x2 in itertools.product((0, 1), repeat=2):
        total, carry = half_adder(x1, x2)
        assert 2 * int(carry) + int(total) == x1 + x2


@pytest.mark.parametrize("gate", ["AND", "OR", "NAND", "NOR"])
def test_learns_linearly_separable_gates(gate):
    X, y = logic_gate(gate)
    p = Perceptron(2).fit(X, y, epochs=100)
    assert p.converged
    assert p.mistakes[-1] == 0
    np.testing.assert_array_equal(p.predict(X), TRUTH_TABLES[gate])
    assert p.n_updates == sum(p.mistakes)


def test_converges_on_separable_data_within_novikoff_bound():
    X, y, w_true, b_true = separable_data()
    p = Perceptron(2, seed=1).fit(X, y, epochs=1000)
    assert p.converged
    assert p.score(X, y) == 1.0
    # Novikoff: updates <= (R / gamma)^2 for the augmented inputs (x, 1).
    Xa = np.column_stack([X, np.ones(len(X))])
    u = np.append(w_true, b_true)
    u /= np.linalg.norm(u)
    t = np.where(y == 1, 1.0, -1.0)
    gamma = np.min(t * (Xa @ u))
    R = np.max(np.linalg.norm(Xa, axis=1))
    assert gamma > 0
    assert p.n_updates <= (R / gamma) ** 2


def test_rule_matches_hand_computation():
    # One step by hand: w = 0, b = 0, x = (1, 2), label 1 is misclassified (z = 0 is not > 0),
    # so w <- 0 + 0.5 * (+1) * x and b <- 0 + 0.5.
    p = Perceptron(2, lr=0.5)
    p.fit(np.array([[1.0, 2.0]]), np.array([1]), epochs=1)
    np.testing.assert_allclose(p.weights, [0.5, 1.0])
    assert p.bias == 0.5
    assert p.mistakes == [1]


def test_minus_one_plus_one_labels():
    X, y = logic_gate("OR")
    p = Perceptron(2).fit(X, 2 * y - 1, epochs=50)
    assert p.converged
    np.testing.assert_array_equal(p.predict(X), 2 * y - 1)
    q = Perceptron(2).fit(X, y, epochs=50)
    np.testing.assert_allclose(p.weights, q.weights)  # the same rule for both conventions


def test_xor_never_converges_and_cycles():
    X, y = logic_gate("XOR")
    p = Perceptron(2).fit(X, y, epochs=50)
    assert not p.converged
    assert len(p.mistakes) == 50
    assert min(p.mistakes) > 0
    # With a fixed visiting order the weights return to the same state: a cycle.
    states = [tuple(np.append(w, b)) for w, b in p.history]
    assert len(set(states[10:])) < len(states[10:])
    # No perceptron gets more than 3 of the 4 XOR rows right.
    assert p.score(X, y) <= 0.75


def test_initial_weights_and_repr():
    p = Perceptron([0.5, -1.0], bias=0.25, lr=0.1)
    assert p.n_inputs == 2
    assert "0.5" in repr(p)
    assert p.predict([1.0, 0.0]).tolist() == [1]


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (GATE_INPUTS, [0, 1, 2, 1], r"\{0, 1\} or in \{-1, \+1\}"),
        (GATE_INPUTS, [0, -1, 1, 1], r"\{0, 1\} or in \{-1, \+1\}"),
        (GATE_INPUTS, [0, 1, 1], "4 examples but y has 3 labels"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), [0, 1], "finite"),
        (np.array([[0.0, np.inf], [1.0, 1.0]]), [0, 1], "finite"),
        (GATE_INPUTS, [0.0, np.nan, 1.0, 1.0], "finite"),
        (np.ones((4, 3)), [0, 1, 1, 0], "3 features; the perceptron expects 2"),
        (np.ones(4), [0, 1, 1, 0], r"shape \(m, n_inputs\)"),
        (GATE_INPUTS, [[0, 1, 1, 0]], "1-D"),
    ],
)
def test_bad_input_is_rejected(X, y, match):
    with pytest.raises(ValueError, match=match):
        Perceptron(2).fit(X, y)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": 0}, "positive integer"),
        ({"weights": [np.nan, 1.0]}, "finite"),
        ({"weights": 2, "lr": 0.0}, "lr must be a positive"),
        ({"weights": 2, "lr": np.inf}, "lr must be a positive"),
        ({"weights": 2, "bias": np.nan}, "bias must be a finite"),
    ],
)
def test_bad_construction_is_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Perceptron(**kwargs)


def test_bad_epochs_gate_and_adder_inputs():
    X, y = logic_gate("AND")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        Perceptron(2).fit(X, y, epochs=0)
    with pytest.raises(ValueError, match="unknown gate"):
        logic_gate("XNAND")
    with pytest.raises(ValueError, match="bits"):
        half_adder(2, 0)

"""Grading tests for exercise 06: backpropagation BP1–BP4 on a mini-batch.

Oracles: the equations re-written here with NumPy, and central differences of the mean
quadratic cost for the full ``backprop``. Points: 10 public + 10 hidden = 20.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import call, float64_precision

EXERCISE = "06_backprop"

LAYER_HINT = (
    "check the layer indices: δ^l needs W^{l+1} (weights[l]) and Z^l (zs[l - 1]); "
    "grad_W^l needs A^{l-1} (activations[l - 1])"
)


def result(value, name):
    """The student's array as float64, after failing a float32 one with a dtype message."""
    float64_precision(value, name)
    return np.asarray(value, dtype=float)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _sigmoid_prime(z):
    return _sigmoid(z) * (1.0 - _sigmoid(z))


def _network(rng, sizes):
    weights = [rng.normal(size=(n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=n) for n in sizes[1:]]
    return weights, biases


def _cost(X, Y, weights, biases):
    a = X
    for W, b in zip(weights, biases):
        a = _sigmoid(a @ W.T + b)
    return 0.5 * np.sum((a - Y) ** 2) / X.shape[0]


def _numerical(X, Y, weights, biases, h=1e-6):
    cost = lambda: _cost(X, Y, weights, biases)
    grads = [numerical_gradient(cost, P, h) for P in [*weights, *biases]]
    L = len(weights)
    return grads[:L], grads[L:]


def wrong_helpers(student) -> list[str]:
    """Which of the student's BP1–BP4 functions give a wrong result on a small probe.

    ``backprop`` is built from them, so when one of them is wrong, a failure of ``backprop``
    follows from it; its feedback then points there instead of at the layer indices.
    """
    rng = np.random.default_rng(6)
    z, y, W = rng.normal(size=(3, 2)), rng.random((3, 2)), rng.normal(size=(2, 4))
    delta, a_prev, z_prev = rng.normal(size=(3, 2)), rng.random((3, 4)), rng.normal(size=(3, 4))
    probes = {
        "output_error": ((_sigmoid(z), y, z), (_sigmoid(z) - y) * _sigmoid_prime(z)),
        "backpropagate_error": ((delta, W, z_prev), (delta @ W) * _sigmoid_prime(z_prev)),
        "grad_b": ((delta,), delta.mean(axis=0)),
        "grad_W": ((delta, a_prev), delta.T @ a_prev / 3),
    }
    wrong = []
    for name, (args, expected) in probes.items():
        try:
            got = np.asarray(getattr(student, name)(*(a.copy() for a in args)), dtype=float)
            right = got.shape == expected.shape and np.allclose(got, expected, rtol=1e-6)
        except Exception:  # noqa: BLE001 - a missing, failing or odd helper counts as wrong
            right = False
        if not right:
            wrong.append(f"`{name}`")
    return wrong


def follow_on_hint(student) -> str:
    """What to check when ``backprop`` fails: a wrong helper first, else the layer indices."""
    wrong = wrong_helpers(student)
    if not wrong:
        return LAYER_HINT
    names = ", ".join(wrong[:-1]) + (" and " if len(wrong) > 1 else "") + wrong[-1]
    verb = "are" if len(wrong) > 1 else "is"
    return (
        f"backprop builds on {names}, which {verb} wrong on its own (see its test): fix that first"
    )


def check_grad_b(g, delta, public=True):
    g = result(g, "grad_b")
    m, n = delta.shape
    if g.ndim == 2:
        pytest.fail(
            "grad_b must have shape (n_l,), like the bias: average δ over the rows of the batch "
            "(BP3)"
        )
    assert g.shape == (n,), "grad_b must have shape (n_l,), like the bias"
    if m > 1 and np.allclose(g, delta.sum(axis=0)):
        pytest.fail("grad_b is m times too large: you took the sum instead of the mean (BP3)")
    assert np.allclose(g, delta.mean(axis=0), rtol=1e-10), (
        "grad_b is wrong: BP3 averaged over the batch is the mean of δ over the rows"
    )


def check_grad_W(g, delta, a_prev, public=True):
    g = result(g, "grad_W")
    m = delta.shape[0]
    shape = (delta.shape[1], a_prev.shape[1])
    assert g.shape == shape, "grad_W must have the shape of W^l, (n_l, n_{l-1}): δ^T A^{l-1}"
    if m > 1 and np.allclose(g, delta.T @ a_prev):
        pytest.fail("grad_W is m times too large: you took the sum instead of the mean (BP4)")
    assert np.allclose(g, delta.T @ a_prev / m, rtol=1e-10), (
        "grad_W is wrong: BP4 for a batch is (δ^l)^T A^{l-1} / m"
    )


def check_backprop(student, X, Y, weights, biases, kind, public=True):
    hint = follow_on_hint(student)
    result = call(
        student,
        "backprop",
        X.copy(),
        Y.copy(),
        [W.copy() for W in weights],
        [b.copy() for b in biases],
        public=public,
        hint=f"; {hint}",
    )
    try:
        grads_W, grads_b = result
        for G in [*grads_W, *grads_b]:
            float64_precision(G, "backprop")
        grads_W = [np.asarray(G, dtype=float) for G in grads_W]
        grads_b = [np.asarray(g, dtype=float) for g in grads_b]
    except (TypeError, ValueError):
        pytest.fail("backprop must return two lists (grads_W, grads_b)")
    num_W, num_b = _numerical(X, Y, [W.copy() for W in weights], [b.copy() for b in biases])
    assert len(grads_W) == len(weights) and len(grads_b) == len(biases), (
        "backprop must return one gradient per layer, in the order of weights and biases"
    )
    for l, (G, N) in enumerate(zip(grads_W, num_W), start=1):
        assert G.shape == N.shape, f"grad_W for layer {l} must have the shape of W^{l} ({kind})"
    for l, (g, n) in enumerate(zip(grads_b, num_b), start=1):
        assert g.shape == n.shape, (
            f"grad_b for layer {l} must have shape (n_l,): average δ over the rows ({kind})"
        )
    m = X.shape[0]
    if m > 1 and all(np.allclose(G, m * N, atol=1e-7) for G, N in zip(grads_W, num_W)):
        pytest.fail(f"the gradients are m times too large: sum instead of the mean ({kind})")
    for l, (G, N) in enumerate(zip(grads_W, num_W), start=1):
        assert np.allclose(G, N, rtol=1e-5, atol=1e-8), (
            f"grad_W of layer {l} disagrees with finite differences ({kind}); {hint}"
        )
    for l, (g, n) in enumerate(zip(grads_b, num_b), start=1):
        assert np.allclose(g, n, rtol=1e-5, atol=1e-8), (
            f"grad_b of layer {l} disagrees with finite differences ({kind}); {hint}"
        )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(2)
def test_output_error(student):
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(4, 3)), rng.random((4, 3))
    a = _sigmoid(z)
    d = result(call(student, "output_error", a, y, z), "output_error")
    assert d.shape == (4, 3), "delta^L must have shape (m, n_L), one row per example"
    if np.allclose(d, a - y):
        pytest.fail("delta^L has the right shape but is missing the σ'(z) factor of BP1")
    if np.allclose(d, (a - y) * _sigmoid_prime(z) / 4):
        pytest.fail("delta^L is divided by m: BP1 is the error of each example's own cost")
    assert np.allclose(d, (a - y) * _sigmoid_prime(z), rtol=1e-10), (
        "delta^L is wrong: BP1 is (a^L − y) ⊙ σ'(z^L)"
    )


@pytest.mark.points(2)
def test_backpropagate_error(student):
    rng = np.random.default_rng(1)
    delta_next, W_next, z = (
        rng.normal(size=(4, 2)),
        rng.normal(size=(2, 3)),
        rng.normal(size=(4, 3)),
    )
    hint = "; W^{l+1} has shape (n_{l+1}, n_l): in row form BP2 is δ^{l+1} @ W^{l+1}, no transpose"
    d = call(student, "backpropagate_error", delta_next, W_next, z, hint=hint)
    d = result(d, "backpropagate_error")
    assert d.shape == (4, 3), "delta^l must have shape (m, n_l)"
    if np.allclose(d, delta_next @ W_next):
        pytest.fail("delta^l is missing the σ'(z^l) factor of BP2")
    assert np.allclose(d, (delta_next @ W_next) * _sigmoid_prime(z), rtol=1e-10), (
        "delta^l is wrong: BP2 in row form is (δ^{l+1} @ W^{l+1}) ⊙ σ'(z^l)"
    )


@pytest.mark.points(1)
def test_grad_b(student):
    delta = np.random.default_rng(2).normal(size=(5, 3))
    check_grad_b(call(student, "grad_b", delta.copy()), delta)


@pytest.mark.points(2)
def test_grad_W(student):
    rng = np.random.default_rng(3)
    delta, a_prev = rng.normal(size=(5, 3)), rng.random((5, 4))
    check_grad_W(call(student, "grad_W", delta.copy(), a_prev.copy()), delta, a_prev)


@pytest.mark.points(3)
def test_backprop_small(student):
    rng = np.random.default_rng(4)
    weights, biases = _network(rng, [3, 4, 2])
    X, Y = rng.normal(size=(5, 3)), rng.random((5, 2))
    check_backprop(student, X, Y, weights, biases, "network 3-4-2, batch of 5")


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_output_error_random(student):
    rng = np.random.default_rng(60)
    m, n = int(rng.integers(1, 8)), int(rng.integers(1, 6))
    z, y = rng.normal(scale=3, size=(m, n)), (rng.random((m, n)) < 0.5).astype(float)
    a = _sigmoid(z)
    d = result(call(student, "output_error", a, y, z, public=False), "output_error")
    assert d.shape == (m, n), "delta^L has the wrong shape for a random batch"
    assert np.allclose(d, (a - y) * _sigmoid_prime(z), rtol=1e-10), (
        "delta^L is wrong for a random batch with 0/1 targets (BP1: (a − y) ⊙ σ'(z))"
    )


@pytest.mark.hidden
@pytest.mark.points(2)
def test_backpropagate_error_random(student):
    rng = np.random.default_rng(61)
    for m, n_next, n in [(1, 3, 5), (int(rng.integers(2, 9)), 6, 2)]:
        delta_next, W_next = rng.normal(size=(m, n_next)), rng.normal(size=(n_next, n))
        z = rng.normal(size=(m, n))
        d = call(
            student,
            "backpropagate_error",
            delta_next,
            W_next,
            z,
            public=False,
            hint="; check the transpose of W^{l+1} in BP2",
        )
        d = result(d, "backpropagate_error")
        assert d.shape == (m, n), "delta^l has the wrong shape (non-square layers)"
        assert np.allclose(d, (delta_next @ W_next) * _sigmoid_prime(z), rtol=1e-10), (
            "delta^l is wrong for non-square layers or a batch of one: "
            "BP2 is (δ^{l+1} @ W^{l+1}) ⊙ σ'(z^l)"
        )


@pytest.mark.hidden
@pytest.mark.points(2)
def test_grad_b_grad_W_random(student):
    rng = np.random.default_rng(62)
    m, n, k = int(rng.integers(2, 10)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
    delta, a_prev = rng.normal(size=(m, n)), rng.random((m, k))
    check_grad_b(call(student, "grad_b", delta.copy(), public=False), delta, public=False)
    check_grad_W(call(student, "grad_W", delta, a_prev, public=False), delta, a_prev, False)


@pytest.mark.hidden
@pytest.mark.points(3)
def test_backprop_deep_random(student):
    rng = np.random.default_rng(63)
    sizes = [int(s) for s in rng.integers(2, 6, size=4)]
    weights, biases = _network(rng, sizes)
    m = int(rng.integers(3, 8))
    X, Y = rng.normal(size=(m, sizes[0])), rng.random((m, sizes[-1]))
    check_backprop(student, X, Y, weights, biases, "deeper random network", public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_backprop_single_example(student):
    rng = np.random.default_rng(64)
    weights, biases = _network(rng, [4, 3, 3, 2])
    X, Y = rng.normal(size=(1, 4)), rng.random((1, 2))
    check_backprop(student, X, Y, weights, biases, "batch of one example", public=False)

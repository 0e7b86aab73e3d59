"""Grading tests for exercise 10: the sigmoid network in PyTorch (autograd, nn.Module, device).

Skipped cleanly where torch is not installed. Oracles: NumPy forward pass and central
differences written here (float64). Points: 6 public + 6 hidden = 12.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import call as _call

pytest.importorskip("torch")

EXERCISE = "10_pytorch"


def call(student, name, *args, public=True):
    """Call a student function; a crash hints at the usual cause (mixed dtypes)."""
    return _call(student, name, *args, public=public, hint=" (float64 everywhere?)")


def _network(rng, sizes):
    weights = [rng.normal(size=(n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=n) for n in sizes[1:]]
    return weights, biases


def _forward(X, weights, biases):
    a = X
    for W, b in zip(weights, biases):
        a = 0.5 * (1 + np.tanh(0.5 * (a @ W.T + b)))
    return a


def _cost(X, Y, weights, biases):
    return 0.5 * np.sum((_forward(X, weights, biases) - Y) ** 2) / X.shape[0]


def _numerical(X, Y, weights, biases, h=1e-6):
    cost = lambda: _cost(X, Y, weights, biases)
    grads = [numerical_gradient(cost, P, h) for P in [*weights, *biases]]
    return grads[: len(weights)], grads[len(weights) :]


def _problem(seed, sizes, m):
    rng = np.random.default_rng(seed)
    weights, biases = _network(rng, sizes)
    return rng.normal(size=(m, sizes[0])), rng.random((m, sizes[-1])), weights, biases


def copies(weights, biases):
    return [W.copy() for W in weights], [b.copy() for b in biases]


def unpack(result, n, name):
    try:
        parts = list(result)
    except TypeError:
        pytest.fail(f"`{name}` must return a tuple of {n} items")
    if len(parts) != n:
        pytest.fail(f"`{name}` must return a tuple of {n} items")
    return parts


def check_gradients(student, X, Y, weights, biases, kind, public=True):
    got = unpack(
        call(student, "mlp_gradients", X, Y, *copies(weights, biases), public=public),
        2,
        "mlp_gradients",
    )
    num_W, num_b = _numerical(X, Y, *copies(weights, biases))
    for G, N in zip([*got[0], *got[1]], [*num_W, *num_b]):
        G = np.asarray(G, dtype=float)
        assert G.shape == N.shape, f"a gradient has the wrong shape ({kind})"
        if np.allclose(G * Y.shape[1] / 2, N, rtol=1e-5, atol=1e-8) and Y.shape[1] != 2:
            pytest.fail(
                "the gradients are scaled by 2/n_L: the cost is ½ Σ_j (a_j − y_j)² averaged "
                "over the m rows only (mse_loss averages over the outputs too and has no ½)"
            )
        assert np.allclose(G, N, rtol=1e-5, atol=1e-8), (
            f"autograd gradients disagree with finite differences ({kind}): check the cost "
            "(½ Σ_j (a_j − y_j)² / m) and float64 tensors"
        )


def check_step(student, X, Y, weights, biases, lr, kind, public=True):
    loss, new_W, new_b = unpack(
        call(student, "train_step", X, Y, *copies(weights, biases), lr, "cpu", public=public),
        3,
        "train_step",
    )
    before = _cost(X, Y, weights, biases)
    num_W, num_b = _numerical(X, Y, *copies(weights, biases))
    after = _cost(
        X,
        Y,
        [W - lr * G for W, G in zip(weights, num_W)],
        [b - lr * g for b, g in zip(biases, num_b)],
    )
    loss = float(loss)
    if not np.isclose(loss, before, rtol=1e-9, atol=0) and np.isclose(
        loss, after, rtol=1e-9, atol=0
    ):
        pytest.fail("train_step must return the loss computed before the update step")
    if np.isclose(loss, before * 2 / Y.shape[1], rtol=1e-9) and Y.shape[1] != 2:
        pytest.fail("the loss is mse_loss, not the course's cost ½ Σ_j (a_j − y_j)² / m")
    assert np.isclose(loss, before, rtol=1e-10, atol=0), (
        f"the loss returned by train_step is wrong ({kind}): ½ Σ (a − y)² / m before the step"
    )
    for P, G, Q in zip([*weights, *biases], [*num_W, *num_b], [*new_W, *new_b]):
        Q = np.asarray(Q, dtype=float)
        assert Q.shape == P.shape, f"an updated parameter has the wrong shape ({kind})"
        assert np.allclose(Q, P - lr * G, rtol=1e-8, atol=1e-10), (
            f"the updated parameters are not one SGD step θ − lr ∇C ({kind}): zero the "
            "gradients, compute the cost, backward, step — in float64"
        )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(2)
def test_mlp_gradients(student):
    X, Y, weights, biases = _problem(0, [3, 4, 3], 5)
    check_gradients(student, X, Y, weights, biases, "network 3-4-3")


@pytest.mark.points(2)
def test_module_forward(student):
    X, _, weights, biases = _problem(1, [3, 5, 2], 4)
    out = np.asarray(call(student, "module_forward", X, *copies(weights, biases), "cpu"))
    assert out.shape == (4, 2), "module_forward must return an (m, n_L) array"
    assert out.dtype == np.float64, (
        "module_forward must return float64: build the layers with dtype=torch.float64"
    )
    assert np.allclose(out, _forward(X, weights, biases), rtol=1e-12, atol=1e-14), (
        "module_forward's output differs from the network's forward pass: sigmoid after every "
        "Linear layer, weights copied in the order of the layers, float64"
    )


@pytest.mark.points(1)
def test_train_step(student):
    X, Y, weights, biases = _problem(2, [2, 3, 3], 6)
    check_step(student, X, Y, weights, biases, 0.5, "network 2-3-3")


@pytest.mark.points(1)
def test_predict(student):
    X, _, weights, biases = _problem(3, [4, 5, 3], 7)
    got = np.asarray(call(student, "predict", X, *copies(weights, biases), "cpu"))
    assert got.shape == (7,), "predict must return one class index per row"
    assert np.array_equal(got, np.argmax(_forward(X, weights, biases), axis=1)), (
        "predict must return the argmax over the outputs of each row (axis=1)"
    )


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(2)
def test_mlp_gradients_random(student):
    rng = np.random.default_rng(100)
    sizes = [int(s) for s in rng.integers(2, 6, size=4)]
    sizes[-1] = 3
    for m in (1, int(rng.integers(3, 8))):
        X, Y, weights, biases = _problem(int(rng.integers(1000)), sizes, m)
        check_gradients(student, X, Y, weights, biases, "deeper random network", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_module_forward_float64(student):
    X, _, weights, biases = _problem(101, [6, 7, 5, 4], 9)
    X = X * 3.0
    out = np.asarray(
        call(student, "module_forward", X, *copies(weights, biases), "cpu", public=False),
        dtype=float,
    )
    assert out.shape == (9, 4), "module_forward has the wrong shape for a deeper network"
    assert np.allclose(out, _forward(X, weights, biases), rtol=1e-12, atol=1e-14), (
        "module_forward is not exact to float64 precision on a deeper network: use float64 "
        "layers and inputs"
    )


@pytest.mark.hidden
@pytest.mark.points(2)
def test_train_step_random(student):
    rng = np.random.default_rng(102)
    sizes = [int(s) for s in rng.integers(2, 6, size=3)]
    sizes[-1] = 4
    X, Y, weights, biases = _problem(int(rng.integers(1000)), sizes, int(rng.integers(2, 9)))
    check_step(
        student, X, Y, weights, biases, float(rng.uniform(0.1, 2)), "random network", public=False
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_predict_random(student):
    X, _, weights, biases = _problem(103, [3, 4, 6], 20)
    got = np.asarray(call(student, "predict", X, *copies(weights, biases), "cpu", public=False))
    assert np.array_equal(got, np.argmax(_forward(X, weights, biases), axis=1)), (
        "predict is wrong on a random six-class network"
    )

"""Gradient accumulation equals the large batch for row-wise costs, and is not equal with
batch normalisation in training mode."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import Network
from dlcourse.accumulate import accumulated_gradients, accumulation_step
from dlcourse.gradcheck import rel_error
from dlcourse.layers import Activation, BatchNorm1d, Linear, Model
from dlcourse.optim import SGD


def _data(m=12, n_in=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n_in)), np.eye(k)[rng.integers(0, k, m)]


def _copies(grads):
    return [np.array(g, copy=True) for g in grads]


def _max_rel(a, b):
    return max(rel_error(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("micro_batches", [1, 2, 3, 5, 12])
@pytest.mark.parametrize("output,cost", [("softmax", "cross_entropy"), ("sigmoid", "quadratic")])
def test_network_accumulation_equals_the_large_batch(micro_batches, output, cost):
    X, Y = _data()
    net = Network([5, 7, 3], activation="tanh", output=output, cost=cost, seed=1)
    full = _copies(net.gradients(X, Y))
    accumulated = accumulated_gradients(net, X, Y, micro_batches)
    assert all(np.abs(g).max() > 1e-3 for g in full)
    for a, f in zip(accumulated, full):
        np.testing.assert_allclose(a, f, rtol=0, atol=1e-12 * max(1.0, np.abs(f).max()))


def test_uneven_micro_batches_need_the_size_weights():
    X, Y = _data(m=10)
    net = Network([5, 4, 3], output="softmax", cost="cross_entropy", seed=2)
    full = _copies(net.gradients(X, Y))
    assert _max_rel(accumulated_gradients(net, X, Y, 3), full) < 1e-12  # sizes 4, 3, 3
    parts = [_copies(net.gradients(X[r], Y[r])) for r in np.array_split(np.arange(10), 3)]
    plain_mean = [sum(p[i] for p in parts) / 3 for i in range(len(full))]
    assert _max_rel(plain_mean, full) > 1e-3


def test_with_l2_and_a_fixed_n_the_identity_holds():
    X, Y = _data()
    net = Network([5, 6, 3], output="softmax", cost="cross_entropy", seed=3)
    net.l2 = 0.5
    with pytest.raises(ValueError, match="n_train"):
        accumulated_gradients(net, X, Y, 3)
    net.n_train = 100
    full = _copies(net.gradients(X, Y))
    assert _max_rel(accumulated_gradients(net, X, Y, 4), full) < 1e-12


def _model(batch_norm, seed=4):
    layers = [Linear(5, 6, seed=seed)]
    layers += [BatchNorm1d(6)] if batch_norm else []
    layers += [Activation("tanh"), Linear(6, 3, seed=seed + 1), Activation("softmax")]
    return Model(layers, cost="cross_entropy")


def test_model_without_batch_norm_accumulates_exactly():
    X, Y = _data(seed=5)
    model = _model(batch_norm=False)
    full = _copies(model.gradients(X, Y))
    assert _max_rel(accumulated_gradients(model, X, Y, 4), full) < 1e-12


def test_batch_norm_in_training_mode_breaks_accumulation():
    X, Y = _data(seed=5)
    model = _model(batch_norm=True)
    full = _copies(model.gradients(X, Y))
    assert _max_rel(accumulated_gradients(model, X, Y, 1), full) < 1e-12  # k = 1 is the batch
    accumulated = accumulated_gradients(model, X, Y, 4)
    # micro-batches of 3 rows are normalised by their own statistics: another function
    assert _max_rel(accumulated, full) > 1e-2


def test_one_accumulated_sgd_step_equals_one_large_batch_step():
    X, Y = _data(m=16, seed=6)
    net_a = Network([5, 7, 3], output="softmax", cost="cross_entropy", seed=7)
    net_b = Network([5, 7, 3], output="softmax", cost="cross_entropy", seed=7)
    before = _copies(net_a.parameters())
    accumulation_step(net_a, SGD(lr=0.5), X, Y, micro_batches=4)
    SGD(lr=0.5).step(net_b.parameters(), net_b.gradients(X, Y))
    assert _max_rel(net_a.parameters(), before) > 1e-4  # the step moved the parameters
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_bad_inputs():
    X, Y = _data()
    net = Network([5, 4, 3], seed=0)
    with pytest.raises(ValueError, match="micro_batches must be a positive integer"):
        accumulated_gradients(net, X, Y, 0)
    with pytest.raises(ValueError, match="at most the number of rows m=12; got 13"):
        accumulated_gradients(net, X, Y, 13)
    with pytest.raises(ValueError, match="X has 12 rows but Y has 11"):
        accumulated_gradients(net, X, Y[:11], 2)

"""Tests of dlcourse.gradcheck on functions and layers with known derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import check_layer, check_network, numerical_gradient, rel_error
from dlcourse.network import Network


@pytest.mark.parametrize("order,h,tol", [(2, 1e-5, 1e-8), (4, 1e-3, 1e-10)])
def test_numerical_gradient_of_known_function(order, h, tol):
    x = np.array([[0.5, -1.2, 2.0], [0.1, 0.3, -3.0]])
    x0 = x.copy()
    g = numerical_gradient(lambda: float(np.sum(np.sin(x) * x**2)), x, h, order)
    exact = np.cos(x0) * x0**2 + 2 * x0 * np.sin(x0)
    assert rel_error(g, exact) < tol
    np.testing.assert_array_equal(x, x0)  # every entry restored


def test_entries_restored_when_function_raises():
    x = np.ones(3)

    def boom():
        raise RuntimeError("fail")

    with pytest.raises(RuntimeError):
        numerical_gradient(boom, x)
    np.testing.assert_array_equal(x, np.ones(3))
    with pytest.raises(ValueError, match="order"):
        numerical_gradient(lambda: 0.0, x, order=3)
    with pytest.raises(TypeError):
        numerical_gradient(lambda: 0.0, [1.0, 2.0])


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert rel_error([0.0], [0.0]) == 0.0
    assert rel_error([1e-13], [0.0]) == pytest.approx(0.1)  # floor of 1e-12
    with pytest.raises(ValueError, match="shape"):
        rel_error(np.zeros(2), np.zeros(3))


class Affine:
    """y = x W^T + b with the layer protocol; ``wrong=True`` drops the transpose in dx."""

    def __init__(self, n_in, n_out, seed, wrong=False):
        rng = np.random.default_rng(seed)
        self.params = [rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.wrong = wrong

    def forward(self, x, training=True):
        self.x = x
        return np.tanh(x @ self.params[0].T + self.params[1])

    def backward(self, dout):
        W, b = self.params
        dz = dout * (1 - np.tanh(self.x @ W.T + b) ** 2)
        self.grads[0][...] = dz.T @ self.x
        self.grads[1][...] = dz.sum(axis=0)
        return dz @ (W if not self.wrong else np.ones_like(W))


def test_check_layer_accepts_right_and_rejects_wrong_backward():
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert check_layer(Affine(3, 5, seed=1), x) < 1e-8
    assert check_layer(Affine(3, 5, seed=1), x, forward_kwargs={"training": False}) < 1e-8
    assert check_layer(Affine(3, 5, seed=1, wrong=True), x) > 1e-2


def test_check_network_detects_a_broken_backprop(monkeypatch):
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], seed=0)
    X, Y = rng.standard_normal((5, 3)), rng.uniform(size=(5, 2))
    assert check_network(net, X, Y) < 1e-7
    original = net.gradients

    def halved(X, Y, validate=True):
        grads = original(X, Y, validate)
        grads[0] = grads[0] / 2
        return grads

    monkeypatch.setattr(net, "gradients", halved)
    assert check_network(net, X, Y) > 0.1


def test_nan_or_inf_gradients_fail_the_check():
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], seed=0)
    X, Y = rng.standard_normal((5, 3)), rng.uniform(size=(5, 2))

    def nan_in_W2(X, Y, validate=True):
        grads = [np.array(g) for g in Network.gradients(net, X, Y)]
        grads[2][0, 0] = np.nan
        return grads

    net.gradients = nan_in_W2
    with pytest.raises(FloatingPointError) as info:
        check_network(net, X, Y)
    assert str(info.value) == (
        "check_network: the analytic gradient of parameter 2 (shape (2, 4)) holds 1 NaN or "
        "infinite entries out of 8; a gradient check needs finite gradients"
    )
    del net.gradients
    net.cost = lambda X, Y: float("nan")  # the numerical side: a cost that is NaN everywhere
    with pytest.raises(FloatingPointError, match="numerical gradient of parameter 0 .* 12 NaN"):
        check_network(net, X, Y)

    class InfBackward(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads[1][...] = np.inf
            return dx

    x = rng.standard_normal((4, 3))
    with pytest.raises(FloatingPointError, match="analytic gradient of parameter 1 .* 5 NaN"):
        check_layer(InfBackward(3, 5, seed=1), x)

    class NanInput(Affine):
        def backward(self, dout):
            return np.full_like(super().backward(dout), np.nan)

    with pytest.raises(FloatingPointError, match="check_layer: the analytic gradient of the in"):
        check_layer(NanInput(3, 5, seed=1), x)
    assert np.isnan(rel_error([np.nan, 1.0], [1.0, 1.0]))
    assert np.isnan(rel_error([np.inf], [1.0]))

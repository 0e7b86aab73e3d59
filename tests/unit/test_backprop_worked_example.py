"""The worked example of Chapter 5 (eq-worked-example): a [2, 2, 1] sigmoid network with the
quadratic cost, one example. Every z, a, delta and dC/dw is computed here with scalar
arithmetic (math.exp, one line per neuron), independently of NumPy and of the package, and
compared with Network.backprop_example, Network.backprop and central differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient
from dlcourse.network import Network

W1 = [[0.5, -0.4], [0.3, 0.8]]
B1 = [0.1, -0.2]
W2 = [0.7, -0.6]
B2 = 0.2
X = [1.0, 0.5]
Y = 1.0


def sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def by_hand() -> dict[str, float | list]:
    """Forward and backward pass of the worked example, neuron by neuron."""
    z1 = [W1[j][0] * X[0] + W1[j][1] * X[1] + B1[j] for j in range(2)]
    a1 = [sigma(z) for z in z1]
    z2 = W2[0] * a1[0] + W2[1] * a1[1] + B2
    a2 = sigma(z2)
    delta2 = (a2 - Y) * a2 * (1 - a2)  # BP1, quadratic cost
    delta1 = [W2[j] * delta2 * a1[j] * (1 - a1[j]) for j in range(2)]  # BP2
    return {
        "z1": z1,
        "a1": a1,
        "z2": z2,
        "a2": a2,
        "cost": 0.5 * (a2 - Y) ** 2,
        "delta2": delta2,
        "delta1": delta1,
        "grad_W2": [delta2 * a1[0], delta2 * a1[1]],  # BP4
        "grad_W1": [[delta1[j] * X[k] for k in range(2)] for j in range(2)],  # BP4
    }


@pytest.fixture
def net() -> Network:
    net = Network([2, 2, 1], activation="sigmoid", output="sigmoid", cost="quadratic",
                  init="constant")  # fmt: skip
    net.weights[:] = [np.array(W1), np.array([W2])]
    net.biases[:] = [np.array(B1), np.array([B2])]
    return net


def test_worked_numbers_match_the_values_quoted_in_the_book():
    h = by_hand()
    # the four-digit values printed in Chapter 5 (worked example)
    assert h["z1"] == pytest.approx([0.4, 0.5], abs=1e-12)
    assert h["a1"] == pytest.approx([0.5987, 0.6225], abs=5e-5)
    assert h["z2"] == pytest.approx(0.2456, abs=5e-5)
    assert h["a2"] == pytest.approx(0.5611, abs=5e-5)
    assert h["cost"] == pytest.approx(0.09632, abs=5e-6)
    assert h["delta2"] == pytest.approx(-0.1081, abs=5e-5)
    assert h["delta1"] == pytest.approx([-0.01818, 0.01524], abs=5e-6)
    assert h["grad_W2"] == pytest.approx([-0.06471, -0.06728], abs=5e-6)
    assert h["grad_W1"][0] == pytest.approx([-0.01818, -0.009089], abs=5e-6)
    assert h["grad_W1"][1] == pytest.approx([0.01524, 0.00762], abs=5e-6)


def test_backprop_example_equals_the_hand_computation(net):
    h = by_hand()
    grad_W, grad_b = net.backprop_example(np.array(X), np.array([Y]))
    np.testing.assert_allclose(grad_W[0], h["grad_W1"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(grad_b[0], h["delta1"], rtol=0, atol=1e-15)  # BP3
    np.testing.assert_allclose(grad_W[1], [h["grad_W2"]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(grad_b[1], [h["delta2"]], rtol=0, atol=1e-15)  # BP3
    assert net.cost(np.array([X]), np.array([[Y]])) == pytest.approx(h["cost"], abs=1e-15)


def test_batch_backprop_and_central_differences_agree_with_the_example(net):
    Xb, Yb = np.array([X]), np.array([[Y]])
    grad_W, grad_b = net.backprop(Xb, Yb)
    example_W, example_b = net.backprop_example(np.array(X), np.array([Y]))
    for batch, column in zip([*grad_W, *grad_b], [*example_W, *example_b]):
        np.testing.assert_allclose(batch, column, rtol=0, atol=1e-15)
    for param, grad in zip(net.parameters(), net.gradients(Xb, Yb)):
        central = numerical_gradient(lambda: net.cost(Xb, Yb), param, h=1e-3, order=4)
        np.testing.assert_allclose(grad, central, rtol=0, atol=1e-10)


def test_a_missing_sigma_prime_is_detected():
    """The oracle can fail: dropping sigma'(z) from BP1 changes delta^2 by a factor of ~4."""
    h = by_hand()
    wrong_delta2 = h["a2"] - Y
    assert abs(wrong_delta2 - h["delta2"]) > 0.3

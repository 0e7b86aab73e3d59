"""FGSM: the input gradient against finite differences; the attack raises the cost."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.adversarial import fgsm, input_gradient
from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.layers import Activation, Linear, Model


def _model(seed=0):
    return Model(
        [Linear(6, 5, seed=seed), Activation("tanh"), Linear(5, 3, seed=seed + 1),
         Activation("softmax")],
        cost="cross_entropy",
    )  # fmt: skip


def _data(rng, m=4):
    X = rng.random((m, 6))
    Y = np.eye(3)[rng.integers(0, 3, size=m)]
    return X, Y


def test_input_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    model, (X, Y) = _model(), _data(rng)
    g = input_gradient(model, X, Y)
    # the sum over rows of each example's own cost = m times the mean cost
    num = numerical_gradient(lambda: X.shape[0] * model.cost(X, Y), X, h=1e-3, order=4)
    assert np.abs(num).max() > 1e-3
    assert rel_error(g, num) < 1e-9


def test_fgsm_raises_the_cost_and_respects_eps_and_range():
    rng = np.random.default_rng(1)
    model, (X, Y) = _model(1), _data(rng, m=20)
    X0 = X.copy()
    X_adv = fgsm(model, X, Y, eps=0.05)
    np.testing.assert_array_equal(X, X0)  # input untouched
    assert np.abs(X_adv - X).max() <= 0.05 + 1e-15
    assert X_adv.min() >= 0.0 and X_adv.max() <= 1.0
    assert model.cost(X_adv, Y) > model.cost(X, Y)
    np.testing.assert_array_equal(fgsm(model, X, Y, eps=0.0), X)
    unclipped = fgsm(model, X, Y, eps=2.0, clip=None)
    assert np.allclose(np.abs(unclipped - X)[input_gradient(model, X, Y) != 0], 2.0)


def test_fgsm_bad_eps():
    model, (X, Y) = _model(), _data(np.random.default_rng(2))
    with pytest.raises(ValueError, match=">= 0"):
        fgsm(model, X, Y, eps=-0.1)
    with pytest.raises(TypeError, match="eps must be a number"):
        fgsm(model, X, Y, eps="0.1")
    with pytest.raises(ValueError, match=r"shape \(m, n_in\)"):
        fgsm(model, X[0], Y, eps=0.1)

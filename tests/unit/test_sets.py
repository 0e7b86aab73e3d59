"""Set pooling, the mixture of experts and the model summary."""

from __future__ import annotations

import numpy as np
import pytest

import dlcourse as dc
from dlcourse.gradcheck import check_layer
from dlcourse.layers import (
    Activation,
    Linear,
    MixtureOfExperts,
    Model,
    PerElement,
    Sequential,
    SetPool,
    from_config,
    summary,
)

TOL = 1e-7


def point_sets(m=3, k=5, d=4, seed=0):
    return np.random.default_rng(seed).standard_normal((m, k, d))


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_set_pool_gradient_and_torch(mode):
    x = point_sets()
    assert check_layer(SetPool(mode), x) < TOL
    torch = pytest.importorskip("torch")
    xt = torch.from_numpy(x).requires_grad_(True)
    ref = xt.amax(dim=1) if mode == "max" else xt.mean(dim=1)
    dout = np.random.default_rng(1).standard_normal(ref.shape)
    ref.backward(torch.from_numpy(dout))
    layer = SetPool(mode)
    np.testing.assert_allclose(layer.forward(x), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), atol=1e-12)


def test_max_pool_shares_the_gradient_between_tied_elements():
    x = np.array([[[1.0, 2.0], [3.0, 2.0], [3.0, 0.0]]])  # feature 0: tie of elements 1, 2
    layer = SetPool("max")
    np.testing.assert_array_equal(layer.forward(x), [[3.0, 2.0]])
    dx = layer.backward(np.array([[1.0, 1.0]]))
    np.testing.assert_array_equal(dx[0, :, 0], [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(dx[0, :, 1], [0.5, 0.5, 0.0])


def test_set_network_is_permutation_invariant_bit_for_bit():
    rng = np.random.default_rng(2)
    net = Model([PerElement(Sequential([Linear(2, 8, seed=3), Activation("relu")])),
                 SetPool("max"), Linear(8, 3, seed=4), Activation("softmax")])  # fmt: skip
    x = rng.standard_normal((6, 20, 2))
    shuffled = np.stack([cloud[rng.permutation(20)] for cloud in x])
    assert np.array_equal(net.forward(x), net.forward(shuffled))


def test_set_pool_errors():
    with pytest.raises(ValueError, match="mode must be"):
        SetPool("sum")
    with pytest.raises(ValueError, match=r"\(m, k, d\)"):
        SetPool().forward(np.zeros((3, 4)))


def mixture(seed=0):
    experts = [Sequential([Linear(3, 4, seed=seed + i), Activation("tanh")]) for i in range(3)]
    return MixtureOfExperts(experts, Linear(3, 3, seed=seed + 9))


def test_mixture_gradient_and_gates():
    moe = mixture()
    x = np.random.default_rng(5).standard_normal((4, 3))
    assert check_layer(moe, x) < TOL
    moe.forward(x)
    np.testing.assert_allclose(moe.gates.sum(axis=1), 1.0)
    assert len(moe.params) == 2 * 3 + 2


def test_mixture_matches_a_torch_computation():
    torch = pytest.importorskip("torch")
    moe = mixture(seed=1)
    x = np.random.default_rng(6).standard_normal((5, 3))
    out = moe.forward(x)
    xt = torch.from_numpy(x)
    outs = []
    for expert in moe.experts:
        lin = expert[0]
        outs.append(torch.tanh(xt @ torch.from_numpy(lin.W).T + torch.from_numpy(lin.b)))
    gate = moe.gate
    pi = torch.softmax(xt @ torch.from_numpy(gate.W).T + torch.from_numpy(gate.b), dim=1)
    ref = sum(pi[:, e : e + 1] * outs[e] for e in range(3))
    np.testing.assert_allclose(out, ref.numpy(), atol=1e-12)


def test_mixture_errors_and_config():
    with pytest.raises(ValueError, match="one logit per expert"):
        MixtureOfExperts([Linear(3, 2, seed=0)] * 1, Linear(3, 2, seed=1)).forward(np.ones((2, 3)))
    moe = mixture()
    assert from_config(moe.config()).config() == moe.config()
    assert from_config(SetPool("mean").config()).mode == "mean"


def test_summary_counts_by_hand():
    model = Model([Linear(784, 30, seed=0), Activation("sigmoid"), Linear(30, 10, seed=1),
                   Activation("softmax")])  # fmt: skip
    s = summary(model, (784,))
    assert [r.params for r in s.rows] == [784 * 30 + 30, 0, 30 * 10 + 10, 0]
    assert s.mult_adds == 784 * 30 + 30 * 10
    assert s.activation_bytes == 8 * (30 + 30 + 10 + 10)
    net = summary(dc.Network([784, 30, 10]))
    assert net.params == s.params and net.mult_adds == s.mult_adds
    shared = summary(Sequential([PerElement(Linear(2, 8, seed=0)), SetPool()]), (50, 2))
    assert shared.rows[0].mult_adds == 50 * 2 * 8, "a shared layer costs once per element"
    assert "total" in str(s)
    with pytest.raises(ValueError, match="input_shape"):
        summary(model)
    with pytest.raises(TypeError, match="Model, a Layer or a Network"):
        summary(object(), (3,))
    x = np.ones((2, 784))
    np.testing.assert_array_equal(model.forward(x), model.forward(x))  # forward restored
    assert "forward" not in vars(model.layers[0])


def test_summary_matches_torch_parameter_count():
    torch = pytest.importorskip("torch")
    from dlcourse.layers import GRU, LastStep

    model = Model([GRU(28, 64, seed=0), LastStep(), Linear(64, 10, seed=1)], cost="quadratic")
    ref = torch.nn.ModuleList([torch.nn.GRU(28, 64), torch.nn.Linear(64, 10)])
    assert summary(model, (28, 28)).params == sum(p.numel() for p in ref.parameters())

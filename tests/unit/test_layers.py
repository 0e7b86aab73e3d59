"""Modular layers: gradient checks, torch parity for BatchNorm1d, dropout, Model vs Network."""

from __future__ import annotations

import numpy as np
import pytest

import dlcourse as dc
from dlcourse.activations import ACTIVATIONS, softmax_jacobian
from dlcourse.gradcheck import check_layer, numerical_gradient, rel_error
from dlcourse.layers import (
    Activation,
    BatchNorm1d,
    Concat,
    Dropout,
    Linear,
    Model,
    Residual,
    Sequential,
    Sum,
    from_config,
)

TOL = 1e-7


def batch(m=6, n=5, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal((m, n)) * scale + 0.3


def affine_bn(n, seed=1, **kwargs):
    bn = BatchNorm1d(n, **kwargs)
    rng = np.random.default_rng(seed)
    bn.gamma[...] = rng.uniform(0.5, 1.5, n)
    bn.beta[...] = rng.standard_normal(n)
    return bn


LAYERS = {
    "linear": lambda: Linear(5, 4, seed=1),
    "linear_nielsen": lambda: Linear(5, 3, init="nielsen", seed=2),
    "batchnorm_train": lambda: affine_bn(5),
    "batchnorm_no_affine": lambda: BatchNorm1d(5, affine=False),
    "residual": lambda: Residual([Linear(5, 5, seed=3), Activation("tanh")]),
    "concat": lambda: Concat(
        [Linear(5, 2, seed=4), Sequential([Linear(5, 3, seed=5), Activation("sigmoid")])]
    ),
    "sum": lambda: Sum(
        [Linear(5, 4, seed=6), Sequential([Linear(5, 4, seed=7), Activation("elu")])]
    ),
    "sequential_bn": lambda: Sequential(
        [Linear(5, 4, seed=8), Activation("tanh"), affine_bn(4), Linear(4, 2, seed=9)]
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradient_check(name):
    layer = LAYERS[name]()
    # dout from seed 1: no entry of dx lies within 1e-6 of zero, where a relative error
    # measures the round-off of the differences rather than the gradient
    assert check_layer(layer, batch(scale=2.0), seed=1) < TOL
    assert len(layer.params) == len(layer.grads)
    for p, g in zip(layer.params, layer.grads):
        assert p.shape == g.shape


@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS) - {"step"}))
def test_activation_layer_gradient(name):
    x = batch(scale=1.5) + 0.05  # keeps relu-like kinks away from the stencil
    assert check_layer(Activation(name), x) < TOL


def test_step_activation_has_zero_gradient():
    layer = Activation("step")
    layer.forward(batch())
    np.testing.assert_array_equal(layer.backward(np.ones((6, 5))), 0.0)


def test_softmax_backward_is_the_jacobian_product():
    x, dout = batch(seed=2), batch(seed=3)
    layer = Activation("softmax")
    layer.forward(x)
    expected = np.einsum("mij,mi->mj", softmax_jacobian(x), dout)
    np.testing.assert_allclose(layer.backward(dout), expected, rtol=1e-12, atol=1e-15)


def test_batchnorm_eval_mode_gradient():
    bn = affine_bn(5)
    bn.running_mean[...] = 0.2
    bn.running_var[...] = 1.7
    assert check_layer(bn, batch(), forward_kwargs={"training": False}) < TOL


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_matches_torch(affine):
    torch = pytest.importorskip("torch")
    bn = affine_bn(4, momentum=0.3) if affine else BatchNorm1d(4, momentum=0.3, affine=False)
    ref = torch.nn.BatchNorm1d(4, momentum=0.3, affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(bn.gamma))
            ref.bias.copy_(torch.from_numpy(bn.beta))
    for step in range(3):  # three training batches move the running statistics
        x, dout = batch(7, 4, seed=10 + step, scale=3.0), batch(7, 4, seed=20 + step)
        xt = torch.tensor(x, requires_grad=True)
        out_t = ref(xt)
        out_t.backward(torch.from_numpy(dout))
        out = bn.forward(x)
        dx = bn.backward(dout)
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        if affine:
            np.testing.assert_allclose(bn.grad_gamma, ref.weight.grad.numpy(), atol=1e-12)
            np.testing.assert_allclose(bn.grad_beta, ref.bias.grad.numpy(), atol=1e-12)
            ref.weight.grad = ref.bias.grad = None
    np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), rtol=1e-13)
    np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), rtol=1e-13)
    ref.eval()
    x = batch(5, 4, seed=30)
    out_eval = ref(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(bn.forward(x, training=False), out_eval, rtol=1e-12, atol=1e-12)


def test_batchnorm_bad_input():
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm1d(3, momentum=0.0)
    with pytest.raises(ValueError, match="more than 1 row"):
        BatchNorm1d(3).forward(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"\(m, 3\)"):
        BatchNorm1d(3).forward(np.ones((4, 2)))


def test_dropout_properties():
    x = np.full((400, 50), 2.0)
    layer = Dropout(0.3, seed=7)
    out = layer.forward(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 2.0 / 0.7)  # inverted scaling
    assert abs(kept.mean() - 0.7) < 0.01
    assert abs(out.mean() - 2.0) < 0.03  # expected activation preserved
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), out / 2.0)  # dout * mask
    again = Dropout(0.3, seed=7).forward(x)
    np.testing.assert_array_equal(out, again)  # reproducible from the seed
    assert Dropout(0.3, seed=7).forward(x, training=False) is x  # evaluation: identity
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)


def test_dropout_gradient_with_fixed_mask():
    layer = Dropout(0.4, seed=3)
    x, dout = batch(), batch(seed=5)
    out = layer.forward(x)
    mask = out / x
    np.testing.assert_allclose(layer.backward(dout), dout * mask)


def copy_network_into_layers(net, linears):
    for layer, W, b in zip(linears, net.weights, net.biases):
        layer.W[...] = W
        layer.b[...] = b


@pytest.mark.parametrize(
    ("activation", "output", "cost"),
    [
        ("sigmoid", "sigmoid", "quadratic"),
        ("tanh", "softmax", "cross_entropy"),
        ("relu", "sigmoid", "binary_cross_entropy"),
        ("elu", "identity", "quadratic"),
    ],
)
def test_mlp_from_layers_has_the_network_gradients(activation, output, cost):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((9, 6)), rng.integers(0, 3, 9)
    net = dc.Network([6, 5, 4, 3], activation, output, cost, seed=1)
    linears = [Linear(6, 5), Linear(5, 4), Linear(4, 3)]
    layers = [linears[0], Activation(activation), linears[1], Activation(activation), linears[2]]
    model = Model(layers + ([] if output == "identity" else [Activation(output)]), cost)
    copy_network_into_layers(net, linears)
    Y = np.eye(3)[y]
    for l2 in (0.0, 0.7):
        net.l2 = model.l2 = l2
        net.n_train = model.n_train = 20
        for a, b in zip(net.gradients(X, Y), model.gradients(X, Y), strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
        assert model.cost(X, Y) == pytest.approx(net.cost(X, Y), abs=1e-12)
    np.testing.assert_allclose(model.forward(X), net.forward(X), atol=1e-14)


def test_model_gradient_check_with_batchnorm_and_branches():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((8, 4)), np.eye(3)[rng.integers(0, 3, 8)]
    model = Model(
        [
            Linear(4, 6, seed=1),
            Activation("tanh"),  # a bias right before batch norm would get a zero gradient
            affine_bn(6),
            Residual(Linear(6, 6, seed=2)),
            Concat([Linear(6, 2, seed=3), Linear(6, 3, seed=4)]),
            Activation("relu"),
            Sum([Linear(5, 3, seed=5), Linear(5, 3, seed=6)]),
            Activation("softmax"),
        ],
        "cross_entropy",
    )
    model.l2, model.n_train = 0.3, 8
    analytic = [g.copy() for g in model.gradients(X, Y)]
    for p, g in zip(model.parameters(), analytic, strict=True):
        numeric = numerical_gradient(lambda: model.cost(X, Y, training=True), p, 1e-4, 4)
        assert rel_error(g, numeric) < TOL


def test_model_fit_save_load(tmp_path):
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    model = Model(
        [Linear(4, 8, seed=1), BatchNorm1d(8), Activation("relu"), Dropout(0.2, seed=2),
         Linear(8, 3, seed=3), Activation("softmax")],
        "cross_entropy",
        seed=0,
    )  # fmt: skip
    history = model.fit(X, y, 3, 10, optimizer=dc.optim.Adam(lr=1e-2), progress=False)
    assert history.epoch == [1, 2, 3]
    path = model.save(tmp_path / "model.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    again = Model.load(path)
    np.testing.assert_array_equal(again.forward(X), model.forward(X))
    assert again.evaluate(X, y) == model.evaluate(X, y)
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="model.npz"):
        Model.load(path)


def test_config_round_trip_and_errors():
    layer = Sequential(
        [Linear(3, 2), Residual(Linear(2, 2)), Concat([Linear(2, 1), Sum([Linear(2, 1)])])]
    )
    rebuilt = from_config(layer.config())
    assert rebuilt.config() == layer.config()
    with pytest.raises(ValueError, match="unknown layer"):
        from_config({"type": "Conv3d"})
    with pytest.raises(TypeError, match="Layer"):
        Sequential([np.eye(2)])
    with pytest.raises(ValueError, match=r"\(m, 3\)"):
        Linear(3, 2).forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="cross_entropy"):
        Model([Linear(3, 2)], "cross_entropy")  # identity output cannot pair with it
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(3, 2).backward(np.ones((1, 2)))


def test_model_get_params_are_the_constructor_arguments():
    layers = [Linear(3, 4, seed=0), Activation("relu"), Linear(4, 2, seed=1),
              Activation("softmax")]  # fmt: skip
    model = dc.layers.Model(layers, cost="cross_entropy", seed=5)
    params = model.get_params()
    assert params["cost"] == "cross_entropy" and params["seed"] == 5
    assert all(a is b for a, b in zip(params["layers"], layers))
    again = dc.layers.Model(**params)
    assert again.get_params()["layers"] == params["layers"]

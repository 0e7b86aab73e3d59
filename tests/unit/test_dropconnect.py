"""DropConnect: masks on the weights, inverted scaling, exact gradients, seeds, config."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import check_layer
from dlcourse.layers import Activation, DropConnect, Linear, Model, from_config

TOL = 1e-8


def batch(m=6, n=5, seed=0):
    return np.random.default_rng(seed).standard_normal((m, n))


class FixedMask:
    """The layer in training mode with its generator reset before every forward, so
    that each forward pass draws the same mask (what a gradient check needs)."""

    def __init__(self, layer, seed):
        self.layer, self.seed = layer, seed

    def forward(self, x):
        self.layer.rng = np.random.default_rng(self.seed)
        return self.layer.forward(x, training=True)

    def backward(self, dout):
        return self.layer.backward(dout)

    @property
    def params(self):
        return self.layer.params

    @property
    def grads(self):
        return self.layer.grads


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_gradient_check_in_training_mode(p):
    layer = DropConnect(5, 4, p=p, seed=1)
    assert check_layer(FixedMask(layer, seed=11), batch(), seed=2) < TOL
    assert 0 < np.mean(layer._mask == 0) < 1  # some connections really were dropped


def test_gradient_check_in_evaluation_mode():
    layer = DropConnect(5, 4, p=0.5, seed=1)
    assert check_layer(layer, batch(), forward_kwargs={"training": False}) < TOL


def test_forward_uses_the_masked_weights_and_backward_masks_grad_W():
    layer = DropConnect(5, 3, p=0.5, seed=4)
    x, dout = batch(), batch(n=3, seed=9)
    out = layer.forward(x)
    mask = layer._mask
    assert set(np.unique(mask).tolist()) == {0.0, 2.0}  # 0 or 1/(1 - p)
    np.testing.assert_allclose(out, x @ (layer.W * mask).T + layer.b, rtol=1e-12)
    dx = layer.backward(dout)
    np.testing.assert_allclose(layer.grad_W, (dout.T @ x) * mask, rtol=1e-12)
    assert np.all(layer.grad_W[mask == 0] == 0)  # a dropped weight gets no gradient
    np.testing.assert_allclose(layer.grad_b, dout.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(dx, dout @ (layer.W * mask), rtol=1e-12)


def test_evaluation_mode_and_p_zero_equal_linear():
    x = batch()
    layer = DropConnect(5, 3, p=0.3, init="he", seed=2)
    plain = Linear(5, 3, init="he", seed=2)
    np.testing.assert_array_equal(layer.W, plain.W)  # same initial weights from a seed
    np.testing.assert_allclose(layer.forward(x, training=False), plain.forward(x), rtol=1e-12)
    no_drop = DropConnect(5, 3, p=0.0, init="he", seed=2)
    np.testing.assert_allclose(no_drop.forward(x), plain.forward(x), rtol=1e-12)


def test_expected_output_is_the_full_layer():
    layer = DropConnect(8, 4, p=0.5, seed=3)
    x = batch(m=3, n=8, seed=1)
    mean = np.mean([layer.forward(x) for _ in range(4000)], axis=0)
    full = layer.forward(x, training=False)
    # standard error of the mean of 4000 draws is below 0.03 here
    np.testing.assert_allclose(mean, full, atol=0.1)
    assert not np.allclose(layer.forward(x), full)  # a single draw differs


def test_seed_reproduces_masks_and_new_masks_each_call():
    x = batch()
    a, b = DropConnect(5, 3, seed=7), DropConnect(5, 3, seed=7)
    first = a.forward(x)
    np.testing.assert_array_equal(first, b.forward(x))
    assert not np.array_equal(first, a.forward(x))  # a fresh mask for the next batch
    assert a.generators() == [a.rng]


def test_config_round_trip_and_model_training():
    layer = DropConnect(4, 3, p=0.25, init="he", dtype="float32")
    config = layer.config()
    assert config == {"type": "DropConnect", "n_in": 4, "n_out": 3, "init": "he",
                      "dtype": "float32", "p": 0.25}  # fmt: skip
    assert from_config(config).config() == config
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = Model([DropConnect(4, 8, p=0.3, rng=rng), Activation("tanh"), Linear(8, 2, rng=rng),
                   Activation("softmax")], seed=0)  # fmt: skip
    before = model.cost(X, y)
    model.fit(X, y, epochs=30, batch_size=10, lr=0.5, progress=False)
    assert model.cost(X, y) < 0.7 * before
    assert model.layers[0] in model.layers.children
    assert model.layers.decayed()[0] is model.layers[0].W  # L2 acts on its weights


def test_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        DropConnect(3, 2, p=1.0)
    with pytest.raises(ValueError, match=r"\(m, 3\)"):
        DropConnect(3, 2).forward(np.ones((2, 4)))
    with pytest.raises(RuntimeError, match="before forward"):
        DropConnect(3, 2).backward(np.ones((1, 2)))


def test_model_save_and_load(tmp_path):
    model = Model([DropConnect(4, 3, p=0.3, seed=1), Activation("softmax")], seed=0)
    X = batch(m=5, n=4)
    loaded = Model.load(model.save(tmp_path / "dropconnect.npz"))
    assert isinstance(loaded.layers[0], DropConnect) and loaded.layers[0].p == 0.3
    np.testing.assert_allclose(loaded.forward(X), model.forward(X), rtol=1e-12)

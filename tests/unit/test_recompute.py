"""dlcourse.recompute: gradient checkpointing gives the plain backward pass's gradients
exactly, stores less, replays dropout masks and leaves batch-norm statistics as one pass does."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from dlcourse.layers import Activation, BatchNorm1d, Dropout, Linear, Sequential
from dlcourse.recompute import Recompute, checkpoint_sequential, drop_caches


def make_layers(depth=6, width=5, n_in=4, seed=0, dropout=False, batchnorm=False):
    rng = np.random.default_rng(seed)
    layers, n = [], n_in
    for _ in range(depth):
        layers.append(Linear(n, width, init="he", rng=rng))
        if batchnorm:
            layers.append(BatchNorm1d(width))
        layers.append(Activation("tanh"))
        if dropout:
            layers.append(Dropout(0.3, seed=int(rng.integers(1 << 30))))
        n = width
    layers.append(Linear(n, 3, rng=rng))
    return layers


def forward_backward(model, X, dout):
    out = model.forward(X)
    dx = model.backward(dout)
    return out, dx, [g.copy() for g in model.grads]


@pytest.fixture
def batch():
    rng = np.random.default_rng(1)
    return rng.normal(size=(8, 4)), rng.normal(size=(8, 3))


@pytest.mark.parametrize("segments", [1, 2, 3, 13])
@pytest.mark.parametrize("extras", [{}, {"dropout": True}, {"batchnorm": True}])
def test_gradients_equal_the_plain_backward_pass(batch, segments, extras):
    X, dout = batch
    plain = Sequential(make_layers(**extras))
    layers = make_layers(**extras)
    if extras.get("batchnorm"):
        segments = min(segments, 2)  # 19 layers with batch norm: any split works; keep two
    recomputed = checkpoint_sequential(layers, segments)
    for _ in range(2):  # two steps: generators and running statistics must stay in step
        out_p, dx_p, grads_p = forward_backward(plain, X, dout)
        out_r, dx_r, grads_r = forward_backward(recomputed, X, dout)
        np.testing.assert_array_equal(out_r, out_p)
        np.testing.assert_array_equal(dx_r, dx_p)
        assert len(grads_r) == len(grads_p) > 0
        for g_r, g_p in zip(grads_r, grads_p):
            np.testing.assert_array_equal(g_r, g_p)
    for b_r, b_p in zip(recomputed.buffers(), plain.buffers()):
        np.testing.assert_array_equal(b_r, b_p)  # running mean/var updated once per step
    for g_r, g_p in zip(recomputed.generators(), plain.generators()):
        assert g_r.bit_generator.state == g_p.bit_generator.state


def test_forward_keeps_only_the_block_input(batch):
    X, _ = batch
    block = Recompute(make_layers(depth=3))
    block.forward(X)
    assert block._x is X
    for layer in block.inner.children:
        cached = [v for k, v in vars(layer).items() if k.startswith("_") and v is not None]
        assert cached == [], f"{type(layer).__name__} still holds {len(cached)} cache(s)"


def test_evaluation_mode_stores_nothing_and_matches(batch):
    X, _ = batch
    plain = Sequential(make_layers(dropout=True))
    recomputed = checkpoint_sequential(make_layers(dropout=True), 3)
    np.testing.assert_array_equal(recomputed.forward(X, False), plain.forward(X, False))
    with pytest.raises(RuntimeError, match="before a forward pass"):
        recomputed.backward(np.ones((8, 3)))
    recomputed.forward(X, True)
    recomputed.forward(X, False)  # the evaluation pass forgets the training pass's input
    with pytest.raises(RuntimeError, match="before a forward pass"):
        recomputed.backward(np.ones((8, 3)))


def test_drop_caches_then_backward_raises(batch):
    X, dout = batch
    model = Sequential(make_layers(depth=2))
    model.forward(X)
    drop_caches(model)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        model.backward(dout)
    assert all(p is not None for p in model.params)


def _peak_bytes(model, X, dout):
    tracemalloc.start()
    try:
        model.forward(X)
        model.backward(dout)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sqrt_segments_store_much_less_than_the_plain_pass():
    depth, width, m = 36, 64, 128
    rng = np.random.default_rng(2)
    X, dout = rng.normal(size=(m, width)), rng.normal(size=(m, width))

    def layers():
        r = np.random.default_rng(3)
        return [
            layer
            for _ in range(depth)
            for layer in (Linear(width, width, init="he", rng=r), Activation("relu"))
        ]

    plain = _peak_bytes(Sequential(layers()), X, dout)
    recomputed = _peak_bytes(checkpoint_sequential(layers(), 8), X, dout)
    activation = m * width * 8
    assert plain > 2 * depth * activation  # z and a of every hidden layer are stored
    assert recomputed < 0.4 * plain


def test_config_describes_the_plain_architecture():
    layers = make_layers(depth=2)
    assert checkpoint_sequential(layers, 1).children[0].config() == Sequential(layers).config()
    assert [len(b) for b in checkpoint_sequential(make_layers(depth=4), 3).children] == [3, 3, 3]


@pytest.mark.parametrize("segments", [0, 10])
def test_segments_out_of_range(segments):
    with pytest.raises(ValueError, match="between 1 and the number of layers \\(9\\)"):
        checkpoint_sequential(make_layers(depth=4), segments)


@pytest.mark.parametrize("segments", [2.0, "2", True])
def test_segments_must_be_an_int(segments):
    with pytest.raises(TypeError, match="segments must be an int"):
        checkpoint_sequential(make_layers(depth=4), segments)

"""The fused optimiser step over a flat parameter vector (``dlcourse.optim.flat``) gives the
very same numbers as the array-by-array step, and falls back to it whenever the parameters
or the state no longer tile one vector."""

from __future__ import annotations

import numpy as np
import pytest

import dlcourse as dc
from dlcourse.optim import flat

OPTIMISERS = [
    lambda: dc.optim.SGD(0.5),
    lambda: dc.optim.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda: dc.optim.Adam(1e-2),
    lambda: dc.optim.Adam(1e-2, weight_decay=0.01, amsgrad=True, maximize=True),
    lambda: dc.optim.AdamW(1e-2),
    lambda: dc.optim.RMSprop(1e-2, momentum=0.9, centered=True),
    lambda: dc.optim.Adagrad(0.1, lr_decay=0.01),
]


def _data(dtype="float64"):
    rng = np.random.default_rng(3)
    X = rng.random((40, 6)).astype(dtype)
    return X, np.eye(3, dtype=dtype)[rng.integers(0, 3, 40)]


def _train(net, opt, X, Y, steps, fused: bool):
    params = net.parameters() if fused else list(net.parameters())
    for k in range(steps):
        grads = net.gradients(X[k % 4 :: 4], Y[k % 4 :: 4])
        opt.step(params, grads if fused else list(grads))


def _net(dtype="float64"):
    return dc.Network([6, 5, 4, 3], "tanh", "softmax", "cross_entropy", dtype=dtype, seed=1)


def test_network_parameters_and_gradients_are_views_of_one_vector():
    net = _net()
    params = net.parameters()
    assert isinstance(params, flat.FlatList)
    assert params.flat.shape == (6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3,)
    params.flat[:] = 0.25  # writing the vector writes every W^l and b^l
    assert all((W == 0.25).all() for W in net.weights)
    assert all((b == 0.25).all() for b in net.biases)
    X, Y = _data()
    grads = net.gradients(X, Y)
    assert isinstance(grads, flat.FlatList) and grads.flat.shape == params.flat.shape
    grad_W, grad_b = net.backprop(X, Y)
    for g, expected in zip(grads, [g for pair in zip(grad_W, grad_b) for g in pair]):
        np.testing.assert_array_equal(g, expected)
    two = net.gradients(X[:7], Y[:7])  # a fresh vector each call: earlier results stay
    assert not np.shares_memory(two.flat, grads.flat)
    np.testing.assert_array_equal(grads[0], grad_W[0])


def test_replacing_a_weight_array_turns_the_fused_path_off():
    net = _net()
    net.weights[1] = net.weights[1].copy()
    params = net.parameters()
    assert not isinstance(params, flat.FlatList)
    assert params[2] is net.weights[1]
    X, Y = _data()
    before = net.weights[1].copy()
    dc.optim.SGD(0.5).step(params, net.gradients(X, Y))
    assert not np.array_equal(before, net.weights[1])  # the replaced array is trained


@pytest.mark.parametrize("make", OPTIMISERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_step_equals_the_step_array_by_array(make, dtype):
    X, Y = _data(dtype)
    fused, single = _net(dtype), _net(dtype)
    opt_fused, opt_single = make(), make()
    start = fused.parameters().flat.copy()
    _train(fused, opt_fused, X, Y, 7, fused=True)
    _train(single, opt_single, X, Y, 7, fused=False)
    assert not np.array_equal(fused.parameters().flat, start)  # it did train
    for a, b in zip(fused.parameters(), single.parameters()):
        np.testing.assert_array_equal(a, b)  # bit for bit
    sd_fused, sd_single = opt_fused.state_dict(), opt_single.state_dict()
    assert sd_fused.keys() == sd_single.keys()
    for key, value in sd_single.items():
        np.testing.assert_array_equal(sd_fused[key], value, err_msg=key)


@pytest.mark.parametrize("make", OPTIMISERS[1:4])
def test_a_restored_state_is_gathered_into_the_flat_buffers(make):
    X, Y = _data()
    net, twin = _net(), _net()
    opt = make()
    _train(net, opt, X, Y, 3, fused=True)
    _train(twin, make(), X, Y, 3, fused=True)
    resumed = make()
    resumed.load_state_dict(opt.state_dict())  # separate arrays, not views
    _train(net, opt, X, Y, 4, fused=True)
    _train(twin, resumed, X, Y, 4, fused=True)
    np.testing.assert_array_equal(net.parameters().flat, twin.parameters().flat)


def test_mixing_fused_and_array_steps_keeps_one_trajectory():
    X, Y = _data()
    mixed, single = _net(), _net()
    opt_mixed, opt_single = dc.optim.Adam(1e-2), dc.optim.Adam(1e-2)
    for k in range(6):
        _train(mixed, opt_mixed, X, Y, 1, fused=k % 2 == 0)
        _train(single, opt_single, X, Y, 1, fused=False)
    np.testing.assert_array_equal(mixed.parameters().flat, single.parameters().flat)


def test_unequal_step_counts_fall_back_to_array_steps():
    X, Y = _data()
    net = _net()
    opt = dc.optim.Adam(1e-2)
    _train(net, opt, X, Y, 1, fused=True)
    opt.state[0]["step"] = 5  # no longer one step count for all arrays
    assert flat.flat_state(opt.state, net.parameters(), opt._flat_cache, lambda s, p: s) is None
    _train(net, opt, X, Y, 1, fused=True)
    assert opt.state[0]["step"] == 6 and opt.state[1]["step"] == 2


def test_flat_views_checks_the_sizes():
    with pytest.raises(ValueError, match="hold 7 numbers; the vector has 8"):
        flat.flat_views(np.zeros(8), [(2, 3), (1,)])
    views = flat.flat_views(np.arange(7.0), [(2, 3), (1,)])
    assert isinstance(views, flat.FlatList) and [v.shape for v in views] == [(2, 3), (1,)]
    np.testing.assert_array_equal(views[1], [6.0])
    views[0][1, 2] = -1.0  # views, not copies
    assert views.flat[5] == -1.0


def test_the_gradient_vector_is_reused_only_when_nobody_holds_it():
    net = _net()
    X, Y = _data()
    first = net.gradients(X, Y)
    kept = first[0]  # the caller keeps one gradient array
    del first
    second = net.gradients(X[:9], Y[:9])
    assert not np.shares_memory(kept, second.flat)
    address = second.flat.__array_interface__["data"][0]
    del second
    third = net.gradients(X, Y)
    assert third.flat.__array_interface__["data"][0] == address  # nobody held it: reused
    np.testing.assert_array_equal(third[0], kept)  # the same batch, the same gradient


def test_network_on_a_torch_device_uses_the_flat_vector_too():
    torch = pytest.importorskip("torch")
    net = dc.Network([6, 5, 3], dtype="float64", seed=1, device="cpu")
    ref = dc.Network([6, 5, 3], dtype="float64", seed=1)
    params = net.parameters()
    assert isinstance(params, flat.FlatList) and isinstance(params.flat, torch.Tensor)
    X, Y = _data()
    Y = Y[:, :3]
    opt, opt_ref = dc.optim.Adam(1e-2), dc.optim.Adam(1e-2)
    for _ in range(3):
        grads = net.gradients(X, Y)
        assert isinstance(grads, flat.FlatList)
        opt.step(params, grads)
        opt_ref.step(ref.parameters(), ref.gradients(X, Y))
    np.testing.assert_allclose(params.flat.numpy(), ref.parameters().flat, rtol=0, atol=1e-12)


def test_saved_and_loaded_network_keeps_its_flat_vector(tmp_path):
    net = _net()
    X, Y = _data()
    _train(net, dc.optim.SGD(0.5), X, Y, 2, fused=True)
    loaded = dc.Network.load(net.save(tmp_path / "net.npz"))
    assert isinstance(loaded.parameters(), flat.FlatList)
    np.testing.assert_array_equal(loaded.parameters().flat, net.parameters().flat)


@pytest.mark.parametrize("make", OPTIMISERS)
def test_an_update_in_pieces_equals_the_whole_update(make, monkeypatch):
    monkeypatch.setattr(flat, "CHUNK", 7)  # the 74 numbers of _net() in 11 pieces
    X, Y = _data()
    pieces, single = _net(), _net()
    opt_pieces, opt_single = make(), make()
    _train(pieces, opt_pieces, X, Y, 5, fused=True)
    _train(single, opt_single, X, Y, 5, fused=False)
    np.testing.assert_array_equal(pieces.parameters().flat, single.parameters().flat)
    sd_pieces, sd_single = opt_pieces.state_dict(), opt_single.state_dict()
    assert sd_pieces.keys() == sd_single.keys()
    for key, value in sd_single.items():
        np.testing.assert_array_equal(sd_pieces[key], value, err_msg=key)

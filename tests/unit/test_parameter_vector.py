"""``Network`` keeps its parameters as views of one vector θ, and ``fit_loop`` hands an
elementwise optimiser ``[θ]`` and ``[∇θ]`` (``dlcourse.train.updater``). The optimisers'
updates are elementwise, so this must give the same numbers as updating the arrays one by
one: the same arithmetic on the same operands, which is why equality is exact here."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dlcourse import Network, optim
from dlcourse._arrays import views
from dlcourse.train import elementwise, fit_loop, stepper

rng = np.random.default_rng(3)
X = rng.random((40, 5))
Y = np.eye(3)[rng.integers(0, 3, 40)]

OPTIMIZERS = {
    "sgd": lambda: optim.SGD(lr=0.5),
    "sgd momentum nesterov decay": lambda: optim.SGD(
        lr=0.2, momentum=0.9, nesterov=True, weight_decay=1e-3
    ),
    "adam amsgrad": lambda: optim.Adam(lr=0.01, amsgrad=True),
    "adamw": lambda: optim.AdamW(lr=0.01, weight_decay=0.1),
    "rmsprop centered": lambda: optim.RMSprop(lr=0.01, centered=True, momentum=0.5),
    "adagrad": lambda: optim.Adagrad(lr=0.1),
}


def net(**kwargs) -> Network:
    return Network([5, 7, 3], "tanh", "softmax", "cross_entropy", seed=0, **kwargs)


class ArrayByArray:
    """The same optimiser, seen by the loop as not elementwise: it steps array by array."""

    def __init__(self, inner):
        self.inner = inner
        self.lr = inner.lr

    def step(self, params, grads):
        self.inner.step(params, grads)


def test_weights_and_biases_are_views_of_theta():
    model = net()
    theta = model.parameter_vector()
    assert theta.shape == (7 * 5 + 7 + 3 * 7 + 3,)
    expected = np.concatenate([p.ravel() for p in model.parameters()])
    np.testing.assert_array_equal(theta, expected)
    theta[0] = 42.0
    assert model.weights[0][0, 0] == 42.0
    model.biases[1][2] = -7.0
    assert theta[-1] == -7.0


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_one_vector_step_equals_array_by_array(name):
    one, many = net(), net()
    opt_one, opt_many = OPTIMIZERS[name](), OPTIMIZERS[name]()
    one.fit(X, Y, 3, 8, optimizer=opt_one, l2=0.5, progress=False)
    many.fit(X, Y, 3, 8, optimizer=ArrayByArray(opt_many), l2=0.5, progress=False)
    for p, q in zip(one.parameters(), many.parameters()):
        np.testing.assert_array_equal(p, q)
    assert list(opt_one.state) == [0]  # the state of θ: one entry, buffers shaped like θ
    assert all(
        np.shape(buf) in ((), one.parameter_vector().shape) for buf in opt_one.state[0].values()
    )
    assert sorted(opt_many.state) == [0, 1, 2, 3]


def test_a_subclass_that_overrides_step_is_stepped_array_by_array():
    class WeightsOnly(optim.SGD):  # as Chapter 8's SGDWithL1: its step looks at p.ndim
        def step(self, params, grads):
            super().step(params, grads)
            for p in params:
                if p.ndim == 2:
                    p *= 0.5

    class Plain(optim.Adam):
        pass

    assert elementwise(optim.SGD(lr=1.0)) and elementwise(optim.AdamW()) and elementwise(Plain())
    assert not elementwise(WeightsOnly(lr=1.0))
    model, opt = net(), WeightsOnly(lr=0.1)
    model.fit(X, Y, 1, 8, optimizer=opt, progress=False)
    assert sorted(opt.state) == [0, 1, 2, 3]
    halved = 0.5 ** (40 // 8)  # every step halves the weights after the SGD step
    assert np.abs(model.weights[0]).max() < halved * np.abs(net().weights[0]).max() * 2


def test_an_optimizer_with_state_per_array_keeps_stepping_array_by_array():
    model, opt = net(), optim.Adam(lr=0.01)
    opt.step(model.parameters(), model.gradients(X, Y))  # state for each of the 4 arrays
    model.fit(X, Y, 1, 8, optimizer=opt, progress=False)
    assert sorted(opt.state) == [0, 1, 2, 3]
    assert opt.state[0]["step"] == 1 + 5


def test_stepper_for_a_model_without_a_parameter_vector_steps_the_list():
    calls = []

    class Recorder:
        elementwise = True
        state: dict = {}

        def step(self, params, grads):
            calls.append((params, grads))

    class Model:
        def gradients(self, X, Y, validate=True):
            return [X, Y]

    params = [np.zeros(2), np.zeros(3)]
    stepper(Model(), Recorder(), params)(np.ones(2), np.ones(3))
    assert calls[0][0] is params
    np.testing.assert_array_equal(calls[0][1][1], np.ones(3))


@pytest.mark.parametrize("l2", [0.0, 0.5])
@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy", "binary_cross_entropy"])
def test_gradients_into_equals_backprop(cost, l2):
    output = "softmax" if cost == "cross_entropy" else "sigmoid"
    model = Network([5, 7, 4, 3], "relu", output, cost, seed=2)
    model.l2, model.n_train = l2, 100
    theta = model.parameter_vector()
    grad = np.full_like(theta, np.nan)
    model.gradients_into(X, Y, views(grad, [p.shape for p in model.parameters()]))
    expected = np.concatenate([g.ravel() for g in model.gradients(X, Y)])
    np.testing.assert_array_equal(grad, expected)  # same operations on the same operands


@pytest.mark.parametrize("fast", [True, False])
def test_fast_gradients_flag_chooses_the_gradient_code(fast, monkeypatch):
    model, called = net(), []
    model.fast_gradients = fast
    monkeypatch.setattr(model, "gradients_into", lambda *a: called.append("into") or
                        Network.gradients_into(model, *a))  # fmt: skip
    monkeypatch.setattr(model, "gradients", lambda *a, **k: called.append("backprop") or
                        Network.gradients(model, *a, **k))  # fmt: skip
    model.fit(X, Y, 1, 8, optimizer=optim.Adam(lr=0.01), progress=False)
    assert set(called) == {"into" if fast else "backprop"}
    reference = net()
    reference.fast_gradients = not fast
    reference.fit(X, Y, 1, 8, optimizer=optim.Adam(lr=0.01), progress=False)
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p, q)


def test_replaced_arrays_are_copied_into_theta_and_viewed_again():
    model = net()
    theta = model.parameter_vector()
    W = np.full((7, 5), 0.25)
    model.weights[0] = W  # what torchnet and user code do
    model.biases[:] = [np.ones(7), np.arange(3.0)]
    params = model.parameters()
    assert model.parameter_vector() is theta
    np.testing.assert_array_equal(theta[:35], 0.25)
    np.testing.assert_array_equal(model.biases[1], [0.0, 1.0, 2.0])
    assert all(np.shares_memory(p, theta) for p in params)
    assert model.weights[0] is not W  # the network's own view is back
    before = theta.copy()
    model.fit(X, Y, 1, 8, optimizer=optim.SGD(lr=0.5), progress=False)
    assert not np.array_equal(theta, before)  # training moved θ, so the weights moved with it
    np.testing.assert_array_equal(model.weights[0].ravel(), theta[:35])


def test_a_deep_copy_keeps_its_arrays_views_of_its_own_theta():
    original = net()
    original.biases[0] = np.full(7, 0.5)  # one array replaced before the copy
    copied = copy.deepcopy(original)
    theta = copied.parameter_vector()
    assert not np.shares_memory(theta, original.parameter_vector())
    assert all(np.shares_memory(p, theta) for p in copied.parameters())
    for p, q in zip(copied.parameters(), original.parameters()):
        np.testing.assert_array_equal(p, q)
    copied.fit(X, Y, 1, 8, optimizer=optim.SGD(lr=0.5), progress=False)
    np.testing.assert_array_equal(copied.weights[0].ravel(), theta[:35])
    assert not np.array_equal(copied.weights[0], original.weights[0])


def test_a_replaced_array_of_another_shape_is_refused():
    model = net()
    model.weights[1] = np.zeros((3, 6))
    with pytest.raises(ValueError, match=r"weights\[1\] has shape \(3, 6\); layer 2 .* \(3, 7\)"):
        model.parameters()
    model = net()
    model.biases.append(np.zeros(2))
    with pytest.raises(ValueError, match="biases must hold 2 arrays; it holds 3"):
        model.parameter_vector()


def test_torchnet_weights_train_as_one_vector():
    torch = pytest.importorskip("torch")
    from dlcourse.torchnet import from_module

    module = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3),
                                 torch.nn.Softmax(dim=1)).double()  # fmt: skip
    model = from_module(module, cost="cross_entropy", seed=0)
    opt = optim.Adam(lr=0.01)
    fit_loop(model, X, Y, 1, 8, opt, progress=False, seed=0)
    assert list(opt.state) == [0]  # the fast path survived the replaced arrays
    theta = model.parameter_vector()
    assert all(np.shares_memory(p, theta) for p in model.weights + model.biases)


def test_theta_on_a_torch_device():
    torch = pytest.importorskip("torch")
    one, many = net(device="cpu"), net(device="cpu")
    theta = one.parameter_vector()
    assert isinstance(theta, torch.Tensor)
    assert all(p.untyped_storage().data_ptr() == theta.untyped_storage().data_ptr()
               for p in one.parameters())  # fmt: skip
    one.fit(X, Y, 2, 8, optimizer=optim.Adam(lr=0.01), progress=False)
    many.fit(X, Y, 2, 8, optimizer=ArrayByArray(optim.Adam(lr=0.01)), progress=False)
    for p, q in zip(one.parameters(), many.parameters()):
        assert torch.equal(p, q)

"""The bridge to idiomatic PyTorch: to_module/from_module and fit_torch, checked against
Network's own forward pass, backprop (BP1–BP4) and fit in float64 to 1e-10."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from dlcourse import Network

torch = pytest.importorskip("torch")

from dlcourse.torchnet import MODULES, fit_torch, from_module, network_cost, to_module  # noqa: E402

TOL = 1e-10
HIDDEN = sorted(set(MODULES) - {"softmax"})
PAIRINGS = [
    ("sigmoid", "quadratic"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
    ("identity", "quadratic"),
    ("softmax", "quadratic"),
]


def data(m=24, n_in=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((m, n_in)), rng.integers(0, k, m)
    return X, y, np.eye(k)[y]


def autograd_gradients(net, X, Y):
    module = to_module(net)
    C = network_cost(net.cost_fn.name)(module(torch.as_tensor(X)), torch.as_tensor(Y))
    C.backward()
    return float(C.detach()), [p.grad.numpy() for p in module.parameters()]


@pytest.mark.parametrize("activation", HIDDEN)
def test_autograd_of_to_module_equals_backprop_for_every_activation(activation):
    X, _, Y = data()
    net = Network([5, 6, 4, 3], activation, "sigmoid", "quadratic", init="xavier_normal", seed=1)
    C, grads = autograd_gradients(net, X, Y)
    grad_W, grad_b = net.backprop(X, Y)
    expected = [g for gW, gb in zip(grad_W, grad_b) for g in (gW, gb)]
    assert abs(C - net.cost(X, Y)) < TOL
    assert max(float(np.abs(a - b).max()) for a, b in zip(grads, expected)) < TOL


@pytest.mark.parametrize(("output", "cost"), PAIRINGS)
def test_autograd_equals_backprop_for_every_output_and_cost(output, cost):
    X, _, Y = data(seed=4)
    net = Network([5, 7, 3], "tanh", output, cost, seed=2)
    C, grads = autograd_gradients(net, X, Y)
    expected = [g for pair in zip(*net.backprop(X, Y)) for g in pair]
    assert abs(C - net.cost(X, Y)) < TOL
    assert max(float(np.abs(a - b).max()) for a, b in zip(grads, expected)) < TOL


def test_to_module_copies_weights_and_forward():
    X, _, _ = data()
    net = Network([5, 4, 3], "relu", "softmax", "cross_entropy", seed=0)
    module = to_module(net)
    assert [type(m).__name__ for m in module] == ["Linear", "ReLU", "Linear", "Softmax"]
    assert module[0].weight.dtype == torch.float64
    np.testing.assert_array_equal(module[0].weight.detach().numpy(), net.weights[0])
    out = module(torch.as_tensor(X)).detach().numpy()
    np.testing.assert_allclose(out, net.forward(X), rtol=0, atol=TOL)
    module[0].weight.data.zero_()  # a copy: the network is untouched
    assert np.abs(net.weights[0]).max() > 0


@pytest.mark.parametrize("activation", ["sigmoid", "gelu_approx", "leaky_relu", "softplus"])
def test_from_module_round_trip(activation):
    X, _, _ = data()
    net = Network([5, 6, 2], activation, "sigmoid", "binary_cross_entropy", seed=3)
    back = from_module(to_module(net), cost="binary_cross_entropy")
    assert (back.sizes, back.activation.name, back.output.name) == (
        net.sizes,
        activation,
        "sigmoid",
    )
    assert all(np.array_equal(a, b) for a, b in zip(back.parameters(), net.parameters()))
    np.testing.assert_allclose(back.forward(X), net.forward(X), rtol=0, atol=TOL)
    on_torch = from_module(to_module(net), device="cpu")
    assert isinstance(on_torch.weights[0], torch.Tensor)


def test_from_module_of_a_hand_written_module():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3), torch.nn.Softmax(dim=1)
    )
    net = from_module(module)
    assert (net.sizes, net.cost_fn.name, net.dtype) == ([5, 8, 3], "cross_entropy", np.float32)
    X = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    expected = module(torch.as_tensor(X)).detach().numpy()
    np.testing.assert_allclose(net.forward(X), expected, rtol=0, atol=1e-6)


def test_from_module_rejects_what_a_network_cannot_hold():
    nn = torch.nn
    with pytest.raises(ValueError, match="without bias"):
        from_module(nn.Sequential(nn.Linear(2, 2, bias=False)))
    with pytest.raises(ValueError, match="one hidden activation"):
        from_module(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Tanh(),
                                  nn.Linear(2, 1)))  # fmt: skip
    with pytest.raises(ValueError, match="not one of"):
        from_module(nn.Sequential(nn.Linear(2, 2), nn.Hardtanh()))
    with pytest.raises(ValueError, match="output activation must be one of"):
        from_module(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    with pytest.raises(TypeError, match="nn.Sequential"):
        from_module(nn.Linear(2, 2))


def test_fit_torch_full_batch_equals_network_fit():
    """With one batch per epoch the row order does not matter, so the two trainings agree."""
    X, y, _ = data(m=20)
    net = Network([5, 6, 3], "sigmoid", "softmax", "cross_entropy", seed=5)
    module = to_module(net)
    h = fit_torch(module, X, y, epochs=5, batch_size=20, lr=0.7, cost="cross_entropy",
                  validation=(X, y), progress=False, seed=0)  # fmt: skip
    h_ref = net.fit(X, y, epochs=5, batch_size=20, lr=0.7, validation=(X, y), progress=False)
    np.testing.assert_allclose(h.train_cost, h_ref.train_cost, rtol=0, atol=TOL)
    np.testing.assert_allclose(h.val_accuracy, h_ref.val_accuracy, rtol=0, atol=TOL)
    assert h.epoch == [1, 2, 3, 4, 5] and h.lr == [0.7] * 5 and len(h.time) == 5
    trained = from_module(module)
    for a, b in zip(trained.parameters(), net.parameters()):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)


def test_fit_torch_minibatches_callbacks_and_optimizer_factory():
    X, y, _ = data(m=60, seed=1)

    class StopAfterTwo:
        def __init__(self):
            self.calls = []

        def on_epoch_end(self, model, epoch, history):
            self.calls.append(epoch)
            return epoch == 2

    stop = StopAfterTwo()
    module = to_module(Network([5, 16, 3], "relu", "softmax", "cross_entropy", seed=0))
    h = fit_torch(module, torch.as_tensor(X), torch.as_tensor(y), epochs=10, batch_size=8,
                  optimizer=lambda params: torch.optim.Adam(params, lr=0.01),
                  cost="cross_entropy", callbacks=[stop], progress=False)  # fmt: skip
    assert stop.calls == [1, 2] and h.epoch == [1, 2]
    assert h.train_cost[1] < h.train_cost[0]


def test_fit_torch_with_a_logits_loss_and_bf16_autocast():
    X, y, _ = data(m=64, seed=2)
    costs = {}
    for amp in (False, "bf16"):
        torch.manual_seed(0)
        module = torch.nn.Sequential(
            torch.nn.Linear(5, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3)
        )
        h = fit_torch(module, X.astype(np.float32), y, epochs=4, batch_size=16, lr=0.1,
                      cost=torch.nn.CrossEntropyLoss(), amp=amp, progress=False)  # fmt: skip
        costs[amp] = np.array(h.train_cost)
    assert costs[False][-1] < costs[False][0]
    np.testing.assert_allclose(costs["bf16"], costs[False], atol=0.05)  # bf16 keeps ~3 digits


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None,
    reason="torch.compile on the CPU needs a C compiler (cc or gcc) on PATH",
)
def test_fit_torch_compiled_follows_the_eager_trajectory():
    """``compile=True`` trains ``torch.compile(module)``: the same float64 maths, so the same
    costs and weights as eager mode, and the trained module is the caller's own."""
    X, y, _ = data(m=96, n_in=8, k=4, seed=3)
    net = Network([8, 16, 4], "relu", "softmax", "cross_entropy", seed=0)
    eager, compiled = to_module(net), to_module(net)
    kwargs = dict(epochs=3, batch_size=32, lr=0.1, cost="cross_entropy", progress=False, seed=5)
    h_eager = fit_torch(eager, X, y, **kwargs)
    h_compiled = fit_torch(compiled, X, y, compile=True, **kwargs)
    np.testing.assert_allclose(h_compiled.train_cost, h_eager.train_cost, rtol=0, atol=1e-12)
    assert h_compiled.train_cost[-1] < h_compiled.train_cost[0]
    for got, want in zip(compiled.parameters(), eager.parameters()):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=1e-12)
    back = from_module(torch.compile(compiled))  # a compiled wrapper is unwrapped
    for got, want in zip(back.parameters(), from_module(eager).parameters()):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_fit_torch_bad_input():
    module = to_module(Network([2, 2], seed=0))
    X, y = np.zeros((4, 2)), np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="lr"):
        fit_torch(module, X, y, epochs=1, batch_size=2, progress=False)
    with pytest.raises(ValueError, match="amp must be"):
        fit_torch(module, X, y, epochs=1, batch_size=2, lr=0.1, amp="fp8", progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="fp16' needs a CUDA device"):
            fit_torch(module, X, y, epochs=1, batch_size=2, lr=0.1, amp="fp16", progress=False)
    with pytest.raises(ValueError, match="devices present"):
        fit_torch(module, X, y, epochs=1, batch_size=2, lr=0.1, device="cuda:99")
    with pytest.raises(TypeError, match="Network"):
        to_module(module)


def test_fit_network_full_batch_equals_network_fit_with_l2():
    from dlcourse.optim import SGD
    from dlcourse.torchnet import fit_network

    X, y, _ = data(m=20, seed=6)
    net = Network([5, 6, 3], "tanh", "softmax", "cross_entropy", seed=7)
    ref = Network([5, 6, 3], "tanh", "softmax", "cross_entropy", seed=7)
    arrays = [*net.weights, *net.biases]
    h = fit_network(net, X, y, 4, 20, "sgd", lr=0.3, momentum=0.9, l2=0.5, progress=False)
    h_ref = ref.fit(X, y, 4, 20, optimizer=SGD(lr=0.3, momentum=0.9), l2=0.5, progress=False)
    assert isinstance(net.weights[0], np.ndarray) and (net.l2, net.n_train) == (0.0, None)
    # copied in place: the same arrays, still views of θ
    assert all(a is b for a, b in zip(arrays, [*net.weights, *net.biases]))
    assert all(np.shares_memory(a, net._theta) for a in arrays)
    for a, b in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
    np.testing.assert_allclose(h.train_accuracy, h_ref.train_accuracy, rtol=0, atol=TOL)


def test_cli_train_with_the_torch_backend(capsys):
    from dlcourse.cli import main

    argv = ["train", "--data", "xor", "--backend", "torch", "--epochs", "2", "--optimizer",
            "sgd", "--lr", "0.5", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main([*argv, "--schedule", "cosine"]) == 2
    assert "--schedule works with --backend numpy only" in capsys.readouterr().err

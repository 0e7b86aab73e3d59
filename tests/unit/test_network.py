"""Tests of dlcourse.network.Network: gradients (finite differences, per-example, torch),
worked numbers from the lecture notes, bad input, divergence and training."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import check_network, rel_error
from dlcourse.network import Network

SMOOTH = ["sigmoid", "tanh", "elu", "gelu", "gelu_approx", "silu", "softplus", "identity"]
PAIRS = [  # (output, cost) pairings of the Network
    ("sigmoid", "quadratic"),
    ("softmax", "quadratic"),
    ("identity", "quadratic"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
]


def targets(rng, m, k, output, cost):
    """Targets valid for the pairing: probabilities for cross-entropy, (0, 1) otherwise."""
    if cost == "cross_entropy":
        return np.eye(k)[rng.integers(0, k, m)]
    return rng.uniform(0.05, 0.95, (m, k))


def random_network(seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 5))  # 1..4 hidden layers
    sizes = [int(n) for n in rng.integers(1, 6, depth + 2)]
    sizes[-1] = max(sizes[-1], 2)
    output, cost = PAIRS[seed % len(PAIRS)]
    activation = str(rng.choice(SMOOTH + ["relu", "leaky_relu"]))
    net = Network(sizes, activation, output, cost, init="xavier_normal", seed=seed)
    for b in net.biases:
        b[:] = rng.normal(0, 0.5, b.shape)
    net.l2 = float(rng.choice([0.0, 0.7]))
    net.n_train = 50
    X = rng.standard_normal((4, sizes[0]))
    return net, X, targets(rng, 4, sizes[-1], output, cost)


# ---------------------------------------------------------------------- gradients
@pytest.mark.parametrize("seed", range(12))
def test_gradient_check_random_networks(seed):
    net, X, Y = random_network(seed)
    assert check_network(net, X, Y) < 1e-7, (net, net.l2)


@pytest.mark.parametrize("output,cost", PAIRS)
@pytest.mark.parametrize("activation", SMOOTH)
def test_gradient_check_every_activation_and_cost(activation, output, cost):
    rng = np.random.default_rng(3)
    net = Network([3, 4, 3], activation, output, cost, seed=1)
    net.l2, net.n_train = 0.5, 20
    X = rng.standard_normal((5, 3))
    assert check_network(net, X, targets(rng, 5, 3, output, cost)) < 1e-7


def test_l2_term_in_cost_and_gradient():
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], seed=0)
    X, Y = rng.standard_normal((6, 3)), rng.uniform(size=(6, 2))
    plain_cost, (plain_W, plain_b) = net.cost(X, Y), net.backprop(X, Y)
    net.l2, net.n_train = 2.0, 40
    square = sum(float(np.sum(W**2)) for W in net.weights)
    assert net.cost(X, Y) == pytest.approx(plain_cost + 2.0 / (2 * 40) * square, rel=1e-12)
    grad_W, grad_b = net.backprop(X, Y)
    for g, g0, W in zip(grad_W, plain_W, net.weights):
        np.testing.assert_allclose(g, g0 + 2.0 / 40 * W, rtol=1e-12, atol=1e-15)
    for g, g0 in zip(grad_b, plain_b):  # biases are not regularised
        np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("output,cost", PAIRS)
def test_batch_gradient_is_mean_of_example_gradients(output, cost):
    rng = np.random.default_rng(7)
    net = Network([4, 5, 3, 3], "tanh", output, cost, seed=2)
    net.l2, net.n_train = 0.3, 10
    X = rng.standard_normal((6, 4))
    Y = targets(rng, 6, 3, output, cost)
    grad_W, grad_b = net.backprop(X, Y)
    examples = [net.backprop_example(x, y) for x, y in zip(X, Y)]
    for l in range(len(grad_W)):
        mean_W = np.mean([gW[l] for gW, _ in examples], axis=0)
        mean_b = np.mean([gb[l] for _, gb in examples], axis=0)
        np.testing.assert_allclose(grad_W[l], mean_W, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(grad_b[l], mean_b, rtol=1e-12, atol=1e-14)


def test_backprop_example_accepts_columns_and_labels():
    rng = np.random.default_rng(1)
    net = Network([3, 4, 2], output="softmax", cost="cross_entropy", seed=0)
    x = rng.standard_normal(3)
    flat = net.backprop_example(x, np.array([0.0, 1.0]))
    for other in (
        net.backprop_example(x[:, None], np.array([[0.0], [1.0]])),
        net.backprop_example(x, 1),
    ):
        for a, b in zip(flat[0] + flat[1], other[0] + other[1]):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="x must have shape"):
        net.backprop_example(np.ones((2, 3)), 1)


def test_softmax_cross_entropy_delta_is_a_minus_y():
    # One layer: grad_b = mean over rows of delta^L (BP3), and delta^L = a - y (BP1).
    rng = np.random.default_rng(5)
    net = Network([3, 4], output="softmax", cost="cross_entropy", seed=0)
    X, Y = rng.standard_normal((5, 3)), np.eye(4)[[0, 1, 2, 3, 1]]
    _, activations = net.forward_pass(X)
    _, grad_b = net.backprop(X, Y)
    np.testing.assert_allclose(grad_b[0], np.mean(activations[1] - Y, axis=0), atol=1e-15)


TORCH_ACTS = {
    "sigmoid": lambda t, z: t.sigmoid(z),
    "tanh": lambda t, z: t.tanh(z),
    "relu": lambda t, z: t.relu(z),
    "leaky_relu": lambda t, z: t.nn.functional.leaky_relu(z, 0.01),
    "elu": lambda t, z: t.nn.functional.elu(z),
    "gelu": lambda t, z: t.nn.functional.gelu(z),
    "gelu_approx": lambda t, z: z * t.sigmoid(1.702 * z),
    "silu": lambda t, z: t.nn.functional.silu(z),
    "softplus": lambda t, z: t.nn.functional.softplus(z),
    "identity": lambda t, z: z,
}
TORCH_OUT = {
    "sigmoid": lambda t, z: t.sigmoid(z),
    "softmax": lambda t, z: t.softmax(z, dim=1),
    "identity": lambda t, z: z,
}
TORCH_COST = {  # per-example costs, summed over units, mean over rows
    "quadratic": lambda t, a, y: 0.5 * ((a - y) ** 2).sum(dim=1).mean(),
    "binary_cross_entropy": lambda t, a, y: (
        -(y * t.log(a) + (1 - y) * t.log(1 - a)).sum(dim=1).mean()
    ),
    "cross_entropy": lambda t, a, y: -(y * t.log(a)).sum(dim=1).mean(),
}


@pytest.mark.parametrize("seed", range(10))
def test_backprop_matches_torch_autograd(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + seed)
    output, cost = PAIRS[seed % len(PAIRS)]
    activation = list(TORCH_ACTS)[seed % len(TORCH_ACTS)]
    sizes = [5] + [int(n) for n in rng.integers(2, 7, int(rng.integers(1, 5)))] + [3]
    net = Network(sizes, activation, output, cost, init="he", seed=seed)
    net.l2, net.n_train = 0.4, 30
    X = rng.standard_normal((7, 5))
    Y = targets(rng, 7, 3, output, cost)
    Ws = [torch.tensor(W, requires_grad=True) for W in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    a = torch.tensor(X)
    for l, (W, b) in enumerate(zip(Ws, bs), start=1):
        z = a @ W.T + b
        g = TORCH_OUT[output] if l == len(Ws) else TORCH_ACTS[activation]
        a = g(torch, z)
    C = TORCH_COST[cost](torch, a, torch.tensor(Y))
    C = C + 0.4 / (2 * 30) * sum((W**2).sum() for W in Ws)
    C.backward()
    assert net.cost(X, Y) == pytest.approx(C.item(), rel=1e-12)
    grad_W, grad_b = net.backprop(X, Y)
    for ours, theirs in zip(grad_W + grad_b, Ws + bs):
        assert rel_error(ours, theirs.grad.numpy()) < 1e-10 or np.allclose(
            ours, theirs.grad.numpy(), rtol=0, atol=1e-14
        )


# ---------------------------------------------------------------------- worked numbers
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def set_params(net, weights, biases):
    for l, (W, b) in enumerate(zip(weights, biases)):
        net.weights[l][...] = W
        net.biases[l][...] = b


def test_relu_xor_network_from_the_notes():
    # W1 = [[1, 1], [1, 1]], b1 = [0, -1], w2 = [1, -2], b2 = 0 computes XOR exactly.
    net = Network([2, 2, 1], activation="relu", output="identity")
    set_params(net, [[[1, 1], [1, 1]], [[1, -2]]], [[0, -1], [0]])
    np.testing.assert_array_equal(net.forward(XOR_X)[:, 0], [0, 1, 1, 0])
    _, activations = net.forward_pass(XOR_X)
    np.testing.assert_array_equal(activations[1], [[0, 0], [1, 0], [1, 0], [2, 1]])


@pytest.mark.parametrize(
    "hidden,scores",
    [("relu", [-0.5, 0.5, 0.5, -0.5]), ("step", [-0.5, 0.5, 0.5, -1.5])],
)
def test_two_layer_xor_with_threshold_units(hidden, scores):
    # The worked example uses b2 = -0.5 and classify by the sign of f(x) (a step unit).
    net = Network([2, 2, 1], activation=hidden, output="identity")
    set_params(net, [[[1, 1], [1, 1]], [[1, -2]]], [[0, -1], [-0.5]])
    f = net.forward(XOR_X)[:, 0]
    np.testing.assert_allclose(f, scores, atol=1e-15)
    np.testing.assert_array_equal(np.heaviside(f, 0), [0, 1, 1, 0])
    sigmoid_net = Network([2, 2, 1], activation=hidden, output="sigmoid")
    set_params(sigmoid_net, [[[1, 1], [1, 1]], [[1, -2]]], [[0, -1], [-0.5]])
    np.testing.assert_array_equal(sigmoid_net.predict(XOR_X), [0, 1, 1, 0])


def test_three_layer_worked_example_hidden_values():
    # W1 = [[2.7, 9.6], [13.6, 11.7]], b1 = [-7.4, 8.0], W2 = [[-7.9, 11.0], [7.9, -9.9]],
    # b2 = [1.8, 3.2] with ReLU units; the numbers below were worked by hand.
    net = Network([2, 2, 2, 1], activation="relu", output="identity")
    set_params(
        net,
        [[[2.7, 9.6], [13.6, 11.7]], [[-7.9, 11.0], [7.9, -9.9]], [[1.0, 1.0]]],
        [[-7.4, 8.0], [1.8, 3.2], [0.0]],
    )
    zs, activations = net.forward_pass(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]))
    np.testing.assert_allclose(zs[0], [[-7.4, 8.0], [-4.7, 21.6], [4.9, 33.3]], atol=1e-12)
    np.testing.assert_allclose(activations[1], [[0, 8.0], [0, 21.6], [4.9, 33.3]], atol=1e-12)
    np.testing.assert_allclose(
        zs[1], [[89.8, -76.0], [239.4, -210.64], [329.39, -287.76]], atol=1e-9
    )
    np.testing.assert_allclose(activations[2], [[89.8, 0], [239.4, 0], [329.39, 0]], atol=1e-9)


# ---------------------------------------------------------------------- bad input
def test_bad_sizes():
    for sizes, kind in [
        ([5], ValueError),
        ([], ValueError),
        ([3, 0, 2], ValueError),
        ([3, 2.5], TypeError),
        (5, TypeError),
    ]:
        with pytest.raises(kind):
            Network(sizes)


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"activation": "sigmoidd"}, "relu"),
        ({"output": "tanh"}, "softmax"),
        ({"cost": "hinge"}, "cross_entropy"),
        ({"init": "glorot"}, "xavier_uniform"),
        ({"dtype": "float16"}, "float32"),
        ({"activation": "softmax"}, "elementwise"),
        ({"output": "identity", "cost": "binary_cross_entropy"}, "sigmoid"),
    ],
)
def test_unknown_names_list_valid_ones(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Network([2, 3, 2], **kwargs)


def test_wrong_feature_count_and_target_shape():
    net = Network([64, 5, 10], seed=0)
    with pytest.raises(ValueError, match="X has 63 features; the network expects 64"):
        net.forward(np.zeros((3, 63)))
    with pytest.raises(ValueError, match=r"shape \(m, 64\)"):
        net.forward(np.zeros(64))
    X = np.zeros((3, 64))
    with pytest.raises(ValueError, match=r"Y must have shape \(3, 10\)"):
        net.cost(X, np.zeros((3, 9)))
    with pytest.raises(ValueError, match="labels"):
        net.backprop(X, np.array([0, 3, 10]))
    with pytest.raises(TypeError, match="integer class labels"):
        net.cost(X, np.zeros(3))


def test_nan_and_inf_rejected():
    net = Network([2, 3, 1], seed=0)
    X = np.ones((2, 2))
    for bad in (np.nan, np.inf, -np.inf):
        Xb = X.copy()
        Xb[1, 0] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            net.forward(Xb)
        with pytest.raises(ValueError, match="NaN or inf"):
            net.cost(X, np.array([[0.5], [bad]]))


def test_integer_labels_are_one_hot_encoded():
    rng = np.random.default_rng(0)
    net = Network([3, 4, 3], output="softmax", cost="cross_entropy", seed=0)
    X, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    assert net.cost(X, y) == net.cost(X, np.eye(3)[y])
    single = Network([3, 1], output="sigmoid", cost="binary_cross_entropy", seed=0)
    assert single.cost(X, np.array([0, 1, 1, 0, 1])) == single.cost(X, [[0], [1], [1], [0], [1]])


def test_fit_argument_errors():
    net = Network([2, 2], seed=0)
    X, Y = np.zeros((4, 2)), np.zeros((4, 2))
    with pytest.raises(ValueError, match="lr"):
        net.fit(X, Y, epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="epochs"):
        net.fit(X, Y, epochs=0, batch_size=2, lr=0.1)
    with pytest.raises(ValueError, match="batch_size"):
        net.fit(X, Y, epochs=1, batch_size=0, lr=0.1)
    with pytest.raises(ValueError, match="X_val has 3 features"):
        net.fit(X, Y, epochs=1, batch_size=2, lr=0.1, validation=(np.zeros((2, 3)), Y[:2]))
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        Network([2, 2], device="tpu")


def test_divergence_raises_floating_point_error():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    Y = X @ rng.standard_normal((3, 1)) * 10
    net = Network([3, 8, 1], activation="relu", output="identity", seed=0)
    with pytest.raises(FloatingPointError, match=r"epoch \d+.*smaller learning rate"):
        with np.errstate(all="raise"):  # the loop itself must not warn or trip on overflow
            net.fit(X, Y, epochs=20, batch_size=10, lr=50.0, progress=False)


# ---------------------------------------------------------------------- training
def blobs(seed, m):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, m)
    X = rng.standard_normal((m, 2)) * 0.6 + np.where(y[:, None] == 1, 1.5, -1.5)
    return X, y


def test_fit_separates_two_blobs_and_is_reproducible():
    X, y = blobs(0, 200)
    X_val, y_val = blobs(1, 100)
    runs = []
    for _ in range(2):
        net = Network([2, 6, 2], output="softmax", cost="cross_entropy", seed=4)
        history = net.fit(
            X, y, epochs=15, batch_size=10, lr=0.5, validation=(X_val, y_val), progress=False
        )
        runs.append(history)
    history = runs[0]
    assert history.as_dict() == {**runs[1].as_dict(), "time": history.time}
    assert history.epoch == list(range(1, 16)) and len(history) == 15
    assert history.train_accuracy[-1] >= 0.97 and history.val_accuracy[-1] >= 0.97
    assert history.train_cost[-1] < history.train_cost[0]
    assert history.lr == [0.5] * 15
    assert net.evaluate(X_val, y_val) == pytest.approx(history.val_accuracy[-1])
    assert net.predict(X_val).shape == (100,)


def test_fit_does_not_modify_data_and_uses_given_optimizer():
    X, y = blobs(2, 30)
    X0 = X.copy()
    calls = []

    class Halving:
        lr = 1.0

        def step(self, params, grads):
            calls.append(len(params))
            for p, g in zip(params, grads):
                p -= self.lr * g

    net = Network([2, 3, 2], seed=0)
    net.fit(X, y, epochs=2, batch_size=8, optimizer=Halving(), lr=0.25, progress=False)
    np.testing.assert_array_equal(X, X0)
    assert calls == [4] * 8  # 4 batches of <= 8 rows per epoch, [W1, b1, W2, b2]


def test_callback_stops_training():
    class StopAtTwo:
        def on_epoch_end(self, model, epoch, history):
            return epoch == 2

    X, y = blobs(3, 20)
    net = Network([2, 2], seed=0)
    history = net.fit(
        X, y, epochs=10, batch_size=5, lr=0.1, callbacks=[StopAtTwo()], progress=False
    )
    assert history.epoch == [1, 2]


def test_float32_network():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((8, 4)), rng.uniform(size=(8, 3))
    net64 = Network([4, 5, 3], seed=3)
    net32 = Network([4, 5, 3], dtype="float32", seed=3)
    assert all(W.dtype == np.float32 for W in net32.parameters())
    assert net32.forward(X).dtype == np.float32
    for g32, g64 in zip(net32.gradients(X, Y), net64.gradients(X, Y)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)
    history = net32.fit(X, Y, epochs=2, batch_size=4, lr=0.1, progress=False)
    assert np.isfinite(history.train_cost).all()
    assert all(W.dtype == np.float32 for W in net32.parameters())


def test_parameters_are_the_live_arrays():
    net = Network([3, 4, 2], seed=0)
    params = net.parameters()
    assert params[0] is net.weights[0] and params[3] is net.biases[1]
    assert [g.shape for g in net.gradients(np.zeros((2, 3)), np.zeros((2, 2)))] == [
        p.shape for p in params
    ]


def test_numpy_kernels_match_the_registry_on_large_and_extreme_inputs():
    from dlcourse._kernels import FAST, kernel
    from dlcourse.activations import ACTIVATIONS

    z = np.random.default_rng(0).standard_normal((64, 128)) * 30  # 8192 >= the fast-path size
    z[0, :4] = [-1000.0, 1000.0, -745.0, 0.0]
    for name in FAST:
        fn, prime = kernel(ACTIVATIONS[name])
        for dtype in (np.float64, np.float32):
            zd = z.astype(dtype)
            with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is benign
                got = fn(zd)
            assert got.dtype == dtype
            tiny = np.finfo(dtype).tiny  # below the smallest normal float: absolute error only
            expected = ACTIVATIONS[name].fn(zd)
            np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(dtype).eps, atol=tiny)
            if prime is not None and name != "relu":
                zd = zd / 30  # away from saturation, where a(1 - a) loses relative accuracy
                np.testing.assert_allclose(
                    prime(zd, fn(zd)), ACTIVATIONS[name].prime(zd), rtol=1e-5, atol=1e-7
                )


def test_unknown_device_is_a_value_error_even_without_torch():
    """The name is checked before torch is imported (``make test TORCH=`` has no torch)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"  # import torch now raises ImportError
        "from dlcourse import Network\n"
        "try:\n    Network([2, 2], device='tpu')\n"
        "except ValueError as e:\n    print('ValueError', e)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ValueError unknown device 'tpu'"), run.stdout


def test_get_params_are_the_constructor_arguments():
    """scikit-learn's contract: ``Network(**net.get_params())`` is the same network afresh."""
    from dlcourse.activations import get_activation

    net = Network([4, 5, 3], "tanh", "softmax", "cross_entropy", "he", "float32", seed=11)
    params = net.get_params()
    assert params == {"sizes": [4, 5, 3], "activation": "tanh", "output": "softmax",
                      "cost": "cross_entropy", "init": "he", "dtype": "float32",
                      "device": None, "seed": 11}  # fmt: skip
    again = Network(**params)
    for a, b in zip(again.parameters(), net.parameters()):
        np.testing.assert_array_equal(a, b)  # same seed, same process: the same draws
    net.fit(np.ones((6, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2]], 1, 3, lr=0.1, progress=False)
    assert net.get_params() == params, "fit learns weights, not configuration"
    leaky = get_activation("leaky_relu", slope=0.2)  # not a row of the table: the object
    assert Network([2, 2, 1], leaky).get_params()["activation"] is leaky

"""Conv2d, MaxPool2d, AvgPool2d and Flatten: a plain-loop oracle, finite differences, and
parity with torch.nn.functional in float64."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.layers import (
    Activation,
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Model,
    Residual,
    from_config,
)

# (m, C_in, H, W, C_out, k, stride, padding): square and non-square inputs, strides that do
# and do not divide the input (floor), padding 0-2, a kernel as large as the padded input.
CASES = [
    (2, 1, 5, 5, 2, 3, 1, 0),
    (2, 3, 6, 7, 4, 3, 1, 1),
    (1, 2, 7, 5, 3, 3, 2, 1),
    (3, 2, 8, 6, 2, 2, 2, 0),
    (2, 2, 9, 8, 3, 4, 3, 2),
    (1, 3, 4, 6, 2, 5, 1, 1),
    (2, 1, 3, 3, 1, 3, 1, 0),
]
POOLS = [(2, None, 4, 6), (2, 1, 5, 4), (3, 2, 7, 8), (3, None, 7, 6), (2, 3, 6, 9)]


def conv_loops(x, W, b, stride, padding):
    """The definition with one loop per index: the oracle the im2col layer must equal."""
    m, C, H, Wd = x.shape
    C_out, _, k, _ = W.shape
    xp = np.zeros((m, C, H + 2 * padding, Wd + 2 * padding))
    xp[:, :, padding : padding + H, padding : padding + Wd] = x
    H_out = (H + 2 * padding - k) // stride + 1
    W_out = (Wd + 2 * padding - k) // stride + 1
    z = np.zeros((m, C_out, H_out, W_out))
    for i in range(m):
        for o in range(C_out):
            for r in range(H_out):
                for c in range(W_out):
                    total = b[o]
                    for ch in range(C):
                        for u in range(k):
                            for v in range(k):
                                total += W[o, ch, u, v] * xp[i, ch, r * stride + u, c * stride + v]
                    z[i, o, r, c] = total
    return z


def layer_gradients(layer, x, G):
    """Analytic gradients of L = Σ G ⊙ layer(x): (dx, grads...)."""
    layer.forward(x)
    dx = layer.backward(G)
    return dx, [g.copy() for g in layer.grads]


@pytest.mark.parametrize("case", CASES)
def test_conv_forward_equals_the_loops(case):
    m, C, H, Wd, C_out, k, s, p = case
    rng = np.random.default_rng(0)
    layer = Conv2d(C, C_out, k, stride=s, padding=p, seed=1)
    layer.b[:] = rng.standard_normal(C_out)
    x = rng.standard_normal((m, C, H, Wd))
    out = layer.forward(x)
    expected = conv_loops(x, layer.W, layer.b, s, p)
    assert out.shape == expected.shape
    assert np.max(np.abs(out - expected)) < 1e-12


@pytest.mark.parametrize("case", CASES)
def test_conv_gradient_check(case):
    m, C, H, Wd, C_out, k, s, p = case
    rng = np.random.default_rng(2)
    layer = Conv2d(C, C_out, k, stride=s, padding=p, seed=3)
    layer.b[:] = rng.standard_normal(C_out)
    x = rng.standard_normal((m, C, H, Wd))
    G = rng.standard_normal(layer.forward(x).shape)
    dx, (gW, gb) = layer_gradients(layer, x, G)

    def loss():
        return float(np.sum(G * layer.forward(x)))

    for analytic, array in ((dx, x), (gW, layer.W), (gb, layer.b)):
        assert rel_error(analytic, numerical_gradient(loss, array)) < 1e-7


@pytest.mark.parametrize("layer", [MaxPool2d(2), MaxPool2d(3, 2), AvgPool2d(2, 1), AvgPool2d(3)])
def test_pool_gradient_check(layer):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 6))  # distinct values: max is differentiable
    G = rng.standard_normal(layer.forward(x).shape)
    dx, _ = layer_gradients(layer, x, G)
    num = numerical_gradient(lambda: float(np.sum(G * layer.forward(x))), x)
    assert rel_error(dx, num) < 1e-7


def test_model_gradient_check_through_a_small_cnn():
    rng = np.random.default_rng(5)
    model = Model(
        [Conv2d(2, 3, 3, padding=1, seed=0), Activation("tanh"), MaxPool2d(2),
         Residual([Conv2d(3, 3, 3, padding=1, seed=1), Activation("tanh")]), AvgPool2d(2),
         Flatten(), Linear(3 * 2 * 2, 4, seed=2), Activation("softmax")],
        cost="cross_entropy",
    )  # fmt: skip
    X, y = rng.standard_normal((3, 2, 8, 9)), np.array([0, 3, 1])
    grads = [g.copy() for g in model.gradients(X, y)]
    for p, g in zip(model.parameters(), grads):
        assert rel_error(g, numerical_gradient(lambda: model.cost(X, y, training=True), p)) < 1e-7


# ---------------------------------------------------------------- PyTorch parity
@pytest.fixture(scope="module")
def torch():
    """The torch module; without it only these parity tests skip, not the whole file."""
    return pytest.importorskip("torch")


def torch_conv(torch, x, W, b, G, stride, padding):
    F = torch.nn.functional
    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    out = F.conv2d(xt, Wt, bt, stride=stride, padding=padding)
    out.backward(torch.tensor(G))
    return out.detach().numpy(), xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("case", CASES)
def test_conv_matches_torch(torch, case):
    m, C, H, Wd, C_out, k, s, p = case
    rng = np.random.default_rng(6)
    layer = Conv2d(C, C_out, k, stride=s, padding=p, seed=7)
    layer.b[:] = rng.standard_normal(C_out)
    x = rng.standard_normal((m, C, H, Wd))
    out = layer.forward(x)
    G = rng.standard_normal(out.shape)
    dx = layer.backward(G)
    t_out, t_dx, t_dW, t_db = torch_conv(torch, x, layer.W, layer.b, G, s, p)
    assert np.abs(t_dW).max() > 0 and np.abs(t_dx).max() > 0  # the comparison is not vacuous
    for mine, theirs in ((out, t_out), (dx, t_dx), (layer.grad_W, t_dW), (layer.grad_b, t_db)):
        assert mine.shape == theirs.shape
        assert np.max(np.abs(mine - theirs)) < 1e-10


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k, stride, H, Wd", POOLS)
def test_pool_matches_torch(torch, kind, k, stride, H, Wd):
    rng = np.random.default_rng(8)
    layer = (MaxPool2d if kind == "max" else AvgPool2d)(k, stride)
    x = rng.standard_normal((2, 3, H, Wd))
    if kind == "max":
        x[0, 0, :2, :2] = 1.5  # a tie: both pick the first maximum in the window
    out = layer.forward(x)
    G = rng.standard_normal(out.shape)
    dx = layer.backward(G)
    xt = torch.tensor(x, requires_grad=True)
    F = torch.nn.functional
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    t_out = fn(xt, k, stride)
    t_out.backward(torch.tensor(G))
    assert out.shape == tuple(t_out.shape)
    assert np.max(np.abs(out - t_out.detach().numpy())) < 1e-10
    assert np.max(np.abs(dx - xt.grad.numpy())) < 1e-10


def test_small_cnn_matches_torch_sequential(torch):
    """A conv-relu-pool-flatten-linear stack: every gradient equals torch autograd's."""
    rng = np.random.default_rng(9)
    layers = [Conv2d(1, 4, 3, padding=1, seed=0), Activation("relu"), MaxPool2d(2),
              Conv2d(4, 6, 3, stride=2, seed=1), Activation("relu"), Flatten(),
              Linear(6 * 1 * 1, 5, seed=2)]  # fmt: skip
    model = Model(layers, cost="quadratic")
    X, Y = rng.standard_normal((4, 1, 6, 6)), rng.standard_normal((4, 5))
    grads = model.gradients(X, Y)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(6, 5),
    ).double()  # fmt: skip
    with torch.no_grad():
        for p, mine in zip(net.parameters(), model.parameters()):
            p.copy_(torch.tensor(mine))
    loss = 0.5 * ((net(torch.tensor(X)) - torch.tensor(Y)) ** 2).sum(dim=1).mean()
    loss.backward()
    assert abs(loss.item() - model.cost(X, Y, training=True)) < 1e-12
    for p, mine in zip(net.parameters(), grads):
        assert np.abs(p.grad.numpy()).max() > 0
        assert np.max(np.abs(p.grad.numpy() - mine)) < 1e-10


# ---------------------------------------------------------------- dtypes, config, errors
def test_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    for layer in (Conv2d(3, 2, 3, padding=1, dtype="float32", seed=0), MaxPool2d(2),
                  AvgPool2d(2), Flatten()):  # fmt: skip
        out = layer.forward(x)
        assert out.dtype == np.float32
        assert layer.backward(np.ones_like(out)).dtype == np.float32
        assert all(g.dtype == np.float32 for g in layer.grads)


def test_init_and_seed():
    a, b = Conv2d(3, 8, 3, seed=1), Conv2d(3, 8, 3, seed=1)
    assert a.W.shape == (8, 3, 3, 3) and a.b.shape == (8,)
    assert np.array_equal(a.W, b.W) and not np.array_equal(a.W, Conv2d(3, 8, 3, seed=2).W)
    big = Conv2d(16, 64, 3, seed=0)  # He: Var(w) = 2 / (C_in k²) = 2 / 144
    assert abs(big.W.var() * 144 / 2 - 1) < 0.1
    assert np.all(a.b == 0)


def test_config_round_trip(tmp_path):
    layers = [Conv2d(1, 2, 3, stride=2, padding=1, dtype="float32", seed=0), MaxPool2d(2, 1),
              AvgPool2d(2), Flatten(), Linear(2, 3, dtype="float32")]  # fmt: skip
    for layer in layers:
        rebuilt = from_config(layer.config())
        assert rebuilt.config() == layer.config()
    model = Model(layers + [Activation("softmax")])
    X = np.random.default_rng(0).random((5, 1, 8, 8))
    path = model.save(tmp_path / "cnn.npz")
    again = Model.load(path)
    assert np.array_equal(again.forward(X), model.forward(X))


def test_model_accepts_images_only_when_the_first_layer_does():
    cnn = Model([Conv2d(1, 2, 3, seed=0), Flatten(), Linear(2 * 2 * 2, 2, seed=0)], "quadratic")
    assert cnn.forward(np.zeros((3, 1, 4, 4))).shape == (3, 2)
    with pytest.raises(ValueError, match=r"\(m, C, H, W\)"):
        cnn.forward(np.zeros((3, 16)))
    mlp = Model([Linear(16, 2, seed=0)], "quadratic")
    with pytest.raises(ValueError, match=r"\(m, n_in\)"):
        mlp.forward(np.zeros((3, 1, 4, 4)))


def test_model_learns_a_toy_image_task():
    """Vertical against horizontal bars: a tiny CNN separates them after a few epochs."""
    rng = np.random.default_rng(0)
    X = 0.1 * rng.standard_normal((64, 1, 6, 6))
    y = np.arange(64) % 2
    for i in range(64):
        j = rng.integers(6)
        if y[i]:
            X[i, 0, :, j] += 1.0
        else:
            X[i, 0, j, :] += 1.0
    model = Model([Conv2d(1, 4, 3, padding=1, seed=0), Activation("relu"), MaxPool2d(2),
                   Flatten(), Linear(36, 2, seed=1), Activation("softmax")], seed=0)  # fmt: skip
    before = model.evaluate(X, y)
    model.fit(X, y, epochs=30, batch_size=8, lr=0.1, progress=False)
    assert before < 0.8 and model.evaluate(X, y) == 1.0


@pytest.mark.parametrize(
    "make, x, message",
    [
        (lambda: Conv2d(1, 2, 5), np.zeros((1, 1, 3, 4)), "larger than the padded input"),
        (lambda: Conv2d(1, 2, 6, padding=1), np.zeros((1, 1, 3, 8)), r"3 \+ 2·1 = 5"),
        (lambda: Conv2d(3, 2, 3), np.zeros((1, 2, 5, 5)), r"\(m, 3, H, W\)"),
        (lambda: Conv2d(1, 2, 3), np.zeros((5, 5)), "4 axes"),
        (lambda: MaxPool2d(4), np.zeros((1, 1, 3, 8)), "larger than the padded input"),
        (lambda: AvgPool2d(2), np.zeros((1, 4, 4)), "4 axes"),
        (lambda: Flatten(), np.zeros(4), r"\(m, \.\.\.\)"),
    ],
)
def test_bad_input_is_a_clear_error(make, x, message):
    with pytest.raises(ValueError, match=message):
        make().forward(x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2d(1, 2, 0)
    with pytest.raises(ValueError, match="stride"):
        Conv2d(1, 2, 3, stride=0)
    with pytest.raises(ValueError, match="padding"):
        Conv2d(1, 2, 3, padding=-1)
    with pytest.raises(ValueError, match="dtype"):
        Conv2d(1, 2, 3, dtype="int8")
    with pytest.raises(ValueError, match="stride"):
        MaxPool2d(2, 1.5)
    with pytest.raises(TypeError, match="NumPy array"):
        Conv2d(1, 1, 1).forward([[[[1.0]]]])
    with pytest.raises(RuntimeError, match="before forward"):
        Conv2d(1, 1, 1).backward(np.zeros((1, 1, 1, 1)))

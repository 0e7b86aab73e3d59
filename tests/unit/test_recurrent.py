"""Recurrent layers: BPTT against finite differences and against torch.nn.RNN/LSTM/GRU."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import check_layer
from dlcourse.layers import (
    GRU,
    LSTM,
    RNN,
    Activation,
    LastStep,
    Linear,
    Model,
    PerElement,
    Sequential,
    from_config,
)
from dlcourse.optim import Adam

TOL = 1e-7

LAYERS = {
    "rnn_tanh": lambda: RNN(3, 4, seed=1),
    "rnn_relu": lambda: RNN(3, 4, nonlinearity="relu", seed=2),
    "lstm": lambda: LSTM(3, 4, seed=3),
    "gru": lambda: GRU(3, 4, seed=4),
}


def sequences(m=2, T=5, n=3, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal((m, T, n)) * scale


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_bptt_gradient_check(name):
    layer = LAYERS[name]()
    x = sequences(scale=0.8) + (0.1 if name == "rnn_relu" else 0.0)
    assert check_layer(layer, x, seed=1) < TOL
    assert [p.shape for p in layer.params] == [g.shape for g in layer.grads]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradient_of_the_initial_state(name):
    layer = LAYERS[name]()
    x = sequences(seed=3)
    h0 = np.random.default_rng(4).standard_normal((2, 4)) * 0.5
    dout = np.random.default_rng(5).standard_normal((2, 5, 4))
    layer.forward(x, h0=h0)
    layer.backward(dout)
    eps, numeric = 1e-6, np.zeros_like(h0)
    for idx in np.ndindex(h0.shape):
        hp, hm = h0.copy(), h0.copy()
        hp[idx] += eps
        hm[idx] -= eps
        numeric[idx] = (
            np.sum(layer.forward(x, h0=hp) * dout) - np.sum(layer.forward(x, h0=hm) * dout)
        ) / (2 * eps)
    np.testing.assert_allclose(layer.grad_h0, numeric, rtol=1e-6, atol=1e-9)


def _torch_module(name, layer):
    torch = pytest.importorskip("torch")
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[name.split("_")[0]]
    kwargs = {"nonlinearity": layer.nonlinearity} if isinstance(layer, RNN) else {}
    ref = cls(layer.n_in, layer.n_hidden, batch_first=True, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        for p_ref, p in zip(
            (ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0), layer.params
        ):
            p_ref.copy_(torch.from_numpy(p))
    return torch, ref


@pytest.mark.parametrize("T", [1, 7])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_forward_and_gradients_equal_torch(name, T):
    layer = LAYERS[name]()
    torch, ref = _torch_module(name, layer)
    x = sequences(m=3, T=T, seed=7)
    dout = np.random.default_rng(8).standard_normal((3, T, 4))
    h = layer.forward(x)
    dx = layer.backward(dout)

    xt = torch.from_numpy(x).requires_grad_(True)
    out, _ = ref(xt)
    out.backward(torch.from_numpy(dout))
    # the parameters moved away from zero, so equality below is not trivial
    assert np.abs(layer.grad_W_hh).max() > 1e-3 or T == 1
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-10)
    ref_grads = (ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0)
    for g, p_ref in zip(layer.grads, ref_grads):
        np.testing.assert_allclose(g, p_ref.grad.numpy(), rtol=0, atol=1e-10)


def test_lstm_initial_state_and_cell_match_torch():
    layer = LSTM(3, 4, seed=9)
    torch, ref = _torch_module("lstm", layer)
    x = sequences(m=2, T=4, seed=10)
    h0 = np.random.default_rng(11).standard_normal((2, 4))
    c0 = np.random.default_rng(12).standard_normal((2, 4))
    h = layer.forward(x, h0=h0, c0=c0)
    state = (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None])
    out, (_, cT) = ref(torch.from_numpy(x), state)
    np.testing.assert_allclose(h, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.c[:, -1], cT[0].detach().numpy(), atol=1e-12)


def test_parameter_layout_is_pytorch_s():
    for cls, gates in ((RNN, 1), (LSTM, 4), (GRU, 3)):
        layer = cls(5, 6, seed=0)
        assert [p.shape for p in layer.params] == [
            (gates * 6, 5), (gates * 6, 6), (gates * 6,), (gates * 6,)
        ]  # fmt: skip
        bound = 1 / np.sqrt(6)
        assert all(np.abs(p).max() <= bound for p in layer.params)


def test_float32_keeps_its_dtype():
    layer = GRU(3, 4, seed=0, dtype="float32")
    out = layer.forward(sequences().astype(np.float32))
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 3)), r"\(m, T, 3\)"),
        (np.zeros((2, 5, 4)), r"got \(2, 5, 4\)"),
    ],
)
def test_clear_errors_for_wrong_input(bad, message):
    with pytest.raises(ValueError, match=message):
        RNN(3, 4, seed=0).forward(bad)


def test_clear_errors_for_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="initial state"):
        LSTM(3, 4, seed=0).forward(sequences(), h0=np.zeros((2, 5)))
    with pytest.raises(RuntimeError, match="before forward"):
        GRU(3, 4, seed=0).backward(np.zeros((2, 5, 4)))


def test_last_step_and_per_element():
    x = sequences(m=2, T=4, n=3, seed=2)
    last = LastStep()
    np.testing.assert_array_equal(last.forward(x), x[:, -1])
    dx = last.backward(np.ones((2, 3)))
    assert dx[:, -1].sum() == 6 and dx[:, :-1].sum() == 0
    head = PerElement(Linear(3, 2, seed=1))
    out = head.forward(x)
    np.testing.assert_allclose(out[:, 2], head.children[0].forward(x[:, 2]))
    assert check_layer(PerElement(Sequential([Linear(3, 2, seed=1), Activation("tanh")])), x) < TOL


def test_config_round_trip():
    seq = Sequential([GRU(3, 4, seed=0), PerElement(Linear(4, 2, seed=1)), LastStep()])
    rebuilt = from_config(seq.config())
    assert rebuilt.config() == seq.config()
    assert [p.shape for p in rebuilt.params] == [p.shape for p in seq.params]
    assert from_config(RNN(2, 3, nonlinearity="relu").config()).nonlinearity == "relu"


def test_model_learns_a_sequence_task():
    """A GRU reads 8 numbers and says whether the first one was positive (a lag of 8)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 8, 1))
    y = (X[:, 0, 0] > 0).astype(int)
    model = Model(
        [GRU(1, 8, seed=1), LastStep(), Linear(8, 2, seed=2), Activation("softmax")],
        cost="cross_entropy",
        seed=3,
    )
    before = model.evaluate(X[400:], y[400:])
    model.fit(X[:400], y[:400], epochs=30, batch_size=20, optimizer=Adam(lr=0.01),
              progress=False)  # fmt: skip
    after = model.evaluate(X[400:], y[400:])
    assert before < 0.7 and after > 0.9, (before, after)


def test_clip_grad_norm_wrapper_in_fit():
    """fit with ClipGradNorm: every step's gradient norm is at most max_norm, and a huge
    learning problem (spectral radius 3) stays finite."""
    from dlcourse.optim import SGD
    from dlcourse.regularization import ClipGradNorm

    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 30, 2))
    y = (X[:, 0, 0] > 0).astype(int)
    recurrent = RNN(2, 8, seed=0)
    recurrent.W_hh *= 3.0 / max(abs(np.linalg.eigvals(recurrent.W_hh)))
    model = Model([recurrent, LastStep(), Linear(8, 2, seed=1), Activation("softmax")], seed=2)
    seen = []

    class Spy(SGD):
        def step(self, params, grads):
            seen.append(np.sqrt(sum(float(np.sum(g**2)) for g in grads)))
            super().step(params, grads)

    clip = ClipGradNorm(Spy(lr=0.5), max_norm=0.25)
    model.fit(X, y, epochs=2, batch_size=16, optimizer=clip, progress=False)
    assert len(seen) == 8 and max(seen) <= 0.25 + 1e-9
    assert clip.last_norm > 0.25  # the gradients really were clipped
    clip.lr = 0.1
    assert clip.optimizer.lr == 0.1
    with pytest.raises(ValueError, match="max_norm"):
        ClipGradNorm(SGD(lr=0.1), max_norm=0)

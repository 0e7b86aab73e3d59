"""Grading tests for exercise 18: one step of an LSTM cell, forward and backward.

Oracles: ``dlcourse.layers.LSTM`` (itself checked against ``torch.nn.LSTM`` to 1e-10) run for
one or two steps with the test's weights copied in (one bias: ``b_ih = b``, ``b_hh = 0``),
and central differences of ``C = sum(R_h * h) + sum(R_c * c)`` for the gradient ``dc`` that
arrives along the memory (the layer's own backward pass starts every sequence with dc = 0).
The gate values are checked against the exercise's equations written here with NumPy.
Points: 7 public + 7 hidden = 14.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import arrays, assert_close, call
from dlcourse.layers import LSTM

EXERCISE = "18_lstm_cell"
NAMES = ("dx", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db")
GATES = ("i", "f", "g", "o")
FORMULA = {
    "dx": "da W_ih",
    "dh_prev": "da W_hh",
    "dc_prev": "dc_tot ⊙ f",
    "dW_ih": "da^T x",
    "dW_hh": "da^T h_prev",
    "db": "the sum of da over the rows",
}
DA = {
    "i": "dc_tot ⊙ g ⊙ i(1 − i)",
    "f": "dc_tot ⊙ c_prev ⊙ f(1 − f)",
    "g": "dc_tot ⊙ i ⊙ (1 − g²)",
    "o": "dh ⊙ tanh(c) ⊙ o(1 − o)",
}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _problem(rng, m, n_in, H, scale=0.7):
    x, h_prev, c_prev = rng.normal(size=(m, n_in)), rng.normal(size=(m, H)), rng.normal(size=(m, H))
    W_ih = rng.normal(size=(4 * H, n_in)) * scale
    W_hh = rng.normal(size=(4 * H, H)) * scale
    b = rng.normal(size=4 * H) * 0.5
    return x, h_prev, c_prev, W_ih, W_hh, b


def _layer(W_ih, W_hh, b):
    layer = LSTM(W_ih.shape[1], W_hh.shape[1])
    layer.W_ih[...], layer.W_hh[...], layer.b_ih[...], layer.b_hh[...] = W_ih, W_hh, b, 0.0
    return layer


def _forward(x, h_prev, c_prev, W_ih, W_hh, b):
    """(h, c) of one step, from the layer run on a sequence of length 1."""
    layer = _layer(W_ih, W_hh, b)
    h = layer.forward(x[:, None], h0=h_prev, c0=c_prev)[:, 0]
    return h, layer.c[:, 0]


def _gates(x, h_prev, W_ih, W_hh, b):
    a = x @ W_ih.T + h_prev @ W_hh.T + b
    i, f, g, o = np.split(a, 4, axis=1)
    return _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)


def _from_h(dh, x, h_prev, c_prev, W_ih, W_hh, b):
    """The six gradients when only dh arrives (dc = 0), from the layer's backward pass."""
    layer = _layer(W_ih, W_hh, b)
    layer.forward(x[:, None], h0=h_prev, c0=c_prev)
    dx = layer.backward(dh[:, None])[:, 0]
    return [dx, layer.grad_h0, layer.grad_c0, layer.grad_W_ih, layer.grad_W_hh, layer.grad_b_ih]


def _numerical(dh, dc, inputs):
    """The six gradients of C = sum(dh * h) + sum(dc * c) by central differences."""
    inputs = [a.copy() for a in inputs]

    def cost():
        h, c = _forward(*inputs)
        return float(np.sum(dh * h) + np.sum(dc * c))

    return [numerical_gradient(cost, a, h=1e-3, order=4) for a in inputs]


def _da(dh, dc, x, h_prev, c_prev, W_ih, W_hh, b, mistake=""):
    """(da, dc_tot, f) of the exercise's equations, or of a typical mistake (for feedback
    only, never as the oracle)."""
    i, f, g, o = _gates(x, h_prev, W_ih, W_hh, b)
    tanh_c = np.tanh(f * c_prev + i * g)
    c = f * c_prev + i * g
    squash = 1.0 - (c**2 if mistake == "tanh_prime_of_c" else tanh_c**2)
    dc_total = (0.0 if mistake == "dc_ignored" else dc) + dh * o * squash
    da = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                         dc_total * i * (1 - g**2), dh * tanh_c * o * (1 - o)], axis=1)  # fmt: skip
    return da, dc_total, f


def _variant(dh, dc, x, h_prev, c_prev, W_ih, W_hh, b, mistake):
    """The six gradients that a typical mistake gives."""
    da, dc_total, f = _da(dh, dc, x, h_prev, c_prev, W_ih, W_hh, b, mistake)
    dc_prev = dc_total if mistake == "no_forget_gate" else dc_total * f
    return [da @ W_ih, da @ W_hh, dc_prev, da.T @ x, da.T @ h_prev, da.sum(axis=0)]


ADVICE = {
    "dc_ignored": "the gradient dc arriving along the memory is missing: dc_tot = dc + "
    "dh ⊙ o ⊙ (1 − tanh²(c))",
    "tanh_prime_of_c": "the derivative of tanh(c) is 1 − tanh²(c), not 1 − c²",
    "no_forget_gate": "dc_prev must pass back through the forget gate: dc_prev = dc_tot ⊙ f",
}


def check_gates(student, inputs, kind, public=True):
    x, h_prev, _, W_ih, W_hh, b = inputs
    args = (x.copy(), h_prev.copy(), W_ih.copy(), W_hh.copy(), b.copy())
    got = arrays(call(student, "lstm_gates", *args, public=public), 4, "lstm_gates")
    assert all(g.shape == h_prev.shape for g in got), (
        f"lstm_gates must return four arrays of shape (m, H), one per gate ({kind})"
    )
    expected = _gates(x, h_prev, W_ih, W_hh, b)
    a = x @ W_ih.T + h_prev @ W_hh.T + b
    blocks = np.split(a, 4, axis=1)
    for name, gate, want in zip(GATES, got, expected):
        for j, block in enumerate(blocks):
            for fn in (_sigmoid, np.tanh):
                if not np.allclose(want, fn(block)) and np.allclose(gate, fn(block)):
                    pytest.fail(
                        f"gate {name} is computed from block {j + 1} of the pre-activation: "
                        f"the blocks of W_ih, W_hh and b are in the order i, f, g, o ({kind})"
                    )
        assert_close(
            gate,
            want,
            f"gate {name} is wrong: σ (tanh for g) of its block of x W_ih^T + h_prev W_hh^T + b "
            f"({kind})",
            rtol=1e-10,
            atol=1e-12,
            public=public,
            name=f"gate {name}",
        )


def check_forward(student, inputs, kind, public=True):
    copies = [a.copy() for a in inputs]
    result = call(student, "lstm_cell_forward", *copies, public=public, must_not_modify=True)
    h, c = arrays(result, 2, "lstm_cell_forward")
    e_h, e_c = _forward(*inputs)
    assert h.shape == e_h.shape and c.shape == e_c.shape, (
        f"lstm_cell_forward must return h and c, each of shape (m, H) ({kind})"
    )
    assert_close(
        c,
        e_c,
        f"the cell state is wrong: c = f ⊙ c_prev + i ⊙ g ({kind})",
        rtol=1e-10,
        atol=1e-12,
        public=public,
        name="c",
    )
    o = _gates(*inputs[:2], *inputs[3:])[3]
    if np.allclose(h, o * e_c):
        pytest.fail(f"the hidden state squashes the cell state first: h = o ⊙ tanh(c) ({kind})")
    assert_close(
        h,
        e_h,
        f"the hidden state is wrong: h = o ⊙ tanh(c) ({kind})",
        rtol=1e-10,
        atol=1e-12,
        public=public,
        name="h",
    )


def check_backward(student, dh, dc, inputs, expected, kind, public=True, rtol=1e-8):
    copies = [a.copy() for a in (dh, dc, *inputs)]
    result = call(student, "lstm_cell_backward", *copies, public=public, must_not_modify=True)
    got = arrays(result, 6, "lstm_cell_backward")
    shapes = ("(m, n_in)", "(m, H)", "(m, H)", "(4H, n_in)", "(4H, H)", "(4H,)")
    for name, g, a, shape in zip(NAMES, got, inputs, shapes):
        assert g.shape == a.shape, f"{name} must have the shape {shape} ({kind})"
    for mistake, advice in ADVICE.items():
        wrong = _variant(dh, dc, *inputs, mistake)
        if any(np.allclose(g, w) and not np.allclose(w, e) for g, w, e in
               zip(got, wrong, expected)):  # fmt: skip
            pytest.fail(f"{advice} ({kind})")
    da = _da(dh, dc, *inputs)[0]
    h_new = _forward(*inputs)[0]
    if not np.allclose(h_new, inputs[1]) and np.allclose(got[4], da.T @ h_new):
        pytest.fail(f"dW_hh multiplies da by the new state h: it is da^T h_prev ({kind})")
    for gate, got_block, want in zip(GATES, np.split(got[5], 4), np.split(expected[5], 4)):
        if not np.allclose(got_block, want, rtol=rtol, atol=1e-10):
            pytest.fail(
                f"the gradient of gate {gate}'s pre-activation is wrong (its block of da, "
                f"summed in db): da_{gate} = {DA[gate]} ({kind})"
            )
    for name, g, e in zip(NAMES, got, expected):
        assert_close(
            g,
            e,
            f"{name} is wrong: {FORMULA[name]}, with da the four blocks (i, f, g, o) of the "
            f"pre-activation gradient ({kind})",
            rtol=rtol,
            atol=1e-10,
            public=public,
            name=f"`{name}`",
        )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_gates(student):
    rng = np.random.default_rng(180)
    check_gates(student, _problem(rng, 3, 4, 2), "m = 3, n_in = 4, H = 2")


@pytest.mark.points(2)
def test_forward(student):
    rng = np.random.default_rng(181)
    check_forward(student, _problem(rng, 3, 2, 3), "m = 3, n_in = 2, H = 3")


@pytest.mark.points(2)
def test_backward_from_h(student):
    rng = np.random.default_rng(182)
    inputs = _problem(rng, 3, 4, 2)
    dh, dc = rng.normal(size=(3, 2)), np.zeros((3, 2))
    expected = _from_h(dh, *inputs)
    check_backward(student, dh, dc, inputs, expected, "the last step: dh given, dc = 0")


@pytest.mark.points(2)
def test_backward_from_c(student):
    rng = np.random.default_rng(183)
    inputs = _problem(rng, 2, 3, 2)
    dh, dc = np.zeros((2, 2)), rng.normal(size=(2, 2))
    expected = _numerical(dh, dc, inputs)
    check_backward(student, dh, dc, inputs, expected, "only dc given, dh = 0", rtol=1e-6)


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_gates_random(student):
    rng = np.random.default_rng(184)
    for m, n_in, H in ((1, 1, 3), tuple(int(v) for v in rng.integers(2, 7, size=3))):
        check_gates(student, _problem(rng, m, n_in, H, scale=1.5), "random shapes", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_forward_random(student):
    rng = np.random.default_rng(185)
    for m, n_in, H in ((1, 5, 2), tuple(int(v) for v in rng.integers(2, 7, size=3))):
        check_forward(student, _problem(rng, m, n_in, H, scale=1.5), "random shapes",
                      public=False)  # fmt: skip


@pytest.mark.hidden
@pytest.mark.points(3)
def test_backward_random(student):
    rng = np.random.default_rng(186)
    m, n_in, H = (int(v) for v in rng.integers(2, 5, size=3))
    inputs = _problem(rng, m, n_in, H)
    dh, dc = rng.normal(size=(m, H)), rng.normal(size=(m, H))
    expected = _numerical(dh, dc, inputs)
    check_backward(student, dh, dc, inputs, expected, "dh and dc both given, random shapes",
                   public=False, rtol=1e-6)  # fmt: skip


@pytest.mark.hidden
@pytest.mark.points(2)
def test_backward_two_steps(student):
    """Two steps of a sequence, the second's dh_prev and dc_prev fed to the first, against the
    layer's backpropagation through time."""
    rng = np.random.default_rng(187)
    m, n_in, H = 3, 2, 4
    x, h0, c0, W_ih, W_hh, b = _problem(rng, m, n_in, H)
    X = np.stack([x, rng.normal(size=(m, n_in))], axis=1)
    dout = rng.normal(size=(m, 2, H))
    layer = _layer(W_ih, W_hh, b)
    h_all = layer.forward(X, h0=h0, c0=c0)
    dX = layer.backward(dout)
    h1, c1 = h_all[:, 0], layer.c[:, 0]
    args = (dout[:, 1], np.zeros((m, H)), X[:, 1], h1, c1, W_ih, W_hh, b)
    second = arrays(call(student, "lstm_cell_backward", *args, public=False), 6,
                    "lstm_cell_backward")  # fmt: skip
    shapes_ok = [g.shape for g in second] == [a.shape for a in (x, h0, c0, W_ih, W_hh, b)]
    assert shapes_ok, "lstm_cell_backward returns arrays of the wrong shapes for a random step"
    args = (dout[:, 0] + second[1], second[2], X[:, 0], h0, c0, W_ih, W_hh, b)
    first = arrays(call(student, "lstm_cell_backward", *args, public=False), 6,
                   "lstm_cell_backward")  # fmt: skip
    got = {
        "dx": np.stack([first[0], second[0]], axis=1),
        "dh_prev": first[1],
        "dc_prev": first[2],
        "dW_ih": first[3] + second[3],
        "dW_hh": first[4] + second[4],
        "db": first[5] + second[5],
    }
    expected = {
        "dx": dX,
        "dh_prev": layer.grad_h0,
        "dc_prev": layer.grad_c0,
        "dW_ih": layer.grad_W_ih,
        "dW_hh": layer.grad_W_hh,
        "db": layer.grad_b_ih,
    }
    for name in NAMES:
        assert_close(
            got[name],
            expected[name],
            f"two steps chained (dh_prev and dc_prev of the second step fed to the first) "
            f"disagree with backpropagation through time in {name}",
            rtol=1e-8,
            atol=1e-10,
            public=False,
            name=f"`{name}`",
        )

"""Grading tests for exercise 15: backpropagation through time for a vanilla (tanh) RNN.

Oracles: ``dlcourse.layers.RNN`` (itself checked against ``torch.nn.RNN`` to 1e-10) with the
student's weights copied in, and central differences. Points: 10 public + 10 hidden = 20.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import arrays, assert_close, call
from dlcourse.layers import RNN

EXERCISE = "15_bptt"


def _problem(rng, m, T, n_in, H, scale=0.6):
    X = rng.normal(size=(m, T, n_in))
    h0 = rng.normal(size=(m, H)) * 0.5
    W_ih, W_hh = rng.normal(size=(H, n_in)) * scale, rng.normal(size=(H, H)) * scale
    b = rng.normal(size=H) * 0.3
    return X, h0, W_ih, W_hh, b


def _oracle(X, h0, W_ih, W_hh, b, dH):
    """(H_all, dX, dh0, dW_ih, dW_hh, db) from dlcourse.layers.RNN with one bias b."""
    H = W_hh.shape[0]
    layer = RNN(X.shape[2], H)
    layer.W_ih[...], layer.W_hh[...], layer.b_ih[...], layer.b_hh[...] = W_ih, W_hh, b, 0.0
    H_all = layer.forward(X, h0=h0)
    dX = layer.backward(dH)
    return H_all, dX, layer.grad_h0, layer.grad_W_ih, layer.grad_W_hh, layer.grad_b_ih


def _dW_hh(dH, H_all, h0, W_hh, first_prev):
    """dW_hh by backpropagation through time, with ``first_prev`` as the state before step 0.

    With ``first_prev = h0`` this is the right gradient; with ``H_all[:, -1]`` it is what
    ``H_all[:, t - 1]`` gives at t = 0 in Python (the last state, not the initial one).
    """
    T = H_all.shape[1]
    dW_hh, dh_next = np.zeros_like(W_hh), np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        da = (dH[:, t] + dh_next) * (1.0 - H_all[:, t] ** 2)
        dW_hh += da.T @ (H_all[:, t - 1] if t > 0 else first_prev)
        dh_next = da @ W_hh
    return dW_hh


def check_forward(student, args, kind, public=True):
    copies = [a.copy() for a in args]
    H_all = call(student, "rnn_forward", *copies, public=public, must_not_modify=True)
    H_all = arrays([H_all], 1, "rnn_forward")[0]
    X, h0, W_ih, W_hh, b = args
    expected = _oracle(*args, np.zeros((X.shape[0], X.shape[1], W_hh.shape[0])))[0]
    assert H_all.shape == expected.shape, (
        f"rnn_forward must return every hidden state, shape (m, T, H) ({kind})"
    )
    if X.shape[1] > 1 and np.allclose(H_all[:, 1:], expected[:, :-1]):
        pytest.fail(f"the states are shifted by one step: H_all[:, t] is h after x_t ({kind})")
    assert_close(
        H_all,
        expected,
        f"rnn_forward is wrong ({kind}): h_t = tanh(x_t W_ih^T + h_(t-1) W_hh^T + b), "
        "starting from h0",
        rtol=1e-10,
        atol=1e-12,
        public=public,
        name="`H_all`",
    )


NAMES = ("dX", "dh0", "dW_ih", "dW_hh", "db")


def check_backward(student, args, dH, kind, public=True):
    X, h0, W_ih, W_hh, b = args
    H_all, *expected = _oracle(X, h0, W_ih, W_hh, b, dH)
    given = [dH.copy(), X.copy(), h0.copy(), H_all.copy(), W_ih.copy(), W_hh.copy()]
    result = call(student, "rnn_backward", *given, public=public, must_not_modify=True)
    got = arrays(result, 5, "rnn_backward (dX, dh0, dW_ih, dW_hh, db)")
    for name, g, e in zip(NAMES, got, expected):
        assert g.shape == e.shape, (
            f"{name} must have shape {e.shape[1:] if name == 'db' else 'of its input'} ({kind})"
        )
    dX, dh0, dW_ih, dW_hh, db = got
    if np.allclose(db, expected[4] / X.shape[0]) and X.shape[0] > 1:
        pytest.fail(f"db is m times too small: sum ∂L/∂a_t over the rows of the batch ({kind})")
    T = X.shape[1]
    if (
        T > 1
        and not np.allclose(dX[:, 0], expected[0][:, 0])
        and np.allclose(dX[:, 1:], expected[0][:, 1:])
    ):
        pytest.fail(
            f"the gradient of the first step is missing: the loop over t must run down to the "
            f"first step ({kind})"
        )
    wrapped = _dW_hh(dH, H_all, h0, W_hh, first_prev=H_all[:, -1])
    if not np.allclose(dW_hh, expected[3]) and np.allclose(dW_hh, wrapped, rtol=1e-8, atol=1e-10):
        pytest.fail(
            f"dW_hh uses the wrong state before the first step ({kind}): at t = 0 the previous "
            "state is the initial state h0; H_all[:, t - 1] at t = 0 is H_all[:, -1], the "
            "last state, in Python"
        )
    for name, g, e in zip(NAMES, got, expected):
        hint = {
            "dW_hh": "add up the contribution of every step (the weights are shared), "
            "(∂L/∂a_t)^T h_(t-1), with the initial state h0 as h_(t-1) at the first step",
            "dW_ih": "add up the contribution of every step (the weights are shared)",
            "dX": "the gradient at h_t is dH[:, t] plus what flows back from step t + 1",
            "dh0": "pass ∂L/∂h_(t-1) = ∂L/∂a_t W_hh back to the step before, down to h0",
            "db": "sum ∂L/∂a_t over the rows and the steps",
        }[name]
        assert_close(
            g,
            e,
            f"{name} disagrees with backpropagation through time ({kind}); {hint}",
            rtol=1e-8,
            atol=1e-10,
            public=public,
            name=f"`{name}`",
        )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(3)
def test_rnn_forward(student):
    rng = np.random.default_rng(0)
    check_forward(student, _problem(rng, 3, 4, 2, 5), "m=3, T=4, n_in=2, H=5")


@pytest.mark.points(3)
def test_rnn_step_backward(student):
    rng = np.random.default_rng(1)
    m, n_in, H = 3, 2, 4
    x_t, h_prev = rng.normal(size=(m, n_in)), rng.normal(size=(m, H)) * 0.5
    W_ih, W_hh = rng.normal(size=(H, n_in)), rng.normal(size=(H, H))
    h_t = np.tanh(x_t @ W_ih.T + h_prev @ W_hh.T)
    dh = rng.normal(size=(m, H))
    args = [dh, h_t, h_prev, x_t, W_ih, W_hh]
    copies = [a.copy() for a in args]
    got = arrays(
        call(student, "rnn_step_backward", *copies, must_not_modify=True), 5, "rnn_step_backward"
    )
    da = dh * (1 - h_t**2)
    if np.allclose(got[0], (dh * (1 - h_prev**2)) @ W_ih):
        pytest.fail("tanh' must use the state this step produced, 1 − h_t², not h_(t-1)")
    if np.allclose(got[0], dh @ W_ih):
        pytest.fail("∂L/∂a_t is missing the tanh' factor (1 − h_t²)")
    expected = [da @ W_ih, da @ W_hh, da.T @ x_t, da.T @ h_prev, da.sum(axis=0)]
    names = ("dx_t", "dh_prev", "dW_ih", "dW_hh", "db")
    for name, g, e in zip(names, got, expected):
        assert g.shape == e.shape, f"{name} must have shape {e.shape}, got {g.shape}"
        assert_close(g, e, f"{name} is wrong for one step", rtol=1e-10, name=f"`{name}`")


@pytest.mark.points(4)
def test_rnn_backward(student):
    rng = np.random.default_rng(2)
    args = _problem(rng, 3, 5, 2, 4)
    dH = rng.normal(size=(3, 5, 4))
    check_backward(student, args, dH, "m=3, T=5, a gradient at every step")


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(2)
def test_rnn_forward_other_sizes(student):
    rng = np.random.default_rng(150)
    for m, T, n_in, H in [(1, 1, 1, 1), (4, 9, 3, 2)]:
        check_forward(student, _problem(rng, m, T, n_in, H), "other sizes", public=False)


@pytest.mark.hidden
@pytest.mark.points(3)
def test_rnn_backward_loss_at_last_step_only(student):
    rng = np.random.default_rng(151)
    args = _problem(rng, 4, 8, 3, 5)
    dH = np.zeros((4, 8, 5))
    dH[:, -1] = rng.normal(size=(4, 5))
    check_backward(student, args, dH, "a loss on the last state only", public=False)


@pytest.mark.hidden
@pytest.mark.points(3)
def test_rnn_backward_long_sequence(student):
    rng = np.random.default_rng(152)
    args = _problem(rng, 2, 20, 2, 3, scale=0.9)
    check_backward(student, args, rng.normal(size=(2, 20, 3)), "a longer sequence", public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_rnn_backward_single_step(student):
    rng = np.random.default_rng(153)
    args = _problem(rng, 5, 1, 4, 3)
    check_backward(
        student, args, rng.normal(size=(5, 1, 3)), "a sequence of one step", public=False
    )

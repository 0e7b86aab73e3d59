"""Grading tests for exercise 08: momentum, RMSProp and Adam.

Oracles: the update rules re-written here (torch.optim conventions for RMSProp/Adam).
Points: 6 public + 6 hidden = 12.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import arrays as _arrays
from dlcourse.grading.testing import call

EXERCISE = "08_optimizers"


def arrays(result, n, name):
    """The ``n`` arrays of a step function's result; float32 fails with a dtype message."""
    return _arrays(result, n, name, float64=True)


def _momentum(w, g, v, lr, beta):
    v = beta * v - lr * g
    return w + v, v


def _rmsprop(w, g, r, lr, rho=0.99, eps=1e-8):
    r = rho * r + (1 - rho) * g * g
    return w - lr * g / (np.sqrt(r) + eps), r


def _adam(w, g, s, r, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, correct=True):
    s = b1 * s + (1 - b1) * g
    r = b2 * r + (1 - b2) * g * g
    s_hat = s / (1 - b1**t) if correct else s
    r_hat = r / (1 - b2**t) if correct else r
    return w - lr * s_hat / (np.sqrt(r_hat) + eps), s, r


def _path(name, A, c, x0, lr, steps):
    x, state = np.asarray(x0, float), [np.zeros_like(x0), np.zeros_like(x0)]
    xs = [x]
    for t in range(1, steps + 1):
        g = A @ x - c
        if name == "momentum":
            x, state[0] = _momentum(x, g, state[0], lr, 0.9)
        elif name == "rmsprop":
            x, state[0] = _rmsprop(x, g, state[0], lr)
        else:
            x, state[0], state[1] = _adam(x, g, state[0], state[1], t, lr)
        xs.append(x)
    return np.array(xs)


def check_momentum(student, w, g, v, lr, beta, public=True):
    got = arrays(
        call(student, "momentum_step", w.copy(), g.copy(), v.copy(), lr, beta, public=public),
        2,
        "momentum_step",
    )
    expected = _momentum(w, g, v, lr, beta)
    wrong = (w + beta * v + lr * g, beta * v + lr * g)
    if np.allclose(got[1], wrong[1]):
        pytest.fail("the velocity has the wrong sign: v ← βv − lr·g, then w ← w + v")
    assert np.allclose(got[0], expected[0]) and np.allclose(got[1], expected[1]), (
        "momentum_step is wrong: v ← βv − lr·g (sign!), then w ← w + v"
    )


def check_adam(student, w, g, s, r, t, lr, public=True, kind=""):
    got = arrays(
        call(student, "adam_step", w.copy(), g.copy(), s.copy(), r.copy(), t, lr, public=public),
        3,
        "adam_step",
    )
    expected = _adam(w, g, s, r, t, lr)
    assert np.allclose(got[1], expected[1], rtol=1e-10) and np.allclose(
        got[2], expected[2], rtol=1e-10
    ), (
        f"Adam's moment estimates s, r are wrong{kind}: "
        "s ← β1 s + (1 − β1) g, r ← β2 r + (1 − β2) g²"
    )
    if np.allclose(got[0], _adam(w, g, s, r, t, lr, correct=False)[0], rtol=1e-7):
        pytest.fail(f"Adam's step is missing the bias correction s/(1 − β1^t), r/(1 − β2^t){kind}")
    assert np.allclose(got[0], expected[0], rtol=1e-7, atol=1e-12), (
        f"Adam's update of w is wrong{kind}: w − lr ŝ / (√r̂ + ε), with ε outside the square root"
    )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(2)
def test_momentum_step(student):
    w, g, v = np.array([1.0, -2.0]), np.array([0.5, -1.0]), np.array([0.1, 0.2])
    check_momentum(student, w, g, v, 0.1, 0.9)
    check_momentum(student, w, g, np.zeros(2), 0.1, 0.0)


@pytest.mark.points(1)
def test_rmsprop_step(student):
    w, g, r = np.array([1.0, -2.0, 0.5]), np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.0, 1.0])
    got = arrays(call(student, "rmsprop_step", w.copy(), g.copy(), r.copy(), 0.01), 2, "rmsprop")
    expected = _rmsprop(w, g, r, 0.01)
    assert np.allclose(got[1], expected[1]), "r must be ρ r + (1 − ρ) g² (default ρ = 0.99)"
    assert np.allclose(got[0], expected[0], rtol=1e-10), (
        "the RMSProp step is wrong: w − lr g / (√r + ε) — divide by the square root of r"
    )


@pytest.mark.points(2)
def test_adam_step(student):
    w, g = np.array([1.0, -1.0, 0.5]), np.array([0.3, -2.0, 1.0])
    check_adam(student, w, g, np.zeros(3), np.zeros(3), 1, 0.1)
    s, r = np.array([0.1, -0.2, 0.05]), np.array([0.01, 0.3, 0.2])
    check_adam(student, w, g, s, r, 3, 0.01)


@pytest.mark.points(1)
def test_optimize_quadratic(student):
    A, c, x0 = np.diag([1.0, 5.0]), np.array([1.0, 1.0]), np.zeros(2)
    for name in ("momentum", "rmsprop", "adam"):
        h = np.asarray(call(student, "optimize_quadratic", name, A, c, x0, 0.05, 4), dtype=float)
        assert h.shape == (5, 2), "the path must have shape (steps + 1, n), starting with x0"
        assert np.allclose(h, _path(name, A, c, x0, 0.05, 4), rtol=1e-7, atol=1e-12), (
            f"the {name} path is wrong: zero initial state, Adam's t starting at 1"
        )


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_momentum_random(student):
    rng = np.random.default_rng(80)
    shape = tuple(rng.integers(2, 5, size=2))
    w, g, v = (rng.normal(size=shape) for _ in range(3))
    check_momentum(student, w, g, v, float(rng.uniform(0.01, 0.5)), 0.95, public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_rmsprop_random(student):
    rng = np.random.default_rng(81)
    w, g, r = rng.normal(size=(3, 4)), rng.normal(scale=3, size=(3, 4)), rng.random((3, 4))
    got = arrays(
        call(student, "rmsprop_step", w.copy(), g.copy(), r.copy(), 0.02, 0.9, 1e-6, public=False),
        2,
        "rmsprop_step",
    )
    expected = _rmsprop(w, g, r, 0.02, 0.9, 1e-6)
    assert np.allclose(got[0], expected[0]) and np.allclose(got[1], expected[1]), (
        "rmsprop_step is wrong on random 2-D arrays with non-default ρ and ε (square root of r?)"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_adam_first_step(student):
    w, g = np.zeros(4), np.array([1e-2, -3.0, 250.0, -0.4])
    got = arrays(
        call(student, "adam_step", w, g, np.zeros(4), np.zeros(4), 1, 0.01, public=False),
        3,
        "adam_step",
    )
    assert np.allclose(got[0], -0.01 * np.sign(g), rtol=1e-5), (
        "Adam's first step must be about lr · sign(g) whatever the gradient's size: "
        "check the bias correction"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_adam_tiny_gradients(student):
    w, g = np.ones(3), np.array([1e-9, -3e-8, 2e-10])
    check_adam(student, w, g, np.zeros(3), np.zeros(3), 1, 0.1, False, " for tiny gradients")


@pytest.mark.hidden
@pytest.mark.points(1)
def test_adam_several_steps(student):
    rng = np.random.default_rng(83)
    w, s, r = rng.normal(size=5), np.zeros(5), np.zeros(5)
    for t in range(1, 6):
        g = rng.normal(size=5)
        check_adam(student, w, g, s, r, t, 0.05, False, " after several steps")
        w, s, r = _adam(w, g, s, r, t, 0.05)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_optimize_quadratic_random(student):
    rng = np.random.default_rng(84)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    A = Q @ np.diag(rng.uniform(0.5, 20, size=3)) @ Q.T
    c, x0 = rng.normal(size=3), rng.normal(size=3)
    for name in ("momentum", "rmsprop", "adam"):
        h = call(student, "optimize_quadratic", name, A, c, x0, 0.01, 25, public=False)
        h = np.asarray(h, dtype=float)
        assert h.shape == (26, 3), "the path has the wrong shape for a random 3-D problem"
        assert np.allclose(h, _path(name, A, c, x0, 0.01, 25), rtol=1e-6, atol=1e-10), (
            f"the {name} path is wrong on a random 3-D quadratic"
        )

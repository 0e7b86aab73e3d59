"""Grading tests for exercise 04: gradient descent on 1-D and 2-D functions.

Oracles: closed forms and loops written here, central differences. Points: 5 public + 5 hidden.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import call

EXERCISE = "04_gradient_descent"


def _rosenbrock(p, a, b):
    return (a - p[0]) ** 2 + b * (p[1] - p[0] ** 2) ** 2


def _descent(A, c, x0, lr, steps):
    xs = [np.asarray(x0, dtype=float)]
    for _ in range(steps):
        xs.append(xs[-1] - lr * (A @ xs[-1] - c))
    return np.array(xs)


def _spd(rng, n):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return Q @ np.diag(rng.uniform(0.5, 4.0, size=n)) @ Q.T


def check_history(student_history, A, c, x0, lr, steps, kind, public=True):
    h = student_history
    expected = _descent(A, c, x0, lr, steps)
    h = np.asarray(h, dtype=float)
    if h.shape == (expected.shape[0] - 1, expected.shape[1]):
        pytest.fail(
            "the history has one row too few: it must have steps + 1 rows, starting with x0"
        )
    assert h.shape == expected.shape, (
        f"the history must have shape (steps + 1, n){f', here {expected.shape}' if public else ''}"
    )
    if np.allclose(h, _descent(A, c, x0, -lr, steps), rtol=1e-9):
        pytest.fail("the iterates move uphill: step against the gradient, x − lr ∇f")
    assert np.allclose(h, expected, rtol=1e-9, atol=1e-12), (
        f"the gradient-descent path is wrong ({kind}): each row is the previous one minus "
        "lr (A x − c)"
    )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_rosenbrock_value(student):
    for p, expected in [((1.0, 1.0), 0.0), ((0.0, 0.0), 1.0), ((-1.0, 2.0), 104.0)]:
        value = float(call(student, "rosenbrock", np.array(p)))
        assert np.isclose(value, expected), (
            "rosenbrock is wrong: f(x, y) = (a − x)² + b (y − x²)² with a = 1, b = 100"
        )


@pytest.mark.points(1)
def test_rosenbrock_grad_value(student):
    g = np.asarray(call(student, "rosenbrock_grad", np.array([0.0, 0.0])), dtype=float)
    assert g.shape == (2,), "rosenbrock_grad must return an array of shape (2,)"
    assert np.allclose(g, [-2.0, 0.0]), "the gradient at (0, 0) must be (−2, 0)"
    g = np.asarray(call(student, "rosenbrock_grad", np.array([-1.0, 2.0])), dtype=float)
    assert np.allclose(g, [396.0, 200.0]), (
        "rosenbrock_grad is wrong at (−1, 2): ∂f/∂x = −2(a − x) − 4bx(y − x²) — the chain rule "
        "brings the inner derivative −2x"
    )


@pytest.mark.points(1)
def test_gd_step(student):
    x = np.array([1.0, -2.0, 0.5])
    grad = np.array([0.5, -1.0, 2.0])
    new = call(
        student,
        "gd_step",
        x,
        grad,
        0.1,
        must_not_modify="gd_step changed the x it was given: the exercise asks for a new array "
        "(return x - lr * grad; do not write x -= ...)",
    )
    new = np.asarray(new, dtype=float)
    if np.allclose(new, x + 0.1 * grad):
        pytest.fail("gd_step climbs: step against the gradient, x − lr · grad")
    assert np.allclose(new, x - 0.1 * grad), "gd_step must return x − lr · grad"


@pytest.mark.points(1)
def test_quadratic_descent_1d(student):
    A, c, x0 = np.array([[2.0]]), np.array([2.0]), np.array([0.0])
    h = call(student, "quadratic_descent", A, c, x0, 0.25, 3)
    check_history(h, A, c, x0, 0.25, 3, "1-D parabola")


@pytest.mark.points(1)
def test_max_stable_lr(student):
    lr = float(call(student, "max_stable_lr", np.diag([1.0, 4.0])))
    assert np.isclose(lr, 0.5), (
        "max_stable_lr(diag(1, 4)) must be 2 / λ_max = 0.5 (the factor is 2 / λ_max, not 1)"
    )


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_rosenbrock_grad_finite_differences(student):
    rng = np.random.default_rng(40)
    for _ in range(3):
        p = rng.uniform(-2, 2, size=2)
        a, b = rng.uniform(0.5, 2.0), rng.uniform(1.0, 50.0)
        g = np.asarray(call(student, "rosenbrock_grad", p.copy(), a, b, public=False), float)
        h = 1e-6
        fd = [
            (_rosenbrock(p + h * e, a, b) - _rosenbrock(p - h * e, a, b)) / (2 * h)
            for e in np.eye(2)
        ]
        assert np.allclose(g, fd, rtol=1e-6, atol=1e-5), (
            "rosenbrock_grad disagrees with finite differences at random points and random "
            "a, b (use the arguments a and b; mind the chain rule)"
        )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_gd_step_shapes(student):
    rng = np.random.default_rng(41)
    shape = tuple(rng.integers(2, 5, size=2))
    x, grad, lr = rng.normal(size=shape), rng.normal(size=shape), float(rng.uniform(0.01, 1))
    new = np.asarray(call(student, "gd_step", x.copy(), grad.copy(), lr, public=False), float)
    assert new.shape == x.shape, "gd_step changes the shape of a 2-D parameter array"
    assert np.allclose(new, x - lr * grad), (
        "gd_step is wrong for a 2-D parameter array: step against the gradient"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_quadratic_descent_2d(student):
    rng = np.random.default_rng(42)
    for n in (2, 3):
        A, c, x0 = _spd(rng, n), rng.normal(size=n), rng.normal(size=n)
        lr = 0.9 * 2 / np.linalg.eigvalsh(A).max()
        steps = int(rng.integers(5, 15))
        h = call(student, "quadratic_descent", A, c, x0, lr, steps, public=False)
        check_history(h, A, c, x0, lr, steps, "random 2-D/3-D bowl", False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_quadratic_descent_diverges(student):
    rng = np.random.default_rng(43)
    A, c, x0 = _spd(rng, 2), rng.normal(size=2), rng.normal(size=2)
    lr = 1.2 * 2 / np.linalg.eigvalsh(A).max()
    h = call(student, "quadratic_descent", A, c, x0, lr, 30, public=False)
    check_history(h, A, c, x0, lr, 30, "learning rate above 2/λ_max", False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_max_stable_lr_random(student):
    rng = np.random.default_rng(44)
    for n in (2, 4):
        A = _spd(rng, n)
        lr = float(call(student, "max_stable_lr", A.copy(), public=False))
        assert np.isclose(lr, 2 / np.linalg.eigvalsh(A).max()), (
            "max_stable_lr is wrong for a non-diagonal matrix: use the largest eigenvalue "
            "of A, not its diagonal entries"
        )

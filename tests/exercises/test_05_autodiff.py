"""Grading tests for exercise 05: a scalar reverse-mode autodiff node ``Value``.

The graded functions build graphs with the student's ``Value`` class and return plain numbers.
Oracles: closed-form derivatives written here and central differences. Points: 5 public +
5 hidden = 10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.grading.testing import call as _call

EXERCISE = "05_autodiff"


def call(student, name, *args, public=True):
    """Call a student function; endless recursion hints at the visited set of backward."""
    return _call(
        student, name, *args, public=public, recursion_hint="does backward stop at visited nodes?"
    )


ACCUMULATE = (
    "a node used more than once must accumulate (+=) the gradient from every use; "
    "also check that backward visits nodes in reverse topological order"
)


def numbers(result, n, name):
    try:
        flat = [np.asarray(r, dtype=float) for r in result]
    except TypeError:
        pytest.fail(f"`{name}` must return a tuple of numbers")
    if len(flat) != n:
        pytest.fail(f"`{name}` must return {n} values")
    return flat


def _shared(x, y):
    a = x * y
    b = a + x
    return a * b + math.tanh(b)


def _shared_grad(x, y):
    a, b = x * y, x * y + x
    dtanh = 1 - math.tanh(b) ** 2
    # f = a b + tanh(b);  df/da = b + (a + dtanh) * db/da with db/da = 1;  db/dx (direct) = 1
    df_da = b + a + dtanh
    df_db_direct = a + dtanh
    return df_da * y + df_db_direct, df_da * x


def check_reuse(student, x, public=True):
    f, dx = numbers(call(student, "reuse", x, public=public), 2, "reuse")
    assert np.isclose(f, x * x + x), "the forward value of x * x + x is wrong"
    if np.isclose(dx, 1.0) or np.isclose(dx, x):
        pytest.fail(f"d(x·x + x)/dx is too small: {ACCUMULATE}")
    assert np.isclose(dx, 2 * x + 1), f"d(x·x + x)/dx must be 2x + 1: {ACCUMULATE}"


def check_shared(student, x, y, public=True):
    f, dx, dy = numbers(call(student, "shared_expression", x, y, public=public), 3, "shared")
    assert np.isclose(f, _shared(x, y)), "the forward value of the shared expression is wrong"
    gx, gy = _shared_grad(x, y)
    assert np.isclose(dx, gx) and np.isclose(dy, gy), (
        "gradients of an expression with shared intermediate nodes are wrong: nodes must be "
        "processed in reverse topological order (every user of a node before the node itself) "
        "and gradients must accumulate (+=)"
    )


def check_neuron(student, x, w, b, public=True):
    out, gx, gw, gb = numbers(call(student, "neuron", x, w, b, public=public), 4, "neuron")
    z = float(np.dot(w, x) + b)
    t = math.tanh(z)
    assert np.isclose(out, t), "neuron's output must be tanh(Σ w_i x_i + b)"
    assert gx.shape == (len(x),) and gw.shape == (len(w),), (
        "neuron must return grad_x and grad_w with one entry per input"
    )
    assert np.isclose(gb, 1 - t * t), (
        "d out/d b is wrong: the local derivative of tanh is 1 − tanh²(z)"
    )
    assert np.allclose(gw, (1 - t * t) * np.asarray(x)), (
        "d out/d w_i must be (1 − tanh²(z)) x_i: in a product the gradient of one factor is "
        "the other factor times out.grad"
    )
    assert np.allclose(gx, (1 - t * t) * np.asarray(w)), (
        "d out/d x_i must be (1 − tanh²(z)) w_i: in a product the gradient of one factor is "
        "the other factor times out.grad"
    )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_add_mul(student):
    f, da, db, dc = numbers(call(student, "add_mul", 2.0, -3.0, 10.0), 4, "add_mul")
    assert np.isclose(f, 4.0), "add_mul(2, −3, 10): the forward value a·b + c must be 4"
    assert np.isclose(dc, 1.0), "d(a·b + c)/dc must be 1: addition passes out.grad unchanged"
    assert np.isclose(da, -3.0) and np.isclose(db, 2.0), (
        "d(a·b)/da must be b and d(a·b)/db must be a: multiply out.grad by the other factor"
    )


@pytest.mark.points(1)
def test_tanh_grad(student):
    for x in (0.0, 0.5, -1.3):
        f, dx = numbers(call(student, "tanh_grad", x), 2, "tanh_grad")
        assert np.isclose(f, math.tanh(x)), "the forward value of tanh is wrong"
        assert np.isclose(dx, 1 - math.tanh(x) ** 2), "d tanh(x)/dx must be 1 − tanh²(x)"


@pytest.mark.points(1)
def test_neuron_micrograd(student):
    check_neuron(student, [2.0, 0.0], [-3.0, 1.0], 6.8813735870195432)


@pytest.mark.points(1)
def test_reuse(student):
    check_reuse(student, 3.0)


@pytest.mark.points(1)
def test_shared_expression(student):
    check_shared(student, 0.5, -1.5)


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_add_mul_random(student):
    rng = np.random.default_rng(50)
    for a, b, c in [rng.normal(size=3) * 3, (0.0, 1.5, -2.0)]:
        f, da, db, dc = numbers(call(student, "add_mul", a, b, c, public=False), 4, "add_mul")
        assert np.allclose([f, da, db, dc], [a * b + c, b, a, 1.0]), (
            "add_mul is wrong for random inputs (negative values, zero)"
        )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_neuron_random(student):
    rng = np.random.default_rng(51)
    for n in (1, int(rng.integers(3, 7))):
        x, w = rng.normal(size=n), rng.normal(size=n)
        check_neuron(student, x.tolist(), w.tolist(), float(rng.normal()), public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_reuse_random(student):
    rng = np.random.default_rng(52)
    for x in rng.normal(scale=3, size=2):
        check_reuse(student, float(x), public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_shared_expression_random(student):
    rng = np.random.default_rng(53)
    for x, y in rng.normal(size=(2, 2)):
        check_shared(student, float(x), float(y), public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_power_chain(student):
    rng = np.random.default_rng(54)
    x, n = float(rng.uniform(0.8, 1.1)), int(rng.integers(10, 30))
    f, dx = numbers(call(student, "power_chain", x, n, public=False), 2, "power_chain")
    assert np.isclose(f, x ** (n + 1)), "the forward value of a long product chain is wrong"
    assert np.isclose(dx, (n + 1) * x**n), f"a long chain reusing one input: {ACCUMULATE}"

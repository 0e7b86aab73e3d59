"""Tests of dlcourse.differentiation: finite differences, the step-size study, SymPy."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from dlcourse.autodiff import Value
from dlcourse.differentiation import (
    StepSizeStudy,
    numerical_derivative,
    step_size_study,
    symbolic_derivative,
)

matplotlib.use("Agg")


def f(x):
    return np.sin(x) * np.exp(x)


def df(x):
    return np.exp(x) * (np.sin(x) + np.cos(x))


@pytest.mark.parametrize(
    ("method", "h", "tol"),
    [("central", 1e-5, 1e-9), ("forward", 1e-7, 1e-6), ("backward", 1e-7, 1e-6)],
)
def test_numerical_derivative_is_close_to_the_exact_one(method, h, tol):
    assert numerical_derivative(f, 0.7, h, method=method) == pytest.approx(df(0.7), rel=tol)


def test_numerical_derivative_elementwise_on_arrays():
    x = np.linspace(-1, 1, 5)
    out = numerical_derivative(f, x)
    assert out.shape == (5,)
    np.testing.assert_allclose(out, df(x), rtol=1e-9)


def test_truncation_error_orders():
    # away from round-off, forward error ~ (h/2) f'' (order 1), central ~ (h^2/6) f''' (order 2)
    x = 0.3
    errors = {
        m: [abs(numerical_derivative(np.exp, x, h, m) - math.exp(x)) for h in (1e-2, 1e-3)]
        for m in ("forward", "central")
    }
    assert errors["forward"][0] / errors["forward"][1] == pytest.approx(10, rel=0.02)
    assert errors["central"][0] / errors["central"][1] == pytest.approx(100, rel=0.02)
    assert errors["forward"][0] == pytest.approx(1e-2 / 2 * math.exp(x), rel=0.01)
    assert errors["central"][0] == pytest.approx(1e-4 / 6 * math.exp(x), rel=0.01)


def test_step_size_study_is_v_shaped_for_central_differences():
    study = step_size_study(np.exp, np.exp, 1.0)
    assert isinstance(study, StepSizeStudy)
    err = study.errors["central"]
    i = int(np.argmin(err))
    assert 0 < i < len(err) - 1, "the minimum must lie at an intermediate step"
    assert err[i] < 1e-9
    assert err[0] > 1e4 * err[i], "round-off dominates for tiny h"
    assert err[-1] > 1e4 * err[i], "truncation dominates for large h"
    # the best step is near eps^(1/3) ~ 6e-6 for central and eps^(1/2) ~ 1.5e-8 for forward
    assert 1e-7 < study.best_h["central"] < 1e-4
    assert 1e-10 < study.best_h["forward"] < 1e-6
    assert study.best_h["forward"] < study.best_h["central"]
    assert study.optimal_h["central"] == pytest.approx(np.finfo(float).eps ** (1 / 3))
    assert err.min() < study.errors["forward"].min()


def test_step_size_study_with_given_steps_and_plot(tmp_path):
    hs = [1e-1, 1e-3, 1e-5]
    study = step_size_study(np.sin, math.cos(0.5), 0.5, hs=hs, methods=("central",))
    assert list(study.errors) == ["central"]
    assert study.errors["central"].shape == (3,)
    ax = study.plot()
    ax.figure.savefig(tmp_path / "study.png", dpi=40)
    assert len(ax.lines) == 2  # the error curve and the eps^(1/3) marker


def test_numerical_derivative_agrees_with_autodiff():
    x = Value(0.4)
    (x.tanh() * x.exp()).backward()
    numeric = numerical_derivative(lambda t: math.tanh(t) * math.exp(t), 0.4)
    assert x.grad == pytest.approx(numeric, rel=1e-9)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown method 'middle'"):
        numerical_derivative(np.exp, 1.0, method="middle")
    with pytest.raises(ValueError, match="positive"):
        numerical_derivative(np.exp, 1.0, h=0.0)
    with pytest.raises(ValueError, match="positive steps"):
        step_size_study(np.exp, np.exp, 1.0, hs=[1e-3, -1e-3])


def test_symbolic_derivative_equals_known_ones():
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    assert (
        sympy.simplify(
            symbolic_derivative("sin(x)*exp(x)") - sympy.exp(x) * (sympy.sin(x) + sympy.cos(x))
        )
        == 0
    )
    sigma = 1 / (1 + sympy.exp(-x))
    d_sigma = symbolic_derivative(sigma, x)
    assert sympy.simplify(d_sigma - sigma * (1 - sigma)) == 0
    assert symbolic_derivative("x**3", "x", order=2) == 6 * x
    y = sympy.Symbol("y")
    assert symbolic_derivative("(x + y)*(y - z)", "y") == sympy.sympify("x + 2*y - z")
    assert symbolic_derivative("x*y", y) == x


def test_symbolic_derivative_bad_input():
    pytest.importorskip("sympy")
    with pytest.raises(TypeError, match="float"):
        symbolic_derivative(1.5)
    with pytest.raises(ValueError, match="cannot parse"):
        symbolic_derivative("sin(x")
    with pytest.raises(ValueError, match="order"):
        symbolic_derivative("x", order=0)

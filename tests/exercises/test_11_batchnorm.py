"""Grading tests for exercise 11: batch normalisation, forward and backward.

Oracles: the forward formulas re-written here with NumPy; central differences of
``sum(batchnorm_forward(x) * dout)`` for the backward pass (independent of the three-term
formula). Points: 7 public + 7 hidden = 14.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import arrays, assert_close, call

EXERCISE = "11_batchnorm"
EPS = 1e-5


def _forward(x, gamma, beta, eps=EPS):
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


def _case(rng, m, n, loc=0.0, scale=1.0):
    x = rng.normal(loc, scale, size=(m, n))
    gamma, beta = rng.normal(1.0, 0.5, size=n), rng.normal(size=n)
    return x, gamma, beta


def check_forward(student, x, gamma, beta, kind, public=True):
    got = np.asarray(
        call(student, "batchnorm_forward", x.copy(), gamma.copy(), beta.copy(), public=public),
        dtype=float,
    )
    assert got.shape == x.shape, (
        f"batchnorm_forward must return an array of the shape of x ({kind})"
    )
    m = x.shape[0]
    unbiased = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + EPS) + beta
    if m > 1 and np.allclose(got, unbiased, rtol=1e-8):
        pytest.fail(
            "normalise with the biased batch variance (divide by m, np.var's default), not "
            f"the unbiased one ({kind})"
        )
    across = gamma * (x - x.mean(axis=1, keepdims=True)) / np.sqrt(
        x.var(axis=1, keepdims=True) + EPS
    ) + beta  # fmt: skip
    if np.allclose(got, across, rtol=1e-8):
        pytest.fail(f"the statistics must be taken over the rows (axis 0), per feature ({kind})")
    assert_close(
        got,
        _forward(x, gamma, beta),
        "batchnorm_forward is wrong: y = γ (x − μ)/√(σ² + ε) + β with μ, σ² the mean and "
        f"biased variance of each column ({kind})",
        rtol=1e-8,
        atol=1e-10,
        public=public,
        name="`batchnorm_forward`",
    )


def check_running(student, mean, var, x, momentum, kind, public=True):
    args = (mean.copy(), var.copy(), x.copy(), momentum)
    advice = (
        "update_running_stats must return new arrays and leave running_mean and running_var "
        "unchanged (write `new_mean = (1 - momentum) * running_mean + ...`, not `*=`/`+=`)"
    )
    result = call(student, "update_running_stats", *args, public=public, must_not_modify=advice)
    got_mean, got_var = arrays(result, 2, "update_running_stats")
    m = x.shape[0]
    new_mean = (1 - momentum) * mean + momentum * x.mean(axis=0)
    assert_close(
        got_mean,
        new_mean,
        "the running mean is wrong: (1 − momentum) running_mean + momentum μ of the batch "
        f"({kind})",
        rtol=1e-10,
        public=public,
        name="the running mean",
    )
    biased = (1 - momentum) * var + momentum * x.var(axis=0)
    if np.allclose(got_var, biased, rtol=1e-10):
        pytest.fail(
            f"the running variance must store the unbiased batch variance, σ² m/(m − 1) ({kind})"
        )
    new_var = (1 - momentum) * var + momentum * x.var(axis=0) * m / (m - 1)
    assert_close(
        got_var,
        new_var,
        "the running variance is wrong: (1 − momentum) running_var + momentum σ² m/(m − 1) "
        f"({kind})",
        rtol=1e-10,
        public=public,
        name="the running variance",
    )


def check_eval(student, x, gamma, beta, mean, var, kind, public=True):
    args = (x.copy(), gamma.copy(), beta.copy(), mean.copy(), var.copy())
    got = np.asarray(call(student, "batchnorm_eval", *args, public=public), dtype=float)
    assert got.shape == x.shape, f"batchnorm_eval must return an array of the shape of x ({kind})"
    if x.shape[0] > 1 and np.allclose(got, _forward(x, gamma, beta), rtol=1e-8):
        pytest.fail(
            "evaluation mode must use the running statistics, not the statistics of the batch "
            f"({kind})"
        )
    expected = gamma * (x - mean) / np.sqrt(var + EPS) + beta
    assert_close(
        got,
        expected,
        f"batchnorm_eval is wrong: y = γ (x − running_mean)/√(running_var + ε) + β ({kind})",
        rtol=1e-10,
        public=public,
        name="`batchnorm_eval`",
    )


def check_backward(student, dout, x, gamma, kind, public=True):
    result = call(student, "batchnorm_backward", dout.copy(), x.copy(), gamma.copy(), public=public)
    dx, dgamma, dbeta = arrays(result, 3, "batchnorm_backward")
    m, n = x.shape
    assert dx.shape == (m, n) and dgamma.shape == (n,) and dbeta.shape == (n,), (
        f"batchnorm_backward must return dx (m, n), dgamma (n,) and dbeta (n,) ({kind})"
    )
    beta = np.zeros(n)
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + EPS)
    assert_close(
        dbeta,
        dout.sum(axis=0),
        f"dbeta is wrong: the sum of dout over the rows ({kind})",
        rtol=1e-10,
        public=public,
        name="`dbeta`",
    )
    if np.allclose(dgamma, dout.sum(axis=0), rtol=1e-10):
        pytest.fail(f"dgamma must weight dout by x̂: Σ_rows dout ⊙ x̂ ({kind})")
    assert_close(
        dgamma,
        np.sum(dout * x_hat, axis=0),
        f"dgamma is wrong: Σ_rows dout ⊙ x̂ ({kind})",
        rtol=1e-10,
        public=public,
        name="`dgamma`",
    )
    xv = x.copy()
    numeric = numerical_gradient(lambda: float(np.sum(_forward(xv, gamma, beta) * dout)), xv)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + EPS)
    if np.allclose(dx, dout * gamma * inv_std, rtol=1e-8):
        pytest.fail(
            "dx treats μ and σ² as constants, but they depend on every row of x: add the "
            f"paths through μ and σ² (the three-term formula) ({kind})"
        )
    dx_hat = dout * gamma
    if np.allclose(dx, inv_std * (dx_hat - dx_hat.mean(axis=0)), rtol=1e-8):
        pytest.fail(
            "dx has the path through μ but not the one through σ²: the term "
            f"−x̂ Σ(dx̂ ⊙ x̂) is missing ({kind})"
        )
    assert_close(
        dx,
        numeric,
        f"dx disagrees with finite differences ({kind})",
        rtol=1e-5,
        atol=1e-8,
        public=public,
        name="`dx`",
    )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(2)
def test_forward(student):
    x = np.array([[1.0, 2.0, -1.0], [3.0, 2.5, 0.0], [-2.0, 4.0, 1.0], [0.0, 1.5, 2.0]])
    check_forward(student, x, np.ones(3), np.zeros(3), "γ = 1, β = 0")
    check_forward(student, x, np.array([2.0, 0.5, -1.0]), np.array([0.0, 1.0, 3.0]), "γ, β")


@pytest.mark.points(1)
def test_running_stats(student):
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    check_running(student, np.zeros(2), np.ones(2), x, 0.1, "a 3 × 2 batch")


@pytest.mark.points(1)
def test_eval_mode(student):
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    mean, var = np.array([2.0, 3.0]), np.array([4.0, 0.25])
    check_eval(student, x, np.array([1.5, -1.0]), np.array([0.5, 0.0]), mean, var, "3 rows")


@pytest.mark.points(3)
def test_backward(student):
    rng = np.random.default_rng(110)
    x, gamma, _ = _case(rng, 5, 3)
    check_backward(student, rng.normal(size=(5, 3)), x, gamma, "a 5 × 3 batch")


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(2)
def test_forward_random(student):
    rng = np.random.default_rng(111)
    for m, n in ((2, 3), (int(rng.integers(8, 40)), int(rng.integers(2, 9)))):
        x, gamma, beta = _case(rng, m, n, loc=float(rng.uniform(-5, 5)), scale=3.0)
        check_forward(student, x, gamma, beta, "a random batch", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_running_stats_sequence(student):
    rng = np.random.default_rng(112)
    n = int(rng.integers(2, 7))
    mean, var = np.zeros(n), np.ones(n)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, size=(int(rng.integers(2, 20)), n))
        momentum = float(rng.uniform(0.05, 0.9))
        check_running(student, mean, var, x, momentum, "random batches", public=False)
        m = x.shape[0]
        mean = (1 - momentum) * mean + momentum * x.mean(axis=0)
        var = (1 - momentum) * var + momentum * x.var(axis=0) * m / (m - 1)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_eval_mode_single_row_and_independence(student):
    rng = np.random.default_rng(113)
    n = int(rng.integers(2, 8))
    x, gamma, beta = _case(rng, int(rng.integers(4, 12)), n)
    mean, var = rng.normal(size=n), rng.uniform(0.5, 3.0, size=n)
    check_eval(student, x, gamma, beta, mean, var, "a random batch", public=False)
    check_eval(student, x[:1], gamma, beta, mean, var, "a batch of one row", public=False)


@pytest.mark.hidden
@pytest.mark.points(3)
def test_backward_random(student):
    rng = np.random.default_rng(114)
    for m, n in ((2, 2), (int(rng.integers(6, 20)), int(rng.integers(2, 7)))):
        x, gamma, _ = _case(rng, m, n, loc=float(rng.uniform(-3, 3)), scale=2.0)
        check_backward(student, rng.normal(size=(m, n)), x, gamma, "a random batch", public=False)

"""Grading tests for exercise 17: batch normalisation of images, forward and backward.

Oracles: ``dlcourse.layers.BatchNorm2d`` (itself checked against ``torch.nn.BatchNorm2d`` to
1e-10 and against finite differences) with the test's γ, β and running statistics copied in,
and central differences of ``sum(R * y)`` for ``dx``. Points: 7 public + 7 hidden = 14.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import arrays, as_array, assert_close, call
from dlcourse.layers import BatchNorm2d

EXERCISE = "17_batchnorm2d"
EPS = 1e-5
AXES = (0, 2, 3)


def _c(v):
    return v.reshape(1, -1, 1, 1)


def _layer(x, gamma, beta, mean=None, var=None, momentum=0.1):
    """A BatchNorm2d holding the test's parameters, after one training-mode forward pass."""
    C = x.shape[1]
    layer = BatchNorm2d(C, momentum=momentum)
    layer.gamma[...], layer.beta[...] = gamma, beta
    if mean is not None:
        layer.running_mean[...], layer.running_var[...] = mean, var
    y = layer.forward(x.copy())
    return layer, y


def _stats(x):
    """(μ, biased σ²) per channel from the layer: with momentum 1 the running statistics are
    the batch's own, the variance times M/(M − 1)."""
    C = x.shape[1]
    layer, _ = _layer(x, np.ones(C), np.zeros(C), np.zeros(C), np.ones(C), momentum=1.0)
    M = x.size // C
    return layer.running_mean.copy(), layer.running_var * (M - 1) / M


def _case(rng, m, C, H, W, loc=0.0, scale=1.0):
    x = rng.normal(loc, scale, size=(m, C, H, W)) + rng.normal(size=(1, C, 1, 1))
    gamma, beta = rng.normal(1.0, 0.5, size=C), rng.normal(size=C)
    return x, gamma, beta


def _normalised(x, axes, ddof=0):
    mu = x.mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=axes, keepdims=True, ddof=ddof) + EPS)


def check_stats(student, x, kind, public=True):
    result = call(student, "channel_stats", x.copy(), public=public)
    mu, var = arrays(result, 2, "channel_stats")
    C = x.shape[1]
    assert mu.shape == (C,) and var.shape == (C,), (
        f"channel_stats must return two arrays of shape (C,), one number per channel: reduce "
        f"over the axes (0, 2, 3) ({kind})"
    )
    e_mu, e_var = _stats(x)
    assert_close(
        mu, e_mu, f"the channel means are wrong ({kind})", rtol=1e-10, public=public, name="mu"
    )
    M = x.size // C
    if np.allclose(var, e_var * M / (M - 1), rtol=1e-10):
        pytest.fail(f"use the biased variance (divide by M = m·H·W, not M − 1) ({kind})")
    assert_close(
        var,
        e_var,
        f"the channel variances are wrong: the mean of (x − μ_c)² over the examples and the "
        f"pixels ({kind})",
        rtol=1e-10,
        public=public,
        name="var",
    )


def check_forward(student, x, gamma, beta, kind, public=True):
    args = (x.copy(), gamma.copy(), beta.copy())
    result = call(student, "batchnorm2d_forward", *args, public=public)
    got = as_array(result, "batchnorm2d_forward")
    assert got.shape == x.shape, (
        f"batchnorm2d_forward must return an array of the shape of x, (m, C, H, W) ({kind})"
    )
    wrong = {"unbiased": _c(gamma) * _normalised(x, AXES, ddof=1) + _c(beta)}
    if x.shape[2] * x.shape[3] > 1:
        wrong["per pixel"] = _c(gamma) * _normalised(x, 0) + _c(beta)
    if x.shape[0] > 1:  # with one image, per example is per channel
        wrong["per example"] = _c(gamma) * _normalised(x, (2, 3)) + _c(beta)
    if x.shape[1] == x.shape[3]:  # a (C,) vector broadcast against the columns W
        wrong["columns"] = gamma * _normalised(x, AXES) + beta
    advice = {
        "per pixel": "the statistics are taken per pixel (over the batch only): each channel "
        "needs one mean and one variance over the batch AND the pixels, axes (0, 2, 3)",
        "per example": "the statistics are taken per example (over the pixels only): each "
        "channel needs one mean and one variance over the batch AND the pixels, axes (0, 2, 3)",
        "unbiased": "normalise with the biased variance (divide by M = m·H·W, not M − 1)",
        "columns": "γ and β are applied to the columns W: reshape them to (1, C, 1, 1) so that "
        "they pair with the channels",
    }
    for key, value in wrong.items():
        if np.allclose(got, value, rtol=1e-8, atol=1e-10):
            pytest.fail(f"{advice[key]} ({kind})")
    _, expected = _layer(x, gamma, beta)
    assert_close(
        got,
        expected,
        f"batchnorm2d_forward is wrong: y = γ_c (x − μ_c)/√(σ²_c + ε) + β_c with μ_c, σ²_c "
        f"taken over the axes (0, 2, 3) ({kind})",
        rtol=1e-10,
        atol=1e-12,
        public=public,
        name="`batchnorm2d_forward`",
    )


def check_running(student, mean, var, x, momentum, kind, public=True):
    advice = (
        "update_running_stats must return new arrays and leave running_mean and running_var "
        "unchanged (write `new_mean = (1 - momentum) * running_mean + ...`, not `*=`/`+=`)"
    )
    args = (mean.copy(), var.copy(), x.copy(), momentum)
    result = call(student, "update_running_stats", *args, public=public, must_not_modify=advice)
    got_mean, got_var = arrays(result, 2, "update_running_stats")
    C = x.shape[1]
    layer, _ = _layer(x, np.ones(C), np.zeros(C), mean, var, momentum=momentum)
    assert got_mean.shape == (C,) and got_var.shape == (C,), (
        f"update_running_stats must return two arrays of shape (C,) ({kind})"
    )
    assert_close(
        got_mean,
        layer.running_mean,
        f"the running mean is wrong: (1 − momentum) running_mean + momentum μ_c ({kind})",
        rtol=1e-10,
        public=public,
        name="the running mean",
    )
    biased, m = _stats(x)[1], x.shape[0]
    if m > 1 and np.allclose(got_var, (1 - momentum) * var + momentum * biased * m / (m - 1)):
        pytest.fail(
            "the unbiased correction counts the batch size m, but each channel's variance was "
            f"taken over M = m·H·W values: multiply by M/(M − 1) ({kind})"
        )
    if np.allclose(got_var, (1 - momentum) * var + momentum * biased, rtol=1e-10):
        pytest.fail(f"the running variance must store the unbiased variance, σ² M/(M − 1) ({kind})")
    assert_close(
        got_var,
        layer.running_var,
        f"the running variance is wrong: (1 − momentum) running_var + momentum σ²_c M/(M − 1) "
        f"({kind})",
        rtol=1e-10,
        public=public,
        name="the running variance",
    )


def check_backward(student, dout, x, gamma, kind, public=True):
    result = call(student, "batchnorm2d_backward", dout.copy(), x.copy(), gamma.copy(),
                  public=public)  # fmt: skip
    dx, dgamma, dbeta = arrays(result, 3, "batchnorm2d_backward")
    C = x.shape[1]
    assert dgamma.shape == (C,) and dbeta.shape == (C,), (
        f"dgamma and dbeta must have shape (C,): sum over the examples AND the pixels, axes "
        f"(0, 2, 3) ({kind})"
    )
    assert dx.shape == x.shape, f"dx must have the shape of x, (m, C, H, W) ({kind})"
    layer, _ = _layer(x, gamma, np.zeros(C))
    e_dx = layer.backward(dout.copy())
    assert_close(
        dbeta,
        layer.grad_beta,
        f"dbeta is wrong: the sum of dout over the axes (0, 2, 3) ({kind})",
        rtol=1e-10,
        public=public,
        name="`dbeta`",
    )
    assert_close(
        dgamma,
        layer.grad_gamma,
        f"dgamma is wrong: Σ dout ⊙ x̂ over the axes (0, 2, 3) ({kind})",
        rtol=1e-10,
        public=public,
        name="`dgamma`",
    )
    inv_std = _c(1.0 / np.sqrt(_stats(x)[1] + EPS))
    dx_hat, x_hat = dout * _c(gamma), _normalised(x, AXES)
    if np.allclose(dx, dx_hat * inv_std, rtol=1e-8):
        pytest.fail(
            "dx treats μ and σ² as constants, but they depend on every value of the channel: "
            f"add the paths through μ and σ² ({kind})"
        )
    if np.allclose(dx, inv_std * (dx_hat - dx_hat.mean(axis=AXES, keepdims=True)), rtol=1e-8):
        pytest.fail(
            f"dx has the path through μ but not the one through σ²: the term "
            f"−x̂ Σ(dx̂ ⊙ x̂) is missing ({kind})"
        )
    sum_dx_hat = dx_hat.sum(axis=AXES, keepdims=True)
    sum_both = np.sum(dx_hat * x_hat, axis=AXES, keepdims=True)
    for n in {x.shape[0], x.shape[2] * x.shape[3]} - {x.size // C}:
        if np.allclose(dx, (inv_std / n) * (n * dx_hat - sum_dx_hat - x_hat * sum_both), rtol=1e-8):
            pytest.fail(
                "dx counts the wrong number of values: each channel's statistics are taken "
                f"over M = m·H·W values, so M is the count in the formula ({kind})"
            )
    assert_close(
        dx,
        e_dx,
        f"dx is wrong: (M dx̂ − Σ dx̂ − x̂ Σ dx̂ ⊙ x̂)/(M √(σ²_c + ε)) with the sums over the axes "
        f"(0, 2, 3) ({kind})",
        rtol=1e-8,
        atol=1e-10,
        public=public,
        name="`dx`",
    )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_channel_stats(student):
    rng = np.random.default_rng(170)
    x, _, _ = _case(rng, 2, 3, 4, 5, loc=1.0, scale=2.0)
    check_stats(student, x, "a (2, 3, 4, 5) batch")


@pytest.mark.points(2)
def test_forward(student):
    rng = np.random.default_rng(171)
    x, gamma, beta = _case(rng, 3, 2, 3, 4, scale=2.0)
    check_forward(student, x, np.ones(2), np.zeros(2), "γ = 1, β = 0", public=True)
    check_forward(student, x, gamma, beta, "random γ, β")


@pytest.mark.points(1)
def test_running_stats(student):
    rng = np.random.default_rng(172)
    x, _, _ = _case(rng, 2, 3, 2, 2, loc=1.0, scale=2.0)
    check_running(student, np.zeros(3), np.ones(3), x, 0.1, "a (2, 3, 2, 2) batch")


@pytest.mark.points(3)
def test_backward(student):
    rng = np.random.default_rng(173)
    x, gamma, _ = _case(rng, 3, 2, 3, 4, scale=2.0)
    check_backward(student, rng.normal(size=x.shape), x, gamma, "a (3, 2, 3, 4) batch")


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_channel_stats_random(student):
    rng = np.random.default_rng(174)
    m, C, H, W = (int(v) for v in rng.integers(2, 6, size=4))
    x, _, _ = _case(rng, m, C, H, W, loc=float(rng.uniform(-4, 4)), scale=3.0)
    check_stats(student, x, "a random batch", public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_forward_random(student):
    rng = np.random.default_rng(175)
    C = int(rng.integers(2, 5))
    shapes = [(1, C, 3, 2), (int(rng.integers(2, 5)), C, int(rng.integers(2, 5)), C)]
    for shape in shapes:  # one image; then as many columns as channels (W = C)
        x, gamma, beta = _case(rng, *shape, loc=float(rng.uniform(-3, 3)), scale=2.0)
        check_forward(student, x, gamma, beta, "a random batch", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_running_stats_sequence(student):
    rng = np.random.default_rng(176)
    C = int(rng.integers(2, 5))
    mean, var = np.zeros(C), np.ones(C)
    for _ in range(3):
        shape = (int(rng.integers(2, 5)), C, int(rng.integers(1, 4)), int(rng.integers(2, 4)))
        x, _, _ = _case(rng, *shape, loc=2.0, scale=3.0)
        momentum = float(rng.uniform(0.05, 0.9))
        check_running(student, mean, var, x, momentum, "random batches", public=False)
        layer, _ = _layer(x, np.ones(C), np.zeros(C), mean, var, momentum=momentum)
        mean, var = layer.running_mean.copy(), layer.running_var.copy()


@pytest.mark.hidden
@pytest.mark.points(2)
def test_backward_random(student):
    rng = np.random.default_rng(177)
    C = int(rng.integers(2, 5))
    for shape in ((1, C, 2, 3), (int(rng.integers(2, 5)), C, int(rng.integers(2, 5)), C)):
        x, gamma, _ = _case(rng, *shape, loc=float(rng.uniform(-3, 3)), scale=2.0)
        check_backward(student, rng.normal(size=shape), x, gamma, "a random batch", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_backward_finite_differences(student):
    rng = np.random.default_rng(178)
    x, gamma, beta = _case(rng, 2, 3, 2, 3, scale=1.5)
    R = rng.normal(size=x.shape)
    result = call(student, "batchnorm2d_backward", R.copy(), x.copy(), gamma.copy(), public=False)
    dx = arrays(result, 3, "batchnorm2d_backward")[0]
    assert dx.shape == x.shape, "dx must have the shape of x, (m, C, H, W)"
    xv = x.copy()
    numeric = numerical_gradient(lambda: float(np.sum(R * _layer(xv, gamma, beta)[1])), xv,
                                 h=1e-3, order=4)  # fmt: skip
    assert np.allclose(dx, numeric, rtol=1e-6, atol=1e-9), (
        "dx disagrees with central differences of the forward pass for a random batch"
    )

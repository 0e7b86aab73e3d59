"""Grading tests for exercise 20: the VAE's reparameterised loss and its gradients.

Oracles: ``dlcourse.vae`` (``reparameterize``, ``gaussian_kl``, ``reconstruction_nll``,
``negative_elbo`` and the gradient pieces, themselves checked against torch and finite
differences in ``tests/unit/test_vae.py``) with a linear decoder ℓ = z Wᵀ + b built here;
central differences of the loss with the noise held fixed. Points: 7 public + 7 hidden = 14.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import vae
from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import arrays, as_array, assert_close, call

EXERCISE = "20_vae"
NAMES = ("d_mu", "d_log_var", "dW", "db")


def _problem(rng, m, n, d, scale=1.0):
    """(x, mu, log_var, eps, W, b): x in [0, 1], log-variances around 0."""
    x = rng.random((m, n))
    mu = rng.normal(size=(m, d)) * scale
    log_var = 0.7 * rng.normal(size=(m, d))
    eps = rng.normal(size=(m, d))
    W = rng.normal(size=(n, d)) * scale
    b = rng.normal(size=n)
    return x, mu, log_var, eps, W, b


def _loss(x, mu, log_var, eps, W, b):
    z = vae.reparameterize(mu, log_var, eps)
    return vae.negative_elbo(x, z @ W.T + b, mu, log_var)


def _grads(x, mu, log_var, eps, W, b, sign=1.0, kl=True, half=True):
    """[d_mu, d_log_var, dW, db]; the keyword arguments build the catalogued wrong versions."""
    m = x.shape[0]
    z = vae.reparameterize(mu, log_var, eps)
    G = sign * vae.reconstruction_nll_grad(x, z @ W.T + b) / m
    g_mu, g_log_var = vae.reparameterization_grad(G @ W, log_var, eps)
    if not half:
        g_log_var = 2.0 * g_log_var
    if kl:
        kl_mu, kl_log_var = vae.gaussian_kl_grad(mu, log_var)
        g_mu, g_log_var = g_mu + kl_mu / m, g_log_var + kl_log_var / m
    return [g_mu, g_log_var, G.T @ z, G.sum(axis=0)]


def check_reparameterize(student, mu, log_var, eps, kind, public=True):
    got = call(student, "reparameterize", mu.copy(), log_var.copy(), eps.copy(), public=public,
               must_not_modify=True)  # fmt: skip
    got = as_array(got, "reparameterize")
    assert got.shape == mu.shape, (
        f"reparameterize must return z of the shape of mu, (m, d) ({kind})"
    )
    expected = vae.reparameterize(mu, log_var, eps)
    if np.allclose(got, mu + np.exp(log_var) * eps) and not np.allclose(got, expected):
        pytest.fail(
            f"z uses the variance exp(ln σ²) where the standard deviation σ = exp(½ ln σ²) "
            f"belongs: z = μ + exp(log_var / 2) ε ({kind})"
        )
    if np.allclose(got, mu + log_var * eps) and not np.allclose(got, expected):
        pytest.fail(f"log_var is ln σ², not σ: the standard deviation is exp(log_var / 2) ({kind})")
    assert_close(
        got, expected, f"z is wrong: z = μ + exp(½ ln σ²) ⊙ ε ({kind})", rtol=1e-12,
        atol=1e-12, public=public, name="z",
    )  # fmt: skip


def check_kl(student, mu, log_var, kind, public=True):
    got = call(student, "gaussian_kl", mu.copy(), log_var.copy(), public=public,
               must_not_modify=True)  # fmt: skip
    got = as_array(got, "gaussian_kl")
    assert got.shape == (mu.shape[0],), f"gaussian_kl must return one number per row, (m,) ({kind})"
    expected = vae.gaussian_kl(mu, log_var)
    d = mu.shape[1]
    if np.allclose(got, expected + 0.5 * d):
        pytest.fail(
            f"the −1 inside the sum is missing: KL = ½ Σ_j (μ_j² + σ_j² − ln σ_j² − 1), which is "
            f"0 at μ = 0, σ² = 1 ({kind})"
        )
    shifted = expected + np.sum(log_var, axis=1)
    if np.allclose(got, shifted) and not np.allclose(shifted, expected):
        pytest.fail(f"the log-variance enters with the wrong sign: the sum holds −ln σ² ({kind})")
    assert_close(
        got, expected, f"the KL term is wrong: ½ Σ_j (μ_j² + σ_j² − ln σ_j² − 1) per row ({kind})",
        rtol=1e-12, atol=1e-12, public=public, name="KL",
    )  # fmt: skip


def check_nll(student, x, logits, kind, public=True):
    got = call(student, "bernoulli_nll", x.copy(), logits.copy(), public=public,
               must_not_modify=True)  # fmt: skip
    got = as_array(got, "bernoulli_nll")
    assert got.shape == (x.shape[0],), (
        f"bernoulli_nll must return one number per row, (m,) ({kind})"
    )
    assert np.all(np.isfinite(got)), (
        f"the result holds inf or NaN: ln(1 + e^ℓ) overflows for large logits; write softplus "
        f"as max(ℓ, 0) + ln(1 + e^(−|ℓ|)) ({kind})"
    )
    assert_close(
        got, vae.reconstruction_nll(x, logits),
        f"−ln p(x|z) is wrong: Σ_k softplus(ℓ_k) − x_k ℓ_k per row ({kind})", rtol=1e-11,
        atol=1e-11, public=public, name="the negative log-likelihood",
    )  # fmt: skip


def check_loss(student, problem, kind, public=True):
    got = call(student, "vae_loss", *(a.copy() for a in problem), public=public,
               must_not_modify=True)  # fmt: skip
    got = as_array(got, "vae_loss")
    assert got.size == 1, f"vae_loss must return a single number ({kind})"
    got = float(got.reshape(-1)[0])
    expected = _loss(*problem)
    m = problem[0].shape[0]
    if m > 1 and np.isclose(got, m * expected, rtol=1e-9):
        pytest.fail(f"the loss is the sum over the rows: take the mean over the m rows ({kind})")
    assert_close(
        got, expected, f"the loss is wrong: mean over the rows of −ln p(x|z) + KL, with "
        f"z = μ + σ ⊙ ε and logits z Wᵀ + b ({kind})", rtol=1e-11, atol=1e-11, public=public,
        name="the loss",
    )  # fmt: skip


FORMULA = {
    "d_mu": "g + μ/m with g = G W",
    "d_log_var": "g ⊙ ½ σ ⊙ ε + (σ² − 1)/(2m)",
    "dW": "Gᵀ z",
    "db": "the sum of G over the rows",
}
SHAPES = {"d_mu": "mu (m, d)", "d_log_var": "log_var (m, d)", "dW": "W (n, d)", "db": "b (n,)"}


def check_backward(student, problem, kind, public=True, expected=None):
    result = call(student, "vae_loss_backward", *(a.copy() for a in problem), public=public,
                  must_not_modify=True)  # fmt: skip
    got = arrays(result, 4, "vae_loss_backward")
    for name, g, a in zip(NAMES, got, problem[1:3] + problem[4:]):
        assert g.shape == a.shape, f"{name} must have the shape of {SHAPES[name]} ({kind})"
    right = _grads(*problem)
    if expected is None:
        expected = right
    close = lambda a, b: all(np.allclose(u, v, rtol=1e-8, atol=1e-10) for u, v in zip(a, b))
    if not close(got, right):
        m = problem[0].shape[0]
        if close(got, _grads(*problem, sign=-1.0)):
            pytest.fail(f"the reconstruction gradient has the wrong sign: G = (sigmoid(ℓ) − x)/m "
                        f"({kind})")  # fmt: skip
        if m > 1 and close(got, [m * g for g in right]):
            pytest.fail(
                f"the gradients are m times too large: the loss is a mean, so G = "
                f"(sigmoid(ℓ) − x)/m and the KL gradients are divided by m ({kind})"
            )
        if close(got[2:], right[2:]) and (
            np.allclose(got[0], _grads(*problem, kl=False)[0])
            or np.allclose(got[1], _grads(*problem, kl=False)[1])
        ):
            pytest.fail(f"μ and ln σ² also enter the KL term directly: add its gradients μ/m and "
                        f"(σ² − 1)/(2m) ({kind})")  # fmt: skip
        if np.allclose(got[1], _grads(*problem, half=False)[1]):
            pytest.fail(f"d_log_var lacks the factor ½: ∂z/∂ln σ² = ½ σ ⊙ ε ({kind})")
    for name, g, e in zip(NAMES, got, expected):
        assert_close(
            g, e, f"{name} is wrong: {FORMULA[name]}, G = (sigmoid(ℓ) − x)/m ({kind})",
            rtol=1e-8 if expected is right else 1e-6,
            atol=1e-10 if expected is right else 1e-8, public=public, name=f"`{name}`",
        )  # fmt: skip


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_reparameterize(student):
    rng = np.random.default_rng(200)
    _, mu, log_var, eps, _, _ = _problem(rng, 4, 3, 2)
    check_reparameterize(student, mu, log_var, eps, "m = 4, d = 2")


@pytest.mark.points(1)
def test_kl(student):
    rng = np.random.default_rng(201)
    _, mu, log_var, _, _, _ = _problem(rng, 4, 3, 3)
    mu[0], log_var[0] = 0.0, 0.0  # the prior itself: KL = 0
    check_kl(student, mu, log_var, "m = 4, d = 3, the first row at the prior")


@pytest.mark.points(1)
def test_nll(student):
    rng = np.random.default_rng(202)
    x, logits = rng.random((3, 5)), 3.0 * rng.normal(size=(3, 5))
    check_nll(student, x, logits, "m = 3, n = 5")


@pytest.mark.points(2)
def test_loss(student):
    rng = np.random.default_rng(203)
    check_loss(student, _problem(rng, 4, 6, 2), "m = 4, n = 6, d = 2")


@pytest.mark.points(2)
def test_backward(student):
    rng = np.random.default_rng(204)
    check_backward(student, _problem(rng, 4, 6, 3), "m = 4, n = 6, d = 3")


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_reparameterize_random(student):
    rng = np.random.default_rng(205)
    m, d = (int(v) for v in rng.integers(2, 7, size=2))
    _, mu, log_var, eps, _, _ = _problem(rng, m, 2, d, 2.0)
    check_reparameterize(student, mu, 3.0 * log_var, eps, "random shapes", public=False)
    check_reparameterize(student, mu[:1], log_var[:1], eps[:1], "one row", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_kl_random(student):
    rng = np.random.default_rng(206)
    m, d = (int(v) for v in rng.integers(2, 7, size=2))
    _, mu, log_var, _, _, _ = _problem(rng, m, 2, d, 2.0)
    check_kl(student, mu, 3.0 * log_var, "random shapes, wide variances", public=False)
    check_kl(student, np.zeros((2, 1)), np.zeros((2, 1)), "the prior itself", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_nll_random(student):
    rng = np.random.default_rng(207)
    m, n = (int(v) for v in rng.integers(2, 8, size=2))
    x = rng.random((m, n))
    check_nll(student, x, rng.normal(size=(m, n)), "random shapes", public=False)
    large = rng.choice([-1.0, 1.0], size=(m, n)) * rng.uniform(750.0, 1000.0, size=(m, n))
    large[0, 0] = 800.0  # at least one logit where e^ℓ overflows
    check_nll(student, x, large, "logits in the hundreds", public=False)
    check_nll(student, np.round(x), 40.0 * rng.normal(size=(m, n)), "binary pixels",
              public=False)  # fmt: skip


@pytest.mark.hidden
@pytest.mark.points(1)
def test_loss_random(student):
    rng = np.random.default_rng(208)
    m, n, d = (int(v) for v in rng.integers(2, 7, size=3))
    check_loss(student, _problem(rng, m, n + 1, d, 1.5), "random shapes", public=False)
    check_loss(student, _problem(rng, 1, 4, 2), "one row", public=False)


@pytest.mark.hidden
@pytest.mark.points(2)
def test_backward_random(student):
    rng = np.random.default_rng(209)
    m, n, d = (int(v) for v in rng.integers(2, 7, size=3))
    check_backward(student, _problem(rng, m + 1, n + 2, d, 1.5), "random shapes",
                   public=False)  # fmt: skip
    check_backward(student, _problem(rng, 1, 3, 1), "one row, d = 1", public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_backward_finite_differences(student):
    rng = np.random.default_rng(210)
    problem = _problem(rng, 3, 5, 2)
    work = [a.copy() for a in problem]
    numeric = [
        numerical_gradient(lambda: _loss(*work), work[i], h=1e-4, order=4) for i in (1, 2, 4, 5)
    ]
    check_backward(student, problem, "central differences, m = 3, n = 5, d = 2",
                   public=False, expected=numeric)  # fmt: skip

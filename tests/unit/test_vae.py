"""VAE objective: closed-form KL against quadrature and torch, the reparameterised gradients
against finite differences (ε held fixed), and a small MLP VAE that learns synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse import losses
from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.optim import Adam
from dlcourse.vae import (
    gaussian_kl,
    gaussian_kl_grad,
    mlp_vae,
    negative_elbo,
    reconstruction_nll,
    reconstruction_nll_grad,
    reparameterization_grad,
    reparameterize,
)


def _gaussian(rng, m=3, d=2):
    return rng.normal(size=(m, d)), rng.normal(scale=0.7, size=(m, d))


def test_reparameterize_is_the_formula_and_has_the_right_moments():
    rng = np.random.default_rng(0)
    mu, log_var = np.array([[1.0, -2.0]]), np.array([[0.5, -1.0]])
    eps = rng.standard_normal((200_000, 2))
    z = reparameterize(np.repeat(mu, len(eps), 0), np.repeat(log_var, len(eps), 0), eps)
    np.testing.assert_allclose(z[0], mu[0] + np.exp(0.5 * log_var[0]) * eps[0], rtol=1e-15)
    sigma = np.exp(0.5 * log_var[0])
    n = len(eps)
    # sample mean within 5 standard errors, sample variance within 5 of its standard errors
    assert np.all(np.abs(z.mean(0) - mu[0]) < 5 * sigma / math.sqrt(n))
    assert np.all(np.abs(z.var(0) - sigma**2) < 5 * sigma**2 * math.sqrt(2 / n))


def test_kl_closed_form_matches_quadrature():
    # one latent dimension: KL = ∫ q ln(q/p) dz on a fine grid (an independent computation)
    z = np.linspace(-30, 30, 600_001)
    for mu, log_var in [(0.0, 0.0), (1.5, -0.8), (-0.7, 1.2)]:
        s2 = math.exp(log_var)
        log_q = -0.5 * (z - mu) ** 2 / s2 - 0.5 * math.log(2 * math.pi * s2)
        log_p = -0.5 * z**2 - 0.5 * math.log(2 * math.pi)
        f = np.exp(log_q) * (log_q - log_p)
        quad = (z[1] - z[0]) * (f.sum() - 0.5 * (f[0] + f[-1]))  # trapezoidal rule
        closed = gaussian_kl([[mu]], [[log_var]])[0]
        assert closed == pytest.approx(quad, abs=1e-9)
    assert gaussian_kl([[0.0, 0.0]], [[0.0, 0.0]])[0] == 0.0


def test_kl_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    mu, log_var = _gaussian(rng, m=5, d=4)
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * log_var)))
    p = torch.distributions.Normal(torch.zeros(5, 4, dtype=torch.float64), 1.0)
    expected = torch.distributions.kl_divergence(q, p).sum(1).numpy()
    np.testing.assert_allclose(gaussian_kl(mu, log_var), expected, rtol=1e-12, atol=1e-14)


def test_reconstruction_nll_matches_the_packages_losses_and_the_gaussian_density():
    rng = np.random.default_rng(2)
    x = rng.random((4, 6))
    logits = rng.normal(scale=3, size=(4, 6))
    expected = losses.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    np.testing.assert_allclose(reconstruction_nll(x, logits), expected, rtol=1e-12)
    mean = rng.normal(size=(4, 6))
    log_density = -0.5 * (x - mean) ** 2 - 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(
        reconstruction_nll(x, mean, "gaussian"), -log_density.sum(1), rtol=1e-12
    )


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_partial_derivatives_match_finite_differences(likelihood):
    rng = np.random.default_rng(3)
    x = rng.random((3, 5))
    out = rng.normal(size=(3, 5))
    mu, log_var = _gaussian(rng)
    m = x.shape[0]
    num_out = numerical_gradient(lambda: negative_elbo(x, out, mu, log_var, likelihood), out,
                                 h=1e-3, order=4)  # fmt: skip
    assert rel_error(reconstruction_nll_grad(x, out, likelihood) / m, num_out) < 1e-9
    kl_mu, kl_log_var = gaussian_kl_grad(mu, log_var)
    f = lambda: float(gaussian_kl(mu, log_var).sum())  # noqa: E731
    assert rel_error(kl_mu, numerical_gradient(f, mu, h=1e-3, order=4)) < 1e-9
    assert rel_error(kl_log_var, numerical_gradient(f, log_var, h=1e-3, order=4)) < 1e-9


def test_reparameterised_gradient_through_a_decoder_matches_finite_differences():
    """loss(μ, ln σ²) = negative_elbo(x, tanh((μ + σε) A) B, μ, ln σ²) with ε fixed."""
    rng = np.random.default_rng(4)
    m, d, n = 4, 2, 6
    x = (rng.random((m, n)) < 0.5).astype(float)
    mu, log_var = _gaussian(rng, m, d)
    eps = rng.standard_normal((m, d))
    A, B = rng.normal(size=(d, 5)), rng.normal(size=(5, n))

    def loss():
        return negative_elbo(x, np.tanh(reparameterize(mu, log_var, eps) @ A) @ B, mu, log_var)

    h = np.tanh(reparameterize(mu, log_var, eps) @ A)
    grad_out = reconstruction_nll_grad(x, h @ B) / m
    grad_z = ((grad_out @ B.T) * (1 - h**2)) @ A.T
    path_mu, path_log_var = reparameterization_grad(grad_z, log_var, eps)
    kl_mu, kl_log_var = gaussian_kl_grad(mu, log_var)
    num_mu = numerical_gradient(loss, mu, h=1e-3, order=4)
    num_log_var = numerical_gradient(loss, log_var, h=1e-3, order=4)
    assert np.abs(num_log_var).min() > 1e-4  # the check is not vacuous
    assert rel_error(path_mu + kl_mu / m, num_mu) < 1e-8
    assert rel_error(path_log_var + kl_log_var / m, num_log_var) < 1e-8
    # dropping the path through z (the KL term alone) is caught
    assert rel_error(kl_log_var / m, num_log_var) > 1e-2


def test_vae_parameter_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    vae = mlp_vae(5, 4, 2, seed=6)
    X = (rng.random((3, 5)) < 0.5).astype(float)
    eps = rng.standard_normal((3, 2))
    _, grads = vae.loss_and_gradients(X, eps)
    grads = [g.copy() for g in grads]
    for p, g in zip(vae.parameters(), grads):
        num = numerical_gradient(lambda: vae.loss(X, eps), p, h=1e-3, order=4)
        assert rel_error(g, num) < 1e-8


def _prototype_data(rng, m=400, n=16, k=4, flip=0.05):
    prototypes = rng.random((k, n)) < 0.5
    X = prototypes[rng.integers(0, k, m)]
    return np.where(rng.random((m, n)) < flip, ~X, X).astype(float)


def test_training_lowers_the_negative_elbo_below_a_model_without_latents():
    rng = np.random.default_rng(7)
    X = _prototype_data(rng)
    vae = mlp_vae(16, 32, 2, seed=8)
    eps = np.random.default_rng(9).standard_normal((len(X), 2))
    before = vae.loss(X, eps)
    history = vae.fit(X, epochs=40, batch_size=32, optimizer=Adam(lr=0.01))
    after = vae.loss(X, eps)
    # the best decoder that ignores z: independent Bernoulli pixels, KL = 0
    p = X.mean(0).clip(1e-12, 1 - 1e-12)
    factorised = -np.sum(p * np.log(p) + (1 - p) * np.log(1 - p))
    assert after < before - 2.0
    assert after < factorised - 2.0, (after, factorised)
    assert history[-1] < history[0]
    samples = vae.sample(5)
    assert samples.shape == (5, 16) and samples.min() >= 0 and samples.max() <= 1


def test_bad_inputs():
    rng = np.random.default_rng(10)
    mu, log_var = _gaussian(rng)
    with pytest.raises(ValueError, match="one shape"):
        reparameterize(mu, log_var[:, :1], np.zeros_like(mu))
    with pytest.raises(ValueError, match="NaN or infinite"):
        gaussian_kl(mu, np.full_like(mu, np.inf))
    with pytest.raises(ValueError, match=r"likelihood must be one of"):
        reconstruction_nll(np.zeros((2, 2)), np.zeros((2, 2)), "poisson")
    with pytest.raises(ValueError, match=r"x in \[0, 1\]"):
        reconstruction_nll(np.full((2, 2), 2.0), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        gaussian_kl("mu", log_var)
    with pytest.raises(ValueError, match=r"shape \(m, n\)"):
        gaussian_kl(mu[0], log_var[0])
    with pytest.raises(ValueError, match="rows"):
        negative_elbo(np.zeros((2, 3)), np.zeros((2, 3)), mu, log_var)
    vae = mlp_vae(4, 3, 2, seed=0)
    with pytest.raises(ValueError, match=r"Linear expects input of shape \(m, 4\)"):
        vae.loss(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        mlp_vae(4, 3, 0)

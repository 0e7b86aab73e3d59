"""The variational autoencoder (VAE): its objective, the reparameterisation, their gradients.

An encoder maps an input x (one row of X, n features) to the parameters of a Gaussian
q(z|x) = N(μ, diag σ²) over a latent code z of d entries; it outputs μ and log σ² (the
log-variance, so that σ² = exp(log σ²) > 0 needs no constraint). A decoder maps z to the
parameters of p(x|z): Bernoulli logits ℓ (pixels in [0, 1]) or the mean x̂ of a Gaussian of
unit variance. The VAE maximises the evidence lower bound (``eq-elbo``)

    ELBO(x) = E_{z~q(z|x)}[ln p(x|z)] − KL(q(z|x) ‖ N(0, I)) ≤ ln p(x),

so the loss is the mean over the m rows of the *negative* ELBO, the expectation estimated
with one sample z per row. The KL term has a closed form (``eq-vae-kl``)

    KL = ½ Σ_j (μ_j² + σ_j² − ln σ_j² − 1),   ∂KL/∂μ = μ,   ∂KL/∂ln σ² = ½ (σ² − 1).

The sample is drawn by the reparameterisation (``eq-reparam``)

    z = μ + σ ⊙ ε,   ε ~ N(0, I),   σ = exp(½ ln σ²),

which makes z a differentiable function of (μ, ln σ²) for fixed ε, so backpropagation runs
through the sampling step: with g = ∂loss/∂z from the decoder,

    ∂loss/∂μ += g,   ∂loss/∂ln σ² += g ⊙ ½ σ ⊙ ε.

Reconstruction terms (per row, summed over the n features):

- Bernoulli, logits ℓ: −ln p(x|z) = Σ_k [softplus(ℓ_k) − x_k ℓ_k], gradient sigmoid(ℓ) − x;
- Gaussian (unit variance), mean x̂: −ln p(x|z) = ½ ‖x − x̂‖² + (n/2) ln 2π, gradient x̂ − x.

:class:`VAE` puts this together with two stacks of :mod:`dlcourse.layers`.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._matrices import as_real_array, check_same_shape
from dlcourse._validation import check_positive_int
from dlcourse.layers import Activation, Layer, Linear, Sequential

__all__ = [
    "LIKELIHOODS",
    "reparameterize",
    "reparameterization_grad",
    "gaussian_kl",
    "gaussian_kl_grad",
    "reconstruction_nll",
    "reconstruction_nll_grad",
    "negative_elbo",
    "VAE",
    "mlp_vae",
]

LIKELIHOODS = ("bernoulli", "gaussian")


def _likelihood(name) -> str:
    if name not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {name!r}")
    return name


def _gaussian_args(mu, log_var):
    mu, log_var = as_real_array("mu", mu), as_real_array("log_var", log_var)
    check_same_shape(mu=mu, log_var=log_var)
    return mu, log_var


def reparameterize(mu, log_var, eps) -> np.ndarray:
    """z = μ + exp(½ ln σ²) ⊙ ε (``eq-reparam``). All three arrays (m, d); returns (m, d)."""
    mu, log_var = _gaussian_args(mu, log_var)
    eps = as_real_array("eps", eps)
    check_same_shape(mu=mu, log_var=log_var, eps=eps)
    return mu + np.exp(0.5 * log_var) * eps


def reparameterization_grad(grad_z, log_var, eps) -> tuple[np.ndarray, np.ndarray]:
    """The path through z = μ + σ ⊙ ε: from g = ∂loss/∂z (m, d), return
    (∂loss/∂μ, ∂loss/∂ln σ²) = (g, g ⊙ ½ σ ⊙ ε), both (m, d)."""
    grad_z = as_real_array("grad_z", grad_z)
    log_var, eps = as_real_array("log_var", log_var), as_real_array("eps", eps)
    check_same_shape(grad_z=grad_z, log_var=log_var, eps=eps)
    return grad_z.copy(), grad_z * 0.5 * np.exp(0.5 * log_var) * eps


def gaussian_kl(mu, log_var) -> np.ndarray:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per row (``eq-vae-kl``): μ, log_var (m, d) -> (m,)."""
    mu, log_var = _gaussian_args(mu, log_var)
    return 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1.0, axis=1)


def gaussian_kl_grad(mu, log_var) -> tuple[np.ndarray, np.ndarray]:
    """(∂KL/∂μ, ∂KL/∂ln σ²) = (μ, ½ (σ² − 1)) of each row's KL; both (m, d)."""
    mu, log_var = _gaussian_args(mu, log_var)
    return mu.copy(), 0.5 * (np.exp(log_var) - 1.0)


def _softplus(v):
    return np.maximum(v, 0.0) + np.log1p(np.exp(-np.abs(v)))


def _sigmoid(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))  # stable for large |v|


def _reconstruction_args(x, output, likelihood):
    likelihood = _likelihood(likelihood)
    x, output = as_real_array("x", x), as_real_array("output", output)
    check_same_shape(x=x, output=output)
    if likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            "a Bernoulli decoder needs x in [0, 1]; got values in "
            f"[{x.min():.4g}, {x.max():.4g}] (use likelihood='gaussian' for other data)"
        )
    return x, output, likelihood


def reconstruction_nll(x, output, likelihood="bernoulli") -> np.ndarray:
    """−ln p(x|z) per row: x, output (m, n) -> (m,).

    ``output`` holds the decoder's logits ℓ (Bernoulli: Σ_k softplus(ℓ_k) − x_k ℓ_k) or its
    mean x̂ (Gaussian of unit variance: ½ ‖x − x̂‖² + (n/2) ln 2π).
    """
    x, output, likelihood = _reconstruction_args(x, output, likelihood)
    if likelihood == "bernoulli":
        return np.sum(_softplus(output) - x * output, axis=1)
    n = x.shape[1]
    return 0.5 * np.sum((x - output) ** 2, axis=1) + 0.5 * n * math.log(2 * math.pi)


def reconstruction_nll_grad(x, output, likelihood="bernoulli") -> np.ndarray:
    """∂(−ln p(x|z))/∂output per row, (m, n): sigmoid(ℓ) − x (Bernoulli) or x̂ − x (Gaussian)."""
    x, output, likelihood = _reconstruction_args(x, output, likelihood)
    return (_sigmoid(output) if likelihood == "bernoulli" else output) - x


def negative_elbo(x, output, mu, log_var, likelihood="bernoulli") -> float:
    """The VAE loss: (1/m) Σ_rows [−ln p(x|z) + KL(q(z|x) ‖ N(0, I))] (``eq-elbo``).

    x, output: (m, n) data and decoder output (for the sampled z); mu, log_var: (m, d).
    """
    nll = reconstruction_nll(x, output, likelihood)
    kl = gaussian_kl(mu, log_var)
    if nll.shape[0] != kl.shape[0]:
        raise ValueError(f"x has {nll.shape[0]} rows but mu has {kl.shape[0]}; they must match")
    return float(np.mean(nll + kl))


class VAE:
    """A VAE of two layer stacks: ``encoder`` x (m, n) -> (m, 2d) read as [μ | ln σ²], and
    ``decoder`` z (m, d) -> (m, n) logits (Bernoulli) or means (Gaussian).

    ``rng`` (or ``default_rng(seed)``) draws ε for the reparameterisation and shuffles rows.
    Gradients follow the module docstring: decoder backward from (1/m) ∂nll/∂output, then
    ∂loss/∂μ = g + μ/m and ∂loss/∂ln σ² = g ⊙ ½σ ⊙ ε + ½(σ² − 1)/m, then encoder backward.
    """

    def __init__(self, encoder, decoder, latent_dim, likelihood="bernoulli", seed=None, rng=None):
        for name, stack in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(stack, Layer):
                kind = type(stack).__name__
                raise TypeError(f"{name} must be a dlcourse.layers Layer; got {kind}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.likelihood = _likelihood(likelihood)
        self.rng = rng if rng is not None else np.random.default_rng(seed)

    def parameters(self) -> list[np.ndarray]:
        """Encoder's then decoder's parameter arrays (updated in place by an optimiser)."""
        return [*self.encoder.params, *self.decoder.params]

    def encode(self, X, training=False) -> tuple[np.ndarray, np.ndarray]:
        """(μ, ln σ²) of q(z|x), each (m, d), for X (m, n)."""
        h = self.encoder.forward(as_real_array("X", X), training)
        if h.ndim != 2 or h.shape[1] != 2 * self.latent_dim:
            raise ValueError(
                f"the encoder must output (m, {2 * self.latent_dim}) = [mu | log_var] for "
                f"latent_dim={self.latent_dim}; got shape {h.shape}"
            )
        return h[:, : self.latent_dim], h[:, self.latent_dim :]

    def decode(self, Z) -> np.ndarray:
        """The decoder's mean of p(x|z) for Z (m, d): sigmoid(logits) or x̂; (m, n)."""
        out = self.decoder.forward(as_real_array("Z", Z), False)
        return _sigmoid(out) if self.likelihood == "bernoulli" else out

    def sample(self, n: int) -> np.ndarray:
        """n decoded draws z ~ N(0, I): (n, n_features)."""
        n = check_positive_int(n, "n")
        return self.decode(self.rng.standard_normal((n, self.latent_dim)))

    def _eps(self, X, eps):
        if eps is None:
            return self.rng.standard_normal((X.shape[0], self.latent_dim))
        return as_real_array("eps", eps)

    def loss(self, X, eps=None) -> float:
        """Negative ELBO of X (m, n) with noise ``eps`` (m, d) (drawn from ``rng`` if None)."""
        X = as_real_array("X", X)
        mu, log_var = self.encode(X)
        z = reparameterize(mu, log_var, self._eps(X, eps))
        return negative_elbo(X, self.decoder.forward(z, False), mu, log_var, self.likelihood)

    def loss_and_gradients(self, X, eps=None) -> tuple[float, list[np.ndarray]]:
        """The negative ELBO (training mode) and its gradient, in the order of ``parameters``."""
        X = as_real_array("X", X)
        m = X.shape[0]
        mu, log_var = self.encode(X, training=True)
        eps = self._eps(X, eps)
        z = reparameterize(mu, log_var, eps)
        out = self.decoder.forward(z, True)
        loss = negative_elbo(X, out, mu, log_var, self.likelihood)
        grad_z = self.decoder.backward(reconstruction_nll_grad(X, out, self.likelihood) / m)
        grad_mu, grad_log_var = reparameterization_grad(grad_z, log_var, eps)
        kl_mu, kl_log_var = gaussian_kl_grad(mu, log_var)
        grad_h = np.concatenate([grad_mu + kl_mu / m, grad_log_var + kl_log_var / m], axis=1)
        self.encoder.backward(grad_h)
        return loss, [*self.encoder.grads, *self.decoder.grads]

    def fit(self, X, epochs, batch_size, optimizer) -> list[float]:
        """Mini-batch training; returns the mean training loss of every epoch.

        ``optimizer`` is a :mod:`dlcourse.optim` optimiser (``step(params, grads)``).
        """
        X = as_real_array("X", X)
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        history = []
        for epoch in range(epochs):
            order, total = self.rng.permutation(X.shape[0]), 0.0
            for start in range(0, X.shape[0], batch_size):
                batch = X[order[start : start + batch_size]]
                loss, grads = self.loss_and_gradients(batch)
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"the VAE loss became {loss} in epoch {epoch + 1}; try a smaller lr"
                    )
                optimizer.step(self.parameters(), grads)
                total += loss * batch.shape[0]
            history.append(total / X.shape[0])
        return history


def mlp_vae(n_in, n_hidden, latent_dim, likelihood="bernoulli", activation="tanh", seed=None):
    """A VAE with one hidden layer in each of encoder and decoder (Linear, activation, Linear);
    weights from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    encoder = Sequential([Linear(n_in, n_hidden, rng=rng), Activation(activation),
                          Linear(n_hidden, 2 * check_positive_int(latent_dim, "latent_dim"),
                                 rng=rng)])  # fmt: skip
    decoder = Sequential([Linear(latent_dim, n_hidden, rng=rng), Activation(activation),
                          Linear(n_hidden, n_in, rng=rng)])  # fmt: skip
    return VAE(encoder, decoder, latent_dim, likelihood, rng=rng)

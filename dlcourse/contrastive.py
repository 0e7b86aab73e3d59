"""The contrastive InfoNCE loss of SimCLR (NT-Xent) over 2N embeddings, and its gradient.

A batch of N examples is augmented twice; an encoder maps the 2N views to embeddings, the
rows of Z (2N, d), laid out so that rows i and i + N are the two views of example i (the
*positive pair*); every other row is a *negative* for both. With cosine similarities at
temperature τ (``eq-nt-xent``)

    u_i = z_i / ‖z_i‖,   s_ik = u_i · u_k / τ,   p(i) = (i + N) mod 2N,

    ℓ_i = −s_{i,p(i)} + ln Σ_{k≠i} exp(s_ik),   L = (1/2N) Σ_i ℓ_i,

i.e. each row is a (2N − 1)-way softmax classification of its partner among the other rows.

Gradient (``eq-nt-xent-grad``). With P_ik = exp(s_ik) / Σ_{k'≠i} exp(s_ik') for k ≠ i and
P_ii = 0, the loss depends on S through

    G_ik = ∂L/∂s_ik = (P_ik − [k = p(i)]) / 2N,

and S = U Uᵀ/τ is used twice (row i as anchor and as candidate), so

    ∂L/∂U = (G + Gᵀ) U / τ,
    ∂L/∂z_i = (∂L/∂u_i − u_i (u_i · ∂L/∂u_i)) / ‖z_i‖   (the normalisation's Jacobian
                                                      (I − u_i u_iᵀ)/‖z_i‖ is symmetric).
"""

from __future__ import annotations

import numpy as np

from dlcourse._matrices import as_real_array
from dlcourse._validation import check_interval

__all__ = ["nt_xent_loss", "nt_xent_loss_grad", "positive_index"]


def positive_index(two_n: int) -> np.ndarray:
    """p(i) = (i + N) mod 2N for i = 0..2N−1: the row holding each row's other view."""
    if two_n % 2:
        raise ValueError(f"the batch needs an even number 2N of rows; got {two_n}")
    return (np.arange(two_n) + two_n // 2) % two_n


def _forward(Z, temperature):
    Z = as_real_array("Z", Z)
    tau = check_interval("temperature", temperature, 0.0, open_low=True)
    two_n = Z.shape[0]
    if two_n < 2 or two_n % 2:
        raise ValueError(
            f"Z must hold 2N >= 2 rows (rows i and i + N are two views of example i); "
            f"got {two_n} rows"
        )
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    if np.any(norms == 0):
        rows = np.flatnonzero(norms[:, 0] == 0).tolist()
        raise ValueError(f"cosine similarity needs nonzero embeddings; rows {rows} of Z are 0")
    U = Z / norms
    S = U @ U.T / tau
    np.fill_diagonal(S, -np.inf)  # a row is not its own candidate
    shifted = S - S.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        E = np.exp(shifted)
    log_sum = np.log(E.sum(axis=1)) + S.max(axis=1)
    pos = positive_index(two_n)
    rows = np.arange(two_n)
    losses = log_sum - S[rows, pos]
    return Z, U, norms, tau, E / E.sum(axis=1, keepdims=True), pos, losses


def nt_xent_loss(Z, temperature: float = 0.5) -> float:
    """NT-Xent (InfoNCE over 2N views) of Z (2N, d) at temperature τ > 0 (``eq-nt-xent``)."""
    return float(np.mean(_forward(Z, temperature)[-1]))


def nt_xent_loss_grad(Z, temperature: float = 0.5) -> np.ndarray:
    """∂L/∂Z (2N, d) of :func:`nt_xent_loss` (``eq-nt-xent-grad``)."""
    Z, U, norms, tau, P, pos, _ = _forward(Z, temperature)
    two_n = Z.shape[0]
    G = P.copy()
    G[np.arange(two_n), pos] -= 1.0
    G /= two_n
    grad_U = (G + G.T) @ U / tau
    radial = np.sum(U * grad_U, axis=1, keepdims=True)
    return (grad_U - U * radial) / norms

"""Planning with a known model: Bellman backups, value iteration, policy evaluation and
policy iteration for any MDP given as arrays ``P`` (S, A, S) and ``R`` (S, A) (for instance
a :class:`~dlcourse.rl.gridworld.GridWorld`).

With discount γ, the action values of a state-value function V are (``eq-bellman-q``)

    Q(s, a) = R[s, a] + γ Σ_s' P[s, a, s'] V(s').

- Bellman optimality (``eq-bellman-opt``): V*(s) = max_a Q*(s, a). Value iteration applies
  the backup V ← max_a Q until max_s |V_new − V| < tol; for γ < 1 the backup is a
  γ-contraction, so it converges from any start and the last change bounds the error.
- Policy evaluation (``eq-bellman-pi``): V^π = R_π + γ P_π V^π is linear, solved directly
  as (I − γ P_π) V^π = R_π, with R_π[s] = Σ_a π(a|s) R[s, a], P_π[s, s'] likewise.
- Policy iteration alternates evaluation and greedy improvement until the policy is stable.

γ = 1 is allowed when every policy the method meets ends in an absorbing state with zero
reward (as in a grid world with a step cost); otherwise value iteration stops at
``max_iter`` with an error and evaluation reports a singular system.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_interval, check_positive_int

__all__ = ["q_values", "greedy_policy", "value_iteration", "policy_evaluation",
           "policy_iteration"]  # fmt: skip


def _model(mdp):
    P, R = np.asarray(getattr(mdp, "P", None), float), np.asarray(getattr(mdp, "R", None), float)
    if P.ndim != 3 or P.shape[0] != P.shape[2] or R.shape != P.shape[:2]:
        raise ValueError(f"mdp needs P of shape (S, A, S) and R of shape (S, A); got P "
                         f"{P.shape} and R {R.shape}")  # fmt: skip
    if not np.allclose(P.sum(axis=2), 1.0, atol=1e-12) or P.min() < 0:
        raise ValueError("every row P[s, a, :] must be a probability distribution")
    return P, R


def q_values(mdp, V, gamma) -> np.ndarray:
    """Q(s, a) = R[s, a] + γ Σ_s' P[s, a, s'] V(s') (``eq-bellman-q``); V (S,) -> Q (S, A)."""
    P, R = _model(mdp)
    gamma = check_interval("gamma", gamma, 0.0, 1.0)
    V = np.asarray(V, float)
    if V.shape != (P.shape[0],):
        raise ValueError(f"V must have shape ({P.shape[0]},); got {V.shape}")
    return R + gamma * P @ V


def greedy_policy(Q) -> np.ndarray:
    """π(s) = argmax_a Q(s, a) (the first of tied actions): Q (S, A) -> (S,) ints."""
    Q = np.asarray(Q, float)
    if Q.ndim != 2:
        raise ValueError(f"Q must have shape (S, A); got {Q.shape}")
    return np.argmax(Q, axis=1)


def value_iteration(mdp, gamma, tol=1e-12, max_iter=100_000):
    """Iterate V ← max_a Q(s, a) from V = 0 until max|ΔV| < tol (``eq-bellman-opt``).

    Returns (V (S,), greedy policy (S,), number of backups). Raises RuntimeError naming the
    last change if ``max_iter`` backups do not reach ``tol``.
    """
    P, _ = _model(mdp)
    tol = check_interval("tol", tol, 0.0, open_low=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    V = np.zeros(P.shape[0])
    for n in range(1, max_iter + 1):
        Q = q_values(mdp, V, gamma)
        V_new = Q.max(axis=1)
        change = float(np.max(np.abs(V_new - V)))
        V = V_new
        if change < tol:
            return V, greedy_policy(q_values(mdp, V, gamma)), n
    raise RuntimeError(
        f"value iteration did not converge in {max_iter} backups (last change {change:.3g} "
        f">= tol {tol:.3g}); use gamma < 1 or more iterations"
    )


def _policy_matrix(policy, S, A) -> np.ndarray:
    """π(a|s) as an (S, A) matrix from actions (S,) or probabilities (S, A)."""
    policy = np.asarray(policy)
    if policy.shape == (S,) and policy.dtype.kind in "iu":
        if policy.min() < 0 or policy.max() >= A:
            raise ValueError(f"policy actions must lie in [0, {A}); got {policy.tolist()}")
        return np.eye(A)[policy]
    if policy.shape == (S, A) and policy.dtype.kind == "f":
        if policy.min() < 0 or not np.allclose(policy.sum(axis=1), 1.0, atol=1e-12):
            raise ValueError("a stochastic policy's rows must be probability distributions")
        return policy
    raise ValueError(f"policy must be ({S},) integer actions or ({S}, {A}) probabilities; got "
                     f"shape {policy.shape} and dtype {policy.dtype}")  # fmt: skip


def policy_evaluation(mdp, policy, gamma) -> np.ndarray:
    """V^π (S,) solving (I − γ P_π) V = R_π exactly (``eq-bellman-pi``), with V = 0 on
    absorbing states that pay nothing (so γ = 1 works for policies that end).

    ``policy``: actions (S,) or probabilities π(a|s) (S, A).
    """
    P, R = _model(mdp)
    gamma = check_interval("gamma", gamma, 0.0, 1.0)
    pi = _policy_matrix(policy, *R.shape)
    P_pi, R_pi = np.einsum("sa,sat->st", pi, P), np.sum(pi * R, axis=1)
    A = np.eye(P.shape[0]) - gamma * P_pi
    # an absorbing state without reward has value 0 for every gamma; saying so directly
    # keeps the system regular at gamma = 1 (where its row of A would be 0)
    absorbing = (np.diag(P_pi) == 1.0) & (R_pi == 0.0)
    A[absorbing] = np.eye(P.shape[0])[absorbing]
    try:
        return np.linalg.solve(A, R_pi)
    except np.linalg.LinAlgError:
        raise ValueError(f"I − γ P_π is singular for gamma={gamma}: the policy never ends "
                         "(use gamma < 1)") from None  # fmt: skip


def policy_iteration(mdp, gamma, max_iter=1000):
    """Evaluate, improve greedily, repeat until the policy is stable (ties keep the old
    action). Returns (V (S,), policy (S,), number of improvements)."""
    P, R = _model(mdp)
    policy = np.zeros(P.shape[0], dtype=int)
    for n in range(1, check_positive_int(max_iter, "max_iter") + 1):
        V = policy_evaluation(mdp, policy, gamma)
        Q = q_values(mdp, V, gamma)
        best = Q.max(axis=1)
        keep = Q[np.arange(len(policy)), policy] >= best - 1e-12 * (1 + np.abs(best))
        improved = np.where(keep, policy, greedy_policy(Q))
        if np.array_equal(improved, policy):
            return V, policy, n
        policy = improved
    raise RuntimeError(f"policy iteration did not settle in {max_iter} improvements")

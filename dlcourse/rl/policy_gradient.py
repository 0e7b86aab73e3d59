"""The REINFORCE policy-gradient estimator on a K-armed bandit (a one-step MDP).

A softmax policy π_θ(a) = exp(θ_a) / Σ_b exp(θ_b) over K arms, arm a paying a random
reward of mean r̄_a. The expected return J(θ) = Σ_a π_θ(a) r̄_a has the exact gradient
(``eq-pg-exact``)

    ∇_θ J = π ⊙ (r̄ − π·r̄),

and the score-function (log-derivative) identity ∇π = π ∇ln π turns it into an expectation
over the policy's own actions (``eq-reinforce``):

    ∇_θ J = E_{a~π, r}[(r − b) ∇_θ ln π_θ(a)],   ∇_θ ln π_θ(a) = e_a − π,

for any baseline b that does not depend on a (E[∇ ln π] = 0), so REINFORCE estimates the
gradient by the mean of (r_t − b)(e_{a_t} − π) over sampled (a_t, r_t). The baseline
leaves the mean unchanged and, chosen near E[r], reduces the variance.
"""

from __future__ import annotations

import numpy as np

from dlcourse._matrices import as_real_array
from dlcourse._validation import check_interval, check_positive_int

__all__ = ["softmax_policy", "expected_return_gradient", "reinforce_gradient",
           "reinforce_bandit"]  # fmt: skip


def softmax_policy(theta) -> np.ndarray:
    """π_θ (K,) = softmax(θ) for preferences θ (K,)."""
    theta = as_real_array("theta", theta, ndim=1)
    e = np.exp(theta - theta.max())
    return e / e.sum()


def expected_return_gradient(theta, mean_rewards) -> np.ndarray:
    """Exact ∇_θ Σ_a π_θ(a) r̄_a = π ⊙ (r̄ − π·r̄) (``eq-pg-exact``); θ, r̄ (K,) -> (K,)."""
    pi = softmax_policy(theta)
    r = as_real_array("mean_rewards", mean_rewards, ndim=1)
    if r.shape != pi.shape:
        raise ValueError(f"mean_rewards has {r.shape[0]} arms but theta has {pi.shape[0]}")
    return pi * (r - pi @ r)


def reinforce_gradient(theta, actions, rewards, baseline: float = 0.0) -> np.ndarray:
    """REINFORCE estimate (1/T) Σ_t (r_t − b)(e_{a_t} − π) (``eq-reinforce``): θ (K,),
    actions (T,) ints in [0, K), rewards (T,) -> (K,)."""
    pi = softmax_policy(theta)
    actions = np.asarray(actions)
    rewards = as_real_array("rewards", rewards, ndim=1)
    b = check_interval("baseline", baseline, -np.inf)
    if actions.shape != rewards.shape or actions.dtype.kind not in "iu":
        raise ValueError(f"actions must be integers of the shape of rewards {rewards.shape}; "
                         f"got shape {actions.shape} and dtype {actions.dtype}")  # fmt: skip
    if actions.min() < 0 or actions.max() >= pi.shape[0]:
        raise ValueError(f"actions must lie in [0, {pi.shape[0]}); got {actions.min()}..."
                         f"{actions.max()}")  # fmt: skip
    score = np.eye(pi.shape[0])[actions] - pi  # ∇ ln π(a_t), one row per sample
    return np.mean((rewards - b)[:, None] * score, axis=0)


def reinforce_bandit(mean_rewards, steps, lr=0.1, batch=16, reward_std=1.0, baseline=True,
                     seed=None, rng=None):  # fmt: skip
    """Gradient ascent on J with REINFORCE estimates from ``batch`` pulls per step, rewards
    r ~ N(r̄_a, reward_std²); the baseline (if on) is the running mean of past rewards.

    Returns (θ after the last step (K,), the exact expected return J after every step (steps,)).
    """
    r_bar = as_real_array("mean_rewards", mean_rewards, ndim=1)
    steps, batch = check_positive_int(steps, "steps"), check_positive_int(batch, "batch")
    lr = check_interval("lr", lr, 0.0, open_low=True)
    reward_std = check_interval("reward_std", reward_std, 0.0)
    rng = rng if rng is not None else np.random.default_rng(seed)
    theta, b, seen = np.zeros(r_bar.shape[0]), 0.0, 0
    curve = np.zeros(steps)
    for t in range(steps):
        pi = softmax_policy(theta)
        actions = rng.choice(r_bar.shape[0], size=batch, p=pi)
        rewards = r_bar[actions] + reward_std * rng.standard_normal(batch)
        theta += lr * reinforce_gradient(theta, actions, rewards, b if baseline else 0.0)
        seen += batch
        b += (rewards.sum() - batch * b) / seen  # running mean, taken before these rewards
        curve[t] = softmax_policy(theta) @ r_bar
    return theta, curve

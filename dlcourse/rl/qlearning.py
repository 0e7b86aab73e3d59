"""Tabular Q-learning with ε-greedy exploration (Watkins, 1989).

From state s the agent takes an ε-greedy action a (uniformly random with probability ε,
else argmax_a Q(s, a) with ties broken at random), observes (r, s'), and moves its table
towards the one-step Bellman optimality target (``eq-q-learning``):

    Q(s, a) ← Q(s, a) + α [r + γ (1 − done) max_a' Q(s', a') − Q(s, a)].

The target uses the greedy value of s' whatever the next action will be (off-policy), so
with every pair (s, a) visited infinitely often and suitable step sizes Q converges to Q*.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_interval, check_positive_int

__all__ = ["epsilon_greedy", "q_learning"]


def epsilon_greedy(q_row, epsilon: float, rng: np.random.Generator) -> int:
    """An action for one state's values ``q_row`` (A,): random with probability ε, else a
    greedy one (uniformly among ties)."""
    q_row = np.asarray(q_row, float)
    if rng.random() < epsilon:
        return int(rng.integers(q_row.shape[0]))
    best = np.flatnonzero(q_row == q_row.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


def q_learning(env, episodes, alpha=0.5, gamma=0.9, epsilon=0.1, max_steps=200,
               exploring_starts=False, seed=None, rng=None, Q=None):  # fmt: skip
    """Run ``episodes`` episodes of Q-learning on ``env`` (``reset()``, ``step(s, a, rng)``,
    ``n_states``, ``n_actions``, ``terminal``; e.g. a GridWorld).

    ``exploring_starts=True`` begins each episode in a uniformly drawn non-terminal state
    instead of ``env.reset()``. ``Q`` (S, A) continues from a table (copied), else zeros.
    Randomness comes from ``rng`` or ``default_rng(seed)`` only.
    Returns (Q (S, A), the undiscounted return of every episode (episodes,)).
    """
    episodes = check_positive_int(episodes, "episodes")
    max_steps = check_positive_int(max_steps, "max_steps")
    alpha = check_interval("alpha", alpha, 0.0, 1.0, open_low=True)
    gamma = check_interval("gamma", gamma, 0.0, 1.0)
    epsilon = check_interval("epsilon", epsilon, 0.0, 1.0)
    rng = rng if rng is not None else np.random.default_rng(seed)
    shape = (env.n_states, env.n_actions)
    if Q is None:
        Q = np.zeros(shape)
    else:
        Q = np.array(Q, dtype=float)
        if Q.shape != shape:
            raise ValueError(f"Q must have shape {shape}; got {Q.shape}")
    starts = np.flatnonzero(~np.asarray(env.terminal))
    returns = np.zeros(episodes)
    for episode in range(episodes):
        s = int(rng.choice(starts)) if exploring_starts else env.reset()
        for _ in range(max_steps):
            a = epsilon_greedy(Q[s], epsilon, rng)
            s_next, r, done = env.step(s, a, rng)
            target = r + (0.0 if done else gamma * Q[s_next].max())
            Q[s, a] += alpha * (target - Q[s, a])
            returns[episode] += r
            s = s_next
            if done:
                break
    return Q, returns

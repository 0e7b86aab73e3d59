"""Learning from samples: Q-learning finds value iteration's optimal policy on a deterministic
grid; the REINFORCE estimator's mean is the exact policy gradient of a bandit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.rl import (
    GridWorld,
    epsilon_greedy,
    expected_return_gradient,
    greedy_policy,
    policy_evaluation,
    q_learning,
    q_values,
    reinforce_bandit,
    reinforce_gradient,
    softmax_policy,
    value_iteration,
)

MAZE = ["S..#....", ".#.#.##.", ".#...#P.", ".####.#.", "......#G"]
GAMMA = 0.95


def test_q_learning_finds_the_optimal_policy_of_a_deterministic_grid():
    world = GridWorld(MAZE, slip=0.0, step_reward=-0.1)
    V_star, _, _ = value_iteration(world, GAMMA)
    Q_star = q_values(world, V_star, GAMMA)
    Q, _ = q_learning(world, episodes=1500, alpha=0.5, gamma=GAMMA, epsilon=0.3,
                      exploring_starts=True, seed=0)  # fmt: skip
    policy = greedy_policy(Q)
    live = ~world.terminal
    # each learned greedy action is an optimal one (the optimal policy has ties) ...
    chosen = Q_star[np.arange(world.n_states), policy]
    assert np.all(chosen[live] >= V_star[live] - 1e-9)
    # ... so the learned policy's exact value is V*, and the greedy values approach V*
    np.testing.assert_allclose(policy_evaluation(world, policy, GAMMA), V_star, atol=1e-9)
    assert np.max(np.abs(Q.max(axis=1) - V_star)[live]) < 1e-6
    # too little learning does not get there (the check can fail)
    Q_short, _ = q_learning(world, episodes=5, gamma=GAMMA, exploring_starts=True, seed=0)
    assert np.max(np.abs(Q_short.max(axis=1) - V_star)[live]) > 0.1


def test_q_learning_is_seeded_and_its_returns_improve():
    world = GridWorld(MAZE, slip=0.1, step_reward=-0.1)
    Q1, returns = q_learning(world, episodes=400, epsilon=0.1, gamma=GAMMA, seed=3)
    Q2, returns2 = q_learning(world, episodes=400, epsilon=0.1, gamma=GAMMA, seed=3)
    np.testing.assert_array_equal(Q1, Q2)
    np.testing.assert_array_equal(returns, returns2)
    assert returns[-100:].mean() > returns[:100].mean() + 1.0


def test_epsilon_greedy_frequencies():
    rng, n = np.random.default_rng(4), 40_000
    q_row = np.array([0.0, 2.0, 1.0, 2.0])  # a tie between actions 1 and 3
    counts = np.bincount([epsilon_greedy(q_row, 0.2, rng) for _ in range(n)], minlength=4)
    p = np.array([0.05, 0.45, 0.05, 0.45])
    assert np.all(np.abs(counts / n - p) < 4.5 * np.sqrt(p * (1 - p) / n))


def test_exact_policy_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    theta, r_bar = rng.normal(size=4), rng.normal(size=4)

    def J():
        return float(softmax_policy(theta) @ r_bar)

    assert rel_error(expected_return_gradient(theta, r_bar),
                     numerical_gradient(J, theta, h=1e-3, order=4)) < 1e-9  # fmt: skip


@pytest.mark.parametrize("baseline", [0.0, 0.4])
def test_reinforce_estimate_has_the_exact_gradient_as_its_mean(baseline):
    """Mean of T per-sample terms within 4.5 standard errors of ∇J, per component."""
    rng = np.random.default_rng(6)
    theta, r_bar, T = np.array([0.3, -0.5]), np.array([1.0, 0.2]), 40_000
    pi = softmax_policy(theta)
    actions = rng.choice(2, size=T, p=pi)
    rewards = r_bar[actions] + rng.standard_normal(T)
    estimate = reinforce_gradient(theta, actions, rewards, baseline)
    terms = (rewards - baseline)[:, None] * (np.eye(2)[actions] - pi)
    se = terms.std(axis=0, ddof=1) / math.sqrt(T)
    exact = expected_return_gradient(theta, r_bar)
    np.testing.assert_allclose(estimate, terms.mean(axis=0), rtol=1e-12)
    assert np.all(np.abs(estimate - exact) < 4.5 * se), (estimate, exact, se)
    assert np.all(se < 0.2 * np.abs(exact))  # the check resolves the gradient


def test_a_baseline_lowers_the_variance_and_training_finds_the_best_arm():
    rng = np.random.default_rng(7)
    theta, r_bar, T = np.zeros(3), np.array([2.0, 2.5, 1.5]), 20_000
    actions = rng.choice(3, size=T, p=softmax_policy(theta))
    rewards = r_bar[actions] + 0.5 * rng.standard_normal(T)
    score = np.eye(3)[actions] - softmax_policy(theta)
    plain, centred = rewards[:, None] * score, (rewards - rewards.mean())[:, None] * score
    assert np.all(centred.var(axis=0) < 0.2 * plain.var(axis=0))
    _, curve = reinforce_bandit(r_bar, steps=300, lr=0.5, seed=8)
    assert curve[0] < 2.2 and curve[-1] > 2.45  # from about the mean arm to the best


def test_bad_inputs():
    with pytest.raises(ValueError, match="episodes must be a positive integer"):
        q_learning(GridWorld(MAZE), episodes=0)
    with pytest.raises(ValueError, match=r"epsilon must lie in \[0.0, 1.0\]"):
        q_learning(GridWorld(MAZE), episodes=1, epsilon=2)
    with pytest.raises(ValueError, match=r"Q must have shape \(27, 4\)"):
        q_learning(GridWorld(MAZE), episodes=1, Q=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"actions must lie in \[0, 2\)"):
        reinforce_gradient(np.zeros(2), np.array([0, 2]), np.ones(2))
    with pytest.raises(ValueError, match="integers of the shape of rewards"):
        reinforce_gradient(np.zeros(2), np.array([0.0, 1.0]), np.ones(2))
    with pytest.raises(ValueError, match="3 arms but theta has 2"):
        expected_return_gradient(np.zeros(2), np.ones(3))

"""Grid world and planning: the model's transitions, the Bellman equations to 1e-10, a worked
grid from the literature, greedy policies that reach the goal, and bad inputs."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from dlcourse.rl import (
    GridWorld,
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    q_values,
    value_iteration,
)

# Russell & Norvig's 4x3 world: wall in the middle, goal top right, pit below it
AIMA = ["...G", ".#.P", "S..."]
MAZE = ["S..#....", ".#.#.##.", ".#...#P.", ".####.#.", "......#G"]


def test_transitions_slip_to_the_sides_and_walls_stop_moves():
    world = GridWorld(AIMA, slip=0.2)
    np.testing.assert_allclose(world.P.sum(axis=2), 1.0, rtol=0, atol=1e-15)
    s = world.index[(2, 0)]  # the start, bottom left
    right, up = world.P[s, 1], world.P[s, 0]
    assert right[world.index[(2, 1)]] == pytest.approx(0.8)
    assert right[world.index[(1, 0)]] == pytest.approx(0.1)
    assert right[s] == pytest.approx(0.1)  # slipping down hits the border
    assert up[world.index[(1, 0)]] == pytest.approx(0.8)
    assert up[s] == pytest.approx(0.1) and up[world.index[(2, 1)]] == pytest.approx(0.1)
    above_wall = world.index[(0, 1)]
    assert world.P[above_wall, 2, above_wall] == pytest.approx(0.8)  # down into the wall
    goal = world.index[(0, 3)]
    assert (
        world.terminal[goal] and np.all(world.P[goal, :, goal] == 1) and np.all(world.R[goal] == 0)
    )
    # expected reward of moving up from below the goal's neighbour: 0.8 enters (0, 2)
    assert world.R[world.index[(1, 2)], 1] == pytest.approx(0.8 * -1 + 0.1 * -0.04 + 0.1 * -0.04)


def test_sampled_steps_follow_the_model():
    world, rng = GridWorld(AIMA, slip=0.3), np.random.default_rng(0)
    s, a, n = world.index[(1, 2)], 0, 20_000
    counts = np.bincount([world.step(s, a, rng)[0] for _ in range(n)], minlength=world.n_states)
    p = world.P[s, a]
    assert np.all(np.abs(counts / n - p) <= 4.5 * np.sqrt(p * (1 - p) / n) + 1e-12)
    assert world.step(world.index[(0, 3)], 2, rng) == (world.index[(0, 3)], 0.0, True)


def test_value_iteration_reproduces_the_aima_utilities():
    """Step cost 0.04, slip 0.2, gamma = 1: AIMA's utilities U are V + 0.04 (V counts the
    reward of entering a cell, U that of being in it), printed there to 3 decimals."""
    world = GridWorld(AIMA, slip=0.2)
    V, policy, _ = value_iteration(world, gamma=1.0)
    aima = {(0, 0): 0.812, (0, 1): 0.868, (0, 2): 0.918, (1, 0): 0.762, (1, 2): 0.660,
            (2, 0): 0.705, (2, 1): 0.655, (2, 2): 0.611, (2, 3): 0.388}  # fmt: skip
    for cell, u in aima.items():
        assert V[world.index[cell]] - 0.04 == pytest.approx(u, abs=6e-4), cell
    # AIMA's optimal policy (its Figure 17.2): up the left column; (1, 2) risks the pit by
    # going up, and (2, 3) goes the long way round
    assert world.render(policy).splitlines() == ["→→→G", "↑#↑P", "↑←←←"]


@pytest.mark.parametrize("slip", [0.0, 0.2])
def test_value_iteration_satisfies_the_bellman_optimality_equation(slip):
    world = GridWorld(MAZE, slip=slip, step_reward=-0.1)
    V, policy, n = value_iteration(world, gamma=0.95, tol=1e-12)
    Q = q_values(world, V, 0.95)
    assert np.max(np.abs(Q.max(axis=1) - V)) < 1e-10
    assert n > 10  # it did iterate
    # the greedy policy's own value is V* (evaluated exactly by a linear solve)
    np.testing.assert_allclose(policy_evaluation(world, policy, 0.95), V, rtol=0, atol=1e-9)
    V_pi, policy_pi, _ = policy_iteration(world, 0.95)
    np.testing.assert_allclose(V_pi, V, rtol=0, atol=1e-9)


def _shortest_path(world):
    """Breadth-first search from the start to a goal cell over the free cells."""
    goal = {s for s, cell in enumerate(world.cells) if world.layout[cell[0]][cell[1]] == "G"}
    dist, queue = {world.start: 0}, deque([world.start])
    while queue:
        s = queue.popleft()
        for a in range(4):
            t = int(np.argmax(world.P[s, a]))
            if t not in dist and not (world.terminal[t] and t not in goal):
                dist[t] = dist[s] + 1
                queue.append(t)
    return min(dist[g] for g in goal)


def test_greedy_policy_walks_the_shortest_path_to_the_goal():
    world = GridWorld(MAZE, slip=0.0, step_reward=-0.1)
    _, policy, _ = value_iteration(world, gamma=0.95)
    s, steps, rng = world.reset(), 0, np.random.default_rng(1)
    while not world.terminal[s] and steps < world.n_states:
        s, reward, done = world.step(s, int(policy[s]), rng)
        steps += 1
    assert world.layout[world.cells[s][0]][world.cells[s][1]] == "G" and reward == 1.0
    assert steps == _shortest_path(world)


def test_greedy_policy_on_a_slippery_grid_reaches_the_goal_as_often_as_predicted():
    world = GridWorld(AIMA, slip=0.2)
    _, policy, _ = value_iteration(world, gamma=1.0)
    # probability of ending in the goal: the value of the policy when only the goal pays 1
    payoff = GridWorld(AIMA, slip=0.2, step_reward=0.0, pit_reward=0.0)
    p_goal = policy_evaluation(payoff, policy, 1.0)[world.start]
    assert 0.9 < p_goal < 1.0
    rng, n, goals = np.random.default_rng(2), 2000, 0
    for _ in range(n):
        s, done, reward = world.reset(), False, 0.0
        while not done:
            s, reward, done = world.step(s, int(policy[s]), rng)
        goals += reward == 1.0
    assert abs(goals / n - p_goal) < 4.5 * np.sqrt(p_goal * (1 - p_goal) / n)


def test_policy_evaluation_of_a_random_policy_equals_iterated_backups():
    world, gamma = GridWorld(MAZE, slip=0.1), 0.9
    uniform = np.full((world.n_states, 4), 0.25)
    V = policy_evaluation(world, uniform, gamma)
    W = np.zeros(world.n_states)
    for _ in range(400):
        W = (uniform * q_values(world, W, gamma)).sum(axis=1)
    np.testing.assert_allclose(V, W, rtol=0, atol=1e-12)
    assert V[world.start] < 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="equal length"):
        GridWorld(["S..", "G."])
    with pytest.raises(ValueError, match="characters"):
        GridWorld(["S.xG"])
    with pytest.raises(ValueError, match="one start"):
        GridWorld(["...G"])
    with pytest.raises(TypeError, match="list of strings"):
        GridWorld("S..G")
    with pytest.raises(ValueError, match=r"slip must lie in \[0.0, 1.0\]"):
        GridWorld(AIMA, slip=1.5)
    world = GridWorld(AIMA)
    with pytest.raises(ValueError, match=r"gamma must lie in \[0.0, 1.0\]"):
        value_iteration(world, gamma=1.1)
    with pytest.raises(ValueError, match=r"action must be an integer in \[0, 4\)"):
        world.step(0, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"policy actions must lie in \[0, 4\)"):
        policy_evaluation(world, np.full(world.n_states, 7), 0.9)
    with pytest.raises(ValueError, match="singular"):
        policy_evaluation(world, np.zeros(world.n_states, dtype=int), 1.0)  # "up" forever
    with pytest.raises(RuntimeError, match="did not converge"):
        value_iteration(world, 0.99, max_iter=3)
    with pytest.raises(ValueError, match=r"P of shape \(S, A, S\)"):
        q_values(object(), np.zeros(3), 0.9)
    with pytest.raises(ValueError, match=r"Q must have shape \(S, A\)"):
        greedy_policy(np.zeros(3))

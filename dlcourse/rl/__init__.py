"""Reinforcement learning beyond the bandit, in small tabular pieces.

- :mod:`~dlcourse.rl.gridworld`: ``GridWorld``, a grid MDP with walls, goal, pits and slip;
- :mod:`~dlcourse.rl.planning`: Bellman backups, value iteration, policy evaluation and
  policy iteration for a known model;
- :mod:`~dlcourse.rl.qlearning`: tabular Q-learning with ε-greedy exploration;
- :mod:`~dlcourse.rl.policy_gradient`: the REINFORCE estimator on a K-armed bandit.
"""

from dlcourse.rl.gridworld import ACTIONS, GridWorld
from dlcourse.rl.planning import (
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    q_values,
    value_iteration,
)
from dlcourse.rl.policy_gradient import (
    expected_return_gradient,
    reinforce_bandit,
    reinforce_gradient,
    softmax_policy,
)
from dlcourse.rl.qlearning import epsilon_greedy, q_learning

__all__ = [
    "ACTIONS",
    "GridWorld",
    "q_values",
    "greedy_policy",
    "value_iteration",
    "policy_evaluation",
    "policy_iteration",
    "epsilon_greedy",
    "q_learning",
    "softmax_policy",
    "expected_return_gradient",
    "reinforce_gradient",
    "reinforce_bandit",
]

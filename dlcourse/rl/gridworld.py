"""A grid world as a Markov decision process (MDP): walls, a goal, pits, slippery moves.

The layout is a list of equal-length strings, one character per cell::

    "...G"      .  free cell           #  wall (never entered)
    ".#.P"      S  start (free)        G  goal (terminal, reward goal_reward on entering)
    "S..."                             P  pit  (terminal, reward pit_reward on entering)

States are the non-wall cells, numbered row by row; actions are 0 up, 1 right, 2 down,
3 left. A move goes the intended way with probability 1 − slip and to each of the two
perpendicular directions with probability slip/2; a move into a wall or off the grid
leaves the agent where it is. Entering a cell pays ``goal_reward`` (G), ``pit_reward`` (P)
or ``step_reward`` (any other cell, staying put included). Goal and pits are absorbing:
from them every action stays, with reward 0, so the return of an episode ends there.

The model, as planning uses it (``eq-mdp``):

    P[s, a, s'] = p(s' | s, a)          (n_states, n_actions, n_states), rows sum to 1
    R[s, a]     = Σ_s' P[s, a, s'] r(s, s')   expected reward of taking a in s
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_interval

__all__ = ["ACTIONS", "GridWorld"]

ACTIONS = ("up", "right", "down", "left")
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
_ARROWS = "↑→↓←"
_CELLS = set(".#SGP")


class GridWorld:
    """A grid-world MDP (see the module docstring). ``P``, ``R``, ``terminal`` are arrays;
    ``step(state, action, rng)`` samples one transition."""

    def __init__(self, layout, slip=0.0, step_reward=-0.04, goal_reward=1.0, pit_reward=-1.0):
        if isinstance(layout, str) or not all(isinstance(row, str) for row in layout):
            raise TypeError(f"layout must be a list of strings; got {layout!r}")
        layout = list(layout)
        widths = {len(row) for row in layout}
        if not layout or len(widths) != 1 or 0 in widths:
            raise ValueError(f"layout rows must be non-empty and of equal length; got {layout!r}")
        bad = set("".join(layout)) - _CELLS
        if bad:
            raise ValueError(f"layout may use only the characters '.#SGP'; got {sorted(bad)}")
        text = "".join(layout)
        if text.count("S") != 1 or "G" not in text:
            raise ValueError("layout needs exactly one start 'S' and at least one goal 'G'")
        self.layout, self.slip = layout, check_interval("slip", slip, 0.0, 1.0)
        self.rewards = {"step": check_interval("step_reward", step_reward, -np.inf),
                        "goal": check_interval("goal_reward", goal_reward, -np.inf),
                        "pit": check_interval("pit_reward", pit_reward, -np.inf)}  # fmt: skip
        self.cells = [(r, c) for r, row in enumerate(layout) for c, ch in enumerate(row)
                      if ch != "#"]  # fmt: skip
        self.index = {cell: s for s, cell in enumerate(self.cells)}
        kinds = [layout[r][c] for r, c in self.cells]
        self.start = kinds.index("S")
        self.terminal = np.array([k in "GP" for k in kinds])
        self.n_states, self.n_actions = len(self.cells), len(ACTIONS)
        entering = {"G": self.rewards["goal"], "P": self.rewards["pit"]}
        self.entry_reward = np.array([entering.get(k, self.rewards["step"]) for k in kinds])
        self.P = np.zeros((self.n_states, self.n_actions, self.n_states))
        for s in range(self.n_states):
            for a in range(self.n_actions):
                if self.terminal[s]:
                    self.P[s, a, s] = 1.0
                    continue
                for direction, p in ((a, 1 - self.slip), ((a + 1) % 4, self.slip / 2),
                                     ((a + 3) % 4, self.slip / 2)):  # fmt: skip
                    self.P[s, a, self._neighbour(s, direction)] += p
        reward = np.where(self.terminal[:, None], 0.0, self.entry_reward[None, :])  # r(s, s')
        self.R = np.einsum("sat,st->sa", self.P, reward)

    def _neighbour(self, s: int, direction: int) -> int:
        (r, c), (dr, dc) = self.cells[s], _MOVES[direction]
        return self.index.get((r + dr, c + dc), s)  # walls and the border are not in index

    def reset(self) -> int:
        """The start state."""
        return self.start

    def step(self, state: int, action: int, rng: np.random.Generator) -> tuple[int, float, bool]:
        """Sample s' ~ P[state, action]; return (s', reward, whether s' is terminal)."""
        if not (isinstance(state, (int, np.integer)) and 0 <= state < self.n_states):
            raise ValueError(f"state must be an integer in [0, {self.n_states}); got {state!r}")
        if not (isinstance(action, (int, np.integer)) and 0 <= action < self.n_actions):
            raise ValueError(f"action must be an integer in [0, {self.n_actions}); got {action!r}")
        if self.terminal[state]:
            return int(state), 0.0, True
        following = int(rng.choice(self.n_states, p=self.P[state, action]))
        return following, float(self.entry_reward[following]), bool(self.terminal[following])

    def render(self, policy=None) -> str:
        """The layout as text, with an arrow for ``policy[s]`` (n_states,) on non-terminal cells."""
        rows = [list(row) for row in self.layout]
        if policy is not None:
            policy = np.asarray(policy)
            if policy.shape != (self.n_states,):
                raise ValueError(f"policy must have shape ({self.n_states},); got {policy.shape}")
            for s, (r, c) in enumerate(self.cells):
                if not self.terminal[s]:
                    rows[r][c] = _ARROWS[int(policy[s])]
        return "\n".join("".join(row) for row in rows)

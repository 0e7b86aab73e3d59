"""Hyperparameter search: an exhaustive grid and random sampling, seeded, results as a table.

A *space* maps each hyperparameter name to where its values come from:

- a list or tuple of values (a grid axis; random search picks one uniformly),
- :class:`Uniform` ``(low, high)``, :class:`LogUniform` ``(low, high)`` (uniform in
  ``log x``, the right prior for a learning rate or an L2 strength, whose useful values
  span several powers of ten), :class:`IntUniform` ``(low, high)`` (inclusive).

The *objective* is any function ``objective(**params) -> float`` (e.g. train a network and
return its validation accuracy). :func:`grid_search` evaluates every combination,
:func:`random_search` ``n_trials`` samples drawn from ``seed``. Both return a
:class:`SearchResult`: the trials in the order run, ``best``, and ``table()``.

Why random search wins when few hyperparameters matter (Bergstra and Bengio, 2012): a grid of
``n`` values per axis over ``d`` axes costs ``n^d`` runs but tries only ``n`` distinct values
of the one parameter that matters; ``n^d`` random points try ``n^d`` distinct values of it.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlcourse.data.splits import as_rng

__all__ = [
    "IntUniform",
    "LogUniform",
    "SearchResult",
    "Trial",
    "Uniform",
    "grid_points",
    "grid_search",
    "random_search",
    "sample",
]


def _bounds(low, high, name: str, positive: bool = False) -> tuple[float, float]:
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ValueError(f"{name} needs finite low < high; got low={low}, high={high}")
    if positive and low <= 0:
        raise ValueError(f"{name} needs low > 0 (it samples log x); got low={low}")
    return low, high


@dataclass(frozen=True)
class Uniform:
    """Values uniform in ``[low, high)``."""

    low: float
    high: float

    def __post_init__(self):
        _bounds(self.low, self.high, "Uniform")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class LogUniform:
    """Values whose logarithm is uniform: ``x = exp(u)``, ``u ~ U(ln low, ln high)``, so each
    power of ten between ``low`` and ``high`` receives the same share of the samples."""

    low: float
    high: float

    def __post_init__(self):
        _bounds(self.low, self.high, "LogUniform", positive=True)

    def sample(self, rng: np.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class IntUniform:
    """Integers uniform in ``low..high`` (both included)."""

    low: int
    high: int

    def __post_init__(self):
        if int(self.low) != self.low or int(self.high) != self.high or self.low > self.high:
            raise ValueError(
                f"IntUniform needs integers low <= high; got low={self.low}, high={self.high}"
            )

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(int(self.low), int(self.high) + 1))


_DISTRIBUTIONS = (Uniform, LogUniform, IntUniform)


def _check_space(space, grid: bool) -> dict[str, Any]:
    if not isinstance(space, dict) or not space:
        raise TypeError(f"space must be a non-empty dict name -> values; got {space!r}")
    for name, where in space.items():
        if not isinstance(name, str):
            raise TypeError(f"hyperparameter names must be strings; got {name!r}")
        if isinstance(where, (list, tuple)):
            if not where:
                raise ValueError(f"hyperparameter {name!r} has an empty list of values")
        elif grid:
            raise TypeError(
                f"grid_search needs a list of values for {name!r}; got {where!r} "
                "(sample distributions with random_search)"
            )
        elif not isinstance(where, _DISTRIBUTIONS):
            raise TypeError(
                f"hyperparameter {name!r} must be a list of values or Uniform, LogUniform or "
                f"IntUniform; got {type(where).__name__}"
            )
    return space


def sample(space: dict[str, Any], rng) -> dict[str, Any]:
    """One point of ``space``: each distribution sampled, each list choice uniform; the
    names are drawn in the order of ``space`` from ``rng`` (a seed or a Generator)."""
    rng = as_rng(rng)
    _check_space(space, grid=False)
    point = {}
    for name, where in space.items():
        if isinstance(where, (list, tuple)):
            point[name] = where[int(rng.integers(len(where)))]
        else:
            point[name] = where.sample(rng)
    return point


@dataclass
class Trial:
    """One evaluation: its number (from 0), the hyperparameters, the score and its seconds."""

    number: int
    params: dict[str, Any]
    score: float
    seconds: float


@dataclass
class SearchResult:
    """The trials of a search, in the order they ran. ``maximize`` says which way is better."""

    trials: list[Trial] = field(default_factory=list)
    maximize: bool = True

    @property
    def best(self) -> Trial:
        """The trial with the best score (the first one on ties; NaN scores never win)."""
        finite = [t for t in self.trials if not math.isnan(t.score)]
        if not finite:
            raise ValueError("no trial has a score yet")
        key = (lambda t: -t.score) if self.maximize else (lambda t: t.score)
        return min(finite, key=key)

    def records(self) -> list[dict[str, Any]]:
        """One dict per trial (``number``, each hyperparameter, ``score``, ``seconds``), e.g.
        for ``pandas.DataFrame(result.records())``."""
        return [{"number": t.number, **t.params, "score": t.score, "seconds": t.seconds}
                for t in self.trials]  # fmt: skip

    def table(self, sort: bool = True, top: int | None = None, digits: int = 4) -> str:
        """The trials as a text table, best first when ``sort``; ``top`` keeps that many
        rows; numbers are shown to ``digits`` significant digits."""
        trials = list(self.trials)
        if sort:
            sign = -1 if self.maximize else 1
            trials.sort(key=lambda t: (math.isnan(t.score), sign * t.score, t.number))
        trials = trials[:top] if top is not None else trials
        names = list(self.trials[0].params) if self.trials else []
        header = ["trial", *names, "score", "seconds"]

        def cell(value) -> str:
            if isinstance(value, float):
                return f"{value:.{digits}g}"
            return str(value)

        rows = [[str(t.number), *(cell(t.params[n]) for n in names), cell(t.score),
                 f"{t.seconds:.1f}"] for t in trials]  # fmt: skip
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [header, *rows])

    def __repr__(self) -> str:
        best = f", best score {self.best.score:.4g}" if self.trials else ""
        return f"SearchResult({len(self.trials)} trials{best})"


def _run(objective: Callable[..., float], points, maximize: bool) -> SearchResult:
    if not callable(objective):
        raise TypeError(f"objective must be callable as objective(**params); got {objective!r}")
    result = SearchResult(maximize=bool(maximize))
    for number, params in enumerate(points):
        start = time.perf_counter()
        score = objective(**params)
        try:
            score = float(score)
        except (TypeError, ValueError):
            raise TypeError(
                f"objective must return a number; trial {number} returned {type(score).__name__}"
            ) from None
        result.trials.append(Trial(number, dict(params), score, time.perf_counter() - start))
    return result


def grid_points(space: dict[str, list]) -> list[dict[str, Any]]:
    """Every combination of the listed values, the last name varying fastest."""
    _check_space(space, grid=True)
    names = list(space)
    return [dict(zip(names, values)) for values in itertools.product(*space.values())]


def grid_search(objective, space: dict[str, list], maximize: bool = True) -> SearchResult:
    """Evaluate ``objective(**params)`` at every point of the grid ``space`` (lists only);
    ``prod(len(values))`` trials."""
    return _run(objective, grid_points(space), maximize)


def random_search(objective, space: dict[str, Any], n_trials: int, seed=0,
                  maximize: bool = True) -> SearchResult:  # fmt: skip
    """Evaluate ``objective`` at ``n_trials`` points sampled from ``space`` (see
    :func:`sample`) by ``default_rng(seed)``: the same seed gives the same points."""
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer; got {n_trials!r}")
    _check_space(space, grid=False)
    rng = as_rng(seed)
    return _run(objective, (sample(space, rng) for _ in range(int(n_trials))), maximize)

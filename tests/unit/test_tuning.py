"""Tests of dlcourse.tuning: grid and random search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.tuning import (
    IntUniform,
    LogUniform,
    SearchResult,
    Trial,
    Uniform,
    grid_points,
    grid_search,
    random_search,
    sample,
)


def test_grid_visits_every_combination_last_name_fastest():
    seen = []
    result = grid_search(lambda lr, width: seen.append((lr, width)) or lr * width,
                         {"lr": [0.1, 1.0], "width": [10, 20, 30]})  # fmt: skip
    assert seen == [(0.1, 10), (0.1, 20), (0.1, 30), (1.0, 10), (1.0, 20), (1.0, 30)]
    assert len(result.trials) == 6
    assert result.best.params == {"lr": 1.0, "width": 30}
    assert [t.number for t in result.trials] == list(range(6))
    assert grid_points({"a": [1], "b": (2, 3)}) == [{"a": 1, "b": 2}, {"a": 1, "b": 3}]


def test_minimize_picks_the_smallest_and_nan_never_wins():
    result = grid_search(lambda x: math.nan if x == 0 else (x - 2) ** 2, {"x": [0, 1, 2, 3]},
                         maximize=False)  # fmt: skip
    assert result.best.params == {"x": 2}


def test_random_search_is_seeded_and_samples_in_range():
    space = {"lr": LogUniform(1e-4, 1.0), "l2": Uniform(0.0, 5.0), "width": IntUniform(8, 64),
             "act": ["relu", "tanh"]}  # fmt: skip
    a = random_search(lambda **p: p["lr"], space, n_trials=30, seed=7)
    b = random_search(lambda **p: p["lr"], space, n_trials=30, seed=7)
    c = random_search(lambda **p: p["lr"], space, n_trials=30, seed=8)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.params for t in a.trials] != [t.params for t in c.trials]
    for t in a.trials:
        assert 1e-4 <= t.params["lr"] <= 1.0 and 0.0 <= t.params["l2"] < 5.0
        assert 8 <= t.params["width"] <= 64 and isinstance(t.params["width"], int)
        assert t.params["act"] in ("relu", "tanh")
    assert a.best.score == max(t.params["lr"] for t in a.trials)


def test_log_uniform_gives_each_decade_the_same_share():
    rng = np.random.default_rng(0)
    x = np.array([LogUniform(1e-5, 1e-1).sample(rng) for _ in range(20_000)])
    counts = np.histogram(np.log10(x), bins=[-5, -4, -3, -2, -1])[0]
    np.testing.assert_allclose(counts / x.size, 0.25, atol=0.015)
    # a plain uniform puts ~90 % of its samples in the top decade
    u = np.array([Uniform(1e-5, 1e-1).sample(rng) for _ in range(2000)])
    assert np.mean(u > 1e-2) > 0.85


def test_sample_accepts_a_seed():
    space = {"lr": LogUniform(1e-3, 1.0)}
    assert sample(space, 3) == sample(space, 3)


def test_table_sorted_best_first_and_records():
    result = SearchResult([Trial(0, {"lr": 0.1}, 0.5, 1.0), Trial(1, {"lr": 0.01}, 0.9, 2.0)])
    lines = result.table().splitlines()
    assert lines[0].split() == ["trial", "lr", "score", "seconds"]
    assert lines[1].split() == ["1", "0.01", "0.9", "2.0"]
    assert result.table(sort=False).splitlines()[1].split()[0] == "0"
    assert len(result.table(top=1).splitlines()) == 2
    assert result.records()[1] == {"number": 1, "lr": 0.01, "score": 0.9, "seconds": 2.0}
    assert "2 trials, best score 0.9" in repr(result)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: grid_search(lambda x: x, {"x": LogUniform(1, 2)}), TypeError, "list of values"),
        (lambda: grid_search(lambda x: x, {"x": []}), ValueError, "empty list"),
        (lambda: grid_search(lambda x: x, {}), TypeError, "non-empty dict"),
        (lambda: random_search(lambda x: x, {"x": 3}, 2), TypeError, "got int"),
        (lambda: random_search(lambda x: x, {"x": [1]}, 0), ValueError, "n_trials"),
        (lambda: grid_search(lambda x: "good", {"x": [1]}), TypeError, "returned str"),
        (lambda: grid_search(3, {"x": [1]}), TypeError, "callable"),
        (lambda: LogUniform(0.0, 1.0), ValueError, "low > 0"),
        (lambda: Uniform(2.0, 1.0), ValueError, "low < high"),
        (lambda: IntUniform(1.5, 3), ValueError, "integers"),
        (lambda: SearchResult().best, ValueError, "no trial"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()

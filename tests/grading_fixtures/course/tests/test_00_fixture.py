"""Grading tests of the fixture exercise 00 (used by the grader's own tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlcourse.grading.testing import InPlace

EXERCISE = "00_fixture"
SOLUTIONS_DIR = Path(__file__).resolve().parents[1] / "solutions"


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


@pytest.mark.points(1)
def test_add_numbers(student):
    assert student.add(2, 3) == 5, "add(2, 3) should be 5: return a + b"


@pytest.mark.points(2)
def test_sigmoid_values(student):
    z = np.array([-1.0, 0.0, 2.0])
    got = student.sigmoid(z)
    assert np.shape(got) == z.shape, "sigmoid must return an array of the same shape as z"
    assert np.allclose(got, _sigmoid(z)), "sigmoid(z) should be 1 / (1 + exp(-z))"


@pytest.mark.points(1)
def test_scale_in_place(student):
    x = np.arange(3.0)
    assert student.scale_(InPlace(x), 2.0) is None, "scale_ updates x in place and returns None"
    assert np.allclose(x, [0.0, 2.0, 4.0]), "scale_ must multiply x by c in place"


@pytest.mark.points(1)
def test_counter_object(student):
    counter = student.Counter(5)
    assert counter.increment() == 6, "increment() should add one and return the new count"
    assert counter.count == 6, "increment() should store the new count in self.count"


@pytest.mark.points(2)
@pytest.mark.hidden
def test_sigmoid_random_shapes(student):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(rng.integers(2, 6), rng.integers(2, 6))) * 10
    assert np.allclose(student.sigmoid(z), _sigmoid(z)), "sigmoid is wrong on a 2-D input"


# a visible test after the hidden one: no state of the hidden test may reach it
@pytest.mark.points(1)
def test_apply_twice_calls_back(student):
    assert student.apply_twice(lambda v: 3 * v, 2) == 18, "apply_twice(f, x) is f(f(x))"

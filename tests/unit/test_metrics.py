"""Tests of dlcourse.metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.metrics import accuracy, confusion_matrix, per_class_accuracy

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def labels(seed, m=200, k=4):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, m)
    y_pred = np.where(rng.uniform(size=m) < 0.7, y_true, rng.integers(0, k, m))
    return y_true, y_pred


@pytest.mark.parametrize("seed", range(3))
def test_against_sklearn(seed):
    y_true, y_pred = labels(seed)
    assert accuracy(y_true, y_pred) == pytest.approx(sklearn_metrics.accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, 4),
        sklearn_metrics.confusion_matrix(y_true, y_pred, labels=range(4)),
    )
    np.testing.assert_allclose(
        per_class_accuracy(y_true, y_pred, 4),
        sklearn_metrics.recall_score(y_true, y_pred, average=None, labels=range(4)),
    )


def test_small_worked_example():
    y_true, y_pred = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]
    assert accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred), [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    )
    np.testing.assert_allclose(per_class_accuracy(y_true, y_pred, 4), [0.5, 1, 2 / 3, np.nan])


def test_one_hot_and_score_rows_are_argmaxed():
    y = np.array([2, 0, 1])
    scores = np.array([[0.1, 0.2, 0.7], [0.9, 0.0, 0.1], [0.3, 0.3, 0.4]])
    assert accuracy(np.eye(3)[y], scores) == pytest.approx(2 / 3)


def test_errors():
    with pytest.raises(ValueError, match="same number"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match=r"expected 0\.\.1"):
        confusion_matrix([0, 2], [0, 1], k=2)
    with pytest.raises(TypeError, match="integer"):  # one rule for labels: floats refused
        accuracy([0.5, 1.0], [0, 1])
    with pytest.raises(TypeError, match="integer"):
        accuracy([0.0, 1.0], [0, 1])
    assert accuracy([], []) == 0.0

"""Tests of dlcourse.metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    f1_score,
    per_class_accuracy,
    precision,
    precision_recall_f1,
    recall,
)

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


# --------------------------------------------------------------- precision, recall, F1


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("average", [None, "macro", "micro", "weighted"])
def test_precision_recall_f1_against_sklearn(seed, average):
    y_true, y_pred = labels(seed, m=150, k=5)
    if seed == 3:  # a class never predicted and one never present: the 0/0 cases
        y_pred = np.where(y_pred == 4, 0, y_pred)
        y_true = np.where(y_true == 3, 1, y_true)
    kw = {"average": average, "labels": range(5), "zero_division": 0}
    ours = precision_recall_f1(y_true, y_pred, 5, average)
    np.testing.assert_allclose(ours[0], sklearn_metrics.precision_score(y_true, y_pred, **kw))
    np.testing.assert_allclose(ours[1], sklearn_metrics.recall_score(y_true, y_pred, **kw))
    np.testing.assert_allclose(ours[2], sklearn_metrics.f1_score(y_true, y_pred, **kw))
    np.testing.assert_allclose(precision(y_true, y_pred, 5, average), ours[0])
    np.testing.assert_allclose(recall(y_true, y_pred, 5, average), ours[1])
    np.testing.assert_allclose(f1_score(y_true, y_pred, 5, average), ours[2])
    np.testing.assert_array_equal(ours[3], np.bincount(y_true, minlength=5))


def test_precision_recall_worked_example():
    # class 0: TP 1, FP 1 (a 2 predicted 0), FN 1 -> P = R = F1 = 1/2
    # class 1: TP 1, FP 1, FN 0 -> P = 1/2, R = 1, F1 = 2/3
    # class 2: TP 2, FP 0, FN 1 -> P = 1, R = 2/3, F1 = 4/5
    y_true, y_pred = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]
    p, r, f, support = precision_recall_f1(y_true, y_pred)
    np.testing.assert_allclose(p, [1 / 2, 1 / 2, 1])
    np.testing.assert_allclose(r, [1 / 2, 1, 2 / 3])
    np.testing.assert_allclose(f, [1 / 2, 2 / 3, 4 / 5])
    np.testing.assert_array_equal(support, [2, 1, 3])
    assert f1_score(y_true, y_pred, average="micro") == pytest.approx(4 / 6)


def test_classification_report_rows():
    y_true, y_pred = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]
    text = classification_report(y_true, y_pred, classes=["cat", "dog", "eel"])
    lines = text.splitlines()
    assert lines[2].split() == ["dog", "0.500", "1.000", "0.667", "1"]
    assert lines[4].split() == ["accuracy", "0.667", "6"]
    with pytest.raises(ValueError, match="name 3 classes; got 2"):
        classification_report(y_true, y_pred, classes=["cat", "dog"])


def test_bad_average():
    with pytest.raises(ValueError, match="average must be None, 'macro'"):
        precision_recall_f1([0, 1], [0, 1], average="binary")

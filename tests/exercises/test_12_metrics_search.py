"""Grading tests for exercise 12: confusion matrix, precision/recall/F1, a random search.

Oracles: scikit-learn's metrics (hidden tests, random labels) and ``dlcourse.metrics`` where
scikit-learn is absent; the sampling rule and the stand-in objective re-written here.
Points: 6 public + 6 hidden = 12.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import metrics
from dlcourse.grading.testing import arrays, call

EXERCISE = "12_metrics_search"


def _reference_prf(y_true, y_pred, k):
    try:
        from sklearn.metrics import precision_recall_fscore_support
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        p, r, f, _ = metrics.precision_recall_f1(y_true, y_pred, k)
        return p, r, f
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=range(k), zero_division=0)
    return p, r, f


def _objective(lr, l2):
    return 0.9 - 0.04 * (np.log10(lr) + 2.5) ** 2 - 0.002 * np.log10(l2) ** 2


def _search(n, seed, lr_range, l2_range):
    rng = np.random.default_rng(seed)
    lrs = np.exp(rng.uniform(np.log(lr_range[0]), np.log(lr_range[1]), size=n))
    l2s = np.exp(rng.uniform(np.log(l2_range[0]), np.log(l2_range[1]), size=n))
    trials = np.column_stack([lrs, l2s])
    scores = _objective(lrs, l2s)
    return trials, scores, trials[np.argmax(scores)]


def _labels(seed, m, k, p_right=0.6):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, m)
    y_pred = np.where(rng.random(m) < p_right, y_true, rng.integers(0, k, m))
    return y_true, y_pred


def check_confusion(student, y_true, y_pred, k, public=True):
    got = np.asarray(call(student, "confusion_matrix", y_true.copy(), y_pred.copy(), k,
                          public=public))  # fmt: skip
    expected = metrics.confusion_matrix(y_true, y_pred, k)
    assert got.shape == (k, k), f"the confusion matrix must have shape (k, k) = ({k}, {k})"
    if not np.array_equal(expected, expected.T) and np.array_equal(got, expected.T):
        pytest.fail("the confusion matrix is transposed: rows are the true class, columns "
                    "the prediction")  # fmt: skip
    assert np.array_equal(got, expected), (
        "confusion_matrix is wrong: C[i, j] counts examples of true class i predicted as j"
    )


def check_prf(student, y_true, y_pred, k, public=True, case="the labels"):
    result = call(student, "precision_recall_f1", y_true.copy(), y_pred.copy(), k,
                  public=public)  # fmt: skip
    p, r, f = arrays(result, 3, "precision_recall_f1")
    ep, er, ef = _reference_prf(y_true, y_pred, k)
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(r)) and np.all(np.isfinite(f))):
        pytest.fail(f"precision_recall_f1 returned nan or inf for {case}: a ratio 0/0 "
                    "(a class never predicted, or with no examples) must give 0")  # fmt: skip
    if not np.allclose(ep, er) and np.allclose(p, er) and np.allclose(r, ep):
        pytest.fail("precision and recall are swapped: precision divides by the column sums "
                    "(how often a class is predicted), recall by the row sums")  # fmt: skip
    assert np.allclose(p, ep), f"the precision is wrong for {case}: TP / (TP + FP) per class"
    assert np.allclose(r, er), f"the recall is wrong for {case}: TP / (TP + FN) per class"
    if np.allclose(f, (ep + er) / 2) and not np.allclose(ef, (ep + er) / 2):
        pytest.fail("F1 is the harmonic mean 2PR / (P + R), not the average (P + R) / 2")
    assert np.allclose(f, ef), f"F1 is wrong for {case}: 2 P R / (P + R), 0 where P + R = 0"


def check_search(student, n, seed, lr_range, l2_range, public=True):
    result = call(student, "random_search", n, seed, lr_range, l2_range, public=public)
    trials, scores, best = arrays(result, 3, "random_search")
    e_trials, e_scores, e_best = _search(n, seed, lr_range, l2_range)
    assert trials.shape == (n, 2), "trials must have shape (n_trials, 2), columns (lr, l2)"
    plain = np.random.default_rng(seed).uniform(lr_range[0], lr_range[1], size=n)
    if np.allclose(trials[:, 0], plain):
        pytest.fail("the learning rates are drawn uniformly: draw u uniformly between the "
                    "logarithms of the bounds and return exp(u)")  # fmt: skip
    if not np.allclose(trials[:, 0], e_trials[:, 0]):
        pytest.fail("the learning rates do not follow the rule: one generator "
                    "np.random.default_rng(seed), all lrs first with rng.uniform(ln low, "
                    "ln high, size=n_trials)")  # fmt: skip
    if not np.allclose(trials[:, 1], e_trials[:, 1]):
        pytest.fail("the L2 strengths do not follow the rule: draw them from the *same* "
                    "generator, after all the learning rates")  # fmt: skip
    assert np.allclose(scores, e_scores), "scores[i] must be validation_accuracy(lr_i, l2_i)"
    if np.allclose(best, trials[np.argmin(scores)]) and not np.allclose(best, e_best):
        pytest.fail("best is the trial with the lowest score: the accuracy must be maximised")
    assert np.allclose(best, e_best), "best must be the row of trials with the highest score"


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_confusion_matrix(student):
    check_confusion(student, np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)


@pytest.mark.points(2)
def test_precision_recall_f1(student):
    check_prf(student, np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 2, 2]), 3,
              case="the worked example")  # fmt: skip


@pytest.mark.points(1)
def test_sample_log_uniform(student):
    got = np.asarray(call(student, "sample_log_uniform", 1e-4, 1e-1, 5, 0), dtype=float)
    expected = np.exp(np.random.default_rng(0).uniform(np.log(1e-4), np.log(1e-1), size=5))
    assert got.shape == (5,), "sample_log_uniform must return an array of shape (n,)"
    if np.allclose(got, np.random.default_rng(0).uniform(1e-4, 1e-1, size=5)):
        pytest.fail("the samples are uniform in [low, high]: draw u uniformly between "
                    "ln low and ln high and return exp(u)")  # fmt: skip
    assert np.allclose(got, expected), (
        "sample_log_uniform does not follow the rule: np.random.default_rng(seed), then "
        "exp(rng.uniform(np.log(low), np.log(high), size=n))"
    )


@pytest.mark.points(2)
def test_random_search(student):
    check_search(student, 8, 0, (1e-5, 1e-1), (1e-2, 1e2))


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_confusion_matrix_random(student):
    for seed in (120, 121):
        y_true, y_pred = _labels(seed, 300, 7)
        check_confusion(student, y_true, y_pred, 7, public=False)
    y_true, y_pred = _labels(122, 40, 6)  # classes 4 and 5 absent
    check_confusion(student, y_true % 4, y_pred % 4, 6, public=False)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_precision_recall_f1_random(student):
    for seed, k in ((123, 4), (124, 10)):
        y_true, y_pred = _labels(seed, 500, k)
        check_prf(student, y_true, y_pred, k, public=False, case="random labels")


@pytest.mark.hidden
@pytest.mark.points(1)
def test_precision_recall_f1_zero_division(student):
    y_true, y_pred = _labels(125, 200, 5)
    y_pred = np.where(y_pred == 3, 0, y_pred)  # class 3 is never predicted
    y_true = np.where(y_true == 4, 1, y_true)  # class 4 has no examples
    check_prf(student, y_true, y_pred, 5, public=False,
              case="classes that are never predicted or have no examples")  # fmt: skip


@pytest.mark.hidden
@pytest.mark.points(1)
def test_sample_log_uniform_random(student):
    rng = np.random.default_rng(126)
    low = float(10 ** rng.uniform(-6, -3))
    high, seed = low * 1e4, int(rng.integers(0, 10_000))
    got = np.asarray(call(student, "sample_log_uniform", low, high, 40_000, seed, public=False))
    assert got.shape == (40_000,), "sample_log_uniform must return an array of shape (n,)"
    shares = np.histogram(np.log10(got / low), bins=[0, 1, 2, 3, 4])[0] / got.size
    assert np.allclose(shares, 0.25, atol=0.02), (
        "every factor of ten between low and high must receive the same share of a large "
        "sample: draw u uniformly between the logarithms of the bounds, return exp(u)"
    )
    expected = np.exp(np.random.default_rng(seed).uniform(np.log(low), np.log(high), 40_000))
    assert np.allclose(got, expected), (
        "sample_log_uniform does not follow the rule for other bounds and seeds"
    )


@pytest.mark.hidden
@pytest.mark.points(2)
def test_random_search_random(student):
    rng = np.random.default_rng(127)
    for _ in range(2):
        n, seed = int(rng.integers(5, 40)), int(rng.integers(0, 10_000))
        check_search(student, n, seed, (1e-6, 1.0), (1e-3, 1e3), public=False)

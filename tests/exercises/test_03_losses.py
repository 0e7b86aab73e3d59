"""Grading tests for exercise 03: losses and their gradients.

Oracles: NumPy formulas written here and central differences. Points: 6 public + 6 hidden = 12.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading.testing import call

EXERCISE = "03_losses"


def scalar(value, name):
    try:
        return float(np.asarray(value, dtype=float).reshape(()))
    except (TypeError, ValueError):
        pytest.fail(f"`{name}` must return one number (a float), not an array")


def _logsumexp(z):
    zmax = z.max(axis=1, keepdims=True)
    return zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))


def _ce(z, labels):
    return float(np.mean(_logsumexp(z) - z[np.arange(len(labels)), labels]))


def _bce(a, y):
    return float(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))


def _numerical_gradient(f, x, h=1e-6):
    """Central differences of ``f(x)`` (``x`` is perturbed in place and restored)."""
    return numerical_gradient(lambda: f(x), x, h)


A = np.array([[0.2, 0.9], [0.6, 0.1], [0.8, 0.4]])
Y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.0, 0.0, 3.0], [1.0, -2.0, 0.5]])
LABELS = np.array([0, 1, 1, 2])


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_mse_value(student):
    value = scalar(call(student, "mse", A.copy(), Y.copy()), "mse")
    expected = float(np.mean((A - Y) ** 2))
    if np.isclose(value, 2 * expected):
        pytest.fail("mse is twice too large: the mean of the squares has no factor 2")
    assert np.isclose(value, expected, rtol=1e-12), (
        "mse is wrong: average the squared differences over ALL entries (N = a.size)"
    )


@pytest.mark.points(1)
def test_mse_grad_value(student):
    g = np.asarray(call(student, "mse_grad", A.copy(), Y.copy()), dtype=float)
    expected = 2 * (A - Y) / A.size
    assert g.shape == A.shape, "mse_grad must have the same shape as the predictions a"
    if np.allclose(g, expected / 2):
        pytest.fail("mse_grad is half the right size: the derivative of a square brings a factor 2")
    assert np.allclose(g, expected, rtol=1e-12), (
        "mse_grad is wrong: 2 (a − y) / N with N = a.size (factor 2 and the 1/N of the mean)"
    )


@pytest.mark.points(1)
def test_bce_value(student):
    value = scalar(call(student, "binary_cross_entropy", A.copy(), Y.copy()), "bce")
    assert np.isclose(value, _bce(A, Y), rtol=1e-10), (
        "binary_cross_entropy is wrong: −mean(y ln a + (1 − y) ln(1 − a)) over all entries"
    )


@pytest.mark.points(1)
def test_bce_grad_value(student):
    g = np.asarray(call(student, "binary_cross_entropy_grad", A.copy(), Y.copy()), dtype=float)
    assert g.shape == A.shape, "binary_cross_entropy_grad must have the shape of a"
    assert np.allclose(g, (A - Y) / (A * (1 - A)) / A.size, rtol=1e-10), (
        "binary_cross_entropy_grad is wrong: (a − y) / (a (1 − a)) / N"
    )


@pytest.mark.points(1)
def test_cross_entropy_value(student):
    value = scalar(call(student, "cross_entropy", Z.copy(), LABELS.copy()), "cross_entropy")
    expected = _ce(Z, LABELS)
    if np.isclose(value, len(LABELS) * expected):
        pytest.fail("cross_entropy sums over the batch: take the mean over the m rows")
    assert np.isclose(value, expected, rtol=1e-10), (
        "cross_entropy is wrong: the mean over the m rows of −z[n, c_n] + logsumexp(z[n])"
    )


@pytest.mark.points(1)
def test_cross_entropy_grad_value(student):
    g = np.asarray(call(student, "cross_entropy_grad", Z.copy(), LABELS.copy()), dtype=float)
    assert g.shape == Z.shape, "cross_entropy_grad must have shape (m, k), like the logits"
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    one_hot = np.eye(Z.shape[1])[LABELS]
    assert np.allclose(g.sum(axis=1), 0.0), (
        "each row of cross_entropy_grad must sum to 0: subtract the one-hot targets from the "
        "softmax probabilities"
    )
    assert np.allclose(g, (p - one_hot) / len(LABELS), rtol=1e-10), (
        "cross_entropy_grad is wrong: (softmax(z) − one-hot) / m"
    )


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_mse_grad_finite_differences(student):
    rng = np.random.default_rng(30)
    shape = tuple(rng.integers(2, 6, size=2))
    a, y = rng.normal(size=shape), rng.normal(size=shape)
    g = np.asarray(call(student, "mse_grad", a.copy(), y.copy(), public=False), dtype=float)
    fd = _numerical_gradient(lambda x: np.mean((x - y) ** 2), a.copy())
    assert g.shape == a.shape, "mse_grad has the wrong shape for a random 2-D input"
    assert np.allclose(g, fd, atol=1e-7), (
        "mse_grad disagrees with finite differences on random inputs (factor 2, 1/N?)"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_bce_saturated_predictions(student):
    a = np.array([0.0, 1.0, 0.3, 1.0, 0.0])
    y = np.array([0.0, 1.0, 1.0, 1.0, 0.0])
    value = scalar(call(student, "binary_cross_entropy", a, y, public=False), "bce")
    assert np.isfinite(value), (
        "binary_cross_entropy gives nan/inf for predictions exactly 0 or 1: clip a to "
        "[eps, 1 − eps] so log(0) never happens"
    )
    assert np.isclose(value, -np.log(0.3) / 5, rtol=1e-6), (
        "binary_cross_entropy is wrong when some predictions are exactly 0 or 1"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_bce_grad_finite_differences(student):
    rng = np.random.default_rng(31)
    shape = (int(rng.integers(2, 7)), int(rng.integers(1, 4)))
    a = rng.uniform(0.05, 0.95, size=shape)
    y = (rng.random(shape) < 0.5).astype(float)
    g = call(student, "binary_cross_entropy_grad", a.copy(), y.copy(), public=False)
    g = np.asarray(g, dtype=float)
    fd = _numerical_gradient(lambda x: _bce(x, y), a.copy())
    assert g.shape == a.shape, "binary_cross_entropy_grad has the wrong shape for a batch"
    assert np.allclose(g, fd, atol=1e-6), (
        "binary_cross_entropy_grad disagrees with finite differences on random inputs"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_cross_entropy_large_logits(student):
    z = np.array([[1000.0, 0.0, -1000.0], [-500.0, 800.0, 799.0]])
    labels = np.array([0, 2])
    value = scalar(call(student, "cross_entropy", z, labels, public=False), "cross_entropy")
    assert np.isfinite(value), (
        "cross_entropy gives nan/inf for large logits: use the log-sum-exp trick "
        "(subtract the row maximum before exponentiating)"
    )
    assert np.isclose(value, _ce(z, labels), rtol=1e-10), "cross_entropy is wrong for large logits"


@pytest.mark.hidden
@pytest.mark.points(1)
def test_cross_entropy_grad_finite_differences(student):
    rng = np.random.default_rng(32)
    m, k = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    z = rng.normal(scale=2.0, size=(m, k))
    labels = rng.integers(0, k, size=m)
    g = np.asarray(call(student, "cross_entropy_grad", z.copy(), labels, public=False), float)
    fd = _numerical_gradient(lambda x: _ce(x, labels), z.copy())
    assert g.shape == z.shape, "cross_entropy_grad has the wrong shape for a random batch"
    assert np.allclose(g, fd, atol=1e-7), (
        "cross_entropy_grad disagrees with finite differences on a random batch: "
        "(softmax − one-hot) / m"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_cross_entropy_batch_mean(student):
    rng = np.random.default_rng(33)
    z = rng.normal(size=(5, 4))
    labels = rng.integers(0, 4, size=5)
    once = scalar(call(student, "cross_entropy", z, labels, public=False), "cross_entropy")
    twice = scalar(
        call(
            student,
            "cross_entropy",
            np.vstack([z, z]),
            np.concatenate([labels, labels]),
            public=False,
        ),
        "cross_entropy",
    )
    assert np.isclose(once, twice), (
        "repeating the batch changes cross_entropy: take the mean over the m rows, not the sum"
    )
    single = scalar(call(student, "cross_entropy", z[:1], labels[:1], public=False), "ce")
    assert np.isclose(single, _ce(z[:1], labels[:1])), "cross_entropy is wrong for one example"

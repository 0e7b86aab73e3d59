"""Grading tests for exercise 02: activation functions and their derivatives.

Oracles are written here with NumPy (closed forms and central differences); nothing is
imported from solutions/. Points: 6 public + 5 hidden = 11.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import call

EXERCISE = "02_activations"


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _central_difference(f, z, h=1e-6):
    return (f(z + h) - f(z - h)) / (2 * h)


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_sigmoid_values(student):
    z = np.array([[-2.0, -1.0, 0.0], [1.0, 2.0, 4.0]])
    s = call(student, "sigmoid", z)
    assert s.shape == z.shape, "sigmoid must return an array of the same shape as z"
    assert np.isclose(s[0, 2], 0.5), "sigmoid(0) must be 0.5"
    assert np.allclose(s, _sigmoid(z), rtol=1e-10, atol=1e-12), (
        "sigmoid values are wrong: σ(z) = 1 / (1 + exp(−z)) (mind the minus sign)"
    )


@pytest.mark.points(1)
def test_sigmoid_prime_values(student):
    z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    d = call(student, "sigmoid_prime", z)
    assert d.shape == z.shape, "sigmoid_prime must return an array of the same shape as z"
    assert np.isclose(d[2], 0.25), (
        "sigmoid_prime(0) must be 0.25: use σ'(z) = σ(z)(1 − σ(z)), not z itself"
    )
    assert np.allclose(d, _sigmoid(z) * (1 - _sigmoid(z)), rtol=1e-10), (
        "sigmoid_prime is wrong: it must be σ(z)(1 − σ(z)), written with σ(z), not with z"
    )


@pytest.mark.points(1)
def test_relu_and_prime(student):
    z = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    r = call(student, "relu", z)
    assert np.allclose(r, [0.0, 0.0, 0.0, 0.5, 3.0]), "relu(z) must be max(0, z) elementwise"
    d = call(student, "relu_prime", z)
    assert np.allclose(d, [0.0, 0.0, 0.0, 1.0, 1.0]), (
        "relu_prime must be the step 1 where z > 0 and 0 where z <= 0 (0 at z = 0), not relu itself"
    )


@pytest.mark.points(1)
def test_tanh_prime_values(student):
    z = np.array([-2.0, -0.3, 0.0, 0.7, 2.5])
    d = call(student, "tanh_prime", z)
    assert d.shape == z.shape, "tanh_prime must return an array of the same shape as z"
    assert np.allclose(d, 1 - np.tanh(z) ** 2, rtol=1e-10), (
        "tanh_prime is wrong: tanh'(z) = 1 − tanh²(z) (the tanh is squared)"
    )


@pytest.mark.points(2)
def test_softmax_rows(student):
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.0, 5.0, 2.0], [3.0, 1.0, 0.5]])
    s = call(student, "softmax", z)
    assert s.shape == z.shape, "softmax of a (m, k) batch must have shape (m, k)"
    assert np.allclose(s.sum(axis=1), 1.0), (
        "each row of softmax must sum to 1: normalise along the last axis (axis=-1), "
        "one example per row"
    )
    assert np.allclose(s, _softmax(z), rtol=1e-10), "softmax values are wrong"
    assert np.allclose(s[0], [0.09003057, 0.24472847, 0.66524096]), (
        "softmax([1, 2, 3]) should be about [0.090, 0.245, 0.665]"
    )


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(1)
def test_sigmoid_extreme(student):
    z = np.array([-1000.0, -50.0, 50.0, 1000.0])
    s = call(student, "sigmoid", z, public=False)
    assert np.all(np.isfinite(s)), "sigmoid returns nan/inf for very large |z|"
    assert np.allclose(s, _sigmoid(z), atol=1e-15), (
        "sigmoid is wrong for very large |z| (it must tend to 0 and 1)"
    )


@pytest.mark.hidden
@pytest.mark.points(2)
def test_primes_finite_differences(student):
    rng = np.random.default_rng(2)
    shape = tuple(rng.integers(2, 6, size=2))
    z = rng.normal(scale=2.0, size=shape)
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the kink of relu
    cases = [
        ("sigmoid_prime", _sigmoid, "σ'(z) = σ(z)(1 − σ(z))"),
        ("tanh_prime", np.tanh, "tanh'(z) = 1 − tanh²(z)"),
        ("relu_prime", lambda x: np.maximum(x, 0.0), "relu_prime must be a 0/1 step"),
    ]
    for name, f, formula in cases:
        d = call(student, name, z.copy(), public=False)
        assert d.shape == z.shape, f"{name} changes the shape of a 2-D input"
        assert np.allclose(d, _central_difference(f, z), atol=1e-7), (
            f"{name} disagrees with a finite-difference derivative on random 2-D inputs: {formula}"
        )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_softmax_large_logits(student):
    for z in (np.array([1000.0, 1001.0, 999.0]), np.array([-800.0, 0.0, 750.0, 750.0])):
        s = call(student, "softmax", z, public=False)
        assert np.all(np.isfinite(s)), (
            "softmax gives nan/inf for large scores: subtract the largest score of each row "
            "before exponentiating"
        )
        assert np.allclose(s, _softmax(z), atol=1e-12), "softmax is wrong for large scores"


@pytest.mark.hidden
@pytest.mark.points(1)
def test_softmax_shapes(student):
    rng = np.random.default_rng(3)
    for m, k in [(1, 4), (7, 3), (2, 9)]:
        z = rng.normal(scale=3.0, size=(m, k))
        s = call(student, "softmax", z.copy(), public=False)
        assert s.shape == z.shape, "softmax changes the shape of a batch"
        assert np.allclose(s, _softmax(z), atol=1e-12), (
            "softmax is wrong on a random batch: normalise each row over the last axis"
        )
    v = rng.normal(size=6)
    assert np.allclose(call(student, "softmax", v, public=False), _softmax(v), atol=1e-12), (
        "softmax is wrong on a single 1-D vector (use axis=-1, not axis=1)"
    )

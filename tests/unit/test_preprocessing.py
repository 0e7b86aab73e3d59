"""Preprocessing: statistics from the training rows only, and the covariances it promises."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.preprocessing import fit_preprocessing


def correlated(n=500, seed=0):
    rng = np.random.default_rng(seed)
    A = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [0.3, -0.2, 0.1]])
    return rng.standard_normal((n, 3)) @ A.T + np.array([1.0, -2.0, 5.0])


def covariance(Z):
    Z = Z - Z.mean(axis=0)
    return Z.T @ Z / len(Z)


def test_centre_and_standardise():
    X = correlated()
    centred = fit_preprocessing(X, "centre").transform(X)
    np.testing.assert_allclose(centred.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(centred, X - X.mean(axis=0), rtol=1e-12)
    standard = fit_preprocessing(X, "standardise", eps=0).transform(X)
    np.testing.assert_allclose(standard.std(axis=0), 1, rtol=1e-12)
    # a constant feature stays finite (zero) thanks to eps
    X[:, 1] = 0.0
    out = fit_preprocessing(X, "standardise", eps=1e-2).transform(X)
    assert np.all(out[:, 1] == 0)


@pytest.mark.parametrize("kind", ["pca_whiten", "zca_whiten"])
def test_whitening_gives_identity_covariance(kind):
    X = correlated()
    assert abs(covariance(X)[0, 1]) > 1  # strongly correlated before
    Z = fit_preprocessing(X, kind, eps=0).transform(X)
    np.testing.assert_allclose(covariance(Z), np.eye(3), atol=1e-10)


def test_zca_is_the_symmetric_whitening_closest_to_the_input():
    X = correlated()
    zca = fit_preprocessing(X, "zca_whiten", eps=0)
    pca = fit_preprocessing(X, "pca_whiten", eps=0)
    np.testing.assert_allclose(zca.matrix, zca.matrix.T, atol=1e-12)  # Σ^{-1/2}
    cov = covariance(X)
    np.testing.assert_allclose(zca.matrix @ cov @ zca.matrix, np.eye(3), atol=1e-10)
    # the two differ by a rotation, and ZCA stays nearer to the (centred) inputs
    centred = X - X.mean(axis=0)
    near_zca = np.mean(np.sum(zca.transform(X) * centred, axis=1))
    near_pca = np.mean(np.sum(pca.transform(X) * centred, axis=1))
    assert near_zca > near_pca


def test_statistics_come_from_the_training_rows_only():
    X = correlated(seed=1)
    other = correlated(n=7, seed=2) + 100.0  # far away: must not change the fit
    prep = fit_preprocessing(X, "standardise")
    np.testing.assert_allclose(prep.transform(other), (other - X.mean(0)) / (X.std(0) + 1e-2))
    assert not np.allclose(prep.transform(other).mean(axis=0), 0)


def test_bad_input():
    X = correlated()
    with pytest.raises(ValueError, match="kind must be one of"):
        fit_preprocessing(X, "normalise")
    with pytest.raises(ValueError, match="eps"):
        fit_preprocessing(X, eps=-1)
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        fit_preprocessing(X[:1])
    with pytest.raises(ValueError, match=r"\(m, 3\)"):
        fit_preprocessing(X).transform(np.ones((2, 4)))
    X[:, 2] = 0.0
    with pytest.raises(ValueError, match="singular"):
        fit_preprocessing(X, "zca_whiten", eps=0)

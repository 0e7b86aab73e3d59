"""Statistical tests of dlcourse.init: each scheme's variance matches its formula."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.init import INITIALIZERS, get_initializer, init_bias, orthogonal
from dlcourse.network import Network

SHAPE = (300, 400)  # (n_out, n_in): 120,000 draws, so a sample variance is good to ~0.5 %
N_OUT, N_IN = SHAPE
EXPECTED_VAR = {
    "uniform": 0.1**2 / 12,
    "normal": 0.01**2,
    "nielsen": 1 / N_IN,
    "large": 1.0,
    "xavier_uniform": 2 / (N_IN + N_OUT),
    "xavier_normal": 2 / (N_IN + N_OUT),
    "he": 2 / N_IN,
    "kaiming": 2 / N_IN,
    "kaiming_normal": 2 / N_IN,
    "he_uniform": 2 / N_IN,
}
BOUNDS = {
    "uniform": 0.05,
    "xavier_uniform": np.sqrt(6 / (N_IN + N_OUT)),
    "he_uniform": np.sqrt(6 / N_IN),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_VAR))
def test_variance_matches_formula(name):
    W = INITIALIZERS[name](SHAPE, np.random.default_rng(0), np.float64)
    assert W.shape == SHAPE and W.dtype == np.float64
    var = EXPECTED_VAR[name]
    assert W.var() == pytest.approx(var, rel=0.03)
    assert abs(W.mean()) < 5 * np.sqrt(var / W.size)
    if name in BOUNDS:
        assert np.abs(W).max() <= BOUNDS[name]
        assert np.abs(W).max() > 0.99 * BOUNDS[name]


def test_constant_and_seeded_reproducibility():
    W = INITIALIZERS["constant"]((3, 4), np.random.default_rng(0), np.float32)
    assert W.dtype == np.float32 and not W.any()
    a = INITIALIZERS["he"]((5, 6), np.random.default_rng(7), np.float64)
    b = INITIALIZERS["he"]((5, 6), np.random.default_rng(7), np.float64)
    np.testing.assert_array_equal(a, b)
    assert INITIALIZERS["xavier_normal"]((5, 6), np.random.default_rng(1), np.float32).dtype == (
        np.float32
    )


def test_aliases_and_unknown_names():
    assert get_initializer("kaiming") is get_initializer("he") is get_initializer("kaiming_normal")
    with pytest.raises(ValueError, match="unknown initialiser 'glorot'.*xavier_normal"):
        get_initializer("glorot")


def test_biases_follow_nielsen_only_for_his_schemes():
    rng = np.random.default_rng(0)
    b = init_bias("nielsen", 100_000, rng)
    assert b.var() == pytest.approx(1.0, rel=0.02)
    assert init_bias("large", 10, rng).any()
    for name in ("xavier_uniform", "he", "uniform", "constant"):
        assert not init_bias(name, 10, rng).any()


def test_network_uses_initializer_per_layer():
    net = Network([400, 300, 200], init="he", seed=0)
    assert net.weights[0].var() == pytest.approx(2 / 400, rel=0.03)
    assert net.weights[1].var() == pytest.approx(2 / 300, rel=0.03)
    assert not any(b.any() for b in net.biases)
    first = Network([4, 3, 2], seed=5)
    again = Network([4, 3, 2], seed=5)
    for p, q in zip(first.parameters(), again.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_identity_is_torch_eye(shape):
    W = INITIALIZERS["identity"](shape, np.random.default_rng(0), np.float64)
    expected = np.zeros(shape)
    for j in range(min(shape)):
        expected[j, j] = 1.0
    np.testing.assert_array_equal(W, expected)
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    reference = torch.nn.init.eye_(torch.empty(shape, dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(W, reference)


def test_identity_init_makes_a_deep_relu_network_the_identity_map():
    net = Network([6, 6, 6, 6, 6], activation="relu", output="identity", init="identity", seed=0)
    X = np.random.default_rng(1).uniform(0, 1, size=(20, 6))
    np.testing.assert_allclose(net.forward(X), X, rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", [(50, 50), (30, 80), (80, 30)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape):
    gain = 1.5
    W = INITIALIZERS["orthogonal"](shape, np.random.default_rng(3), np.float64)
    assert W.shape == shape
    small = min(shape)
    gram = W @ W.T if shape[0] <= shape[1] else W.T @ W
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), np.ones(small), atol=1e-12)
    scaled = orthogonal(shape, np.random.default_rng(3), gain=gain)
    np.testing.assert_allclose(scaled, gain * W, rtol=1e-14)
    assert W.var() == pytest.approx(1 / max(shape), rel=0.05)


def test_orthogonal_is_haar_distributed_not_biased_by_qr_signs():
    # A plain QR gives Q[0, 0] = -|a_00| / ||a_0|| < 0 every time; the sign fix makes every
    # entry symmetric about zero, as for a uniformly random rotation.
    draws = np.array(
        [
            INITIALIZERS["orthogonal"]((4, 4), np.random.default_rng(s), np.float64)
            for s in range(2000)
        ]
    )
    assert np.all(np.abs(draws.mean(axis=0)) < 5 * 0.5 / np.sqrt(2000))
    a = INITIALIZERS["orthogonal"]((6, 9), np.random.default_rng(7), np.float32)
    b = INITIALIZERS["orthogonal"]((6, 9), np.random.default_rng(7), np.float32)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)

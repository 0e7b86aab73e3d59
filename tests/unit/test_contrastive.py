"""NT-Xent (InfoNCE): a loop over anchors, a worked value, finite differences, torch autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.contrastive import nt_xent_loss, nt_xent_loss_grad, positive_index
from dlcourse.gradcheck import numerical_gradient, rel_error


def _loop_loss(Z, tau):
    """The definition, one anchor at a time (an independent implementation)."""
    two_n = len(Z)
    total = 0.0
    for i in range(two_n):
        p = (i + two_n // 2) % two_n
        sims = [Z[i] @ Z[k] / (np.linalg.norm(Z[i]) * np.linalg.norm(Z[k])) / tau
                for k in range(two_n)]  # fmt: skip
        denominator = sum(math.exp(sims[k]) for k in range(two_n) if k != i)
        total += -sims[p] + math.log(denominator)
    return total / two_n


def test_matches_the_loop_over_anchors_and_ignores_the_scale_of_rows():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(8, 5))
    for tau in (0.1, 0.5, 2.0):
        assert nt_xent_loss(Z, tau) == pytest.approx(_loop_loss(Z, tau), rel=1e-13)
    scaled = Z * rng.uniform(0.5, 3.0, size=(8, 1))
    assert nt_xent_loss(scaled, 0.3) == pytest.approx(nt_xent_loss(Z, 0.3), rel=1e-13)


def test_worked_value_for_aligned_pairs_and_orthogonal_negatives():
    # N = 3, d = 3: both views of example i are the unit vector e_i
    Z = np.vstack([np.eye(3), 2.0 * np.eye(3)])
    tau = 0.5
    expected = -1 / tau + math.log(math.exp(1 / tau) + 4)  # 2N - 2 = 4 negatives, exp(0) each
    assert nt_xent_loss(Z, tau) == pytest.approx(expected, rel=1e-14)
    # swapping the views of one pair changes nothing; pairing wrong rows raises the loss
    assert nt_xent_loss(Z[[3, 1, 2, 0, 4, 5]], tau) == pytest.approx(expected, rel=1e-14)
    assert nt_xent_loss(Z[[1, 0, 2, 3, 4, 5]], tau) > expected + 1


def test_positive_index():
    np.testing.assert_array_equal(positive_index(6), [3, 4, 5, 0, 1, 2])


@pytest.mark.parametrize("tau", [0.07, 0.5, 1.0])
def test_gradient_matches_finite_differences(tau):
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(6, 4))
    num = numerical_gradient(lambda: nt_xent_loss(Z, tau), Z, h=1e-4, order=4)
    grad = nt_xent_loss_grad(Z, tau)
    assert np.abs(num).max() > 1e-3
    assert rel_error(grad, num) < 1e-7
    # the gradient is orthogonal to each row (the loss ignores the length of z_i)
    np.testing.assert_allclose(np.sum(grad * Z, axis=1), 0.0, atol=1e-13)


def test_matches_torch_autograd_in_float64():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(10, 7))
    tau = 0.2
    z = torch.tensor(Z, requires_grad=True)
    u = F.normalize(z, dim=1)
    sims = (u @ u.T / tau).masked_fill(torch.eye(10, dtype=torch.bool), float("-inf"))
    loss = F.cross_entropy(sims, torch.as_tensor(positive_index(10)))
    loss.backward()
    assert nt_xent_loss(Z, tau) == pytest.approx(loss.item(), rel=1e-13)
    grad = nt_xent_loss_grad(Z, tau)
    assert np.abs(grad).max() > 1e-3
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_bad_inputs():
    with pytest.raises(ValueError, match="2N >= 2 rows"):
        nt_xent_loss(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"rows \[1\] of Z are 0"):
        nt_xent_loss(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="temperature must lie in"):
        nt_xent_loss(np.eye(2), temperature=0.0)
    with pytest.raises(TypeError, match="temperature must be a real number"):
        nt_xent_loss_grad(np.eye(2), temperature="0.5")
    with pytest.raises(ValueError, match=r"shape \(m, n\)"):
        nt_xent_loss(np.ones(4))
    with pytest.raises(ValueError, match="NaN or infinite"):
        nt_xent_loss(np.array([[1.0, np.nan], [1.0, 0.0]]))

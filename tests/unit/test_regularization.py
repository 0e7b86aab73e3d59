"""Regularisation: Nielsen's L2/L1 algebra, dropout, constraints, clipping, early stopping."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from dlcourse import regularization as reg
from dlcourse.gradcheck import numerical_gradient
from dlcourse.optim import SGD

# ---------------------------------------------------------------- L2 / L1 / weight decay


def test_l2_cost_and_gradient():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(4, 3)), rng.normal(size=(2, 4))]
    l2, n = 5.0, 50
    expected = l2 / (2 * n) * sum((W**2).sum() for W in weights)
    assert reg.l2_cost(weights, l2, n) == pytest.approx(expected, rel=1e-14)
    for W in weights:
        fd = numerical_gradient(lambda: reg.l2_cost(weights, l2, n), W, h=1e-6)
        np.testing.assert_allclose(reg.l2_grad(W, l2, n), fd, rtol=1e-7, atol=1e-10)


def test_l1_cost_and_gradient():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(5, 3))
    W[np.abs(W) < 1e-3] = 0.1  # keep away from the kink at 0
    assert reg.l1_cost([W], 2.0, 10) == pytest.approx(0.2 * np.abs(W).sum())
    fd = numerical_gradient(lambda: reg.l1_cost([W], 2.0, 10), W, h=1e-6)
    np.testing.assert_allclose(reg.l1_grad(W, 2.0, 10), fd, rtol=1e-7, atol=1e-10)
    assert reg.l1_grad(np.zeros(3), 2.0, 10).tolist() == [0.0, 0.0, 0.0]


def test_nielsen_l2_update_is_weight_decay_with_factor_one_minus_eta_lambda_over_n():
    """w − η(∂C₀/∂w + (λ/n)w) = (1 − ηλ/n)w − η∂C₀/∂w, over a whole least-squares run."""
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(30, 2))
    lr, l2, n = 0.1, 3.0, len(X)
    factor = reg.weight_decay_factor(lr, l2, n)
    assert factor == pytest.approx(1 - lr * l2 / n, rel=1e-15)

    def grad_c0(W):  # C₀ = ½‖X Wᵀ − Y‖²/n
        return (X @ W.T - Y).T @ X / n

    W0 = rng.normal(size=(2, 4))
    penalty, decayed, sgd, decoupled = W0.copy(), W0.copy(), W0.copy(), W0.copy()
    opt = SGD(lr=lr, weight_decay=l2 / n)
    for _ in range(50):
        penalty -= lr * (grad_c0(penalty) + reg.l2_grad(penalty, l2, n))
        decayed[...] = factor * decayed - lr * grad_c0(decayed)
        opt.step([sgd], [grad_c0(sgd)])
        g = grad_c0(decoupled)
        reg.decoupled_weight_decay([decoupled], lr, l2 / n)
        decoupled -= lr * g
    for other in (decayed, sgd, decoupled):
        np.testing.assert_allclose(penalty, other, rtol=1e-12, atol=1e-14)
    assert np.abs(penalty - W0).max() > 0.1


# ------------------------------------------------------------------------------ dropout


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_inverted_dropout_keeps_the_expected_activation(p):
    a = np.random.default_rng(3).uniform(0.5, 1.5, size=(400, 250))
    out, mask = reg.dropout(a, p, rng=np.random.default_rng(4))
    assert set(np.unique(mask)) <= {0.0, 1 / (1 - p)}
    np.testing.assert_array_equal(out, a * mask)
    # E[mask] = 1: the mean of out/a is 1 within 5 standard errors
    ratio = out / a
    se = np.sqrt(p / (1 - p) / ratio.size)
    assert abs(ratio.mean() - 1) < 5 * se
    assert abs((mask == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / mask.size)


def test_dropout_masks_reproducible_from_seed_and_eval_is_identity():
    a = np.ones((20, 30))
    _, m1 = reg.dropout(a, 0.5, rng=7)
    _, m2 = reg.dropout(a, 0.5, rng=np.random.default_rng(7))
    _, m3 = reg.dropout(a, 0.5, rng=8)
    np.testing.assert_array_equal(m1, m2)
    assert not np.array_equal(m1, m3)
    out, mask = reg.dropout(a, 0.5, rng=7, training=False)
    assert out is a and np.all(mask == 1)
    out, _ = reg.dropout(a, 0.0, rng=7)
    assert out is a


def test_dropout_matches_torch_semantics():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(5).normal(size=(50, 40))
    out, mask = reg.dropout(a, 0.3, rng=1)
    kept = mask != 0
    np.testing.assert_allclose(out[kept], a[kept] / 0.7, rtol=1e-15)
    t = torch.nn.functional.dropout(torch.from_numpy(a), p=0.3, training=True)
    tk = t.numpy() != 0  # torch keeps the same scaling on the entries it keeps
    np.testing.assert_allclose(t.numpy()[tk], a[tk] / 0.7, rtol=1e-15)
    assert torch.nn.functional.dropout(torch.from_numpy(a), 0.3, training=False).equal(
        torch.from_numpy(a)
    )


def test_dropconnect_masks_weights():
    W = np.random.default_rng(6).normal(size=(30, 20))
    Wd, mask = reg.dropconnect(W, 0.25, rng=3)
    assert mask.shape == W.shape
    np.testing.assert_array_equal(Wd, W * mask)
    assert abs((mask == 0).mean() - 0.25) < 0.06
    assert reg.dropconnect(W, 0.25, rng=3, training=False)[0] is W


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan")])
def test_dropout_probability_outside_unit_interval_raises(p):
    with pytest.raises(ValueError, match="p must lie in"):
        reg.dropout(np.ones(3), p, rng=0)
    with pytest.raises(ValueError, match="p must lie in"):
        reg.dropconnect(np.ones((2, 2)), p, rng=0, training=False)


def test_dropout_needs_an_explicit_rng():
    with pytest.raises(TypeError, match="rng"):
        reg.dropout(np.ones(3), 0.5, rng=None)


# --------------------------------------------------------------- max-norm, clipping


def test_max_norm_clips_rows_in_place():
    rng = np.random.default_rng(7)
    W = rng.normal(size=(6, 5)) * np.array([[0.1], [3], [0.2], [5], [0.3], [2]])
    before, c = W.copy(), 1.5
    out = reg.max_norm(W, c)
    assert out is W
    norms_before = np.linalg.norm(before, axis=1)
    norms = np.linalg.norm(W, axis=1)
    big = norms_before > c
    assert big.any() and (~big).any()
    np.testing.assert_allclose(norms[big], c, rtol=1e-14)
    np.testing.assert_array_equal(W[~big], before[~big])
    # clipped rows keep their direction
    np.testing.assert_allclose(W[big] * norms_before[big, None] / c, before[big], rtol=1e-13)


@pytest.mark.parametrize(
    ("max_norm", "norm_type"),
    [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (0.3, float("inf")), (2.0, 3.0)],
)
def test_clip_grad_norm_equals_torch(max_norm, norm_type):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    grads = [rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 2))]
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    expected = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    total = reg.clip_grad_norm(grads, max_norm, norm_type=norm_type)
    assert total == pytest.approx(float(expected), rel=1e-14)
    for g, p in zip(grads, params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-14, atol=1e-16)


# ------------------------------------------------------------------------ early stopping


@dataclass
class History:
    val_accuracy: list = field(default_factory=list)
    val_cost: list = field(default_factory=list)


class Model:
    def __init__(self):
        self.W, self.b = np.zeros((2, 2)), np.zeros(2)

    def parameters(self):
        return [self.W, self.b]


def drive(stopper, values, key="val_accuracy", model=None):
    """Feed ``values`` one epoch at a time; return the epoch at which it stopped (or None)."""
    history, model = History(), model or Model()
    for epoch, v in enumerate(values):
        getattr(history, key).append(v)
        model.W += 1  # the parameters change every epoch
        if stopper.on_epoch_end(model, epoch, history):
            return epoch
    return None


def test_early_stopping_patience_on_accuracy():
    values = [0.5, 0.6, 0.6, 0.59, 0.61, 0.6, 0.6, 0.6, 0.7]
    stopper = reg.EarlyStopping("val_accuracy", patience=3)
    assert drive(stopper, values) == 7
    assert (stopper.best, stopper.best_epoch, stopper.stopped_epoch) == (0.61, 4, 7)
    assert drive(reg.EarlyStopping(patience=4), values) is None


def test_early_stopping_min_delta_and_cost_mode():
    costs = [1.0, 0.9, 0.895, 0.89, 0.5]
    assert drive(reg.EarlyStopping("val_cost", patience=2, min_delta=0.02), costs, "val_cost") == 3
    stopper = reg.EarlyStopping("val_cost", patience=2)
    assert drive(stopper, costs, "val_cost") is None and stopper.best_epoch == 4


def test_early_stopping_restore_best_copies_parameters_back():
    model = Model()
    stopper = reg.EarlyStopping(patience=2, restore_best=True)
    assert drive(stopper, [0.1, 0.3, 0.2, 0.25], model=model) == 3
    np.testing.assert_array_equal(model.W, np.full((2, 2), 2.0))  # state after epoch 1
    assert stopper.best_epoch == 1


def test_early_stopping_bad_input():
    with pytest.raises(ValueError, match="validation"):
        drive(reg.EarlyStopping("val_accuracy"), [None])
    with pytest.raises(ValueError, match="patience"):
        reg.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        reg.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="min_delta"):
        reg.EarlyStopping(min_delta=-0.1)
    stopper = reg.EarlyStopping(patience=1)
    assert stopper.on_epoch_end(Model(), 0, {"val_accuracy": [0.5]}) is False  # dict history


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: reg.l2_cost([np.ones(2)], -1.0, 10), "l2"),
        (lambda: reg.l2_grad(np.ones(2), 1.0, 0), "training-set size"),
        (lambda: reg.weight_decay_factor(0.1, 1.0, 2.5), "training-set size"),
        (lambda: reg.l1_grad(np.ones(2), float("nan"), 10), "l1"),
        (lambda: reg.max_norm(np.ones((2, 2)), 0.0), "max-norm"),
        (lambda: reg.clip_grad_norm([np.ones(2)], -1.0), "max_norm"),
        (lambda: reg.clip_grad_norm([np.ones(2)], 1.0, norm_type=0), "norm_type"),
        (lambda: reg.decoupled_weight_decay([np.ones(2)], 0.1, -1.0), "weight_decay"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()

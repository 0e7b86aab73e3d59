"""Tests for dlcourse.losses: finite differences, torch parity, edge cases, Network costs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dlcourse import activations as A
from dlcourse import costs, gradcheck
from dlcourse import losses as L

try:  # torch is optional: the parity tests skip without it, the rest still run
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - exercised only where torch is absent
    torch = F = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

REDUCTIONS = ["none", "mean", "sum"]
RNG_SEED = 20240601


def rel_error(a, b):
    """Relative error of a whole gradient: max |a − b| / max(1e-12, max(|a| + |b|)).

    Measured against the scale of the gradient, not entry by entry: a central difference
    of a sum of several O(1) terms carries ~1e-10 of rounding noise, which would swamp
    entries of size 1e-4 if each entry were judged on its own.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(1e-12, float(np.max(np.abs(a) + np.abs(b)))))


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar function f at x (float64)."""
    x = np.array(x, dtype=float)
    return gradcheck.numerical_gradient(lambda: f(x), x, h)


def softmax_rows(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def make_cases():
    """(id, loss, grad, input, target, kwargs): small float64 problems, away from kinks."""
    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal((4, 3))
    y = x + np.where(rng.random((4, 3)) < 0.5, -1.0, 1.0) * rng.uniform(0.1, 2.0, (4, 3))
    w = rng.uniform(0.5, 2.0, (4, 3))
    p = rng.uniform(0.05, 0.95, (4, 3))
    q = rng.uniform(0.0, 1.0, (4, 3))
    logits = 3.0 * rng.standard_normal((5, 4))
    idx = np.array([0, 3, -100, 1, 2])
    probs = softmax_rows(rng.standard_normal((5, 4)))
    cw = rng.uniform(0.5, 2.0, 4)
    logp = np.log(softmax_rows(rng.standard_normal((5, 4))))
    kl_t = probs.copy()
    kl_t[0, 1] = 0.0  # a zero target probability contributes 0
    v1, v2 = rng.standard_normal((2, 5, 4))
    pm = np.array([1.0, -1.0, 1.0, -1.0, -1.0])
    dist = rng.uniform(0.1, 2.0, (4, 3))
    pm43 = np.where(rng.random((4, 3)) < 0.5, -1.0, 1.0)
    seg_p = rng.uniform(0.05, 0.95, (3, 6))
    seg_t = (rng.random((3, 6)) < 0.5).astype(float)
    return [
        ("mse", L.mse_loss, L.mse_loss_grad, x, y, {}),
        ("mse-weight", L.mse_loss, L.mse_loss_grad, x, y, {"weight": w}),
        ("l1", L.l1_loss, L.l1_loss_grad, x, y, {}),
        ("l1-weight", L.l1_loss, L.l1_loss_grad, x, y, {"weight": w}),
        ("bce", L.binary_cross_entropy, L.binary_cross_entropy_grad, p, q, {}),
        (
            "bce-weight",
            L.binary_cross_entropy,
            L.binary_cross_entropy_grad,
            p,
            q,
            {"weight": cw[:3]},
        ),
        (
            "bce-logits",
            L.binary_cross_entropy_with_logits,
            L.binary_cross_entropy_with_logits_grad,
            3 * x,
            q,
            {},
        ),
        (
            "bce-logits-pos-weight",
            L.binary_cross_entropy_with_logits,
            L.binary_cross_entropy_with_logits_grad,
            3 * x,
            q,
            {"pos_weight": cw[:3], "weight": w},
        ),
        ("ce-index", L.cross_entropy, L.cross_entropy_grad, logits, idx, {}),
        (
            "ce-index-weight-smooth",
            L.cross_entropy,
            L.cross_entropy_grad,
            logits,
            idx,
            {"weight": cw, "label_smoothing": 0.15},
        ),
        (
            "ce-index-smooth",
            L.cross_entropy,
            L.cross_entropy_grad,
            logits,
            idx,
            {"label_smoothing": 0.1},
        ),
        (
            "ce-index-ignore-7",
            L.cross_entropy,
            L.cross_entropy_grad,
            logits,
            np.array([0, 7, 2, 7, 1]),
            {"ignore_index": 7, "weight": cw},
        ),
        ("ce-prob", L.cross_entropy, L.cross_entropy_grad, logits, probs, {}),
        (
            "ce-prob-weight-smooth",
            L.cross_entropy,
            L.cross_entropy_grad,
            logits,
            probs,
            {"weight": cw, "label_smoothing": 0.2},
        ),
        ("ce-1d", L.cross_entropy, L.cross_entropy_grad, logits[0], np.array(2), {}),
        (
            "ce-spatial",
            L.cross_entropy,
            L.cross_entropy_grad,
            logits[:4].reshape(2, 4, 2, 1).copy(),
            np.array([[[1], [3]], [[0], [2]]]),
            {"weight": cw, "label_smoothing": 0.1},
        ),
        ("nll", L.nll_loss, L.nll_loss_grad, logp, idx, {}),
        ("nll-weight", L.nll_loss, L.nll_loss_grad, logp, idx, {"weight": cw}),
        ("huber", L.huber_loss, L.huber_loss_grad, x, y, {}),
        ("huber-delta", L.huber_loss, L.huber_loss_grad, x, y, {"delta": 0.7, "weight": w}),
        ("smooth-l1", L.smooth_l1_loss, L.smooth_l1_loss_grad, x, y, {}),
        ("smooth-l1-beta", L.smooth_l1_loss, L.smooth_l1_loss_grad, x, y, {"beta": 0.6}),
        ("smooth-l1-beta0", L.smooth_l1_loss, L.smooth_l1_loss_grad, x, y, {"beta": 0.0}),
        ("kl", L.kl_div, L.kl_div_grad, logp, kl_t, {}),
        ("kl-log-target", L.kl_div, L.kl_div_grad, logp, np.log(probs), {"log_target": True}),
        ("hinge-embedding", L.hinge_embedding_loss, L.hinge_embedding_loss_grad, dist, pm43, {}),
        (
            "hinge-embedding-margin",
            L.hinge_embedding_loss,
            L.hinge_embedding_loss_grad,
            dist,
            pm43,
            {"margin": 1.5},
        ),
        (
            "cosine",
            lambda a, t, **k: L.cosine_embedding_loss(a, v2, t, **k),
            lambda a, t, **k: L.cosine_embedding_loss_grad(a, v2, t, **k)[0],
            v1,
            pm,
            {},
        ),
        (
            "cosine-input2",
            lambda b, t, **k: L.cosine_embedding_loss(v1, b, t, **k),
            lambda b, t, **k: L.cosine_embedding_loss_grad(v1, b, t, **k)[1],
            v2,
            pm,
            {"margin": -0.3},
        ),
        ("dice", L.dice_loss, L.dice_loss_grad, seg_p, seg_t, {}),
        ("jaccard", L.jaccard_loss, L.jaccard_loss_grad, seg_p, seg_t, {"eps": 1.0}),
        ("focal", L.focal_loss, L.focal_loss_grad, p, q, {}),
        (
            "focal-hard",
            L.focal_loss,
            L.focal_loss_grad,
            p,
            (q > 0.5) * 1.0,
            {"gamma": 0.5, "alpha": None},
        ),
    ]


CASES = make_cases()
IDS = [c[0] for c in CASES]
# the cosine cases wrap a two-input loss (tested against torch separately)
SINGLE_INPUT_CASES = [c for c in CASES if not c[0].startswith("cosine")]
SINGLE_INPUT_IDS = [c[0] for c in SINGLE_INPUT_CASES]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grad_matches_finite_differences(case, reduction):
    _, loss, grad, x, t, kw = case
    shape = np.shape(loss(x, t, reduction="none", **kw))
    g_out = np.random.default_rng(1).uniform(0.5, 1.5, shape) if reduction == "none" else 0.7
    analytic = grad(x, t, reduction=reduction, grad_output=g_out, **kw)
    numeric = numerical_gradient(lambda v: np.sum(g_out * loss(v, t, reduction=reduction, **kw)), x)
    assert analytic.shape == np.shape(x)
    assert rel_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reductions_are_consistent(case):
    _, loss, _, x, t, kw = case
    none = loss(x, t, reduction="none", **kw)
    np.testing.assert_allclose(loss(x, t, reduction="sum", **kw), np.sum(none), rtol=1e-13)


def test_kl_batchmean_divides_by_batch_size():
    _, _, _, logp, target, _ = CASES[IDS.index("kl")]
    total = L.kl_div(logp, target, reduction="sum")
    assert L.kl_div(logp, target, reduction="batchmean") == pytest.approx(total / 5, rel=1e-14)
    g = L.kl_div_grad(logp, target, reduction="batchmean")
    np.testing.assert_allclose(g, -target / 5, rtol=1e-14)


def test_focal_loss_reduces_to_bce():
    _, _, _, p, q, _ = CASES[IDS.index("bce")]
    for reduction in REDUCTIONS:
        np.testing.assert_allclose(
            L.focal_loss(p, q, gamma=0.0, alpha=None, reduction=reduction),
            L.binary_cross_entropy(p, q, reduction=reduction),
            rtol=1e-14,
        )
        np.testing.assert_allclose(
            L.focal_loss_grad(p, q, gamma=0.0, alpha=None, reduction=reduction),
            L.binary_cross_entropy_grad(p, q, reduction=reduction),
            rtol=1e-14,
        )


def test_dice_and_jaccard_worked_values():
    pred = np.array([[1.0, 1.0, 0.0, 0.0]])
    true = np.array([[1.0, 0.0, 0.0, 0.0]])
    # Dice coefficient 2·1 / (2 + 1) = 2/3; IoU 1 / 2.
    assert L.dice_loss(pred, true, eps=0.0) == pytest.approx(1 / 3)
    assert L.jaccard_loss(pred, true, eps=0.0) == pytest.approx(1 / 2)
    empty = np.zeros((1, 4))
    assert L.dice_loss(empty, empty) == 0.0 and L.jaccard_loss(empty, empty) == 0.0
    assert L.dice_loss(true, true, eps=0.0) == 0.0


def test_bce_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with np.errstate(all="raise"):
        np.testing.assert_allclose(
            L.binary_cross_entropy(x, y, reduction="none"), [100.0, 100.0, 0.0, 0.0]
        )
        g = L.binary_cross_entropy_grad(x, y, reduction="none")
    np.testing.assert_allclose(g, [-1e12, 1e12, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        L.binary_cross_entropy(np.array([1.5]), np.array([1.0]))


@pytest.mark.parametrize(
    ("loss", "grad"),
    [
        (L.binary_cross_entropy_with_logits, L.binary_cross_entropy_with_logits_grad),
        (L.cross_entropy, L.cross_entropy_grad),
    ],
)
def test_extreme_logits_no_warning_no_nan(loss, grad):
    z = np.array([[1e3, -1e3, 0.0], [-1e3, 1e3, 5.0]])
    t = np.array([[1.0, 0.0, 0.5], [1.0, 0.0, 0.0]])
    if loss is L.cross_entropy:
        t = np.array([1, 0])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        values = [loss(z, t, reduction=r) for r in REDUCTIONS]
        grads = [grad(z, t, reduction=r) for r in REDUCTIONS]
    assert all(np.all(np.isfinite(v)) for v in values + grads)
    if loss is L.cross_entropy:  # each row misses its target by a logit gap of 2000
        assert values[2] == pytest.approx(4000.0)
    else:  # the two wrong-sign ±1e3 logits cost 1e3 each
        assert values[2] == pytest.approx(2000.0 + values[0][0, 2] + values[0][1, 2])


def test_errors_name_both_shapes_and_valid_choices():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        L.mse_loss(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4,\)"):
        L.cross_entropy(np.zeros((4, 3)), np.zeros(4, dtype=float))
    with pytest.raises(ValueError, match=r"shape \(4,\).*\(5,\)"):
        L.cross_entropy(np.zeros((4, 3)), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="class indices"):
        L.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        L.l1_loss(np.zeros(2), np.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match="1 or -1"):
        L.hinge_embedding_loss(np.zeros(2), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\)"):
        L.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), weight=np.ones(2))


# -------------------------------------------------------------------- Network costs

COST_PAIRINGS = [
    ("quadratic", "sigmoid"),
    ("quadratic", "tanh"),
    ("quadratic", "identity"),
    ("quadratic", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
    ("binary_cross_entropy", "softmax"),
    ("cross_entropy", "softmax"),
    ("cross_entropy", "sigmoid"),
]


def cost_targets(cost, output, rng, shape):
    if cost == "cross_entropy" and output == "softmax":
        return np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
    return rng.uniform(0.0, 1.0, shape)


@pytest.mark.parametrize(("cost", "output"), COST_PAIRINGS)
def test_cost_delta_matches_finite_differences(cost, output):
    rng = np.random.default_rng(3)
    m, n = 4, 3
    z = rng.standard_normal((m, n))
    y = cost_targets(cost, output, rng, (m, n))
    C, act = costs.get_cost(cost), A.get_activation(output)
    delta = C.delta(z, act.fn(z), y, act)
    numeric = numerical_gradient(lambda v: C.fn(act.fn(v), y), z)
    assert delta.shape == (m, n)
    assert rel_error(delta / m, numeric) < 1e-7


def test_cost_values_match_their_definitions():
    a = np.array([[0.2, 0.8], [0.6, 0.4]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert costs.COSTS["quadratic"].fn(a, y) == pytest.approx((0.5 * (0.08 + 0.32)) / 2)
    bce = -(np.log(0.8) + np.log(0.8) + np.log(0.6) + np.log(0.6)) / 2
    assert costs.COSTS["binary_cross_entropy"].fn(a, y) == pytest.approx(bce)
    assert costs.COSTS["cross_entropy"].fn(a, y) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)


def test_softmax_cross_entropy_delta_is_a_minus_y():
    rng = np.random.default_rng(4)
    z = 5.0 * rng.standard_normal((6, 4))
    y = np.eye(4)[rng.integers(0, 4, 6)]
    a = A.softmax(z)
    delta = costs.COSTS["cross_entropy"].delta(z, a, y, A.ACTIVATIONS["softmax"])
    np.testing.assert_array_equal(delta, a - y)
    # the same as the gradient of the torch-style loss summed over examples
    np.testing.assert_allclose(delta, L.cross_entropy_grad(z, y, reduction="sum"), atol=1e-15)
    a_sig = A.sigmoid(z)
    delta_bce = costs.COSTS["binary_cross_entropy"].delta(z, a_sig, y, "sigmoid")
    np.testing.assert_array_equal(delta_bce, a_sig - y)


def test_cost_errors():
    with pytest.raises(ValueError, match="valid names: binary_cross_entropy, cross_entropy"):
        costs.get_cost("mse")
    assert costs.get_cost(costs.COSTS["quadratic"]) is costs.COSTS["quadratic"]
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 2\)"):
        costs.COSTS["quadratic"].fn(np.zeros((2, 3)), np.zeros((2, 2)))
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="binary_cross_entropy.*'relu'"):
        costs.COSTS["binary_cross_entropy"].delta(z, z, z, A.ACTIVATIONS["relu"])
    with pytest.raises(ValueError, match="cross_entropy.*'identity'"):
        costs.COSTS["cross_entropy"].delta(z, z, z, "identity")


# ---------------------------------------------------------------- torch parity


def torch_focal(p, t, gamma=2.0, alpha=0.25, reduction="mean"):
    """Independent torch formula of the focal loss (autograd supplies the gradient)."""
    ce = F.binary_cross_entropy(p, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = (1 - p_t) ** gamma * ce
    if alpha is not None:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def torch_overlap(kind):
    def fn(p, t, eps=1e-7, reduction="mean"):
        inter, total = (p * t).sum(-1), p.sum(-1) + t.sum(-1)
        if kind == "dice":
            loss = 1 - (2 * inter + eps) / (total + eps)
        else:
            loss = 1 - (inter + eps) / (total - inter + eps)
        return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]

    return fn


TORCH_LOSSES = (
    {}
    if torch is None
    else {
        "mse": F.mse_loss,
        "l1": F.l1_loss,
        "bce": F.binary_cross_entropy,
        "bce-logits": F.binary_cross_entropy_with_logits,
        "ce": F.cross_entropy,
        "nll": F.nll_loss,
        "huber": F.huber_loss,
        "smooth-l1": F.smooth_l1_loss,
        "kl": F.kl_div,
        "hinge-embedding": F.hinge_embedding_loss,
        "focal": torch_focal,
        "dice": torch_overlap("dice"),
        "jaccard": torch_overlap("jaccard"),
    }
)


def torch_reference(case_id):
    for key in sorted(TORCH_LOSSES, key=len, reverse=True):
        if case_id.startswith(key):
            return TORCH_LOSSES[key]
    return None


def to_torch(v):
    return torch.tensor(v) if isinstance(v, np.ndarray) else v


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", SINGLE_INPUT_CASES, ids=SINGLE_INPUT_IDS)
@needs_torch
def test_torch_parity(case, reduction):
    case_id, loss, grad, x, t, kw = case
    fn = torch_reference(case_id)
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt, torch.tensor(t), reduction=reduction, **{k: to_torch(v) for k, v in kw.items()})
    g_out = torch.rand(out.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out.backward(g_out)
    np.testing.assert_allclose(
        loss(x, t, reduction=reduction, **kw), out.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    ours = grad(x, t, reduction=reduction, grad_output=g_out.numpy(), **kw)
    np.testing.assert_allclose(ours, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, -0.3, 0.4])
@needs_torch
def test_torch_parity_cosine_embedding(reduction, margin):
    _, _, _, v1, pm, _ = CASES[IDS.index("cosine")]
    v2 = CASES[IDS.index("cosine-input2")][3]
    t1, t2 = torch.tensor(v1, requires_grad=True), torch.tensor(v2, requires_grad=True)
    out = F.cosine_embedding_loss(t1, t2, torch.tensor(pm), margin=margin, reduction=reduction)
    out.backward(torch.ones_like(out))
    np.testing.assert_allclose(
        L.cosine_embedding_loss(v1, v2, pm, margin, reduction=reduction),
        out.detach().numpy(),
        rtol=1e-10,
        atol=1e-12,
    )
    g1, g2 = L.cosine_embedding_loss_grad(v1, v2, pm, margin, reduction=reduction)
    np.testing.assert_allclose(g1, t1.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g2, t2.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_torch_parity_bce_edges_and_extreme_logits():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    xt = torch.tensor(x, requires_grad=True)
    F.binary_cross_entropy(xt, torch.tensor(y), reduction="sum").backward()
    np.testing.assert_allclose(
        L.binary_cross_entropy(x, y, reduction="sum"),
        F.binary_cross_entropy(torch.tensor(x), torch.tensor(y), reduction="sum").item(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        L.binary_cross_entropy_grad(x, y, reduction="sum"), xt.grad.numpy(), rtol=1e-12
    )
    z = np.array([-1e3, 1e3, -30.0, 30.0, 0.0])
    zt = torch.tensor(z, requires_grad=True)
    pw = torch.tensor(3.0, dtype=torch.float64)
    out = F.binary_cross_entropy_with_logits(zt, torch.tensor(y), pos_weight=pw, reduction="none")
    out.sum().backward()
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(z, y, pos_weight=3.0, reduction="none"),
        out.detach().numpy(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits_grad(z, y, pos_weight=3.0, reduction="none"),
        zt.grad.numpy(),
        rtol=1e-12,
        atol=1e-15,
    )


@pytest.mark.parametrize("case", SINGLE_INPUT_CASES, ids=SINGLE_INPUT_IDS)
@needs_torch
def test_torch_tensors_in_torch_tensors_out(case):
    _, loss, grad, x, t, kw = case
    tkw = {k: to_torch(v) for k, v in kw.items()}
    out = loss(torch.tensor(x), torch.tensor(t), reduction="none", **tkw)
    g = grad(torch.tensor(x), torch.tensor(t), reduction="mean", **tkw)
    assert isinstance(out, torch.Tensor) and isinstance(g, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), loss(x, t, reduction="none", **kw), rtol=1e-13)
    np.testing.assert_allclose(g.numpy(), grad(x, t, reduction="mean", **kw), rtol=1e-13)


@needs_torch
def test_torch_parity_degenerate_cases():
    # every target ignored: the mean is 0/0 = nan and the gradient is zero
    z = np.zeros((2, 3))
    ignored = np.array([-100, -100])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for ls in (0.0, 0.1):
            assert np.isnan(L.cross_entropy(z, ignored, label_smoothing=ls))
            np.testing.assert_array_equal(L.cross_entropy_grad(z, ignored, label_smoothing=ls), 0)
        assert np.isnan(L.nll_loss(z, ignored))
        np.testing.assert_array_equal(L.nll_loss_grad(z, ignored), 0.0)
    # a zero vector in cosine_embedding_loss, and cos − margin exactly 0 (a kink)
    a, b, y = np.zeros((2, 3)), np.ones((2, 3)), np.array([1.0, -1.0])
    t1, t2 = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    F.cosine_embedding_loss(t1, t2, torch.tensor(y), reduction="sum").backward()
    g1, g2 = L.cosine_embedding_loss_grad(a, b, y, reduction="sum")
    np.testing.assert_allclose(g1, t1.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(g2, t2.grad.numpy(), rtol=1e-10, atol=1e-12)
    # kinks of the piecewise losses follow torch's autograd
    x, t = np.array([0.0, 1.0, -1.0, 0.5]), np.zeros(4)
    for ours, theirs in [
        (L.l1_loss_grad, F.l1_loss),
        (L.huber_loss_grad, F.huber_loss),
        (L.smooth_l1_loss_grad, F.smooth_l1_loss),
    ]:
        xt = torch.tensor(x, requires_grad=True)
        theirs(xt, torch.tensor(t), reduction="sum").backward()
        np.testing.assert_array_equal(ours(x, t, reduction="sum"), xt.grad.numpy())
    d, y = np.array([1.0, 0.5, 2.0]), np.array([-1.0, -1.0, 1.0])
    dt = torch.tensor(d, requires_grad=True)
    F.hinge_embedding_loss(dt, torch.tensor(y), reduction="sum").backward()
    np.testing.assert_array_equal(L.hinge_embedding_loss_grad(d, y, reduction="sum"), dt.grad)

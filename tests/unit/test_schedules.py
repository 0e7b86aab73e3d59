"""Learning-rate schedules: torch.optim.lr_scheduler parity, composition, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse import schedules
from dlcourse.optim import SGD, Adam

EPOCHS = 50
LR0 = 0.1


def torch_lrs(make_scheduler, epochs=EPOCHS, lr=LR0):
    """The lr torch's scheduler sets before each of ``epochs + 1`` epochs."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make_scheduler(torch.optim.lr_scheduler, opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        lrs.append(opt.param_groups[0]["lr"])
    return np.array(lrs)


def our_lrs(make_schedule, epochs=EPOCHS, lr=LR0):
    """The same sequence from our schedule, read back from the optimiser it drives."""
    opt = SGD(lr=lr, momentum=0.9)
    schedule = make_schedule(opt)
    lrs = [opt.lr]
    for _ in range(epochs):
        schedule.step()
        lrs.append(opt.lr)
    closed = [schedule.lr_at(t) for t in range(epochs + 1)]
    np.testing.assert_array_equal(lrs, closed)
    return np.array(lrs)


PAIRS = {
    "step": (
        lambda opt: schedules.StepLR(opt, step_size=7, gamma=0.5),
        lambda S, opt: S.StepLR(opt, step_size=7, gamma=0.5),
    ),
    "multistep": (
        lambda opt: schedules.MultiStepLR(opt, milestones=[30, 10, 10, 45], gamma=0.3),
        lambda S, opt: S.MultiStepLR(opt, milestones=[30, 10, 10, 45], gamma=0.3),
    ),
    "exponential": (
        lambda opt: schedules.ExponentialLR(opt, gamma=0.93),
        lambda S, opt: S.ExponentialLR(opt, gamma=0.93),
    ),
    "linear-warmup": (
        lambda opt: schedules.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=8),
        lambda S, opt: S.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=8),
    ),
    "linear-decay": (
        lambda opt: schedules.LinearLR(opt, start_factor=1.0, end_factor=0.05, total_iters=40),
        lambda S, opt: S.LinearLR(opt, start_factor=1.0, end_factor=0.05, total_iters=40),
    ),
    "linear-default": (
        lambda opt: schedules.LinearLR(opt),
        lambda S, opt: S.LinearLR(opt),
    ),
    "inverse_time": (
        lambda opt: schedules.InverseTimeLR(opt, k=0.3),
        lambda S, opt: S.LambdaLR(opt, lambda t: 1 / (1 + 0.3 * t)),
    ),
    "inverse_sqrt": (
        lambda opt: schedules.InverseSqrtLR(opt, k=0.5),
        lambda S, opt: S.LambdaLR(opt, lambda t: 1 / math.sqrt(1 + 0.5 * t)),
    ),
    "cosine-one-period": (
        lambda opt: schedules.CosineAnnealingLR(opt, T_max=EPOCHS, eta_min=0.001),
        lambda S, opt: S.CosineAnnealingLR(opt, T_max=EPOCHS, eta_min=0.001),
    ),
    "cosine-past-T_max": (
        lambda opt: schedules.CosineAnnealingLR(opt, T_max=12),
        lambda S, opt: S.CosineAnnealingLR(opt, T_max=12),
    ),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_schedule_equals_torch(name):
    ours, theirs = PAIRS[name]
    np.testing.assert_allclose(our_lrs(ours), torch_lrs(theirs), rtol=1e-12, atol=1e-15)


def test_warmup_equals_torch_sequential_lr():
    def theirs(S, opt):
        warm = S.LinearLR(opt, start_factor=0.2, end_factor=1.0, total_iters=5)
        cosine = S.CosineAnnealingLR(opt, T_max=40, eta_min=0.0)
        return S.SequentialLR(opt, [warm, cosine], milestones=[5])

    def ours(opt):
        inner = schedules.CosineAnnealingLR(opt, T_max=40)
        return schedules.Warmup(inner, warmup_epochs=5, start_factor=0.2)

    np.testing.assert_allclose(our_lrs(ours, epochs=45), torch_lrs(theirs, 45), atol=1e-15)


def test_worked_values_and_simulated_annealing_schedule():
    s = schedules.StepLR(base_lr=1.0, step_size=2, gamma=0.5)
    assert [s.lr_at(t) for t in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    c = schedules.CosineAnnealingLR(base_lr=1.0, T_max=4)
    assert c.lr_at(2) == pytest.approx(0.5) and c.lr_at(4) == pytest.approx(0.0, abs=1e-16)
    # η_k = (1 − k/τ)η₀ + (k/τ)η_τ with η₀ = 0.5, η_τ = 0.05, τ = 9
    anneal = schedules.LinearLR(base_lr=0.5, start_factor=1.0, end_factor=0.1, total_iters=9)
    for k in range(12):
        kk = min(k, 9)
        assert anneal.lr_at(k) == pytest.approx((1 - kk / 9) * 0.5 + kk / 9 * 0.05, rel=1e-14)


def test_schedule_drives_any_optimiser_and_is_a_callback():
    opt = Adam(lr=0.01)
    schedule = schedules.get_schedule("exponential", opt, gamma=0.5)
    for epoch in range(3):
        assert schedule.on_epoch_end(None, epoch, None) is False
    assert opt.lr == pytest.approx(0.01 * 0.5**3)
    assert schedule.lr == opt.lr


@pytest.mark.parametrize("name", list(PAIRS))
def test_state_dict_round_trip(name, tmp_path):
    make = PAIRS[name][0]
    opt = SGD(lr=LR0)
    schedule = make(opt)
    for _ in range(17):
        schedule.step()
    np.savez(tmp_path / "s.npz", **schedule.state_dict())
    other_opt = SGD(lr=LR0)
    other = make(other_opt)
    with np.load(tmp_path / "s.npz", allow_pickle=False) as f:
        other.load_state_dict(dict(f))
    assert other_opt.lr == opt.lr and repr(other) == repr(schedule)
    for _ in range(5):
        assert other.step() == schedule.step()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: schedules.get_schedule("cosin", base_lr=0.1), "cosine"),
        (lambda: schedules.StepLR(), "optimizer"),
        (lambda: schedules.StepLR(base_lr=0.0), "base_lr"),
        (lambda: schedules.StepLR(base_lr=0.1, step_size=0), "step_size"),
        (lambda: schedules.StepLR(base_lr=0.1, gamma=-0.5), "gamma"),
        (lambda: schedules.MultiStepLR(base_lr=0.1, milestones=[0, 3]), "milestone"),
        (lambda: schedules.LinearLR(base_lr=0.1, start_factor=0.0), "start_factor"),
        (lambda: schedules.LinearLR(base_lr=0.1, end_factor=1.5), "end_factor"),
        (lambda: schedules.CosineAnnealingLR(base_lr=0.1, T_max=0), "T_max"),
        (lambda: schedules.InverseTimeLR(base_lr=0.1, k=-1.0), "k"),
        (lambda: schedules.StepLR(base_lr=0.1).lr_at(-1), "epoch"),
        (lambda: schedules.Warmup(schedules.StepLR(base_lr=0.1), warmup_epochs=0), "warmup"),
        (lambda: schedules.StepLR(base_lr=0.1).load_state_dict({"gamma": 0.1}), "StepLR"),
    ],
)
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_schedule_lists_the_valid_names():
    with pytest.raises(ValueError) as info:
        schedules.get_schedule("onecycle")
    for name in schedules.SCHEDULES:
        assert name in str(info.value)


def test_inverse_power_laws_worked_values_and_the_transformer_schedule():
    sqrt_decay = schedules.InverseSqrtLR(base_lr=1.0, k=0.5)
    assert [sqrt_decay.lr_at(t) for t in (0, 2, 6, 30)] == pytest.approx([1, 2**-0.5, 0.5, 0.25])
    time_decay = schedules.InverseTimeLR(base_lr=1.0, k=0.5)
    assert [time_decay.lr_at(t) for t in (0, 2, 6, 30)] == pytest.approx([1, 0.5, 0.25, 1 / 16])
    # warm-up for w steps, then eta_0 sqrt(w / t): the schedule of the original Transformer
    w = 40
    transformer = schedules.Warmup(
        schedules.InverseSqrtLR(base_lr=2.0, k=1 / w), warmup_epochs=w, start_factor=1 / w
    )
    warm = [transformer.lr_at(t) for t in range(w)]
    assert np.all(np.diff(warm) > 0) and warm[0] == pytest.approx(2.0 / w)
    for t in (w, 2 * w, 4 * w, 10 * w, 123):
        assert transformer.lr_at(t) == pytest.approx(2.0 * math.sqrt(w / t), rel=1e-14)
    with pytest.raises(ValueError, match="k"):
        schedules.InverseSqrtLR(base_lr=0.1, k=-0.5)

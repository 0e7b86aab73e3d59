"""Learning-rate schedules η_t, composable with any optimiser that has an ``lr`` attribute.

Each schedule is a small class with a closed form ``lr_at(t)`` (t = epochs completed,
starting at 0) and the torch.optim.lr_scheduler protocol::

    opt = SGD(lr=0.1, momentum=0.9)
    schedule = CosineAnnealingLR(opt, T_max=30)     # sets opt.lr = lr_at(0)
    for epoch in range(30):
        ...train one epoch...
        schedule.step()                             # opt.lr = lr_at(epoch + 1)

A schedule is also a training-loop callback: ``on_epoch_end`` calls ``step()``. Without
an optimiser, pass ``base_lr`` and use ``lr_at`` directly (e.g. to plot a schedule).
``state_dict()`` holds only numbers and NumPy arrays.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from dlcourse._validation import check_interval

__all__ = [
    "Schedule",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "LinearLR",
    "InverseTimeLR",
    "InverseSqrtLR",
    "CosineAnnealingLR",
    "Warmup",
    "SCHEDULES",
    "get_schedule",
]


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer ≥ {low}; got {value!r}")
    return int(value)


class Schedule:
    """Base class. Subclasses set their hyperparameters (named in ``hyper``), then call
    ``super().__init__(optimizer, base_lr)``, and implement ``_factor(t)`` or ``lr_at``.
    """

    hyper: tuple[str, ...] = ()

    def __init__(self, optimizer: Any = None, base_lr: float | None = None) -> None:
        if base_lr is None:
            if optimizer is None:
                raise ValueError("a schedule needs an optimizer (with an lr) or a base_lr")
            base_lr = optimizer.lr
        self.optimizer = optimizer
        self.base_lr = check_interval("base_lr", base_lr, 0.0, open_low=True)
        self.last_epoch = 0
        self._apply()

    def _factor(self, t: int) -> float:  # pragma: no cover
        raise NotImplementedError

    def lr_at(self, epoch: int) -> float:
        """Learning rate after ``epoch`` completed epochs (closed form)."""
        return self.base_lr * self._factor(_count("epoch", epoch, 0))

    @property
    def lr(self) -> float:
        """The current learning rate, ``lr_at(last_epoch)``."""
        return self.lr_at(self.last_epoch)

    def _apply(self) -> float:
        lr = self.lr
        if self.optimizer is not None:
            self.optimizer.lr = lr
        return lr

    def step(self) -> float:
        """Advance one epoch, set ``optimizer.lr`` and return the new learning rate."""
        self.last_epoch += 1
        return self._apply()

    def on_epoch_end(self, model: Any, epoch: int, history: Any) -> bool:
        """Training-loop callback: step the schedule once per epoch; never stops training."""
        self.step()
        return False

    def state_dict(self) -> dict[str, Any]:
        """``last_epoch``, ``base_lr`` and the hyperparameters (numbers or NumPy arrays)."""
        out: dict[str, Any] = {"last_epoch": self.last_epoch, "base_lr": self.base_lr}
        for name in self.hyper:
            value = getattr(self, name)
            out[name] = np.array(value) if isinstance(value, (list, tuple)) else value
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict()`` (also as read back from .npz) and set ``optimizer.lr``."""
        expected = {"last_epoch", "base_lr", *self.hyper}
        if set(state) != expected:
            raise ValueError(
                f"not a {type(self).__name__} state dict: expected keys {sorted(expected)}, "
                f"got {sorted(state)}"
            )
        self.last_epoch = _count("last_epoch", int(state["last_epoch"]), 0)
        self.base_lr = check_interval("base_lr", float(state["base_lr"]), 0.0, open_low=True)
        for name in self.hyper:
            current, saved = getattr(self, name), np.asarray(state[name])
            if isinstance(current, (list, tuple)):
                setattr(self, name, [type(current[0])(x) for x in saved.ravel()])
            else:
                setattr(self, name, type(current)(saved))
        self._apply()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("base_lr", *self.hyper))
        return f"{type(self).__name__}({args}, last_epoch={self.last_epoch})"


class StepLR(Schedule):
    """η_t = η₀ · γ^⌊t / step_size⌋ (torch ``StepLR``)."""

    hyper = ("step_size", "gamma")

    def __init__(self, optimizer=None, step_size: int = 10, gamma: float = 0.1, *, base_lr=None):
        self.step_size = _count("step_size", step_size, 1)
        self.gamma = check_interval("gamma", gamma, 0.0, open_low=True)
        super().__init__(optimizer, base_lr)

    def _factor(self, t):
        return self.gamma ** (t // self.step_size)


class MultiStepLR(Schedule):
    """η_t = η₀ · γ^(number of milestones ≤ t) (torch ``MultiStepLR``)."""

    hyper = ("milestones", "gamma")

    def __init__(self, optimizer=None, milestones=(30, 60), gamma: float = 0.1, *, base_lr=None):
        self.milestones = sorted(_count("milestone", m, 1) for m in milestones)
        self.gamma = check_interval("gamma", gamma, 0.0, open_low=True)
        super().__init__(optimizer, base_lr)

    def _factor(self, t):
        return self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(Schedule):
    """η_t = η₀ · γ^t (torch ``ExponentialLR``)."""

    hyper = ("gamma",)

    def __init__(self, optimizer=None, gamma: float = 0.95, *, base_lr=None):
        self.gamma = check_interval("gamma", gamma, 0.0, open_low=True)
        super().__init__(optimizer, base_lr)

    def _factor(self, t):
        return self.gamma**t


class LinearLR(Schedule):
    """Linear warm-up or decay of the factor from ``start_factor`` to ``end_factor``.

    η_t = η₀ · (s + (e − s) · min(t, T)/T) with s, e, T = start_factor, end_factor,
    total_iters (torch ``LinearLR``); s < e is a warm-up, s > e a decay. The linear decay
    η_k = (1 − k/τ)η₀ + (k/τ)η_τ that Goodfellow et al. (§8.3.1) recommend for SGD, and
    that some course notes call simulated annealing, is s = 1, e = η_τ/η₀, T = τ (see the
    book's section "Learning-rate schedules").
    """

    hyper = ("start_factor", "end_factor", "total_iters")

    def __init__(
        self,
        optimizer=None,
        start_factor: float = 1 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        *,
        base_lr=None,
    ):
        self.start_factor = check_interval("start_factor", start_factor, 0.0, 1.0, open_low=True)
        self.end_factor = check_interval("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _count("total_iters", total_iters, 1)
        super().__init__(optimizer, base_lr)

    def _factor(self, t):
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return s + (e - s) * min(t, T) / T


class InverseTimeLR(Schedule):
    """η_t = η₀ / (1 + k·t), the classic 1/t decay (torch: ``LambdaLR``)."""

    hyper = ("k",)

    def __init__(self, optimizer=None, k: float = 0.1, *, base_lr=None):
        self.k = check_interval("k", k, 0.0)
        super().__init__(optimizer, base_lr)

    def _factor(self, t):
        return 1.0 / (1.0 + self.k * t)


class InverseSqrtLR(Schedule):
    """η_t = η₀ / √(1 + k·t) (torch: ``LambdaLR``); often combined with :class:`Warmup`."""

    hyper = ("k",)

    def __init__(self, optimizer=None, k: float = 1.0, *, base_lr=None):
        self.k = check_interval("k", k, 0.0)
        super().__init__(optimizer, base_lr)

    def _factor(self, t):
        return 1.0 / math.sqrt(1.0 + self.k * t)


class CosineAnnealingLR(Schedule):
    """η_t = η_min + ½(η₀ − η_min)(1 + cos(π t / T_max)) (torch ``CosineAnnealingLR``).

    The closed form; torch computes the same values recursively. Past T_max the cosine
    continues (the rate rises again), as in torch.
    """

    hyper = ("T_max", "eta_min")

    def __init__(self, optimizer=None, T_max: int = 50, eta_min: float = 0.0, *, base_lr=None):
        self.T_max = _count("T_max", T_max, 1)
        self.eta_min = check_interval("eta_min", eta_min, 0.0)
        super().__init__(optimizer, base_lr)

    def lr_at(self, epoch):
        t = _count("epoch", epoch, 0)
        return (
            self.eta_min
            + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2
        )


class Warmup(Schedule):
    """Linear warm-up for ``warmup_epochs`` epochs, then ``schedule`` restarted at t = 0.

    η_t = η₀ (s + (1 − s) t/w) for t < w, and ``schedule.lr_at(t − w)`` afterwards,
    with s = start_factor and η₀ the wrapped schedule's base rate (torch:
    ``SequentialLR([LinearLR(s, 1, w), schedule], milestones=[w])``).
    """

    hyper = ("warmup_epochs", "start_factor")

    def __init__(self, schedule: Schedule, warmup_epochs: int = 5, start_factor: float = 0.1):
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a Schedule; got {type(schedule).__name__}")
        self.schedule = schedule
        self.warmup_epochs = _count("warmup_epochs", warmup_epochs, 1)
        self.start_factor = check_interval("start_factor", start_factor, 0.0, 1.0, open_low=True)
        super().__init__(schedule.optimizer, schedule.base_lr)

    def lr_at(self, epoch):
        t, w, s = _count("epoch", epoch, 0), self.warmup_epochs, self.start_factor
        if t < w:
            return self.base_lr * (s + (1 - s) * t / w)
        return self.schedule.lr_at(t - w)


SCHEDULES: dict[str, type[Schedule]] = {
    "step": StepLR,
    "multistep": MultiStepLR,
    "exponential": ExponentialLR,
    "linear": LinearLR,
    "inverse_time": InverseTimeLR,
    "inverse_sqrt": InverseSqrtLR,
    "cosine": CosineAnnealingLR,
    "warmup": Warmup,
}


def get_schedule(name: str, *args: Any, **kwargs: Any) -> Schedule:
    """Build a schedule by name, e.g. ``get_schedule("cosine", opt, T_max=30)``."""
    key = str(name).lower()
    if key not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; expected one of {sorted(SCHEDULES)}")
    return SCHEDULES[key](*args, **kwargs)

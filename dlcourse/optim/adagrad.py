"""Adagrad (torch.optim.Adagrad)."""

from __future__ import annotations

from ..backend import namespace
from .base import Optimizer, check

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate step sizes shrinking with the summed squared gradients.

    Pseudo-code (torch.optim.Adagrad), state ``s`` starts at ``initial_accumulator_value``::

        t ← t + 1
        if maximize: g ← −g
        if weight_decay ≠ 0: g ← g + weight_decay·θ
        η_t ← lr / (1 + (t − 1)·lr_decay)
        s ← s + g ⊙ g
        θ ← θ − η_t · g / (√s + eps)

    Relation to the textbook form: AdaGrad as usually taught,
    ``w ← w − ηg/(√M + ε)`` with ``M = Σ g²``, is this algorithm with ``lr_decay = 0``
    and ``initial_accumulator_value = 0`` (equivalent); so is Goodfellow et al.'s
    Alg. 8.4, ``Δθ = −ε g/(δ + √r)``.
    """

    elementwise = True  # may update all parameters as one vector θ
    hyper = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize")

    def __init__(self, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 maximize: bool = False) -> None:  # fmt: skip
        super().__init__(lr, weight_decay, maximize)
        self.lr_decay = check("lr_decay", lr_decay, 0.0)
        self.initial_accumulator_value = check(
            "initial_accumulator_value", initial_accumulator_value, 0.0
        )
        self.eps = check("eps", eps, 0.0, open_low=True)

    def _update(self, param, grad, state):  # grad: after maximize and weight decay
        xp = namespace(param)
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param, self.initial_accumulator_value)
        state["step"] += 1
        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += grad * grad
        param -= clr * grad / (xp.sqrt(state["sum"]) + self.eps)

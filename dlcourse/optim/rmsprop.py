"""RMSprop (torch.optim.RMSprop)."""

from __future__ import annotations

from ..backend import namespace
from .base import Optimizer, check

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    Pseudo-code (torch.optim.RMSprop), all buffers start at zero::

        if maximize: g ← −g
        if weight_decay ≠ 0: g ← g + weight_decay·θ
        v ← alpha·v + (1 − alpha)·g ⊙ g
        if centered:  ḡ ← ḡ + (1 − alpha)·(g − ḡ);   d ← √(v − ḡ ⊙ ḡ) + eps
        else:         d ← √v + eps
        if momentum > 0:  b ← momentum·b + g / d;   θ ← θ − lr·b
        else:             θ ← θ − lr · g / d

    Relation to the textbook forms: Goodfellow et al. Alg. 8.5 (decay ρ = alpha) uses
    ``Δθ = −ε g / √(δ + r)``, with the small constant *inside* the square root; torch
    adds eps *after* it. The two agree only up to terms of order eps (they differ
    noticeably where r is tiny), so they are close but not identical. The form
    usually taught, ``w ← w − ηg/(√M + ε)`` is exactly the default (uncentred, no momentum)
    case. ``centered=True`` divides by an estimate of the standard deviation of the
    gradient instead of its root mean square (Graves, 2013).
    """

    elementwise = True  # may update all parameters as one vector θ
    hyper = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False) -> None:  # fmt: skip
        super().__init__(lr, weight_decay, maximize)
        self.alpha = check("alpha", alpha, 0.0, 1.0)
        self.eps = check("eps", eps, 0.0, open_low=True)
        self.momentum = check("momentum", momentum, 0.0)
        self.centered = bool(centered)

    def _update(self, param, grad, state):  # grad: after maximize and weight decay
        xp = namespace(param)
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if self.momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if self.centered:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        square_avg = state["square_avg"]
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * grad * grad
        if self.centered:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - self.alpha) * (grad - grad_avg)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg) + self.eps
        else:
            avg = xp.sqrt(square_avg) + self.eps
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += grad / avg
            param -= self.lr * buf
        else:
            param -= self.lr * grad / avg

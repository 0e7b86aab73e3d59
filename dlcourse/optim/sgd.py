"""Stochastic gradient descent with momentum and Nesterov (torch.optim.SGD)."""

from __future__ import annotations

from .base import Optimizer, check, copy

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, Nesterov and weight decay.

    Pseudo-code (torch.optim.SGD), for each parameter θ with gradient g::

        if maximize: g ← −g
        if weight_decay ≠ 0: g ← g + weight_decay·θ          (L2 term added to the gradient)
        if momentum ≠ 0:
            b ← g                                  on the first step
            b ← momentum·b + (1 − dampening)·g     afterwards
            g ← g + momentum·b   if nesterov   else   g ← b
        θ ← θ − lr·g

    Relation to the textbook forms. Goodfellow et al. Alg. 8.2 and Nielsen write
    momentum with a velocity, ``v ← μv − ηg;  θ ← θ + v``. With zero dampening and a
    constant η the two are the same algorithm: ``v = −η·b`` at every step (the first
    step agrees because ``v₀ = 0``). They differ when η changes during training: the
    velocity remembers old learning rates, torch's buffer ``b`` is rescaled by the
    current one. Nesterov's accelerated gradient as usually taught evaluates the
    gradient at the look-ahead point, ``v ← αv − η∇J(θ + αv);  θ ← θ + v``. Writing
    ``φ = θ + αv`` turns it into exactly the ``nesterov=True`` update above applied to
    φ, so torch (and this class) stores the look-ahead point φ as the parameters:
    equivalent, up to that change of variables.
    """

    elementwise = True  # may update all parameters as one vector θ
    hyper = ("lr", "momentum", "dampening", "nesterov", "weight_decay", "maximize")

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0,
                 maximize: bool = False) -> None:  # fmt: skip
        super().__init__(lr, weight_decay, maximize)
        self.momentum = check("momentum", momentum, 0.0)
        self.dampening = check("dampening", dampening, 0.0, 1.0, open_high=False)
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0; got "
                f"momentum={momentum!r}, dampening={dampening!r}"
            )
        self.nesterov = bool(nesterov)

    def _update(self, param, grad, state):  # grad: after maximize and weight decay
        if self.momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = buf = copy(grad)
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= self.lr * grad

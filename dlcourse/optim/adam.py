"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""

from __future__ import annotations

from ..backend import array_module, namespace
from .base import Optimizer, check

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam: momentum on the gradient and on its square, with bias correction.

    Pseudo-code (torch.optim.Adam), ``m``, ``v`` (and ``v_max``) start at zero::

        t ← t + 1
        if maximize: g ← −g
        if weight_decay ≠ 0: g ← g + weight_decay·θ          (coupled: an L2 term)
        m ← m + (1 − β₁)·(g − m)                             (= β₁m + (1 − β₁)g)
        v ← β₂·v + (1 − β₂)·g ⊙ g
        if amsgrad: v_max ← max(v_max, v);  v̂ ← v_max  else  v̂ ← v
        θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + eps)

    Relation to the textbook form: Goodfellow et al. Alg. 8.7 (ρ₁, ρ₂, δ = β₁, β₂, eps)
    computes ``ŝ = s/(1 − ρ₁ᵗ)``, ``r̂ = r/(1 − ρ₂ᵗ)``, ``Δθ = −ε ŝ/(√r̂ + δ)``: the same
    update, written with the bias corrections applied to the moments instead of folded
    into the step size, so it is equivalent (for ``weight_decay = 0``,
    ``amsgrad=False``). ``amsgrad=True`` is the variant of Reddi et al. (2018) that never
    lets the denominator shrink.
    """

    elementwise = True  # may update all parameters as one vector θ
    hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 maximize: bool = False) -> None:  # fmt: skip
        super().__init__(lr, weight_decay, maximize)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}")
        self.betas = (
            check("betas[0]", betas[0], 0.0, 1.0),
            check("betas[1]", betas[1], 0.0, 1.0),
        )
        self.eps = check("eps", eps, 0.0, open_low=True)
        self.amsgrad = bool(amsgrad)

    def _update(self, param, grad, state):  # grad: after maximize and coupled weight decay
        xp = namespace(param)
        beta1, beta2 = self.betas
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if self.amsgrad:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        if self.decoupled_weight_decay and self.weight_decay != 0:
            param *= 1 - self.lr * self.weight_decay
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        # the formulas above, written into two reused scratch arrays (same rounding)
        ops = array_module(param)  # numpy or torch: their functions take out=
        change, denom = self._scratch(param, 0), self._scratch(param, 1)
        ops.subtract(grad, exp_avg, out=change)
        change *= 1 - beta1
        exp_avg += change  # m ← m + (1 − β₁)(g − m)
        exp_avg_sq *= beta2
        ops.multiply(grad, 1 - beta2, out=change)
        change *= grad
        exp_avg_sq += change  # v ← β₂v + (1 − β₂) g ⊙ g
        if self.amsgrad:
            state["max_exp_avg_sq"] = second = xp.maximum(state["max_exp_avg_sq"], exp_avg_sq)
        else:
            second = exp_avg_sq
        step_size = self.lr / (1 - beta1**t)
        ops.sqrt(second, out=denom)
        denom /= (1 - beta2**t) ** 0.5
        denom += self.eps  # √v̂ / √(1 − β₂ᵗ) + eps
        ops.multiply(exp_avg, step_size, out=change)
        change /= denom
        param -= change  # θ ← θ − (lr / (1 − β₁ᵗ)) m / denom


class AdamW(Adam):
    r"""AdamW: Adam with *decoupled* weight decay (Loshchilov & Hutter, 2019).

    Pseudo-code (torch.optim.AdamW): exactly :class:`Adam`, except that the weight
    decay does not enter the gradient (and so is not rescaled by the adaptive
    denominator); instead, before the moment updates::

        θ ← θ · (1 − lr·weight_decay)

    With plain SGD the two forms coincide (Nielsen's factor ``1 − ηλ/n`` is this decay
    with ``weight_decay = λ/n``); with Adam they do not, which is why AdamW exists.
    """

    decoupled_weight_decay = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False) -> None:  # fmt: skip
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize)

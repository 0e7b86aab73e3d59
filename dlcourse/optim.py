"""Optimisers with torch.optim's algorithms, defaults and argument names.

Every optimiser updates a list of parameter arrays in place::

    opt = Adam(lr=1e-3)
    opt.step(net.parameters(), net.gradients(X, Y))

State (momentum buffers, moment estimates, step counts) is kept per parameter, keyed
by the parameter's *position* in the list, so the same list order must be passed on
every call. ``state_dict()`` returns a flat ``dict[str, number | ndarray]`` that
``np.savez`` stores without pickle; ``load_state_dict`` restores it so that training
resumes bit for bit. ``lr`` is a plain attribute: learning-rate schedules set it.

The arithmetic uses only operators and the array-API namespace of the parameters, so
NumPy arrays and torch tensors both work.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import array_api_compat
import numpy as np

from ._validation import check_interval
from .backend import namespace

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "OPTIMIZERS"]


# torch.optim's ranges are closed below and open above unless a call says otherwise
_check = functools.partial(check_interval, open_high=True)


def _copy(a):
    """A fresh copy of array ``a`` in its own namespace."""
    return namespace(a).asarray(a, copy=True)


def _to_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor, possibly on a GPU
        a = a.detach().cpu().numpy()
    return np.array(a, copy=True)


def _like(saved, param):
    """``saved`` (e.g. a NumPy array from a checkpoint) as an array next to ``param``."""
    if type(saved) is type(param):
        return saved
    xp = namespace(param)
    return xp.asarray(np.asarray(saved), dtype=param.dtype, device=array_api_compat.device(param))


class Optimizer:
    """Base class: hyperparameters, per-parameter state, checkpointing.

    Subclasses list their hyperparameters in ``hyper`` (constructor argument names,
    in order) and implement ``_update(param, grad, state)`` for one parameter array,
    where ``state`` is that parameter's dict of buffers (empty on the first step).
    """

    hyper: tuple[str, ...] = ("lr",)

    def __init__(self, lr: float) -> None:
        self.lr = _check("lr", lr, 0.0, open_low=True)
        self.state: dict[int, dict[str, Any]] = {}

    @property
    def lr(self) -> float:
        """Current learning rate η (schedules set it between steps; must be ≥ 0)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check("lr", value, 0.0)

    def step(self, params: Sequence, grads: Sequence) -> None:
        """Update every ``params[i]`` in place from ``grads[i]`` (same shapes)."""
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} parameter arrays but {len(grads)} gradients")
        if self.state and max(self.state) >= len(params):
            raise ValueError(
                f"this optimiser holds state for {max(self.state) + 1} parameter arrays but "
                f"step() got {len(params)}; call zero_state() before changing the parameters"
            )
        for i, (p, g) in enumerate(zip(params, grads)):
            if tuple(p.shape) != tuple(g.shape):
                raise ValueError(
                    f"gradient {i} has shape {tuple(g.shape)}; parameter {i} has {tuple(p.shape)}"
                )
            state = self.state.setdefault(i, {})
            for key, buf in state.items():
                if not isinstance(buf, (int, float)):
                    if tuple(buf.shape) != tuple(p.shape):
                        raise ValueError(
                            f"state {key!r} of parameter {i} has shape {tuple(buf.shape)}; "
                            f"the parameter has {tuple(p.shape)}"
                        )
                    state[key] = _like(buf, p)
            self._update(p, -g if getattr(self, "maximize", False) else g, state)

    def _update(self, param, grad, state: dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def zero_state(self) -> None:
        """Forget all per-parameter state (momentum buffers, moments, step counts)."""
        self.state = {}

    def state_dict(self) -> dict[str, Any]:
        """Flat dict: hyperparameters by name, and ``"state.<i>.<buffer>"`` entries.

        Values are Python numbers, booleans or NumPy arrays (copies), so
        ``np.savez(path, **opt.state_dict())`` works without pickle.
        """
        out: dict[str, Any] = {}
        for name in self.hyper:
            value = getattr(self, name)
            out[name] = np.array(value, dtype=np.float64) if isinstance(value, tuple) else value
        for i, state in sorted(self.state.items()):
            for key, buf in state.items():
                out[f"state.{i}.{key}"] = buf if isinstance(buf, (int, float)) else _to_numpy(buf)
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (or read from .npz)."""
        missing = [k for k in self.hyper if k not in state_dict]
        unknown = [k for k in state_dict if k not in self.hyper and not k.startswith("state.")]
        if missing or unknown:
            raise ValueError(
                f"not a {type(self).__name__} state dict: missing {missing}, unexpected "
                f"{unknown}; expected the keys {list(self.hyper)} and 'state.<i>.<buffer>'"
            )
        values = {}
        for name in self.hyper:
            current, saved = getattr(self, name), state_dict[name]
            if isinstance(current, bool):
                values[name] = bool(saved)
            elif isinstance(current, tuple):
                values[name] = tuple(float(x) for x in np.asarray(saved).ravel())
            else:
                values[name] = float(saved)
        lr = values.pop("lr")
        type(self).__init__(self, **values, lr=lr if lr > 0 else 1.0)  # re-validates
        self.lr = lr  # may be 0 (e.g. the end of a cosine schedule)
        for key, saved in state_dict.items():
            if key.startswith("state."):
                _, i, buf = key.split(".", 2)
                saved = np.asarray(saved)
                value = int(saved) if buf == "step" else np.array(saved, copy=True)
                self.state.setdefault(int(i), {})[buf] = value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyper)
        return f"{type(self).__name__}({args})"


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
    current one. The Bristol notes' Nesterov accelerated gradient evaluates the
    gradient at the look-ahead point, ``v ← αv − η∇J(θ + αv);  θ ← θ + v``. Writing
    ``φ = θ + αv`` turns it into exactly the ``nesterov=True`` update above applied to
    φ, so torch (and this class) stores the look-ahead point φ as the parameters:
    equivalent, up to that change of variables.
    """

    hyper = ("lr", "momentum", "dampening", "nesterov", "weight_decay", "maximize")

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        super().__init__(lr)
        self.momentum = _check("momentum", momentum, 0.0)
        self.dampening = _check("dampening", dampening, 0.0, 1.0, open_high=False)
        self.weight_decay = _check("weight_decay", weight_decay, 0.0)
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0; got "
                f"momentum={momentum!r}, dampening={dampening!r}"
            )
        self.nesterov, self.maximize = bool(nesterov), bool(maximize)

    def _update(self, param, grad, state):
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        if self.momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = buf = _copy(grad)
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= self.lr * grad


class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate step sizes shrinking with the summed squared gradients.

    Pseudo-code (torch.optim.Adagrad), state ``s`` starts at ``initial_accumulator_value``::

        t ← t + 1
        if maximize: g ← −g
        if weight_decay ≠ 0: g ← g + weight_decay·θ
        η_t ← lr / (1 + (t − 1)·lr_decay)
        s ← s + g ⊙ g
        θ ← θ − η_t · g / (√s + eps)

    Relation to the textbook form: the Bristol notes' AdaGrad,
    ``w ← w − ηg/(√M + ε)`` with ``M = Σ g²``, is this algorithm with ``lr_decay = 0``
    and ``initial_accumulator_value = 0`` (equivalent); so is Goodfellow et al.'s
    Alg. 8.4, ``Δθ = −ε g/(δ + √r)``.
    """

    hyper = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize")

    def __init__(
        self,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        super().__init__(lr)
        self.lr_decay = _check("lr_decay", lr_decay, 0.0)
        self.weight_decay = _check("weight_decay", weight_decay, 0.0)
        self.initial_accumulator_value = _check(
            "initial_accumulator_value", initial_accumulator_value, 0.0
        )
        self.eps = _check("eps", eps, 0.0, open_low=True)
        self.maximize = bool(maximize)

    def _update(self, param, grad, state):
        xp = namespace(param)
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param, self.initial_accumulator_value)
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += grad * grad
        param -= clr * grad / (xp.sqrt(state["sum"]) + self.eps)


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
    noticeably where r is tiny), so they are close but not identical. The Bristol
    notes' form ``w ← w − ηg/(√M + ε)`` is exactly the default (uncentred, no momentum)
    case. ``centered=True`` divides by an estimate of the standard deviation of the
    gradient instead of its root mean square (Graves, 2013).
    """

    hyper = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")

    def __init__(
        self,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(lr)
        self.alpha = _check("alpha", alpha, 0.0, 1.0)
        self.eps = _check("eps", eps, 0.0, open_low=True)
        self.weight_decay = _check("weight_decay", weight_decay, 0.0)
        self.momentum = _check("momentum", momentum, 0.0)
        self.centered, self.maximize = bool(centered), bool(maximize)

    def _update(self, param, grad, state):
        xp = namespace(param)
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if self.momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if self.centered:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
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

    hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")
    _decoupled = False

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(lr)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}")
        self.betas = (
            _check("betas[0]", betas[0], 0.0, 1.0),
            _check("betas[1]", betas[1], 0.0, 1.0),
        )
        self.eps = _check("eps", eps, 0.0, open_low=True)
        self.weight_decay = _check("weight_decay", weight_decay, 0.0)
        self.amsgrad, self.maximize = bool(amsgrad), bool(maximize)

    def _update(self, param, grad, state):
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
        if self.weight_decay != 0:
            if self._decoupled:
                param *= 1 - self.lr * self.weight_decay
            else:
                grad = grad + self.weight_decay * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if self.amsgrad:
            state["max_exp_avg_sq"] = second = xp.maximum(state["max_exp_avg_sq"], exp_avg_sq)
        else:
            second = exp_avg_sq
        step_size = self.lr / (1 - beta1**t)
        denom = xp.sqrt(second) / (1 - beta2**t) ** 0.5 + self.eps
        param -= step_size * exp_avg / denom


class AdamW(Adam):
    r"""AdamW: Adam with *decoupled* weight decay (Loshchilov & Hutter, 2019).

    Pseudo-code (torch.optim.AdamW): exactly :class:`Adam`, except that the weight
    decay does not enter the gradient (and so is not rescaled by the adaptive
    denominator); instead, before the moment updates::

        θ ← θ · (1 − lr·weight_decay)

    With plain SGD the two forms coincide (Nielsen's factor ``1 − ηλ/n`` is this decay
    with ``weight_decay = λ/n``); with Adam they do not, which is why AdamW exists.
    """

    _decoupled = True

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def get_optimizer(name: str | Optimizer, **kwargs: Any) -> Optimizer:
    """Build an optimiser from its name (``"sgd"``, ``"adam"``, ...) and keyword arguments."""
    if isinstance(name, Optimizer):
        return name
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[key](**kwargs)

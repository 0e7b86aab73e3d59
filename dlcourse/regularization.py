"""Regularisation: weight penalties, dropout, constraints, gradient clipping, early stopping.

Notation as in the book: n is the size of the whole training set, m a mini-batch,
η the learning rate and λ (``l2``/``l1``) the regularisation parameter. Weight
penalties apply to weights only, never to biases. Weight matrices are ``(n_l, n_{l-1})``:
row j holds the weights *into* unit j.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .backend import is_torch, namespace

__all__ = [
    "l2_cost",
    "l2_grad",
    "weight_decay_factor",
    "l1_cost",
    "l1_grad",
    "decoupled_weight_decay",
    "dropout",
    "dropconnect",
    "max_norm",
    "clip_grad_norm",
    "ClipGradNorm",
    "EarlyStopping",
]


def _nonneg(name: str, value: Any) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number ≥ 0; got {value!r}")
    return v


def _size(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (the training-set size) must be a positive integer; got {n!r}")
    return int(n)


def l2_cost(weights: Sequence, l2: float, n: int) -> float:
    """Nielsen's L2 term λ/(2n) Σ_w w², summed over every weight matrix in ``weights``."""
    l2, n = _nonneg("l2", l2), _size(n)
    total = sum(float((W * W).sum() if is_torch(W) else np.vdot(W, W)) for W in weights)
    return l2 / (2 * n) * total


def l2_grad(W, l2: float, n: int):
    """∂/∂W of the L2 term: (λ/n) W, same shape as ``W``."""
    return (_nonneg("l2", l2) / _size(n)) * W


def weight_decay_factor(lr: float, l2: float, n: int) -> float:
    """The factor 1 − ηλ/n by which a gradient step on C₀ + λ/(2n)Σw² first shrinks w.

    w ← w − η(∂C₀/∂w + (λ/n)w) = (1 − ηλ/n) w − η ∂C₀/∂w.
    """
    return 1.0 - _nonneg("lr", lr) * _nonneg("l2", l2) / _size(n)


def l1_cost(weights: Sequence, l1: float, n: int) -> float:
    """The L1 term λ/n Σ_w |w|."""
    l1, n = _nonneg("l1", l1), _size(n)
    return l1 / n * sum(float(namespace(W).abs(W).sum()) for W in weights)


def l1_grad(W, l1: float, n: int):
    """∂/∂W of the L1 term: (λ/n) sgn(W), with sgn(0) = 0."""
    return (_nonneg("l1", l1) / _size(n)) * namespace(W).sign(W)


def decoupled_weight_decay(weights: Sequence, lr: float, weight_decay: float) -> None:
    """Shrink each weight array in place: W ← (1 − η·weight_decay) W (AdamW's decay).

    Applied *outside* the gradient, so an adaptive optimiser does not rescale it. For
    plain SGD it equals Nielsen's L2 update with ``weight_decay = λ/n``.
    """
    factor = 1.0 - _nonneg("lr", lr) * _nonneg("weight_decay", weight_decay)
    for W in weights:
        W *= factor


def _check_p(p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p < 1:
        raise ValueError(f"dropout probability p must lie in [0, 1); got {p!r}")
    return float(p)


def _mask(shape, p: float, rng, dtype) -> np.ndarray:
    if rng is None or isinstance(rng, bool):
        raise TypeError("dropout needs an explicit rng (np.random.Generator) or an int seed")
    rng = np.random.default_rng(rng)
    keep = rng.random(shape) >= p
    return keep.astype(dtype) / np.asarray(1 - p, dtype=dtype)


def dropout(a, p: float, rng, training: bool = True):
    """Inverted dropout: zero each entry of ``a`` with probability p, scale the rest by 1/(1−p).

    Returns ``(out, mask)`` with ``out = a * mask``; ``mask`` (same shape as ``a``) holds
    0 or 1/(1−p), so E[out] = a and the backward pass is ``grad_out * mask``. Because the
    scaling happens during training, evaluation needs no change ("double the weights
    during learning" rather than "halve them at test time"). With ``training=False``
    (or p = 0) it is the identity: ``out is a`` and the mask is all ones. ``rng`` is a
    ``np.random.Generator`` or a seed; the same seed gives the same mask.
    """
    p = _check_p(p)
    if not training or p == 0:
        return a, np.ones(np.shape(a), dtype=_dtype(a))
    mask = _mask(np.shape(a), p, rng, _dtype(a))
    return a * _as(mask, a), mask


def dropconnect(W, p: float, rng, training: bool = True):
    """DropConnect: drop individual *weights* (connections) instead of units.

    Same contract as :func:`dropout`, applied to a weight matrix ``W`` of shape
    ``(n_l, n_{l-1})``: returns ``(W * mask, mask)``, with the inverted 1/(1−p) scaling
    so that the expected weight is W and evaluation uses W itself. (Wan et al. 2013
    instead do not rescale and approximate the average network at test time.)
    """
    return dropout(W, p, rng, training)


def _dtype(a):
    dtype = getattr(a, "dtype", np.float64)
    return dtype if isinstance(dtype, np.dtype) and dtype.kind == "f" else np.float64


def _as(mask: np.ndarray, like):
    if isinstance(like, np.ndarray) or np.isscalar(like):
        return mask
    import array_api_compat

    xp = namespace(like)
    return xp.asarray(mask, dtype=like.dtype, device=array_api_compat.device(like))


def max_norm(W, c: float):
    """Max-norm constraint, in place: rescale every row of ``W`` with ‖row‖₂ > c to norm c.

    Row j of ``W`` (shape ``(n_l, n_{l-1})``) is the incoming weight vector of unit j.
    Returns ``W`` (the same array).
    """
    c = float(c)
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"max-norm c must be a finite number > 0; got {c!r}")
    xp = namespace(W)
    norms = xp.sqrt(xp.sum(W * W, axis=-1, keepdims=True))
    W *= c / xp.clip(norms, min=c)  # exactly 1 for rows already inside the ball
    return W


def clip_grad_norm(grads: Sequence, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients in place so their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the vector of all entries of all arrays
    (``math.inf`` for the max-abs norm); every array is multiplied by
    min(1, max_norm / (total + 1e-6)), as torch.nn.utils.clip_grad_norm_. Returns the
    total norm *before* clipping.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not (math.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"max_norm must be a finite number > 0; got {max_norm!r}")
    if not norm_type > 0:
        raise ValueError(f"norm_type must be > 0 or inf; got {norm_type!r}")
    if len(grads) == 0:
        return 0.0
    xp = namespace(*grads)
    norms = [float(xp.linalg.vector_norm(g, ord=norm_type)) for g in grads]
    total = float(np.linalg.norm(np.array(norms), ord=norm_type))
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef
    return total


class EarlyStopping:
    """Training-loop callback: stop when a validation metric stops improving.

    After each epoch it reads the last entry of ``history.<monitor>`` (or
    ``history[monitor]``). An epoch *improves* if the value beats the best so far by
    more than ``min_delta`` (larger for ``mode="max"``, smaller for ``"min"``;
    ``"auto"`` picks max for accuracies, min for costs). After ``patience`` epochs in a
    row without improvement ``on_epoch_end`` returns True (stop). ``best_epoch`` and
    ``best`` record the best epoch; with ``restore_best=True`` the parameters of that
    epoch (from ``model.parameters()``) are copied back, in place, when it stops.
    """

    def __init__(
        self,
        monitor: str = "val_accuracy",
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best: bool = False,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)):
            raise ValueError(f"patience must be an integer ≥ 0; got {patience!r}")
        if patience < 0:
            raise ValueError(f"patience must be an integer ≥ 0; got {patience!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min', 'max' or 'auto'; got {mode!r}")
        self.monitor, self.patience, self.mode = monitor, int(patience), mode
        self.min_delta = _nonneg("min_delta", min_delta)
        self.restore_best = bool(restore_best)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._best_params: list | None = None

    def _value(self, history: Any) -> float:
        values = (
            history.get(self.monitor)
            if isinstance(history, Mapping)
            else getattr(history, self.monitor, None)
        )
        if not values or values[-1] is None:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r} but the history has no value for it; "
                "pass validation data to fit (or monitor a training metric)"
            )
        return float(values[-1])

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_epoch_end(self, model: Any, epoch: int, history: Any) -> bool:
        """Record ``history``'s latest value; return True when training should stop."""
        value = self._value(history)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self._best_params = [namespace(p).asarray(p, copy=True) for p in model.parameters()]
            return False
        self.wait += 1
        if self.wait < max(self.patience, 1):
            return False
        self.stopped_epoch = epoch
        if self.restore_best and self._best_params is not None:
            for p, saved in zip(model.parameters(), self._best_params):
                p[...] = saved
        return True


class ClipGradNorm:
    """Gradient clipping by global norm for ``fit``: wraps an optimiser and clips before each
    step, ``g ← g · min(1, c / ‖g‖)`` with ‖g‖ the norm over all parameters together (see
    :func:`clip_grad_norm`). Use ``model.fit(..., optimizer=ClipGradNorm(Adam(lr=1e-3), 1.0))``.

    The learning rate and the checkpoint state are the wrapped optimiser's (schedules set
    ``lr`` through the wrapper); ``last_norm`` holds the norm before the latest clip. The
    gradients passed to ``step`` are scaled in place.
    """

    def __init__(self, optimizer, max_norm: float, norm_type: float = 2.0) -> None:
        if not callable(getattr(optimizer, "step", None)):
            raise TypeError(f"optimizer must have a step(params, grads) method; got {optimizer!r}")
        clip_grad_norm([], max_norm, norm_type)  # validates the arguments
        self.optimizer, self.max_norm, self.norm_type = optimizer, float(max_norm), norm_type
        self.last_norm = math.nan

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = value

    def step(self, params: Sequence, grads: Sequence) -> None:
        self.last_norm = clip_grad_norm(grads, self.max_norm, self.norm_type)
        self.optimizer.step(params, grads)

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state_dict)

    def __repr__(self) -> str:
        return f"ClipGradNorm({self.optimizer!r}, max_norm={self.max_norm})"

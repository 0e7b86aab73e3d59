"""Hebbian learning (Chapter 1): a synapse strengthens when its two cells are active together.

Hebb's postulate, written for one neuron with inputs ``x`` (shape ``(n,)``), weights ``w``
and output ``y`` (eq. ``eq-hebb``):

    Δw_j = η x_j y.

The change uses only what the synapse can see: the activity before it (x_j) and after it
(y). Three forms:

- **Supervised Hebb** (:func:`hebb_weights`): the output is clamped to the target
  ``t ∈ {-1, +1}`` of each example, so one pass over ``m`` examples gives
  ``w = η Σ_i t_i x_i`` and ``b = η Σ_i t_i`` (the bias as the weight of an input fixed at 1).
  Every example adds to the weights, whether the neuron already answers it correctly or not.
- **Plain Hebb** on a linear neuron ``y = w·x`` (:func:`plasticity`, ``rule="hebb"``):
  ``Δw = η (x xᵀ) w``, so ``w`` turns towards the leading eigenvector of ``E[x xᵀ]`` and its
  length grows without bound.
- **Oja's rule** (``rule="oja"``, eq. ``eq-oja``): ``Δw = η y (x − y w)``; the decay term
  ``−η y² w`` holds ``‖w‖`` near 1, and ``w`` converges to ± the leading eigenvector, the
  first principal component of centred data.

Rows of ``X`` are examples: ``X`` has shape ``(m, n)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hebb_weights", "plasticity"]

_RULES = ("hebb", "oja")


def _as_inputs(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (m, n) with m >= 1; got an array of shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must contain only finite numbers; got NaN or infinity")
    return X


def _targets(y, m: int) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != m:
        raise ValueError(f"X has {m} rows but y has {y.shape[0]} labels; they must match")
    values = set(np.unique(y).tolist())
    if values <= {0, 1}:
        return np.where(y == 1, 1.0, -1.0)
    if values <= {-1, 1}:
        return y.astype(np.float64)
    raise ValueError(f"labels must be in {{0, 1}} or {{-1, +1}}; got the values {sorted(values)}")


def hebb_weights(X, y, lr: float = 1.0) -> tuple[np.ndarray, float]:
    """Supervised Hebb: one pass with the output clamped to the target.

    X: (m, n) inputs; y: (m,) labels in {0, 1} or {-1, +1} (0 is read as -1).
    Returns ``(w, b)`` with ``w = lr Σ_i t_i x_i`` of shape (n,) and ``b = lr Σ_i t_i``
    (eq. ``eq-hebb`` summed over the examples). Use them as
    ``Perceptron(w, bias=b).predict(X)``.
    """
    X = _as_inputs(X)
    t = _targets(y, X.shape[0])
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number; got {lr}")
    return lr * (t @ X), float(lr * t.sum())


def plasticity(X, w0, lr: float, epochs: int, rule: str = "hebb") -> np.ndarray:
    """Unsupervised Hebbian learning of a linear neuron ``y = w·x``, one example at a time.

    Each example of X (m, n), in the order of its rows, applies

    - ``rule="hebb"``: ``w ← w + lr y x``;
    - ``rule="oja"``:  ``w ← w + lr y (x − y w)`` (eq. ``eq-oja``).

    w0: (n,) starting weights. Returns the weights at the end of every epoch, with ``w0``
    first: shape (epochs + 1, n). Plain Hebb may overflow to infinity for large
    ``lr · epochs``, which is what it does.
    """
    X = _as_inputs(X)
    w = np.array(w0, dtype=np.float64).reshape(-1)
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"w0 has {w.shape[0]} weights but X has {X.shape[1]} features")
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}; got {rule!r}")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number; got {lr}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer; got {epochs!r}")
    history = [w.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(epochs)):
            for x in X:
                y = w @ x
                if rule == "hebb":
                    w = w + lr * y * x
                else:
                    w = w + lr * y * (x - y * w)
            history.append(w.copy())
    return np.array(history)

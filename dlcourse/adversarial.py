"""Adversarial examples: the fast gradient sign method (FGSM) for a :class:`~dlcourse.layers.Model`.

FGSM (Goodfellow, Shlens and Szegedy, 2015) moves every input pixel by ±ε in the direction
that increases the example's own cost C_x (``eq-fgsm``):

    x_adv = clip(x + ε · sign(∇_x C_x), 0, 1)

The gradient with respect to the *input* is one more step of backpropagation: BP2 carried
past the first layer, which is what every layer's ``backward`` returns as ``dx``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fgsm", "input_gradient"]


def input_gradient(model, X, Y) -> np.ndarray:
    """∇_x C_x for every row: gradient of each example's own cost w.r.t. its input.

    model: a :class:`~dlcourse.layers.Model` (evaluation mode is used: no dropout noise).
    X: (m, n_in); Y: (m, k) targets as the model's cost expects. Returns (m, n_in). Row i
    depends only on example i (the batch mean's 1/m is *not* applied).
    """
    X = model._check_X(X)
    Y = model._check_Y(Y, X.shape[0])
    z = model.body.forward(X, False)
    a = model.output.fn(z)
    delta = model.cost_fn.delta(z, a, Y, model.output)  # BP1, per example
    return np.asarray(model.body.backward(delta))


def fgsm(model, X, Y, eps: float, clip=(0.0, 1.0)) -> np.ndarray:
    """Adversarial copies of X by the fast gradient sign method (``eq-fgsm``).

    X: (m, n_in) inputs in the range ``clip``; Y: (m, k) targets; eps >= 0 the step per
    pixel (the L-infinity size of the perturbation). ``clip=None`` leaves the range open.
    Returns an array of the shape of X; X itself is not changed.
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise TypeError(f"eps must be a number; got {type(eps).__name__}")
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0; got {eps!r}")
    X_adv = model._check_X(X) + eps * np.sign(input_gradient(model, X, Y))
    if clip is not None:
        low, high = clip
        X_adv = np.clip(X_adv, low, high)
    return X_adv

"""Saliency maps: the gradient of a class score with respect to the input image.

For a :class:`~dlcourse.layers.Model` whose last layer is the softmax, the class score is
the logit ``z_c`` just before it (Simonyan, Vedaldi and Zisserman, 2014). Its gradient
``∂z_c/∂x`` has the shape of the input; one backward pass through the model's own layers,
started from the one-hot vector of class ``c`` instead of a loss gradient, computes it for a
whole batch (each row's score depends on its own image only in evaluation mode, where batch
normalisation uses its running statistics):

    ``S[i] = ∂ z_{c_i}(x_i) / ∂ x_i``     (shape of ``x_i``, e.g. (C, H, W))

The picture usually drawn is ``|S[i]|``, maximised over the channels. It says which pixels
would change the score fastest if nudged, for this image and this network: a local,
first-order statement, not where the object is or why the network decided.
"""

from __future__ import annotations

import numpy as np

__all__ = ["class_scores", "saliency", "score_gradient"]


def class_scores(model, X) -> np.ndarray:
    """The logits ``z`` of shape (m, k): the model's output before its final activation,
    in evaluation mode."""
    X = model._check_X(X)
    return model.body.forward(X, training=False)


def score_gradient(model, X, directions) -> np.ndarray:
    """``∂ (Σ_c r[i, c] z_c(x_i)) / ∂ x_i`` for every example: the gradient of a weighted sum
    of the class scores, ``directions`` ``r`` of shape (m, k) (a one-hot row gives the
    saliency of that class; random signs give the *random-sign control*, a map that belongs
    to no class). Evaluation mode; the model's own backward pass."""
    z = class_scores(model, X)
    r = np.asarray(directions, dtype=z.dtype)
    if r.shape != z.shape:
        raise ValueError(f"directions must have the shape of the scores {z.shape}; "
                         f"got {r.shape}")  # fmt: skip
    return model.body.backward(r)


def saliency(model, X, classes) -> np.ndarray:
    """``∂ z_{c_i} / ∂ x_i`` for every example, of the shape of ``X`` (m, ...).

    ``model``: a :class:`~dlcourse.layers.Model` (evaluation mode is used: dropout off,
    batch normalisation with running statistics); ``X``: its inputs; ``classes``: one class
    index per example (m,), or one index for all. The backward pass is the model's own
    (``model.body.backward``); the layers' parameter gradients are overwritten.
    """
    z = class_scores(model, X)
    m, k = z.shape
    classes = np.broadcast_to(np.asarray(classes), (m,))
    if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0 or classes.max() >= k:
        raise ValueError(f"classes must be integer class indices in [0, {k}); got {classes!r}")
    dz = np.zeros_like(z)
    dz[np.arange(m), classes] = 1.0
    return model.body.backward(dz)

"""Classification metrics: accuracy, per-class accuracy, confusion matrix.

Labels are integer class indices of shape ``(m,)``. Where a 2-D array of shape ``(m, k)`` is
given instead (one-hot targets or network outputs), it is turned into labels by ``argmax``
along the last axis, so ``accuracy(Y_onehot, net.forward(X))`` works too.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import class_labels
from dlcourse.backend import is_torch


def _labels(y, name: str) -> np.ndarray:
    """Labels (m,) (the rule of ``_validation.class_labels``) or rows (m, k) read by argmax."""
    y = np.asarray(y)
    if y.ndim == 2:
        return np.argmax(y, axis=1)
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (m,) or (m, k); got shape {y.shape}")
    return class_labels(y, name)


def output_labels(A):
    """Class labels of output rows ``A`` of shape ``(m, k)``, shape ``(m,)`` (int64): argmax of
    each row; with one output unit (k = 1), 1 where the output exceeds 0.5 and 0 elsewhere.
    ``A`` may be a NumPy array or a torch tensor (the labels are of the same kind)."""
    if is_torch(A):
        return (A[:, 0] > 0.5).long() if A.shape[1] == 1 else A.argmax(dim=1)
    if A.shape[1] == 1:
        return (A[:, 0] > 0.5).astype(np.int64)
    return np.argmax(A, axis=1)


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must hold the same number of labels; got {t.shape[0]} "
            f"and {p.shape[0]}"
        )
    return t, p


def accuracy(y_true, y_pred) -> float:
    """Fraction of examples where ``y_pred == y_true`` (a float in [0, 1]; 0 for no examples)."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p)) if t.size else 0.0


def confusion_matrix(y_true, y_pred, k: int | None = None) -> np.ndarray:
    """Confusion matrix ``C`` of shape ``(k, k)``: ``C[i, j]`` counts true class i predicted j.

    ``k`` defaults to one more than the largest label seen. Labels outside ``0..k-1`` raise
    ``ValueError``.
    """
    t, p = _pair(y_true, y_pred)
    if k is None:
        k = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    for name, lab in (("y_true", t), ("y_pred", p)):
        if lab.size and (lab.min() < 0 or lab.max() >= k):
            raise ValueError(
                f"{name} holds labels in [{lab.min()}, {lab.max()}]; expected 0..{k - 1}"
            )
    C = np.zeros((k, k), dtype=np.int64)
    np.add.at(C, (t, p), 1)
    return C


def per_class_accuracy(y_true, y_pred, k: int | None = None) -> np.ndarray:
    """Accuracy within each true class, shape ``(k,)`` (the recall of each class).

    Entry ``i`` is ``C[i, i] / sum_j C[i, j]``; a class with no examples gives ``nan``.
    """
    C = confusion_matrix(y_true, y_pred, k)
    counts = C.sum(axis=1)
    out = np.full(C.shape[0], np.nan)
    seen = counts > 0
    out[seen] = np.diag(C)[seen] / counts[seen]
    return out

"""Classification metrics: accuracy, per-class accuracy, confusion matrix, precision, recall, F1.

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


_AVERAGES = (None, "macro", "micro", "weighted")


def _average(scores: np.ndarray, support: np.ndarray, average, micro: float):
    if average is None:
        return scores
    if average == "micro":
        return float(micro)
    if average == "macro":
        return float(np.mean(scores)) if scores.size else 0.0
    total = support.sum()
    return float(np.dot(scores, support) / total) if total else 0.0


def _check_average(average) -> None:
    if average not in _AVERAGES:
        raise ValueError(f"average must be None, 'macro', 'micro' or 'weighted'; got {average!r}")


def precision_recall_f1(y_true, y_pred, k: int | None = None, average=None):
    """Precision, recall and F1 of every class (or averaged), and the support.

    From the confusion matrix ``C`` (rows true class, columns prediction), for class c:
    ``TP = C[c, c]``, ``FP = sum_i C[i, c] - TP``, ``FN = sum_j C[c, j] - TP``, and

        precision_c = TP / (TP + FP),   recall_c = TP / (TP + FN),
        F1_c = 2 precision_c recall_c / (precision_c + recall_c)

    (the harmonic mean). A ratio whose denominator is 0 is defined as 0, as scikit-learn
    does with ``zero_division=0``. ``average``: ``None`` gives arrays of shape ``(k,)``;
    ``"macro"`` the plain mean over classes; ``"weighted"`` the mean weighted by the support
    (examples per true class); ``"micro"`` pools TP, FP, FN over all classes (for
    single-label data all three equal the accuracy). Returns ``(precision, recall, f1,
    support)``; ``support`` is always the ``(k,)`` array of true-class counts.
    """
    _check_average(average)
    C = confusion_matrix(y_true, y_pred, k)
    tp = np.diag(C).astype(np.float64)
    predicted, support = C.sum(axis=0), C.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    micro = tp.sum() / C.sum() if C.sum() else 0.0  # TP / (TP + FP) = TP / (TP + FN) here
    return (
        _average(precision, support, average, micro),
        _average(recall, support, average, micro),
        _average(f1, support, average, micro),
        support,
    )


def precision(y_true, y_pred, k: int | None = None, average=None):
    """Precision TP / (TP + FP) of each class, shape ``(k,)``, or averaged (a float); see
    :func:`precision_recall_f1` for ``average`` and the 0/0 convention."""
    return precision_recall_f1(y_true, y_pred, k, average)[0]


def recall(y_true, y_pred, k: int | None = None, average=None):
    """Recall TP / (TP + FN) of each class, shape ``(k,)``, or averaged (a float)."""
    return precision_recall_f1(y_true, y_pred, k, average)[1]


def f1_score(y_true, y_pred, k: int | None = None, average=None):
    """F1 = 2 P R / (P + R) of each class, shape ``(k,)``, or averaged (a float)."""
    return precision_recall_f1(y_true, y_pred, k, average)[2]


def classification_report(y_true, y_pred, classes=None, k: int | None = None) -> str:
    """A text table: one row per class (precision, recall, F1 to 3 decimals, support), then
    the accuracy and the macro and weighted averages. ``classes`` names the rows."""
    p, r, f, support = precision_recall_f1(y_true, y_pred, k)
    names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(len(p))]
    if len(names) != len(p):
        raise ValueError(f"classes must name {len(p)} classes; got {len(names)} names")
    width = max([len(n) for n in names] + [len("weighted avg")])
    lines = [f"{'':>{width}}  precision  recall     f1  support"]
    for name, row in zip(names, zip(p, r, f, support)):
        lines.append(f"{name:>{width}}  {row[0]:9.3f}  {row[1]:6.3f}  {row[2]:5.3f}  {row[3]:7d}")
    n = int(support.sum())
    lines.append(f"{'accuracy':>{width}}  {'':9}  {'':6}  {accuracy(y_true, y_pred):5.3f}  {n:7d}")
    for avg in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_f1(y_true, y_pred, k, avg)
        lines.append(f"{avg + ' avg':>{width}}  {ap:9.3f}  {ar:6.3f}  {af:5.3f}  {n:7d}")
    return "\n".join(lines)

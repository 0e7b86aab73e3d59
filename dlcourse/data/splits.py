"""Arrays of examples and how to divide them: ``Dataset``, splits, one-hot targets, mini-batches.

Rows are examples: ``X`` has shape ``(m, n_in)`` (or ``(m, h, w)`` for images) and ``y`` holds
``m`` integer class labels ``0 .. k-1``. Randomness comes only from an explicit ``seed`` or
``rng`` (an ``int`` or a ``numpy.random.Generator``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from dlcourse._validation import class_labels
from dlcourse._validation import one_hot as _one_hot
from dlcourse.backend import is_torch, to_backend

__all__ = [
    "Dataset",
    "as_rng",
    "batches",
    "one_hot",
    "stratified_indices",
    "train_val_split",
]


def as_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A ``Generator`` from a seed (``int``/``None``) or the given ``Generator`` itself."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"expected an int seed or a numpy.random.Generator; got {type(rng).__name__}")


@dataclass(kw_only=True)
class Dataset:
    """A data set divided into training, (optional) validation and test parts.

    ``X_*`` are float arrays in ``[0, 1]`` with one example per row, ``y_*`` integer labels
    of shape ``(m,)``. ``X_val``/``y_val`` are ``None`` when there is no validation part.
    Unpacking gives the four arrays used most often::

        X_train, y_train, X_test, y_test = dataset
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    X_test: np.ndarray
    y_test: np.ndarray
    name: str = ""
    classes: tuple[str, ...] = field(default=())
    image_shape: tuple[int, ...] | None = None  # e.g. (8, 8) for digits, None for points

    def __post_init__(self) -> None:
        """Every part holds examples of one shape, and as many labels as examples."""
        example = tuple(np.shape(self.X_train)[1:])
        for part in ("train", "val", "test"):
            X, y = getattr(self, f"X_{part}"), getattr(self, f"y_{part}")
            if X is None:
                continue
            if tuple(np.shape(X)[1:]) != example:
                raise ValueError(
                    f"X_{part} holds examples of shape {tuple(np.shape(X)[1:])} but X_train's "
                    f"have shape {example}; every part of a data set must match"
                )
            if y is None or len(y) != len(X):
                got = None if y is None else len(y)
                raise ValueError(f"X_{part} holds {len(X)} examples but y_{part} {got} labels")

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

    @property
    def n_classes(self) -> int:
        """Number of classes ``k`` (from ``classes`` if named, else the largest label + 1)."""
        if self.classes:
            return len(self.classes)
        parts = [y for y in (self.y_train, self.y_val, self.y_test) if y is not None and y.size]
        return int(max(y.max() for y in parts)) + 1

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(X_val, y_val)``, ready for ``fit(validation=...)``; ``None`` without one."""
        return None if self.X_val is None else (self.X_val, self.y_val)

    def __repr__(self) -> str:
        parts = [("train", self.X_train), ("val", self.X_val), ("test", self.X_test)]
        shapes = ", ".join(f"{label}={X.shape}" for label, X in parts if X is not None)
        return f"Dataset({self.name or 'unnamed'}: {shapes}, {self.n_classes} classes)"


def one_hot(y: np.ndarray, k: int | None = None, dtype: str = "float64") -> np.ndarray:
    """Targets ``Y`` of shape ``(m, k)`` with ``Y[i, y[i]] = 1`` and zeros elsewhere.

    ``y`` has shape ``(m,)`` with integer labels in ``0 .. k-1``; ``k`` defaults to
    ``max(y) + 1``. Labels outside that range raise ``ValueError``.
    """
    y = class_labels(y, "y")
    if k is None:
        if y.size == 0:
            raise ValueError("cannot infer the number of classes k from an empty y; pass k")
        k = int(y.max()) + 1
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer number of classes; got {k!r}")
    return _one_hot(y, int(k), dtype, owner="data set", name="y")


def stratified_indices(
    y: np.ndarray, fractions: tuple[float, ...], rng: int | np.random.Generator | None = 0
) -> list[np.ndarray]:
    """Divide ``range(m)`` into parts holding ``fractions`` of every class, plus the rest.

    Returns ``len(fractions) + 1`` shuffled index arrays: part ``j`` takes
    ``round(fractions[j] * m_c)`` examples of each class ``c`` (``m_c`` its count) and the last
    part takes what remains. The same ``y`` and seed always give the same parts.
    """
    y, rng = class_labels(y, "y"), as_rng(rng)
    if any(f < 0 for f in fractions) or sum(fractions) >= 1:
        raise ValueError(f"fractions must be >= 0 and sum to less than 1; got {fractions}")
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        start = 0
        for j, fraction in enumerate(fractions):
            stop = start + int(round(fraction * members.size))
            parts[j].append(members[start:stop])
            start = stop
        parts[-1].append(members[start:])
    return [rng.permutation(np.concatenate(p)) if p else np.array([], int) for p in parts]


def train_val_split(
    X: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.1,
    seed: int | np.random.Generator | None = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(X, y)`` into ``(X_train, y_train, X_val, y_val)``.

    With ``stratify=True`` (``y`` integer labels) each class keeps its proportion in both
    parts; otherwise a random ``val_fraction`` of the rows (rounded) is held out.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1; got {val_fraction}")
    if stratify:
        val, train = stratified_indices(y, (val_fraction,), seed)
    else:
        order = as_rng(seed).permutation(X.shape[0])
        n_val = int(round(val_fraction * X.shape[0]))
        val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]


def batches(
    X: np.ndarray,
    Y: np.ndarray | None,
    batch_size: int,
    rng: int | np.random.Generator | None = None,
    *,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield mini-batches ``(X[idx], Y[idx])`` that together visit every row once.

    With ``rng`` (a seed or a ``Generator``) the rows are visited in a random permutation,
    ``rng.permutation(m)``, a fresh one per call (pass the same ``Generator`` every epoch);
    with ``rng=None`` in order, as views. Only one batch is copied at a time, never the whole
    set. The last batch may be smaller unless ``drop_last=True``. ``Y`` may be ``None``.
    ``X`` and ``Y`` may be torch tensors (the permutation is copied to their device once).
    This is the iterator of ``Network.fit`` and ``Model.fit`` (:func:`dlcourse.train.fit_loop`).
    """
    m = X.shape[0]
    if Y is not None and Y.shape[0] != m:
        raise ValueError(f"X has {m} rows but Y has {Y.shape[0]}; they must match")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    order = None if rng is None else as_rng(rng).permutation(m)
    if order is not None and is_torch(X):  # one copy to the device per epoch, not per batch
        order = to_backend(order, X.device)
    stop_at = m - m % batch_size if drop_last else m
    for start in range(0, stop_at, batch_size):  # a slice past the end stops at the end
        rows = slice(start, start + batch_size)
        index = rows if order is None else order[rows]
        yield X[index], (None if Y is None else Y[index])

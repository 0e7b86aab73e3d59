"""scikit-learn's 8×8 handwritten digits, the embedded default data set (no download)."""

from __future__ import annotations

import numpy as np

from dlcourse.data.splits import Dataset, stratified_indices


def load_digits(
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    flatten: bool = True,
    dtype: str = "float64",
) -> Dataset:
    """scikit-learn's 1,797 real 8×8 handwritten digits (shipped with it: no download).

    Pixels (0..16) are scaled to ``[0, 1]``. The split is stratified: each class gives
    ``round(test_fraction · m_c)`` images to the test part and ``round(val_fraction · m_c)``
    to the validation part, the rest to training. With the defaults the sizes are
    **1,079 train / 359 validation / 359 test** for every seed; the seed only decides which
    images go where. ``X_*`` have shape ``(m, 64)``, or ``(m, 8, 8)`` with ``flatten=False``.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    X = (bunch.data / 16.0).astype(dtype, copy=False)
    if not flatten:
        X = X.reshape(-1, 8, 8)
    y = bunch.target.astype(np.int64)
    test, val, train = stratified_indices(y, (test_fraction, val_fraction), seed)
    return Dataset(
        name="digits",
        X_train=X[train],
        y_train=y[train],
        X_val=X[val],
        y_val=y[val],
        X_test=X[test],
        y_test=y[test],
        classes=tuple(str(d) for d in range(10)),
        image_shape=(8, 8),
    )

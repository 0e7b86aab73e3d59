"""Data for every chapter: embedded digits, synthetic sets, MNIST and Fashion-MNIST.

One module per idea, every public name re-exported here:

- :mod:`~dlcourse.data.digits` — ``load_digits`` (scikit-learn's 1,797 8×8 digits);
- :mod:`~dlcourse.data.mnist` — ``load_mnist``, ``locate``, ``available``: the search order
  ``path=`` → ``$DLCOURSE_DATA`` → ``~/.cache/dlcourse`` → the Debian package → download;
- :mod:`~dlcourse.data.idx` — the IDX file format (``read_idx``, ``write_idx``);
- :mod:`~dlcourse.data.download` — checksummed downloads (``fetch``, ``SOURCES``);
- :mod:`~dlcourse.data.splits` — ``Dataset``, ``one_hot``, ``train_val_split``, ``batches``;
- :mod:`~dlcourse.data.synthetic` — ``xor``, ``moons``, ``circles``, ``spirals``,
  ``gaussian_blobs``, ``regression_1d``;
- :mod:`~dlcourse.data.augment` — ``augment``, ``random_shift``, ``random_flip``,
  ``random_rotation``, ``gaussian_noise``.
"""

from __future__ import annotations

from dlcourse.data.augment import (
    augment,
    gaussian_noise,
    random_flip,
    random_rotation,
    random_shift,
)
from dlcourse.data.digits import load_digits
from dlcourse.data.download import SOURCES, ChecksumError, DownloadError, fetch
from dlcourse.data.idx import CorruptDataError, read_idx, write_idx
from dlcourse.data.mnist import IMAGE_SETS, DataNotFoundError, available, load_mnist, locate
from dlcourse.data.splits import Dataset, batches, one_hot, train_val_split
from dlcourse.data.synthetic import (
    CURVES,
    circles,
    gaussian_blobs,
    moons,
    regression_1d,
    spirals,
    xor,
)

__all__ = [
    "CURVES",
    "IMAGE_SETS",
    "SOURCES",
    "ChecksumError",
    "CorruptDataError",
    "DataNotFoundError",
    "Dataset",
    "DownloadError",
    "augment",
    "random_flip",
    "available",
    "batches",
    "circles",
    "fetch",
    "gaussian_blobs",
    "gaussian_noise",
    "load_digits",
    "load_mnist",
    "locate",
    "moons",
    "one_hot",
    "random_rotation",
    "random_shift",
    "read_idx",
    "regression_1d",
    "spirals",
    "train_val_split",
    "write_idx",
    "xor",
]

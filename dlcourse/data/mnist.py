"""MNIST and Fashion-MNIST from IDX files: where to look, and how to load them.

``load_mnist`` with an explicit ``path=`` looks there only (a missing file is an error, or a
download with ``download=True``). Without one it looks in this order and takes the first
complete set: ``$DLCOURSE_DATA/<name>`` → ``~/.cache/dlcourse/<name>`` → (Fashion-MNIST
only) ``/usr/share/datasets/fashion-mnist`` from the Debian package
``dataset-fashion-mnist`` → a download, only when ``download=True``.
``$DLCOURSE_SYSTEM_DATA`` (folders separated by ``os.pathsep``; empty: none) replaces the
system-package folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlcourse.data.download import SOURCES, fetch
from dlcourse.data.idx import CorruptDataError, read_idx
from dlcourse.data.splits import Dataset


class DataNotFoundError(FileNotFoundError):
    """A data set is in none of the places searched; the message says how to get it."""


@dataclass(frozen=True)
class ImageSet:
    """What ``load_mnist`` needs to know about one IDX data set beyond ``SOURCES``."""

    classes: tuple[str, ...]
    subfolders: tuple[str, ...]  # folder names tried under each search root
    system_dirs: tuple[Path, ...] = ()  # distribution packages, searched after the cache


IMAGE_SETS: dict[str, ImageSet] = {
    "mnist": ImageSet(
        classes=tuple(str(d) for d in range(10)), subfolders=("mnist", "MNIST", "MNIST/raw")
    ),
    "fashion": ImageSet(
        classes=tuple(
            "T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot".split("|")
        ),
        subfolders=("fashion", "fashion-mnist", "fashion_mnist", "FashionMNIST/raw"),
        system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    ),
}
_ALIASES = {"fashion-mnist": "fashion", "fashion_mnist": "fashion", "fashionmnist": "fashion"}


def _canonical(name: str) -> str:
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in IMAGE_SETS:
        raise ValueError(f"unknown data set {name!r}; expected 'mnist' or 'fashion'")
    return key


def _search_roots(name: str, path: str | os.PathLike | None) -> list[tuple[str, Path | None, bool]]:
    """Every place searched, in order, as ``(label, folder, direct)``; folder ``None`` = unset.

    ``direct``: the files may lie in the folder itself (an explicit path, a system package);
    shared roots may hold both data sets, whose file names are equal, so only their named
    subfolders are used.
    """
    env = os.environ.get("DLCOURSE_DATA")
    roots: list[tuple[str, Path | None, bool]] = [
        ("path= argument", Path(path) if path is not None else None, True),
        ("$DLCOURSE_DATA", Path(env) if env else None, False),
        ("user cache ~/.cache/dlcourse", Path.home() / ".cache" / "dlcourse", False),
    ]
    roots += [(f"system package {SOURCES[name].apt_package}", d, True) for d in _system_dirs(name)]
    return roots


def _system_dirs(name: str) -> tuple[Path, ...]:
    """The distribution-package folders of ``name``; ``$DLCOURSE_SYSTEM_DATA`` (folders
    separated by ``os.pathsep``, empty for none) replaces them, e.g. to test a machine
    without the package."""
    override = os.environ.get("DLCOURSE_SYSTEM_DATA")
    if override is None:
        return IMAGE_SETS[name].system_dirs
    return tuple(Path(p) for p in override.split(os.pathsep) if p)


def _folders(name: str, root: Path, direct: bool) -> list[Path]:
    return [root] * direct + [root / sub for sub in IMAGE_SETS[name].subfolders]


def _file_in(folder: Path, gz_name: str) -> Path | None:
    raw = gz_name.removesuffix(".gz")
    for candidate in (
        gz_name,
        raw,
        raw.replace("-idx", ".idx"),
        raw.replace("-idx", ".idx") + ".gz",
    ):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def locate(name: str, path: str | os.PathLike | None = None) -> dict[str, Path]:
    """The four IDX files of ``name`` (roles ``train_images`` ... ``test_labels``).

    An explicit ``path`` is the only place searched: a file missing there is an error, never
    a reason to take another copy. Raises ``DataNotFoundError`` listing every place searched
    (and what each lacks) and the commands that fetch the data.
    """
    name = _canonical(name)
    report = []
    roots = _search_roots(name, path)
    for label, root, direct in roots[:1] if path is not None else roots:
        if root is None:
            report.append(f"  - {label}: not set")
            continue
        if not root.is_dir():
            report.append(f"  - {label}: {root} (no such folder)")
            continue
        notes = []
        for folder in filter(Path.is_dir, _folders(name, root, direct)):
            found = {
                role: _file_in(folder, spec.name) for role, spec in SOURCES[name].files.items()
            }
            if all(found.values()):
                return found  # type: ignore[return-value]
            missing = [
                SOURCES[name].files[r].name.removesuffix(".gz") + "[.gz]"
                for r, p in found.items()
                if p is None
            ]
            notes.append(f"{folder} lacks {', '.join(missing)}")
        subfolders = "/, ".join(IMAGE_SETS[name].subfolders) + "/"
        report.append(f"  - {label}: {root} ({'; '.join(notes) or f'none of {subfolders}'})")
    raise DataNotFoundError(_missing_message(name, report, path))


def _missing_message(name: str, report: list[str], path=None) -> str:
    source = SOURCES[name]
    if path is not None:
        return (
            f"{source.title} was not found in the folder given as path= (the only place "
            "searched when a path is given):\n"
            + "\n".join(report)
            + f"\nTo get it there, run\n  dlcourse data fetch {name} --dir {path}\n"
            f"or call load_mnist({name!r}, path=..., download=True); or leave out path= to "
            "search the usual places."
        )
    how = [f"  dlcourse data fetch {name}      (downloads to {_download_dir(name, None)})"]
    if source.apt_package:
        how.append(f"  sudo apt-get install {source.apt_package}   (Debian/Ubuntu)")
    return (
        f"{source.title} was not found. Searched, in this order:\n"
        + "\n".join(report)
        + "\nTo get it, run one of:\n"
        + "\n".join(how)
        + f"\nor call load_mnist({name!r}, download=True)."
    )


def available(name: str, path: str | os.PathLike | None = None) -> bool:
    """Whether ``load_mnist(name, path)`` would find all four files; never raises."""
    try:
        locate(name, path)
    except Exception:
        return False
    return True


def _download_dir(name: str, path: str | os.PathLike | None) -> Path:
    if path is not None:
        return Path(path)
    env = os.environ.get("DLCOURSE_DATA")
    return (Path(env) if env else Path.home() / ".cache" / "dlcourse") / name


def download_files(
    name: str,
    path: str | os.PathLike | None = None,
    mirror: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``name`` ("mnist" or "fashion") into ``path`` (default: ``$DLCOURSE_DATA/NAME``
    or ``~/.cache/dlcourse/NAME``), checksummed; returns the folder holding its four files."""
    name = _canonical(name)
    return fetch(name, _download_dir(name, path), mirror=mirror, progress=progress)


def _to_float(pixels: np.ndarray, dtype: str) -> np.ndarray:
    """uint8 pixels → ``dtype`` in [0, 1], written once into the result (peak 1.25× for f32)."""
    out = np.empty(pixels.shape, dtype=dtype)
    np.multiply(pixels, out.dtype.type(1 / 255), out=out)
    return out


def _size(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape))


def _check_pair(images: np.ndarray, labels: np.ndarray, files: dict[str, Path], part: str) -> None:
    image_file, label_file = files[f"{part}_images"], files[f"{part}_labels"]
    if images.ndim != 3 or images.dtype != np.uint8:
        raise CorruptDataError(
            f"{image_file}: expected uint8 images of shape (m, h, w); got {images.dtype} "
            f"of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise CorruptDataError(
            f"{label_file}: expected uint8 labels of shape (m,); got {labels.dtype} "
            f"of shape {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise CorruptDataError(
            f"image/label count mismatch: {image_file} holds {images.shape[0]} images but "
            f"{label_file} holds {labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise CorruptDataError(
            f"{label_file}: labels out of range: expected 0..9, found {int(labels.max())}"
        )


def load_mnist(
    name: str = "mnist",
    path: str | os.PathLike | None = None,
    download: bool = False,
    split: str = "standard",
    flatten: bool = True,
    dtype: str = "float64",
    mirror: str | None = None,
    progress: bool = True,
) -> Dataset:
    """MNIST or Fashion-MNIST (``name="fashion"``) from IDX files, pixels scaled to [0, 1].

    ``split="standard"``: 60,000 train / 10,000 test, no validation part.
    ``split="nielsen"``: the first 50,000 training images train, the last 10,000 validate
    (Nielsen's ``mnist.pkl.gz`` split), 10,000 test. ``X`` has shape ``(m, 784)`` or
    ``(m, 28, 28)`` with ``flatten=False``; ``dtype="float32"`` halves the memory (peak while
    loading ≈ 1.25× the result). Missing files raise ``DataNotFoundError`` unless
    ``download=True``; damaged or mismatched ones (e.g. test images of another size than the
    training images) raise ``CorruptDataError`` naming the file.
    """
    name = _canonical(name)
    splits = {"standard": 0, "nielsen": 10_000}
    if split not in splits:
        raise ValueError(f"split must be one of {sorted(splits)}; got {split!r}")
    try:
        files = locate(name, path)
    except DataNotFoundError:
        if not download:
            raise
        files = locate(name, download_files(name, path, mirror=mirror, progress=progress))
    parts = {}
    for part in ("train", "test"):
        images, labels = read_idx(files[f"{part}_images"]), read_idx(files[f"{part}_labels"])
        _check_pair(images, labels, files, part)
        if part == "test" and images.shape[1:] != parts["train"][2]:
            raise CorruptDataError(
                f"{files['test_images']}: the test images are {_size(images.shape[1:])} pixels "
                f"but the training images in {files['train_images']} are "
                f"{_size(parts['train'][2])}; both must come from the same data set"
            )
        X = _to_float(images, dtype)
        del images
        flat = X.reshape(X.shape[0], -1) if flatten else X
        parts[part] = (flat, labels.astype(np.int64), X.shape[1:])
    (X_train, y_train, _), (X_test, y_test, _) = parts["train"], parts["test"]
    n_val, image_shape = splits[split], parts["train"][2]
    X_val = y_val = None
    if n_val:
        if X_train.shape[0] <= n_val:
            raise ValueError(
                f"split='nielsen' holds out the last {n_val} training images, but "
                f"{files['train_images']} has only {X_train.shape[0]}"
            )
        X_train, X_val = X_train[:-n_val], X_train[-n_val:]
        y_train, y_val = y_train[:-n_val], y_train[-n_val:]
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_val=X_val,
        y_val=y_val,
        X_test=X_test,
        y_test=y_test,
        classes=IMAGE_SETS[name].classes,
        image_shape=image_shape,
    )

"""Data layer: digits, synthetic sets, one-hot, splits, batches, augmentation, MNIST loading."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from dlcourse import data
from dlcourse.data import CorruptDataError, DataNotFoundError
from dlcourse.data.idx import write_idx

# --- digits ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sklearn_digits():
    from sklearn.datasets import load_digits

    return load_digits()


def test_digits_sizes_range_and_unpacking():
    ds = data.load_digits()
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (1079, 359, 359)
    assert ds.X_train.shape == (1079, 64) and ds.X_train.dtype == np.float64
    assert ds.y_train.dtype.kind == "i"
    for X in (ds.X_train, ds.X_val, ds.X_test):
        assert X.min() >= 0.0 and X.max() <= 1.0
    X_train, y_train, X_test, y_test = ds
    assert X_train is ds.X_train and y_test is ds.y_test and X_test is ds.X_test
    assert ds.n_classes == 10 and ds.validation[0] is ds.X_val
    assert data.load_digits(flatten=False).X_test.shape == (359, 8, 8)


def test_digits_split_is_a_stratified_partition_of_the_real_data(sklearn_digits):
    ds = data.load_digits(seed=3)
    rows = np.vstack([ds.X_train, ds.X_val, ds.X_test]) * 16
    labels = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    key = lambda X, y: sorted(map(bytes, np.column_stack([X, y]).astype(np.int16)))
    assert key(rows, labels) == key(sklearn_digits.data, sklearn_digits.target)
    counts = np.bincount(sklearn_digits.target)
    np.testing.assert_array_equal(np.bincount(ds.y_test), np.round(0.2 * counts))
    np.testing.assert_array_equal(np.bincount(ds.y_val), np.round(0.2 * counts))


def test_digits_determinism():
    a, b, c = data.load_digits(seed=0), data.load_digits(seed=0), data.load_digits(seed=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_train, c.y_train)


# --- synthetic sets -------------------------------------------------------------------------

SETS = {
    "xor": (data.xor, 2),
    "moons": (data.moons, 2),
    "circles": (data.circles, 2),
    "spirals": (data.spirals, 3),
    "gaussian_blobs": (data.gaussian_blobs, 3),
}


@pytest.mark.parametrize("name", sorted(SETS))
def test_synthetic_shapes_labels_determinism(name):
    make, k = SETS[name]
    ds = make(n=120, seed=5)
    assert ds.X_train.shape == (90, 2) and ds.X_test.shape == (30, 2)
    labels = np.concatenate([ds.y_train, ds.y_test])
    np.testing.assert_array_equal(np.bincount(labels), [120 // k] * k)
    X = np.vstack([ds.X_train, ds.X_test])
    assert X.min() == 0.0 and X.max() == 1.0, "scale=True maps each feature onto [0, 1]"
    again, other = make(n=120, seed=5), make(n=120, seed=6)
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    assert not np.array_equal(ds.X_train, other.X_train)


def test_noise_free_geometry():
    xor = data.xor(n=8, noise=0.0, scale=False, test_fraction=0.0)
    np.testing.assert_array_equal(
        xor.y_train, xor.X_train[:, 0].astype(int) ^ xor.X_train[:, 1].astype(int)
    )
    moons = data.moons(n=50, noise=0.0, scale=False)
    X, y = moons.X_train, moons.y_train
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5), 1.0)
    circles = data.circles(n=40, noise=0.0, factor=0.3, scale=False)
    radii = np.hypot(*circles.X_test.T)
    np.testing.assert_allclose(radii, np.where(circles.y_test == 0, 1.0, 0.3))
    blobs = data.gaussian_blobs(
        n=6, centers=np.array([[0.0, 0, 1], [5, 5, 5]]), std=0.0, scale=False
    )
    assert blobs.X_train.shape[1] == 3


def test_regression_curves():
    X, Y = data.regression_1d("wiggly", n=11)
    x = np.linspace(0, 1, 11)
    np.testing.assert_allclose(X[:, 0], x)
    expected = 0.2 + 0.4 * x**2 + 0.3 * x * np.sin(15 * x) + 0.05 * np.cos(50 * x)
    np.testing.assert_allclose(Y[:, 0], expected)
    for name in data.CURVES:
        X, Y = data.regression_1d(name, n=30, noise=0.1, seed=2, sampling="uniform")
        assert X.shape == Y.shape == (30, 1) and np.all(np.diff(X[:, 0]) >= 0)
        np.testing.assert_array_equal(Y, data.regression_1d(name, 30, 0.1, 2, "uniform")[1])
    with pytest.raises(ValueError, match="unknown curve 'cosh'"):
        data.regression_1d("cosh")


# --- one_hot, splits, batches ---------------------------------------------------------------


def test_one_hot_values_and_errors():
    np.testing.assert_array_equal(data.one_hot(np.array([2, 0, 1]), 4), np.eye(4)[[2, 0, 1]])
    assert data.one_hot(np.array([0, 3])).shape == (2, 4)
    with pytest.raises(ValueError, match=r"0\.\.2 for k=3 .*; got values from 0 to 3"):
        data.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="from -1"):
        data.one_hot(np.array([-1, 1]), 3)
    with pytest.raises(TypeError, match="integer class labels; got dtype float64"):
        data.one_hot(np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match=r"1-D array.*\(2, 1\)"):
        data.one_hot(np.array([[0], [1]]), 2)
    with pytest.raises(ValueError, match="positive integer"):
        data.one_hot(np.array([0]), 0)


def test_train_val_split_stratified():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    X = np.arange(100.0)[:, None]
    X_tr, y_tr, X_val, y_val = data.train_val_split(X, y, val_fraction=0.1, seed=0)
    np.testing.assert_array_equal(np.bincount(y_val), [5, 3, 2])
    assert sorted(np.concatenate([X_tr, X_val])[:, 0]) == list(range(100))
    np.testing.assert_array_equal(y_tr, y[X_tr[:, 0].astype(int)])
    _, _, X_val2, _ = data.train_val_split(X, y, 0.25, seed=0, stratify=False)
    assert X_val2.shape == (25, 1)
    with pytest.raises(ValueError, match="100 rows but y has 99"):
        data.train_val_split(X, y[:-1])


def test_batches_cover_every_index_once_per_epoch():
    X, Y = np.arange(23)[:, None], np.arange(23) * 10
    rng = np.random.default_rng(0)
    orders = []
    for _ in range(2):
        seen = [(xb[:, 0], yb) for xb, yb in data.batches(X, Y, 5, rng)]
        assert [len(xb) for xb, _ in seen] == [5, 5, 5, 5, 3]
        order = np.concatenate([xb for xb, _ in seen])
        np.testing.assert_array_equal(np.sort(order), np.arange(23))
        np.testing.assert_array_equal(np.concatenate([yb for _, yb in seen]), order * 10)
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1]), "a new permutation each epoch"
    first = [xb for xb, _ in data.batches(X, Y, 5, 7)]
    np.testing.assert_array_equal(
        np.concatenate(first), np.concatenate([xb for xb, _ in data.batches(X, Y, 5, 7)])
    )
    in_order = list(data.batches(X, Y, 10, None, drop_last=True))
    assert len(in_order) == 2 and np.shares_memory(in_order[0][0], X), "no copies in order"
    with pytest.raises(ValueError, match="positive integer"):
        next(data.batches(X, Y, 0))


# --- augmentation ---------------------------------------------------------------------------


def test_augmentation_deterministic_and_shape_preserving():
    images = data.load_digits(flatten=False).X_test[:20]
    before = images.copy()
    flat = images.reshape(20, 64)
    a = data.augment(images, 4, max_shift=1, max_degrees=15, noise=0.05)
    b = data.augment(flat, 4, max_shift=1, max_degrees=15, noise=0.05, shape=(8, 8))
    assert a.shape == images.shape and b.shape == flat.shape
    np.testing.assert_array_equal(a.reshape(20, 64), b)
    assert not np.array_equal(a, data.augment(images, 5, max_shift=1, max_degrees=15, noise=0.05))
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(images, before, err_msg="the input must stay untouched")


def test_shift_moves_a_pixel_by_at_most_max_shift():
    images = np.zeros((50, 7, 7))
    images[:, 3, 3] = 1.0
    shifted = data.random_shift(images, 2, rng=0)
    rows, cols = np.nonzero(shifted.sum(axis=0))
    assert set(rows) <= set(range(1, 6)) and set(cols) <= set(range(1, 6))
    np.testing.assert_array_equal(shifted.sum(axis=(1, 2)), 1.0)
    assert len(set(zip(rows, cols))) > 10, "shifts vary across images"


def test_rotation_by_zero_degrees_and_noise_statistics():
    images = np.random.default_rng(0).random((3, 6, 6))
    np.testing.assert_allclose(data.random_rotation(images, 0.0, rng=0), images, atol=1e-12)
    noisy = data.gaussian_noise(np.full((200, 50), 0.5), std=0.1, rng=1)
    assert abs(noisy.std() - 0.1) < 0.005 and abs(noisy.mean() - 0.5) < 0.005
    with pytest.raises(ValueError, match="pass shape"):
        data.random_shift(np.zeros((2, 10)), 1, rng=0)


# --- MNIST / Fashion-MNIST from IDX files --------------------------------------------------

NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _write_set(folder: Path, n_train=30, n_test=10, side=28, fill=None, gz=True, **override):
    """Write a small IDX data set; ``fill`` marks it so tests can tell copies apart."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_train)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }
    if fill is not None:
        arrays["train_images"][0, 0, 0] = fill
    arrays.update(override)
    for role, array in arrays.items():
        write_idx(folder / (NAMES[role] + (".gz" if gz else "")), array)
    return arrays


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $DLCOURSE_DATA, HOME in tmp_path, no system folders: only what a test writes."""
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    monkeypatch.delenv("DLCOURSE_MIRROR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    system = tmp_path / "usr-share-datasets-fashion-mnist"
    fashion = dataclasses.replace(data.IMAGE_SETS["fashion"], system_dirs=(system,))
    monkeypatch.setitem(data.IMAGE_SETS, "fashion", fashion)
    return tmp_path


@pytest.mark.parametrize("gz", [True, False])
def test_load_from_path(isolated, gz):
    arrays = _write_set(isolated / "d", gz=gz)
    ds = data.load_mnist("mnist", path=isolated / "d")
    assert ds.X_train.shape == (30, 784) and ds.X_test.shape == (10, 784) and ds.X_val is None
    np.testing.assert_allclose(ds.X_train, arrays["train_images"].reshape(30, -1) / 255.0)
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    assert ds.y_train.dtype == np.int64 and ds.image_shape == (28, 28)
    images = data.load_mnist("mnist", path=isolated / "d", flatten=False, dtype="float32")
    assert images.X_test.shape == (10, 28, 28) and images.X_test.dtype == np.float32


def test_nielsen_split(isolated):
    arrays = _write_set(isolated / "d", n_train=10_012, side=2)
    ds = data.load_mnist("fashion", path=isolated / "d", split="nielsen")
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (12, 10_000, 10)
    np.testing.assert_array_equal(ds.y_val, arrays["train_labels"][12:])
    assert ds.classes[9] == "Ankle boot"
    _write_set(isolated / "small", n_train=50, side=2)
    with pytest.raises(ValueError, match="only 50"):
        data.load_mnist("mnist", path=isolated / "small", split="nielsen")


def test_search_order(isolated, monkeypatch):
    _write_set(isolated / "system", fill=4)
    monkeypatch.setitem(
        data.IMAGE_SETS,
        "fashion",
        dataclasses.replace(data.IMAGE_SETS["fashion"], system_dirs=(isolated / "system",)),
    )
    first_pixel = lambda **kw: data.load_mnist("fashion", **kw).X_train[0, 0] * 255
    assert first_pixel() == pytest.approx(4), "the system package folder is found"
    _write_set(isolated / "home" / ".cache" / "dlcourse" / "fashion", fill=3)
    assert first_pixel() == pytest.approx(3), "the user cache comes before the system folder"
    _write_set(isolated / "env" / "fashion-mnist", fill=2)
    monkeypatch.setenv("DLCOURSE_DATA", str(isolated / "env"))
    assert first_pixel() == pytest.approx(2), "$DLCOURSE_DATA comes before the cache"
    _write_set(isolated / "explicit", fill=1)
    assert first_pixel(path=isolated / "explicit") == pytest.approx(1), "path= comes first"
    assert not data.available("mnist"), "a fashion folder is not taken for mnist"


def test_absent_data_lists_every_place_and_the_commands(isolated, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA", str(isolated / "env"))
    with pytest.raises(DataNotFoundError) as info:
        data.load_mnist("fashion")
    message = str(info.value)
    places = [
        str(isolated / "env"),
        str(isolated / "home" / ".cache" / "dlcourse"),
        str(isolated / "usr-share-datasets-fashion-mnist"),
    ]
    positions = [message.index(place) for place in places]
    assert positions == sorted(positions), "places are listed in search order"
    assert "dlcourse data fetch fashion" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert not data.available("fashion") and not data.available("cifar")
    with pytest.raises(DataNotFoundError, match="dlcourse data fetch mnist"):
        data.load_mnist("mnist")


def test_explicit_path_with_a_missing_file_does_not_fall_back(isolated):
    _write_set(isolated / "home" / ".cache" / "dlcourse" / "mnist")  # a complete copy
    assert data.available("mnist")
    mine = isolated / "mine"
    _write_set(mine)
    (mine / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError) as info:
        data.load_mnist("mnist", path=mine)
    message = str(info.value)
    assert message.startswith(
        "MNIST was not found in the folder given as path= (the only place searched when a path "
        f"is given):\n  - path= argument: {mine} ({mine} lacks t10k-labels-idx1-ubyte[.gz])"
    )
    assert f"dlcourse data fetch mnist --dir {mine}" in message
    assert ".cache" not in message
    with pytest.raises(DataNotFoundError, match="no such folder"):
        data.load_mnist("mnist", path=isolated / "nowhere")
    assert not data.available("mnist", path=mine)


def test_incomplete_folder_names_missing_files(isolated):
    _write_set(isolated / "d")
    (isolated / "d" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match="lacks t10k-labels-idx1-ubyte"):
        data.load_mnist("mnist", path=isolated / "d")


CORRUPT = {
    "labels out of range": (
        {"test_labels": np.array([0, 1, 12] + [0] * 7, np.uint8)},
        "t10k-labels-idx1-ubyte.gz: labels out of range: expected 0..9, found 12",
    ),
    "image/label count mismatch": (
        {"train_labels": np.zeros(29, np.uint8)},
        "image/label count mismatch: .*train-images.* 30 images but .*train-labels.* 29",
    ),
    "labels with two dimensions": (
        {"test_labels": np.zeros((10, 1), np.uint8)},
        "t10k-labels-idx1-ubyte.gz: expected uint8 labels of shape",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_inconsistent_files_are_reported(isolated, case):
    override, pattern = CORRUPT[case]
    _write_set(isolated / "d", **override)
    with pytest.raises(CorruptDataError, match=pattern):
        data.load_mnist("mnist", path=isolated / "d")


def test_test_images_of_another_shape_are_refused(isolated):
    small = np.zeros((10, 14, 14), np.uint8)  # e.g. a downsampled copy mixed in
    _write_set(isolated / "d", test_images=small)
    with pytest.raises(CorruptDataError) as info:
        data.load_mnist("mnist", path=isolated / "d")
    d = isolated / "d"
    assert str(info.value) == (
        f"{d / 't10k-images-idx3-ubyte.gz'}: the test images are 14 x 14 pixels but the "
        f"training images in {d / 'train-images-idx3-ubyte.gz'} are 28 x 28; both must come "
        "from the same data set"
    )


def test_dataset_parts_must_match():
    X, y = np.zeros((4, 6)), np.zeros(4, np.int64)
    with pytest.raises(ValueError) as info:
        data.Dataset(X_train=X, y_train=y, X_test=np.zeros((4, 5)), y_test=y)
    assert str(info.value) == (
        "X_test holds examples of shape (5,) but X_train's have shape (6,); every part of a "
        "data set must match"
    )
    with pytest.raises(ValueError, match="X_val holds 4 examples but y_val 3 labels"):
        data.Dataset(X_train=X, y_train=y, X_val=X, y_val=y[:3], X_test=X, y_test=y)


def test_bad_magic_through_the_loader_names_the_file(isolated):
    _write_set(isolated / "d", gz=False)
    (isolated / "d" / "train-images-idx3-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(CorruptDataError, match="train-images-idx3-ubyte: bad magic number"):
        data.load_mnist("mnist", path=isolated / "d")


def test_float32_loading_peak_memory_below_twice_the_result(isolated):
    _write_set(isolated / "d", n_train=3000, n_test=500)
    tracemalloc.start()
    try:
        ds = data.load_mnist("mnist", path=isolated / "d", dtype="float32")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    final = sum(a.nbytes for a in (ds.X_train, ds.y_train, ds.X_test, ds.y_test))
    assert peak < 2 * final, f"peak {peak} bytes for {final} bytes of arrays"


def test_unknown_name_and_split(isolated):
    with pytest.raises(ValueError, match="expected 'mnist' or 'fashion'"):
        data.load_mnist("cifar")
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_mnist("mnist", split="random")


def test_cli_list_and_path(isolated, capsys):
    from dlcourse.cli import main

    _write_set(isolated / "home" / ".cache" / "dlcourse" / "mnist")
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and str(isolated / "home" / ".cache" / "dlcourse" / "mnist") in out
    assert "dlcourse data fetch fashion" in out
    assert main(["data", "path", "fashion"]) == 1
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not DEBIAN.is_dir(), reason=f"{DEBIAN} absent (apt-get install dataset-fashion-mnist)"
)
def test_debian_fashion_mnist(monkeypatch, tmp_path):
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    tracemalloc.start()
    try:
        ds = data.load_mnist("fashion", dtype="float32", flatten=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ds.X_train.shape == (60_000, 28, 28) and ds.X_test.shape == (10_000, 28, 28)
    np.testing.assert_array_equal(np.unique(ds.y_train), np.arange(10))
    assert ds.n_classes == 10 and 0 <= ds.X_test.min() and ds.X_test.max() <= 1
    final = sum(a.nbytes for a in (ds.X_train, ds.y_train, ds.X_test, ds.y_test))
    assert peak < 2 * final


def test_random_flip_mirrors_about_half_and_keeps_the_input():
    images = np.random.default_rng(0).random((400, 5, 7))
    before = images.copy()
    out = data.random_flip(images, 0.5, rng=1)
    np.testing.assert_array_equal(images, before)
    flipped = np.array([np.array_equal(o, x[:, ::-1]) for o, x in zip(out, images)])
    kept = np.array([np.array_equal(o, x) for o, x in zip(out, images)])
    assert (flipped ^ kept).all()  # each image either mirrored or untouched
    assert 160 < flipped.sum() < 240  # Binomial(400, 1/2): mean 200, sd 10
    np.testing.assert_array_equal(data.random_flip(images, 0.5, rng=1), out)  # seeded
    flat = data.random_flip(images[:, :, :5].reshape(400, 25), 1.0, rng=0)
    np.testing.assert_array_equal(flat.reshape(400, 5, 5), images[:, :, :5][:, :, ::-1])
    np.testing.assert_array_equal(data.random_flip(images, 0.0, rng=0), images)
    with pytest.raises(ValueError, match="probability"):
        data.random_flip(images, 1.5)

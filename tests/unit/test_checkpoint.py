"""Tests of Network.save / Network.load: round trip, atomic write, corrupt files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from dlcourse.network import Network


def trained_network(dtype="float64"):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    net = Network(
        [4, 5, 3], "tanh", "softmax", "cross_entropy", init="xavier_normal", dtype=dtype, seed=1
    )
    net.fit(X, y, epochs=2, batch_size=10, lr=0.1, l2=0.5, progress=False)
    return net, X


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip(tmp_path, dtype):
    net, X = trained_network(dtype)
    path = net.save(tmp_path / "net.npz")
    assert path == tmp_path / "net.npz"
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # no temporary left behind
    again = Network.load(path, sizes=[4, 5, 3])
    assert again.sizes == net.sizes and again.dtype == net.dtype
    assert (again.activation.name, again.output.name, again.cost_fn.name) == (
        "tanh",
        "softmax",
        "cross_entropy",
    )
    assert (again.l2, again.n_train, again.init) == (0.5, 30, "xavier_normal")
    for p, q in zip(net.parameters(), again.parameters()):
        assert q.dtype == p.dtype
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(net.forward(X), again.forward(X))
    with np.load(path, allow_pickle=False) as data:  # readable without pickle
        assert json.loads(str(data["metadata"][0]))["sizes"] == [4, 5, 3]


def test_failed_save_keeps_old_file(tmp_path, monkeypatch):
    net, _ = trained_network()
    path = net.save(tmp_path / "net.npz")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        Network([4, 2], seed=0).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_sizes_mismatch(tmp_path):
    path = trained_network()[0].save(tmp_path / "net.npz")
    with pytest.raises(ValueError, match=r"net\.npz.*sizes \[4, 5, 3\].*expected \[4, 6, 3\]"):
        Network.load(path, sizes=[4, 6, 3])


def test_corrupt_and_truncated_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ValueError, match="junk.npz"):
        Network.load(junk)
    good = trained_network()[0].save(tmp_path / "good.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="cut.npz"):
        Network.load(cut)
    with pytest.raises(FileNotFoundError):
        Network.load(tmp_path / "missing.npz")


def test_inconsistent_contents(tmp_path):
    net, _ = trained_network()
    meta = json.dumps(net._metadata())
    arrays = {
        "metadata": np.array([meta]),
        "W1": net.weights[0],
        "b1": net.biases[0],
        "W2": np.zeros((3, 6)),
        "b2": net.biases[1],
    }
    bad_shape = tmp_path / "shape.npz"
    np.savez(bad_shape, **arrays)
    with pytest.raises(ValueError, match=r"shape.npz.*W2 should have shape \(3, 5\)"):
        Network.load(bad_shape)
    arrays["W2"] = net.weights[1]
    del arrays["b2"]
    missing = tmp_path / "missing_array.npz"
    np.savez(missing, **arrays)
    with pytest.raises(ValueError, match="missing_array.npz.*b2"):
        Network.load(missing)
    no_meta = tmp_path / "no_meta.npz"
    np.savez(no_meta, W1=net.weights[0])
    with pytest.raises(ValueError, match="no_meta.npz"):
        Network.load(no_meta)
    other = tmp_path / "other.npz"
    np.savez(other, metadata=np.array([json.dumps({"format": "something else"})]))
    with pytest.raises(ValueError, match="other.npz.*not a dlcourse.Network"):
        Network.load(other)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, metadata=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        Network.load(pickled)
    assert zipfile.is_zipfile(pickled)

"""Saving and loading: Network.save / load round trip, atomic write, corrupt files, and files
that declare more than they hold (refused before any large allocation)."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dlcourse.layers import (
    GRU,
    LSTM,
    RNN,
    Activation,
    BatchNorm1d,
    Concat,
    Conv2d,
    DropConnect,
    Flatten,
    LastStep,
    Linear,
    MixtureOfExperts,
    Model,
    PerElement,
    Residual,
    Sequential,
    Sum,
)
from dlcourse.layers.config import declared_shapes
from dlcourse.network import Network
from dlcourse.optim import Adam
from dlcourse.saving import STALE_SECONDS, load_checkpoint, network_metadata, read_npz


def trained_network(dtype="float64"):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    net = Network(
        [4, 5, 3], "tanh", "softmax", "cross_entropy", init="xavier_normal", dtype=dtype, seed=1
    )
    net.fit(X, y, epochs=2, batch_size=10, lr=0.1, l2=0.5, progress=False)
    net.l2, net.n_train = 0.5, 30  # a penalty set on the model itself is saved with it
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


# --- files that declare more than they hold -------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
HUGE = [20000, 20000, 3]  # W1 alone would be 3.2 GB of float64


def peak_bytes(action) -> tuple[int, Exception]:
    """Run ``action`` (which must raise) under tracemalloc; return its peak and the error."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            action()
        return tracemalloc.get_traced_memory()[1], info.value
    finally:
        tracemalloc.stop()


def test_network_file_declaring_huge_sizes_is_refused_before_allocating(tmp_path):
    net = Network([2, 2, 3], seed=0)
    meta = {**network_metadata(net), "sizes": HUGE}
    path = tmp_path / "huge.npz"
    np.savez(path, metadata=np.array([json.dumps(meta)]), W1=net.weights[0], b1=net.biases[0],
             W2=net.weights[1], b2=net.biases[1])  # fmt: skip
    assert path.stat().st_size < 4000
    peak, err = peak_bytes(lambda: Network.load(path))
    assert peak < 1_000_000, f"{peak:,} bytes allocated for a {path.stat().st_size} byte file"
    assert "huge.npz: array W1 should have shape (20000, 20000)" in str(err)
    assert "sizes [20000, 20000, 3]" in str(err) and "got (2, 2)" in str(err)


def test_model_file_declaring_a_huge_layer_is_refused_before_allocating(tmp_path):
    path = Model([Linear(2, 3, seed=0), Activation("softmax")]).save(tmp_path / "model.npz")
    data = read_npz(path)
    meta = json.loads(str(data["metadata"][0]))
    meta["layers"][0].update(n_in=20000, n_out=20000)
    data["metadata"] = np.array([json.dumps(meta)])
    np.savez(path, **data)
    peak, err = peak_bytes(lambda: Model.load(path))
    assert peak < 1_000_000, f"{peak:,} bytes allocated"
    assert "model.npz: param 0 should have shape (20000, 20000)" in str(err)
    assert "got (3, 2)" in str(err)


def npy_claiming(shape, payload: bytes = b"\0" * 16) -> bytes:
    """A .npy file whose header declares ``shape`` of float64 but which holds ``payload``."""
    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_array_header_declaring_more_than_the_file_holds(tmp_path, compression):
    net = Network([2, 2, 3], seed=0)
    path = tmp_path / "lying.npz"
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("metadata.npy", _npy(np.array([json.dumps(network_metadata(net))])))
        archive.writestr("W1.npy", npy_claiming((20000, 20000)))
    assert path.stat().st_size < 4000
    for load in (lambda: read_npz(path), lambda: Network.load(path), lambda: Model.load(path)):
        peak, err = peak_bytes(load)
        assert peak < 1_000_000, f"{peak:,} bytes allocated"
        message = str(err)
        assert "lying.npz" in message and "'W1.npy' declares shape (20000, 20000)" in message
        assert "(3,200,000,000 bytes)" in message and "16 bytes for it" in message
    model, _ = trained_network()
    run = _run(model)
    before = [p.copy() for p in model.parameters()]
    peak, err = peak_bytes(lambda: load_checkpoint(path, run))
    assert peak < 1_000_000 and "3,200,000,000 bytes" in str(err)
    for p, q in zip(before, model.parameters()):
        np.testing.assert_array_equal(p, q)


def test_compressed_and_fortran_files_still_load(tmp_path):
    net, X = trained_network()
    arrays = read_npz(net.save(tmp_path / "net.npz"))
    arrays["W1"] = np.asfortranarray(arrays["W1"])
    np.savez_compressed(tmp_path / "small.npz", **arrays)
    again = Network.load(tmp_path / "small.npz")
    np.testing.assert_array_equal(again.forward(X), net.forward(X))
    with zipfile.ZipFile(tmp_path / "long.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.npy", npy_claiming((2,), b"\0" * 24))  # 8 bytes too many
    with pytest.raises(ValueError, match=r"'a.npy' declares shape \(2,\).*more data than that"):
        read_npz(tmp_path / "long.npz")


def test_declared_shapes_match_the_built_layers():
    layers = [
        Conv2d(2, 3, 3, seed=0), Flatten(), Linear(12, 6, seed=1), BatchNorm1d(6),
        BatchNorm1d(6, affine=False), DropConnect(6, 5, 0.2, seed=2),
        Residual(Linear(5, 5, seed=3)), Concat([Linear(5, 2, seed=4), Sum([Linear(5, 2)])]),
        MixtureOfExperts([Linear(4, 4), Linear(4, 4)], Linear(4, 2)),
        Sequential([PerElement(Linear(3, 4)), RNN(4, 5), LSTM(5, 2), GRU(2, 3), LastStep()]),
    ]  # fmt: skip
    model_config = {"type": "Sequential", "layers": [layer.config() for layer in layers]}
    params, buffers = declared_shapes(model_config)
    built = Sequential(layers)
    assert params == [p.shape for p in built.params]
    assert buffers == [b.shape for b in built.buffers()]
    assert len(params) == 2 * 11 + 4 * 3  # eleven affine parts, three recurrent layers


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _run(model):
    from dlcourse.saving import Run
    from dlcourse.train import History

    return Run(model, Adam(), np.random.default_rng(0), (), History())


# --- temporary files of saves that were interrupted or killed ------------------------------
KILLED_SAVE = """
import os, signal, sys
import numpy as np
from dlcourse.network import Network

def killed(file, **arrays):  # the process dies half-way through writing
    file.write(b"PK\\x03\\x04 partial")
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)

np.savez = killed
Network([4, 2], seed=0).save(sys.argv[1])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    net, X = trained_network()
    path = net.save(tmp_path / "net.npz")
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], cwd=ROOT, timeout=120)
    assert done.returncode == -signal.SIGKILL
    (left,) = [p for p in tmp_path.iterdir() if p.name != "net.npz"]
    assert left.name.startswith(".net.npz.") and left.name.endswith(".tmp")
    assert path.read_bytes() == before  # the previous file is intact
    old = time.time() - 2 * STALE_SECONDS
    os.utime(left, (old, old))  # the killed save was a while ago
    in_flight = tmp_path / f".net.npz.{os.getpid() + 1}-0123abcd.tmp"  # another process's
    in_flight.write_bytes(b"being written")
    unrelated = tmp_path / ".net.npz.my-notes.tmp"
    unrelated.write_bytes(b"not ours")
    os.utime(unrelated, (old, old))
    net.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["net.npz", in_flight.name, unrelated.name]
    )
    np.testing.assert_array_equal(Network.load(path).forward(X), net.forward(X))


def test_interrupted_save_removes_its_temporary_and_keeps_the_old_file(tmp_path, monkeypatch):
    net, _ = trained_network()
    path = net.save(tmp_path / "net.npz")
    before = path.read_bytes()

    def interrupted(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        net.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_saved_file_gets_the_permissions_of_a_new_file(tmp_path):
    mask = os.umask(0o022)
    try:
        path = Network([2, 2], seed=0).save(tmp_path / "net.npz")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # mkstemp would give 0o600

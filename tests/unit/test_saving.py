"""``dlcourse.saving``: ``load``/``save`` dispatch on the file's recorded format, and files
whose bytes are built by hand in the formats as they were before the move (so files saved
by earlier versions still load, and the writers still write the same keys and metadata).

Round trips, atomic writes, corrupt files and files that declare more than they hold are in
``test_checkpoint.py``; resuming training runs in ``test_train.py``.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import dlcourse as dc
from dlcourse.layers import Activation, BatchNorm1d, Linear, Model
from dlcourse.network import Network
from dlcourse.optim import Adam
from dlcourse.saving import (
    CHECKPOINT_FORMAT,
    MODEL_FORMAT,
    NETWORK_FORMAT,
    Checkpoint,
    file_format,
    load,
    save,
)


def data(n_in=3, m=12, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n_in)), rng.integers(0, k, m)


def trained_network():
    X, y = data()
    net = Network([3, 4, 2], "tanh", "softmax", "cross_entropy", init="xavier_normal", seed=1)
    net.fit(X, y, epochs=2, batch_size=4, lr=0.1, progress=False)
    return net, X


def trained_model():
    X, y = data()
    model = Model([Linear(3, 4, seed=2), BatchNorm1d(4), Activation("relu"), Linear(4, 2, seed=3),
                   Activation("softmax")], "cross_entropy", seed=4)  # fmt: skip
    model.fit(X, y, epochs=2, batch_size=4, lr=0.1, progress=False)  # moves the running stats
    return model, X


# --- load / save by the file's format --------------------------------------------------------
def test_the_package_exposes_saving():
    assert dc.saving.load is load and dc.saving.CLASSES == {
        NETWORK_FORMAT: Network,
        MODEL_FORMAT: Model,
    }


def test_load_of_a_network_file_gives_the_network(tmp_path):
    net, X = trained_network()
    path = save(net, tmp_path / "net.npz")
    assert path == tmp_path / "net.npz" and file_format(path) == NETWORK_FORMAT
    again = load(path)
    assert type(again) is Network and again.sizes == [3, 4, 2]
    for p, q in zip(net.parameters(), again.parameters()):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(again.forward(X), net.forward(X))


def test_load_of_a_model_file_gives_the_model(tmp_path):
    model, X = trained_model()
    path = save(model, tmp_path / "model.npz")
    assert file_format(path) == MODEL_FORMAT
    again = load(path)
    assert type(again) is Model and repr(again) == repr(model)
    assert len(again.parameters()) == len(model.parameters()) == 6
    for p, q in zip(model.parameters() + model.buffers(), again.parameters() + again.buffers()):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(model.buffers()[0], 0)  # the running mean was trained
    np.testing.assert_array_equal(again.forward(X), model.forward(X))


def test_load_of_a_checkpoint_says_what_it_is(tmp_path):
    X, y = data()
    net = Network([3, 4, 2], "tanh", "softmax", "cross_entropy", seed=1)
    ckpt = Checkpoint(tmp_path / "ckpt.npz")
    net.fit(X, y, 1, 4, optimizer=Adam(lr=0.01), callbacks=[ckpt], progress=False)
    assert file_format(ckpt.saved[-1]) == CHECKPOINT_FORMAT
    with pytest.raises(ValueError) as info:
        load(ckpt.saved[-1])
    message = str(info.value)
    assert "ckpt.npz" in message and "'dlcourse.checkpoint'" in message
    assert "'dlcourse.Model' or 'dlcourse.Network'" in message and "resume=" in message


def test_load_of_other_files(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.arange(3.0))
    with pytest.raises(ValueError, match=r"plain\.npz: .*no format in its metadata.*dlcourse"):
        load(plain)
    other = tmp_path / "other.npz"
    np.savez(other, metadata=np.array([json.dumps({"format": "someone.Else", "version": 3})]))
    with pytest.raises(ValueError, match=r"other\.npz: .*format 'someone\.Else'.*'dlcourse\."):
        load(other)
    not_json = tmp_path / "not_json.npz"
    np.savez(not_json, metadata=np.array(["{ not json"]))
    with pytest.raises(ValueError, match="not_json.npz: .*no format in its metadata"):
        load(not_json)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"text\.npz: not a readable dlcourse file"):
        load(text)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_save_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(TypeError, match="save writes a Model or Network; got dict"):
        save({"W": np.eye(2)}, tmp_path / "d.npz")
    assert list(tmp_path.iterdir()) == []


def test_file_format_reads_only_the_metadata(tmp_path):
    """A file whose other member declares 3.2 GB: its format is read without touching it,
    and loading it is refused before allocating."""
    path = tmp_path / "lying.npz"
    meta = {"format": NETWORK_FORMAT, "version": 1, "sizes": [20000, 20000, 3]}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (20000, 20000)}
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("W1.npy", header.getvalue() + b"\0" * 16)
        archive.writestr("metadata.npy", _npy(np.array([json.dumps(meta)])))
    tracemalloc.start()
    try:
        assert file_format(path) == NETWORK_FORMAT
        with pytest.raises(ValueError, match=r"'W1\.npy' declares shape \(20000, 20000\)"):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"{peak:,} bytes allocated"


# --- the formats as they were: files built by hand, byte for byte ---------------------------
W1 = np.array([[0.5, -1.0, 0.25], [0.0, 2.0, -0.5], [1.5, 0.5, 0.0], [-0.25, 0.75, 1.0]])
B1 = np.array([0.1, -0.2, 0.3, 0.0])
W2 = np.array([[1.0, -1.0, 0.5, 0.0], [-0.5, 0.25, 1.0, 2.0]])
B2 = np.array([0.05, -0.05])
X = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.25]])

NETWORK_META = (  # what network_io.save_network wrote, keys in this order
    '{"format": "dlcourse.Network", "version": 1, "sizes": [3, 4, 2], "activation": "tanh", '
    '"output": "softmax", "cost": "cross_entropy", "init": "xavier_normal", "dtype": '
    '"float64", "l2": 0.5, "n_train": 30}'
)
MODEL_META = (  # what Model.save wrote, keys in this order
    '{"format": "dlcourse.Model", "version": 1, "layers": ['
    '{"type": "Linear", "n_in": 3, "n_out": 4, "init": "xavier_uniform", "dtype": "float64"}, '
    '{"type": "BatchNorm1d", "num_features": 4, "eps": 1e-05, "momentum": 0.1, "affine": true, '
    '"dtype": "float64"}, {"type": "Activation", "name": "relu"}, '
    '{"type": "Linear", "n_in": 4, "n_out": 2, "init": "xavier_uniform", "dtype": "float64"}, '
    '{"type": "Activation", "name": "softmax"}], "cost": "cross_entropy", "l2": 0.25, '
    '"n_train": 40}'
)
GAMMA, BETA = np.array([1.0, 0.5, 2.0, 1.5]), np.array([0.0, 0.1, -0.1, 0.2])
MEAN, VAR = np.array([0.2, -0.1, 0.0, 0.4]), np.array([1.5, 0.5, 2.0, 1.0])


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_network_file_in_the_old_format_still_loads(tmp_path):
    path = tmp_path / "old_net.npz"
    np.savez(path, metadata=np.array([NETWORK_META]), W1=W1, b1=B1, W2=W2, b2=B2)
    for net in (Network.load(path), load(path)):
        assert (net.sizes, net.activation.name, net.output.name, net.init) == (
            [3, 4, 2], "tanh", "softmax", "xavier_normal")  # fmt: skip
        assert (net.l2, net.n_train) == (0.5, 30)
        expected = softmax(np.tanh(X @ W1.T + B1) @ W2.T + B2)
        np.testing.assert_allclose(net.forward(X), expected, rtol=1e-12, atol=1e-15)


def test_a_model_file_in_the_old_format_still_loads(tmp_path):
    path = tmp_path / "old_model.npz"
    params = [W1, B1, GAMMA, BETA, W2, B2]
    arrays = {"metadata": np.array([MODEL_META])}
    arrays.update({f"param.{i}": p for i, p in enumerate(params)})
    arrays.update({"buffer.0": MEAN, "buffer.1": VAR})
    np.savez(path, **arrays)
    for model in (Model.load(path), load(path)):
        assert (model.l2, model.n_train, model.cost_fn.name) == (0.25, 40, "cross_entropy")
        hidden = (X @ W1.T + B1 - MEAN) / np.sqrt(VAR + 1e-5) * GAMMA + BETA
        expected = softmax(np.maximum(hidden, 0) @ W2.T + B2)
        np.testing.assert_allclose(model.forward(X), expected, rtol=1e-12, atol=1e-15)


def test_the_writers_still_write_the_old_keys_and_metadata(tmp_path):
    net = Network.load(_saved(tmp_path / "a.npz", NETWORK_META, W1=W1, b1=B1, W2=W2, b2=B2))
    with np.load(net.save(tmp_path / "net.npz"), allow_pickle=False) as f:
        assert f.files == ["metadata", "W1", "b1", "W2", "b2"]
        assert str(f["metadata"][0]) == NETWORK_META
    arrays = {f"param.{i}": p for i, p in enumerate([W1, B1, GAMMA, BETA, W2, B2])}
    arrays.update({"buffer.0": MEAN, "buffer.1": VAR})
    model = Model.load(_saved(tmp_path / "b.npz", MODEL_META, **arrays))
    with np.load(model.save(tmp_path / "model.npz"), allow_pickle=False) as f:
        assert f.files == ["metadata", *(f"param.{i}" for i in range(6)), "buffer.0", "buffer.1"]
        assert str(f["metadata"][0]) == MODEL_META
        np.testing.assert_array_equal(f["buffer.1"], VAR)


def _saved(path, meta, **arrays):
    np.savez(path, metadata=np.array([meta]), **arrays)
    return path


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()

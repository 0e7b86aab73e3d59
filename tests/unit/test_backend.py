"""The torch backend: device selection, conversions, and Network's BP1–BP4 code on torch tensors
checked against the same code on NumPy (float64, CPU) to 1e-10."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from dlcourse import Network
from dlcourse.optim import Adam

torch = pytest.importorskip("torch")

from dlcourse.backend import (  # noqa: E402
    available_devices,
    get_device,
    is_torch,
    namespace,
    to_backend,
    to_numpy,
)

TOL = 1e-10
PAIRINGS = [
    ("sigmoid", "sigmoid", "quadratic"),
    ("relu", "softmax", "cross_entropy"),
    ("tanh", "sigmoid", "binary_cross_entropy"),
    ("gelu", "identity", "quadratic"),
    ("elu", "softmax", "quadratic"),  # the general BP1 (softmax Jacobian) on torch
]


def data(m=30, n_in=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, n_in)), rng.integers(0, k, m)


def max_diff(numpy_arrays, tensors):
    return max(float(np.abs(a - to_numpy(t)).max()) for a, t in zip(numpy_arrays, tensors))


# ----------------------------------------------------------------------------- devices
def test_get_device_cpu_and_auto():
    assert get_device("cpu") == torch.device("cpu")
    assert str(get_device("auto")).split(":")[0] in {d.split(":")[0] for d in available_devices()}
    assert get_device(torch.device("cpu")).type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_missing_cuda_lists_the_devices_present():
    with pytest.raises(ValueError, match=r"'cuda' is not available.*devices present: cpu"):
        get_device("cuda")
    with pytest.raises(ValueError, match="devices present: cpu"):
        Network([2, 2], device="cuda")


def test_bad_device_names():
    with pytest.raises(ValueError, match=r"'cuda:99' is not available.*devices present"):
        get_device("cuda:99")
    with pytest.raises(ValueError, match="unknown device 'tpu'.*cuda:N"):
        get_device("tpu")
    with pytest.raises(TypeError, match="device must be a string"):
        get_device(3)


def test_conversions_round_trip():
    a = np.arange(6.0).reshape(2, 3)
    t = to_backend(a, "cpu", "float32")
    assert is_torch(t) and t.dtype == torch.float32 and t.device.type == "cpu"
    np.testing.assert_array_equal(to_numpy(t), a.astype(np.float32))
    assert to_backend(t, "cpu", np.float64).dtype == torch.float64
    assert to_backend(a, None).dtype == np.float64 and not is_torch(a)
    with pytest.raises(TypeError, match="expected a NumPy array; got a torch.Tensor"):
        to_backend(t, None)


def test_namespace_mixing_names_each_argument():
    assert namespace(np.zeros(2)) is namespace(np.ones(3))
    with pytest.raises(TypeError, match="input is a numpy.ndarray, target is a torch.Tensor"):
        namespace(np.zeros(2), torch.zeros(2), names=["input", "target"])


def test_numpy_path_never_imports_torch():
    code = textwrap.dedent(
        """
        import sys, tempfile, os
        import numpy as np
        import dlcourse as dc
        rng = np.random.default_rng(0)
        X, y = rng.random((20, 4)), rng.integers(0, 3, 20)
        for act, out, cost in [("gelu", "softmax", "cross_entropy"), ("sigmoid", "sigmoid",
                               "quadratic")]:
            net = dc.Network([4, 5, 3], act, out, cost, seed=0)
            net.fit(X, y, epochs=2, batch_size=5, lr=0.1, validation=(X, y), progress=False)
            net.evaluate(X, y)
            net.backprop_example(X[0], y[0])
            path = os.path.join(tempfile.mkdtemp(), "n.npz")
            dc.Network.load(net.save(path))
        assert "torch" not in sys.modules, "the NumPy path imported torch"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ----------------------------------------------------------------------------- Network on torch
@pytest.mark.parametrize(("activation", "output", "cost"), PAIRINGS)
def test_forward_gradients_and_trajectory_equal_numpy(activation, output, cost):
    X, y = data()
    ref = Network([5, 6, 4, 3], activation, output, cost, seed=1)
    net = Network([5, 6, 4, 3], activation, output, cost, seed=1, device="cpu")
    assert all(is_torch(p) and p.dtype == torch.float64 for p in net.parameters())
    A = net.forward(X)
    assert is_torch(A) and A.shape == (30, 3)
    assert max_diff([ref.forward(X)], [A]) < TOL
    assert abs(ref.cost(X, y) - net.cost(torch.as_tensor(X), y)) < TOL
    gW, gb = ref.backprop(X, y)
    tW, tb = net.backprop(X, y)
    assert max_diff(gW + gb, tW + tb) < TOL
    eW, eb = ref.backprop_example(X[0], y[0])
    fW, fb = net.backprop_example(X[0], y[0])
    assert max_diff(eW + eb, fW + fb) < TOL
    h_ref = ref.fit(X, y, epochs=5, batch_size=7, lr=0.5, l2=0.1, validation=(X, y), progress=False)
    h = net.fit(X, y, epochs=5, batch_size=7, lr=0.5, l2=0.1, validation=(X, y), progress=False)
    assert max_diff(ref.parameters(), net.parameters()) < TOL
    for key in ("train_cost", "val_cost", "train_accuracy"):
        np.testing.assert_allclose(getattr(h, key), getattr(h_ref, key), rtol=0, atol=TOL)
    assert net.evaluate(X, y) == ref.evaluate(X, y)
    assert np.array_equal(to_numpy(net.predict(X)), ref.predict(X))


def test_torch_inputs_and_adam_trajectory():
    X, y = data(seed=3)
    Y = np.eye(3)[y]
    ref = Network([5, 8, 3], "tanh", "softmax", "cross_entropy", seed=2)
    net = Network([5, 8, 3], "tanh", "softmax", "cross_entropy", seed=2, device="auto")
    net_cpu = Network([5, 8, 3], "tanh", "softmax", "cross_entropy", seed=2, device="cpu")
    ref.fit(X, Y, epochs=5, batch_size=8, optimizer=Adam(lr=0.01), progress=False)
    Xt, Yt = torch.as_tensor(X, device=net.device), torch.as_tensor(Y, device=net.device)
    net.fit(Xt, Yt, epochs=5, batch_size=8, optimizer=Adam(lr=0.01), progress=False)
    net_cpu.fit(X, Y, epochs=5, batch_size=8, optimizer=Adam(lr=0.01), progress=False)
    assert max_diff(ref.parameters(), net_cpu.parameters()) < TOL
    assert max_diff(ref.parameters(), net.parameters()) < 1e-8  # a GPU sums in another order


def test_save_load_converts(tmp_path):
    X, y = data()
    net = Network([5, 4, 3], "relu", "softmax", "cross_entropy", seed=0, device="cpu")
    net.fit(X, y, epochs=2, batch_size=10, lr=0.3, progress=False)
    path = net.save(tmp_path / "net.npz")
    back = Network.load(path)
    assert not is_torch(back.weights[0])
    assert max_diff(back.parameters(), net.parameters()) == 0.0
    on_torch = Network.load(path, device="cpu")
    assert is_torch(on_torch.weights[0]) and on_torch.device.type == "cpu"
    assert max_diff([back.forward(X)], [on_torch.forward(X)]) < TOL


def test_mixing_numpy_and_torch_names_the_arguments():
    X, y = data()
    net = Network([5, 3], seed=0)
    with pytest.raises(TypeError, match=r"X is a numpy.ndarray, Y is a torch.Tensor on cpu"):
        net.cost(X, torch.as_tensor(np.eye(3)[y]))
    with pytest.raises(TypeError, match=r"X is a torch.Tensor on cpu, Y is a numpy.ndarray"):
        net.fit(torch.as_tensor(X), y, epochs=1, batch_size=5, lr=0.1)
    with pytest.raises(TypeError, match=r"X is a torch.Tensor.*device=None"):
        net.forward(torch.as_tensor(X))
    torch_net = Network([5, 3], seed=0, device="cpu")  # converts NumPy inputs itself
    assert torch_net.evaluate(X, torch.as_tensor(y)) == net.evaluate(X, y)


def test_bad_input_on_torch_network():
    net = Network([5, 3], seed=0, device="cpu")
    with pytest.raises(ValueError, match="X has 4 features; the network expects 5"):
        net.forward(torch.zeros(2, 4))
    with pytest.raises(TypeError, match="real numbers"):
        net.forward(torch.zeros(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="NaN or inf"):
        net.forward(torch.full((2, 5), float("nan")))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.2 for k=3"):
        net.cost(torch.zeros(2, 5), torch.tensor([0, 7]))

"""The same checks on a CUDA GPU (skipped without one): forward pass and BP1–BP4 on the GPU equal
the CPU, AMP training learns, and DDP runs on one GPU with nccl."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlcourse import Network

torch = pytest.importorskip("torch")

from dlcourse.backend import to_numpy  # noqa: E402
from dlcourse.torchnet import fit_torch, to_module  # noqa: E402

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def data(m=64, n_in=8, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n_in)), rng.integers(0, k, m)


@pytest.mark.parametrize(("activation", "output", "cost"), [
    ("sigmoid", "sigmoid", "quadratic"),
    ("relu", "softmax", "cross_entropy"),
    ("gelu", "sigmoid", "binary_cross_entropy"),
])  # fmt: skip
def test_forward_and_backprop_on_gpu_equal_cpu(activation, output, cost):
    X, y = data()
    cpu = Network([8, 16, 4], activation, output, cost, seed=0)
    gpu = Network([8, 16, 4], activation, output, cost, seed=0, device="cuda")
    assert gpu.weights[0].device.type == "cuda"
    A = gpu.forward(X)
    assert A.device.type == "cuda"
    np.testing.assert_allclose(to_numpy(A), cpu.forward(X), rtol=0, atol=1e-12)
    for got, want in zip(gpu.gradients(X, y), cpu.gradients(X, y)):
        np.testing.assert_allclose(to_numpy(got), want, rtol=0, atol=1e-12)
    cpu.fit(X, y, epochs=3, batch_size=16, lr=0.5, progress=False)
    gpu.fit(X, y, epochs=3, batch_size=16, lr=0.5, progress=False)
    for got, want in zip(gpu.parameters(), cpu.parameters()):
        np.testing.assert_allclose(to_numpy(got), want, rtol=0, atol=1e-10)


def test_float32_on_gpu_matches_cpu():
    X, y = data(m=256)
    cpu = Network([8, 32, 4], "tanh", "softmax", "cross_entropy", dtype="float32", seed=1)
    gpu = Network([8, 32, 4], "tanh", "softmax", "cross_entropy", dtype="float32", seed=1,
                  device="cuda:0")  # fmt: skip
    for got, want in zip(gpu.gradients(X, y), cpu.gradients(X, y)):
        np.testing.assert_allclose(to_numpy(got), want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_training_learns(amp):
    X, y = data(m=512, seed=2)
    X = X.astype(np.float32)
    module = to_module(Network([8, 64, 4], "relu", "softmax", "cross_entropy", "he",
                               dtype="float32", seed=0), device="cuda")  # fmt: skip
    reference = to_module(Network([8, 64, 4], "relu", "softmax", "cross_entropy", "he",
                                  dtype="float32", seed=0), device="cuda")  # fmt: skip
    h = fit_torch(module, X, y, epochs=5, batch_size=64, lr=0.5, cost="cross_entropy", amp=amp,
                  progress=False)  # fmt: skip
    h32 = fit_torch(reference, X, y, epochs=5, batch_size=64, lr=0.5, cost="cross_entropy",
                    progress=False)  # fmt: skip
    assert h.train_cost[-1] < h.train_cost[0]
    np.testing.assert_allclose(h.train_cost, h32.train_cost, atol=0.05)


def test_ddp_on_one_gpu(tmp_path):
    path = tmp_path / "gpu.npz"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=1", "-m", "dlcourse.distributed", "--sizes", "64", "16", "10",
               "--epochs", "2", "--batch-size", "32", "--lr", "0.5", "--device", "cuda",
               "--checkpoint", str(path)]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    net = Network.load(path)
    from dlcourse.data import load_digits

    data_set = load_digits(seed=0)
    assert net.evaluate(data_set.X_test, data_set.y_test) > 0.5

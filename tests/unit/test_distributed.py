"""Data-parallel training: torchrun + DDP (gloo, 2 CPU processes) equals single-process SGD on
the combined batch, and a crashed rank makes the launcher fail instead of hanging."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlcourse import Network
from dlcourse.data import load_digits

torch = pytest.importorskip("torch")

from torch.utils.data import DistributedSampler  # noqa: E402

from dlcourse.distributed import build_parser, train_rank  # noqa: E402
from dlcourse.torchnet import network_cost, to_module  # noqa: E402

SIZES = ["64", "12", "10"]
ARGS = ["--sizes", *SIZES, "--epochs", "1", "--max-steps", "3", "--batch-size", "8",
        "--lr", "0.5", "--seed", "3", "--device", "cpu"]  # fmt: skip
LAUNCH_TIMEOUT = 120  # seconds; the launcher must be done well before


def combined_batch_sgd(world: int, steps: int = 3, batch_size: int = 8, lr: float = 0.5, seed=3):
    """The oracle: plain SGD in one process where step k uses the union of the k-th batches
    that the ``world`` ranks' DistributedSamplers hand out."""
    data = load_digits(seed=seed, dtype="float32")
    X, Y = data.X_train, np.eye(10, dtype=np.float32)[data.y_train]
    net = Network([int(n) for n in SIZES], "sigmoid", "softmax", "cross_entropy",
                  dtype="float32", seed=seed)  # fmt: skip
    module = to_module(net)
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    orders = []
    for rank in range(world):
        sampler = DistributedSampler(range(len(X)), num_replicas=world, rank=rank, seed=seed)
        sampler.set_epoch(0)
        orders.append(list(sampler))
    for k in range(steps):
        rows = np.concatenate([o[k * batch_size : (k + 1) * batch_size] for o in orders])
        optimizer.zero_grad()
        network_cost("cross_entropy")(
            module(torch.as_tensor(X[rows])), torch.as_tensor(Y[rows])
        ).backward()
        optimizer.step()
    return [p.detach().numpy() for p in module.parameters()]


def assert_same_parameters(net, expected, atol=1e-6):
    for got, want in zip(net.parameters(), expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)


def test_single_process_run_equals_the_oracle(tmp_path):
    """``python -m dlcourse.distributed`` without torchrun: a process group of one."""
    path = tmp_path / "one.npz"
    net = train_rank(build_parser().parse_args([*ARGS, "--checkpoint", str(path)]))
    assert_same_parameters(net, combined_batch_sgd(world=1))
    assert_same_parameters(Network.load(path), combined_batch_sgd(world=1), atol=0)
    with pytest.raises(AssertionError):  # the oracle is sensitive to the batches it is given
        assert_same_parameters(net, combined_batch_sgd(world=2))


def torchrun(*args: str, entry: tuple[str, ...] = ("-m", "dlcourse.distributed")):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", *entry, *ARGS, *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)


def test_two_gloo_processes_equal_one_process_on_the_combined_batch(tmp_path):
    path = tmp_path / "ddp.npz"
    run = torchrun("--checkpoint", str(path))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "saved" in run.stdout and "world size 2" in run.stdout
    assert_same_parameters(Network.load(path), combined_batch_sgd(world=2))
    assert not list(tmp_path.glob(".*.tmp")), "a temporary checkpoint file was left behind"


CRASHING_RANK = """
import os, sys
from dlcourse.distributed import main

class Crash:  # rank 1 fails after its first step; rank 0 then waits in the next all-reduce
    def on_step_end(self, module, step, seconds):
        if os.environ["RANK"] == "1":
            raise RuntimeError("rank 1: injected failure")

sys.exit(main(sys.argv[1:], callbacks=[Crash()]))
"""


def test_a_crashed_rank_makes_the_launcher_fail(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_RANK)
    path = tmp_path / "never.npz"
    run = torchrun("--timeout", "20", "--checkpoint", str(path), entry=(str(script),))
    assert run.returncode != 0
    assert "injected failure" in run.stdout + run.stderr
    assert not path.exists()


def test_log_every_prints_the_training_cost_of_each_step(capsys):
    """``--log-every 1``: rank 0 prints the training-set cost before the first step and after
    every step, and the last one is the cost of the network it returns."""
    net = train_rank(build_parser().parse_args([*ARGS, "--log-every", "1"]))
    lines = capsys.readouterr().out.splitlines()
    costs = {int(line.split()[1].rstrip(":")): float(line.split()[-1])
             for line in lines if line.startswith("step ")}  # fmt: skip
    assert sorted(costs) == [0, 1, 2, 3]
    data = load_digits(seed=3, dtype="float32")
    Y = np.eye(10, dtype=np.float32)[data.y_train]
    start = Network([int(n) for n in SIZES], "sigmoid", "softmax", "cross_entropy",
                    dtype="float32", seed=3)  # fmt: skip
    np.testing.assert_allclose(costs[0], start.cost(data.X_train, Y), rtol=1e-5)
    np.testing.assert_allclose(costs[3], net.cost(data.X_train, Y), rtol=1e-5)
    assert costs[3] < costs[0]
    assert any(line.startswith("time per step:") and "over 3 steps" in line for line in lines)

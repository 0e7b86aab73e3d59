"""Training throughput of the [784, 1024, 1024, 10] network at batch 1024, CPU and GPU.

    python benchmarks/bench_gpu.py            # 8 timed steps per row
    python benchmarks/bench_gpu.py --steps 3  # quicker

One training step = forward pass, gradients, plain SGD update, on a mini-batch of 1024 random
rows (seeded) with one-hot targets; sigmoid hidden units, softmax output, cross-entropy,
float32. Rows:

- dlcourse NumPy CPU: ``Network`` (device=None): ``gradients`` (BP1–BP4) + ``optim.SGD``.
- dlcourse on torch CPU / CUDA: the same ``Network`` code with ``device="cpu"``/``"cuda"``.
- idiomatic torch CPU / CUDA: ``nn.Sequential`` (:func:`dlcourse.torchnet.to_module`),
  ``torch.optim.SGD``, ``nn.CrossEntropyLoss`` on logits; on CUDA also with AMP (bf16
  autocast).
- matmul peak: NumPy and torch float32 (and bf16 on CUDA) ``A @ B`` of 4096 × 4096 (2048
  on the CPU), measured in the same run. The GFLOP/s column of every row counts the matrix
  products of a step (2 per multiply-add; forward 1 product per layer, backward 2), about
  6 × parameters × batch.

GPU rows print "n/a (no GPU)" where CUDA is absent. Each row reports the median of
``--steps`` timed steps after 2 warm-up steps (CUDA timings are synchronised).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dlcourse as dc  # noqa: E402
from dlcourse.optim import SGD  # noqa: E402

SIZES = [784, 1024, 1024, 10]
BATCH, LR = 1024, 0.1


def flops_per_step(sizes=SIZES, batch=BATCH) -> float:
    """2·m·n_in·n_out per matrix product; 3 products per layer (forward, δ W, δᵀ A) minus
    the δ W product of the first layer."""
    products = sum(3 * a * b for a, b in zip(sizes[:-1], sizes[1:])) - sizes[0] * sizes[1]
    return 2.0 * batch * products


def median_step_time(step, steps: int, sync=lambda: None) -> float:
    for _ in range(2):
        step()
    sync()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def network_step(device, X, Y):
    net = dc.Network(SIZES, "sigmoid", "softmax", "cross_entropy", dtype="float32", device=device,
                     seed=0)  # fmt: skip
    if device is not None:
        X, Y = net._cast(X), net._cast(Y)
    opt = SGD(LR)
    step_on = dc.train.stepper(net, opt, net.parameters())  # as fit_loop steps
    return lambda: step_on(X, Y)


def torch_step(torch, device, X, y, amp: bool):
    from dlcourse.torchnet import to_module

    net = dc.Network(SIZES, "sigmoid", "identity", "quadratic", dtype="float32", seed=0)
    module = to_module(net, device)[:-1]  # logits: CrossEntropyLoss applies the softmax
    opt = torch.optim.SGD(module.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, torch.bfloat16, enabled=amp):
            loss = loss_fn(module(X), y)
        loss.backward()
        opt.step()

    return step


def matmul_peak(torch, device, dtype) -> float:
    n = 4096 if device.type == "cuda" else 2048
    A = torch.randn(n, n, device=device, dtype=dtype)
    B = torch.randn(n, n, device=device, dtype=dtype)
    seconds = median_step_time(lambda: A @ B, 5, sync_for(torch, device))
    return 2.0 * n**3 / seconds / 1e9


def sync_for(torch, device):
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per row")
    parser.add_argument("--quick", action="store_true", help="2 timed steps per row")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = 2
    rng = np.random.default_rng(0)
    X = rng.random((BATCH, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    Y = np.eye(SIZES[-1], dtype=np.float32)[y]
    flops = flops_per_step()
    rows: list[tuple[str, float | None]] = []  # (name, seconds per step) or None = n/a
    rows.append(("dlcourse NumPy CPU", median_step_time(network_step(None, X, Y), args.steps)))
    try:
        import torch
    except ImportError:
        torch = None
    A = rng.random((2048, 2048), dtype=np.float32)
    peaks = [
        ("NumPy matmul peak CPU float32", 2.0 * 2048**3 / median_step_time(lambda: A @ A, 5) / 1e9)
    ]
    if torch is not None:
        cpu = torch.device("cpu")
        rows.append(
            ("dlcourse on torch CPU", median_step_time(network_step("cpu", X, Y), args.steps))
        )
        rows.append(
            (
                "idiomatic torch CPU",
                median_step_time(torch_step(torch, cpu, X, y, False), args.steps),
            )
        )
        peaks.append(("torch matmul peak CPU float32", matmul_peak(torch, cpu, torch.float32)))
    gpu = torch is not None and torch.cuda.is_available()
    if gpu:
        cuda = torch.device("cuda")
        sync = torch.cuda.synchronize
        rows.append(
            (
                "dlcourse on torch CUDA",
                median_step_time(network_step("cuda", X, Y), args.steps, sync),
            )
        )
        rows.append(
            (
                "idiomatic torch CUDA",
                median_step_time(torch_step(torch, cuda, X, y, False), args.steps, sync),
            )
        )
        rows.append(
            (
                "idiomatic torch CUDA + AMP bf16",
                median_step_time(torch_step(torch, cuda, X, y, True), args.steps, sync),
            )
        )
        peaks.append(("torch matmul peak CUDA float32", matmul_peak(torch, cuda, torch.float32)))
        peaks.append(("torch matmul peak CUDA bf16", matmul_peak(torch, cuda, torch.bfloat16)))
    else:
        for name in (
            "dlcourse on torch CUDA",
            "idiomatic torch CUDA",
            "idiomatic torch CUDA + AMP bf16",
        ):
            rows.append((name, None))
    device = torch.cuda.get_device_name() if gpu else "no GPU"
    print(f"training step, sizes {SIZES}, batch {BATCH}, float32 ({device})")
    print(f"{'path':34} {'ms/step':>9} {'samples/s':>11} {'GFLOP/s':>9}")
    for name, seconds in rows:
        if seconds is None:
            print(f"{name:34} {'n/a (no GPU)':>31}")
        else:
            gflops = flops / seconds / 1e9
            print(f"{name:34} {seconds * 1e3:9.1f} {BATCH / seconds:11,.0f} {gflops:9.1f}")
    for name, gflops in peaks:
        print(f"{name:34} {'':>9} {'':>11} {gflops:9.1f}")
    times = dict(rows)
    if times.get("dlcourse on torch CUDA") and times.get("idiomatic torch CUDA"):
        ratio = times["idiomatic torch CUDA"] / times["dlcourse on torch CUDA"]
        print(f"dlcourse CUDA reaches {ratio:.0%} of idiomatic torch CUDA throughput (goal ≥ 50%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

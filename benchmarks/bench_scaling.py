"""How the cost of a training step grows with width, depth and batch size.

    python benchmarks/bench_scaling.py            # the full sweeps
    python benchmarks/bench_scaling.py --quick    # two points per sweep, short timings

Network: 784 inputs, ``depth`` hidden ReLU layers of ``width`` units, 10 softmax outputs with
cross-entropy, plain SGD; seeded random data. Three sweeps around the base point (width 256,
depth 1, batch 64): width 32…4096, depth 1…8, batch 1…1024. For each point and each of NumPy
float64, NumPy float32 (``dlcourse.Network``: ``gradients`` + ``SGD.step``) and torch CPU
eager float32 it records (all with ``--threads`` threads, default 1: on a shared machine one
thread per process gives stable timings, and the peak line is measured with the same count):

- ``s_per_epoch``: seconds per example times 60,000 (one MNIST-sized epoch, extrapolated
  from the fastest of at least three timed steps after one warm-up step, over about
  ``--budget`` seconds; ``s_per_step_mean`` keeps the mean step);
- ``gflops``: the matrix products of the step, ``2 m (n_0 n_1 + …)`` for the forward pass plus
  twice that less the first layer's ``delta`` product for the backward pass, per second;
- ``peak_mib`` (NumPy only): the peak of the memory allocated during the timed steps on top
  of the parameters and data, which were allocated before (``tracemalloc``, which sees
  NumPy's buffers but not torch's allocator), in MiB.

``peak_gflops`` holds the NumPy matmul peak of each dtype measured in the same run (best of
many 512×512 products, measured again after each sweep); ``limit_s_per_epoch`` of a point
is the time its products would take at that peak: the floor of a NumPy implementation.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dlcourse as dc  # noqa: E402
from benchmarks._results import save  # noqa: E402

EPOCH = 60_000
BASE = {"width": 256, "depth": 1, "batch": 64}
FULL = {
    "width": [32, 64, 128, 256, 512, 1024, 2048, 4096],
    "depth": [1, 2, 3, 4, 5, 6, 7, 8],
    "batch": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
}
QUICK = {"width": [32, 256], "depth": [1, 2], "batch": [1, 64]}


def sizes_of(width: int, depth: int) -> list[int]:
    return [784] + [width] * depth + [10]


def step_flops(sizes: list[int], m: int) -> float:
    """Multiply-adds ×2 of one training step: forward, grad_W of every layer, delta of all but
    the first layer."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2.0 * m * (2 * sum(products) + sum(products[1:]))


def matmul_peak(dtype: str, rounds: int, n: int = 512) -> float:
    """Best GFLOP/s of an ``n``×``n`` matrix product in ``dtype`` over ``rounds`` products.

    A product of a few milliseconds, timed many times, finds the moments when a shared
    machine leaves the core alone, just as the short training steps do; one long product
    would nearly always be interrupted.
    """
    rng = np.random.default_rng(0)
    A = rng.random((n, n)).astype(dtype)
    C = np.empty_like(A)
    best = math.inf
    np.matmul(A, A, out=C)
    for _ in range(rounds):
        t = time.perf_counter()
        np.matmul(A, A, out=C)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def timed_steps(step, budget: float) -> tuple[float, float]:
    """Warm up once, then time ``step`` at least three times and until ``budget`` seconds
    passed. Returns the least and the mean seconds of one step: the least discounts the steps
    during which a shared machine ran something else."""
    step()
    times, start = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < budget:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return min(times), sum(times) / len(times)


def time_numpy(sizes, m, dtype, budget):
    rng = np.random.default_rng(1)
    X = rng.random((m, 784)).astype(dtype)
    Y = np.eye(10, dtype=dtype)[rng.integers(0, 10, m)]
    net = dc.Network(sizes, "relu", "softmax", "cross_entropy", init="he", dtype=dtype, seed=0)
    step_on = dc.train.stepper(net, dc.optim.SGD(0.01), net.parameters())  # as fit_loop

    def step():
        step_on(X, Y)

    step()
    tracemalloc.start()
    try:
        best, mean = timed_steps(step, budget)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return best, mean, peak / 2**20


def time_torch(sizes, m, budget):
    import torch

    torch.manual_seed(0)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(1)
    X, y = torch.rand((m, 784), generator=gen), torch.randint(0, 10, (m,), generator=gen)

    def step():
        loss = torch.nn.functional.cross_entropy(model(X), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return timed_steps(step, budget)


def point(width, depth, batch, budget, peaks, with_torch) -> dict:
    sizes = sizes_of(width, depth)
    flops = step_flops(sizes, batch)
    out = {"width": width, "depth": depth, "batch": batch, "sizes": sizes}
    out["flops_per_example"] = flops / batch
    impls = {}
    for dtype in ("float64", "float32"):
        best, mean, peak_mib = time_numpy(sizes, batch, dtype, budget)
        impls[f"numpy {dtype}"] = {"s_per_step": best, "s_per_step_mean": mean,
                                   "peak_mib": peak_mib}  # fmt: skip
    if with_torch:
        best, mean = time_torch(sizes, batch, budget)
        impls["torch float32"] = {"s_per_step": best, "s_per_step_mean": mean, "peak_mib": None}
    for rec in impls.values():
        rec["s_per_epoch"] = rec["s_per_step"] / batch * EPOCH
        rec["gflops"] = flops / rec["s_per_step"] / 1e9
    out["impls"] = impls
    out["limit_s_per_epoch"] = {
        d: flops / batch * EPOCH / (peaks[d] * 1e9) for d in ("float32", "float64")
    }
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two points per sweep")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds timed per point")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument("--out", default="scaling", help="name of the JSON in results/")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads, user_api="blas"):
        return _measure(args)


def _measure(args) -> dict:
    grid, budget = (QUICK, 0.02) if args.quick else (FULL, args.budget)
    try:
        import torch

        torch.set_num_threads(args.threads)
        threads = args.threads
    except ImportError:
        threads = None
    rounds = 5 if args.quick else 50
    peaks = {d: matmul_peak(d, rounds) for d in ("float32", "float64")}
    print(f"NumPy matmul peak: float32 {peaks['float32']:.1f}, float64 "
          f"{peaks['float64']:.1f} GFLOP/s")  # fmt: skip
    sweeps = {}
    for name, values in grid.items():
        print(f"\n{name}: s per 60,000-example epoch (GFLOP/s)")
        rows = []
        for v in values:
            p = point(**{**BASE, name: v}, budget=budget, peaks=peaks,
                      with_torch=threads is not None)  # fmt: skip
            rows.append(p)
            cells = "  ".join(
                f"{k} {r['s_per_epoch']:.3g} ({r['gflops']:.3g})" for k, r in p["impls"].items()
            )
            print(f"{name} {v:>5}: {cells}", flush=True)
        sweeps[name] = rows
        # a peak re-measured after each sweep follows a machine whose load changes
        peaks = {d: max(peaks[d], matmul_peak(d, rounds)) for d in peaks}
    result = {
        "benchmark": "bench_scaling.py",
        "quick": args.quick,
        "base": BASE,
        "epoch_examples": EPOCH,
        "budget_s": budget,
        "threads": args.threads,
        "torch_threads": threads,
        "peak_gflops": peaks,
        "sweeps": sweeps,
    }
    print("saved", save(args.out, result))
    return result


if __name__ == "__main__":
    main()

"""One training epoch of the [784, 30, 10] sigmoid network, four ways, plus throughput.

    python benchmarks/bench_epoch.py            # 50,000 examples (issue 4's setting)
    python benchmarks/bench_epoch.py --quick    # 10,000 examples, fewer repeats

Random data (seeded) stands in for MNIST: 784 features in [0, 1), one-hot targets for 10
classes; quadratic cost, sigmoid units, batch 10, lr 3.0 (Nielsen's chapter 1 setting).

Rows of the first table:
- per-example loop: ``Network.backprop_example`` for every example of a mini-batch, gradients
  summed and applied once per batch (Nielsen's ``update_mini_batch``), float64. Timed on a
  subset and extrapolated to the whole epoch (said in the table).
- vectorised float64 / float32: ``Network.fit(epochs=1, batch_size=10, lr=3.0)``, the full
  public path including the end-of-epoch cost/accuracy over the training set.
- PyTorch CPU eager: ``nn.Sequential(Linear, Sigmoid, Linear, Sigmoid)``, ``torch.optim.SGD``,
  batch 10, float32, the same loss; with 1 thread and with torch's default thread count (the
  latter timed on a subset); the faster of the two is the reference for the speed-up column.

Then batch 256 with a hidden layer of 1024 (float32): training throughput in GFLOP/s (matrix
products of forward + backward pass) against the NumPy float32 matmul peak measured in the
same run, and the peak memory allocated during one epoch (tracemalloc) against the data set
plus the model. Every timing is the best of ``--repeats`` runs. The tables are saved to
``benchmarks/results/epoch.json`` with the course's targets (met or missed): the vectorised
step >= 12x (float32) and >= 8x (float64) the per-example loop and >= 5x PyTorch CPU eager,
and the batch-256 epoch at >= 80 % of the float32 matmul peak.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dlcourse as dc  # noqa: E402
from benchmarks._results import save  # noqa: E402

SIZES = [784, 30, 10]
LR, BATCH = 3.0, 10


def make_data(n: int, seed: int = 0, n_in: int = 784, k: int = 10):
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_in))
    Y = np.eye(k)[rng.integers(0, k, n)]
    return X, Y


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def blocks(step, n_steps: int, block: int = 50) -> tuple[float, float, float]:
    """Run ``step(i)`` for ``i < n_steps``, timing blocks of ``block`` steps.

    Returns ``(wall, robust, best)``: the wall-clock seconds, and the median (and the least)
    seconds per step of the blocks times ``n_steps``, which discount blocks where a busy
    machine preempted the run.
    """
    per_step = []
    start = time.perf_counter()
    for first in range(0, n_steps, block):
        last = min(first + block, n_steps)
        t = time.perf_counter()
        for i in range(first, last):
            step(i)
        per_step.append((time.perf_counter() - t) / (last - first))
    wall = time.perf_counter() - start
    return wall, float(np.median(per_step)) * n_steps, min(per_step) * n_steps


def time_loop(X, Y, n_steps: int) -> tuple[float, float, float]:
    """Mini-batches through ``backprop_example`` one example at a time (Nielsen's
    ``update_mini_batch``), float64."""
    net = dc.Network(SIZES, seed=0)

    def step(i):
        sum_W = [np.zeros_like(W) for W in net.weights]
        sum_b = [np.zeros_like(b) for b in net.biases]
        for x, y in zip(X[i * BATCH : (i + 1) * BATCH], Y[i * BATCH : (i + 1) * BATCH]):
            grad_W, grad_b = net.backprop_example(x, y)
            for s, g in zip(sum_W + sum_b, grad_W + grad_b):
                s += g
        for p, s in zip(net.weights + net.biases, sum_W + sum_b):
            p -= (LR / BATCH) * s

    return blocks(step, n_steps, block=10)


def time_vectorised(X, Y, dtype: str) -> tuple[float, float, float]:
    """The inner loop of ``dlcourse.train.fit_loop``: index a batch, ``gradients``, SGD step."""
    net = dc.Network(SIZES, dtype=dtype, seed=0)
    step_on = dc.train.stepper(net, dc.optim.SGD(LR), net.parameters())
    order = np.random.default_rng(0).permutation(len(X))

    def step(i):
        idx = order[i * BATCH : (i + 1) * BATCH]
        step_on(X[idx], Y[idx])

    return blocks(step, len(X) // BATCH)


def time_fit(X, Y, dtype: str) -> float:
    """Wall seconds of ``Network.fit(epochs=1)``, including the end-of-epoch evaluation."""
    net = dc.Network(SIZES, dtype=dtype, seed=0)
    start = time.perf_counter()
    net.fit(X, Y, epochs=1, batch_size=BATCH, lr=LR, progress=False)
    return time.perf_counter() - start


def time_torch(X, Y, n_steps: int, threads: int) -> tuple[float, float, float]:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 30), torch.nn.Sigmoid(), torch.nn.Linear(30, 10), torch.nn.Sigmoid()
    )
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    order = torch.randperm(len(Xt))

    def step(i):
        idx = order[i * BATCH : (i + 1) * BATCH]
        loss = 0.5 * ((model(Xt[idx]) - Yt[idx]) ** 2).sum(dim=1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    try:
        return blocks(step, n_steps)
    finally:
        torch.set_num_threads(old)


WIDE = [784, 1024, 10]
# matrix products per example of one training step on WIDE: forward 2 n_0 n_1 + 2 n_1 n_2;
# backward grad_W2, delta^1 and grad_W1 (no product for delta^0)
WIDE_FLOPS = 2 * (2 * WIDE[0] * WIDE[1] + 3 * WIDE[1] * WIDE[2])


def wide_throughput(n: int, rounds: int) -> dict[str, float]:
    """GFLOP/s of float32 training at batch 256 on WIDE, and the NumPy matmul peak.

    ``block``: best of ``rounds`` timings of 10 training steps; ``peak_tall``: best of as many
    timings of 10 products (256 x 784) @ (784 x 1024), the step's own big shape, interleaved
    with the steps so both see the same machine load; ``peak_square``: 1024^3 products;
    ``epoch``: best of 2 whole epochs of ``n`` examples.
    """
    X, Y = make_data(n, seed=2)
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    net = dc.Network(WIDE, dtype="float32", seed=0)
    step_on = dc.train.stepper(net, dc.optim.SGD(0.01), net.parameters())
    Xb, Yb = X[:256].copy(), Y[:256].copy()
    rng = np.random.default_rng(1)
    A, B = rng.random((256, 784), dtype=np.float32), rng.random((784, 1024), dtype=np.float32)
    S = rng.random((1024, 1024), dtype=np.float32)
    C, D = np.empty((256, 1024), np.float32), np.empty((1024, 1024), np.float32)

    def steps():
        for _ in range(10):
            step_on(Xb, Yb)

    best = {"block": math.inf, "tall": math.inf, "square": math.inf, "epoch": math.inf}
    steps()
    for _ in range(rounds):
        best["block"] = min(best["block"], best_of(1, steps))
        best["tall"] = min(
            best["tall"], best_of(1, lambda: [np.matmul(A, B, out=C) for _ in range(10)])
        )
        best["square"] = min(
            best["square"], best_of(1, lambda: [np.matmul(S, S, out=D) for _ in range(3)])
        )

    def epoch():
        fresh = dc.Network(WIDE, dtype="float32", seed=0)
        sgd, order_rng = dc.optim.SGD(0.01), np.random.default_rng(0)
        dc.train.fit_loop(
            fresh, X, Y, 1, 256, sgd, progress=False, rng=order_rng, track_train=False
        )

    best["epoch"] = best_of(2, epoch)
    return {
        "block": 10 * 256 * WIDE_FLOPS / best["block"] / 1e9,
        "epoch": n * WIDE_FLOPS / best["epoch"] / 1e9,
        "epoch_s": best["epoch"],
        "peak_tall": 10 * 2 * 256 * 784 * 1024 / best["tall"] / 1e9,
        "peak_square": 3 * 2 * 1024**3 / best["square"] / 1e9,
    }


def epoch_memory(X, Y) -> tuple[int, int, int]:
    """(data bytes, model bytes, peak bytes allocated during one fit epoch), float32."""
    net = dc.Network(SIZES, dtype="float32", seed=0)
    model = sum(p.nbytes for p in net.parameters())
    tracemalloc.start()
    net.fit(X, Y, epochs=1, batch_size=BATCH, lr=LR, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return X.nbytes + Y.nbytes, model, peak


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 examples, 1 repeat")
    parser.add_argument("--out", default="epoch", help="name of the JSON in results/")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (best is kept)")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit NumPy's BLAS threads (threadpoolctl), e.g. on a busy machine",
    )
    args = parser.parse_args(argv)
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads, user_api="blas")
    n = 10_000 if args.quick else 50_000
    repeats = args.repeats or (1 if args.quick else 2)
    n_loop = min(n, 1_000 if args.quick else 5_000)
    n_torch_default = 200 if args.quick else 500  # multi-threaded torch is slow here

    X64, Y64 = make_data(n)
    X32, Y32 = X64.astype(np.float32), Y64.astype(np.float32)
    batches = n // BATCH

    has_torch = importlib.util.find_spec("torch") is not None
    threads = None
    if has_torch:
        import torch

        threads = torch.get_num_threads()
    scale = {"loop": batches / (n_loop // BATCH), "torch_default": batches / n_torch_default}
    methods = {
        "loop": lambda: time_loop(X64, Y64, n_loop // BATCH),
        "vec64": lambda: time_vectorised(X64, Y64, "float64"),
        "vec32": lambda: time_vectorised(X32, Y32, "float32"),
        "fit64": lambda: (time_fit(X64, Y64, "float64"), math.nan, math.nan),
        "fit32": lambda: (time_fit(X32, Y32, "float32"), math.nan, math.nan),
    }
    if has_torch:
        methods["torch1"] = lambda: time_torch(X32, Y32, batches, 1)
        methods["torch_default"] = lambda: time_torch(X32, Y32, n_torch_default, threads)
    wall = dict.fromkeys(methods, math.inf)
    robust = dict.fromkeys(methods, math.inf)
    fastest = dict.fromkeys(methods, math.inf)
    for _ in range(repeats):  # interleaved rounds: every method sees the same machine load
        for name, run in methods.items():
            w, r, f = (t * scale.get(name, 1.0) for t in run())
            wall[name] = min(wall[name], w)
            robust[name] = r if math.isnan(r) else min(robust[name], r)  # nan: fit rows
            fastest[name] = f if math.isnan(f) else min(fastest[name], f)
    loop = robust["loop"]
    torch_ref = min(robust["torch1"], robust["torch_default"]) if has_torch else None

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    print(
        f"One epoch, {n:,} examples x 784 features, sizes {SIZES}, batch {BATCH}, lr {LR}\n"
        f"best of {repeats} interleaved rounds; {os.cpu_count()} CPUs, load {load:.1f}, "
        f"NumPy {np.__version__}, BLAS threads {args.blas_threads or 'default'}.\n"
        f"'wall': the measured epoch; 'robust': median seconds per step over blocks of steps\n"
        f"times the number of steps (discounts preemption on a busy machine); 'best': the\n"
        f"fastest block likewise. Speed-ups use 'robust' ('wall' for the Network.fit rows).\n"
    )
    head = (
        f"{'method':<58} {'wall s':>8} {'robust s':>9} {'best s':>7} {'examples/s':>11} "
        f"{'vs loop':>8} {'vs torch':>9}"
    )
    print(head)
    print("-" * len(head))
    rows = [
        (f"per-example loop, float64 (timed {n_loop:,} ex., extrapolated)", "loop"),
        ("vectorised float64 (fit_loop's inner loop)", "vec64"),
        ("vectorised float32 (fit_loop's inner loop)", "vec32"),
        ("Network.fit float64, incl. end-of-epoch evaluation", "fit64"),
        ("Network.fit float32, incl. end-of-epoch evaluation", "fit32"),
    ]
    if has_torch:
        rows.append(("PyTorch CPU eager float32, 1 thread", "torch1"))
        rows.append(
            (
                f"PyTorch CPU eager, {threads} threads (timed {n_torch_default:,} steps)",
                "torch_default",
            )
        )
    for label, key in rows:
        seconds = wall[key] if math.isnan(robust[key]) else robust[key]
        vs_torch = f"{torch_ref / seconds:8.2f}x" if torch_ref else "      n/a"
        shown = "-" if math.isnan(robust[key]) else f"{robust[key]:.3f}"
        best = "-" if math.isnan(fastest[key]) else f"{fastest[key]:.3f}"
        print(
            f"{label:<58} {wall[key]:8.3f} {shown:>9} {best:>7} {n / seconds:11,.0f} "
            f"{loop / seconds:7.1f}x {vs_torch}"
        )
    vec32, vec64 = robust["vec32"], robust["vec64"]
    targets = [
        {"what": "vectorised float32 vs the per-example loop", "target": 12.0,
         "speedup": loop / vec32},
        {"what": "vectorised float64 vs the per-example loop", "target": 8.0,
         "speedup": loop / vec64},
    ]  # fmt: skip
    if torch_ref:
        targets.append(
            {"what": "vectorised float32 vs PyTorch CPU eager", "target": 5.0,
             "speedup": torch_ref / vec32}
        )  # fmt: skip
    print("\ntargets (robust times; the loop is float64 here, bench_peers.py has one per dtype):")
    for t in targets:
        t["met"] = t["speedup"] >= t["target"]
        print(
            f"  {t['what']}: >= {t['target']:g}x -> {t['speedup']:.1f}x "
            f"{'met' if t['met'] else 'MISSED'}"
        )
    if torch_ref:
        best_torch = min(fastest["torch1"], fastest["torch_default"])
        print(
            f"  (from the best blocks: {fastest['loop'] / fastest['vec32']:.1f}x loop, "
            f"{best_torch / fastest['vec32']:.1f}x torch)"
        )

    wide = wide_throughput(n, 5 * repeats)
    peak = max(wide["peak_tall"], wide["peak_square"])
    print(f"\nBatch 256, sizes {WIDE}, float32 (GFLOP/s of the matrix products of a step)")
    print(f"  training, best block of 10 steps: {wide['block']:7.1f} GFLOP/s")
    print(
        f"  training, whole epoch ({n:,} ex.): {wide['epoch']:7.1f} GFLOP/s "
        f"({wide['epoch_s']:.2f} s)"
    )
    print(
        f"  NumPy matmul peak: {wide['peak_tall']:.1f} GFLOP/s (256x784 @ 784x1024), "
        f"{wide['peak_square']:.1f} GFLOP/s (1024^3)"
    )
    print(
        f"  target >= 80 % of peak over the epoch: steps {100 * wide['block'] / peak:.0f} %, "
        f"epoch {100 * wide['epoch'] / peak:.0f} % of {peak:.1f} GFLOP/s "
        f"{'met' if wide['epoch'] >= 0.8 * peak else 'MISSED'}"
    )
    targets.append(
        {"what": "batch 256 [784, 1024, 10] epoch, fraction of the float32 matmul peak",
         "target": 0.8, "speedup": wide["epoch"] / peak, "met": wide["epoch"] >= 0.8 * peak}
    )  # fmt: skip

    data, model, during = epoch_memory(X32, Y32)
    ratio = (data + model + during) / (data + model)
    print(
        f"\nMemory, one float32 fit epoch (batch {BATCH}): data set {data / 2**20:.1f} MiB, "
        f"model {model / 2**10:.1f} KiB, peak allocated during the epoch "
        f"{during / 2**20:.2f} MiB -> {ratio:.3f}x data + model (target <= 1.3x)"
    )
    result = {
        "benchmark": "bench_epoch.py",
        "quick": args.quick,
        "n_examples": n,
        "repeats": repeats,
        "blas_threads": args.blas_threads,
        "sizes": SIZES,
        "batch": BATCH,
        "rows": [
            {"key": key, "label": label, "wall_s": wall[key],
             "robust_s": None if math.isnan(robust[key]) else robust[key],
             "best_s": None if math.isnan(fastest[key]) else fastest[key]}
            for label, key in rows
        ],
        "wide": {"sizes": WIDE, "batch": 256, **wide, "peak_gflops": peak},
        "memory": {"data_bytes": data, "model_bytes": model, "peak_bytes": during},
        "targets": targets,
    }  # fmt: skip
    print("saved", save(args.out, result))
    return result


if __name__ == "__main__":
    main()

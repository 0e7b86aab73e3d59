"""One training epoch of the same network, same data, same optimiser, five ways, in one run.

    python benchmarks/bench_peers.py            # 20,000 examples, best of 3
    python benchmarks/bench_peers.py --quick    # 1,000 examples, one timing (seconds)

Data: seeded random inputs in [0, 1) of MNIST's size (784 features, 10 classes), so only
the arithmetic is compared, never the accuracy. Two settings:

- ``nielsen``: batch 10, [784, 30, 10], sigmoid units, quadratic cost, SGD lr 3.0.
- ``modern``: batch 64, [784, 256, 128, 10], ReLU, softmax + cross-entropy, Adam lr 1e-3.

Contenders, each timed over the training steps of one epoch (no evaluation):

- ``dlcourse float64`` / ``dlcourse float32``: ``Network.gradients`` + a ``dlcourse.optim``
  step per mini-batch (the inner loop of ``dlcourse.train.fit_loop``), NumPy's default BLAS
  threads; ``dlcourse float32 1 thread``: the same with BLAS limited to one thread.
- ``torch 1 thread`` / ``torch default threads``: idiomatic eager PyTorch (``nn.Sequential``,
  ``torch.optim``, ``zero_grad``/``backward``/``step``), float32.
- ``scikit-learn``: ``MLPClassifier(max_iter=1, shuffle=False).fit``, one pass over the same
  mini-batches (float64; its own argument checks are paid once per epoch). It
  always trains a softmax output with log-loss, so in the ``nielsen`` setting its cost differs
  from the quadratic one; the network shape, batch and optimiser are the same.

Speed-ups are reported against the faster of the two torch rows. Each timing is the best of
``--repeats`` epochs, taken in rounds that visit every contender once (so that all of them
see the same changes of load on a shared machine), after one untimed warm-up epoch each.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dlcourse as dc  # noqa: E402
from benchmarks._results import save  # noqa: E402

SETTINGS = {
    "nielsen": {
        "sizes": [784, 30, 10],
        "batch": 10,
        "activation": "sigmoid",
        "output": "sigmoid",
        "cost": "quadratic",
        "optimizer": "sgd",
        "lr": 3.0,
    },
    "modern": {
        "sizes": [784, 256, 128, 10],
        "batch": 64,
        "activation": "relu",
        "output": "softmax",
        "cost": "cross_entropy",
        "optimizer": "adam",
        "lr": 1e-3,
    },
}


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784))
    y = rng.integers(0, 10, n)
    return X, y, np.eye(10)[y]


def best_of(repeats: int, epoch) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        epoch()
        best = min(best, time.perf_counter() - start)
    return best


def time_dlcourse(s: dict, X, Y, dtype: str, repeats: int, threads: int | None = None) -> float:
    """``threads``: a limit on NumPy's BLAS threads (``threadpoolctl``); None leaves its default."""
    from threadpoolctl import threadpool_limits

    X, Y = X.astype(dtype), Y.astype(dtype)
    batch = s["batch"]

    def epoch():
        net = dc.Network(
            s["sizes"], s["activation"], s["output"], s["cost"],
            init="he" if s["activation"] == "relu" else "nielsen", dtype=dtype, seed=0,
        )  # fmt: skip
        params = net.parameters()
        opt = dc.optim.get_optimizer(s["optimizer"], lr=s["lr"])
        with threadpool_limits(threads, user_api="blas"):
            for i in range(0, len(X) - batch + 1, batch):
                opt.step(params, net.gradients(X[i : i + batch], Y[i : i + batch], validate=False))

    return best_of(repeats, epoch)


def time_torch(s: dict, X, y, Y, threads: int, repeats: int) -> float:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    Xt = torch.from_numpy(X.astype(np.float32))
    Yt, yt = torch.from_numpy(Y.astype(np.float32)), torch.from_numpy(y)
    batch, sizes = s["batch"], s["sizes"]
    act = torch.nn.Sigmoid if s["activation"] == "sigmoid" else torch.nn.ReLU

    def epoch():
        torch.manual_seed(0)
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(n_in, n_out), act()]
        if s["output"] == "softmax":
            layers.pop()  # the softmax lives in cross_entropy
        else:
            layers[-1] = torch.nn.Sigmoid()
        model = torch.nn.Sequential(*layers)
        if s["optimizer"] == "sgd":
            opt = torch.optim.SGD(model.parameters(), lr=s["lr"])
        else:
            opt = torch.optim.Adam(model.parameters(), lr=s["lr"])
        for i in range(0, len(Xt) - batch + 1, batch):
            out = model(Xt[i : i + batch])
            if s["cost"] == "quadratic":
                loss = 0.5 * ((out - Yt[i : i + batch]) ** 2).sum(dim=1).mean()
            else:
                loss = torch.nn.functional.cross_entropy(out, yt[i : i + batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    try:
        return best_of(repeats, epoch)
    finally:
        torch.set_num_threads(old)


def time_sklearn(s: dict, X, y, repeats: int) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def epoch():
        clf = MLPClassifier(
            hidden_layer_sizes=tuple(s["sizes"][1:-1]),
            activation="logistic" if s["activation"] == "sigmoid" else "relu",
            solver=s["optimizer"], learning_rate_init=s["lr"], batch_size=s["batch"],
            momentum=0.0, alpha=0.0, max_iter=1, shuffle=False, random_state=0,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)  # max_iter=1: one pass over the mini-batches

    return best_of(repeats, epoch)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 examples, one timing")
    parser.add_argument("-n", type=int, default=20_000, help="examples per epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="peers", help="name of the JSON in results/")
    args = parser.parse_args(argv)
    n, repeats = (1_000, 1) if args.quick else (args.n, args.repeats)
    X, y, Y = make_data(n)
    try:
        import torch

        default_threads = torch.get_num_threads()
    except ImportError:
        torch, default_threads = None, None
    settings = {}
    for name, s in SETTINGS.items():
        timers = {
            "dlcourse float64": partial(time_dlcourse, s, X, Y, "float64", 1),
            "dlcourse float32": partial(time_dlcourse, s, X, Y, "float32", 1),
            "dlcourse float32 1 thread": partial(time_dlcourse, s, X, Y, "float32", 1, 1),
        }
        if torch is not None:
            timers["torch 1 thread"] = partial(time_torch, s, X, y, Y, 1, 1)
            timers["torch default threads"] = partial(time_torch, s, X, y, Y, default_threads, 1)
        timers["scikit-learn"] = partial(time_sklearn, s, X, y, 1)
        for timer in timers.values():  # warm-up: imports, first allocations, thread pools
            timer()
        best = dict.fromkeys(timers, math.inf)
        for _ in range(repeats):
            for impl, timer in timers.items():
                best[impl] = min(best[impl], timer())
        rows = [{"impl": impl, "epoch_s": t} for impl, t in best.items()]
        for r in rows:
            if r["impl"] in ("torch 1 thread", "dlcourse float32 1 thread"):
                r["threads"] = 1
            elif r["impl"] == "torch default threads":
                r["threads"] = default_threads
        torch_best = min((r["epoch_s"] for r in rows if r["impl"].startswith("torch")),
                         default=None)  # fmt: skip
        print(f"\n{name}: {s['sizes']} batch {s['batch']} {s['optimizer']}, {n} examples")
        print(f"{'implementation':<26} {'epoch s':>9} {'µs/step':>9} {'vs torch':>9}")
        for r in rows:
            r["us_per_step"] = 1e6 * r["epoch_s"] / (n // s["batch"])
            r["speedup_vs_torch"] = torch_best / r["epoch_s"] if torch_best else None
            ratio = f"{r['speedup_vs_torch']:.2f}×" if torch_best else "-"
            print(
                f"{r['impl']:<26} {r['epoch_s']:>9.3f} {r['us_per_step']:>9.1f} {ratio:>9}",
                flush=True,
            )
        settings[name] = {**s, "rows": rows}
    result = {
        "benchmark": "bench_peers.py",
        "quick": args.quick,
        "n_examples": n,
        "repeats": repeats,
        "cpu_threads": os.cpu_count(),
        "torch_default_threads": default_threads,
        "settings": settings,
    }
    print("saved", save(args.out, result))
    return result


if __name__ == "__main__":
    main()

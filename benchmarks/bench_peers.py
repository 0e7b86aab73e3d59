"""One training epoch of the same network, same data, same optimiser, six ways, in one run;
then the time each of them needs to reach a target test accuracy on Fashion-MNIST.

    python benchmarks/bench_peers.py            # 20,000 examples, best of 3; Fashion-MNIST
    python benchmarks/bench_peers.py --quick    # 1,000 examples, one timing; a small
                                                # Fashion-MNIST subset (seconds, shape only)

Data for the epoch timings: seeded random inputs in [0, 1) of MNIST's size (784 features,
10 classes), so only the arithmetic is compared, never the accuracy. Two settings:

- ``nielsen``: batch 10, [784, 30, 10], sigmoid units, quadratic cost, SGD lr 3.0.
- ``modern``: batch 64, [784, 256, 128, 10], ReLU, softmax + cross-entropy, Adam lr 1e-3.

Contenders, each timed over the training steps of one epoch (no evaluation):

- ``dlcourse float64`` / ``dlcourse float32``: ``Network.gradients`` + a ``dlcourse.optim``
  step per mini-batch (the inner loop of ``dlcourse.train.fit_loop``), NumPy's default BLAS
  threads; ``dlcourse float64 1 thread`` / ``float32 1 thread``: the same with BLAS limited
  to one thread. A target compares the faster of a dtype's two rows.
- ``per-example loop float64`` / ``float32``: the same network trained one example at a
  time, as in Nielsen's ``network.py``: ``Network.backprop_example`` for every example of a
  mini-batch (column vectors), the gradients summed, then one optimiser step with their
  mean. Timed on the first ``--loop-examples`` examples and scaled to the epoch (it is slow).
- ``torch 1 thread`` / ``torch default threads``: idiomatic eager PyTorch (``nn.Sequential``,
  ``torch.optim``, ``zero_grad``/``backward``/``step``), float32.
- ``scikit-learn``: ``MLPClassifier(max_iter=1, shuffle=False).fit``, one pass over the same
  mini-batches (float64; its own argument checks are paid once per epoch). It
  always trains a softmax output with log-loss, so in the ``nielsen`` setting its cost differs
  from the quadratic one; the network shape, batch and optimiser are the same.

Speed-ups are reported against the faster of the two torch rows and against the per-example
loop of the same dtype. Each timing is the best of ``--repeats`` epochs, taken in rounds that
visit every contender once (so that all of them see the same changes of load on a shared
machine), after one untimed warm-up epoch each. ``targets`` in the JSON holds the ratios
that the course aims at (see the table printed at the end).

Time to a target accuracy: each contender (dlcourse and torch with the thread setting that
was faster in the epoch timing; the per-example loop, float64, in the ``nielsen`` setting
only) trains the setting's network on the 60,000 Fashion-MNIST training images
(``dlcourse.data.load_mnist("fashion")``, shuffled every epoch with seed 0) until the test
accuracy, measured after every epoch, reaches ``TARGETS[setting]``, or for at most
``--max-epochs`` epochs; the training seconds (evaluation excluded) are summed. Without
the data the table is skipped (``"time_to_target": null``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
import weakref
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


# test accuracy on Fashion-MNIST that each setting's network reaches in a few epochs
TARGETS = {"nielsen": 0.80, "modern": 0.85}


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


def build_dlcourse(s: dict, dtype: str, seed: int = 0):
    """The setting's ``Network`` and ``dlcourse.optim`` optimiser."""
    net = dc.Network(
        s["sizes"], s["activation"], s["output"], s["cost"],
        init="he" if s["activation"] == "relu" else "nielsen", dtype=dtype, seed=seed,
    )  # fmt: skip
    return net, dc.optim.get_optimizer(s["optimizer"], lr=s["lr"])


_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # optimiser -> fit_loop's step


def vectorised_step(net, opt, params, Xb, Yb) -> None:
    """One mini-batch the way ``fit_loop`` trains it: ``gradients`` of all rows, one step
    (``dlcourse.train.stepper``: all parameters as one vector for an elementwise optimiser)."""
    step = _STEPS.get(opt)
    if step is None:
        step = _STEPS[opt] = dc.train.stepper(net, opt, params)
    step(Xb, Yb)


def per_example_step(net, opt, params, Xb, Yb) -> None:
    """One mini-batch one example at a time (Nielsen's ``update_mini_batch``): the column
    form ``backprop_example`` per example, gradients summed, one step with their mean."""
    sums = [np.zeros_like(p) for p in params]
    for x, y in zip(Xb, Yb):
        grad_W, grad_b = net.backprop_example(x, y)
        for total, g in zip(sums, [g for pair in zip(grad_W, grad_b) for g in pair]):
            total += g
    for total in sums:
        total /= len(Xb)
    opt.step(params, sums)


def time_dlcourse(
    s: dict, X, Y, dtype: str, repeats: int, threads: int | None = None, step=vectorised_step
) -> float:
    """``threads``: a limit on NumPy's BLAS threads (``threadpoolctl``); None leaves its default.
    ``step``: :func:`vectorised_step` or :func:`per_example_step`."""
    from threadpoolctl import threadpool_limits

    X, Y = X.astype(dtype), Y.astype(dtype)
    batch = s["batch"]

    def epoch():
        net, opt = build_dlcourse(s, dtype)
        params = net.parameters()
        with threadpool_limits(threads, user_api="blas"):
            for i in range(0, len(X) - batch + 1, batch):
                step(net, opt, params, X[i : i + batch], Y[i : i + batch])

    return best_of(repeats, epoch)


def build_torch(s: dict):
    """The setting's ``nn.Sequential`` (float32, seeded) and its ``torch.optim`` optimiser."""
    import torch

    torch.manual_seed(0)
    sizes = s["sizes"]
    act = torch.nn.Sigmoid if s["activation"] == "sigmoid" else torch.nn.ReLU
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), act()]
    if s["output"] == "softmax":
        layers.pop()  # the softmax lives in cross_entropy
    else:
        layers[-1] = torch.nn.Sigmoid()
    model = torch.nn.Sequential(*layers)
    if s["optimizer"] == "sgd":
        return model, torch.optim.SGD(model.parameters(), lr=s["lr"])
    return model, torch.optim.Adam(model.parameters(), lr=s["lr"])


def torch_step(s: dict, model, opt, Xb, yb, Yb) -> None:
    import torch

    out = model(Xb)
    if s["cost"] == "quadratic":
        loss = 0.5 * ((out - Yb) ** 2).sum(dim=1).mean()
    else:
        loss = torch.nn.functional.cross_entropy(out, yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def time_torch(s: dict, X, y, Y, threads: int, repeats: int) -> float:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    Xt = torch.from_numpy(X.astype(np.float32))
    Yt, yt = torch.from_numpy(Y.astype(np.float32)), torch.from_numpy(y)
    batch = s["batch"]

    def epoch():
        model, opt = build_torch(s)
        for i in range(0, len(Xt) - batch + 1, batch):
            torch_step(s, model, opt, Xt[i : i + batch], yt[i : i + batch], Yt[i : i + batch])

    try:
        return best_of(repeats, epoch)
    finally:
        torch.set_num_threads(old)


def build_sklearn(s: dict, **kwargs):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=tuple(s["sizes"][1:-1]),
        activation="logistic" if s["activation"] == "sigmoid" else "relu",
        solver=s["optimizer"], learning_rate_init=s["lr"], batch_size=s["batch"],
        momentum=0.0, alpha=0.0, max_iter=1, random_state=0, **kwargs,
    )  # fmt: skip


def time_sklearn(s: dict, X, y, repeats: int) -> float:
    from sklearn.exceptions import ConvergenceWarning

    def epoch():
        clf = build_sklearn(s, shuffle=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)  # max_iter=1: one pass over the mini-batches

    return best_of(repeats, epoch)


# ----------------------------------------------------------------- time to a target accuracy
def fashion_data(n_train: int | None, n_test: int | None):
    """Fashion-MNIST ``(X_train, y_train, X_test, y_test)`` in float64 (the first ``n_train`` /
    ``n_test`` images when given), or ``None`` when the data is not installed."""
    try:
        data = dc.data.load_mnist("fashion", progress=False)
    except (OSError, ValueError) as err:  # DataNotFoundError is an OSError/ValueError kind
        print(f"Fashion-MNIST not available ({type(err).__name__}); no time-to-target table")
        return None
    return (
        data.X_train[:n_train],
        data.y_train[:n_train],
        data.X_test[:n_test],
        data.y_test[:n_test],
    )


def trainer(impl: str, s: dict, data, threads: int | None):
    """``(train_one_epoch, test_accuracy)`` closures for one contender on ``data``."""
    X, y, X_test, y_test = data
    rng = np.random.default_rng(0)
    batch = s["batch"]
    if impl.startswith(("dlcourse", "per-example")):
        dtype = impl.split()[-1] if impl.split()[-1].startswith("float") else "float32"
        Xd, Yd = X.astype(dtype), np.eye(10, dtype=dtype)[y]
        Xd_test = X_test.astype(dtype)
        net, opt = build_dlcourse(s, dtype)
        params = net.parameters()
        step = per_example_step if impl.startswith("per-example") else vectorised_step

        def epoch():
            from threadpoolctl import threadpool_limits

            order = rng.permutation(len(Xd))
            with threadpool_limits(threads, user_api="blas"):
                for k in range(0, len(order), batch):
                    idx = order[k : k + batch]
                    step(net, opt, params, Xd[idx], Yd[idx])

        return epoch, lambda: net.evaluate(Xd_test, y_test)
    if impl.startswith("torch"):
        import torch

        Xt, yt = torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y)
        Yt = torch.from_numpy(np.eye(10, dtype=np.float32)[y])
        Xt_test = torch.from_numpy(X_test.astype(np.float32))
        model, opt = build_torch(s)

        def epoch():
            old = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                order = torch.from_numpy(rng.permutation(len(Xt)))
                for k in range(0, len(order), batch):
                    idx = order[k : k + batch]
                    torch_step(s, model, opt, Xt[idx], yt[idx], Yt[idx])
            finally:
                torch.set_num_threads(old)

        def accuracy():
            with torch.no_grad():
                return float((model(Xt_test).argmax(dim=1).numpy() == y_test).mean())

        return epoch, accuracy
    from sklearn.exceptions import ConvergenceWarning

    clf = build_sklearn(s, shuffle=True, warm_start=True)

    def epoch():  # warm_start: every fit continues with one more pass (max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    return epoch, lambda: float(clf.score(X_test, y_test))


def time_to_target(s: dict, impl: str, data, target: float, max_epochs: int, threads=None):
    """Train ``impl`` epoch by epoch until the test accuracy reaches ``target``."""
    epoch, accuracy = trainer(impl, s, data, threads)
    seconds, accuracies = 0.0, []
    for _ in range(max_epochs):
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):
            epoch()
        seconds += time.perf_counter() - start
        accuracies.append(accuracy())
        if accuracies[-1] >= target:
            break
    reached = accuracies[-1] >= target
    return {
        "impl": impl,
        "reached": bool(reached),
        "epochs": len(accuracies),
        "seconds": seconds if reached else None,
        "seconds_trained": seconds,
        "test_accuracy_per_epoch": [float(a) for a in accuracies],
    }


def best_row(rows: list[dict], prefix: str) -> float | None:
    """The fastest epoch among the rows whose name starts with ``prefix``."""
    return min((r["epoch_s"] for r in rows if r["impl"].startswith(prefix)), default=None)


def targets(name: str, rows: list[dict]) -> list[dict]:
    """The speed ratios the course aims at in this setting, measured in this run."""
    aims = {
        "modern": [
            ("dlcourse float32", "torch", 1.25),
            ("dlcourse float32", "scikit-learn", 3.0),
        ],
        "nielsen": [
            ("dlcourse float32", "per-example loop float32", 12.0),
            ("dlcourse float64", "per-example loop float64", 8.0),
            ("dlcourse float32", "torch", 5.0),
        ],
    }[name]
    out = []
    for fast, slow, aim in aims:
        a, b = best_row(rows, fast), best_row(rows, slow)
        if a is None or b is None:
            continue
        out.append({"impl": fast, "vs": slow, "target": aim, "speedup": b / a, "met": b / a >= aim})
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 examples, one timing")
    parser.add_argument("-n", type=int, default=20_000, help="examples per epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--loop-examples", type=int, default=2_000, help="examples timed for the per-example loop"
    )
    parser.add_argument("--max-epochs", type=int, default=10, help="time to target: at most")
    parser.add_argument("--no-fashion", action="store_true", help="skip the time to target")
    parser.add_argument("--out", default="peers", help="name of the JSON in results/")
    args = parser.parse_args(argv)
    n, repeats = (1_000, 1) if args.quick else (args.n, args.repeats)
    n_loop = min(n, 100 if args.quick else args.loop_examples)
    X, y, Y = make_data(n)
    try:
        import torch

        default_threads = torch.get_num_threads()
    except ImportError:
        torch, default_threads = None, None
    settings = {}
    for name, s in SETTINGS.items():
        n_steps, n_loop_steps = n // s["batch"], n_loop // s["batch"]
        loop = partial(time_dlcourse, s, X[:n_loop], Y[:n_loop], step=per_example_step)
        timers = {
            "dlcourse float64": partial(time_dlcourse, s, X, Y, "float64", 1),
            "dlcourse float32": partial(time_dlcourse, s, X, Y, "float32", 1),
            "dlcourse float64 1 thread": partial(time_dlcourse, s, X, Y, "float64", 1, 1),
            "dlcourse float32 1 thread": partial(time_dlcourse, s, X, Y, "float32", 1, 1),
            "per-example loop float64": partial(loop, dtype="float64", repeats=1),
            "per-example loop float32": partial(loop, dtype="float32", repeats=1),
        }
        scale = {k: n_steps / n_loop_steps for k in timers if k.startswith("per-example")}
        if torch is not None:
            timers["torch 1 thread"] = partial(time_torch, s, X, y, Y, 1, 1)
            timers["torch default threads"] = partial(time_torch, s, X, y, Y, default_threads, 1)
        timers["scikit-learn"] = partial(time_sklearn, s, X, y, 1)
        for timer in timers.values():  # warm-up: imports, first allocations, thread pools
            timer()
        best = dict.fromkeys(timers, math.inf)
        for _ in range(repeats):
            for impl, timer in timers.items():
                best[impl] = min(best[impl], timer() * scale.get(impl, 1.0))
        rows = [{"impl": impl, "epoch_s": t} for impl, t in best.items()]
        for r in rows:
            if r["impl"].endswith(" 1 thread"):
                r["threads"] = 1
            elif r["impl"] == "torch default threads":
                r["threads"] = default_threads
            if r["impl"] in scale:
                r["timed_examples"] = n_loop_steps * s["batch"]
        torch_best = best_row(rows, "torch")
        print(f"\n{name}: {s['sizes']} batch {s['batch']} {s['optimizer']}, {n} examples")
        print(
            f"{'implementation':<26} {'epoch s':>9} {'µs/step':>9} {'vs torch':>9} {'vs loop':>8}"
        )
        for r in rows:
            dtype = (
                "float64" if "float64" in r["impl"] or r["impl"] == "scikit-learn" else "float32"
            )
            loop_s = best[f"per-example loop {dtype}"]
            r["us_per_step"] = 1e6 * r["epoch_s"] / n_steps
            r["speedup_vs_torch"] = torch_best / r["epoch_s"] if torch_best else None
            r["speedup_vs_loop"] = loop_s / r["epoch_s"]
            ratio = f"{r['speedup_vs_torch']:.2f}×" if torch_best else "-"
            note = f"  (timed {r['timed_examples']:,} examples)" if "timed_examples" in r else ""
            print(
                f"{r['impl']:<26} {r['epoch_s']:>9.3f} {r['us_per_step']:>9.1f} {ratio:>9} "
                f"{r['speedup_vs_loop']:>7.1f}×{note}",
                flush=True,
            )
        aims = targets(name, rows)
        for t in aims:
            print(
                f"  target: {t['impl']} >= {t['target']:g}× {t['vs']}: "
                f"{t['speedup']:.2f}× {'met' if t['met'] else 'MISSED'}"
            )
        faster_torch = min(
            (r for r in rows if r["impl"].startswith("torch")), key=lambda r: r["epoch_s"],
            default=None,
        )  # fmt: skip
        torch_threads = faster_torch.get("threads") if faster_torch else None
        one = best["dlcourse float32 1 thread"] < best["dlcourse float32"]
        settings[name] = {**s, "rows": rows, "targets": aims, "torch_threads": torch_threads,
                          "dlcourse_threads": 1 if one else None}  # fmt: skip
    fashion = None
    data = (
        None if args.no_fashion else fashion_data(*((1_000, 500) if args.quick else (None, None)))
    )
    if data is not None:
        max_epochs = 1 if args.quick else args.max_epochs
        fashion = {"n_train": len(data[0]), "n_test": len(data[2]), "max_epochs": max_epochs,
                   "settings": {}}  # fmt: skip
        for name, s in SETTINGS.items():
            target = TARGETS[name]
            impls = ["dlcourse float64", "dlcourse float32"]
            if name == "nielsen":  # (in the modern setting the loop would take minutes)
                impls.append("per-example loop float64")
            if torch is not None:
                impls.append("torch")
            impls.append("scikit-learn")
            print(
                f"\nTime to {100 * target:.0f} % test accuracy on Fashion-MNIST, {name} "
                f"({len(data[0]):,} training images, at most {max_epochs} epochs)"
            )
            print(f"{'implementation':<26} {'epochs':>6} {'train s':>9} {'test accuracy':>14}")
            rows = []
            for impl in impls:
                threads = settings[name]["torch_threads" if impl == "torch" else "dlcourse_threads"]
                threads = None if impl == "scikit-learn" else threads
                row = time_to_target(s, impl, data, target, max_epochs, threads)
                if threads:
                    row["threads"] = threads
                rows.append(row)
                shown = f"{row['seconds']:.1f}" if row["reached"] else "not reached"
                print(
                    f"{impl:<26} {row['epochs']:>6} {shown:>9} "
                    f"{100 * row['test_accuracy_per_epoch'][-1]:>13.1f}%",
                    flush=True,
                )
            fashion["settings"][name] = {"target": target, "rows": rows}
    result = {
        "benchmark": "bench_peers.py",
        "quick": args.quick,
        "n_examples": n,
        "repeats": repeats,
        "cpu_threads": os.cpu_count(),
        "torch_default_threads": default_threads,
        "settings": settings,
        "time_to_target": fashion,
    }
    print("saved", save(args.out, result))
    return result


if __name__ == "__main__":
    main()

"""A small CNN on Fashion-MNIST: dlcourse.layers against the same network in PyTorch (CPU).

    nice python benchmarks/bench_cnn.py                 # 3 seeds x 8 epochs (about 40 min)
    python benchmarks/bench_cnn.py --quick              # 1 seed, 1 epoch on 6,000 images
    nice python benchmarks/bench_cnn.py --mlp           # the MLP baseline only (a few minutes)
    nice python benchmarks/bench_cnn.py --speed         # interleaved epoch-time comparison
    python benchmarks/bench_cnn.py --merge a.json b.json   # seeds run as separate processes
    python benchmarks/bench_cnn.py --from-log run.log --out part.json   # a stopped run

Network (float32, both frameworks)::

    Conv2d(1, 16, 3, padding=1) - ReLU - MaxPool2d(2)     28x28 -> 14x14
    Conv2d(16, 32, 3, padding=1) - ReLU - MaxPool2d(2)    14x14 -> 7x7
    Flatten - Linear(1568, 128) - ReLU - Linear(128, 10) - softmax / cross-entropy

Training: the 60,000 training images, Adam (lr 1e-3, divided by 10 for the last two epochs),
batch 64, the same shuffled order and the same initial weights (dlcourse's He/Xavier draws
copied into the torch modules) for both frameworks. The hyperparameters were fixed before the
run; the test set is used once, after the last epoch. Both frameworks run with one thread
(``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``), so an epoch time compares the code,
not the number of free cores on a shared machine.

``--mlp`` trains the baseline ``Linear(784, 128) - ReLU - Linear(128, 10)`` (dlcourse,
float32) with the same data, optimiser, schedule and seeds, and writes
``benchmarks/results/cnn_mlp.json``: the network the CNN must beat.

``--speed`` compares the training speed robustly on a shared machine: it alternates blocks of
``--block`` mini-batch steps of the two frameworks (same network, same batches), so that both
see the same load, and extrapolates the median (and the fastest) block to a 60,000-image epoch;
results in ``benchmarks/results/cnn_speed.json``, whose ratios are dlcourse's time over
PyTorch's (above 1: dlcourse is slower).

Epoch time = the mini-batch steps only (forward, backward, optimiser), measured per epoch;
the end-of-epoch evaluation is timed separately. Results go to ``benchmarks/results/cnn.json``
(rewritten atomically after every seed, so a long run that is stopped keeps what it finished).
On a busy machine the seeds can run as parallel processes (``--seeds 1 --out cnn_seed1.json``
and so on); ``--merge`` then combines their files into ``cnn.json``. ``--no-torch``
trains only the dlcourse network (more seeds of its accuracy).

The epoch times of these accuracy runs are recorded (``epoch_s_median`` per framework and
``epoch_time_ratio``, dlcourse's median epoch time over PyTorch's, from the runs that timed
both), but they do not compare the frameworks' speed: within a seed the two frameworks train
one after the other, minutes apart, and on a shared machine the load changes in between (in
the committed run the ratio came out at 0.52, dlcourse apparently twice as fast, while the
interleaved comparison below measured it 1.77 times slower). The speed comparison is
``--speed``, whose blocks alternate so that both frameworks see the same load.

``--from-log`` rebuilds the results of a run that was stopped before it wrote them from the
lines it printed (times to 0.1 s, accuracies to 0.01 %); a framework with fewer epochs than
``--epochs`` is kept under ``torch_partial`` / ``dlcourse_partial`` and left out of the
summaries, except that partial PyTorch epochs still give an epoch-time ratio
(``epoch_time_from_partial_epochs``), with the caveat above.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dlcourse as dc  # noqa: E402
from benchmarks._results import machine  # noqa: E402
from dlcourse.layers import (  # noqa: E402
    Activation,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Model,
)
from dlcourse.optim import Adam  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "cnn.json"
EPOCH_TIME_NOTE = (
    "dlcourse's epoch time over PyTorch's in the accuracy runs, where each seed trains the two "
    "frameworks one after the other under whatever load the machine had then: not a speed "
    "comparison; the paired one is cnn_speed.json (bench_cnn.py --speed)"
)
RATIO_IS = "dlcourse's epoch time / PyTorch's (above 1: dlcourse is slower), same load for both"
BATCH, LR, DECAY_EPOCHS = 64, 1e-3, 2
ARCHITECTURE = (
    "Conv2d(1,16,3,p=1)-ReLU-MaxPool(2)-Conv2d(16,32,3,p=1)-ReLU-MaxPool(2)-"
    "Flatten-Linear(1568,128)-ReLU-Linear(128,10)"
)


def dlcourse_cnn(seed: int) -> Model:
    """The benchmark network from dlcourse.layers (float32), seeded."""
    rng = np.random.default_rng(seed)
    f32 = {"rng": rng, "dtype": "float32"}
    return Model(
        [Conv2d(1, 16, 3, padding=1, **f32), Activation("relu"), MaxPool2d(2),
         Conv2d(16, 32, 3, padding=1, **f32), Activation("relu"), MaxPool2d(2),
         Flatten(), Linear(32 * 7 * 7, 128, init="he", **f32), Activation("relu"),
         Linear(128, 10, **f32), Activation("softmax")],
        cost="cross_entropy",
    )  # fmt: skip


def dlcourse_mlp(seed: int) -> Model:
    """The MLP baseline with as many hidden units as the CNN's dense layer (float32)."""
    rng = np.random.default_rng(seed)
    f32 = {"rng": rng, "dtype": "float32"}
    return Model([Linear(784, 128, init="he", **f32), Activation("relu"),
                  Linear(128, 10, **f32), Activation("softmax")], cost="cross_entropy")  # fmt: skip


def torch_cnn(model: Model):
    """The same network as ``torch.nn.Sequential``, starting from ``model``'s weights."""
    import torch
    from torch import nn

    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip
    with torch.no_grad():
        for p, mine in zip(net.parameters(), model.parameters(), strict=True):
            p.copy_(torch.from_numpy(mine))
    return net


def lr_at(epoch: int, epochs: int) -> float:
    """``LR``, divided by 10 for the last ``DECAY_EPOCHS`` epochs of a longer run."""
    return LR if epochs <= DECAY_EPOCHS or epoch <= epochs - DECAY_EPOCHS else LR / 10


def train_dlcourse(model, X, y, X_test, y_test, epochs, seed):
    Y = np.eye(10, dtype=np.float32)[y]
    opt, params, rng = Adam(lr=LR), model.parameters(), np.random.default_rng(seed)
    rows = []
    for epoch in range(1, epochs + 1):
        opt.lr = lr_at(epoch, epochs)
        order = rng.permutation(len(X))
        start = time.perf_counter()
        for k in range(0, len(X), BATCH):
            idx = order[k : k + BATCH]
            opt.step(params, model.gradients(X[idx], Y[idx], validate=False))
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        acc = model.evaluate(X_test, y_test)
        rows.append({"epoch": epoch, "train_s": train_s, "eval_s": time.perf_counter() - start,
                     "test_accuracy": acc})  # fmt: skip
        print(f"  dlcourse epoch {epoch}: {train_s:.1f} s, test {acc:.2%}", flush=True)
    return rows


def train_torch(net, X, y, X_test, y_test, epochs, seed):
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    Xv = torch.from_numpy(X_test)
    opt, rng = torch.optim.Adam(net.parameters(), lr=LR), np.random.default_rng(seed)
    rows = []
    for epoch in range(1, epochs + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(epoch, epochs)
        order = torch.from_numpy(rng.permutation(len(X)))
        start = time.perf_counter()
        net.train()
        for k in range(0, len(X), BATCH):
            idx = order[k : k + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        net.eval()
        with torch.no_grad():
            pred = torch.cat([net(Xv[i : i + 2048]).argmax(1) for i in range(0, len(Xv), 2048)])
        acc = float((pred.numpy() == y_test).mean())
        rows.append({"epoch": epoch, "train_s": train_s, "eval_s": time.perf_counter() - start,
                     "test_accuracy": acc})  # fmt: skip
        print(f"  torch    epoch {epoch}: {train_s:.1f} s, test {acc:.2%}", flush=True)
    return rows


def summary(runs: list[dict], key: str) -> dict:
    runs = [r for r in runs if key in r]
    accs = [r[key][-1]["test_accuracy"] for r in runs]
    epoch_s = [row["train_s"] for r in runs for row in r[key]]
    return {"test_accuracy_per_seed": accs, "test_accuracy_mean": float(np.mean(accs)),
            "test_accuracy_std": float(np.std(accs)), "epoch_s_median": float(np.median(epoch_s)),
            "epoch_s_min": float(np.min(epoch_s)), "seeds": [r["seed"] for r in runs]}  # fmt: skip


def summarise(payload: dict) -> None:
    """Accuracy and epoch-time summaries, and the ratio of the epoch times from the runs that
    timed both frameworks (one after the other: not a speed comparison, see the docstring)."""
    payload["dlcourse"] = summary(payload["runs"], "dlcourse")
    paired = [r for r in payload["runs"] if "torch" in r]
    if paired:
        payload["torch"] = summary(paired, "torch")
        dl = summary(paired, "dlcourse")
        payload["epoch_time_ratio"] = dl["epoch_s_median"] / payload["torch"]["epoch_s_median"]
        payload["epoch_time_ratio_min"] = dl["epoch_s_min"] / payload["torch"]["epoch_s_min"]
        payload["epoch_time_dlcourse_s"] = {"median": dl["epoch_s_median"],
                                            "min": dl["epoch_s_min"]}  # fmt: skip
        payload["epoch_time_note"] = EPOCH_TIME_NOTE


def write_atomic(path: Path, payload: dict) -> None:
    """Write ``payload`` as JSON, atomically, with the machine description of
    ``benchmarks/_results.py`` (CPU, cores, BLAS, versions, date) under ``"machine"``."""
    if not isinstance(payload.get("machine"), dict):
        payload["machine"] = machine()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def run_mlp(args, X, y, X_test, y_test) -> None:
    out = args.out or RESULTS.with_name("cnn_mlp.json")
    payload = {"benchmark": "bench_cnn.py --mlp",
               "architecture": "Linear(784,128)-ReLU-Linear(128,10)", "dtype": "float32",
               "epochs": args.epochs, "batch_size": BATCH, "threads": 1,
               "n_train": len(X), "n_test": len(X_test), "runs": []}  # fmt: skip
    for seed in args.seeds:
        print(f"seed {seed}", flush=True)
        rows = train_dlcourse(dlcourse_mlp(seed), X, y, X_test, y_test, args.epochs, seed)
        payload["runs"].append({"seed": seed, "dlcourse": rows})
        payload["dlcourse"] = summary(payload["runs"], "dlcourse")
        write_atomic(out, payload)
    print(json.dumps(payload["dlcourse"], indent=1))


def merge(paths: list[Path], out: Path) -> None:
    """One results file from several (same settings, different seeds), sorted by seed."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    payload = {k: v for k, v in parts[0].items() if k not in ("dlcourse", "torch")}
    payload["runs"] = sorted((r for p in parts for r in p["runs"]), key=lambda r: r["seed"])
    payload["merged_from"] = [Path(p).name for p in paths]
    for key in ("architecture", "epochs", "n_train", "batch_size", "dtype"):
        if len({str(p[key]) for p in parts}) != 1:
            raise ValueError(f"cannot merge runs with different {key}: {[p[key] for p in parts]}")
    summarise(payload)
    write_atomic(out, payload)
    print(json.dumps(payload["dlcourse"], indent=1))


_LOG_LINE = re.compile(r"^\s+(dlcourse|torch)\s+epoch (\d+): ([\d.]+) s, test ([\d.]+)%")


def from_log(log: Path, epochs: int, out: Path) -> None:
    """Results file from the printed lines of a run (see the module docstring)."""
    runs: list[dict] = []
    for line in Path(log).read_text().splitlines():
        if line.startswith("seed "):
            runs.append({"seed": int(line.split()[1])})
        elif (hit := _LOG_LINE.match(line)) and runs:
            key, epoch, train_s, acc = hit.groups()
            runs[-1].setdefault(key, []).append({"epoch": int(epoch), "train_s": float(train_s),
                                                 "test_accuracy": float(acc) / 100})  # fmt: skip
    partial_speed = False
    for run in runs:
        for key in ("dlcourse", "torch"):
            if key in run and len(run[key]) < epochs:
                run[f"{key}_partial"] = run.pop(key)
        if "dlcourse" in run and "torch_partial" in run:
            partial_speed = True
    payload = {"benchmark": "bench_cnn.py", "architecture": ARCHITECTURE, "dtype": "float32",
               "optimizer": f"Adam lr {LR}, /10 for the last {DECAY_EPOCHS} epochs",
               "batch_size": BATCH, "epochs": epochs, "n_train": 60000, "n_test": 10000,
               "threads": 1, "source": f"printed lines of a stopped run ({Path(log).name})",
               "runs": [r for r in runs if "dlcourse" in r]}  # fmt: skip
    summarise(payload)
    if partial_speed and "torch" not in payload:
        runs_both = [r for r in payload["runs"] if "torch_partial" in r]
        dl = [row["train_s"] for r in runs_both for row in r["dlcourse"]]
        pt = [row["train_s"] for r in runs_both for row in r["torch_partial"]]
        payload["epoch_time_from_partial_epochs"] = {
            "seeds": [r["seed"] for r in runs_both], "dlcourse_epochs": len(dl),
            "torch_epochs": len(pt), "dlcourse_median": float(np.median(dl)),
            "torch_median": float(np.median(pt)), "dlcourse_min": float(np.min(dl)),
            "torch_min": float(np.min(pt)),
            "ratio_median": float(np.median(dl) / np.median(pt)),
            "ratio_min": float(np.min(dl) / np.min(pt)),
        }  # fmt: skip
    write_atomic(out, payload)
    print(json.dumps({k: v for k, v in payload.items() if k != "runs"}, indent=1))


def run_speed(args, X, y) -> None:
    """Alternate blocks of training steps of the two frameworks; epoch times by extrapolation."""
    import torch

    Y = np.eye(10, dtype=np.float32)[y]
    model = dlcourse_cnn(0)
    net = torch_cnn(model)
    opt, params = Adam(lr=LR), model.parameters()
    topt = torch.optim.Adam(net.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    order = np.random.default_rng(0).permutation(len(X))
    steps_per_epoch = -(-len(X) // BATCH)

    def dl_step(k):
        idx = order[k * BATCH : (k + 1) * BATCH]
        opt.step(params, model.gradients(X[idx], Y[idx], validate=False))

    def torch_step(k):
        idx = torch.from_numpy(order[k * BATCH : (k + 1) * BATCH])
        topt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx]).backward()
        topt.step()

    times: dict[str, list[float]] = {"dlcourse": [], "torch": []}
    for block in range(args.blocks):
        for name, step in (("dlcourse", dl_step), ("torch", torch_step)):
            start = time.perf_counter()
            for k in range(block * args.block, (block + 1) * args.block):
                step(k % steps_per_epoch)
            times[name].append((time.perf_counter() - start) / args.block * steps_per_epoch)
        print(f"  block {block}: dlcourse {times['dlcourse'][-1]:.0f} s/epoch, "
              f"torch {times['torch'][-1]:.0f} s/epoch", flush=True)  # fmt: skip
    payload = {"benchmark": "bench_cnn.py --speed", "architecture": ARCHITECTURE,
               "dtype": "float32", "batch_size": BATCH, "threads": 1, "blocks": args.blocks,
               "steps_per_block": args.block, "steps_per_epoch": steps_per_epoch,
               "torch_version": torch.__version__, "numpy_version": np.__version__,
               "epoch_s": times}  # fmt: skip
    for name in times:
        payload[f"{name}_epoch_s_median"] = float(np.median(times[name]))
        payload[f"{name}_epoch_s_min"] = float(np.min(times[name]))
    pairs = [d / t for d, t in zip(times["dlcourse"], times["torch"])]
    payload["ratio_median_of_blocks"] = float(np.median(pairs))
    payload["ratio_is"] = RATIO_IS
    payload["ratio_of_fastest"] = payload["dlcourse_epoch_s_min"] / payload["torch_epoch_s_min"]
    write_atomic(args.out or RESULTS.with_name("cnn_speed.json"), payload)
    print(json.dumps({k: v for k, v in payload.items() if k != "epoch_s"}, indent=1))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="1 seed, 1 epoch, 6,000 images")
    parser.add_argument("--mlp", action="store_true", help="train the MLP baseline only")
    parser.add_argument("--no-torch", action="store_true", help="train the dlcourse CNN only")
    parser.add_argument("--speed", action="store_true", help="interleaved speed comparison")
    parser.add_argument("--blocks", type=int, default=15, help="--speed: blocks per framework")
    parser.add_argument("--block", type=int, default=10, help="--speed: steps per block")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--merge", type=Path, nargs="+", help="combine per-seed result files")
    parser.add_argument("--from-log", type=Path, help="rebuild results from a run's output")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out or RESULTS)
    if args.from_log:
        return from_log(args.from_log, args.epochs, args.out or RESULTS)
    import torch

    torch.set_num_threads(1)
    data = dc.data.load_mnist("fashion", dtype="float32", progress=False)
    X, y = data.X_train.reshape(-1, 1, 28, 28), np.asarray(data.y_train)
    X_test, y_test = data.X_test.reshape(-1, 1, 28, 28), np.asarray(data.y_test)
    if args.quick:
        args.seeds, args.epochs, X, y = args.seeds[:1], 1, X[:6000], y[:6000]
    if args.speed:
        return run_speed(args, X, y)
    if args.mlp:
        return run_mlp(args, X.reshape(len(X), -1), y, X_test.reshape(len(X_test), -1), y_test)
    out = args.out or RESULTS
    payload = {
        "benchmark": "bench_cnn.py", "architecture": ARCHITECTURE, "dtype": "float32",
        "optimizer": f"Adam lr {LR}, /10 for the last {DECAY_EPOCHS} epochs", "batch_size": BATCH,
        "epochs": args.epochs, "n_train": len(X), "n_test": len(X_test), "threads": 1,
        "torch_version": torch.__version__, "numpy_version": np.__version__,
        "machine": machine(), "quick": args.quick, "runs": [],
    }  # fmt: skip
    for seed in args.seeds:
        print(f"seed {seed}", flush=True)
        model = dlcourse_cnn(seed)
        net = torch_cnn(model)  # copies the initial weights before dlcourse trains them
        run = {
            "seed": seed,
            "dlcourse": train_dlcourse(model, X, y, X_test, y_test, args.epochs, seed),
        }
        if not args.no_torch:
            run["torch"] = train_torch(net, X, y, X_test, y_test, args.epochs, seed)  # fmt: skip
        payload["runs"].append(run)
        summarise(payload)
        write_atomic(out, payload)
    print(json.dumps(payload["dlcourse"], indent=1))


if __name__ == "__main__":
    main()

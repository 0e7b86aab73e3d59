"""Recurrent networks from ``dlcourse.layers``: a long-range memory task and Fashion-MNIST
read row by row (Chapter 13 quotes both from ``results/recurrent.json``).

    python benchmarks/bench_recurrent.py            # full: 4 lengths, 3 epochs of FMNIST
    python benchmarks/bench_recurrent.py --quick    # one seed, short sequences, a data subset

Memory task: the input is a sequence of T standard normal numbers; the label is whether the
*first* one was positive, so the network must carry one bit across T − 1 steps of
distraction. RNN (tanh), LSTM (PyTorch's initialisation, and with its forget gates opened by a
bias of +3) and GRU (update gates opened by +3), 16 hidden units each, trained with Adam, are
compared on held-out sequences as T grows (chance is 50 %).

Fashion-MNIST row by row: each 28 × 28 image is a sequence of 28 rows of 28 pixels; a GRU with
64 hidden units reads it and its last state feeds a softmax layer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import RESULTS, save  # noqa: E402

from dlcourse import data  # noqa: E402
from dlcourse.layers import GRU, LSTM, RNN, Activation, LastStep, Linear, Model  # noqa: E402
from dlcourse.optim import Adam  # noqa: E402

CELLS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
# The variants of the memory task: (cell, gate-bias shift). The shift adds +3 to the biases of
# the LSTM's forget gate (rows H..2H, gate order i, f, g, o) or the GRU's update gate (rows
# H..2H, gate order r, z, n), so that at initialisation the cell keeps about 95 % of its state
# per step instead of about half.
VARIANTS = {
    "RNN": ("RNN", 0.0),
    "LSTM": ("LSTM", 0.0),
    "LSTM, forget bias +3": ("LSTM", 3.0),
    "GRU, update bias +3": ("GRU", 3.0),
}


def memory_task(n: int, T: int, seed: int):
    """``(X, y)``: X (n, T, 1) standard normal, y = [x_1 > 0]."""
    X = np.random.default_rng(seed).standard_normal((n, T, 1))
    return X, (X[:, 0, 0] > 0).astype(int)


def sequence_model(cell: str, n_in: int, n_hidden: int, k: int, seed: int, dtype="float64",
                   gate_bias: float = 0.0):  # fmt: skip
    """``cell -> last step -> Linear(n_hidden, k) -> softmax``; ``gate_bias`` is added to the
    second gate block of the recurrent layer (LSTM forget gate, GRU update gate)."""
    rng = np.random.default_rng(seed)
    recurrent = CELLS[cell](n_in, n_hidden, rng=rng, dtype=dtype)
    recurrent.b_ih[n_hidden : 2 * n_hidden] += gate_bias
    return Model(
        [recurrent, LastStep(),
         Linear(n_hidden, k, rng=rng, dtype=dtype), Activation("softmax")],
        cost="cross_entropy",
        seed=seed,  # the order of the mini-batches
    )  # fmt: skip


def run_memory(lengths, seeds, epochs, n_train=2000, n_test=1000):
    rows = []
    for T in lengths:
        for name, (cell, gate_bias) in VARIANTS.items():
            if cell == "RNN" and gate_bias:
                continue
            accs, times = [], []
            for seed in seeds:
                X, y = memory_task(n_train + n_test, T, seed=100 + seed)
                model = sequence_model(cell, 1, 16, 2, seed, gate_bias=gate_bias)
                start = time.perf_counter()
                model.fit(X[:n_train], y[:n_train], epochs=epochs, batch_size=50,
                          optimizer=Adam(lr=0.01), progress=False)  # fmt: skip
                times.append(time.perf_counter() - start)
                accs.append(model.evaluate(X[n_train:], y[n_train:]))
            row = {
                "T": T,
                "cell": name,
                "accuracy": float(np.mean(accs)),
                "accuracies": [float(a) for a in accs],
                "seconds": float(np.mean(times)),
            }
            rows.append(row)
            print(f"T = {T:4d}  {name:<21}  accuracy {row['accuracy']:.1%}  "
                  f"({row['seconds']:.1f} s per run)", flush=True)  # fmt: skip
    return rows


def run_fashion(epochs, n_train=None, seed=0):
    try:
        ds = data.load_mnist("fashion")
    except (FileNotFoundError, OSError) as err:
        print(f"Fashion-MNIST not found, skipped: {err}")
        return None
    X_train, y_train = ds.X_train.reshape(-1, 28, 28), ds.y_train
    X_test, y_test = ds.X_test.reshape(-1, 28, 28), ds.y_test
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    model = sequence_model("GRU", 28, 64, 10, seed, dtype="float32")
    history, start, optimizer = [], time.perf_counter(), Adam(lr=3e-3)
    for epoch in range(epochs):
        model.fit(X_train.astype(np.float32), y_train, epochs=1, batch_size=128,
                  optimizer=optimizer, progress=False)  # fmt: skip
        acc = model.evaluate(X_test.astype(np.float32), y_test)
        history.append(float(acc))
        print(f"Fashion-MNIST row by row, GRU(28, 64): epoch {epoch + 1} test accuracy "
              f"{acc:.1%} ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    return {"model": "GRU(28, 64) -> last step -> Linear(64, 10) -> softmax, Adam 3e-3, batch 128",
            "n_train": int(len(X_train)), "epochs": epochs, "test_accuracy": history[-1],
            "test_accuracy_per_epoch": history,
            "seconds": float(time.perf_counter() - start)}  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced run (about a minute)")
    parser.add_argument(
        "--part",
        choices=("all", "memory", "fashion"),
        default="all",
        help="run one part only; the other is kept from the existing JSON",
    )
    args = parser.parse_args(argv)
    name = "recurrent" + ("_quick" if args.quick else "")
    previous = RESULTS / f"{name}.json"
    results = json.loads(previous.read_text()) if previous.exists() else {}
    results.pop("machine", None)
    results["quick"] = args.quick
    if args.part in ("all", "memory"):
        if args.quick:
            results["memory_task"] = run_memory([5, 20], seeds=[0], epochs=3, n_train=400,
                                                n_test=200)  # fmt: skip
        else:
            results["memory_task"] = run_memory([5, 20, 50, 100], seeds=[0], epochs=10)
        path = save(name, results)  # saved at once: the Fashion-MNIST part is long
    if args.part in ("all", "fashion"):
        results["fashion_row_by_row"] = (
            run_fashion(epochs=1, n_train=2000) if args.quick else run_fashion(epochs=3)
        )
    path = save(name, results)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

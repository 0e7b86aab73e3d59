"""The reproduction table: test accuracy (mean ± std over seeds), epochs and wall time.

    python benchmarks/bench_accuracy.py            # 3 seeds, full epoch counts
    python benchmarks/bench_accuracy.py --quick    # 1 seed, 2 epochs (seconds; shape only)

Rows measured here, on scikit-learn's 8×8 digits (``dlcourse.data.load_digits``: 1,079
train / 359 validation / 359 test, stratified, split seed 0):

- ``nielsen_ch1``: Nielsen's chapter-1 network [64, 30, 10], sigmoid units, quadratic cost,
  plain SGD, batch 10, lr 3.0, 30 epochs, his ``N(0, 1)`` initialisation.
- ``nielsen_ch3``: his improved chapter-3 network [64, 100, 10], sigmoid hidden layer, softmax
  output with cross-entropy, L2 λ = 5.0, batch 10, lr 0.5, Glorot-normal initialisation
  (close to his ``N(0, 1/n_in)``).
- ``best_mlp``: the recipe the book ends Part III with: [64, 100, 10], ReLU hidden layer, He
  initialisation, softmax + cross-entropy, Adam lr 1e-3, L2 λ = 1e-3, batch 32, 60 epochs.

The network of each seed starts from ``seed``; the data split is the same for every seed, so
the spread measures initialisation and shuffling only. Rows for Fashion-MNIST are *read*
from the committed results of the chapters that measured them, never re-run here: the four
MLPs of Chapter 9 (``fashion_mlp.json``), the CNN of Chapter 11 and its MLP baseline
(``cnn.json``, ``cnn_mlp.json``) and the GRU of Chapter 13 that reads the images row by row
(``recurrent.json``); a file that is not there gives no row. Nielsen's MNIST accuracies and
the Fashion-MNIST benchmark's best MLP are quoted as other people's results (``PUBLISHED``),
for orientation only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dlcourse as dc  # noqa: E402
from benchmarks._results import RESULTS, save  # noqa: E402

DIGITS_ROWS = {
    "nielsen_ch1": {
        "label": "Nielsen ch. 1: [64, 30, 10] sigmoid, quadratic, SGD",
        "net": {"sizes": [64, 30, 10], "cost": "quadratic", "init": "nielsen"},
        "fit": {"batch_size": 10, "lr": 3.0},
        "optimizer": None,
        "epochs": 30,
    },
    "nielsen_ch3": {
        "label": "Nielsen ch. 3: [64, 100, 10] cross-entropy + L2, SGD",
        "net": {
            "sizes": [64, 100, 10],
            "output": "softmax",
            "cost": "cross_entropy",
            "init": "xavier_normal",
        },
        "fit": {"batch_size": 10, "lr": 0.5, "l2": 5.0},
        "optimizer": None,
        "epochs": 30,
    },
    "best_mlp": {
        "label": "Book's best MLP: [64, 100, 10] ReLU, He, softmax + CE, Adam, L2",
        "net": {
            "sizes": [64, 100, 10],
            "activation": "relu",
            "output": "softmax",
            "cost": "cross_entropy",
            "init": "he",
        },
        "fit": {"batch_size": 32, "lr": 1e-3, "l2": 1e-3},
        "optimizer": "adam",
        "epochs": 60,
    },
}

# Other people's results on other data, quoted for orientation (not measured here).
PUBLISHED = [
    {
        "source": "Nielsen, Neural Networks and Deep Learning, ch. 1",
        "data": "MNIST",
        "model": "[784, 30, 10] sigmoid, quadratic, SGD lr 3.0, best of 30 epochs",
        "test_accuracy": 0.9542,
    },
    {
        "source": "Nielsen, ch. 3",
        "data": "MNIST",
        "model": "[784, 100, 10] cross-entropy + L2 λ 5.0, SGD lr 0.1, 60 epochs",
        "test_accuracy": 0.9804,
    },
    {
        "source": "Xiao, Rasul & Vollgraf (2017), the Fashion-MNIST benchmark",
        "data": "Fashion-MNIST",
        "model": "scikit-learn MLPClassifier, the benchmark's best MLP row",
        "test_accuracy": 0.883,
    },
]

# The chapters' Fashion-MNIST results, read (never re-run) from these files, in this order
FASHION_FILES = [
    "fashion_mlp.json",
    "cnn_mlp.json",
    "cnn.json",
    "modern_cnn.json",
    "recurrent.json",
]
CHAPTERS = {
    "fashion_mlp.json": "Chapter 9",
    "cnn_mlp.json": "Chapter 11",
    "cnn.json": "Chapter 11",
    "modern_cnn.json": "Chapter 12",
    "recurrent.json": "Chapter 13",
}
# the rows of Chapter 9's table
FASHION_MLP_ORDER = ["nielsen_30", "nielsen_30_ce", "nielsen_100", "best"]


def run_row(name: str, spec: dict, data, seed: int, epochs: int) -> dict:
    """Train one row's network from ``seed``; return its test accuracy and wall seconds."""
    net = dc.Network(**spec["net"], seed=seed)
    kwargs = dict(spec["fit"])
    if spec["optimizer"]:
        kwargs["optimizer"] = dc.optim.get_optimizer(spec["optimizer"], lr=kwargs.pop("lr"))
    start = time.perf_counter()
    net.fit(data.X_train, data.y_train, epochs=epochs, progress=False, **kwargs)
    wall = time.perf_counter() - start
    return {"seed": seed, "test_accuracy": net.evaluate(data.X_test, data.y_test), "wall_s": wall}


def summarise(runs: list[dict]) -> dict:
    acc = np.array([r["test_accuracy"] for r in runs])
    wall = np.array([r["wall_s"] for r in runs])
    return {
        "test_accuracy_mean": float(acc.mean()),
        "test_accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
        "wall_s_mean": float(wall.mean()),
    }


def _accuracies(record: dict) -> list[float]:
    """Final test accuracy of each seed in a ``bench_cnn.py`` result (``cnn*.json``)."""
    summary = record.get("dlcourse")
    if isinstance(summary, dict) and "test_accuracy_per_seed" in summary:
        return [float(a) for a in summary["test_accuracy_per_seed"]]
    out = []
    for run in record.get("runs", []):
        if isinstance(run, dict) and "test_accuracy" in run:
            out.append(float(run["test_accuracy"]))
        elif isinstance(run, dict) and isinstance(run.get("dlcourse"), list) and run["dlcourse"]:
            out.append(float(run["dlcourse"][-1]["test_accuracy"]))
    return out


def _row(name, label, fname, record, acc, epochs, wall_s) -> dict:
    return {
        "name": name,
        "label": label,
        "chapter": CHAPTERS.get(fname),
        "source_file": fname,
        "seeds": len(acc),
        "epochs": epochs,
        "test_accuracy_mean": float(np.mean(acc)),
        "test_accuracy_std": float(np.std(acc, ddof=1)) if len(acc) > 1 else 0.0,
        "wall_s": None if wall_s is None else float(wall_s),
        "date": record.get("machine", {}).get("date"),
    }


def _cnn_rows(fname: str, record: dict) -> list[dict]:
    """``bench_cnn.py``'s CNN (``cnn.json``) or its MLP baseline (``cnn_mlp.json``); wall
    time: the median epoch times the epochs."""
    acc = _accuracies(record)
    if not acc:
        return []
    summary = record.get("dlcourse") if isinstance(record.get("dlcourse"), dict) else {}
    epochs = record.get("epochs")
    epoch_s = summary.get("epoch_s_median")
    wall = epoch_s * epochs if epoch_s is not None and epochs else None
    name = Path(fname).stem
    label = record.get("architecture", record.get("benchmark", name))
    return [_row(name, label, fname, record, acc, epochs, wall)]


def _fashion_mlp_rows(fname: str, record: dict) -> list[dict]:
    """The MLPs of Chapter 9 (``bench_fashion_mlp.py``), one row each."""
    runs = record.get("runs", {})
    rows = []
    for key in FASHION_MLP_ORDER + sorted(set(runs) - set(FASHION_MLP_ORDER)):
        entry = runs.get(key)
        if not isinstance(entry, dict):
            continue
        acc = [float(r["test_accuracy"]) for r in entry.get("runs", []) if "test_accuracy" in r]
        if not acc:
            continue
        epochs = [len(r.get("test_accuracy_per_epoch", [])) for r in entry["runs"]]
        epochs = max(epochs) if any(epochs) else entry.get("epochs_max")
        label = entry.get("description", key)
        rows.append(
            _row(f"fashion_{key}", label, fname, record, acc, epochs, entry.get("seconds_mean"))
        )
    return rows


def _recurrent_rows(fname: str, record: dict) -> list[dict]:
    """Chapter 13's GRU reading Fashion-MNIST row by row (``bench_recurrent.py``)."""
    entry = record.get("fashion_row_by_row")
    if not isinstance(entry, dict) or "test_accuracy" not in entry:
        return []
    acc = [float(entry["test_accuracy"])]
    label = entry.get("model", "recurrent network, row by row")
    return [_row("recurrent", label, fname, record, acc, entry.get("epochs"), entry.get("seconds"))]


def _modern_cnn_rows(fname: str, record: dict) -> list[dict]:
    """Chapter 12's LeNet-5, VGG-style network and ResNet (``bench_modern_cnn.py``), one row
    per configuration; the time is the mean training CPU time of a run (PyTorch, 1 thread)."""
    labels = {"lenet5": "LeNet-5", "vgg": "VGG-style", "resnet": "small ResNet",
              "resnet+aug": "small ResNet, crops and flips",
              "resnet14+aug": "ResNet-14 (two blocks per stage), crops and flips"}  # fmt: skip
    rows = []
    for key, entry in record["table"].items():
        acc = [float(a) for a in entry["test_accuracy_per_seed"]]
        label = f"{labels.get(key, key)} (PyTorch copy, CPU s)"
        rows.append(_row(f"modern_cnn_{key}", label, fname, record, acc, entry["epochs"],
                         float(np.mean(entry["train_cpu_s"]))))  # fmt: skip
    return rows


READERS = {
    "fashion_mlp.json": _fashion_mlp_rows,
    "cnn_mlp.json": _cnn_rows,
    "cnn.json": _cnn_rows,
    "modern_cnn.json": _modern_cnn_rows,
    "recurrent.json": _recurrent_rows,
}


def fashion_rows(folder: Path = RESULTS) -> list[dict]:
    """Rows read from the committed Fashion-MNIST results (skipped when absent or unreadable).

    Each row: ``name``, ``label``, ``chapter``, ``source_file``, ``seeds``, ``epochs``,
    ``test_accuracy_mean``/``_std`` (over the seeds), ``wall_s`` (training seconds of one
    run, ``None`` where the file does not say) and the ``date`` of the run.
    """
    rows = []
    for fname in FASHION_FILES:
        path = folder / fname
        if not path.exists():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            rows += READERS[fname](fname, record)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            print(f"skipped {path}: not the expected result file", file=sys.stderr)
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 epochs per row")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="accuracy", help="name of the JSON in results/")
    args = parser.parse_args(argv)
    seeds = list(range(1 if args.quick else args.seeds))
    data = dc.data.load_digits(seed=0)
    rows = []
    print(f"{'row':<62} {'epochs':>6} {'test accuracy':>16} {'wall s':>8}")
    for name, spec in DIGITS_ROWS.items():
        epochs = 2 if args.quick else spec["epochs"]
        runs = [run_row(name, spec, data, s, epochs) for s in seeds]
        row = {"name": name, "label": spec["label"], "epochs": epochs, "runs": runs}
        row.update(summarise(runs))
        rows.append(row)
        print(
            f"{spec['label']:<62} {epochs:>6} "
            f"{100 * row['test_accuracy_mean']:>8.1f} ± {100 * row['test_accuracy_std']:<4.1f}% "
            f"{row['wall_s_mean']:>8.2f}"
        )
    fashion = fashion_rows()
    if fashion:
        print("\nFashion-MNIST, read from the chapters' result files (not re-run here)")
        print(f"{'row':<62} {'epochs':>6} {'test accuracy':>16} {'wall s':>8}  seeds, file")
    for row in fashion:
        wall = "?" if row["wall_s"] is None else f"{row['wall_s']:.0f}"
        print(
            f"{row['chapter'] + ': ' + row['label']:<62.62} {row['epochs'] or '?':>6} "
            f"{100 * row['test_accuracy_mean']:>8.1f} ± {100 * row['test_accuracy_std']:<4.1f}% "
            f"{wall:>8}  {row['seeds']}, {row['source_file']}"
        )
    print("\nOther people's results, quoted for orientation")
    for p in PUBLISHED:
        print(
            f"{p['data']:<14} {p['model']:<66.66} {100 * p['test_accuracy']:5.1f} %  {p['source']}"
        )
    result = {
        "benchmark": "bench_accuracy.py",
        "quick": args.quick,
        "seeds": seeds,
        "digits": {
            "n_train": int(len(data.X_train)),
            "n_test": int(len(data.X_test)),
            "rows": rows,
        },
        "fashion_mnist": fashion,
        "published": PUBLISHED,
    }
    print("saved", save(args.out, result))
    return result


if __name__ == "__main__":
    main()

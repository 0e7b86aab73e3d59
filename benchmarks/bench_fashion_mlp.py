"""Fashion-MNIST accuracy and wall time of the networks of Chapter 9 (3 seeds each).

    nice python benchmarks/bench_fashion_mlp.py               # every run (~1 h, 2 busy cores)
    nice python benchmarks/bench_fashion_mlp.py --only best     # one configuration
    python benchmarks/bench_fashion_mlp.py --quick              # 1 seed, 2 epochs: a smoke test

Writes ``benchmarks/results/fashion_mlp.json`` (atomically, after every finished run, so a
long session can be stopped and resumed with ``--only``); the chapter
``book/09_practical.ipynb`` reads its numbers from that file.

Configurations (float32, data from ``dlcourse.data.load_mnist("fashion")``):

- ``nielsen_30``: Nielsen's chapter-1 network ``[784, 30, 10]``, sigmoid units and outputs,
  quadratic cost, N(0, 1) initialisation, plain SGD with lr = 3.0, mini-batch 10, 30 epochs,
  trained on the first 50,000 training images (``split="nielsen"``).
- ``nielsen_100``: Nielsen's chapter-3 network ``[784, 100, 10]``, sigmoid outputs with the
  cross-entropy cost, N(0, 1/n_in) weights, L2 with lambda = 5.0, mini-batch 10, 30 epochs,
  same split; lr = 0.5 halved every 5 epochs (Nielsen's learning-rate schedule on a fixed
  timetable: at a constant 0.5 the test accuracy of Fashion-MNIST jitters by a few points
  from epoch to epoch).
- ``nielsen_30_ce``: the chapter-3 recipe of ``nielsen_100`` (cross-entropy, N(0, 1/n_in),
  L2 5.0, lr 0.5 halved every 5 epochs) on the chapter-1 shape ``[784, 30, 10]``: it holds
  the width fixed, so that the gain from ``nielsen_30`` to ``nielsen_100`` can be split into
  what the recipe brings and what the 70 extra hidden units bring.
- ``best``: the best MLP of the book, ``[784, 512, 512, 10]`` ReLU with dropout 0.2 and a
  softmax output, He initialisation, Adam (lr 1e-3, cosine-annealed to 0 over 30 epochs),
  mini-batch 128, each epoch on freshly augmented images (a random half mirrored
  left-right), trained on 55,000 images with a stratified validation part of
  5,000; early stopping on validation accuracy (patience 10) restores the best epoch. The
  training-set cost and accuracy are not recomputed after each epoch (``track_train=False``
  of ``dlcourse.train.fit_loop``), which saves a quarter of the time.

For every run the test accuracy is recorded after each epoch (for the learning curves only;
model selection uses the validation part) and the final test accuracy is that of the
restored/last model. Wall time is the training time of the run (data loading excluded),
with the BLAS thread count and the load average recorded beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dlcourse as dc  # noqa: E402
from dlcourse.layers import Activation, Dropout, Linear, Model  # noqa: E402
from dlcourse.optim import SGD, Adam  # noqa: E402
from dlcourse.regularization import EarlyStopping  # noqa: E402
from dlcourse.schedules import CosineAnnealingLR, StepLR  # noqa: E402
from dlcourse.train import fit_loop  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "fashion_mlp.json"
SEEDS = (0, 1, 2)


class TestCurve:
    """Callback: the test accuracy after every epoch (plotted, never used for selection)."""

    def __init__(self, X_test, y_test):
        self.X_test, self.y_test, self.accuracy = X_test, y_test, []

    def on_epoch_end(self, model, epoch, history):
        self.accuracy.append(float(model.evaluate(self.X_test, self.y_test)))
        return False


def nielsen(sizes, cost, output, init, lr, l2, epochs, seed, data, halve_every=None):
    net = dc.Network(sizes, activation="sigmoid", output=output, cost=cost, init=init,
                     dtype="float32", seed=seed)  # fmt: skip
    curve = TestCurve(data.X_test, data.y_test)
    optimizer = SGD(lr=lr)
    callbacks = [curve]
    if halve_every:  # Nielsen's learning-rate schedule, on a fixed timetable
        callbacks.append(StepLR(optimizer, step_size=halve_every, gamma=0.5))
    start = time.perf_counter()
    history = net.fit(data.X_train, data.y_train, epochs=epochs, batch_size=10,
                      optimizer=optimizer, l2=l2, validation=data.validation,
                      callbacks=callbacks, progress=False)  # fmt: skip
    seconds = time.perf_counter() - start
    return {
        "seed": seed,
        "test_accuracy": float(net.evaluate(data.X_test, data.y_test)),
        "test_accuracy_per_epoch": curve.accuracy,
        "val_accuracy_per_epoch": [float(v) for v in history.val_accuracy],
        "train_accuracy_per_epoch": [float(v) for v in history.train_accuracy],
        "epochs": len(history),
        "seconds": seconds,
    }


def best_model(seed: int) -> Model:
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in ((784, 512), (512, 512)):
        layers += [Linear(n_in, n_out, init="he", rng=rng, dtype="float32"),
                   Activation("relu"), Dropout(0.2, rng=rng)]  # fmt: skip
    layers += [Linear(512, 10, init="he", rng=rng, dtype="float32"), Activation("softmax")]
    return Model(layers, cost="cross_entropy", seed=seed)


def augment_epoch(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A horizontal flip of half the images, chosen at random (a mirrored shirt is a shirt)."""
    images = X.reshape(-1, 28, 28).copy()
    flip = rng.random(len(images)) < 0.5
    images[flip] = images[flip, :, ::-1]
    return images.reshape(X.shape)


def best(epochs, seed, data):
    X_train, y_train, X_val, y_val = dc.data.train_val_split(
        data.X_train, data.y_train, val_fraction=1 / 12, seed=seed
    )
    model, rng = best_model(seed), np.random.default_rng(seed + 100)
    optimizer = Adam(lr=1e-3)
    schedule = CosineAnnealingLR(optimizer, T_max=epochs)
    stopper = EarlyStopping("val_accuracy", patience=10, restore_best=True)
    curve = TestCurve(data.X_test, data.y_test)
    val_acc = []
    Y_train, Y_val = np.eye(10, dtype=np.float32)[y_train], np.eye(10, dtype=np.float32)[y_val]
    model.n_train = len(y_train)
    start = time.perf_counter()
    for _ in range(epochs):  # one epoch per call: each epoch sees new augmented images
        history = fit_loop(model, augment_epoch(X_train, rng), Y_train, 1, 128, optimizer,
                           validation=(X_val, Y_val), callbacks=[curve], progress=False,
                           rng=model.rng, track_train=False)  # fmt: skip
        val_acc.append(float(history.val_accuracy[-1]))
        history.val_accuracy = val_acc  # the stopper reads the last entry
        schedule.step()
        if stopper.on_epoch_end(model, len(val_acc), history):
            break
    if stopper._best_params is not None:  # restore the best epoch also when not stopped early
        for p, saved in zip(model.parameters(), stopper._best_params):
            p[...] = saved
    seconds = time.perf_counter() - start
    return {
        "seed": seed,
        "test_accuracy": float(model.evaluate(data.X_test, data.y_test)),
        "test_accuracy_per_epoch": curve.accuracy,
        "val_accuracy_per_epoch": val_acc,
        "best_epoch": stopper.best_epoch,
        "epochs": len(val_acc),
        "seconds": seconds,
    }


CONFIGS = {
    "nielsen_30": {
        "description": "[784, 30, 10] sigmoid, quadratic cost, N(0,1) init, SGD lr 3.0, batch 10",
        "split": "nielsen",
        "run": lambda epochs, seed, data: nielsen([784, 30, 10], "quadratic", "sigmoid",
                                                  "large", 3.0, 0.0, epochs, seed, data),
        "epochs": 30,
    },
    "nielsen_100": {
        "description": "[784, 100, 10] sigmoid, cross-entropy, N(0,1/n_in) init, L2 5.0, "
        "SGD lr 0.5 halved every 5 epochs, batch 10",
        "split": "nielsen",
        "run": lambda epochs, seed, data: nielsen([784, 100, 10], "binary_cross_entropy",
                                                  "sigmoid", "nielsen", 0.5, 5.0, epochs, seed,
                                                  data, halve_every=5),
        "epochs": 30,
    },
    "nielsen_30_ce": {
        "description": "[784, 30, 10] sigmoid, cross-entropy, N(0,1/n_in) init, L2 5.0, "
        "SGD lr 0.5 halved every 5 epochs, batch 10 (the nielsen_100 recipe at width 30)",
        "split": "nielsen",
        "run": lambda epochs, seed, data: nielsen([784, 30, 10], "binary_cross_entropy",
                                                  "sigmoid", "nielsen", 0.5, 5.0, epochs, seed,
                                                  data, halve_every=5),
        "epochs": 30,
    },
    "best": {
        "description": "[784, 512, 512, 10] ReLU, dropout 0.2, softmax + cross-entropy, He "
        "init, Adam 1e-3 cosine, batch 128, flip augmentation, early stopping",
        "split": "standard",
        "run": best,
        "epochs": 30,
    },
}  # fmt: skip


def write_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(CONFIGS), action="append")
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 epochs, no JSON")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--seed",
        type=int,
        choices=SEEDS,
        action="append",
        help="run only these seeds and merge them with the file's other runs",
    )
    args = parser.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {"runs": {}}
    for name in args.only or list(CONFIGS):
        config = CONFIGS[name]
        data = dc.data.load_mnist("fashion", split=config["split"], dtype="float32")
        epochs = 2 if args.quick else config["epochs"]
        runs = []
        for seed in SEEDS[:1] if args.quick else (args.seed or SEEDS):
            run = config["run"](epochs, seed, data)
            run["load_average"] = os.getloadavg()[0]
            runs.append(run)
            print(f"{name} seed {seed}: test {run['test_accuracy']:.2%} "
                  f"in {run['seconds']:.0f} s ({run['epochs']} epochs)", flush=True)  # fmt: skip
        if args.seed and args.out.is_file():  # keep this configuration's other seeds
            old = json.loads(args.out.read_text())["runs"].get(name, {"runs": []})["runs"]
            runs = sorted([r for r in old if r["seed"] not in args.seed] + runs,
                          key=lambda r: r["seed"])  # fmt: skip
        accs = [r["test_accuracy"] for r in runs]
        summary = {"description": config["description"], "epochs_max": epochs,
                   "test_accuracy_mean": float(np.mean(accs)),
                   "test_accuracy_std": float(np.std(accs)),
                   "seconds_mean": float(np.mean([r["seconds"] for r in runs])),
                   "runs": runs}  # fmt: skip
        if args.quick:
            continue
        if args.out.is_file():  # another process may have added its configuration meanwhile
            results = json.loads(args.out.read_text())
        results["runs"][name] = summary
        results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                              "blas_threads": os.environ.get("OMP_NUM_THREADS", "default"),
                              "numpy": np.__version__}  # fmt: skip
        write_atomic(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Search at scale (Chapter 9): successive halving and Hyperband against random search on the
same budget, and learning-rate warm-up, on Fashion-MNIST (3 seeds each).

    nice python benchmarks/bench_search.py            # every run (~15 min of one core)
    python benchmarks/bench_search.py --quick         # 1 seed, a tiny budget: a smoke test

Writes ``benchmarks/results/search.json`` (``search_quick.json`` with ``--quick``)
atomically; ``book/09_practical.ipynb`` reads it.

**Search.** One trial trains ``[784, width, 10]`` (ReLU, softmax output, He initialisation,
Adam, mini-batch 50) on ``n_train`` images of a stratified training part for up to
``max_epochs`` epochs and reports its accuracy on ``n_val`` validation images after every
epoch. The space is that of the chapter: ``lr ~ LogUniform(1e-4, 1e-1)``,
``l2 ~ LogUniform(0.01, 100)``, ``width ~ IntUniform(16, 256)``. The three methods draw
their points from the same ``optuna.samplers.RandomSampler(seed)`` and so try the same
sequence of configurations; they differ only in the pruner:

- ``random``: no pruner (``NopPruner``), every trial runs ``max_epochs`` epochs;
- ``successive_halving``: ``SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)``,
  rungs after 1, 3, 9 epochs, where a trial continues only if it is in the best third of
  the trials that reached the rung so far (the asynchronous form, ASHA);
- ``hyperband``: ``HyperbandPruner(min_resource=1, max_resource=max_epochs,
  reduction_factor=3)``, several successive-halving brackets with different first rungs.

The budget is counted in training epochs (``budget`` = 8 full trainings): a method stops
starting trials once it is spent, and a trial that would overrun it is cut off there (and
counts as unfinished). The score of a method is the best validation accuracy among its
*finished* trials (those that ran all ``max_epochs`` epochs), and that trial's accuracy on
the 10,000 test images; a pruned trial's score after fewer epochs is not comparable.

**Warm-up.** ``[784, 256, 256, 256, 10]`` ReLU, SGD with momentum 0.9, mini-batch 64,
2 epochs on ``n_train`` images, for several learning rates, each with a constant rate and
with a linear warm-up from ``lr / warmup_steps`` to ``lr`` over the first ``warmup_steps``
steps; validation accuracy after the 2 epochs, and the largest mini-batch loss of the run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import save  # noqa: E402
from dlcourse import data  # noqa: E402
from dlcourse.layers import Activation, Linear, Model  # noqa: E402
from dlcourse.optim import SGD, Adam  # noqa: E402

METHODS = ("random", "successive_halving", "hyperband")


def mlp(widths, seed):
    """ReLU layers of the given widths between 784 inputs and a 10-way softmax output."""
    rng = np.random.default_rng(seed)
    layers, n = [], 784
    for width in widths:
        layers += [Linear(n, int(width), init="he", rng=rng, dtype="float32"), Activation("relu")]
        n = int(width)
    layers += [Linear(n, 10, init="xavier_uniform", rng=rng, dtype="float32"),
               Activation("softmax")]  # fmt: skip
    return Model(layers, cost="cross_entropy", seed=seed)


def pruner(method: str, max_epochs: int):
    import optuna

    if method == "random":
        return optuna.pruners.NopPruner()
    if method == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if method == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs,
                                              reduction_factor=3)  # fmt: skip
    raise ValueError(f"method must be one of {METHODS}; got {method!r}")


def search(method, seed, sets, max_epochs, budget):
    """One search; returns its trials, the epochs it spent and its best finished trial."""
    import optuna

    X_train, y_train, X_val, y_val, X_test, y_test = sets
    spent = 0
    trials = []

    def objective(trial):
        nonlocal spent
        if spent >= budget:  # nothing left to start a trial with
            trial.study.stop()
            raise optuna.TrialPruned()
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        l2 = trial.suggest_float("l2", 0.01, 100.0, log=True)
        width = trial.suggest_int("width", 16, 256)
        net = mlp([width], seed=seed * 1000 + trial.number)
        optimizer = Adam(lr=lr)
        record = {"number": trial.number, "lr": lr, "l2": l2, "width": width, "val": []}
        trials.append(record)
        for epoch in range(1, max_epochs + 1):
            if spent >= budget:
                record["state"] = "cut off by the budget"
                trial.study.stop()
                raise optuna.TrialPruned()
            net.fit(X_train, y_train, epochs=1, batch_size=50, optimizer=optimizer, l2=l2,
                    progress=False)  # fmt: skip
            spent += 1
            score = net.evaluate(X_val, y_val)
            record["val"].append(score)
            record["spent_after"] = spent
            trial.report(score, epoch)
            if trial.should_prune():
                record["state"] = f"pruned after {epoch}"
                raise optuna.TrialPruned()
        record["state"] = "finished"
        record["test"] = net.evaluate(X_test, y_test)
        if spent >= budget:
            trial.study.stop()
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=pruner(method, max_epochs),
                                sampler=optuna.samplers.RandomSampler(seed=seed))  # fmt: skip
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a diverging lr = 0.1 trial
        study.optimize(objective, n_trials=10_000)
    seconds = time.perf_counter() - start
    finished = [t for t in trials if t["state"] == "finished"]
    best = max(finished, key=lambda t: t["val"][-1])
    # best finished validation accuracy against the epochs spent so far
    curve, best_so_far = [], -math.inf
    for t in finished:
        best_so_far = max(best_so_far, t["val"][-1])
        curve.append([t["spent_after"], best_so_far])
    return {
        "seed": seed,
        "epochs_spent": spent,
        "trials_started": len(trials),
        "trials_finished": len(finished),
        "best_val": best["val"][-1],
        "best_test": best["test"],
        "best_params": {k: best[k] for k in ("lr", "l2", "width")},
        "best_so_far": curve,
        "seconds": seconds,
        "trials": trials,
    }


def warmup_run(lr, warmup_steps, seed, sets, epochs=2, batch_size=64):
    """SGD with momentum on [784, 256, 256, 256, 10]; the rate ramps up over warmup_steps."""
    X_train, y_train, X_val, y_val = sets[:4]
    net = mlp([256, 256, 256], seed=seed)
    optimizer = SGD(lr=lr, momentum=0.9)
    order_rng = np.random.default_rng(seed)
    step, worst = 0, 0.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(epochs):
            order = order_rng.permutation(len(y_train))
            for i in range(0, len(order), batch_size):
                rows = order[i : i + batch_size]
                optimizer.lr = lr * min(1.0, (step + 1) / warmup_steps) if warmup_steps else lr
                loss = net.cost(X_train[rows], y_train[rows], training=True)
                worst = max(worst, float(loss)) if math.isfinite(loss) else math.inf
                optimizer.step(net.parameters(), net.gradients(X_train[rows], y_train[rows]))
                step += 1
        accuracy = net.evaluate(X_val, y_val)
    return {"val": float(accuracy) if math.isfinite(accuracy) else 0.0, "max_loss": worst}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, a tiny budget")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    seeds = [0] if quick else [0, 1, 2]
    n_train, n_val = (1000, 500) if quick else (6000, 2000)
    max_epochs = 3 if quick else 9
    budget = 2 * max_epochs if quick else 8 * max_epochs
    lrs = [0.2] if quick else [0.05, 0.1, 0.2, 0.3]
    warmup_steps = 20 if quick else 150

    name = "search_quick" if quick else "search"  # a smoke run never replaces the results
    fashion = data.load_mnist("fashion", dtype="float32")
    X_full, y_full, X_test, y_test = fashion
    X_train, y_train, X_val, y_val = data.train_val_split(X_full, y_full, val_fraction=1 / 6,
                                                          seed=9)  # fmt: skip
    sets = (X_train[:n_train], y_train[:n_train], X_val[:n_val], y_val[:n_val], X_test, y_test)

    results = {"quick": quick, "seeds": seeds, "n_train": n_train, "n_val": n_val,
               "max_epochs": max_epochs, "budget_epochs": budget, "methods": {}}  # fmt: skip
    for method in METHODS:
        runs = []
        for seed in seeds:
            runs.append(search(method, seed, sets, max_epochs, budget))
            print(f"{method:>18} seed {seed}: best finished val {runs[-1]['best_val']:.4f} "
                  f"(test {runs[-1]['best_test']:.4f}), {runs[-1]['trials_started']} trials, "
                  f"{runs[-1]['trials_finished']} finished, {runs[-1]['seconds']:.0f} s",
                  flush=True)  # fmt: skip
        vals = [r["best_val"] for r in runs]
        tests = [r["best_test"] for r in runs]
        results["methods"][method] = {
            "runs": runs,
            "best_val_mean": float(np.mean(vals)),
            "best_test_mean": float(np.mean(tests)),
            "trials_started_mean": float(np.mean([r["trials_started"] for r in runs])),
        }
        save(name, results)

    warm = {"network": "[784, 256, 256, 256, 10] ReLU", "optimizer": "SGD momentum 0.9",
            "batch_size": 64, "epochs": 2, "warmup_steps": warmup_steps, "rows": []}  # fmt: skip
    for lr in lrs:
        for steps in (0, warmup_steps):
            runs = [warmup_run(lr, steps, seed, sets) for seed in seeds]
            vals = [r["val"] for r in runs]
            warm["rows"].append({"lr": lr, "warmup_steps": steps, "val": vals,
                                 "val_mean": float(np.mean(vals)),
                                 "max_loss": [r["max_loss"] for r in runs]})  # fmt: skip
            print(f"warm-up {steps:>3} steps, lr {lr}: val {np.round(vals, 3)}", flush=True)
        results["warmup"] = warm
        save(name, results)
    return results


if __name__ == "__main__":
    main()

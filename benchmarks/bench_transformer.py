"""A small transformer built from ``dlcourse.layers`` sorts digit strings; a learning-rate
sweep with and without warm-up, for pre-norm and post-norm blocks (Chapter 14 quotes
``results/transformer.json``).

    python benchmarks/bench_transformer.py            # full: 3 seeds
    python benchmarks/bench_transformer.py --quick    # one seed, a few steps (smoke test)

Task: 8 random digits in, the same digits in ascending order out (one output per position).
Model: embedding (10 tokens, d = 32) + learned positions, two encoder blocks (2 heads,
feed-forward width 64), a linear read-out at every position; NumPy float32, Adam, batch 64,
gradient-norm clipping at 1 in the main runs and none in the sweep.

- ``main``: pre-norm and post-norm, 1,000 steps at lr 3e-3 with 50 warm-up steps: test token
  and exact-match (whole sequence right) accuracy on 2,000 held-out strings.
- ``sweep``: 600 steps at lr ∈ {3e-3, 1e-2, 3e-2, 1e-1}, warm-up 0 or 100 steps, pre- or
  post-norm, no clipping: the mean training loss of the last 50 steps and the test exact match.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import save  # noqa: E402

from dlcourse.data.sequences import sorting_task  # noqa: E402
from dlcourse.seqtransformer import SequenceTransformer, accuracy, train_transformer  # noqa: E402

MODEL = {"d_model": 32, "nhead": 2, "num_layers": 2, "dim_feedforward": 64, "dtype": "float32"}
FULL = {
    "seeds": [0, 1, 2],
    "length": 8,
    "n_train": 20000,
    "n_test": 2000,
    "main_steps": 1000,
    "main_lr": 3e-3,
    "main_warmup": 50,
    "sweep_steps": 600,
    "sweep_lrs": [3e-3, 1e-2, 3e-2, 1e-1],
    "sweep_warmups": [0, 100],
    "model": MODEL,
}
QUICK = {
    **FULL,
    "seeds": [0],
    "n_train": 2000,
    "n_test": 200,
    "main_steps": 30,
    "sweep_steps": 20,
    "sweep_lrs": [1e-2, 1e-1],
}


def one_run(cfg, seed, norm_first, steps, lr, warmup, clip):
    X, Y = sorting_task(cfg["n_train"], cfg["length"], seed=1000 + seed)
    Xt, Yt = sorting_task(cfg["n_test"], cfg["length"], seed=2000 + seed)
    model = SequenceTransformer(
        10, max_len=cfg["length"], norm_first=norm_first, seed=seed, **cfg["model"]
    )
    start = time.perf_counter()
    losses = train_transformer(model, X, Y, steps, 64, lr, warmup, clip, seed=seed)
    seconds = time.perf_counter() - start
    token, exact = accuracy(model, Xt, Yt)
    tail = losses[-50:]
    return {
        "seed": seed,
        "norm_first": norm_first,
        "lr": lr,
        "warmup": warmup,
        "steps": steps,
        "diverged": not np.isfinite(losses[-1]),
        "final_loss": float(np.mean(tail)),
        "token_acc": token,
        "exact_match": exact,
        "train_seconds": seconds,
        "loss_curve": [float(np.mean(losses[i : i + 10])) for i in range(0, len(losses), 10)],
    }


def _mean_std(rows, key):
    vals = [r[key] for r in rows]
    return {"mean": float(np.mean(vals)), "std": float(np.std(vals))}


def run(cfg: dict) -> dict:
    main_rows, sweep_rows = [], []
    for seed in cfg["seeds"]:
        for norm_first in (True, False):
            r = one_run(
                cfg, seed, norm_first, cfg["main_steps"], cfg["main_lr"], cfg["main_warmup"], 1.0
            )
            main_rows.append(r)
            print(
                f"main seed {seed} {'pre' if norm_first else 'post'}-norm: "
                f"token {r['token_acc']:.4f}, "
                f"exact {r['exact_match']:.4f} ({r['train_seconds']:.0f} s)",
                flush=True,
            )
    for seed in cfg["seeds"]:
        for norm_first in (True, False):
            for lr in cfg["sweep_lrs"]:
                for warmup in cfg["sweep_warmups"]:
                    r = one_run(cfg, seed, norm_first, cfg["sweep_steps"], lr, warmup, None)
                    sweep_rows.append(r)
                    print(
                        f"sweep seed {seed} {'pre' if norm_first else 'post'} lr {lr:g} warm-up "
                        f"{warmup}: loss {r['final_loss']:.3f}, exact {r['exact_match']:.3f}",
                        flush=True,
                    )
    main_summary = {}
    for norm_first in (True, False):
        rows = [r for r in main_rows if r["norm_first"] == norm_first]
        main_summary["pre" if norm_first else "post"] = {
            k: _mean_std(rows, k)
            for k in ("token_acc", "exact_match", "final_loss", "train_seconds")
        }
    sweep_summary = []
    for norm_first in (True, False):
        for lr in cfg["sweep_lrs"]:
            for warmup in cfg["sweep_warmups"]:
                rows = [
                    r
                    for r in sweep_rows
                    if (r["norm_first"], r["lr"], r["warmup"]) == (norm_first, lr, warmup)
                ]
                sweep_summary.append(
                    {
                        "norm": "pre" if norm_first else "post",
                        "lr": lr,
                        "warmup": warmup,
                        "final_loss": _mean_std(rows, "final_loss"),
                        "exact_match": _mean_std(rows, "exact_match"),
                        "final_losses": [r["final_loss"] for r in rows],
                    }
                )
    return {
        "config": cfg,
        "main": main_rows,
        "main_summary": main_summary,
        "sweep": sweep_rows,
        "sweep_summary": sweep_summary,
    }


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, a few steps")
    args = parser.parse_args(argv)
    results = run(QUICK if args.quick else FULL)
    results["quick"] = args.quick
    results["command"] = "python benchmarks/bench_transformer.py" + (
        " --quick" if args.quick else ""
    )
    path = save("transformer" + ("_quick" if args.quick else ""), results)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()

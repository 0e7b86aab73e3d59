"""Sequence-to-sequence on digit reversal: an encoder–decoder GRU with and without Bahdanau
attention, trained with teacher forcing (Chapter 13 quotes ``results/seq2seq.json``).

    python benchmarks/bench_seq2seq.py            # full: 3 seeds, 1,500 steps per model
    python benchmarks/bench_seq2seq.py --quick    # one seed, 60 steps (a smoke test)

For every seed and model the script records the teacher-forced loss and token accuracy on
held-out sequences, the free-running (greedy) token accuracy and exact match, the
per-position accuracies of both (exposure bias: errors that compound once the decoder reads
its own outputs), and the exact match and mean log-probability of beam search with widths
1 (greedy), 3 and 5 on the first ``n_beam`` test sequences.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from _results import save  # noqa: E402

from dlcourse.beam import beam_search  # noqa: E402
from dlcourse.data.sequences import BOS, EOS, reversal_task, strip  # noqa: E402
from dlcourse.seq2seq import Seq2Seq, evaluate, train_seq2seq  # noqa: E402

FULL = {
    "seeds": [0, 1, 2],
    "steps": 1500,
    "n_train": 20000,
    "n_test": 1000,
    "n_beam": 200,
    "n_min": 3,
    "n_max": 12,
    "hidden": 64,
    "embed": 32,
    "batch_size": 64,
    "lr": 3e-3,
}
QUICK = {**FULL, "seeds": [0], "steps": 60, "n_train": 2000, "n_test": 100, "n_beam": 20}
WIDTHS = (1, 3, 5)


def beam_scores(model, src, tgt, widths=WIDTHS) -> dict:
    """Exact match and mean log-probability of the decoded sequence, per beam width."""
    out = {}
    for B in widths:
        ok, logp = [], []
        for s, t in zip(src, tgt):
            step, state = model.stepper(s)
            tokens, score = beam_search(step, state, BOS, EOS, tgt.shape[1], B)
            ok.append(tokens == strip(t))
            logp.append(score)
        out[str(B)] = {"exact_match": float(np.mean(ok)), "mean_log_prob": float(np.mean(logp))}
    return out


def run(cfg: dict) -> dict:
    torch.set_num_threads(1)
    rows = []
    for seed in cfg["seeds"]:
        src, tgt = reversal_task(cfg["n_train"], cfg["n_min"], cfg["n_max"], seed=1000 + seed)
        ts, tt = reversal_task(cfg["n_test"], cfg["n_min"], cfg["n_max"], seed=2000 + seed)
        for attention in (False, True):
            model = Seq2Seq(
                embed=cfg["embed"], hidden=cfg["hidden"], attention=attention, seed=seed
            )
            start = time.perf_counter()
            losses = train_seq2seq(
                model, src, tgt, cfg["steps"], cfg["batch_size"], cfg["lr"], seed=seed
            )
            seconds = time.perf_counter() - start
            scores = evaluate(model, ts, tt)
            beams = beam_scores(model, ts[: cfg["n_beam"]], tt[: cfg["n_beam"]])
            name = "attention" if attention else "plain"
            rows.append(
                {
                    "model": name,
                    "seed": seed,
                    "train_seconds": seconds,
                    "loss_curve": [
                        float(np.mean(losses[i : i + 25])) for i in range(0, len(losses), 25)
                    ],
                    **scores,
                    "beam": beams,
                }
            )
            print(
                f"seed {seed} {name:>9}: tf loss {scores['tf_loss']:.3f}, tf token acc "
                f"{scores['tf_token_acc']:.3f}, free token acc {scores['free_token_acc']:.3f}, "
                f"exact {scores['exact_match']:.3f}, beam "
                + ", ".join(f"{b}: {v['exact_match']:.3f}" for b, v in beams.items())
                + f" ({seconds:.0f} s)",
                flush=True,
            )
    summary = {}
    for name in ("plain", "attention"):
        mine = [r for r in rows if r["model"] == name]
        keys = ["tf_loss", "tf_token_acc", "free_token_acc", "exact_match"]
        summary[name] = {
            k: {
                "mean": float(np.mean([r[k] for r in mine])),
                "std": float(np.std([r[k] for r in mine])),
            }
            for k in keys
        }
        for B in map(str, WIDTHS):
            for k in ("exact_match", "mean_log_prob"):
                vals = [r["beam"][B][k] for r in mine]
                summary[name][f"beam{B}_{k}"] = {
                    "mean": float(np.mean(vals)),
                    "std": float(np.std(vals)),
                }
    return {"config": cfg, "runs": rows, "summary": summary}


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 60 steps")
    args = parser.parse_args(argv)
    results = run(QUICK if args.quick else FULL)
    results["quick"] = args.quick
    results["command"] = "python benchmarks/bench_seq2seq.py" + (" --quick" if args.quick else "")
    path = save("seq2seq" + ("_quick" if args.quick else ""), results)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()

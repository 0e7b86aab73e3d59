"""Milliseconds per epoch of ``Network.fit`` for two versions of the package, side by side.

    git archive <commit> dlcourse | tar -x -C /tmp/old     # an older version to compare with
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_step_design.py --old /tmp/old

Four settings on random data of MNIST's shape (784 features in [0, 1), one-hot targets for
10 classes, seeded), float64, sigmoid units, quadratic cost: ``[784, 30, 10]`` with batch 10
and ``[784, 1024, 10]`` with batch 256, each with ``optim.SGD`` and ``optim.Adam``. One epoch
is ``fit(epochs=1)``, the end-of-epoch cost and accuracy over the training set included.

The two versions run in separate processes, taking turns, ``--repeats`` rounds; in each
round a process times two epochs of every setting, each on a fresh network: its first (the
allocator has not yet settled on its sizes: with glibc a new array of several MB comes with
fresh pages from the system) and a second. Each column keeps the best of its rounds. Every
run starts from the same seed, so the two versions must end with the same weights: the
table says whether they are bit for bit equal (a change of the training step's arrangement
must not change a single number).
Without ``--old`` only the current version is timed. Results go to
``benchmarks/results/step_design.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = [  # name, sizes, batch size, optimiser, lr, examples
    ("[784,30,10] b10 SGD", [784, 30, 10], 10, "SGD", 3.0, 10_000),
    ("[784,30,10] b10 Adam", [784, 30, 10], 10, "Adam", 1e-3, 10_000),
    ("[784,1024,10] b256 SGD", [784, 1024, 10], 256, "SGD", 3.0, 10_000),
    ("[784,1024,10] b256 Adam", [784, 1024, 10], 256, "Adam", 1e-3, 10_000),
]


def one_round() -> dict:
    """Time one epoch of every setting in this process (the package on ``sys.path``)."""
    import numpy as np

    import dlcourse as dc
    from dlcourse import optim

    out = {}
    for name, sizes, batch, opt, lr, n in SETTINGS:
        rng = np.random.default_rng(0)
        X, Y = rng.random((n, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
        net = dc.Network(sizes, seed=1)
        net.fit(
            X[: batch * 4],
            Y[: batch * 4],
            1,
            batch,
            optimizer=getattr(optim, opt)(lr=lr),
            progress=False,
        )  # fmt: skip  (warm-up: imports, first allocations)
        times = []
        for _ in range(2):  # the process's first epoch of this setting, then another one
            net = dc.Network(sizes, seed=1)
            start = time.perf_counter()
            net.fit(X, Y, 1, batch, optimizer=getattr(optim, opt)(lr=lr), progress=False)
            times.append(1000 * (time.perf_counter() - start))
        digest = hashlib.sha256()
        for W, b in zip(net.weights, net.biases):
            digest.update(np.ascontiguousarray(W).tobytes() + np.ascontiguousarray(b).tobytes())
        out[name] = {"first": times[0], "again": times[1], "weights": digest.hexdigest()}
    return out


def run_version(path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(path), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")  # fmt: skip
    done = subprocess.run([sys.executable, __file__, "--round"], env=env, cwd=path,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="a folder holding an older dlcourse/")
    parser.add_argument("--repeats", type=int, default=5, help="rounds (best is kept)")
    parser.add_argument("--round", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.round:
        print(json.dumps(one_round()))
        return {}
    versions = {"new": ROOT} | ({"old": args.old.resolve()} if args.old else {})
    rounds = {v: [] for v in versions}
    for _ in range(args.repeats):
        for version, path in versions.items():
            rounds[version].append(run_version(path))
    table = {}
    for name, *_ in SETTINGS:
        row = {f"{v} {when}": min(r[name][when] for r in rounds[v])
               for when in ("first", "again") for v in versions}  # fmt: skip
        if "old" in versions:
            row["same_weights"] = (
                rounds["old"][0][name]["weights"] == rounds["new"][0][name]["weights"]
            )
        table[name] = row
    columns = [k for k in next(iter(table.values())) if k != "same_weights"]
    print("ms per epoch, best of the rounds; 'first': the process's first epoch of the setting,")
    print("'again': a second one (fresh network) in the same process")
    print(f"{'setting':26s}" + "".join(f"{c:>11s}" for c in columns)
          + ("  same weights" if "old" in versions else ""))  # fmt: skip
    for name, row in table.items():
        line = f"{name:26s}" + "".join(f"{row[c]:11.1f}" for c in columns)
        print(line + (f"  {row['same_weights']}" if "old" in versions else ""))
    result = {"repeats": args.repeats, "threads": 1, "table": table}
    out = ROOT / "benchmarks" / "results" / "step_design.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(out)
    return result


if __name__ == "__main__":
    main()

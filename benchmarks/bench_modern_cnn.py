"""LeNet-5, a VGG-style network and a small ResNet on Fashion-MNIST (Chapter 12).

    nice python benchmarks/bench_modern_cnn.py --runs lenet5 vgg resnet resnet+aug
    nice python benchmarks/bench_modern_cnn.py --runs resnet+aug --out part_a   # one part
    cd benchmarks/results && python ../bench_modern_cnn.py --merge part_a.json part_b.json
    python benchmarks/bench_modern_cnn.py --quick                                   # smoke run
    python benchmarks/bench_modern_cnn.py --from-log run.log --epochs 5 --out part  # a stopped run

The networks are those of :mod:`dlcourse.cnn_models` (``lenet5()``, ``vgg_net()``,
``resnet()`` with their default widths; ``resnet14`` is ``resnet(blocks_per_stage=2)``, two
basic blocks per stage: 13 convolutions and the linear layer), built from ``dlcourse.layers``
in float32 and seeded.
Each is converted to ``torch.nn`` by :func:`dlcourse.torchlayers.layers_to_module`, which
copies the initial weights, and shown equal to the course's network on a batch of 64
training images before it trains: the largest differences of the outputs (training and
evaluation mode) and of the cross-entropy gradients of all parameters are recorded under
``"parity"``. PyTorch then trains it (one thread), because the course's NumPy layers would
take hours here.

Training (fixed before the runs): the 60,000 training images, batch 128, SGD with Nesterov
momentum 0.9, weight decay 5e-4, learning rate 0.05 warmed up linearly over the first epoch
and then cosine-annealed to 0, ``--epochs`` epochs; the shuffled order comes from the seed.
``+aug`` adds the course's augmentation to every training batch: a random crop with 2 pixels
of zero padding (``dlcourse.data.random_shift``) and a left–right mirror with probability
1/2 (``dlcourse.data.random_flip``). The test accuracy is recorded after every epoch (no
choice is made from it); the result is the last epoch's.

``--from-log`` rebuilds the runs of a process that was stopped from the lines it printed
(accuracies to 0.01 %, CPU times to 1 s); a run with fewer epochs than ``--epochs`` is kept
with ``"partial": true`` and its ``epochs`` the number it completed.

Results go to ``benchmarks/results/modern_cnn.json`` (rewritten atomically after every run,
with the machine description), one entry per run: seed, epochs, per-epoch training time and
test accuracy, parameters and multiply–adds per image from ``dlcourse.layers.summary``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import ast  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dlcourse as dc  # noqa: E402
from benchmarks._results import check_name, save  # noqa: E402
from dlcourse.cnn_models import lenet5, resnet, vgg_net  # noqa: E402
from dlcourse.layers import summary  # noqa: E402

NAME = "modern_cnn"
BUILDERS = {
    "lenet5": lenet5,
    "vgg": vgg_net,
    "resnet": resnet,
    "resnet14": functools.partial(resnet, blocks_per_stage=2),
}
BATCH, LR, MOMENTUM, WEIGHT_DECAY, PAD = 128, 0.05, 0.9, 5e-4, 2
TRAINING = (f"SGD Nesterov momentum {MOMENTUM}, weight decay {WEIGHT_DECAY}, batch {BATCH}, "
            f"lr {LR} linear warm-up over epoch 1 then cosine to 0")  # fmt: skip
AUGMENTATION = f"random crop with {PAD}-pixel zero padding + horizontal flip (p 0.5)"


def parity(model, net, X, y) -> dict:
    """Largest |difference| between the course's network and its torch copy on one batch:
    outputs in evaluation mode (initial running statistics), in training mode, gradients of
    the mean cross-entropy, and evaluation-mode outputs again (the running statistics both
    sides updated twice by the training-mode passes)."""
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    Y = np.eye(10, dtype=X.dtype)[y]

    def eval_diff() -> float:
        net.eval()
        with torch.no_grad():
            return float(np.max(np.abs(model.forward(X) - net(Xt).numpy())))

    before = eval_diff()
    net.train()
    with torch.no_grad():
        train_diff = float(np.max(np.abs(model.forward(X, training=True) - net(Xt).numpy())))
    grads = [g.copy() for g in model.gradients(X, Y)]
    net.zero_grad()
    torch.nn.functional.nll_loss(torch.log(net(Xt)), yt).backward()
    grad_diff = max(float(np.max(np.abs(g - p.grad.numpy()))) for g, p in
                    zip(grads, net.parameters(), strict=True))  # fmt: skip
    return {"batch": len(X), "dtype": str(X.dtype), "max_abs_diff_output_eval": before,
            "max_abs_diff_output_train": train_diff, "max_abs_diff_grad": grad_diff,
            "max_abs_grad": max(float(np.max(np.abs(g))) for g in grads),
            "max_abs_diff_output_eval_after": eval_diff()}  # fmt: skip


def lr_at(step: int, steps_per_epoch: int, total: int) -> float:
    if step < steps_per_epoch:
        return LR * (step + 1) / steps_per_epoch
    progress = (step - steps_per_epoch) / max(1, total - steps_per_epoch)
    return 0.5 * LR * (1 + math.cos(math.pi * progress))


def augment_batch(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    images = X[:, 0]
    images = dc.data.random_shift(images, PAD, rng)
    images = dc.data.random_flip(images, 0.5, rng)
    return images[:, None]


def run(arch: str, aug: bool, seed: int, epochs: int, data) -> dict:
    import torch

    from dlcourse.torchlayers import layers_to_module

    X, y, X_test, y_test = data
    model = BUILDERS[arch](seed=seed, dtype="float32")
    cost = summary(model, (1, 28, 28))
    net = layers_to_module(model)
    check = parity(model, net, X[:64], y[:64])
    body = net[:-1]  # logits: the final Softmax is folded into cross_entropy
    opt = torch.optim.SGD(body.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True,
                          weight_decay=WEIGHT_DECAY)  # fmt: skip
    rng = np.random.default_rng(seed)
    steps_per_epoch = -(-len(X) // BATCH)
    total, step, rows = epochs * steps_per_epoch, 0, []
    yt, Xv = torch.from_numpy(y.astype(np.int64)), torch.from_numpy(X_test)
    print(
        f"{arch}{'+aug' if aug else ''} seed {seed}: {cost.params} parameters, "
        f"{cost.mult_adds} multiply-adds; parity {check}",
        flush=True,
    )
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X))
        start = time.process_time()
        wall = time.perf_counter()
        body.train()
        for k in range(0, len(X), BATCH):
            idx = order[k : k + BATCH]
            xb = augment_batch(X[idx], rng) if aug else X[idx]
            for group in opt.param_groups:
                group["lr"] = lr_at(step, steps_per_epoch, total)
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(body(torch.from_numpy(xb)), yt[idx]).backward()
            opt.step()
            step += 1
        cpu_s, wall_s = time.process_time() - start, time.perf_counter() - wall
        body.eval()
        with torch.no_grad():
            pred = torch.cat([body(Xv[i : i + 2000]).argmax(1) for i in range(0, len(Xv), 2000)])
        acc = float((pred.numpy() == y_test).mean())
        rows.append({"epoch": epoch, "train_cpu_s": cpu_s, "train_wall_s": wall_s,
                     "test_accuracy": acc})  # fmt: skip
        print(f"  epoch {epoch}: {cpu_s:.0f} s CPU, test {acc:.2%}", flush=True)
    return {"arch": arch, "augmentation": aug, "seed": seed, "epochs": epochs,
            "params": cost.params, "mult_adds": cost.mult_adds, "parity": check,
            "train_cpu_s": sum(r["train_cpu_s"] for r in rows),
            "test_accuracy": rows[-1]["test_accuracy"], "history": rows}  # fmt: skip


_HEAD = re.compile(
    r"^(\w+)(\+aug)? seed (\d+): (\d+) parameters, (\d+) multiply-adds; parity (.*)$"
)
_EPOCH = re.compile(r"^\s+epoch (\d+): ([\d.]+) s CPU, test ([\d.]+)%")


def runs_from_log(text: str, epochs: int) -> list[dict]:
    """The runs a process printed (see ``--from-log``); unfinished ones marked partial."""
    runs: list[dict] = []
    for line in text.splitlines():
        if hit := _HEAD.match(line):
            arch, aug, seed, params, macs, check = hit.groups()
            runs.append({"arch": arch, "augmentation": bool(aug), "seed": int(seed),
                         "params": int(params), "mult_adds": int(macs),
                         "parity": ast.literal_eval(check), "history": []})  # fmt: skip
        elif (hit := _EPOCH.match(line)) and runs:
            epoch, cpu_s, acc = hit.groups()
            runs[-1]["history"].append({"epoch": int(epoch), "train_cpu_s": float(cpu_s),
                                        "test_accuracy": float(acc) / 100})  # fmt: skip
    out = []
    for run in runs:
        if not run["history"]:
            continue
        run["epochs"] = len(run["history"])
        if run["epochs"] < epochs:
            run["partial"], run["epochs_planned"] = True, epochs
        run["train_cpu_s"] = sum(h["train_cpu_s"] for h in run["history"])
        run["test_accuracy"] = run["history"][-1]["test_accuracy"]
        out.append(run)
    return out


def table(runs: list[dict]) -> dict:
    """Per configuration (``lenet5``, ``resnet+aug``...): mean/std/each seed's accuracy."""
    out: dict[str, dict] = {}
    for r in runs:
        key = r["arch"] + ("+aug" if r["augmentation"] else "")
        out.setdefault(key, {"seeds": [], "test_accuracy_per_seed": [], "train_cpu_s": [],
                             "epochs": r["epochs"], "params": r["params"],
                             "mult_adds": r["mult_adds"]})  # fmt: skip
        out[key]["seeds"].append(r["seed"])
        out[key]["test_accuracy_per_seed"].append(r["test_accuracy"])
        out[key]["train_cpu_s"].append(r["train_cpu_s"])
        out[key]["epochs"] = min(out[key]["epochs"], r["epochs"])
        out[key]["partial"] = out[key].get("partial", False) or bool(r.get("partial"))
    for row in out.values():
        accs = row["test_accuracy_per_seed"]
        row["test_accuracy_mean"] = float(np.mean(accs))
        row["test_accuracy_std"] = float(np.std(accs))
    return out


def payload(runs: list[dict], quick: bool, note: str) -> dict:
    import torch

    return {"benchmark": "bench_modern_cnn.py", "training": TRAINING,
            "augmentation": AUGMENTATION, "framework": f"torch {torch.__version__}, 1 thread, "
            "networks converted from dlcourse.layers (dlcourse.torchlayers)",
            "n_train": 60000 if not quick else 6000, "n_test": 10000, "quick": quick,
            "note": note, "table": table(runs), "runs": runs}  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["lenet5", "vgg", "resnet", "resnet+aug"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="1 epoch on 6,000 images")
    parser.add_argument("--out", default=None, help="results name (default modern_cnn)")
    parser.add_argument("--note", default="", help="recorded in the JSON (e.g. the shortfall)")
    parser.add_argument("--merge", nargs="+", help="combine result files of separate parts")
    parser.add_argument("--from-log", type=Path, help="rebuild the runs of a stopped process")
    args = parser.parse_args(argv)
    if args.out is not None:
        try:
            check_name(args.out)
        except ValueError as err:
            parser.error(str(err))
    if args.from_log:
        runs = runs_from_log(args.from_log.read_text(), args.epochs)
        data = payload(runs, False, args.note)
        data["source"] = f"printed lines of a stopped process ({args.from_log.name})"
        print(save(args.out or NAME, data))
        return
    if args.merge:
        parts = [json.loads(Path(p).read_text()) for p in args.merge]
        runs = [r for p in parts for r in p["runs"]]
        data = payload(runs, any(p["quick"] for p in parts), args.note or parts[0]["note"])
        data["merged_from"] = [Path(p).name for p in args.merge]
        print(save(args.out or NAME, data))
        return
    import torch

    torch.set_num_threads(1)
    fashion = dc.data.load_mnist("fashion", dtype="float32", progress=False)
    X, y = fashion.X_train.reshape(-1, 1, 28, 28), np.asarray(fashion.y_train)
    X_test, y_test = fashion.X_test.reshape(-1, 1, 28, 28), np.asarray(fashion.y_test)
    if args.quick:
        X, y, args.epochs = X[:6000], y[:6000], 1
    name = args.out or (f"{NAME}_quick" if args.quick else NAME)
    runs = []
    for spec in args.runs:
        arch, _, extra = spec.partition("+")
        if arch not in BUILDERS or extra not in ("", "aug"):
            raise SystemExit(f"unknown run {spec!r}; expected one of {list(BUILDERS)}, "
                             "optionally with +aug")  # fmt: skip
        for seed in args.seeds:
            runs.append(run(arch, extra == "aug", seed, args.epochs, (X, y, X_test, y_test)))
            save(name, payload(runs, args.quick, args.note))
    print(json.dumps(payload(runs, args.quick, args.note)["table"], indent=1))


if __name__ == "__main__":
    main()

"""``dlcourse train``: train a ``Network`` on a data set from the command line.

The defaults are a good digits run: ``dlcourse train --data digits --sizes 64,100,10
--optimizer adam --lr 1e-3 --epochs 30`` trains a ReLU network (He initialisation, softmax
output with cross-entropy, mini-batches of 16) on the standardised pixels of the training
and validation parts and prints the test accuracy (about 97 % in a few seconds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from dlcourse.cli.resume import Interrupted, check_resume, interrupted_message, run_settings
from dlcourse.preprocessing import fit_preprocessing

HELP = "train a network from the command line"
DATA_SETS = ("digits", "mnist", "fashion", "xor", "moons", "circles", "spirals")
DESCRIPTION = __doc__.split("\n\n", 1)[1].replace("``", "")  # --help is plain text


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register every flag of ``dlcourse train`` on ``p`` (each with its help text)."""
    from dlcourse.activations import ACTIVATIONS
    from dlcourse.costs import COSTS
    from dlcourse.init import INITIALIZERS
    from dlcourse.optim import OPTIMIZERS
    from dlcourse.schedules import SCHEDULES

    p.description = DESCRIPTION
    p.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    add = p.add_argument
    add("--data", default="digits", choices=DATA_SETS, help="data set to train on")
    add(
        "--sizes",
        type=_sizes,
        default=None,
        help="layer widths n_0,...,n_L, e.g. 64,100,10; None: inputs,100,classes",
    )
    add(
        "--activation",
        default="relu",
        choices=sorted(set(ACTIVATIONS) - {"softmax"}),
        help="hidden activation",
    )
    add(
        "--output",
        default="softmax",
        choices=("softmax", "sigmoid", "identity"),
        help="output activation",
    )
    add("--cost", default="cross_entropy", choices=sorted(COSTS), help="cost function")
    add("--init", default="he", choices=sorted(INITIALIZERS), help="weight initialisation")
    add("--optimizer", default="adam", choices=sorted(OPTIMIZERS), help="optimiser")
    add("--lr", type=float, default=1e-3, help="learning rate η")
    add("--momentum", type=float, default=0.0, help="momentum (sgd, rmsprop only)")
    add("--epochs", type=int, default=30, help="number of epochs (in total, with --resume)")
    add("--batch-size", type=int, default=16, help="mini-batch size m")
    add("--l2", type=float, default=0.0, help="L2 strength λ (Nielsen's λ/2n Σw²)")
    add(
        "--schedule",
        default="none",
        choices=("none", *sorted(SCHEDULES.keys() - {"warmup"})),
        help="learning-rate schedule, stepped once per epoch (cosine: T_max = epochs)",
    )
    add("--seed", type=int, default=0, help="seed of initialisation, shuffling and data split")
    add("--dtype", default="float64", choices=("float64", "float32"), help="floating point type")
    add(
        "--device",
        default=None,
        help="None: NumPy; auto, cpu, cuda, cuda:N or mps: PyTorch on that device",
    )
    add(
        "--backend",
        default="numpy",
        choices=("numpy", "torch"),
        help="numpy: dlcourse's BP1-BP4 training loop (on --device if given); torch: "
        "idiomatic PyTorch (nn.Sequential, DataLoader, torch.optim) via dlcourse.torchnet",
    )
    add(
        "--validate",
        action="store_true",
        help="hold the validation part out and report its accuracy every epoch "
        "(by default it is added to the training data)",
    )
    add(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="feed raw [0, 1] inputs instead of (x - mean) / (std + 0.1) per feature",
    )
    add(
        "--checkpoint",
        metavar="DIR",
        default=None,
        help="write DIR/checkpoint.npz (atomically) every --checkpoint-every epochs",
    )
    add("--checkpoint-every", type=int, default=1, metavar="N", help="epochs between checkpoints")
    add(
        "--resume",
        metavar="FILE",
        default=None,
        help="continue from a checkpoint of dlcourse train --checkpoint DIR; the flags that "
        "decide the run must be the same (--epochs may grow, except with --schedule cosine)",
    )
    add("--save", metavar="FILE", default=None, help="save the trained network (.npz)")
    add("--no-progress", dest="progress", action="store_false",
        help="print only the final accuracy (no progress bar or per-epoch lines)")  # fmt: skip


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 64,100,10; got {text!r}"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected at least two positive widths such as 64,100,10; got {text!r}"
        )
    return sizes


def _load(name: str, seed: int):
    from dlcourse import data

    if name == "digits":
        return data.load_digits(seed=seed)
    if name in ("mnist", "fashion"):
        return data.load_mnist(name, split="nielsen")
    return getattr(data, name)(seed=seed)


class _EpochPrinter:
    """Callback printing one line per epoch (used when no progress bar is shown)."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_epoch_end(self, model, epoch, history) -> bool:
        line = (
            f"epoch {epoch:>{len(str(self.epochs))}}/{self.epochs}  "
            f"cost {history.train_cost[-1]:.4g}  acc {history.train_accuracy[-1]:.3f}"
        )
        if not np.isnan(history.val_accuracy[-1]):
            line += f"  val_acc {history.val_accuracy[-1]:.3f}"
        print(line + f"  lr {history.lr[-1]:.3g}  {history.time[-1]:.2f} s", flush=True)
        return False


def _check(args) -> None:
    for name in ("epochs", "batch_size", "checkpoint_every"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} must be a positive integer; got {getattr(args, name)}")
    if args.resume is not None and not Path(args.resume).is_file():
        raise FileNotFoundError(f"--resume: no checkpoint file {args.resume}")


def train_network(args: argparse.Namespace) -> float:
    """Run the training that ``args`` describe; print progress and return the test accuracy."""
    from dlcourse.network import Network
    from dlcourse.optim import get_optimizer
    from dlcourse.saving import Checkpoint
    from dlcourse.schedules import get_schedule
    from dlcourse.train import is_interactive

    _check(args)
    ds = _load(args.data, args.seed)
    X_train, y_train, X_test = ds.X_train, ds.y_train, ds.X_test
    validation = None
    if ds.X_val is not None:
        if args.validate:
            validation = (ds.X_val, ds.y_val)
        else:
            X_train = np.concatenate([X_train, ds.X_val])
            y_train = np.concatenate([y_train, ds.y_val])
    if args.standardize:  # (x − μ) / (σ + 0.1): the larger eps spares near-constant pixels
        standardise = fit_preprocessing(X_train, "standardise", eps=0.1).transform
        X_train, X_test = standardise(X_train), standardise(X_test)
        if validation is not None:
            validation = (standardise(validation[0]), validation[1])
    n_in, k = X_train.shape[1], int(max(y_train.max(), ds.y_test.max())) + 1
    sizes = args.sizes or [n_in, 100, k]
    if sizes[0] != n_in or sizes[-1] != k:
        raise ValueError(
            f"--sizes {','.join(map(str, sizes))} does not fit --data {args.data}: it has "
            f"{n_in} inputs and {k} classes, so the sizes must start with {n_in} and end with {k}"
        )
    settings = run_settings(args, sizes)
    if args.resume is not None:
        check_resume(args.resume, settings)
    architecture = (sizes, args.activation, args.output, args.cost, args.init, args.dtype)
    net = Network(*architecture, device=args.device, seed=args.seed)
    options = {"lr": args.lr}
    if args.momentum:
        if args.optimizer not in ("sgd", "rmsprop"):
            raise ValueError(
                f"--momentum applies to sgd and rmsprop; got --optimizer {args.optimizer}"
            )
        options["momentum"] = args.momentum
    optimizer = get_optimizer(args.optimizer, **options)
    callbacks: list = []
    if args.schedule != "none":
        extra = {"T_max": args.epochs} if args.schedule == "cosine" else {}
        callbacks.append(get_schedule(args.schedule, optimizer, **extra))
    if args.checkpoint is not None:
        path = Path(args.checkpoint) / "checkpoint.npz"
        callbacks.append(Checkpoint(path, every=args.checkpoint_every, settings=settings))
    if args.progress and not is_interactive():
        callbacks.append(_EpochPrinter(args.epochs))
    plan = f"{args.optimizer} lr={args.lr:g}, batch size {args.batch_size}, {args.epochs} epochs"
    print(f"training {net} on {args.data}: {len(X_train)} examples, {plan}", flush=True)
    start = time.perf_counter()
    if args.backend == "torch":  # idiomatic PyTorch; the trained weights return to net
        from dlcourse.torchnet import fit_network

        for flag, value in (
            ("--schedule", args.schedule != "none"),
            ("--checkpoint", args.checkpoint),
            ("--resume", args.resume),
        ):
            if value:
                raise ValueError(f"{flag} works with --backend numpy only")
        fit_network(
            net,
            X_train,
            y_train,
            args.epochs,
            args.batch_size,
            args.optimizer,
            args.lr,
            args.momentum,
            args.l2,
            validation=validation,
            callbacks=callbacks,
            progress=args.progress,
            seed=args.seed,
        )
    else:
        try:
            net.fit(X_train, y_train, args.epochs, args.batch_size, optimizer, l2=args.l2,
                    validation=validation, callbacks=callbacks, progress=args.progress,
                    resume=args.resume)  # fmt: skip
        except KeyboardInterrupt:
            saved = [p for c in callbacks if isinstance(c, Checkpoint) for p in c.saved]
            raise Interrupted(saved[-1] if saved else args.resume) from None
    seconds = time.perf_counter() - start
    accuracy = net.evaluate(X_test, ds.y_test)
    correct = round(accuracy * len(X_test))
    print(f"test accuracy: {100 * accuracy:.1f} % ({correct}/{len(X_test)}) "
          f"after {seconds:.1f} s of training")  # fmt: skip
    if args.checkpoint is not None:
        print(f"checkpoint: {Path(args.checkpoint) / 'checkpoint.npz'}")
    if args.save:
        print(f"saved: {net.save(args.save)}")
    return accuracy


def flag_defaults() -> dict:
    """Every flag of ``dlcourse train`` (by dest, in order) with its default value."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return vars(parser.parse_args([]))


def run(args: argparse.Namespace) -> int:
    """Entry point of the subcommand: 0 on success, 2 with a clear message on bad input, 130
    after Ctrl-C (with the command that continues the run from its last checkpoint)."""
    try:
        train_network(args)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as err:
        print(f"dlcourse train: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # before training, too: then from the --resume file
        resume_from = err.resume_from if isinstance(err, Interrupted) else args.resume
        print(interrupted_message(args, resume_from, flag_defaults()), file=sys.stderr, flush=True)
        return 130
    return 0


__all__ = ["add_arguments", "flag_defaults", "run", "train_network"]

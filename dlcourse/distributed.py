"""``torchrun ... -m dlcourse.distributed``: data-parallel training of a ``Network`` from the
command line, with DistributedDataParallel.

One machine, N processes (one per GPU, or N CPU processes with the gloo backend)::

    torchrun --nproc_per_node=2 -m dlcourse.distributed --data digits --sizes 64 30 10 \\
        --epochs 10 --batch-size 32 --lr 0.5 --checkpoint digits.npz

Every process builds the same ``Network`` (same ``--seed``), turns it into an
``nn.Sequential`` (:func:`dlcourse.torchnet.to_module`) and trains it with
:func:`dlcourse.torchnet.fit_torch` and ``distributed=True``: a ``DistributedSampler`` gives
each of the N ranks its own ``1/N`` of every epoch's shuffled rows, and after ``backward``
DDP averages the gradients over the ranks (an all-reduce), so one step with
``--batch-size b`` on N ranks is one step of plain SGD on the combined batch of ``N·b``
rows. Only rank 0 prints and writes the checkpoint (a ``Network`` ``.npz``, written
atomically). The backend is nccl on GPUs and gloo on CPUs. This module only parses the
command line and prints; the loop is ``fit_torch``'s.

Several machines: start the same command on every node, with the node count and a
rendezvous point that all of them can reach (here node ``node0`` port 29400)::

    torchrun --nnodes=2 --nproc_per_node=4 --rdzv-id=digits-1 --rdzv-backend=c10d \\
        --rdzv-endpoint=node0:29400 -m dlcourse.distributed --data digits ...

``--nnodes=MIN:MAX`` makes the job elastic. The process group is created with a timeout
(``--timeout``, seconds), so a rank that dies makes the others fail instead of waiting
forever in an all-reduce, and torchrun then stops the job with a non-zero exit status.
Run without torchrun (``python -m dlcourse.distributed ...``) it trains as a single process.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.distributed as dist

from dlcourse._validation import one_hot
from dlcourse.backend import get_device
from dlcourse.network import Network
from dlcourse.torchnet import fit_torch, from_module, init_process_group, network_cost, to_module

DATASETS = ("digits",)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="torchrun --nproc_per_node=N -m dlcourse.distributed",
        description="Train a Network with DistributedDataParallel (one process per rank).",
    )
    p.add_argument("--data", choices=DATASETS, default="digits", help="training data")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 30, 10], help="layer widths")
    p.add_argument("--activation", default="sigmoid", help="hidden activation")
    p.add_argument("--output", default="softmax", help="output activation")
    p.add_argument("--cost", default="cross_entropy", help="Network cost")
    p.add_argument("--init", default="nielsen", help="initialiser")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32, help="rows per rank and step")
    p.add_argument("--lr", type=float, default=0.5, help="SGD learning rate")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--seed", type=int, default=0, help="initialisation, split and shuffling")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (rank r: cuda:LOCAL_RANK)")
    p.add_argument("--timeout", type=float, default=60.0, help="collective timeout, seconds")
    p.add_argument("--checkpoint", help="write the trained Network here (.npz, rank 0)")
    p.add_argument(
        "--log-every",
        type=int,
        default=0,
        help="rank 0 prints the training-set cost every this many steps (0: never)",
    )
    return p


def _device(name: str):
    """This rank's device: ``cuda:LOCAL_RANK`` for a CUDA run, else the named device."""
    device = get_device(name)
    if device.type == "cuda":
        device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
        torch.cuda.set_device(device)
    return device


class _Log:
    """Rank 0's lines: the training cost every ``every`` steps (and before the first), each
    epoch's cost and accuracy, and the time per step."""

    def __init__(self, cost, X, Y, every: int, rank: int):
        self.cost, self.X, self.Y, self.every, self.rank = cost, X, Y, every, rank
        self.steps, self.seconds = 0, 0.0

    def training_cost(self, module) -> float:
        with torch.no_grad():
            return float(self.cost(module(self.X), self.Y))

    def on_train_begin(self, module, history):
        if self.rank == 0 and self.every > 0:
            print(f"step 0: training cost {self.training_cost(module):.17g}", flush=True)

    def on_step_end(self, module, step, seconds):
        self.steps, self.seconds = step, self.seconds + seconds
        if self.rank == 0 and self.every > 0 and step % self.every == 0:
            print(f"step {step}: training cost {self.training_cost(module):.17g}", flush=True)

    def on_epoch_end(self, module, epoch, history):
        if self.rank == 0:
            cost, acc = history.train_cost[-1], history.train_accuracy[-1]
            print(f"epoch {epoch}: steps {self.steps}, cost {cost:.4g}, accuracy {acc:.3f}",
                  flush=True)  # fmt: skip


def train_rank(args: argparse.Namespace, callbacks=()) -> Network | None:
    """Run one rank of the job described by ``args`` (``callbacks`` go to ``fit_torch``);
    rank 0 returns the trained Network."""
    from dlcourse.data import load_digits

    device = _device(args.device)
    rank, world = init_process_group(device, args.timeout)
    try:
        data = load_digits(seed=args.seed, dtype=args.dtype)
        X, y = data.X_train, data.y_train
        net = Network(args.sizes, args.activation, args.output, args.cost, args.init,
                      args.dtype, seed=args.seed)  # fmt: skip
        if X.shape[1] != net.sizes[0]:
            raise ValueError(f"--sizes starts with {net.sizes[0]}; {args.data} has {X.shape[1]}")
        module = to_module(net, device)
        Y = torch.as_tensor(one_hot(y, net.sizes[-1], X.dtype), device=device)
        log = _Log(network_cost(args.cost), torch.as_tensor(X, device=device), Y,
                   args.log_every, rank)  # fmt: skip
        fit_torch(module, X, y, args.epochs, args.batch_size, lr=args.lr, cost=args.cost,
                  device=device, callbacks=(log, *callbacks), progress=False, seed=args.seed,
                  distributed=True, max_steps=args.max_steps)  # fmt: skip
        if rank != 0:
            return None
        print(f"time per step: {1e3 * log.seconds / max(log.steps, 1):.4g} ms over {log.steps} "
              f"steps (world size {world})", flush=True)  # fmt: skip
        trained = from_module(module, cost=args.cost, seed=args.seed)
        if args.checkpoint:
            trained.save(args.checkpoint)  # atomic: temporary file + rename
            print(f"saved {args.checkpoint} (world size {world})", flush=True)
        return trained
    finally:
        dist.destroy_process_group()


def main(argv: list[str] | None = None, callbacks=()) -> int:
    """The ``torchrun ... -m dlcourse.distributed`` entry point; ``callbacks`` go to
    ``fit_torch`` on every rank."""
    train_rank(build_parser().parse_args(argv), callbacks)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel training with ``torch.distributed``: DistributedDataParallel launched by torchrun.

One machine, N processes (one per GPU, or N CPU processes with the gloo backend)::

    torchrun --nproc_per_node=2 -m dlcourse.distributed --data digits --sizes 64 30 10 \\
        --epochs 10 --batch-size 32 --lr 0.5 --checkpoint digits.npz

Every process builds the same ``Network`` (same ``--seed``), turns it into an
``nn.Sequential`` (:func:`dlcourse.torchnet.to_module`) and wraps it in
``DistributedDataParallel``. A ``DistributedSampler`` gives each of the N ranks its own
``1/N`` of every epoch's shuffled rows; after ``backward`` DDP averages the gradients over
the ranks (an all-reduce), so one step with ``--batch-size b`` on N ranks is one step of
plain SGD on the combined batch of ``N·b`` rows. Only rank 0 prints and writes the
checkpoint (a ``Network`` ``.npz``, written atomically). The backend is nccl on GPUs and
gloo on CPUs.

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
import socket
import sys
import time
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dlcourse._validation import one_hot
from dlcourse.backend import get_device
from dlcourse.network import Network
from dlcourse.torchnet import from_module, network_cost, to_module

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
    p.add_argument("--fail-rank", type=int, default=None, help="testing: this rank crashes")
    return p


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _device(name: str):
    """This rank's device: ``cuda:LOCAL_RANK`` for a CUDA run, else the named device."""
    device = get_device(name)
    if device.type == "cuda":
        device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
        torch.cuda.set_device(device)
    return device


def _init_process_group(device, timeout: float) -> tuple[int, int]:
    """Join the process group torchrun describes (env vars), or form a group of one."""
    backend = "nccl" if device.type == "cuda" else "gloo"
    kwargs = {"backend": backend, "timeout": timedelta(seconds=timeout)}
    if "RANK" not in os.environ:  # plain `python -m dlcourse.distributed`
        kwargs.update(init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    dist.init_process_group(**kwargs)
    return dist.get_rank(), dist.get_world_size()


def _load(name: str, seed: int, dtype: str):
    from dlcourse.data import load_digits

    data = load_digits(seed=seed, dtype=dtype)
    return data.X_train, data.y_train


def train(args: argparse.Namespace) -> Network | None:
    """Run one rank of the job described by ``args``; rank 0 returns the trained Network."""
    device = _device(args.device)
    rank, world = _init_process_group(device, args.timeout)
    try:
        X, y = _load(args.data, args.seed, args.dtype)
        net = Network(args.sizes, args.activation, args.output, args.cost, args.init,
                      args.dtype, seed=args.seed)  # fmt: skip
        if X.shape[1] != net.sizes[0]:
            raise ValueError(f"--sizes starts with {net.sizes[0]}; {args.data} has {X.shape[1]}")
        module = to_module(net, device)
        ddp = DistributedDataParallel(
            module, device_ids=[device] if device.type == "cuda" else None
        )
        Y = one_hot(y, net.sizes[-1], X.dtype)
        dataset = TensorDataset(torch.as_tensor(X), torch.as_tensor(Y))
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, seed=args.seed)
        loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr)
        cost = network_cost(args.cost)
        steps, step_seconds = 0, 0.0

        def training_cost() -> float:
            with torch.no_grad():
                A = module(torch.as_tensor(X, device=device))
                return float(cost(A, torch.as_tensor(Y, device=device)))

        if rank == 0 and args.log_every > 0:
            print(f"step 0: training cost {training_cost():.17g}", flush=True)
        for epoch in range(1, args.epochs + 1):
            sampler.set_epoch(epoch - 1)
            for xb, yb in loader:
                start = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                loss = cost(ddp(xb.to(device)), yb.to(device))
                loss.backward()  # DDP all-reduces (averages) the gradients across ranks here
                optimizer.step()
                step_seconds += time.perf_counter() - start
                steps += 1
                if rank == 0 and args.log_every > 0 and steps % args.log_every == 0:
                    print(f"step {steps}: training cost {training_cost():.17g}", flush=True)
                if args.fail_rank == rank:
                    raise RuntimeError(f"rank {rank}: injected failure (--fail-rank) at step 1")
                if args.max_steps is not None and steps >= args.max_steps:
                    break
            if rank == 0:
                with torch.no_grad():
                    A = module(torch.as_tensor(X, device=device))
                    c = float(cost(A, torch.as_tensor(Y, device=device)))
                    acc = float((A.argmax(dim=1).cpu().numpy() == y).mean())
                print(f"epoch {epoch}: steps {steps}, cost {c:.4g}, accuracy {acc:.3f}", flush=True)
            if args.max_steps is not None and steps >= args.max_steps:
                break
        if rank != 0:
            return None
        print(f"time per step: {1e3 * step_seconds / max(steps, 1):.4g} ms over {steps} steps "
              f"(world size {world})", flush=True)  # fmt: skip
        trained = from_module(module, cost=args.cost, seed=args.seed)
        if args.checkpoint:
            trained.save(args.checkpoint)  # atomic: temporary file + rename
            print(f"saved {args.checkpoint} (world size {world})", flush=True)
        return trained
    finally:
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

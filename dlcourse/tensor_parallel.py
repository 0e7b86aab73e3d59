"""Tensor parallelism of one linear layer across processes (Chapter 15).

A linear layer ``Y = X Wᵀ + b`` (X: (m, n_in), W: (n_out, n_in), b: (n_out,)) can be cut
over N ranks in two ways, the two halves of the split used by Megatron-LM
(eq. ``eq-tp-column`` and ``eq-tp-row``):

- **column-parallel** (:class:`ColumnParallelLinear`): rank r holds the rows
  ``W_r = W[out_r]`` and ``b_r = b[out_r]`` of a block ``out_r`` of n_out / N outputs and
  computes ``Y_r = X W_rᵀ + b_r``; an *all-gather* joins the blocks into Y. Backwards,
  ``∂C/∂W_r = (∂C/∂Y_r)ᵀ X`` and ``∂C/∂b_r`` need nothing from the other ranks, but
  ``∂C/∂X = Σ_r (∂C/∂Y_r) W_r`` is a sum over the ranks: an *all-reduce*.
- **row-parallel** (:class:`RowParallelLinear`): rank r holds the columns
  ``W[:, in_r]`` for a block ``in_r`` of n_in / N inputs and computes the partial product
  ``X[:, in_r] W[:, in_r]ᵀ``; an all-reduce sums the partial products, then every rank adds
  b. Backwards, ``∂C/∂W[:, in_r] = (∂C/∂Y)ᵀ X[:, in_r]`` is local, and the gradients of the
  input blocks are joined by one more all-reduce.

Each rank stores 1/N of W and does 1/N of the multiply-adds; the price is one collective
operation forwards and one backwards. The collectives are written as three
``torch.autograd.Function`` s whose backward pass is the dual collective, so
``loss.backward()`` works unchanged. :func:`check_tensor_parallel` starts N gloo processes
on 127.0.0.1 and compares outputs and gradients with one process.
"""

from __future__ import annotations

import socket

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ColumnParallelLinear",
    "RowParallelLinear",
    "check_tensor_parallel",
    "copy_to_ranks",
    "gather_columns",
    "sum_over_ranks",
]

KINDS = ("column", "row")


class _CopyToRanks(torch.autograd.Function):
    """Forward: the identity (every rank already holds X). Backward: all-reduce (sum)."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class _SumOverRanks(torch.autograd.Function):
    """Forward: all-reduce (sum of the partial products). Backward: the identity."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad


class _GatherColumns(torch.autograd.Function):
    """Forward: all-gather the ranks' column blocks. Backward: keep this rank's block."""

    @staticmethod
    def forward(ctx, y):
        blocks = [torch.empty_like(y) for _ in range(dist.get_world_size())]
        dist.all_gather(blocks, y.contiguous())
        ctx.width, ctx.rank = y.shape[-1], dist.get_rank()
        return torch.cat(blocks, dim=-1)

    @staticmethod
    def backward(ctx, grad):
        start = ctx.rank * ctx.width
        return grad[..., start : start + ctx.width].contiguous()


def copy_to_ranks(x: torch.Tensor) -> torch.Tensor:
    """X unchanged; its gradient becomes the sum of the ranks' gradients."""
    return _CopyToRanks.apply(x)


def sum_over_ranks(x: torch.Tensor) -> torch.Tensor:
    """The sum of x over the ranks (all-reduce); the gradient passes through."""
    return _SumOverRanks.apply(x)


def gather_columns(y: torch.Tensor) -> torch.Tensor:
    """(m, k) on each of N ranks -> (m, N k), rank 0's columns first."""
    return _GatherColumns.apply(y)


def _block(n: int, rank: int, world_size: int, what: str) -> slice:
    if n % world_size:
        raise ValueError(f"{what} = {n} must be divisible by the number of ranks {world_size}")
    size = n // world_size
    return slice(rank * size, (rank + 1) * size)


class ColumnParallelLinear(nn.Module):
    """This rank's block of output features of ``full`` (an ``nn.Linear``, the same on every
    rank). ``forward(x)``: x (m, n_in), the same on every rank -> the full (m, n_out)."""

    def __init__(self, full: nn.Linear, rank: int, world_size: int):
        super().__init__()
        rows = _block(full.out_features, rank, world_size, "out_features")
        self.weight = nn.Parameter(full.weight.detach()[rows].clone())
        self.bias = nn.Parameter(full.bias.detach()[rows].clone())

    def forward(self, x):
        return gather_columns(F.linear(copy_to_ranks(x), self.weight, self.bias))


class RowParallelLinear(nn.Module):
    """This rank's block of input features of ``full``; the bias is kept whole on every
    rank. ``forward(x)``: x (m, n_in), the same on every rank -> the full (m, n_out)."""

    def __init__(self, full: nn.Linear, rank: int, world_size: int):
        super().__init__()
        self.columns = _block(full.in_features, rank, world_size, "in_features")
        self.weight = nn.Parameter(full.weight.detach()[:, self.columns].clone())
        self.bias = nn.Parameter(full.bias.detach().clone())

    def forward(self, x):
        partial = F.linear(copy_to_ranks(x)[:, self.columns], self.weight)
        return sum_over_ranks(partial) + self.bias


def _problem(n_in, n_out, m, seed):
    """The layer, the input and the gradient arriving from above, the same in every process."""
    rng = np.random.default_rng(seed)
    full = nn.Linear(n_in, n_out).double()
    with torch.no_grad():
        full.weight.copy_(torch.from_numpy(rng.normal(size=(n_out, n_in))))
        full.bias.copy_(torch.from_numpy(rng.normal(size=n_out)))
    x = torch.from_numpy(rng.normal(size=(m, n_in))).requires_grad_(True)
    upstream = torch.from_numpy(rng.normal(size=(m, n_out)))  # C = sum(Y * upstream)
    return full, x, upstream


def _rank_main(rank, world_size, port, kinds, shape, seed, queue):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)  # fmt: skip
    try:
        torch.set_num_threads(1)
        for kind in kinds:
            full, x, upstream = _problem(*shape, seed)
            cls = ColumnParallelLinear if kind == "column" else RowParallelLinear
            layer = cls(full, rank, world_size)
            y = layer(x)
            (y * upstream).sum().backward()
            queue.put((kind, rank, {"y": y.detach().numpy(), "grad_x": x.grad.numpy(),
                                    "grad_weight": layer.weight.grad.numpy(),
                                    "grad_bias": layer.bias.grad.numpy(),
                                    "weight_shape": tuple(layer.weight.shape)}))  # fmt: skip
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_tensor_parallel(kinds=KINDS, world_size: int = 2, n_in: int = 6, n_out: int = 4,
                          m: int = 5, seed: int = 0) -> dict:  # fmt: skip
    """Run one linear layer split over ``world_size`` gloo processes and compare with one.

    Every process builds the same float64 layer (n_in -> n_out), input X (m, n_in) and
    upstream gradient G (m, n_out) from ``seed``, applies its :class:`ColumnParallelLinear`
    (kind ``"column"``) and/or :class:`RowParallelLinear` (kind ``"row"``) block and
    back-propagates ``C = Σ Y ⊙ G``. Returns, for each kind in ``kinds``, the largest
    absolute differences from the single-process ``nn.Linear`` of the output (``"y"``, every
    rank), ``"grad_x"`` (every rank), ``"grad_weight"`` (the ranks' blocks put together) and
    ``"grad_bias"``, and the shape of each rank's weight block (``"weight_shapes"``).
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not kinds or any(kind not in KINDS for kind in kinds):
        raise ValueError(f"kinds must be some of {KINDS}; got {kinds!r}")
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive integer; got {world_size!r}")
    for kind in kinds:
        n, what = (n_out, "out_features") if kind == "column" else (n_in, "in_features")
        _block(n, 0, world_size, what)
    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    arguments = (world_size, _free_port(), kinds, (n_in, n_out, m), seed, queue)
    mp.start_processes(_rank_main, args=arguments, nprocs=world_size, start_method="spawn")
    parts = {}
    for _ in range(world_size * len(kinds)):
        kind, rank, part = queue.get()
        parts[kind, rank] = part
    return {kind: _compare(kind, [parts[kind, r] for r in range(world_size)], n_in, n_out, m,
                           seed) for kind in kinds}  # fmt: skip


def _compare(kind, ranks, n_in, n_out, m, seed) -> dict:
    full, x, upstream = _problem(n_in, n_out, m, seed)
    y = full(x)
    (y * upstream).sum().backward()

    def gap(a, b):
        return float(np.max(np.abs(np.asarray(a) - b.detach().numpy())))

    axis = 0 if kind == "column" else 1
    grad_weight = np.concatenate([p["grad_weight"] for p in ranks], axis=axis)
    if kind == "column":  # each rank holds the gradient of its block of the bias
        grad_bias = gap(np.concatenate([p["grad_bias"] for p in ranks]), full.bias.grad)
    else:  # every rank holds the whole bias and must hold its whole gradient
        grad_bias = max(gap(p["grad_bias"], full.bias.grad) for p in ranks)
    return {
        "y": max(gap(p["y"], y) for p in ranks),
        "grad_x": max(gap(p["grad_x"], x.grad) for p in ranks),
        "grad_weight": gap(grad_weight, full.weight.grad),
        "grad_bias": grad_bias,
        "weight_shapes": [p["weight_shape"] for p in ranks],
    }

"""Sharded data parallelism (Chapter 15): the memory arithmetic of ZeRO and FSDP.

Training a model of Ψ parameters with Adam in mixed precision keeps, per parameter,
2 bytes of bfloat16/float16 weights, 2 bytes of their gradient and K = 12 bytes of optimiser
state (a float32 master copy of the weight, Adam's two moments in float32). Plain data
parallelism (DDP) replicates all of it on each of N devices: (2 + 2 + K) Ψ bytes per device.
ZeRO (Rajbhandari et al., 2020) shards it over the N data-parallel ranks in three stages
(eq. ``eq-zero-memory``):

    stage 0 (DDP)                         (2 + 2 + K) Ψ
    stage 1: optimiser states sharded     (2 + 2) Ψ + K Ψ / N
    stage 2: + gradients sharded          2 Ψ + (2 + K) Ψ / N
    stage 3: + parameters sharded         (2 + 2 + K) Ψ / N

PyTorch names: stage 1 is ``torch.distributed.optim.ZeroRedundancyOptimizer``; stage 2 is
FSDP with ``ShardingStrategy.SHARD_GRAD_OP``; stage 3 is FSDP's ``FULL_SHARD``
(``torch.distributed.fsdp.FullyShardedDataParallel``, or ``fully_shard`` in FSDP2). The
activations, the temporary buffers and the full parameters of the one layer being computed
(which stage 3 gathers just in time) come on top and are not counted here.
"""

from __future__ import annotations

import math

__all__ = ["STAGES", "zero_memory"]

#: what each ZeRO stage shards, and PyTorch's name for it
STAGES = {
    0: "DDP: everything replicated (DistributedDataParallel)",
    1: "optimiser states sharded (ZeroRedundancyOptimizer)",
    2: "+ gradients sharded (FSDP, ShardingStrategy.SHARD_GRAD_OP)",
    3: "+ parameters sharded (FSDP FULL_SHARD, fully_shard)",
}


def zero_memory(n_params: float, n_devices: int, stage: int, param_bytes: float = 2,
                grad_bytes: float = 2, optimizer_bytes: float = 12) -> dict:  # fmt: skip
    """Bytes per device of the parameters, gradients and optimiser states of a model with
    ``n_params`` parameters trained on ``n_devices`` data-parallel ranks with ZeRO ``stage``
    0–3 (eq. ``eq-zero-memory``); ``"total"`` is their sum. The defaults are mixed-precision
    Adam (2 + 2 + 12 bytes per parameter)."""
    if not (isinstance(n_params, (int, float)) and math.isfinite(n_params) and n_params > 0):
        raise ValueError(f"n_params must be a positive number; got {n_params!r}")
    if isinstance(n_devices, bool) or not isinstance(n_devices, int) or n_devices < 1:
        raise ValueError(f"n_devices must be a positive integer; got {n_devices!r}")
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {sorted(STAGES)}; got {stage!r}")
    for name, value in (("param_bytes", param_bytes), ("grad_bytes", grad_bytes),
                        ("optimizer_bytes", optimizer_bytes)):  # fmt: skip
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a non-negative number; got {value!r}")
    n = n_devices
    memory = {
        "params": param_bytes * n_params / (n if stage >= 3 else 1),
        "grads": grad_bytes * n_params / (n if stage >= 2 else 1),
        "optimizer": optimizer_bytes * n_params / (n if stage >= 1 else 1),
    }
    memory["total"] = memory["params"] + memory["grads"] + memory["optimizer"]
    return memory

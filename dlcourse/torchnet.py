"""Bridge to idiomatic PyTorch: a ``Network`` as an ``nn.Sequential`` and back, and training
with a ``DataLoader``, ``torch.optim``, mixed precision and (optionally) ``torch.compile``.

``to_module(net)`` builds ``Linear(n_{l-1}, n_l)`` followed by the activation module for every
layer ``l = 1..L``; ``Linear`` stores ``weight`` with shape ``(n_l, n_{l-1})`` and computes
``Z = A W^T + b``, exactly the book's row form, so the weights are copied unchanged. The
output activation (sigmoid, softmax, identity) is the last module, so the module's output is
``A^L`` and :func:`network_cost` applied to it is the Network's cost: autograd through it gives
the gradients of BP1–BP4 (for softmax + cross-entropy, autograd differentiates the softmax
and the log and arrives at ``A^L − Y``, the closed form of BP1).

The course's layers (:mod:`dlcourse.layers`, including the attention-era ones) convert in
:mod:`dlcourse.torchlayers`.
"""

from __future__ import annotations

import ast
import datetime
import functools
import os
import socket
import time

import numpy as np
import torch
import torch.distributed
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from dlcourse._validation import check_positive_int, dtype_name
from dlcourse._validation import one_hot as to_one_hot
from dlcourse.activations import ACTIVATIONS
from dlcourse.backend import get_device, to_backend, to_numpy
from dlcourse.costs import get_cost
from dlcourse.metrics import output_labels
from dlcourse.network import OUTPUTS, Network
from dlcourse.train import History, run_epochs


class GeluApprox(nn.Module):
    """gelu_approx(z) = z σ(1.702 z), elementwise."""

    def forward(self, z):
        return z * torch.sigmoid(1.702 * z)


class Step(nn.Module):
    """Heaviside step: 1 for z > 0, 0 for z ≤ 0; its gradient is 0 everywhere."""

    def forward(self, z):
        return (z > 0).to(z.dtype) + 0.0 * z  # the 0·z term keeps the graph (gradient 0)


def _factory(spec: str):
    """A factory of the module ``spec`` names, e.g. ``"LeakyReLU(negative_slope=0.01)"``:
    a class of ``torch.nn`` or of this module, and keyword arguments that are literals."""
    call = ast.parse(spec, mode="eval").body
    cls = getattr(nn, call.func.id, None) or {"Step": Step, "GeluApprox": GeluApprox}[call.func.id]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    return functools.partial(cls, **kwargs)


# Registry name -> a factory of the matching module, derived from the activation table.
MODULES = {name: _factory(g.torch) for name, g in ACTIVATIONS.items() if g.torch}


def activation_name(module: nn.Module) -> str | None:
    """The registry name of an activation module, or None if it is not one we know: its type
    is a row's, with the row's arguments (a softmax along the last axis or axis 1; a softplus
    of any threshold, as the formulas agree below it)."""
    for name, factory in MODULES.items():
        if name == "swish" or type(module) is not factory.func:
            continue
        if all(
            getattr(module, k) == v or (k == "dim" and getattr(module, k) == 1) or k == "threshold"
            for k, v in factory.keywords.items()
        ):
            return name
    return None


def to_module(net: Network, device=None) -> nn.Sequential:
    """``net`` as ``nn.Sequential(Linear, g, Linear, g, ..., Linear, output)`` with identical
    weights (copies), in the network's dtype, on ``device`` (default: the network's device,
    CPU for a NumPy network). A :class:`~dlcourse.layers.Model` or layers: use
    :func:`dlcourse.torchlayers.layers_to_module` (which builds on this module)."""
    if not isinstance(net, Network):
        hint = (
            "; for a layers.Model or layers use dlcourse.torchlayers.layers_to_module"
            if type(net).__module__.startswith("dlcourse.layers")
            else ""
        )
        raise TypeError(f"to_module expects a dlcourse Network; got {type(net).__name__}{hint}")
    device = get_device(device) if device is not None else (net.device or torch.device("cpu"))
    dtype = getattr(torch, dtype_name(net.dtype))
    layers: list[nn.Module] = []
    L = len(net.weights)
    for l in range(1, L + 1):
        n_l, n_prev = net.sizes[l], net.sizes[l - 1]
        linear = nn.Linear(n_prev, n_l, device=device, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(to_numpy(net.weights[l - 1])))
            linear.bias.copy_(torch.as_tensor(to_numpy(net.biases[l - 1])))
        g = net.output if l == L else net.activation
        if g.name not in MODULES:
            raise ValueError(f"activation {g.name!r} has no torch module; known: {list(MODULES)}")
        layers += [linear, MODULES[g.name]()]
    return nn.Sequential(*layers)


def from_module(module: nn.Module, cost=None, dtype=None, device=None, seed=None) -> Network:
    """The ``Network`` with the weights of ``module``: an ``nn.Sequential`` of ``Linear``
    layers (with bias), each followed by one activation module of :data:`MODULES` (none after
    the last ``Linear`` means identity). Hidden activations must all be the same.

    ``cost`` defaults to ``"cross_entropy"`` for a softmax output, else ``"quadratic"``;
    ``dtype`` to the module's; ``device`` to None (NumPy). A DDP/compiled wrapper is unwrapped.
    """
    module = getattr(module, "module", module)  # DistributedDataParallel
    module = getattr(module, "_orig_mod", module)  # torch.compile
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"from_module expects an nn.Sequential; got {type(module).__name__}")
    linears, activations = [], []  # activations[i]: the module after linears[i], or None
    for i, child in enumerate(module):
        if isinstance(child, nn.Linear):
            if child.bias is None:
                raise ValueError(f"layer {i} is a Linear without bias; Network layers have b^l")
            linears.append(child)
            activations.append(None)
        elif not isinstance(child, nn.Identity):
            name = activation_name(child)
            if name is None:
                raise ValueError(f"module {i} ({child!r}) is not one of {list(MODULES)}")
            if not linears or activations[-1] is not None:
                raise ValueError(f"module {i} ({child!r}) does not follow a Linear layer")
            activations[-1] = name
    activations = [a or "identity" for a in activations]
    if not linears:
        raise ValueError("the module has no Linear layer")
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    for prev, lin in zip(linears, linears[1:]):
        if lin.in_features != prev.out_features:
            raise ValueError(f"Linear layers do not chain: {prev} then {lin}")
    hidden = set(activations[:-1]) or {"sigmoid"}
    if len(hidden) > 1:
        raise ValueError(f"a Network has one hidden activation; the module mixes {hidden}")
    output = activations[-1]
    if output not in OUTPUTS:
        raise ValueError(f"output activation must be one of {OUTPUTS}; the module ends in {output}")
    if cost is None:
        cost = "cross_entropy" if output == "softmax" else "quadratic"
    if dtype is None:
        dtype = dtype_name(linears[0].weight.dtype)
    net = Network(sizes, hidden.pop(), output, cost, "constant", dtype, device, seed)
    _copy_into(net, linears)
    return net


def _copy_into(net: Network, linears) -> None:
    """Copy the weights and biases of the ``Linear`` layers into ``net``'s arrays, in place
    (they stay views of the network's θ)."""
    for l, lin in enumerate(linears):
        net.weights[l][...] = to_backend(to_numpy(lin.weight.detach()), net.device, net.dtype)
        net.biases[l][...] = to_backend(to_numpy(lin.bias.detach()), net.device, net.dtype)


def network_cost(name: str):
    """The Network cost ``name`` as a torch function ``(A, Y) -> scalar``: the mean over the
    rows of the per-example cost (quadratic ½‖a − y‖², binary or categorical cross-entropy),
    the formula of :data:`dlcourse.costs.COSTS` evaluated on tensors (``Cost.mean``)."""
    cost = get_cost(name)
    if cost.mean is None:
        raise ValueError(f"cost {cost.name!r} has no array form (Cost.mean) to differentiate")
    return cost.mean


def _targets(Y, n_out: int, one_hot: bool, device, dtype):
    """Targets as a tensor on ``device``: integer labels become one-hot rows when the cost
    is a Network cost (``one_hot``)."""
    Y = torch.as_tensor(np.asarray(Y) if not isinstance(Y, torch.Tensor) else Y, device=device)
    if one_hot and Y.ndim == 1 and not Y.dtype.is_floating_point:
        Y = to_one_hot(Y, n_out, dtype, name="Y") if n_out > 1 else Y[:, None]
    return Y.to(dtype) if (one_hot or Y.dtype.is_floating_point) else Y


_AMP = {False: None, None: None, "bf16": torch.bfloat16, "fp16": torch.float16}


def fit_torch(
    module: nn.Module,
    X,
    Y,
    epochs: int,
    batch_size: int,
    lr: float | None = None,
    optimizer=None,
    cost="quadratic",
    device=None,
    amp=False,
    compile: bool = False,
    validation=None,
    callbacks=(),
    progress: bool = True,
    seed: int | None = None,
    distributed: bool = False,
    max_steps: int | None = None,
) -> History:
    """Train ``module`` the idiomatic PyTorch way; return a ``dlcourse.train.History``.

    ``X`` (m, n_0) and ``Y`` ((m, n_L) targets or (m,) labels) may be NumPy or tensors; they
    are moved to ``device`` (default: the module's) once, and a ``DataLoader`` over a
    ``TensorDataset`` serves shuffled mini-batches (order drawn from a generator seeded by
    ``seed``; whole batches are gathered at once through a ``BatchSampler``). ``cost`` is a
    Network cost name (labels are one-hot encoded) or a callable ``(output, target) ->
    scalar`` such as ``nn.CrossEntropyLoss()``. ``optimizer``: a ``torch.optim`` optimiser,
    or a factory ``params -> optimiser``; default ``torch.optim.SGD(lr=lr)``. ``amp``:
    ``"bf16"`` or ``"fp16"`` runs the forward pass under ``torch.autocast`` (fp16 with a
    gradient scaler; fp16 needs CUDA). ``compile=True`` trains ``torch.compile(module)``.

    ``distributed=True`` trains one rank of a data-parallel job whose process group is
    already formed (:func:`init_process_group`; ``torchrun`` starts the ranks): the module is
    wrapped in ``DistributedDataParallel``, a ``DistributedSampler`` (seeded by ``seed``,
    reshuffled every epoch) hands each of the N ranks its own 1/N of every epoch's rows, and
    ``batch_size`` rows per rank make one step; ``backward`` averages the gradients over the
    ranks, so a step is one step on the combined batch of N·``batch_size`` rows and every
    rank ends with the same weights, in ``module`` itself. Every rank scores the whole
    training set and runs the callbacks (a callback that writes files should ask
    ``torch.distributed.get_rank() == 0``); only rank 0 shows progress. ``max_steps`` stops
    after that many optimiser steps (the epoch ends there).

    Callbacks and history are those of :func:`dlcourse.train.fit_loop` (the model passed to
    callbacks is ``module``); a callback may also define ``on_step_end(module, step,
    seconds)``, called after every optimiser step with the steps so far and the seconds that
    step took (forward, backward and update).
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if max_steps is not None:
        max_steps = check_positive_int(max_steps, "max_steps")
    if amp not in _AMP:
        raise ValueError(f"amp must be False, 'bf16' or 'fp16'; got {amp!r}")
    first = next(module.parameters(), None)
    if first is None:
        raise ValueError("the module has no parameters to train")
    device = get_device(device) if device is not None else first.device
    if amp == "fp16" and device.type != "cuda":
        raise ValueError(f"amp='fp16' needs a CUDA device; got {device} (use amp='bf16')")
    if distributed and not torch.distributed.is_initialized():
        raise ValueError(
            "distributed=True needs a process group: call dlcourse.torchnet.init_process_group"
            " first (torchrun sets the ranks)"
        )
    module.to(device)
    dtype = first.dtype
    n_out = [m for m in module.modules() if isinstance(m, nn.Linear)][-1].out_features
    cost_fn = network_cost(cost) if isinstance(cost, str) else cost
    X = torch.as_tensor(to_numpy(X) if not isinstance(X, torch.Tensor) else X)
    X, Y = X.to(device, dtype), _targets(Y, n_out, isinstance(cost, str), device, dtype)
    if validation is not None:
        X_val, Y_val = validation
        X_val = torch.as_tensor(to_numpy(X_val)).to(device, dtype)
        validation = (X_val, _targets(Y_val, n_out, isinstance(cost, str), device, dtype))
    model = module
    if distributed:  # before the optimiser sees the parameters, as DDP asks
        model = DistributedDataParallel(
            module, device_ids=[device] if device.type == "cuda" else None
        )
    if optimizer is None:
        if lr is None:
            raise ValueError("fit_torch needs a learning rate lr= when no optimizer is given")
        optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        optimizer = optimizer(module.parameters())
    elif lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = lr
    dataset = torch.utils.data.TensorDataset(X, Y)
    if distributed:
        rows = DistributedSampler(dataset, seed=seed if seed is not None else 0)
    else:
        generator = torch.Generator().manual_seed(seed if seed is not None else 0)
        rows = torch.utils.data.RandomSampler(dataset, generator=generator)
    sampler = torch.utils.data.BatchSampler(rows, batch_size, drop_last=False)
    loader = torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None)
    model = torch.compile(model) if compile else model
    scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")
    callbacks = tuple(callbacks)
    steps = [0, 0]  # optimiser steps so far, epochs begun

    scored = module if distributed else model  # each rank scores alone, with no collective

    def evaluate(Xe, Ye):
        scored.eval()
        with torch.no_grad(), torch.autocast(device.type, _AMP[amp], enabled=bool(amp)):
            A = scored(Xe).to(dtype)
        scored.train()
        truth = output_labels(Ye) if Ye.ndim == 2 else Ye
        correct = int((output_labels(A) == truth).sum())
        return float(cost_fn(A, Ye)), correct / max(A.shape[0], 1)

    def train_epoch():
        if distributed:
            rows.set_epoch(steps[1])  # every rank draws the same permutation
        steps[1] += 1
        for xb, yb in loader:
            start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, _AMP[amp], enabled=bool(amp)):
                out = model(xb)
            loss = cost_fn(out.to(dtype), yb)
            scaler.scale(loss).backward()  # DDP averages the gradients over the ranks here
            scaler.step(optimizer)
            scaler.update()
            seconds, steps[0] = time.perf_counter() - start, steps[0] + 1
            for cb in callbacks:
                if hasattr(cb, "on_step_end"):
                    cb.on_step_end(module, steps[0], seconds)
            if max_steps is not None and steps[0] >= max_steps:
                break
        return evaluate(X, Y)

    class _StopAtMaxSteps:
        def on_epoch_end(self, model, epoch, history):
            return max_steps is not None and steps[0] >= max_steps

    history = History()
    for cb in callbacks:
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(module, history)
    show = progress and (not distributed or torch.distributed.get_rank() == 0)
    lr_now = lambda: optimizer.param_groups[0]["lr"]  # noqa: E731
    run_epochs(module, history, (*callbacks, _StopAtMaxSteps()), train_epoch, evaluate,
               validation, first=1, epochs=epochs, progress=show, lr=lr_now)  # fmt: skip
    return history


def init_process_group(device, timeout: float = 60.0) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes (its environment variables), or form
    a group of one when started without it; returns ``(rank, world_size)``.

    The backend is nccl on CUDA devices, gloo otherwise. ``timeout`` (seconds) bounds every
    collective, so that a rank that dies makes the others fail instead of waiting forever.
    """
    device = torch.device(device)
    kwargs = {
        "backend": "nccl" if device.type == "cuda" else "gloo",
        "timeout": datetime.timedelta(seconds=timeout),
    }
    if "RANK" not in os.environ:  # not started by torchrun: a group of one, on a free port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        kwargs.update(init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    torch.distributed.init_process_group(**kwargs)
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


TORCH_OPTIMIZERS = {
    "sgd": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
}


def fit_network(
    net: Network,
    X,
    y,
    epochs: int,
    batch_size: int,
    optimizer: str = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    l2: float = 0.0,
    device=None,
    **options,
) -> History:
    """Train ``net`` the idiomatic PyTorch way and copy the trained weights back into it.

    ``to_module(net)`` is trained by :func:`fit_torch` with ``torch.optim.<optimizer>``
    (a name of :data:`TORCH_OPTIMIZERS`); Nielsen's L2 term ``l2/(2n) Σ‖W‖²`` becomes
    ``weight_decay = l2 / n`` on the weights only (the same gradient). ``device`` defaults to
    the network's (CPU for a NumPy network). ``options`` go to :func:`fit_torch`
    (``validation``, ``callbacks``, ``progress``, ``seed``, ``amp``, ``compile``).
    """
    if optimizer not in TORCH_OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {optimizer!r}; expected one of {list(TORCH_OPTIMIZERS)}"
        )
    module = to_module(net, device)
    m = len(X)
    linears = [layer for layer in module if isinstance(layer, nn.Linear)]
    groups = [
        {"params": [lin.weight for lin in linears], "weight_decay": l2 / m},
        {"params": [lin.bias for lin in linears], "weight_decay": 0.0},
    ]
    extra = {"momentum": momentum} if momentum else {}
    opt = getattr(torch.optim, TORCH_OPTIMIZERS[optimizer])(groups, lr=lr, **extra)
    history = fit_torch(module, X, y, epochs, batch_size, optimizer=opt,
                        cost=net.cost_fn.name, **options)  # fmt: skip
    _copy_into(net, linears)  # in place: the arrays stay views of θ
    return history


__all__ = [
    "MODULES",
    "TORCH_OPTIMIZERS",
    "fit_network",
    "fit_torch",
    "from_module",
    "init_process_group",
    "network_cost",
    "to_module",
]

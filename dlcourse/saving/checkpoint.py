"""Training checkpoints: one ``.npz`` file (no pickle) written atomically, and exact resume.

A checkpoint holds everything that decides the rest of a training run:

- ``param.<i>`` / ``buffer.<i>``: ``model.parameters()`` and ``model.buffers()`` (if any);
- ``optimizer.<key>``: ``optimizer.state_dict()`` (moments, step counts, lr);
- ``callback.<j>.<key>``: ``state_dict()`` of the j-th callback that has one (schedules);
  resuming needs the same such callbacks in the same order (others may differ);
- ``history.<field>``: the History so far;
- ``metadata``: JSON with the epoch, class names, the states of the random generators
  (the shuffling generator and, e.g., dropout generators) and the run's ``settings`` (the
  batch size, and the flags of ``dlcourse train``), which a resume must repeat.

Loading it into the same model, optimiser and callbacks in a fresh process and training on
gives the same numbers, bit for bit, as never stopping. Files are written and read by
:mod:`dlcourse.saving.npz`: atomically (a crash mid-write leaves the previous checkpoint
intact), and checked against what they declare before anything is allocated. The training
loop's callback that writes them is :class:`dlcourse.saving.callback.Checkpoint`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.backend import to_numpy
from dlcourse.saving.npz import atomic_savez, read_npz

CHECKPOINT_FORMAT = "dlcourse.checkpoint"


@dataclass
class Run:
    """What a training loop is made of; checkpoint callbacks receive it through ``bind``.

    ``settings`` (JSON-able values, e.g. ``{"batch_size": 16}``) are written to every
    checkpoint; resuming with a different value of one of them is refused.
    """

    model: Any
    optimizer: Any
    rng: np.random.Generator
    callbacks: tuple
    history: Any
    settings: dict[str, Any] = field(default_factory=dict)  # must be equal to resume

    def generators(self) -> list[np.random.Generator]:
        """The shuffling generator, then the model's own (dropout), without repeats."""
        found = [self.rng]
        for g in getattr(self.model, "generators", list)():
            if all(g is not h for h in found):
                found.append(g)
        return found


def _buffers(model) -> list:
    return list(getattr(model, "buffers", list)())


def _stateful(callbacks) -> list:
    """The callbacks whose state is saved (those with ``state_dict``/``load_state_dict``)."""
    return [cb for cb in callbacks if hasattr(cb, "state_dict") and hasattr(cb, "load_state_dict")]


def save_checkpoint(path, run: Run, epoch: int, settings: dict | None = None) -> Path:
    """Write the state of ``run`` after ``epoch`` completed epochs to ``path``; return it.

    ``settings`` (JSON-able) are recorded beside ``run.settings``; :func:`read_metadata`
    returns them all (``dlcourse train`` records its flags there and checks them on resume).
    """
    arrays: dict[str, Any] = {}
    for i, p in enumerate(run.model.parameters()):
        arrays[f"param.{i}"] = to_numpy(p)
    for i, b in enumerate(_buffers(run.model)):
        arrays[f"buffer.{i}"] = to_numpy(b)
    opt_state = run.optimizer.state_dict() if hasattr(run.optimizer, "state_dict") else {}
    opt_state = opt_state or {"lr": getattr(run.optimizer, "lr", np.nan)}
    for key, value in opt_state.items():
        arrays[f"optimizer.{key}"] = to_numpy(value)
    for j, cb in enumerate(_stateful(run.callbacks)):
        for key, value in cb.state_dict().items():
            arrays[f"callback.{j}.{key}"] = to_numpy(value)
    for f in fields(run.history):
        arrays[f"history.{f.name}"] = np.asarray(getattr(run.history, f.name), dtype=np.float64)
    meta = {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "epoch": int(epoch),
        "model": type(run.model).__name__,
        "optimizer": type(run.optimizer).__name__,
        "callbacks": [type(cb).__name__ for cb in _stateful(run.callbacks)],
        "rng": [g.bit_generator.state for g in run.generators()],
        "settings": {**run.settings, **(settings or {})},
    }
    arrays["metadata"] = np.array([json.dumps(meta)])
    return atomic_savez(path, arrays)


def _expect(path, condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"{path}: cannot resume from this checkpoint: {message}")


def load_checkpoint(path, run: Run) -> int:
    """Restore ``run`` (in place) from a file written by :func:`save_checkpoint`.

    Returns the number of epochs the checkpoint had completed. All or nothing: every array
    is checked and every state (optimiser, callbacks, random generators) is first loaded
    into a copy, so a corrupt file, one from a different model, optimiser or set of
    callbacks, or one with an unusable state raises ``ValueError`` naming the file and the
    problem and leaves the model, optimiser, callbacks and generators as they were.
    """
    data = read_npz(path)
    try:
        meta = json.loads(str(data.pop("metadata")[0]))
        found = meta.get("format")
        _expect(path, found == CHECKPOINT_FORMAT, f"metadata says {found!r}")
        epoch = int(meta["epoch"])
    except (KeyError, IndexError, TypeError, ValueError, json.JSONDecodeError) as err:
        if isinstance(err, ValueError) and str(path) in str(err):
            raise
        reason = f"{type(err).__name__}: {err}"
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} file ({reason})") from None

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix) :]: v for k, v in data.items() if k.startswith(prefix)}

    for kind, current in (("param", run.model.parameters()), ("buffer", _buffers(run.model))):
        saved = group(f"{kind}.")
        _expect(path, len(saved) == len(current),
                f"it holds {len(saved)} {kind} arrays; the model has {len(current)}")  # fmt: skip
        for i, p in enumerate(current):
            got = saved.get(str(i))
            _expect(path, got is not None and got.shape == tuple(p.shape),
                    f"{kind} {i} has shape {None if got is None else got.shape}; "
                    f"the model's has {tuple(p.shape)}")  # fmt: skip
    for name in ("optimizer", "model"):
        want = type(getattr(run, name)).__name__
        _expect(path, meta.get(name) == want,
                f"it was written for {name} {meta.get(name)!r}; got {want!r}")  # fmt: skip
    stateful = _stateful(run.callbacks)
    names = [type(cb).__name__ for cb in stateful]
    _expect(path, meta.get("callbacks") == names,
            f"it holds the states of callbacks {meta.get('callbacks')}; got {names}")  # fmt: skip
    saved_settings = meta.get("settings") or {}
    differ = [f"{key} {saved_settings[key]!r} (this run: {value!r})"
              for key, value in run.settings.items()
              if key in saved_settings and saved_settings[key] != value]  # fmt: skip
    _expect(path, not differ, f"it was written with {', '.join(differ)}")
    generators = run.generators()
    _expect(path, len(meta.get("rng", ())) == len(generators),
            f"it holds {len(meta.get('rng', ()))} random generator states; "
            f"training uses {len(generators)}")  # fmt: skip

    # every state is first loaded into copies: a bad one fails here, with nothing changed
    params, buffers = group("param."), group("buffer.")
    optimizer_state = group("optimizer.")
    callback_states = [group(f"callback.{j}.") for j in range(len(stateful))]
    try:
        _trial_load(run, optimizer_state, stateful, callback_states)
        for k, (g, state) in enumerate(zip(generators, meta["rng"])):
            try:
                copy.deepcopy(g).bit_generator.state = state
            except (TypeError, ValueError, KeyError) as err:
                why = f"the state of random generator {k} does not load ({err})"
                raise ValueError(why) from None
        history = {f.name: data.get(f"history.{f.name}", np.zeros(0)).tolist()
                   for f in fields(run.history)}  # fmt: skip
        history["epoch"] = [int(v) for v in history["epoch"]]
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"{path}: cannot resume from this checkpoint: {err}") from None

    # everything matches and loads: restore in place
    xp_assign(run.model.parameters(), params)
    xp_assign(_buffers(run.model), buffers)
    _load_optimizer(run.optimizer, optimizer_state)
    for cb, state in zip(stateful, callback_states):
        cb.load_state_dict(state)
    for g, state in zip(generators, meta["rng"]):
        g.bit_generator.state = state
    for name, values in history.items():
        getattr(run.history, name)[:] = values
    return epoch


def _load_optimizer(optimizer, state: dict[str, np.ndarray]) -> None:
    if hasattr(optimizer, "load_state_dict"):
        optimizer.load_state_dict(state)
    elif hasattr(optimizer, "lr"):
        optimizer.lr = float(state["lr"])


def _trial_load(run: Run, optimizer_state: dict, stateful: list, callback_states: list) -> None:
    """Load the optimiser and callback states into copies of them (the model is shared, not
    copied); raise if any is unusable, e.g. moments whose shapes differ from the parameters."""
    optimizer = copy.deepcopy(run.optimizer, {id(run.model): run.model})
    try:
        _load_optimizer(optimizer, optimizer_state)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"the optimizer state does not load ({err})") from None
    inner = optimizer
    while not hasattr(inner, "state") and hasattr(inner, "optimizer"):  # ClipGradNorm
        inner = inner.optimizer
    shapes = [tuple(p.shape) for p in run.model.parameters()]
    state = getattr(inner, "state", None) or {}
    vector = getattr(run.model, "parameter_vector", None)
    if vector is not None and set(state) == {0}:  # the state of θ (see train.stepper)
        shapes = [tuple(vector().shape)]
    for i, buffers in sorted(state.items(), key=lambda item: 0 <= item[0] < len(shapes)):
        for key, value in buffers.items():
            shape = tuple(getattr(value, "shape", ()))
            if not (0 <= i < len(shapes)) or (shape and shape != shapes[i]):
                want = shapes[i] if 0 <= i < len(shapes) else f"no parameter {i}"
                raise ValueError(
                    f"the optimizer state {key!r} of parameter {i} has shape {shape}; "
                    f"expected {want}"
                )
    memo = {id(run.model): run.model, id(run.optimizer): optimizer}
    for cb, state in zip(stateful, callback_states):
        try:
            copy.deepcopy(cb, dict(memo)).load_state_dict(state)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"the state of callback {type(cb).__name__} does not load ({err})"
            ) from None


def read_metadata(path) -> dict[str, Any]:
    """The metadata of a checkpoint: ``epoch``, ``settings`` (``{}`` if none), class names."""
    data = read_npz(path)
    try:
        meta = json.loads(str(data["metadata"][0]))
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"metadata says {meta.get('format')!r}")
        meta["epoch"], meta["settings"] = int(meta["epoch"]), dict(meta.get("settings") or {})
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
        reason = f"{type(err).__name__}: {err}"
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} file ({reason})") from None
    return meta


def xp_assign(targets, saved: dict[str, np.ndarray]) -> None:
    """Copy ``saved[str(i)]`` into ``targets[i]`` in place (NumPy arrays or torch tensors)."""
    for i, p in enumerate(targets):
        value = saved[str(i)]
        if isinstance(p, np.ndarray):
            p[...] = value
        else:  # a torch tensor
            import torch

            with torch.no_grad():
                p.copy_(torch.as_tensor(value, dtype=p.dtype, device=p.device))


__all__ = [
    "CHECKPOINT_FORMAT",
    "Run",
    "save_checkpoint",
    "load_checkpoint",
    "read_metadata",
]

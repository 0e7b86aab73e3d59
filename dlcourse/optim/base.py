"""The base class of every optimiser: hyperparameters, per-parameter state, checkpointing.

Subclasses list their hyperparameters in ``hyper`` and implement ``_update`` for one
parameter array; the two options every optimiser shares, ``maximize`` and (coupled)
``weight_decay``, are applied to the gradient here before ``_update`` sees it. See
:mod:`dlcourse.optim`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import array_api_compat
import numpy as np

from .._validation import check_interval
from ..backend import namespace, to_numpy

__all__ = ["Optimizer"]


# torch.optim's ranges are closed below and open above unless a call says otherwise
check = functools.partial(check_interval, open_high=True)


def copy(a):
    """A fresh copy of array ``a`` in its own namespace."""
    return namespace(a).asarray(a, copy=True)


def _like(saved, param):
    """``saved`` (e.g. a NumPy array from a checkpoint) as an array next to ``param``."""
    if type(saved) is type(param):
        return saved
    xp = namespace(param)
    return xp.asarray(np.asarray(saved), dtype=param.dtype, device=array_api_compat.device(param))


class Optimizer:
    """Base class: hyperparameters, per-parameter state, checkpointing.

    Subclasses list their hyperparameters in ``hyper`` (constructor argument names,
    in order) and implement ``_update(param, grad, state)`` for one parameter array,
    where ``state`` is that parameter's dict of buffers (empty on the first step).

    ``step`` hands ``_update`` the gradient of torch.optim's first two lines::

        if maximize: g ← −g
        if weight_decay ≠ 0: g ← g + weight_decay·θ          (L2 term added to the gradient)

    A subclass with *decoupled* weight decay (AdamW) sets ``decoupled_weight_decay`` and
    applies ``weight_decay`` to θ itself in ``_update``.

    A subclass whose ``_update`` is purely elementwise sets ``elementwise = True``: updating
    the arrays one by one or all of them as one vector gives the same numbers, so the
    training loop may hand it ``[θ]`` and ``[∇θ]`` (see ``dlcourse.train.fit_loop``).
    """

    hyper: tuple[str, ...] = ("lr",)
    decoupled_weight_decay = False
    elementwise = False

    def __init__(self, lr: float, weight_decay: float = 0.0, maximize: bool = False) -> None:
        self.lr = check("lr", lr, 0.0, open_low=True)
        self.weight_decay = check("weight_decay", weight_decay, 0.0)
        self.maximize = bool(maximize)
        self.state: dict[int, dict[str, Any]] = {}
        self._scratch_arrays: dict[tuple, Any] = {}  # temporaries reused between steps

    @property
    def lr(self) -> float:
        """Current learning rate η (schedules set it between steps; must be ≥ 0)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check("lr", value, 0.0)

    def step(self, params: Sequence, grads: Sequence) -> None:
        """Update every ``params[i]`` in place from ``grads[i]`` (same shapes)."""
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} parameter arrays but {len(grads)} gradients")
        if self.state and max(self.state) >= len(params):
            raise ValueError(
                f"this optimiser holds state for {max(self.state) + 1} parameter arrays but "
                f"step() got {len(params)}; call zero_state() before changing the parameters"
            )
        for i, (p, g) in enumerate(zip(params, grads)):
            if tuple(p.shape) != tuple(g.shape):
                raise ValueError(
                    f"gradient {i} has shape {tuple(g.shape)}; parameter {i} has {tuple(p.shape)}"
                )
            state = self.state.setdefault(i, {})
            for key, buf in state.items():
                if not isinstance(buf, (int, float)):
                    if tuple(buf.shape) != tuple(p.shape):
                        raise ValueError(
                            f"state {key!r} of parameter {i} has shape {tuple(buf.shape)}; "
                            f"the parameter has {tuple(p.shape)}"
                        )
                    state[key] = _like(buf, p)
            self._update(p, self._gradient(p, g), state)

    def _gradient(self, p, g):
        """The gradient ``_update`` sees: torch.optim's ``maximize`` and coupled L2 lines."""
        if self.maximize:
            g = -g
        if self.weight_decay != 0 and not self.decoupled_weight_decay:
            g = g + self.weight_decay * p
        return g

    def _scratch(self, like, k: int = 0):
        """The ``k``-th scratch array shaped like ``like`` (uninitialised, reused by every
        step: a place for temporaries, written with ``out=``; never part of the state)."""
        key = (k, tuple(like.shape), like.dtype, getattr(like, "device", None))
        array = self._scratch_arrays.get(key)
        if array is None:
            array = self._scratch_arrays[key] = namespace(like).empty_like(like)
        return array

    def _update(self, param, grad, state: dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def zero_state(self) -> None:
        """Forget all per-parameter state (momentum buffers, moments, step counts)."""
        self.state = {}

    def state_dict(self) -> dict[str, Any]:
        """Flat dict: hyperparameters by name, and ``"state.<i>.<buffer>"`` entries.

        Values are Python numbers, booleans or NumPy arrays (copies), so
        ``np.savez(path, **opt.state_dict())`` works without pickle.
        """
        out: dict[str, Any] = {}
        for name in self.hyper:
            value = getattr(self, name)
            out[name] = np.array(value, dtype=np.float64) if isinstance(value, tuple) else value
        for i, state in sorted(self.state.items()):
            for key, buf in state.items():
                out[f"state.{i}.{key}"] = (
                    buf if isinstance(buf, (int, float)) else np.array(to_numpy(buf))
                )
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (or read from .npz)."""
        missing = [k for k in self.hyper if k not in state_dict]
        unknown = [k for k in state_dict if k not in self.hyper and not k.startswith("state.")]
        if missing or unknown:
            raise ValueError(
                f"not a {type(self).__name__} state dict: missing {missing}, unexpected "
                f"{unknown}; expected the keys {list(self.hyper)} and 'state.<i>.<buffer>'"
            )
        values = {}
        for name in self.hyper:
            current, saved = getattr(self, name), state_dict[name]
            if isinstance(current, bool):
                values[name] = bool(saved)
            elif isinstance(current, tuple):
                values[name] = tuple(float(x) for x in np.asarray(saved).ravel())
            else:
                values[name] = float(saved)
        lr = values.pop("lr")
        type(self).__init__(self, **values, lr=lr if lr > 0 else 1.0)  # re-validates
        self.lr = lr  # may be 0 (e.g. the end of a cosine schedule)
        for key, saved in state_dict.items():
            if key.startswith("state."):
                _, i, buf = key.split(".", 2)
                saved = np.asarray(saved)
                value = int(saved) if buf == "step" else np.array(saved, copy=True)
                self.state.setdefault(int(i), {})[buf] = value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyper)
        return f"{type(self).__name__}({args})"

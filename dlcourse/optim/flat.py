"""Flat parameter vectors: every ``W^l`` and ``b^l`` a view of one 1-D array.

This module is the one place where the training step is arranged for speed rather than
for reading. ``Network`` keeps ``[W^1, b^1, ..., W^L, b^L]`` as consecutive views of one
vector, and ``backprop`` writes its gradients into views of a second vector laid out the
same way. :class:`FlatList` is a list of such views that remembers the vector they tile,
so that :meth:`dlcourse.optim.Optimizer.step` can run an optimiser's update formula once on
the whole vector instead of once per array: the same elementwise arithmetic, so the same
numbers, with one pass of each operation and no per-array Python overhead. Any other list
of arrays is updated array by array, as before.

The optimiser's per-parameter state (``state[i]["exp_avg"]`` and so on) stays as it is
documented, one entry per array: during fused steps those entries are views of flat
buffers (:func:`flat_state` builds them, :func:`share_state` writes them back).

Two more things keep large arrays from being allocated on every step, which costs more
than the arithmetic on them (fresh pages from the operating system, caches refilled):
:class:`Spare` hands ``backprop`` the previous gradient vector again once nobody holds it,
and :func:`update_in_chunks` runs the fused update piece by piece, each piece going through
all of the update's operations while it is in the core's cache (optimisers also keep their
temporaries in reused scratch arrays, ``Optimizer._scratch``). ``benchmarks/bench_peers.py``
measures the effect.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import namespace

__all__ = [
    "FlatList",
    "layout",
    "cut",
    "flat_views",
    "empty_like",
    "Spare",
    "CHUNK",
    "update_in_chunks",
    "fusable",
    "flat_state",
    "share_state",
]


class FlatList(list):
    """A list of arrays that are consecutive views, in order, of the 1-D array ``flat``."""

    def __init__(self, arrays: Sequence, flat) -> None:
        super().__init__(arrays)
        self.flat = flat


def layout(shapes: Sequence[tuple[int, ...]]) -> list[tuple[int, int, tuple[int, ...]]]:
    """``(start, stop, shape)`` of each array when arrays of ``shapes`` are laid end to end."""
    out, start = [], 0
    for shape in shapes:
        stop = start + math.prod(shape)
        out.append((start, stop, tuple(shape)))
        start = stop
    return out


def cut(vector, where: list[tuple[int, int, tuple[int, ...]]]) -> FlatList:
    """The views of the 1-D array ``vector`` at the places of a :func:`layout`."""
    return FlatList([vector[start:stop].reshape(shape) for start, stop, shape in where], vector)


def flat_views(flat, shapes: Sequence[tuple[int, ...]]) -> FlatList:
    """Cut the 1-D array ``flat`` into consecutive views of the given ``shapes``."""
    where = layout(shapes)
    size = where[-1][1] if where else 0
    if size != flat.shape[0]:
        raise ValueError(
            f"shapes {list(shapes)} hold {size} numbers; the vector has {flat.shape[0]}"
        )
    return cut(flat, where)


def empty_like(vector):
    """An uninitialised array like the 1-D ``vector`` (NumPy or torch)."""
    if isinstance(vector, np.ndarray):
        return np.empty_like(vector)
    return vector.new_empty(vector.shape)


class Spare:
    """A NumPy array handed out again once nobody else holds it (or a view of it).

    ``Network.backprop`` returns new gradient arrays on every call. Allocating a large one
    each step costs fresh memory pages from the operating system; instead, ``get(like)``
    gives back the array of the previous call when its only remaining reference is the one
    kept here (CPython's reference count: every view of an array refers to it, so a
    gradient that the caller still holds is never overwritten). Otherwise, for torch
    tensors (whose views do not count), or where the interpreter counts references
    differently (see ``_ALONE``), it returns a new array like ``like``.
    """

    def __init__(self) -> None:
        self.array = None

    def holders(self) -> int:
        """The reference count of the kept array, as this method sees it."""
        return sys.getrefcount(self.array)

    def get(self, like):
        if self.array is not None and self.holders() == _ALONE and self.array.shape == like.shape:
            return self.array
        fresh = empty_like(like)
        self.array = fresh if isinstance(fresh, np.ndarray) else None
        return fresh


def _alone() -> int:
    """The count ``Spare.holders`` gives when only the ``Spare`` holds its array, or -1 (never
    reuse) unless one more holder is seen as exactly one more reference on this interpreter."""
    box = Spare()
    box.array = np.empty(1)
    alone = box.holders()
    extra = box.array[:]  # a view: one more holder
    more = box.holders()
    del extra
    return alone if more == alone + 1 and box.holders() == alone else -1


_ALONE = _alone()


CHUNK = 32_768  # numbers per piece of a fused update: its arrays stay in the core's cache


def update_in_chunks(update, param, grad, state: dict) -> None:
    """Run ``update(param, grad, state)`` (elementwise) on the flat vectors piece by piece.

    Each piece of ``CHUNK`` numbers goes through all of the update's operations while it is
    in the cache, instead of each operation streaming the whole vector through memory. A
    piece's state holds views of the flat buffers; where ``update`` creates or replaces a
    buffer (its first step, AMSGrad's maximum), the piece's values are copied into a flat
    buffer of ``state``. Numbers (step counts) are updated once, like the arrays.
    """
    n = param.shape[0]
    if n <= CHUNK or not state:  # small, or the first step: buffers are created whole
        update(param, grad, state)
        return
    numbers = {k: v for k, v in state.items() if isinstance(v, (int, float))}
    for start in range(0, n, CHUNK):
        piece = slice(start, min(start + CHUNK, n))
        local = dict(numbers)
        local.update({k: v[piece] for k, v in state.items() if k not in numbers})
        views = dict(local)
        update(param[piece], grad[piece], local)
        for key, value in local.items():
            if key in numbers:
                continue
            if key not in state:
                state[key] = empty_like(param)
            if value is not views.get(key):
                state[key][piece] = value
    state.update({k: v for k, v in local.items() if k in numbers})


def fusable(params: Sequence, grads: Sequence) -> bool:
    """True when ``params`` and ``grads`` are :class:`FlatList` s of the same layout."""
    return (
        isinstance(params, FlatList)
        and isinstance(grads, FlatList)
        and len(params) == len(grads)
        and params.flat.shape == grads.flat.shape
        and all(p.shape == g.shape for p, g in zip(params, grads))
    )


def flat_state(
    state: dict[int, dict[str, Any]], params: FlatList, cache: dict, convert
) -> dict | None:
    """The optimiser state of all of ``params`` as one dict of flat buffers, or ``None``.

    ``state[i]`` is the state of ``params[i]``. Numbers (step counts) must agree across the
    arrays (else ``None``: the caller falls back to array-by-array updates). Array buffers
    are reused from ``cache`` when every ``state[i][key]`` is still the view handed out by
    :func:`share_state`; otherwise they are gathered into a new flat buffer (after a
    ``load_state_dict``, for example) and ``state[i][key]`` becomes a view of it;
    ``convert(saved, param)`` turns a restored buffer into an array like ``param``.
    """
    n = len(params)
    if not state:
        return {}
    if len(state) != n or 0 not in state or n - 1 not in state:
        return None
    first = state[0]
    out = {}
    for key, value in first.items():
        if isinstance(value, (int, float)):
            for i in range(1, n):
                if state[i].get(key) != value:
                    return None
            out[key] = value
            continue
        views = cache.get(key)
        if views is None or any(state[i].get(key) is not views[i] for i in range(n)):
            if any(key not in state[i] for i in range(n)):
                return None
            xp = namespace(params.flat)
            parts = [xp.reshape(convert(state[i][key], params[i]), (-1,)) for i in range(n)]
            views = cache[key] = flat_views(xp.concat(parts), [p.shape for p in params])
            for i in range(n):
                state[i][key] = views[i]
        out[key] = views.flat
    if any(len(state[i]) != len(first) for i in range(1, n)):
        return None
    return out


def share_state(flat: dict, state: dict[int, dict[str, Any]], params: FlatList, cache: dict):
    """Write the flat state back as ``state[i]``: numbers copied, buffers as views (new or
    rebound buffers are cut into fresh views and remembered in ``cache``)."""
    n = len(params)
    if len(state) != n:
        for i in range(n):
            state.setdefault(i, {})
    for key, value in flat.items():
        if isinstance(value, (int, float)):
            for i in range(n):
                state[i][key] = value
            continue
        views = cache.get(key)
        if views is None or views.flat is not value:
            views = cache[key] = flat_views(value, [p.shape for p in params])
            for i in range(n):
                state[i][key] = views[i]

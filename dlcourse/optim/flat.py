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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import namespace

__all__ = [
    "FlatList",
    "as_flat_list",
    "flat_views",
    "empty_views",
    "fusable",
    "flat_state",
    "share_state",
]


class FlatList(list):
    """A list of arrays that are consecutive views, in order, of the 1-D array ``flat``."""

    def __init__(self, arrays: Sequence, flat) -> None:
        super().__init__(arrays)
        self.flat = flat


def flat_views(flat, shapes: Sequence[tuple[int, ...]]) -> FlatList:
    """Cut the 1-D array ``flat`` into consecutive views of the given ``shapes``."""
    views, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        views.append(flat[start : start + size].reshape(shape))
        start += size
    if start != flat.shape[0]:
        raise ValueError(
            f"shapes {list(shapes)} hold {start} numbers; the vector has {flat.shape[0]}"
        )
    return FlatList(views, flat)


def empty_views(like: FlatList) -> FlatList:
    """A fresh (uninitialised) vector shaped like ``like.flat``, cut like ``like``."""
    vector = like.flat
    fresh = (
        np.empty_like(vector) if isinstance(vector, np.ndarray) else vector.new_empty(vector.shape)
    )
    return flat_views(fresh, [a.shape for a in like])


def as_flat_list(arrays: list) -> list:
    """``arrays`` as a :class:`FlatList` when they are views that together fill one 1-D
    array (as :func:`flat_views` cuts it, in order); otherwise ``arrays`` unchanged."""
    if not arrays:
        return arrays
    owner = "base" if isinstance(arrays[0], np.ndarray) else "_base"
    vector = getattr(arrays[0], owner, None)
    if vector is None or vector.ndim != 1:
        return arrays
    size = 0
    for a in arrays:
        if getattr(a, owner, None) is not vector:
            return arrays
        size += math.prod(a.shape)
    return FlatList(arrays, vector) if size == vector.shape[0] else arrays


def fusable(params: Sequence, grads: Sequence) -> bool:
    """True when ``params`` and ``grads`` are :class:`FlatList` s of the same layout."""
    return (
        isinstance(params, FlatList)
        and isinstance(grads, FlatList)
        and len(params) == len(grads)
        and tuple(params.flat.shape) == tuple(grads.flat.shape)
        and all(tuple(p.shape) == tuple(g.shape) for p, g in zip(params, grads))
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
    if len(state) != n or any(i not in state for i in range(n)):
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

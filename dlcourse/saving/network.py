"""Saving and loading a ``Network``: one ``.npz`` file, no pickle, written atomically.

The file holds the arrays ``W1, b1, ..., WL, bL`` (layer ``l``'s ``W^l`` of shape
``(n_l, n_{l-1})`` and ``b^l`` of shape ``(n_l,)``, always as NumPy) and ``metadata``, a JSON
string with the architecture (sizes, activations, cost, dtype) and the L2 settings. The
writing and reading of ``.npz`` files is shared with ``Model`` and training checkpoints
(:func:`dlcourse.saving.npz.atomic_savez`, :func:`dlcourse.saving.npz.read_npz`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dlcourse._validation import check_sizes, dtype_name
from dlcourse.backend import get_device, to_numpy
from dlcourse.saving.npz import atomic_savez, read_npz

NETWORK_FORMAT = "dlcourse.Network"


def network_metadata(net) -> dict:
    """What rebuilds ``net``'s architecture: the JSON-able ``metadata`` of its file."""
    return {
        "format": NETWORK_FORMAT,
        "version": 1,
        "sizes": net.sizes,
        "activation": net.activation.name,
        "output": net.output.name,
        "cost": net.cost_fn.name,
        "init": net.init,
        "dtype": dtype_name(net.dtype),
        "l2": net.l2,
        "n_train": net.n_train,
    }


def save_network(net, path) -> Path:
    """Write ``net`` to ``path`` (.npz, no pickle) atomically; return the path.

    The file holds ``W1, b1, ..., WL, bL`` and ``metadata`` (a JSON string). It is written
    to a temporary file in the same folder and renamed, so a crash never leaves a torn file.
    """
    arrays = {"metadata": np.array([json.dumps(network_metadata(net))])}
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        arrays[f"W{l}"], arrays[f"b{l}"] = to_numpy(W), to_numpy(b)
    return atomic_savez(path, arrays)


def load_network(cls, path, sizes=None, seed=None, device=None):
    """Read a network of class ``cls`` written by :func:`save_network`. ``sizes``, if given,
    must match the file; ``device`` (as in the constructor) puts the parameters on a torch
    device.

    A file that is not such a checkpoint (corrupt, truncated, wrong arrays) raises
    ``ValueError`` naming the file and what is wrong. The arrays are checked against the
    sizes in the metadata before the network is built, so a small file cannot make it
    allocate the huge network it may declare.
    """
    path = Path(path)
    device = None if device is None else get_device(device)  # fails before reading
    arrays = read_npz(path, "Network checkpoint")
    try:
        meta = json.loads(str(arrays.pop("metadata")[0]))
    except (KeyError, IndexError, ValueError) as err:
        why = f"{type(err).__name__}: {err}"
        raise ValueError(f"{path}: not a readable Network checkpoint ({why})") from None
    if not isinstance(meta, dict) or meta.get("format") != NETWORK_FORMAT:
        raise ValueError(f"{path}: not a {NETWORK_FORMAT} checkpoint (metadata {meta!r})")
    try:
        found = check_sizes(meta.get("sizes"))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: invalid metadata ({err})") from None
    if sizes is not None and list(sizes) != found:
        raise ValueError(f"{path}: holds a network of sizes {found}; expected {list(sizes)}")
    # the arrays present must match the declared sizes before those are allocated
    for l, (n_prev, n_l) in enumerate(zip(found[:-1], found[1:]), start=1):
        for name, expected in ((f"W{l}", (n_l, n_prev)), (f"b{l}", (n_l,))):
            got = arrays.get(name)
            if got is None or got.shape != expected:
                raise ValueError(
                    f"{path}: array {name} should have shape {expected} (its metadata says "
                    f"sizes {found}); got {None if got is None else got.shape}"
                )
    try:
        net = cls(
            found,
            meta["activation"],
            meta["output"],
            meta["cost"],
            init="constant",
            dtype=meta["dtype"],
            device=device,
            seed=seed,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: invalid metadata ({err})") from None
    net.init = meta.get("init", "constant")
    for l in range(1, len(net.sizes)):
        for name, target in ((f"W{l}", net.weights), (f"b{l}", net.biases)):
            target[l - 1][...] = net._cast(np.asarray(arrays[name], dtype=net.dtype))  # in place
    net.l2, net.n_train = float(meta.get("l2", 0.0)), meta.get("n_train")
    return net


__all__ = ["NETWORK_FORMAT", "load_network", "network_metadata", "save_network"]

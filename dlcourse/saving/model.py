"""Saving and loading a ``Model`` (a stack of :mod:`dlcourse.layers`): one ``.npz`` file,
no pickle, written atomically.

The file holds ``param.<i>`` (``model.parameters()``, in order), ``buffer.<i>``
(``model.buffers()``: batch-norm running statistics) and ``metadata``, a JSON string with
the layers' ``config()`` list, the cost's name and the L2 settings.

This module knows the file, not the layers: :func:`load_model` asks the class it builds
for the two things that need the layer table, ``cls.shapes_of(configs)`` (the shapes the
layers would have, computed without building them) and ``cls.from_config(configs, cost)``
(see :class:`dlcourse.layers.Model`). So importing it imports no layer, and the layers'
package can import it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dlcourse.saving.npz import atomic_savez, read_npz

MODEL_FORMAT = "dlcourse.Model"

_BAD_CONFIG = (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError)


def model_metadata(model) -> dict:
    """What rebuilds ``model``'s architecture: the JSON-able ``metadata`` of its file."""
    return {
        "format": MODEL_FORMAT,
        "version": 1,
        "layers": model.layers.config()["layers"],
        "cost": model.cost_fn.name,
        "l2": model.l2,
        "n_train": model.n_train,
    }


def save_model(model, path) -> Path:
    """Write ``model``'s architecture (JSON), parameters and buffers to ``path`` (.npz, no
    pickle), atomically (temporary file + ``os.replace``); return the path."""
    arrays = {"metadata": np.array([json.dumps(model_metadata(model))])}
    arrays.update({f"param.{i}": p for i, p in enumerate(model.parameters())})
    arrays.update({f"buffer.{i}": b for i, b in enumerate(model.buffers())})
    return atomic_savez(path, arrays)


def load_model(cls, path):
    """Rebuild a model of class ``cls`` written by :func:`save_model`; a bad file raises
    ValueError naming it.

    The arrays in the file are checked against the shapes its layer configs declare
    before any layer is built, so a small file cannot make it allocate a huge model.
    """
    data = read_npz(path, "Model file")
    try:
        meta = json.loads(str(data["metadata"][0]))
        if meta.get("format") != MODEL_FORMAT:
            raise ValueError(f"metadata format is {meta.get('format')!r}")
        declared = cls.shapes_of(meta["layers"])
    except _BAD_CONFIG as err:
        raise ValueError(f"{path}: not a {MODEL_FORMAT} file ({err})") from None
    for kind, shapes in zip(("param", "buffer"), declared):
        for i, shape in enumerate(shapes):
            got = data.get(f"{kind}.{i}")
            if got is None or got.shape != tuple(shape):
                found = None if got is None else got.shape
                raise ValueError(f"{path}: {kind} {i} should have shape {tuple(shape)} "
                                 f"(its layer configs say so); got {found}")  # fmt: skip
    try:
        model = cls.from_config(meta["layers"], meta["cost"])
    except _BAD_CONFIG as err:
        raise ValueError(f"{path}: not a {MODEL_FORMAT} file ({err})") from None
    for kind, targets in (("param", model.parameters()), ("buffer", model.buffers())):
        for i, p in enumerate(targets):
            got = data.get(f"{kind}.{i}")
            if got is None or got.shape != p.shape:
                shape = None if got is None else got.shape
                raise ValueError(f"{path}: {kind} {i} should have shape {p.shape}; got {shape}")
            p[...] = got
    model.l2, model.n_train = float(meta.get("l2", 0.0)), meta.get("n_train")
    return model


__all__ = ["MODEL_FORMAT", "load_model", "model_metadata", "save_model"]

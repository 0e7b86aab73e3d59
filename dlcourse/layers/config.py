"""Rebuild a layer from its ``config()`` (used by ``Model.save``/``Model.load``)."""

from __future__ import annotations

from typing import Any

from dlcourse.layers.base import Concat, Layer, Residual, Sequential, Sum
from dlcourse.layers.batchnorm2d import BatchNorm2d
from dlcourse.layers.conv import AvgPool2d, Conv2d, Flatten, GlobalAvgPool2d, MaxPool2d
from dlcourse.layers.conv_transpose import ConvTranspose2d
from dlcourse.layers.core import Activation, Dropout, Linear
from dlcourse.layers.dropconnect import DropConnect
from dlcourse.layers.normalization import BatchNorm1d
from dlcourse.layers.recurrent import GRU, LSTM, RNN, LastStep, PerElement
from dlcourse.layers.sets import MixtureOfExperts, SetPool

# isort: split
from dlcourse.layers.transformer_config import TRANSFORMER_BUILDERS, transformer_shapes


def _builders() -> dict[str, Any]:
    return {
        "Linear": lambda c: Linear(c["n_in"], c["n_out"], c["init"], dtype=c["dtype"]),
        "Activation": lambda c: Activation(c["name"]),
        "Dropout": lambda c: Dropout(c["p"]),
        "DropConnect": lambda c: DropConnect(
            c["n_in"], c["n_out"], c["p"], c["init"], dtype=c["dtype"]
        ),
        "BatchNorm1d": lambda c: BatchNorm1d(
            c["num_features"], c["eps"], c["momentum"], c["affine"], c["dtype"]
        ),
        "Conv2d": lambda c: Conv2d(
            c["in_channels"],
            c["out_channels"],
            c["kernel_size"],
            c["stride"],
            c["padding"],
            c["init"],
            dtype=c["dtype"],
            dilation=c.get("dilation", 1),  # files written before dilation existed lack it
        ),
        "BatchNorm2d": lambda c: BatchNorm2d(
            c["num_features"], c["eps"], c["momentum"], c["affine"], c["dtype"]
        ),
        "ConvTranspose2d": lambda c: ConvTranspose2d(
            c["in_channels"],
            c["out_channels"],
            c["kernel_size"],
            c["stride"],
            c["padding"],
            c["output_padding"],
            c["init"],
            dtype=c["dtype"],
            dilation=c["dilation"],
        ),
        "GlobalAvgPool2d": lambda c: GlobalAvgPool2d(),
        "MaxPool2d": lambda c: MaxPool2d(c["kernel_size"], c["stride"]),
        "AvgPool2d": lambda c: AvgPool2d(c["kernel_size"], c["stride"]),
        "Flatten": lambda c: Flatten(),
        "Sequential": lambda c: Sequential([from_config(x) for x in c["layers"]]),
        "Residual": lambda c: Residual(from_config(c["inner"])),
        "Concat": lambda c: Concat([from_config(x) for x in c["branches"]]),
        "Sum": lambda c: Sum([from_config(x) for x in c["branches"]]),
        "RNN": lambda c: RNN(c["n_in"], c["n_hidden"], c["nonlinearity"], dtype=c["dtype"]),
        "LSTM": lambda c: LSTM(c["n_in"], c["n_hidden"], dtype=c["dtype"]),
        "GRU": lambda c: GRU(c["n_in"], c["n_hidden"], dtype=c["dtype"]),
        "LastStep": lambda c: LastStep(),
        "PerElement": lambda c: PerElement(from_config(c["layer"])),
        "SetPool": lambda c: SetPool(c["mode"]),
        "MixtureOfExperts": lambda c: MixtureOfExperts(
            [from_config(e) for e in c["experts"]], from_config(c["gate"])
        ),
        **TRANSFORMER_BUILDERS,
    }


def from_config(config: dict[str, Any]) -> Layer:
    """Rebuild a layer (fresh parameters) from ``layer.config()``."""
    builders = _builders()
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in builders:
        raise ValueError(f"unknown layer config {config!r}; expected a type in {sorted(builders)}")
    return builders[kind](config)


def _children(c: dict[str, Any]) -> list[dict[str, Any]]:
    """The configs nested in a container's config, in the order of its ``children``."""
    nested = [*c.get("layers", []), *c.get("branches", []), *c.get("experts", [])]
    return nested + [c[key] for key in ("inner", "layer", "gate") if key in c]


def declared_shapes(config: dict[str, Any]) -> tuple[list[tuple], list[tuple]]:
    """Shapes of the parameters and buffers that ``from_config(config)`` would create, in the
    order of ``params`` and ``buffers()``, computed without allocating anything.

    ``Model.load`` compares them with the arrays a file holds before building the layers, so
    a small file cannot declare (and make us allocate) a huge model.
    """
    if not isinstance(config, dict):
        raise TypeError(f"a layer config must be a dict; got {config!r}")
    kind, c = config.get("type"), config
    if kind in ("Linear", "DropConnect"):
        return [(c["n_out"], c["n_in"]), (c["n_out"],)], []
    if kind == "Conv2d":
        k = c["kernel_size"]
        return [(c["out_channels"], c["in_channels"], k, k), (c["out_channels"],)], []
    if kind == "ConvTranspose2d":
        k = c["kernel_size"]
        return [(c["in_channels"], c["out_channels"], k, k), (c["out_channels"],)], []
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        n = (c["num_features"],)
        return [n, n] if c["affine"] else [], [n, n]
    if kind in ("RNN", "LSTM", "GRU"):
        gh = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind] * c["n_hidden"]
        return [(gh, c["n_in"]), (gh, c["n_hidden"]), (gh,), (gh,)], []
    if kind in TRANSFORMER_BUILDERS:
        return transformer_shapes(c), []
    params: list[tuple] = []
    buffers: list[tuple] = []
    for child in _children(c):
        p, b = declared_shapes(child)
        params, buffers = params + p, buffers + b
    return params, buffers

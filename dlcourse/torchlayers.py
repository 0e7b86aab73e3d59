"""Bridge between :mod:`dlcourse.layers` and ``torch.nn``: a stack of the course's layers as a
torch module with the same weights, and back.

``layers_to_module(model)`` maps every layer to its torch counterpart and copies the arrays
(``Linear`` → ``nn.Linear``, ``Conv2d`` → ``nn.Conv2d``, ``ConvTranspose2d`` →
``nn.ConvTranspose2d``, ``BatchNorm1d/2d`` → ``nn.BatchNorm1d/2d`` with their running
statistics, pooling, ``Flatten``, ``Dropout``, the activations of
:data:`dlcourse.torchnet.MODULES`, ``Sequential`` → ``nn.Sequential``); the weight layouts are
the same on both sides, so nothing is transposed. ``Residual``, ``Sum``, ``Concat`` and
``GlobalAvgPool2d``, which ``torch.nn`` has no single module for, become the small modules
below. ``module_to_layers(module)`` is the inverse, for modules built from those pieces.
Forward passes, autograd gradients and (in training mode) running statistics then agree with
the layers' own in float64 to rounding.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlcourse import layers as L
from dlcourse._validation import dtype_name
from dlcourse.layers.base import Layer
from dlcourse.torchnet import MODULES, _module_name


class GlobalAvgPool2d(nn.Module):
    """``(m, C, H, W) → (m, C)``: the mean of each channel (AdaptiveAvgPool2d(1) + flatten)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class Residual(nn.Module):
    """``y = inner(x) + x``."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) + x


class Branches(nn.Module):
    """Parallel branches on one input, added (``mode="sum"``) or concatenated along axis 1
    (``mode="concat"``: features, or channels of images)."""

    def __init__(self, branches, mode: str):
        super().__init__()
        if mode not in ("sum", "concat"):
            raise ValueError(f"mode must be 'sum' or 'concat'; got {mode!r}")
        self.branches, self.mode = nn.ModuleList(branches), mode

    def forward(self, x):
        outs = [b(x) for b in self.branches]
        return sum(outs[1:], outs[0]) if self.mode == "sum" else torch.cat(outs, dim=1)


def _tensor(a, device) -> torch.Tensor:
    return torch.as_tensor(np.array(a, copy=True), device=device)


def _copy(module: nn.Module, device, **arrays) -> nn.Module:
    with torch.no_grad():
        for name, array in arrays.items():
            getattr(module, name).copy_(_tensor(array, device))
    return module


def _batchnorm_module(layer, cls, device, dtype):
    module = cls(layer.num_features, layer.eps, layer.momentum, layer.affine, device=device,
                 dtype=dtype)  # fmt: skip
    arrays = {"running_mean": layer.running_mean, "running_var": layer.running_var}
    if layer.affine:
        arrays.update(weight=layer.gamma, bias=layer.beta)
    return _copy(module, device, **arrays)


def _to_module(layer: Layer, device) -> nn.Module:
    kind = type(layer).__name__
    dtype = getattr(torch, dtype_name(getattr(layer, "dtype", "float64")))
    if kind == "Linear":
        module = nn.Linear(layer.n_in, layer.n_out, device=device, dtype=dtype)
        return _copy(module, device, weight=layer.W, bias=layer.b)
    if kind == "Conv2d":
        module = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                           layer.stride, layer.padding, layer.dilation, device=device,
                           dtype=dtype)  # fmt: skip
        return _copy(module, device, weight=layer.W, bias=layer.b)
    if kind == "ConvTranspose2d":
        module = nn.ConvTranspose2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                    layer.stride, layer.padding, layer.output_padding,
                                    dilation=layer.dilation, device=device,
                                    dtype=dtype)  # fmt: skip
        return _copy(module, device, weight=layer.W, bias=layer.b)
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return _batchnorm_module(layer, getattr(nn, kind), device, dtype)
    if kind == "Activation":
        if layer.name not in MODULES:
            raise ValueError(
                f"activation {layer.name!r} has no torch module; known: {list(MODULES)}"
            )
        return MODULES[layer.name]()
    simple = {
        "MaxPool2d": lambda: nn.MaxPool2d(layer.kernel_size, layer.stride),
        "AvgPool2d": lambda: nn.AvgPool2d(layer.kernel_size, layer.stride),
        "GlobalAvgPool2d": GlobalAvgPool2d,
        "Flatten": nn.Flatten,
        "Dropout": lambda: nn.Dropout(layer.p),
        "Sequential": lambda: nn.Sequential(*(_to_module(c, device) for c in layer.children)),
        "Residual": lambda: Residual(_to_module(layer.children[0], device)),
        "Sum": lambda: Branches([_to_module(c, device) for c in layer.children], "sum"),
        "Concat": lambda: Branches([_to_module(c, device) for c in layer.children], "concat"),
    }
    if kind not in simple:
        known = ["Linear", "Conv2d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d",
                 "Activation", *simple]  # fmt: skip
        raise ValueError(f"layers_to_module has no torch module for {kind}; known: {known}")
    return simple[kind]()


def layers_to_module(layers, device=None) -> nn.Module:
    """A :class:`~dlcourse.layers.Model`, a layer or a list of layers as a torch module with
    copies of the same parameters and running statistics, in the layers' dtype, on ``device``
    (default CPU). A Model's final Activation (its output g_L) is the module's last child."""
    body = getattr(layers, "layers", layers)
    if isinstance(body, (list, tuple)):
        body = L.Sequential(body)
    if not isinstance(body, Layer):
        raise TypeError(
            f"layers_to_module takes dlcourse layers or a Model; got {type(layers).__name__}"
        )
    return _to_module(body, torch.device(device) if device is not None else None)


# ---------------------------------------------------------------- torch → layers
def _square(module: nn.Module, name: str) -> int:
    """An int, or a pair of equal ints (the course's layers are square)."""
    value = getattr(module, name)
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"{module!r}: the course's layers need equal {name} on both axes; "
                             f"got {value}")  # fmt: skip
        value = value[0]
    if not isinstance(value, int):
        raise ValueError(f"{module!r}: {name} must be an integer; got {value!r}")
    return value


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _dtype_name(t: torch.Tensor) -> str:
    try:
        return dtype_name(t.dtype)
    except ValueError:
        raise ValueError(
            f"the course's layers are float32 or float64; the module holds {t.dtype}"
        ) from None


def _conv_layer(module, transposed: bool) -> Layer:
    if module.groups != 1 or module.padding_mode != "zeros" or module.bias is None:
        raise ValueError(f"{module!r}: only groups=1, zero padding and a bias are supported")
    if isinstance(module.padding, str):
        raise ValueError(f"{module!r}: padding must be a number, not {module.padding!r}")
    k, s, p, d = (_square(module, n) for n in ("kernel_size", "stride", "padding", "dilation"))
    dtype = _dtype_name(module.weight)
    if transposed:
        op = _square(module, "output_padding")
        layer = L.ConvTranspose2d(module.in_channels, module.out_channels, k, s, p, op,
                                  init="constant", dtype=dtype, dilation=d)  # fmt: skip
    else:
        layer = L.Conv2d(module.in_channels, module.out_channels, k, s, p, init="constant",
                         dtype=dtype, dilation=d)  # fmt: skip
    layer.W[...], layer.b[...] = _numpy(module.weight), _numpy(module.bias)
    return layer


def _batchnorm_layer(module, cls) -> Layer:
    if module.momentum is None or not module.track_running_stats:
        raise ValueError(f"{module!r}: only momentum averages of the running statistics "
                         "(momentum a number, track_running_stats=True) are supported")  # fmt: skip
    layer = cls(module.num_features, module.eps, module.momentum, module.affine,
                _dtype_name(module.running_mean))  # fmt: skip
    layer.running_mean[...] = _numpy(module.running_mean)
    layer.running_var[...] = _numpy(module.running_var)
    if module.affine:
        layer.gamma[...], layer.beta[...] = _numpy(module.weight), _numpy(module.bias)
    return layer


def _pool_layer(module, cls) -> Layer:
    if module.padding not in (0, (0, 0)) or module.ceil_mode:
        raise ValueError(f"{module!r}: only padding=0 and ceil_mode=False are supported")
    if getattr(module, "dilation", 1) not in (1, (1, 1)):
        raise ValueError(f"{module!r}: only dilation=1 is supported for pooling")
    return cls(_square(module, "kernel_size"), _square(module, "stride"))


def _to_layer(module: nn.Module) -> Layer | None:
    """The layer for ``module``; None for ``nn.Identity`` (dropped from sequences)."""
    if isinstance(module, nn.Identity):
        return None
    if isinstance(module, nn.Linear):
        if module.bias is None:
            raise ValueError(f"{module!r} has no bias; the course's Linear layers have one")
        layer = L.Linear(module.in_features, module.out_features, "constant",
                         dtype=_dtype_name(module.weight))  # fmt: skip
        layer.W[...], layer.b[...] = _numpy(module.weight), _numpy(module.bias)
        return layer
    if isinstance(module, nn.ConvTranspose2d):
        return _conv_layer(module, transposed=True)
    if isinstance(module, nn.Conv2d):
        return _conv_layer(module, transposed=False)
    if isinstance(module, nn.BatchNorm2d):
        return _batchnorm_layer(module, L.BatchNorm2d)
    if isinstance(module, nn.BatchNorm1d):
        return _batchnorm_layer(module, L.BatchNorm1d)
    if isinstance(module, nn.MaxPool2d):
        return _pool_layer(module, L.MaxPool2d)
    if isinstance(module, nn.AvgPool2d):
        if module.divisor_override is not None:
            raise ValueError(f"{module!r}: divisor_override is not supported")
        return _pool_layer(module, L.AvgPool2d)
    if isinstance(module, GlobalAvgPool2d):
        return L.GlobalAvgPool2d()
    if isinstance(module, nn.Flatten):
        if (module.start_dim, module.end_dim) != (1, -1):
            raise ValueError(f"{module!r}: only Flatten(start_dim=1, end_dim=-1) is supported")
        return L.Flatten()
    if isinstance(module, nn.Dropout):
        return L.Dropout(module.p)
    if isinstance(module, nn.Sequential):
        children = [c for c in (_to_layer(m) for m in module) if c is not None]
        return L.Sequential(children or [L.Activation("identity")])
    if isinstance(module, Residual):
        return L.Residual(_to_layer(module.inner) or L.Activation("identity"))
    if isinstance(module, Branches):
        branches = [_to_layer(b) or L.Activation("identity") for b in module.branches]
        return (L.Sum if module.mode == "sum" else L.Concat)(branches)
    name = _module_name(module)
    if name is None:
        raise ValueError(f"module_to_layers has no layer for {module!r}")
    return L.Activation(name)


def module_to_layers(module: nn.Module) -> Layer:
    """The course's layers with copies of ``module``'s parameters and running statistics (the
    inverse of :func:`layers_to_module`); ``nn.Identity`` children are dropped. A DDP or
    ``torch.compile`` wrapper is unwrapped. Unsupported modules or settings (grouped
    convolutions, rectangular kernels, pooling with padding, ...) raise ``ValueError``."""
    module = getattr(module, "module", module)  # DistributedDataParallel
    module = getattr(module, "_orig_mod", module)  # torch.compile
    if not isinstance(module, nn.Module):
        raise TypeError(f"module_to_layers expects a torch.nn.Module; got {type(module).__name__}")
    return _to_layer(module) or L.Activation("identity")


__all__ = ["layers_to_module", "module_to_layers", "GlobalAvgPool2d", "Residual", "Branches"]

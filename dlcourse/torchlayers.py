"""Bridge between :mod:`dlcourse.layers` and ``torch.nn``: a stack of the course's layers as a
torch module with the same weights, and back.

``layers_to_module(model)`` maps every layer to its torch counterpart and copies the arrays
(``Linear`` → ``nn.Linear``, ``Conv2d`` → ``nn.Conv2d``, ``ConvTranspose2d`` →
``nn.ConvTranspose2d``, ``BatchNorm1d/2d`` → ``nn.BatchNorm1d/2d`` with their running
statistics, pooling, ``Flatten``, ``Dropout``, the activations of
:data:`dlcourse.torchnet.MODULES`, ``Sequential`` → ``nn.Sequential``, and the attention-era
layers ``LayerNorm``, ``Embedding``, ``MultiHeadAttention`` → ``nn.MultiheadAttention
(batch_first=True)`` and ``TransformerEncoderLayer``); the weight layouts are the same on both
sides, so nothing is transposed. ``Residual``, ``Sum``, ``Concat`` and
``GlobalAvgPool2d``, which ``torch.nn`` has no single module for, become the small modules
below. ``module_to_layers(module)`` is the inverse, for modules built from those pieces.
A causal mask is an argument of torch's attention ``forward``, not part of the module: for a
layer built with ``causal=True`` pass ``attn_mask=`` (``src_mask=``)
``torch.triu(torch.ones(T, T, dtype=torch.bool), 1)``, and convert back with
``module_to_layers(module, causal=True)``.
Forward passes, autograd gradients and (in training mode) running statistics then agree with
the layers' own in float64 to rounding.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlcourse import layers as L
from dlcourse._validation import dtype_name
from dlcourse.backend import to_numpy
from dlcourse.layers.base import Layer
from dlcourse.torchnet import MODULES, activation_name


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


def _copy_params(source, target) -> None:
    """Copy ``source``'s parameters into ``target``'s, in order; either is a dlcourse layer
    (``params``, NumPy) or a torch module (``parameters()``); the shapes must agree."""
    src = [to_numpy(p.detach()) if isinstance(p, torch.Tensor) else p for p in
           (source.parameters() if isinstance(source, nn.Module) else source.params)]  # fmt: skip
    dst = list(target.parameters() if isinstance(target, nn.Module) else target.params)
    if [tuple(p.shape) for p in src] != [tuple(p.shape) for p in dst]:
        raise ValueError(f"parameter shapes differ: {[tuple(p.shape) for p in src]} vs "
                         f"{[tuple(p.shape) for p in dst]}")  # fmt: skip
    with torch.no_grad():
        for a, b in zip(src, dst):
            if isinstance(b, torch.Tensor):
                b.copy_(torch.as_tensor(np.asarray(a)))
            else:
                b[...] = a


def _attention_module(layer, device, dtype) -> nn.Module | None:
    """torch's module for an attention-era layer (parameters copied), or None for others."""
    kw = {"device": device, "dtype": dtype}
    if isinstance(layer, L.LayerNorm):
        module = nn.LayerNorm(layer.normalized_shape, layer.eps, layer.elementwise_affine, **kw)
    elif isinstance(layer, L.Embedding):
        module = nn.Embedding(layer.num_embeddings, layer.embedding_dim, layer.padding_idx, **kw)
    elif isinstance(layer, L.MultiHeadAttention):
        module = nn.MultiheadAttention(layer.embed_dim, layer.num_heads, layer.dropout,
                                       batch_first=True, **kw)  # fmt: skip
    elif isinstance(layer, L.TransformerEncoderLayer):
        module = nn.TransformerEncoderLayer(
            layer.d_model, layer.nhead, layer.dim_feedforward, layer.dropout, layer.activation,
            layer.layer_norm_eps, batch_first=True, norm_first=layer.norm_first, **kw,
        )  # fmt: skip
    else:
        return None
    _copy_params(layer, module)
    return module


def _attention_layer(module: nn.Module, causal: bool) -> Layer | None:
    """The attention-era layer for a torch module (parameters copied), or None for others.
    Batch-first attention with torch's default layout only (biases, no ``add_bias_kv``,
    key/value width = embed_dim)."""
    params = list(module.parameters())
    dtype = _dtype_name(params[0]) if params else "float64"
    if isinstance(module, nn.LayerNorm):
        if module.elementwise_affine and module.bias is None:
            raise ValueError("a LayerNorm without bias (bias=False) has no dlcourse counterpart")
        layer = L.LayerNorm(module.normalized_shape, module.eps, module.elementwise_affine, dtype)
    elif isinstance(module, nn.Embedding):
        if module.max_norm is not None:
            raise ValueError("an Embedding with max_norm has no dlcourse counterpart")
        layer = L.Embedding(module.num_embeddings, module.embedding_dim, module.padding_idx,
                            dtype=dtype)  # fmt: skip
    elif isinstance(module, nn.MultiheadAttention):
        _check_attention(module)
        layer = L.MultiHeadAttention(module.embed_dim, module.num_heads, module.dropout, causal,
                                     dtype=dtype)  # fmt: skip
    elif isinstance(module, nn.TransformerEncoderLayer):
        _check_attention(module.self_attn)
        kind = getattr(module, "activation_relu_or_gelu", 0)
        if kind not in (1, 2):
            raise ValueError("only a ReLU or GELU TransformerEncoderLayer converts; got "
                             f"activation {module.activation!r}")  # fmt: skip
        layer = L.TransformerEncoderLayer(
            module.self_attn.embed_dim, module.self_attn.num_heads, module.linear1.out_features,
            module.dropout.p, "relu" if kind == 1 else "gelu", module.norm1.eps,
            module.norm_first, causal, dtype=dtype,
        )  # fmt: skip
    else:
        return None
    _copy_params(module, layer)
    return layer


def _check_attention(mha: nn.MultiheadAttention) -> None:
    if not mha.batch_first:
        raise ValueError("dlcourse attention is batch first; build the torch module with "
                         "batch_first=True")  # fmt: skip
    if not mha._qkv_same_embed_dim or mha.in_proj_bias is None or mha.bias_k is not None:
        raise ValueError("only torch attention with its default layout converts (kdim = vdim = "
                         "embed_dim, bias=True, add_bias_kv=False)")  # fmt: skip
    if mha.add_zero_attn:
        raise ValueError("add_zero_attn=True has no dlcourse counterpart")


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
    if (attention := _attention_module(layer, device, dtype)) is not None:
        return attention
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
                 "Activation", "LayerNorm", "Embedding", "MultiHeadAttention",
                 "TransformerEncoderLayer", *simple]  # fmt: skip
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


def _to_layer(module: nn.Module, causal: bool = False) -> Layer | None:
    """The layer for ``module``; None for ``nn.Identity`` (dropped from sequences)."""
    if isinstance(module, nn.Identity):
        return None
    if (attention := _attention_layer(module, causal)) is not None:
        return attention
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
        children = [c for c in (_to_layer(m, causal) for m in module) if c is not None]
        return L.Sequential(children or [L.Activation("identity")])
    if isinstance(module, Residual):
        return L.Residual(_to_layer(module.inner, causal) or L.Activation("identity"))
    if isinstance(module, Branches):
        branches = [_to_layer(b, causal) or L.Activation("identity") for b in module.branches]
        return (L.Sum if module.mode == "sum" else L.Concat)(branches)
    name = activation_name(module)
    if name is None:
        raise ValueError(f"module_to_layers has no layer for {module!r}")
    return L.Activation(name)


def module_to_layers(module: nn.Module, causal: bool = False) -> Layer:
    """The course's layers with copies of ``module``'s parameters and running statistics (the
    inverse of :func:`layers_to_module`); ``nn.Identity`` children are dropped. A DDP or
    ``torch.compile`` wrapper is unwrapped. Unsupported modules or settings (grouped
    convolutions, rectangular kernels, pooling with padding, ...) raise ``ValueError``.
    ``causal`` sets the causal mask of the attention layers (torch passes it to ``forward``)."""
    module = getattr(module, "module", module)  # DistributedDataParallel
    module = getattr(module, "_orig_mod", module)  # torch.compile
    if not isinstance(module, nn.Module):
        raise TypeError(f"module_to_layers expects a torch.nn.Module; got {type(module).__name__}")
    return _to_layer(module, causal) or L.Activation("identity")


__all__ = ["layers_to_module", "module_to_layers", "GlobalAvgPool2d", "Residual", "Branches"]

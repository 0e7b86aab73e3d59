"""Activation functions g(z), their derivatives g'(z), and the ``ACTIVATIONS`` table.

Every function is elementwise (softmax works along one axis), accepts an array of any
shape (or a Python number/list, read as float64) and returns an array of the same
shape.  NumPy arrays are computed with NumPy; torch tensors with torch, through the
array-API namespace of :func:`dlcourse.backend.namespace`.

Numerical safety: every formula is written so that no intermediate overflows, e.g.
σ(z) uses ``exp(-|z|)`` and softplus uses ``max(z, 0) + log1p(exp(-|z|))``.  Results
that are smaller than the smallest float (``exp(-1000)``) correctly round to zero; on
NumPy that underflow is silenced, so the functions run cleanly even inside
``np.errstate(all="raise")`` for ``|z|`` up to 1e3 and beyond.

The derivatives follow the conventions of PyTorch's autograd at the kinks:
relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha, step'(z) = 0.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit as _expit

from dlcourse._arrays import as_float as _prepare
from dlcourse.backend import namespace

Array = Any

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_APPROX_COEF = 1.702  # gelu_approx(z) = z * sigmoid(1.702 z)


def _numerics(body):
    """Decorator: convert the input, pass ``xp`` to ``body`` and silence NumPy underflow."""

    @functools.wraps(body)
    def wrapper(z, *args, **kwargs):
        xp, z = _prepare(z)
        if xp is np:
            with np.errstate(under="ignore"):
                return body(xp, z, *args, **kwargs)
        return body(xp, z, *args, **kwargs)

    signature = inspect.signature(body)
    del wrapper.__wrapped__  # show the public signature (without ``xp``) in help()
    wrapper.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    return wrapper


def _erfc(xp, x):
    """Complementary error function on NumPy (SciPy) or torch."""
    if xp is np:
        from scipy.special import erfc

        return erfc(x)
    import torch

    return torch.special.erfc(x)


def _sigmoid(xp, z):
    if xp is np:
        return _expit(z)  # SciPy's stable logistic ufunc, fastest on small batches
    e = xp.exp(-xp.abs(z))  # in (0, 1]: never overflows
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_prime(xp, z):
    if xp is np:
        return _expit(z) * _expit(-z)  # σ(z) σ(-z): no cancellation in 1 - σ(z)
    e = xp.exp(-xp.abs(z))  # σ'(z) = σ(z) σ(-z) = e / (1 + e)², symmetric in z
    return e / ((1.0 + e) * (1.0 + e))


@_numerics
def sigmoid(xp, z):
    """Logistic sigmoid σ(z) = 1 / (1 + e^{-z}); same shape as ``z``."""
    return _sigmoid(xp, z)


@_numerics
def sigmoid_prime(xp, z):
    """σ'(z) = σ(z)(1 − σ(z)), computed without cancellation for large |z|."""
    return _sigmoid_prime(xp, z)


@_numerics
def tanh(xp, z):
    """Hyperbolic tangent tanh(z) = 2σ(2z) − 1; same shape as ``z``."""
    return xp.tanh(z)


@_numerics
def tanh_prime(xp, z):
    """tanh'(z) = 1 − tanh²(z) = 4 e^{-2|z|} / (1 + e^{-2|z|})²."""
    e = xp.exp(-2.0 * xp.abs(z))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


@_numerics
def relu(xp, z):
    """Rectified linear unit max(0, z)."""
    if xp is np:
        return np.maximum(z, 0.0)
    return xp.where(z > 0, z, xp.zeros_like(z))


@_numerics
def relu_prime(xp, z):
    """relu'(z) = 1 for z > 0, else 0 (0 at the kink, as in PyTorch)."""
    return xp.astype(z > 0, z.dtype)


@_numerics
def leaky_relu(xp, z, slope=0.01):
    """Leaky ReLU: z for z > 0, ``slope`` · z otherwise (torch's ``negative_slope``)."""
    return xp.where(z > 0, z, slope * z)


@_numerics
def leaky_relu_prime(xp, z, slope=0.01):
    """Derivative of :func:`leaky_relu`: 1 for z > 0, ``slope`` otherwise."""
    one = xp.ones_like(z)
    return xp.where(z > 0, one, slope * one)


@_numerics
def elu(xp, z, alpha=1.0):
    """Exponential linear unit: z for z > 0, alpha (e^z − 1) otherwise."""
    return xp.where(z > 0, z, alpha * xp.expm1(xp.where(z > 0, xp.zeros_like(z), z)))


@_numerics
def elu_prime(xp, z, alpha=1.0):
    """Derivative of :func:`elu`: 1 for z > 0, alpha e^z otherwise."""
    return xp.where(z > 0, xp.ones_like(z), alpha * xp.exp(xp.where(z > 0, xp.zeros_like(z), z)))


@_numerics
def gelu(xp, z):
    """Gaussian error linear unit z Φ(z) (exact form, Φ = standard normal CDF).

    Φ(z) = ½ erfc(−z/√2), which equals ½(1 + erf(z/√2)) but keeps full relative
    accuracy in the left tail.
    """
    return z * (0.5 * _erfc(xp, -z * _SQRT_HALF))


@_numerics
def gelu_prime(xp, z):
    """gelu'(z) = Φ(z) + z φ(z) with φ(z) = e^{−z²/2} / √(2π)."""
    return 0.5 * _erfc(xp, -z * _SQRT_HALF) + z * (_INV_SQRT_2PI * xp.exp(-0.5 * z * z))


@_numerics
def gelu_approx(xp, z):
    """Sigmoid approximation of GELU: z σ(1.702 z)."""
    return z * _sigmoid(xp, GELU_APPROX_COEF * z)


@_numerics
def gelu_approx_prime(xp, z):
    """Derivative of :func:`gelu_approx`: σ(1.702z) + 1.702 z σ'(1.702z)."""
    u = GELU_APPROX_COEF * z
    return _sigmoid(xp, u) + u * _sigmoid_prime(xp, u)


@_numerics
def silu(xp, z):
    """Sigmoid-weighted linear unit (swish with β = 1): z σ(z)."""
    return z * _sigmoid(xp, z)


@_numerics
def silu_prime(xp, z):
    """silu'(z) = σ(z) + z σ'(z)."""
    return _sigmoid(xp, z) + z * _sigmoid_prime(xp, z)


swish = silu
swish_prime = silu_prime


@_numerics
def softplus(xp, z):
    """Softplus ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}) (a smooth ReLU)."""
    return xp.where(z > 0, z, xp.zeros_like(z)) + xp.log1p(xp.exp(-xp.abs(z)))


@_numerics
def softplus_prime(xp, z):
    """softplus'(z) = σ(z)."""
    return _sigmoid(xp, z)


@_numerics
def step(xp, z):
    """Heaviside step of the perceptron: 1 for z > 0, 0 for z ≤ 0."""
    return xp.astype(z > 0, z.dtype)


@_numerics
def step_prime(xp, z):
    """The step function is flat wherever it is differentiable: 0 everywhere."""
    return xp.zeros_like(z)


@_numerics
def identity(xp, z):
    """Identity g(z) = z (linear output units)."""
    return z


@_numerics
def identity_prime(xp, z):
    """identity'(z) = 1."""
    return xp.ones_like(z)


@_numerics
def softmax(xp, z, axis=-1):
    """Softmax along ``axis``: s_j = e^{z_j} / Σ_k e^{z_k}, same shape as ``z``.

    Computed as e^{z_j − max z} / Σ_k e^{z_k − max z} (the log-sum-exp shift), so no
    exponential can overflow.
    """
    e = xp.exp(z - xp.max(z, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


@_numerics
def softmax_prime(xp, z, axis=-1):
    """Diagonal of the softmax Jacobian, s_j (1 − s_j).

    Softmax is not elementwise: the full derivative is :func:`softmax_jacobian`.
    This diagonal is what ``ActivationFunction.prime`` returns for softmax.
    """
    s = softmax(z, axis=axis)
    return s * (1.0 - s)


@_numerics
def softmax_jacobian(xp, z, *, is_softmax=False):
    """Jacobian ∂s_i/∂z_j = s_i (δ_ij − s_j) = diag(s) − s sᵀ of softmax on the last axis.

    ``z`` of shape (n,) gives (n, n); (m, n) gives (m, n, n), one Jacobian per row.
    With ``is_softmax=True`` the argument is already the softmax output s.
    """
    s = z if is_softmax else softmax(z, axis=-1)
    outer = s[..., :, None] * s[..., None, :]
    eye = xp.eye(s.shape[-1], dtype=s.dtype)
    return s[..., :, None] * eye - outer


def softmax_jvp(s, g):
    """J(z)ᵀ g for softmax outputs ``s = softmax(z)`` along the last axis, without forming J.

    J = diag(s) − s sᵀ is symmetric, so J g = s ⊙ (g − Σ_j g_j s_j) per row; ``s`` and ``g``
    have the same shape (m, n) (or (n,)), NumPy arrays or torch tensors. This is the
    softmax step of BP1 and of ``layers.Activation("softmax").backward``.
    """
    xp = namespace(s, g)
    return s * (g - xp.sum(g * s, axis=-1, keepdims=True))


@dataclass(frozen=True)
class ActivationFunction:
    """A named activation g with its derivative: one row of the ``ACTIVATIONS`` table.

    ``fn(z)`` returns a = g(z) and ``prime(z)`` returns g'(z), both elementwise and of
    the shape of z (for softmax: along the last axis, and ``prime`` is the diagonal of
    the Jacobian; see :func:`softmax_jacobian`). Two optional entries serve the rest of
    the package, so that an activation is added in one place:

    - ``prime_of_output(a)``: g'(z) written through a = g(z) where g' has such a form
      (σ' = a(1 − a), tanh' = 1 − a², relu' = [a > 0]); ``Network``'s BP2 then needs no
      second exponential. None: BP2 calls ``prime(z)``.
    - ``torch``: the equivalent ``torch.nn`` module as it would be written, e.g.
      ``"LeakyReLU(negative_slope=0.01)"`` (:data:`dlcourse.torchnet.MODULES` is built
      from it; ``Step`` and ``GeluApprox`` are modules of :mod:`dlcourse.torchnet`).
    """

    name: str
    fn: Callable[[Array], Array]
    prime: Callable[[Array], Array]
    prime_of_output: Callable[[Array], Array] | None = None
    torch: str | None = None

    def __call__(self, z):
        return self.fn(z)


def _one(a):
    return 1.0  # identity' = 1: multiplying by it changes nothing


def _sigmoid_prime_of_output(a):
    return a * (1.0 - a)  # σ' = σ(1 − σ)


def _tanh_prime_of_output(a):
    return 1.0 - a * a  # tanh' = 1 − tanh²


def _relu_prime_of_output(a):
    return a > 0  # relu' = [z > 0] = [a > 0]


# name: g, g', g' through a = g(z) (or None), the torch.nn module. A new activation is one row
# here (and a torch module in dlcourse/torchnet.py only if torch.nn has none).
ACTIVATIONS: dict[str, ActivationFunction] = {
    row.name: row
    for row in (
        ActivationFunction("identity", identity, identity_prime, _one, "Identity()"),
        ActivationFunction("step", step, step_prime, None, "Step()"),
        ActivationFunction(
            "sigmoid", sigmoid, sigmoid_prime, _sigmoid_prime_of_output, "Sigmoid()"
        ),
        ActivationFunction("tanh", tanh, tanh_prime, _tanh_prime_of_output, "Tanh()"),
        ActivationFunction("relu", relu, relu_prime, _relu_prime_of_output, "ReLU()"),
        ActivationFunction(
            "leaky_relu", leaky_relu, leaky_relu_prime, None, "LeakyReLU(negative_slope=0.01)"
        ),
        ActivationFunction("elu", elu, elu_prime, None, "ELU(alpha=1.0)"),
        ActivationFunction("gelu", gelu, gelu_prime, None, "GELU(approximate='none')"),
        ActivationFunction("gelu_approx", gelu_approx, gelu_approx_prime, None, "GeluApprox()"),
        ActivationFunction("silu", silu, silu_prime, None, "SiLU()"),
        ActivationFunction("swish", silu, silu_prime, None, "SiLU()"),
        # threshold 40, not torch's 20: beyond it log(1 + e^z) = z to float64 precision
        ActivationFunction("softplus", softplus, softplus_prime, None, "Softplus(threshold=40.0)"),
        ActivationFunction("softmax", softmax, softmax_prime, None, "Softmax(dim=-1)"),
    )
}

# Hyper-parameters that get_activation(name, **params) may set.
_PARAMETERS: dict[str, tuple[str, ...]] = {"leaky_relu": ("slope",), "elu": ("alpha",)}


def get_activation(name: str | ActivationFunction, **params) -> ActivationFunction:
    """Look up an activation by name (or pass an :class:`ActivationFunction` through).

    ``params`` set hyper-parameters, e.g. ``get_activation("leaky_relu", slope=0.2)``
    or ``get_activation("elu", alpha=0.5)``.  Unknown names raise ``ValueError``
    listing the valid ones.
    """
    if isinstance(name, ActivationFunction):
        if params:
            raise ValueError(f"parameters {sorted(params)} given with an ActivationFunction object")
        return name
    if not isinstance(name, str):
        raise TypeError(
            f"activation must be a name or an ActivationFunction, got {type(name).__name__}"
        )
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; valid names: {', '.join(sorted(ACTIVATIONS))}"
        )
    base = ACTIVATIONS[name]
    if not params:
        return base
    allowed = _PARAMETERS.get(name, ())
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"activation {name!r} takes parameters {list(allowed)}; got {unknown}")
    suffix = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
    return ActivationFunction(
        f"{name}({suffix})",
        functools.partial(base.fn, **params),
        functools.partial(base.prime, **params),
    )


__all__ = [
    "ACTIVATIONS",
    "ActivationFunction",
    "elu",
    "elu_prime",
    "gelu",
    "gelu_approx",
    "gelu_approx_prime",
    "gelu_prime",
    "get_activation",
    "identity",
    "identity_prime",
    "leaky_relu",
    "leaky_relu_prime",
    "relu",
    "relu_prime",
    "sigmoid",
    "sigmoid_prime",
    "silu",
    "silu_prime",
    "softmax",
    "softmax_jacobian",
    "softmax_jvp",
    "softmax_prime",
    "softplus",
    "softplus_prime",
    "step",
    "step_prime",
    "swish",
    "swish_prime",
    "tanh",
    "tanh_prime",
]

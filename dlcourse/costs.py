"""The costs of ``Network`` and ``Model``: each cost's formula and its output error δ^L (BP1)
side by side, one place for each.

A :class:`Cost` holds

- ``fn(a, y)``: the mean over the ``m`` rows of the per-example cost C_x (a float);
- ``mean(a, y)``: the same as a 0-d array of ``a``'s library, so that torch's autograd can
  differentiate it (``torchnet.network_cost``);
- ``delta(z, a, y, output)``: BP1, δ^L = ∂C_x/∂z^L for any output activation g_L (shape
  ``(m, n_L)``, not divided by m), the general form (∂C/∂a) · ∂a/∂z;
- ``closed_forms[output name](a, y)``: the same δ^L simplified for the book's pairings,
  written through ``a`` alone (e.g. ``a − y`` for softmax with cross-entropy), which
  ``Network.backprop`` uses for speed.

| cost | C_x | δ^L of the natural pairing |
| --- | --- | --- |
| ``quadratic`` | ½‖a − y‖² | (a − y) ⊙ σ'(z) = (a − y) ⊙ a ⊙ (1 − a); a − y for identity |
| ``binary_cross_entropy`` | −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)] | a − y (sigmoid) |
| ``cross_entropy`` | −Σ_j y_j ln a_j | a − y (softmax) |

These are not the torch-style functional losses of :mod:`dlcourse.losses`: there
``cross_entropy(input, target)`` takes logits and class indices, here ``"cross_entropy"``
takes the softmax outputs ``a`` and one-hot rows ``y``, the book's C_x.

Logarithms are clamped at −100 as in torch, so an output of exactly 0 or 1 gives a finite
cost. The book derives BP1 as eq. ``eq-bp1`` (column form) and ``eq-bp1-batch`` (rows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dlcourse._arrays import TORCH_EPSILON, as_array, check_same_shape, clamped_log, prepare, quiet
from dlcourse.activations import ACTIVATIONS, ActivationFunction, get_activation, softmax_jvp

Array = Any


@dataclass(frozen=True)
class Cost:
    """A Network cost: ``fn(a, y)`` is the mean over the m rows of the per-example cost
    (``mean(a, y)`` the same as a 0-d array, if given);
    ``delta(z, a, y, output_activation)`` is δ^L = ∂C_x/∂z^L per example, shape (m, n_L)
    (BP1; not divided by m); ``closed_forms`` maps an output activation's name to δ^L
    written through ``a`` and ``y`` only, for the pairings where it simplifies."""

    name: str
    fn: Callable[[Array, Array], float]
    delta: Callable[[Array, Array, Array, ActivationFunction], Array]
    closed_forms: Mapping[str, Callable[[Array, Array], Array]] = field(default_factory=dict)
    mean: Callable[[Array, Array], Array] | None = None

    def fast_delta(self, output: ActivationFunction) -> Callable[[Array, Array], Array] | None:
        """The closed form of BP1 for ``output`` if there is one and ``output`` is the
        registry's activation of that name (a custom one may differ); else ``None``."""
        if ACTIVATIONS.get(output.name) is not output:
            return None
        return self.closed_forms.get(output.name)


def _pair(a, y):
    xp, a = prepare(a, "a")
    y = as_array(xp, y, a)
    check_same_shape(a, y, ("output a", "target y"))
    return xp, a, y, (a.shape[0] if a.ndim > 1 else 1)


def _chain(dC_da, z, a, act):
    """δ = (∂C/∂a) · ∂a/∂z: elementwise g'(z), or the Jacobian product for softmax."""
    if act.name == "softmax":
        return softmax_jvp(a, dC_da)
    return dC_da * act.prime(z)


# ----------------------------------------------------------------------------- quadratic
def _quadratic(a, y):
    xp, a, y, m = _pair(a, y)
    return 0.5 * xp.sum((a - y) ** 2) / m


def _quadratic_delta(z, a, y, output):
    xp, a, y, _ = _pair(a, y)
    return _chain(a - y, as_array(xp, z, a), a, get_activation(output))


QUADRATIC_CLOSED_FORMS = {
    "sigmoid": lambda a, y: (a - y) * a * (1.0 - a),  # σ'(z) = a (1 − a)
    "identity": lambda a, y: a - y,
}


# ----------------------------------------------------------------- binary cross-entropy
def _bce(a, y):
    xp, a, y, m = _pair(a, y)
    with quiet(xp):
        per = y * clamped_log(xp, a) + (1.0 - y) * clamped_log(xp, 1.0 - a)
    return -xp.sum(per) / m


def _bce_delta(z, a, y, output):
    xp, a, y, _ = _pair(a, y)
    act = get_activation(output)
    if act.name == "sigmoid":
        return a - y  # σ' = a (1 − a) cancels the denominator of ∂C/∂a
    if act.name == "softmax":
        dC_da = (a - y) / xp.clip(a * (1.0 - a), min=TORCH_EPSILON)
        return _chain(dC_da, as_array(xp, z, a), a, act)
    raise ValueError(
        f"cost 'binary_cross_entropy' needs outputs in (0, 1): use output='sigmoid'"
        f" (or 'softmax'), got output={act.name!r}"
    )


# ------------------------------------------------------------------------ cross-entropy
def _ce(a, y):
    xp, a, y, m = _pair(a, y)
    with quiet(xp):
        return -xp.sum(y * clamped_log(xp, a)) / m


def _ce_delta(z, a, y, output):
    xp, a, y, _ = _pair(a, y)
    act = get_activation(output)
    if act.name == "softmax":
        return a - y  # assumes every row of y sums to 1 (one-hot or a distribution)
    if act.name == "sigmoid":
        return -y * (1.0 - a)  # (−y / a) · a (1 − a)
    raise ValueError(
        f"cost 'cross_entropy' needs outputs in (0, 1]: use output='softmax'"
        f" (or 'sigmoid'), got output={act.name!r}"
    )


def _a_minus_y(a, y):
    return a - y


def _cost(name, mean, delta, closed_forms) -> Cost:
    return Cost(name, lambda a, y: float(mean(a, y)), delta, closed_forms, mean)


COSTS: dict[str, Cost] = {
    c.name: c
    for c in (
        _cost("quadratic", _quadratic, _quadratic_delta, QUADRATIC_CLOSED_FORMS),
        _cost("binary_cross_entropy", _bce, _bce_delta, {"sigmoid": _a_minus_y}),
        _cost("cross_entropy", _ce, _ce_delta, {"softmax": _a_minus_y}),
    )
}


def get_cost(name: str | Cost) -> Cost:
    """Look up a Network cost by name (or pass a :class:`Cost` through)."""
    if isinstance(name, Cost):
        return name
    if callable(name):  # e.g. dlcourse.losses.cross_entropy, which takes logits and indices
        given = f"{getattr(name, '__module__', '')}.{getattr(name, '__name__', repr(name))}"
        raise TypeError(
            f"cost must be the name of a Network cost ({', '.join(sorted(COSTS))}) or a Cost; "
            f"got the function {given.lstrip('.')} (the Network costs take output activations "
            "and one-hot rows, not logits and class indices)"
        )
    if name not in COSTS:
        raise ValueError(f"unknown cost {name!r}; valid names: {', '.join(sorted(COSTS))}")
    return COSTS[name]


__all__ = ["COSTS", "Cost", "get_cost"]

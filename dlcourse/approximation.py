"""Universal approximation made constructive: a sum of sigmoid bumps in one dimension.

A sigmoid unit with a large input weight ``w`` and bias ``-w s`` is nearly a unit step at
``x = s``: ``σ(w (x - s)) ≈ [x > s]``. Two such units with output weights ``+h`` and ``-h``
make a *bump* of height ``h`` on ``[s_1, s_2)``. Cutting an interval into ``N`` pieces and
giving every piece one bump, as high as the target ``f`` at the piece's midpoint, gives a
network with one hidden layer of ``2N`` sigmoid units (Chapter 2, equation
``eq-bump-network``)::

    g(x) = Σ_i h_i [σ(w (x - s_i)) - σ(w (x - s_{i+1}))],   h_i = f(c_i),

which approaches every continuous ``f`` uniformly as ``N`` grows: the constructive side of
the universal approximation theorem. The input weight is ``w = steepness / Δ`` for pieces
of width ``Δ``, so the steps sharpen as the pieces narrow. The two outermost step positions
lie half a piece outside the interval, so that no step is half-way on at its ends.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from dlcourse.activations import sigmoid
from dlcourse.data.synthetic import CURVES
from dlcourse.network import Network

__all__ = [
    "DEFAULT_STEEPNESS",
    "approximation_error",
    "bump_network",
    "bump_parameters",
    "plot_bump_approximation",
    "target_function",
]

DEFAULT_STEEPNESS = 50.0  # input weight × piece width: a step rises within ~1/5 of a piece
_BUMP_SHADES = ("#9ecae1", "#fdae6b")  # neighbouring bumps alternate between two colours


def target_function(curve) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised target ``f``: a name of ``dlcourse.data.CURVES`` or a callable."""
    if callable(curve):
        return curve
    if curve not in CURVES:
        raise ValueError(f"curve must be a callable or one of {sorted(CURVES)}; got {curve!r}")
    return CURVES[curve].fn


def _check(n_units, interval, steepness) -> tuple[int, float, float, float]:
    if isinstance(n_units, bool) or not isinstance(n_units, (int, np.integer)):
        raise TypeError(f"n_units must be an even integer; got {n_units!r}")
    if n_units < 2 or n_units % 2:
        raise ValueError(
            f"n_units must be an even integer >= 2 (two sigmoid units per bump); got {n_units}"
        )
    lo, hi = (float(v) for v in interval)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"interval must be (lo, hi) with finite lo < hi; got {interval!r}")
    steepness = DEFAULT_STEEPNESS if steepness is None else float(steepness)
    if not (np.isfinite(steepness) and steepness > 0):
        raise ValueError(f"steepness must be a positive number; got {steepness!r}")
    return int(n_units), lo, hi, steepness


def bump_parameters(f, n_units: int, interval=(0.0, 1.0), steepness=None):
    """Weights of the bump network for ``f`` with ``n_units`` hidden sigmoid units.

    Returns ``(W1, b1, W2, b2)`` with shapes ``(n_units, 1)``, ``(n_units,)``,
    ``(1, n_units)``, ``(1,)`` in the layout of ``Network.weights``/``biases``: units
    ``2i`` and ``2i + 1`` are the rising and the falling step of bump ``i``, at ``s_i`` and
    ``s_{i+1}``, with output weights ``+h_i`` and ``-h_i``, where ``h_i = f(c_i)`` at the
    midpoint ``c_i`` of piece ``i``.
    """
    n_units, lo, hi, steepness = _check(n_units, interval, steepness)
    n_bumps = n_units // 2
    width = (hi - lo) / n_bumps
    edges = np.linspace(lo, hi, n_bumps + 1)
    midpoints = (edges[:-1] + edges[1:]) / 2
    heights = np.asarray(target_function(f)(midpoints), dtype=np.float64).reshape(n_bumps)
    edges[0], edges[-1] = lo - width / 2, hi + width / 2  # keep the outer steps off the ends
    w = steepness / width
    positions = np.column_stack([edges[:-1], edges[1:]]).reshape(n_units)  # s_0, s_1, s_1, ...
    W1 = np.full((n_units, 1), w)
    b1 = -w * positions
    W2 = np.column_stack([heights, -heights]).reshape(1, n_units)
    b2 = np.zeros(1)
    return W1, b1, W2, b2


def bump_network(f, n_units: int, interval=(0.0, 1.0), steepness=None) -> Network:
    """A ``Network([1, n_units, 1])`` (sigmoid hidden layer, identity output) holding the
    bump construction of :func:`bump_parameters`; ``forward(x)`` with ``x`` of shape
    ``(m, 1)`` returns ``g(x)`` of shape ``(m, 1)``."""
    W1, b1, W2, b2 = bump_parameters(f, n_units, interval, steepness)
    net = Network([1, n_units, 1], activation="sigmoid", output="identity", init="constant")
    net.weights[:] = [W1, W2]
    net.biases[:] = [b1, b2]
    return net


def approximation_error(f, n_units: int, interval=(0.0, 1.0), steepness=None, n_grid=2001):
    """``max |f(x) - g(x)|`` over ``n_grid`` evenly spaced points of the interval, where
    ``g`` is the bump network with ``n_units`` hidden units (a float)."""
    n_units, lo, hi, _ = _check(n_units, interval, steepness)
    x = np.linspace(lo, hi, n_grid)[:, None]
    g = bump_network(f, n_units, interval, steepness).forward(x)[:, 0]
    return float(np.max(np.abs(target_function(f)(x[:, 0]) - g)))


def plot_bump_approximation(
    n_units: int, ax=None, *, curve="sine", interval=(0.0, 1.0), steepness=None
) -> Figure:
    """Draw the target, the bump network with ``n_units`` hidden units and its bumps.

    ``curve``: a name of ``dlcourse.data.CURVES`` or a callable; ``ax``: the axes to
    draw on (a new figure if None). Each bump ``h_i [σ(w(x - s_i)) - σ(w(x - s_{i+1}))]``
    is shaded (neighbours in alternating colours) and the sum, the network's output, drawn
    thick; the title states the largest error on the interval. Returns the figure.
    """
    n_units, lo, hi, _ = _check(n_units, interval, steepness)
    if ax is None:
        fig = Figure(figsize=(6.5, 3.6), layout="constrained")
        ax = fig.subplots()
    fig = ax.figure
    f = target_function(curve)
    W1, b1, W2, _ = bump_parameters(f, n_units, interval, steepness)
    x = np.linspace(lo, hi, 1001)
    hidden = sigmoid(x[:, None] * W1[:, 0] + b1)  # (1001, n_units): one column per unit
    bumps = (hidden * W2[0]).reshape(len(x), -1, 2).sum(axis=2)  # (1001, n_units / 2)
    for i in range(bumps.shape[1]):
        ax.fill_between(x, bumps[:, i], color=_BUMP_SHADES[i % 2], alpha=0.35, lw=0,
                        label="bumps (two units each)" if i == 0 else None)  # fmt: skip
    ax.plot(x, f(x), color="black", lw=2.5, label="target $f(x)$")
    ax.plot(x, bumps.sum(axis=1), color="#1f77b4", lw=1.8, label="network $g(x)$")
    error = float(np.max(np.abs(f(x) - bumps.sum(axis=1))))
    ax.set(xlabel="input $x$", ylabel="output", xlim=(lo, hi))
    ax.set_title(f"{n_units} hidden sigmoid units: max $|f - g|$ = {error:.3f}", fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    return fig

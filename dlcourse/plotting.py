"""Figures the chapters share: decision regions, loss surfaces with optimiser paths, training
curves and weight images.

Every function draws on an ``ax`` it is given (or on a new figure when ``ax`` is None),
labels the axes and returns what it drew on; none calls ``plt.show``. Points in the plane
are rows: ``X`` has shape ``(m, 2)`` and a path has shape ``(T, 2)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm, to_rgb

from dlcourse.backend import to_numpy
from dlcourse.gradcheck import numerical_gradient

# label k is drawn in POINT_COLOURS[k]; its region in the same colour mixed with white
POINT_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def _points(X, name: str = "X") -> np.ndarray:
    X = np.asarray(to_numpy(X), dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{name} must have shape (m, 2), points of the plane; got {X.shape}")
    return X


def _labels(out, m: int) -> np.ndarray:
    out = np.asarray(to_numpy(out))
    if out.ndim == 2 and out.shape[1] > 1:  # one score or probability per class
        out = np.argmax(out, axis=1)
    out = out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out
    if out.shape != (m,):
        raise ValueError(f"predict must return {m} labels, shape ({m},); got {out.shape}")
    if out.dtype.kind not in "biu" or (out.size and out.min() < 0):
        raise ValueError(f"predict must return labels 0, 1, ..., k-1; got dtype {out.dtype}")
    return out.astype(np.int64)


def _span(X: np.ndarray, column: int, lim, margin: float) -> tuple[float, float]:
    if lim is not None:
        return float(lim[0]), float(lim[1])
    low, high = X[:, column].min(), X[:, column].max()
    pad = margin * max(high - low, 1e-12)
    return float(low - pad), float(high + pad)


def plot_decision_boundary(
    predict_or_model,
    X,
    y=None,
    ax=None,
    resolution: int = 200,
    *,
    xlim=None,
    ylim=None,
    margin: float = 0.1,
    colors: Sequence = POINT_COLOURS,
    region_colors: Sequence | None = None,
    scatter_kw: Mapping | None = None,
):
    """Decision regions of a classifier of the plane, with the points ``X`` on top.

    ``predict_or_model`` is a callable ``(m, 2) -> (m,)`` labels or an object with such a
    ``.predict`` (e.g. a ``Network``); ``(m, k)`` class scores are turned into labels by argmax.
    The classifier is evaluated on a ``resolution x resolution`` grid over ``xlim x ylim``
    (default: the range of ``X`` widened by ``margin``) and region ``k`` is filled with
    ``region_colors[k]`` (default: ``colors[k]`` mixed 3:1 with white). Point ``i`` is drawn in
    ``colors[y[i]]`` (all in ``colors[0]`` when ``y`` is None).
    """
    predict = getattr(predict_or_model, "predict", predict_or_model)
    if not callable(predict):
        raise TypeError(f"expected a callable or an object with .predict; got {predict!r}")
    X = _points(X)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2; got {resolution}")
    y = np.zeros(len(X), dtype=np.int64) if y is None else _labels(y, len(X))
    (x0, x1), (y0, y1) = _span(X, 0, xlim, margin), _span(X, 1, ylim, margin)
    G1, G2 = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    regions = _labels(predict(np.column_stack([G1.ravel(), G2.ravel()])), G1.size)
    k = int(max(regions.max(), y.max(initial=0))) + 1
    if k > len(colors):
        raise ValueError(f"{k} classes need {k} colours; got {len(colors)}")
    if region_colors is None:
        region_colors = [tuple(0.25 * c + 0.75 for c in to_rgb(colour)) for colour in colors]
    ax = plt.subplots()[1] if ax is None else ax
    levels = np.arange(k + 1) - 0.5
    ax.contourf(G1, G2, regions.reshape(G1.shape), levels=levels, colors=region_colors[:k])
    style = {"s": 20, "edgecolors": "black", "linewidths": 0.5, **(scatter_kw or {})}
    ax.scatter(X[:, 0], X[:, 1], c=np.asarray(colors, dtype=object)[y].tolist(), **style)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$x_1$", ylabel="$x_2$")
    return ax


def _grid_values(f: Callable, G1: np.ndarray, G2: np.ndarray) -> np.ndarray:
    try:  # f written with p[0], p[1] arithmetic broadcasts over the stacked grid
        values = np.asarray(f(np.stack([G1, G2])), dtype=np.float64)
        if values.shape == G1.shape:
            return values
    except (TypeError, ValueError, IndexError):
        pass
    points = np.column_stack([G1.ravel(), G2.ravel()])
    return np.array([float(f(p)) for p in points]).reshape(G1.shape)


def plot_loss_surface(
    f: Callable,
    xlim,
    ylim,
    ax=None,
    levels: int | Sequence[float] = 30,
    log: bool = False,
    *,
    resolution: int = 200,
    cmap: str = "viridis",
    xlabel: str = "$w_1$",
    ylabel: str = "$w_2$",
):
    """Contour lines of a function of two parameters, ``f(p)`` with ``p = (p[0], p[1])``.

    ``f`` is called once on a stacked grid of shape ``(2, resolution, resolution)`` when it
    broadcasts, otherwise point by point. ``log=True`` spaces the ``levels`` geometrically
    (for valleys such as Rosenbrock's, where f spans many orders of magnitude; needs f >= 0).
    """
    G1, G2 = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    values = _grid_values(f, G1, G2)
    if not np.all(np.isfinite(values)):
        raise ValueError("f is not finite everywhere on the grid; choose a smaller xlim/ylim")
    norm = None
    if log:
        if values.min() < 0:
            raise ValueError(f"log=True needs f >= 0 on the grid; its minimum is {values.min():g}")
        if np.ndim(levels) == 0:
            floor = max(values[values > 0].min(initial=values.max()), 1e-12)
            levels = np.geomspace(floor, max(values.max(), 10 * floor), int(levels))
        norm = LogNorm(vmin=levels[0], vmax=levels[-1])
    ax = plt.subplots()[1] if ax is None else ax
    ax.contour(G1, G2, values, levels=levels, cmap=cmap, norm=norm, linewidths=0.8)
    ax.set(xlim=xlim, ylim=ylim, xlabel=xlabel, ylabel=ylabel)
    return ax


def plot_optimizer_path(path, ax=None, label: str | None = None, color=None, **line_kw):
    """The iterates of an optimiser, a ``(T, 2)`` array, joined by a line; a circle marks the
    start and a star the end (three lines, all in one colour)."""
    path = _points(path, "path")
    ax = plt.subplots()[1] if ax is None else ax
    (line,) = ax.plot(path[:, 0], path[:, 1], color=color, label=label, lw=1.5, **line_kw)
    colour = line.get_color()
    ax.plot(*path[0], "o", color=colour, markersize=6, markeredgecolor="black")
    ax.plot(*path[-1], "*", color=colour, markersize=11, markeredgecolor="black")
    if not ax.get_xlabel():
        ax.set(xlabel="$w_1$", ylabel="$w_2$")
    return ax


def optimizer_paths(f: Callable, grad: Callable | None, x0, optimizers: Mapping, steps: int):
    """Run each optimiser from ``x0`` for ``steps`` steps; ``{name: path of shape (steps+1, 2)}``.

    Each step is ``optimizer.step([p], [grad(p)])`` on one parameter array ``p`` of shape
    ``(2,)``, so the optimisers (their state included) are used and changed as given. When
    ``grad`` is None the gradient is the central difference of ``f``. A path that leaves the
    finite numbers stops there and is padded with ``nan``.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.shape != (2,):
        raise ValueError(f"x0 must be a point of the plane, shape (2,); got {x0.shape}")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer; got {steps!r}")
    paths = {}
    for name, optimizer in optimizers.items():
        p = x0.copy()
        path = np.full((int(steps) + 1, 2), np.nan)
        path[0] = p
        for t in range(1, int(steps) + 1):
            g = numerical_gradient(lambda p=p: f(p), p) if grad is None else grad(p)
            optimizer.step([p], [np.asarray(g, dtype=np.float64).reshape(2)])
            if not np.all(np.isfinite(p)):
                break
            path[t] = p
        paths[name] = path
    return paths


def plot_history(history, ax=None, metrics: Sequence[str] = ("cost", "accuracy")):
    """Training curves of a :class:`dlcourse.train.History` (or its ``as_dict()``).

    One axes per metric: ``"cost"`` and ``"accuracy"`` draw the training and (when present)
    validation curves against the epoch; any other field (e.g. ``"lr"``) one curve. ``ax`` is
    an axes (one metric) or a sequence of ``len(metrics)`` axes; the same is returned.
    """
    record = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    known = sorted({key.removeprefix("train_") for key in record} - {"epoch", "time"})
    for metric in metrics:
        if f"train_{metric}" not in record and metric not in record:
            raise ValueError(f"unknown metric {metric!r}; the history has {known}")
    if ax is None:
        ax = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4))[1]
    axes = list(np.ravel(ax)) if np.ndim(ax) else [ax]
    if len(axes) != len(metrics):
        raise ValueError(f"{len(metrics)} metrics need {len(metrics)} axes; got {len(axes)}")
    epoch = record["epoch"]
    for axis, metric in zip(axes, metrics):
        if f"train_{metric}" in record:
            axis.plot(epoch, record[f"train_{metric}"], label="train")
            val = np.asarray(record.get(f"val_{metric}", []), dtype=np.float64)
            if val.size and np.any(np.isfinite(val)):
                axis.plot(epoch, val, label="validation")
            axis.legend(fontsize="small")
        else:
            axis.plot(epoch, record[metric])
        axis.set(xlabel="epoch", ylabel=metric.replace("_", " "))
    return ax


def plot_weight_images(W, shape=(8, 8), ax=None, fig=None, n: int | None = None, ncols=None):
    """Rows of ``W`` (shape ``(n_units, prod(shape))``, e.g. ``W^1`` of a digits network) as
    images of ``shape``, one axes each, on one symmetric colour scale (white = 0, red > 0).

    ``n`` (default: all rows, at most 32) images go on ``ax`` (a sequence of at least ``n``
    axes) or on a grid of ``ncols`` columns in ``fig`` (default: a new figure). Returns the
    array of the ``n`` axes used.
    """
    W = np.asarray(to_numpy(W), dtype=np.float64)
    shape = tuple(int(s) for s in shape)
    if W.ndim != 2 or W.shape[1] != int(np.prod(shape)):
        raise ValueError(f"W must have shape (n_units, {int(np.prod(shape))}); got {W.shape}")
    n = min(len(W), 32) if n is None else int(n)
    if not 1 <= n <= len(W):
        raise ValueError(f"n must be between 1 and the {len(W)} rows of W; got {n}")
    if ax is None:
        ncols = min(n, 8) if ncols is None else int(ncols)
        nrows = -(-n // ncols)
        fig = plt.figure(figsize=(1.3 * ncols, 1.3 * nrows)) if fig is None else fig
        ax = fig.subplots(nrows, ncols, squeeze=False)
        for extra in ax.ravel()[n:]:
            extra.set_axis_off()
    axes = np.ravel(np.asarray(ax, dtype=object))
    if len(axes) < n:
        raise ValueError(f"{n} images need at least {n} axes; got {len(axes)}")
    scale = max(float(np.abs(W[:n]).max()), 1e-12)
    for i, axis in enumerate(axes[:n]):
        axis.imshow(W[i].reshape(shape), cmap="RdBu_r", vmin=-scale, vmax=scale)
        axis.set(xticks=[], yticks=[], title=f"unit {i + 1}")
        axis.title.set_fontsize("small")
    return axes[:n]
